#!/usr/bin/env bash
# benchmarks/scaling.sh — strong and weak scaling of bivae-dist over MPI ranks.
#
#   benchmarks/scaling.sh [-d cpu|cuda] [-s ml-1m[,ml-20m]] [-n "1 2 4 8"] [-m strong|weak|both]
#                         [-e EPOCHS] [-f sharded|replicated] [-o OUTDIR] [-r] [-b HOSTS]
#
# Strong scaling: the same synthetic shape for every rank count. Weak scaling: the shape
# grows with the rank count (users and ratings × np, items fixed). Every run: k 50, encoder
# 100, batch 128, one thread per rank, no evaluation (--test-ratio 0). From each run's JSON
# lines it takes the median over the epochs after the first of: epoch seconds, compute and
# communication seconds (communication includes waiting for the slowest rank), bytes
# all-reduced and all-gathered. Writes OUTDIR/scaling.csv and, with gnuplot, PNG plots
# (speed-up with the ideal line; compute/communication split; bytes per epoch). Runs with
# more ranks than cores are marked "oversubscribed": they show that the code works, not how
# it scales. -f: the first encoder layer mode (--first-layer, default sharded). -r appends a
# summary to benchmarks/RESULTS.md.
# -b HOSTS: over the multi-host test bed (tests/multinode/bed.sh; root): HOSTS network-namespace
# hosts on one machine, each rank count split evenly over them, Open MPI over TCP only. Before
# each rank count's runs, bench_allreduce measures the TCP all-reduce bandwidth across the
# hosts (veth loopback through the kernel, not InfiniBand); OUTDIR/bed-bandwidth.csv and a
# line per run put it beside the run's per-epoch communication volume and the time that
# volume takes at that bandwidth (a lower bound: the epoch's calls are smaller than the
# largest message measured).
# Environment: BIVAE_BUILD_DIR (default: build/ of this checkout).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
device=cpu shapes=ml-1m nps="1 2 4 8" mode=both epochs=6 out="$root/benchmarks/out/scaling" record=0
first=sharded bed_hosts=0
while getopts "d:s:n:m:e:f:o:rb:" opt; do
    case $opt in
    d) device=$OPTARG ;; s) shapes=$OPTARG ;; n) nps=$OPTARG ;; m) mode=$OPTARG ;;
    e) epochs=$OPTARG ;; f) first=$OPTARG ;; o) out=$OPTARG ;; r) record=1 ;;
    b) bed_hosts=$OPTARG ;;
    *) sed -n '2,26p' "$0" >&2; exit 2 ;;
    esac
done
[[ $mode == strong || $mode == weak || $mode == both ]] || { echo "scaling: -m strong|weak|both" >&2; exit 2; }
[[ $first == sharded || $first == replicated ]] || { echo "scaling: -f sharded|replicated" >&2; exit 2; }
[[ $epochs -ge 2 ]] || { echo "scaling: -e needs at least 2 epochs (the first is warm-up)" >&2; exit 2; }
build=${BIVAE_BUILD_DIR:-$root/build}
bin="$build/bivae-dist"
[[ -x $bin ]] || { echo "scaling: $bin not built (run launch/build.sh)" >&2; exit 3; }
source "$root/launch/env.sh"
mkdir -p "$out"
if [[ $bed_hosts != 0 ]]; then
    [[ $bed_hosts =~ ^[2-9]$ ]] || { echo "scaling: -b $bed_hosts: want 2 to 9 hosts" >&2; exit 2; }
    for np in $nps; do
        (( np % bed_hosts == 0 )) || { echo "scaling: -b $bed_hosts: np $np is not a multiple" >&2; exit 2; }
    done
    [[ -x $build/benchmarks/bench_allreduce ]] || { echo "scaling: $build/benchmarks/bench_allreduce not built" >&2; exit 3; }
    # shellcheck source=tests/multinode/bed.sh
    source "$root/tests/multinode/bed.sh"
    trap 'bed_down' EXIT
    rc=0
    bed_up "$bed_hosts" || rc=$?
    [[ $rc -eq 0 ]] || { echo "scaling: -b: the test bed did not come up (exit $rc)" >&2; exit "$rc"; }
    export OMPI_MCA_mpi_yield_when_idle=1   # (more ranks than cores: do not spin)
    echo "hosts,np,bytes,busbw_GBps,algbw_GBps,shape,comm_bytes_per_epoch,comm_s,comm_s_at_algbw" >"$out/bed-bandwidth.csv"
fi
cores=$(nproc)
csv="$out/scaling.csv"
echo "mode,shape,np,oversubscribed,device,epochs,sec_per_epoch,compute_s,comm_s,allreduce_bytes,allgather_bytes" >"$csv"

# base shapes (users x items x ratings) for weak scaling
declare -A base=([ml-100k]="943 1682 100000" [ml-1m]="6040 3706 1000209" [ml-20m]="138493 26744 20000263")

