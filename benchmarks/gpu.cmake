# benchmarks/gpu.cmake — training throughput of the CUDA backend (see bench_gpu.c and
# run_gpu.sh). Only in CUDA builds: it reads the backend's op-class profiler.
if(BIVAE_HAVE_CUDA)
  add_executable(bench_gpu ${CMAKE_CURRENT_LIST_DIR}/bench_gpu.c)
  target_link_libraries(bench_gpu PRIVATE bivae_core)
endif()

# A smoke run on a small shape (not a measurement): the benchmark works end to end and its
# JSON has the keys and sane values (bench_gpu_smoke.sh) before it meets a GPU
# (`ctest -L cuda`; under cuemu in launch/test-cuemu.sh). Skipped without a GPU.
if(BIVAE_HAVE_CUDA)
  add_test(NAME bench_gpu_smoke COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/bench_gpu_smoke.sh
           $<TARGET_FILE:bench_gpu> ${CMAKE_BINARY_DIR}/bench_gpu_smoke)
  set_tests_properties(bench_gpu_smoke PROPERTIES LABELS "cuda;bench" SKIP_RETURN_CODE 77
    PASS_REGULAR_EXPRESSION "bench_gpu_smoke: OK")
  if(BIVAE_CUDA_EMU)
    set_property(TEST bench_gpu_smoke APPEND PROPERTY ENVIRONMENT CUEMU_DEVICES=2)
  endif()
endif()
