# benchmarks/run_gpu.sh, checked without a GPU: its --dry-run plan and benchmarks/gpu_summary.py
bivae_add_script_test(run_gpu_plan e2e/run_gpu_plan.sh)
set_tests_properties(run_gpu_plan PROPERTIES LABELS "script;bench" TIMEOUT 120)
