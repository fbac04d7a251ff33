# End to end: the binary through its command line, and the trainer's quality.
bivae_add_script_test(e2e_cli e2e/cli.sh)
bivae_add_script_test(e2e_train_metrics e2e/train_metrics.sh)
bivae_add_script_test(e2e_determinism e2e/determinism.sh)
bivae_add_script_test(e2e_ranks e2e/ranks.sh)
bivae_add_script_test(e2e_replicas e2e/replicas.sh)
set_tests_properties(e2e_ranks PROPERTIES TIMEOUT 900)
bivae_add_unit_test(e2e_quality e2e/test_quality.c LABELS e2e)
