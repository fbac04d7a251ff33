# kernels/: every CPU op against naive references and finite differences
bivae_add_unit_test(kernels_cpu kernels/test_kernels_cpu.c LIBS bivae_kernels LABELS kernels)
target_include_directories(kernels_cpu PRIVATE ${RANDOM123_INCLUDE_DIR})
# every build of the CPU kernels in a portable binary (x86-64, -v3, -v4) gives the same bits;
# and kernels_cpu again on each build this CPU runs (skipped where it cannot)
bivae_add_unit_test(kernels_cpu_isa kernels/test_cpu_isa.c LIBS bivae_kernels LABELS kernels)
set_tests_properties(kernels_cpu_isa PROPERTIES SKIP_RETURN_CODE 77)
foreach(level ${BIVAE_CPU_LEVELS})   # kernels/CMakeLists.txt: empty unless portable
  add_test(NAME kernels_cpu_${level} COMMAND kernels_cpu)
  set_tests_properties(kernels_cpu_${level} PROPERTIES
    ENVIRONMENT "${BIVAE_MPI_ENV};BIVAE_CPU_ISA=${level}" LABELS "unit;kernels"
    SKIP_RETURN_CODE 77)
endforeach()
