#!/usr/bin/env bash
# benchmarks/run_gpu.sh without a GPU (issue 14): --dry-run prints a plan with every stage,
# each under its own timeout, the estimate within the 7-minute budget, and every command of
# the GPU run (architectures of the card, the CLI runs of the issue, compute-sanitizer's
# three tools, Cornac on cuda, bench_gpu, the summary); bad arguments get one line and
# exit 2; and gpu_summary.py turns a run's folder (here made by hand) into the one JSON.
source "$(dirname "$0")/lib.sh"
RUN="$BIVAE_SOURCE_DIR/benchmarks/run_gpu.sh"
SUMMARY="$BIVAE_SOURCE_DIR/benchmarks/gpu_summary.py"

# ---- the plan
CUDA_ARCH=90 OUT="$TMP/out" bash "$RUN" --dry-run >"$TMP/plan" 2>&1 || { cat "$TMP/plan"; fail "--dry-run failed"; }
[[ ! -e "$TMP/out" ]] || fail "--dry-run wrote its output folder"
has() { grep -Eq -- "$1" "$TMP/plan" || { cat "$TMP/plan"; fail "the plan lacks /$1/"; }; }
for s in deps configure build tests sanitize train compare cornac bench summary; do
    has "^stage $s: timeout [0-9]+ s, estimate [0-9]+ s"
done
has "-DCMAKE_CUDA_ARCHITECTURES=90( |$)"
has "ctest .*-L cuda"
for tool in memcheck racecheck synccheck; do has "compute-sanitizer --tool $tool "; done
for shape in ml-1m ml-20m; do
    for prec in fp32 tf32; do
        for b in 128 1024; do
            has "bivae-dist train --synthetic $shape .*--batch-size $b --precision $prec .*--device cuda"
        done
    done
    has "mpirun -np 2 .*bivae-dist train --synthetic $shape .*--device cuda --comm mpi"
    has "compare_runs.py .*$shape-fp32-b1024-np1.jsonl .*$shape-fp32-b1024-np2.jsonl --loss-rtol 1e-4"
    has "compare_cornac.py cornac-epochs .*--preset $shape --device cuda"
done
has "bivae-dist train --synthetic ml-1m .*--device cpu"
has "compare_runs.py .*-cpu.jsonl --tail --loss-rtol 1e-3"
has "pip install --no-index --find-links .*\.deps/wheels --no-deps"
has "benchmarks/bench_gpu --out"
has "gpu_summary.py --out-dir"
total=$(sed -n 's/^run_gpu: estimated total \([0-9]*\) s.*/\1/p' "$TMP/plan")
[[ -n "$total" && $total -le 420 ]] || fail "estimated total '${total}' s is not within 7 minutes"
# --only keeps the named stages (and the summary)
bash "$RUN" --dry-run --only train >"$TMP/only" 2>&1 || fail "--only train failed"
grep -q "^stage tests: not run" "$TMP/only" && grep -q "^stage train: timeout" "$TMP/only" \
    && grep -q "^stage summary: timeout" "$TMP/only" || { cat "$TMP/only"; fail "--only train: wrong plan"; }
expect_exit 2 "^run_gpu: unknown argument --bogus" bash "$RUN" --bogus
expect_exit 2 "^run_gpu: unknown stage tset" bash "$RUN" --dry-run --only tset

# ---- the summary of a run folder made by hand
O=$TMP/run
mkdir -p "$O/runs" "$O/cornac"
printf 'build\tok\t90\t\ntests\tfailed\t12\trun_gpu: every CUDA test failed\n' >"$O/stages.tsv"
printf 'ml-20m-fp32-b128-np1\tml-20m\t128\tfp32\t1\t0\t9\t--device cuda\n' >"$O/runs.tsv"
printf 'ml-20m-fp32-b128-cpu\tml-20m\t128\tfp32\t1\t124\t60\t--device cpu\n' >>"$O/runs.tsv"
for e in 1 2 3; do
    s=$([[ $e == 1 ]] && echo 1.5 || echo "0.0$((e + 1))")     # 1.5 s, then 30 and 40 ms
    echo "{\"epoch\":$e,\"loss_item\":3.$e,\"loss_user\":2.$e,\"seconds\":$s,\"compute_seconds\":$s,\"comm_seconds\":0}" \
        >>"$O/runs/ml-20m-fp32-b128-np1.jsonl"
