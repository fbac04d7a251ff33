# benchmarks/gpu.cmake — training throughput of the CUDA backend (see bench_gpu.c and
# run_gpu.sh). Only in CUDA builds: it reads the backend's op-class profiler.
if(BIVAE_HAVE_CUDA)
  add_executable(bench_gpu ${CMAKE_CURRENT_LIST_DIR}/bench_gpu.c)
  target_link_libraries(bench_gpu PRIVATE bivae_core)
endif()
