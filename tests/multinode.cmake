# Multi-node for real on one machine (tests/multinode/): hosts as network namespaces with
# their own hostnames on a private bridge (198.51.100.0/24), Open MPI across them over TCP,
# Slurm with one slurmd per host, a host lost mid-run. Root only: each test skips (77,
# "SKIP: reason") when not root or when the kernel refuses namespaces. They share the fixed
# names of the bed (bivae-h*, bivae-br0): one at a time.
bivae_add_script_test(multinode_mpirun multinode/mpirun_hosts.sh)
set_tests_properties(multinode_mpirun PROPERTIES
                     TIMEOUT 120 RUN_SERIAL TRUE LABELS "script;multinode")
bivae_add_script_test(multinode_local_ranks multinode/local_ranks.sh)
set_tests_properties(multinode_local_ranks PROPERTIES
                     TIMEOUT 120 RUN_SERIAL TRUE LABELS "script;multinode")
bivae_add_script_test(multinode_node_lost multinode/node_lost.sh)
set_tests_properties(multinode_node_lost PROPERTIES
                     TIMEOUT 200 RUN_SERIAL TRUE LABELS "script;multinode")
bivae_add_script_test(multinode_scaling multinode/scaling_bed.sh)
set_tests_properties(multinode_scaling PROPERTIES
                     TIMEOUT 200 RUN_SERIAL TRUE LABELS "script;multinode")
bivae_add_script_test(multinode_slurm multinode/slurm_nodes.sh)
set_tests_properties(multinode_slurm PROPERTIES
                     TIMEOUT 240 RUN_SERIAL TRUE LABELS "script;multinode;slurm")
if(BIVAE_CUDA_EMU)
  # (the CUDA tests run against cuemu: launch/test-cuemu.sh runs the label cuda)
  bivae_add_script_test(multinode_cuda_local multinode/cuda_local.sh)
  set_tests_properties(multinode_cuda_local PROPERTIES
                       TIMEOUT 120 RUN_SERIAL TRUE LABELS "script;multinode;cuda")
endif()