run_one() {  # mode shape-label synthetic-spec np
    local m=$1 label=$2 spec=$3 np=$4 over=no
    [[ $np -gt $cores ]] && over=yes
    local bind=(--bind-to core)
    [[ $over == yes ]] && bind=(--bind-to none)
    local json="$out/$m-$label-np$np.jsonl"
    local note=""
    [[ $over == yes ]] && note=" (oversubscribed: $np ranks on $cores cores)"
    echo "scaling: $m $label np=$np, first layer $first$note" >&2
    local launch=(mpirun -np "$np" --oversubscribe "${bind[@]}")
    if [[ $bed_hosts != 0 ]]; then
        bed_hostfile "$out/bed-hosts" $(( np / bed_hosts ))
        launch=(bed_mpirun --hostfile "$out/bed-hosts" -np "$np" --oversubscribe "${bind[@]}")
    fi
    "${launch[@]}" "$bin" train --synthetic "$spec" --k 50 \
        --encoder 100 --batch-size 128 --epochs "$epochs" --threads 1 --device "$device" \
        --test-ratio 0 --first-layer "$first" --quiet --metrics-out "$json" >/dev/null
    python3 "$root/benchmarks/scaling_summary.py" row "$json" "$m" "$label" "$np" "$over" \
        "$device" >>"$csv"
    if [[ $bed_hosts != 0 ]]; then bed_report "$json" "$label" "$np"; fi
}

# bed_bandwidth NP: the TCP all-reduce bandwidth across the bed's hosts with NP ranks (the
# largest message, 16 MiB) into bw_line ("bytes,seconds,algbw,busbw,wrong").
bed_bandwidth() {
    local np=$1
    bed_hostfile "$out/bed-hosts" $(( np / bed_hosts ))
    bed_mpirun --hostfile "$out/bed-hosts" -np "$np" --oversubscribe --bind-to none \
        "$build/benchmarks/bench_allreduce" --min-bytes 65536 --max-bytes 16777216 --iters 10 \
        >"$out/bed-allreduce-np$np.csv" || { echo "scaling: bench_allreduce over the bed failed" >&2; exit 3; }
    bw_line=$(tail -n 1 "$out/bed-allreduce-np$np.csv")
    [[ ${bw_line##*,} == 0 ]] || { echo "scaling: bench_allreduce: wrong sums ($bw_line)" >&2; exit 3; }
}

# bed_report JSONL LABEL NP: the run's per-epoch communication beside the measured bandwidth.
bed_report() {
    local json=$1 label=$2 np=$3
    IFS=, read -r bytes _ algbw busbw _ <<<"$bw_line"
    python3 - "$json" "$bed_hosts" "$np" "$bytes" "$busbw" "$algbw" "$label" >>"$out/bed-bandwidth.csv" <<'PY'
import json, statistics, sys
path, hosts, np, size, busbw, algbw, label = sys.argv[1:]
ep = [json.loads(l) for l in open(path)]
ep = [e for e in ep if not e.get("final")][1:]
vol = statistics.median(e["allreduce_bytes"] + e["allgather_bytes"] for e in ep)
comm = statistics.median(e["comm_seconds"] for e in ep)
at_bw = vol / (float(algbw) * 1e9)
print(f"{hosts},{np},{size},{busbw},{algbw},{label},{int(vol)},{comm:.6f},{at_bw:.6f}")
print(f"scaling: bed {hosts} hosts, np {np}: TCP all-reduce {float(busbw):.2f} GB/s bus bandwidth "
      f"({float(algbw):.2f} GB/s algorithm) at {int(size) >> 20} MiB (veth loopback, not "
      f"InfiniBand); per-epoch communication {vol / 1e6:.2f} MB per rank: {at_bw:.4f} s at that "
      f"bandwidth, {comm:.4f} s measured", file=sys.stderr)
PY
}

for shape in ${shapes//,/ }; do
    [[ -n ${base[$shape]:-} ]] || { echo "scaling: unknown shape $shape" >&2; exit 2; }
    read -r U I N <<<"${base[$shape]}"
    for np in $nps; do
        if [[ $bed_hosts != 0 ]]; then bed_bandwidth "$np"; fi
        if [[ $mode != weak ]]; then run_one strong "$shape" "$shape" "$np"; fi
        if [[ $mode != strong ]]; then run_one weak "$shape" "$((U * np))x${I}x$((N * np))" "$np"; fi
    done
done
python3 "$root/benchmarks/scaling_summary.py" table "$csv"
if command -v gnuplot >/dev/null; then
    python3 "$root/benchmarks/scaling_summary.py" plots "$csv" "$out"
else
    echo "scaling: gnuplot not installed: no plots (launch/install-deps.sh --with-slurm installs it)" >&2
fi
if [[ $record -eq 1 ]]; then
    python3 "$root/benchmarks/scaling_summary.py" record "$csv" "$root/benchmarks/RESULTS.md"
fi
