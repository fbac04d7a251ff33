#!/usr/bin/env bash
# benchmarks/profile_cpu.sh — where a CPU training epoch goes: perf samples (cpu-clock, so it
# works where hardware counters are not exposed, e.g. in VMs) of bench_cpu --epochs-only on
# one shape, one thread, grouped into GEMM (OpenBLAS) / sparse first layer / element-wise /
# Adam / memset-memcpy / data load / kernel / other, with the top symbols of each group.
#
# usage: benchmarks/profile_cpu.sh [-s SHAPE] [-e EPOCHS] [-b BENCH | -t BIVAE] [-o CSV]
#   SHAPE [ml-1m], EPOCHS [20] (after 1 warm-up), BENCH [build/benchmarks/bench_cpu],
#   -t BIVAE: profile `BIVAE train` on the same model instead (k 50, encoder 100, batch 128,
#   --test-ratio 0: no evaluation), e.g. an older build without --epochs-only;
#   CSV: append one row per group (date, shape, CPU kernels, group, percent)
# BIVAE_CPU_ISA picks the kernel build as for the trainer. Needs perf (Debian linux-perf).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shape=ml-1m epochs=20 bench=$root/build/benchmarks/bench_cpu csv= trainer=
while getopts "s:e:b:t:o:h" opt; do
    case $opt in
        s) shape=$OPTARG ;; e) epochs=$OPTARG ;; b) bench=$OPTARG ;; o) csv=$OPTARG ;;
        t) trainer=$OPTARG ;;
        *) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
command -v perf >/dev/null || { echo "profile_cpu: no perf (apt-get install linux-perf)" >&2; exit 2; }
run=("$bench" --shapes "$shape" --epochs "$epochs" --warmup 1 --epochs-only 1)
if [[ -n $trainer ]]; then
    bench=$trainer
    run=("$trainer" train --synthetic "$shape" --epochs "$epochs" --k 50 --encoder 100
         --batch-size 128 --test-ratio 0 --threads 1)
fi
[[ -x $bench ]] || { echo "profile_cpu: no $bench (build first: ./launch/build.sh)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
perf record -q -e cpu-clock -F 2000 -o "$tmp/perf.data" -- "${run[@]}" >"$tmp/bench.out" \
    2>"$tmp/perf.err" || { cat "$tmp/perf.err" >&2; echo "profile_cpu: perf record failed" >&2; exit 3; }
isa=$(sed -n 's/.*CPU kernels \([^ ,]*\).*/\1/p' "$tmp/bench.out" "$tmp/perf.err" | head -1)
isa=${isa:-unnamed}
perf report -i "$tmp/perf.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null \
    >"$tmp/report.txt"
python3 - "$tmp/report.txt" "$shape" "$isa" "$csv" "$(tail -1 "$tmp/bench.out" | tr -s ' ')" <<'PY'
import re, sys, datetime
report, shape, isa, csv, line = sys.argv[1:6]
groups = [  # first match wins
    ("GEMM (OpenBLAS)", lambda d, s: "openblas" in d),
    ("sparse first layer", lambda d, s: re.search(r"csr_matmul_bias|csr_t_matmul_add|spmm_row|csc_of|__memcmp", s)),
    ("Adam", lambda d, s: "adam" in s),
    ("element-wise", lambda d, s: re.search(r"sigmoid_lik|act_forward|act_backward|gaussian|"
                                            r"philox|box_muller|add_bias|colsum|cpu_scale|cpu_fill|"
                                            r"rows_cyclic|copy_rows|find_nonfinite|accumulate|"
                                            r"__ieee754_log|__log|row_dense|row_ones|row_value", s)),
    ("memset / memcpy", lambda d, s: re.search(r"__mem(set|move|cpy)", s)),
    ("data load", lambda d, s: re.search(r"synth_|rating_sink|part_|id_dict|i32_intro|"
                                         r"dataset_load|idmap|route", s)),
    ("kernel", lambda d, s: d.startswith("[kernel")),
    ("other", lambda d, s: True),
]
share = {g: 0.0 for g, _ in groups}
top = {g: [] for g, _ in groups}
for row in open(report):
    m = re.match(r"\s*([0-9.]+)%\s+(\S+)\s+\[[.k]\]\s+(\S+)", row)
    if not m:
        continue
    pct, dso, sym = float(m.group(1)), m.group(2), m.group(3)
    for g, match in groups:
        if match(dso, sym):
            share[g] += pct
            top[g].append((pct, sym))
            break
print(f"profile_cpu: {shape}, CPU kernels {isa}, bench_cpu: {line.strip()}")
print(f"{'group':<20} {'share':>7}  top symbols")
for g, _ in groups:
    syms = ", ".join(f"{s} {p:.1f}%" for p, s in sorted(top[g], reverse=True)[:3])
    print(f"{g:<20} {share[g]:6.1f}%  {syms}")
if csv:
    with open(csv, "a") as f:
        day = datetime.date.today().isoformat()
        for g, _ in groups:
            f.write(f"{day},{shape},{isa},{g},{share[g]:.2f}\n")
PY
