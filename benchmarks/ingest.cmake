# benchmarks/ingest.cmake — dataset_load wall time (see bench_ingest.c).
add_executable(bench_ingest ${CMAKE_CURRENT_LIST_DIR}/bench_ingest.c)
target_link_libraries(bench_ingest PRIVATE bivae_partition)
