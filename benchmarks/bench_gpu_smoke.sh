#!/usr/bin/env bash
# benchmarks/bench_gpu_smoke.sh BENCH_GPU OUT_DIR — bench_gpu end to end on a tiny shape (not
# a measurement): a whole epoch and a --steps 2 one, both maths and two batches, then the
# outputs' keys and values: every run of bench_gpu.json has the keys benchmarks/run_gpu.sh
# reads, positive times, a decoder GEMM rate and bandwidth, the decoder GEMMs found by shape
# doing 8·U·I·K flop per epoch, launches per step at least the
# profiled ops per step and equal for fp32 and tf32 (the count does not depend on the math),
# and the --steps run timed 2 steps per phase and says it extrapolated. Exit 77 (skip) when
# bench_gpu finds no CUDA device.
set -euo pipefail
bench=${1:?bench_gpu binary}
out=${2:?output folder}
rm -rf "$out"
args=(--synthetic 200x150x5000 --k 4 --hidden 8 --batches 16,64 --maths fp32,tf32 --warmup 1)
run() {   # run DIR ARGS...: bench_gpu, exit 77 passed through
    local dir=$1 rc=0
    shift
    "$bench" "${args[@]}" --out "$dir" "$@" >"$dir.log" 2>&1 || rc=$?
    if [[ $rc -eq 77 ]]; then cat "$dir.log"; exit 77; fi
    [[ $rc -eq 0 ]] || { cat "$dir.log"; echo "FAIL: bench_gpu $* exited $rc"; exit 1; }
}
mkdir -p "$out"
run "$out/epoch"
run "$out/steps" --steps 2
python3 - "$out" <<'PY'
import csv, json, sys
out = sys.argv[1]
def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)
classes = ["decoder_gemm", "encoder_gemm", "elementwise_lik", "sparse", "adam", "comm", "other", "idle"]
keys = ["shape", "batch", "precision", "ranks", "ms_per_epoch", "launches_per_step",
        "gemm_tflops", "elementwise_gbps", "peak_mem_mb", "ms_by_class"]
for name, steps in (("epoch", None), ("steps", 2)):
    d = json.load(open(f"{out}/{name}/bench_gpu.json"))
    if not isinstance(d.get("device"), str) or not d["device"]:
        fail(f"{name}: no device name")
    runs = d.get("runs", [])
    if sorted((r.get("precision"), r.get("batch")) for r in runs) != \
       [("fp32", 16), ("fp32", 64), ("tf32", 16), ("tf32", 64)]:
        fail(f"{name}: runs {[(r.get('precision'), r.get('batch')) for r in runs]}")
    for r in runs:
        tag = f"{name} {r['precision']} batch {r['batch']}"
        for k in keys:
            if k not in r:
                fail(f"{tag}: no key {k}")
        if r["ranks"] != 1 or r["shape"] != "200x150x5000":
            fail(f"{tag}: ranks {r['ranks']}, shape {r['shape']}")
        for k in ("ms_per_epoch", "launches_per_step", "gemm_tflops", "elementwise_gbps"):
            if not r[k] > 0:
                fail(f"{tag}: {k} = {r[k]}")
        if not r["peak_mem_mb"] >= 0:
            fail(f"{tag}: peak_mem_mb = {r['peak_mem_mb']}")
        if r["launches_per_step"] < r["ops_per_step"]:
            fail(f"{tag}: {r['launches_per_step']} launches per step < {r['ops_per_step']} ops")
        if sorted(r["ms_by_class"]) != sorted(classes):
            fail(f"{tag}: classes {sorted(r['ms_by_class'])}")
        if any(v < 0 for v in r["ms_by_class"].values()):
            fail(f"{tag}: a negative class time {r['ms_by_class']}")
        for k in ("decoder_gemm", "elementwise_lik", "sparse", "adam"):
            if not r["ms_by_class"][k] > 0:
                fail(f"{tag}: no {k} time")
        if steps is None and abs(r["decoder_gflop_per_epoch"] / (8 * 200 * 150 * 4 * 1e-9) - 1) > 1e-5:
            fail(f"{tag}: decoder GEMMs {r['decoder_gflop_per_epoch']} GFLOP per epoch, "
                 f"not 8·U·I·K")
        full = r["steps_per_epoch"]
        want = {s: steps for s in full} if steps else full
        if r["steps"] != want or r["extrapolated"] != (steps is not None):
            fail(f"{tag}: steps {r['steps']} of {full}, extrapolated {r['extrapolated']}")
    # a driver may serve a tiny model from memory it already holds: > 0 in one run at least
    if not max(r["peak_mem_mb"] for r in runs) > 0:
        fail(f"{name}: no run used device memory")
    for b in (16, 64):
        n = {r["precision"]: r["launches_per_step"] for r in runs if r["batch"] == b}
        if n["fp32"] != n["tf32"]:
            fail(f"{name} batch {b}: launches per step {n} differ between maths")
    rows = list(csv.DictReader(open(f"{out}/{name}/bench_gpu.csv")))
    if len(rows) != 4 or any(float(x["ms_per_epoch"]) <= 0 for x in rows):
        fail(f"{name}: bench_gpu.csv has {len(rows)} rows")
    md = open(f"{out}/{name}/bench_gpu.md").read()
    if md.count("| 200x150x5000 |") != 4:
        fail(f"{name}: bench_gpu.md has not the 4 rows")
print("bench_gpu_smoke: OK:", ", ".join(f"batch {r['batch']} {r['launches_per_step']} launches/step"
                                        for r in runs if r["precision"] == "fp32"))
PY
