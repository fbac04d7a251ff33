# Launchers (launch/mpirun.sh, launch/slurm/): the one-node mpirun wrapper for real on 2 ranks,
# the Slurm template and its submit helper (syntax, --help, dry runs, shellcheck), and a real
# private Slurm cluster (munged + slurmctld + slurmd on localhost) running the template with
# 4 tasks, including a time-limit signal, a requeue and --resume. The cluster test skips
# (exit 77, "SKIP: reason") where Slurm or munge is missing or it is not root.
bivae_add_script_test(launch_mpirun slurm/mpirun_wrapper.sh)
bivae_add_script_test(slurm_template slurm/template.sh)
bivae_add_script_test(slurm_shellcheck slurm/shellcheck.sh)
bivae_add_script_test(slurm_cluster slurm/cluster_job.sh)
# launch/install-deps.sh waiting for the package manager's lock (its functions, on lock
# files of the test's own; nothing is installed)
bivae_add_script_test(launch_install_deps slurm/install_deps.sh)
# alone: 4 ranks on a 2-core machine and its own daemons. It takes ~25 s; its own bounds
# (110 s of checks, then the stop) keep it inside the limit, so the daemons are always stopped.
set_tests_properties(slurm_cluster PROPERTIES TIMEOUT 200 RUN_SERIAL TRUE LABELS "script;slurm")
set_tests_properties(launch_mpirun slurm_template slurm_shellcheck launch_install_deps PROPERTIES
                     LABELS "script;slurm")
