# common/: helpers shared by every folder.
bivae_add_unit_test(common_fsutil common/test_fsutil.c LIBS bivae_common)
bivae_add_unit_test(common_outfile common/test_outfile.c LIBS bivae_common)
