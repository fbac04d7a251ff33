# kernels/: every CPU op against naive references and finite differences
bivae_add_unit_test(kernels_cpu kernels/test_kernels_cpu.c LIBS bivae_kernels LABELS kernels)
target_include_directories(kernels_cpu PRIVATE ${RANDOM123_INCLUDE_DIR})
