#!/usr/bin/env bash
# benchmarks/ingest.sh — ingest (dataset_load) on the ml-20m synthetic shape: the built-in
# generator, its file as plain TSV, gzip and zstd, and a string-id copy (user and item ids
# as hash-like tokens, plain and gzip), on 1 and 2 ranks. Prints a table (median of REPEAT
# runs) and writes it as CSV to benchmarks/results/ingest-<date>.csv.
#   benchmarks/ingest.sh [-s PRESET] [-n "1 2"] [-r REPEAT] [-d WORKDIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
preset=ml-20m nps="1 2" repeat=3 work=${TMPDIR:-/tmp}/bivae-ingest
while getopts "s:n:r:d:h" o; do
    case $o in
    s) preset=$OPTARG ;; n) nps=$OPTARG ;; r) repeat=$OPTARG ;; d) work=$OPTARG ;;
    *) sed -n '2,6p' "$0"; exit 2 ;;
    esac
done
bin=$root/build/bivae-dist bench=$root/build/benchmarks/bench_ingest
[[ -x $bin && -x $bench ]] || { echo "ingest: build first (launch/build.sh)" >&2; exit 2; }
source "$root/launch/env.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mkdir -p "$work" "$root/benchmarks/results"
f=$work/$preset.tsv
[[ -s $f ]] || "$bin" gen --synthetic "$preset" --out "$f"
[[ -s $f.gz ]] || gzip -6 -c "$f" >"$f.gz"
command -v zstd >/dev/null && { [[ -s $f.zst ]] || zstd -q -3 -c "$f" >"$f.zst"; }
s=$work/$preset-str.tsv
[[ -s $s ]] || awk -F'\t' '{ printf "U%07x\tASIN%06d\t%s\t%s\n", $1 * 2654435761 % 4294967296, $2, $3, $4 }' "$f" >"$s"
[[ -s $s.gz ]] || gzip -6 -c "$s" >"$s.gz"
inputs=("--synthetic $preset" "--data $f" "--data $f.gz" "--data $s" "--data $s.gz")
[[ -s $f.zst ]] && inputs+=("--data $f.zst")
out=$root/benchmarks/results/ingest-$(date -u +%Y%m%d).csv
echo "input,bytes,ranks,median_s,runs_s,idmap_kept_mb,idmap_build_mb,peak_rss_mb" >"$out"
printf '%-28s %6s %5s %9s  %s\n' input MB ranks median runs
for np in $nps; do
    for in in "${inputs[@]}"; do
        path=${in#--data }
        bytes=$([[ $in == --data* ]] && stat -c %s "$path" || echo 0)
        log=$(mpirun -np "$np" "$bench" $in --repeat "$repeat")
        times=$(sed -n 's/.*repeat [0-9]*: \([0-9.]*\) s.*/\1/p' <<<"$log" | tr '\n' ' ')
        med=$(tr ' ' '\n' <<<"$times" | grep . | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
        last=$(tail -1 <<<"$log")
        kept=$(sed -n 's/.*id maps \([0-9.]*\) MB kept.*/\1/p' <<<"$last")
        build=$(sed -n 's/.*kept \/ \([0-9.]*\) MB building.*/\1/p' <<<"$last")
        rss=$(sed -n 's/.*peak rss (rank 0) \([0-9]*\) MB.*/\1/p' <<<"$last")
        name=$([[ $in == --data* ]] && basename "$path" || echo "synthetic $preset")
        printf '%-28s %6.0f %5d %8.2fs  %s\n' "$name" "$(bc -l <<<"$bytes / 1000000")" "$np" "$med" "$times"
        echo "$name,$bytes,$np,$med,$times,$kept,$build,$rss" >>"$out"
    done
done
echo "written $out"
