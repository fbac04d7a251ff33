# bench_cpu: seconds per epoch on the synthetic ml-100k / ml-1m shapes, decoder GEMM GFLOP/s
add_executable(bench_cpu ${CMAKE_CURRENT_SOURCE_DIR}/bench_cpu.c)
target_link_libraries(bench_cpu PRIVATE bivae_core)
