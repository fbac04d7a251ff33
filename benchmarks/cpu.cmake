# bench_cpu: seconds per epoch on the synthetic ml-100k / ml-1m shapes, decoder GEMM GFLOP/s
add_executable(bench_cpu ${CMAKE_CURRENT_SOURCE_DIR}/bench_cpu.c)
target_link_libraries(bench_cpu PRIVATE bivae_core)
# smoke: the benchmark runs through the trainer on a small shape and prints both tables
# (its numbers are not checked: benchmarks are not timed tests)
add_test(NAME bench_cpu_smoke COMMAND bench_cpu --shapes 300x400x9000 --epochs 1 --warmup 0)
set_tests_properties(bench_cpu_smoke PROPERTIES LABELS "bench" ENVIRONMENT "${BIVAE_MPI_ENV}"
  PASS_REGULAR_EXPRESSION "300x400x9000 +adam W1\\[I x H\\] +[0-9]+ +[0-9.]+")
