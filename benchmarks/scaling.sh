#!/usr/bin/env bash
# benchmarks/scaling.sh — strong and weak scaling of bivae-dist over MPI ranks.
#
#   benchmarks/scaling.sh [-d cpu|cuda] [-s ml-1m[,ml-20m]] [-n "1 2 4 8"] [-m strong|weak|both]
#                         [-e EPOCHS] [-f sharded|replicated] [-o OUTDIR] [-r]
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
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
device=cpu shapes=ml-1m nps="1 2 4 8" mode=both epochs=6 out="$root/benchmarks/out/scaling" record=0
first=sharded
while getopts "d:s:n:m:e:f:o:r" opt; do
    case $opt in
    d) device=$OPTARG ;; s) shapes=$OPTARG ;; n) nps=$OPTARG ;; m) mode=$OPTARG ;;
    e) epochs=$OPTARG ;; f) first=$OPTARG ;; o) out=$OPTARG ;; r) record=1 ;;
    *) sed -n '2,18p' "$0" >&2; exit 2 ;;
    esac
done
[[ $mode == strong || $mode == weak || $mode == both ]] || { echo "scaling: -m strong|weak|both" >&2; exit 2; }
[[ $first == sharded || $first == replicated ]] || { echo "scaling: -f sharded|replicated" >&2; exit 2; }
[[ $epochs -ge 2 ]] || { echo "scaling: -e needs at least 2 epochs (the first is warm-up)" >&2; exit 2; }
bin="$root/build/bivae-dist"
[[ -x $bin ]] || { echo "scaling: $bin not built (run launch/build.sh)" >&2; exit 3; }
source "$root/launch/env.sh"
mkdir -p "$out"
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
    mpirun -np "$np" --oversubscribe "${bind[@]}" "$bin" train --synthetic "$spec" --k 50 \
        --encoder 100 --batch-size 128 --epochs "$epochs" --threads 1 --device "$device" \
        --test-ratio 0 --first-layer "$first" --quiet --metrics-out "$json" >/dev/null
    python3 "$root/benchmarks/scaling_summary.py" row "$json" "$m" "$label" "$np" "$over" \
        "$device" >>"$csv"
}

for shape in ${shapes//,/ }; do
    [[ -n ${base[$shape]:-} ]] || { echo "scaling: unknown shape $shape" >&2; exit 2; }
    read -r U I N <<<"${base[$shape]}"
    for np in $nps; do
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