done
echo '{"epoch":1,"loss_item":3.1,"loss_user":2.1,"seconds":50}' >"$O/runs/ml-20m-fp32-b128-cpu.jsonl"
printf 'np2-vs-np1 ml-20m\t1\tepoch 2 loss_item: 1 vs 2 (relative 0.5 > 0.0001)\t--loss-rtol 1e-4\n' >"$O/checks.tsv"
echo '{"preset":"ml-20m","batch":128,"device":"cuda:0","ms_per_epoch":7000.0}' >"$O/cornac/ml-20m.json"
printf '+ timeout 85 /x/compute-sanitizer --tool memcheck cuda_ops\n========= ERROR SUMMARY: 2 errors\n+ rc 1\n' \
    >"$O/sanitize-memcheck-cuda_ops.log"
echo '{"device":"H100","runs":[{"shape":"ml-20m","batch":1024,"precision":"tf32","ranks":1,"ms_per_epoch":8.5,"launches_per_step":40}]}' \
    >"$O/bench_gpu.json"
python3 "$SUMMARY" --out-dir "$O" --root "$BIVAE_SOURCE_DIR" >"$TMP/sum.out" 2>&1 \
    || { cat "$TMP/sum.out"; fail "gpu_summary.py failed"; }
python3 - "$O/gpu_summary.json" <<'PY' || fail "gpu_summary.json is wrong"
import json, sys
s = json.load(open(sys.argv[1]))
for k in ("device", "commit", "runs", "cornac", "stages", "checks", "targets"):
    assert k in s, k
assert s["commit"]["sha"] and len(s["commit"]["sha"]) == 40, s["commit"]
g, c, b = s["runs"]
assert b["source"] == "bench_gpu" and b["launches_per_step"] == 40, b   # bench_gpu.json merged
assert s["bench_gpu"]["bench_gpu.device"] == "H100", s["bench_gpu"]
for k in ("shape", "batch", "precision", "ranks", "ms_per_epoch"):
    assert k in g, k
assert (g["shape"], g["batch"], g["precision"], g["ranks"]) == ("ml-20m", 128, "fp32", 1), g
assert g["ms_per_epoch"] == 35.0 and g["first_epoch_ms"] == 1500.0, g   # median of 30, 40
assert g["status"] == "ok" and g["device"] == "cuda" and g["epochs_done"] == 3, g
assert c["device"] == "cpu" and c["status"] == "timed out" and c["ms_per_epoch"] == 50000.0, c
assert s["cornac"][0]["speedup_bivae_dist_over_cornac"] == 200.0, s["cornac"]
assert s["stages"][1] == {"stage": "tests", "status": "failed", "seconds": 12,
                          "why": "run_gpu: every CUDA test failed"}, s["stages"]
assert s["checks"][0]["passed"] is False, s["checks"]
assert s["sanitizer"]["memcheck-cuda_ops"]["errors"] == 2, s["sanitizer"]
t = s["targets"]
assert t["ml20m_b128_ms"] == 35.0 and t["ml20m_b128_le_25ms"] is False, t
assert t["ge_100x_cornac_ml20m"] is True and t["equal_within_tolerance"] is False, t
assert t["sanitizer_clean"] is False and t["ml20m_b1024_ms"] is None, t
PY
expect_exit 1 "gpu_summary: error: .* is not a folder" python3 "$SUMMARY" --out-dir "$TMP/none"
echo "run_gpu_plan: OK"
