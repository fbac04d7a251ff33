# benchmarks/allreduce.cmake — bandwidth of comm_allreduce_sum_f32 (see bench_allreduce.c);
# benchmarks/scaling.sh -b runs it over the multi-host test bed.
add_executable(bench_allreduce ${CMAKE_CURRENT_LIST_DIR}/bench_allreduce.c)
target_link_libraries(bench_allreduce PRIVATE bivae_comm)
