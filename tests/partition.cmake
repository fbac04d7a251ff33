# tests/partition.cmake — partition/: readers, split, id maps, routing, synthetic data.
add_executable(partition_dump partition/dump_main.c)
target_link_libraries(partition_dump PRIVATE bivae_partition)

add_library(partition_test_util STATIC partition/test_util.c)
target_link_libraries(partition_test_util PUBLIC bivae_partition)
target_include_directories(partition_test_util PUBLIC ${CMAKE_SOURCE_DIR})

bivae_add_unit_test(partition_basics partition/test_basics.c LIBS bivae_partition)
bivae_add_unit_test(partition_reader partition/test_reader.c LIBS partition_test_util)
if(ZSTD_FOUND)
  target_compile_definitions(partition_reader PRIVATE BIVAE_HAVE_ZSTD=1)
endif()
bivae_add_unit_test(partition_load partition/test_load.c LIBS partition_test_util)
bivae_add_unit_test(partition_synth partition/test_synth.c LIBS partition_test_util)
bivae_add_unit_test(partition_features partition/test_features.c LIBS partition_test_util)

# Multi-rank scripts (mpirun inside, with timeouts): the driver is their argument.
bivae_add_script_test(partition_mpi_equal partition/mpi_equal.sh $<TARGET_FILE:partition_dump>)
bivae_add_script_test(partition_mpi_error partition/mpi_error.sh $<TARGET_FILE:partition_dump>)
bivae_add_script_test(partition_mpi_features partition/mpi_features.sh $<TARGET_FILE:partition_dump>)
bivae_add_script_test(partition_mpi_tiny partition/mpi_tiny.sh $<TARGET_FILE:partition_dump>)
