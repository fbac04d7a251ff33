#!/usr/bin/env bash
# benchmarks/reference/run.sh — bivae-dist against Cornac's BiVAECF on the same synthetic
# MovieLens-shaped data, same split, same hyper-parameters; quality per seed and mean ± std,
# seconds per epoch of both on one CPU thread. See README.md.
#
# usage: benchmarks/reference/run.sh [quality|bivae|cornac|timing|table|cap|cap-table|all]
#   (default: all)
#   quality: per seed, bivae-dist (+ export cross-check of its metrics) then Cornac
#   bivae / cornac: only that system's quality runs;  timing: seconds per epoch of both
#   on the ml-100k and ml-1m shapes;  table: the tables from the results present
#   cap: per seed, dense features written once from the training split (compare_cornac.py
#   features), then both systems with CAP priors on users and items from those files
#   (bivae-dist --cap-priors both --user-features/--item-features; Cornac
#   BiVAECF(cap_priors={"user": True, "item": True}) with FeatureModality), and both
#   without CAP, CAP_EPOCHS epochs; cap-table: that table again (mean ± std, and whether
#   bivae-dist is within one Cornac std on every metric)
#
# Environment (defaults in brackets):
#   SEEDS ["1 2 3 4 5"]     seeds; each seed S generates its data (gen --seed S), splits it
#                           (seed S) and trains both systems with seed S
#   EPOCHS [500]            training epochs of the quality runs
#   TIMING_EPOCHS [5]       Cornac epochs of the ml-1m timing runs
#   CORNAC_EPOCHS_100K [50] Cornac epochs of the ml-100k timing runs
#   TIMING_REPS [3]         timing repetitions (interleaved)
#   CAP_EPOCHS [100]        epochs of the cap runs;  CAP_DIM [16], CAP_NOISE [0.5]: features
#   CAP_PRIORS ["cap none"] the cap runs' priors: CAP on both sides, and/or none
#   WORK [benchmarks/out/reference]   data, logs and per-run JSON (git-ignored)
#   BIVAE [build/bivae-dist]          the binary
#   PY [.deps/venv/bin/python, else python3]   a python with cornac and torch (setup.sh)
# Runs are sequential, one thread each (torch.set_num_threads(1), --threads 1,
# OMP/OpenBLAS threads 1). The 1-minute load average before each run is logged.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/benchmarks/reference"
what=${1:-all}
SEEDS=${SEEDS:-"1 2 3 4 5"}
EPOCHS=${EPOCHS:-500}
TIMING_EPOCHS=${TIMING_EPOCHS:-5}
CORNAC_EPOCHS_100K=${CORNAC_EPOCHS_100K:-50}
TIMING_REPS=${TIMING_REPS:-3}
CAP_EPOCHS=${CAP_EPOCHS:-100}
CAP_DIM=${CAP_DIM:-16}
CAP_NOISE=${CAP_NOISE:-0.5}
CAP_PRIORS=${CAP_PRIORS:-"cap none"}
WORK=${WORK:-$root/benchmarks/out/reference}
BIVAE=${BIVAE:-$root/build/bivae-dist}
if [ -z "${PY:-}" ]; then
    if [ -x "$root/.deps/venv/bin/python" ]; then PY=$root/.deps/venv/bin/python; else PY=python3; fi
fi
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
cmp="$PY $here/compare_cornac.py"

[ -x "$BIVAE" ] || { echo "run.sh: no $BIVAE (build first: ./launch/build.sh)" >&2; exit 2; }
if ! "$PY" -c 'import cornac, torch' 2>/dev/null; then
    echo "run.sh: $PY cannot import cornac and torch (run benchmarks/reference/setup.sh)" >&2
    exit 2
fi
mkdir -p "$WORK/results" "$WORK/logs" "$WORK/crosscheck" "$WORK/ckpt" "$WORK/export"
log() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$WORK/logs/run.log"; }
load() { cut -d' ' -f1 /proc/loadavg; }

data_for() {   # preset seed -> dir with train.tsv/test.tsv
    local preset=$1 seed=$2 dir="$WORK/data/$1-s$2"
    if [ ! -s "$dir/train.tsv" ]; then
        mkdir -p "$dir"
        "$BIVAE" gen --synthetic "$preset" --out "$dir/data.tsv" --seed "$seed" >/dev/null
        $cmp split "$dir/data.tsv" "$dir" --seed "$seed" >>"$WORK/logs/run.log"
    fi
    echo "$dir"
}

# bivae-dist on seed $1's data: train (a checkpoint at the end), its final metrics, then the
# exported μ_θ / μ_β scored by our python metrics against bivae-dist's own (cross-check).
bivae_quality() {
    local s=$1 d
    d=$(data_for ml-100k "$s")
    log "seed $s: bivae-dist $EPOCHS epochs (load $(load))"
    rm -rf "$WORK/ckpt/s$s" "$WORK/export/s$s"
    "$BIVAE" train --train "$d/train.tsv" --test "$d/test.tsv" --k 50 --encoder 100 \
        --act tanh --likelihood pois --epochs "$EPOCHS" --batch-size 128 --lr 0.001 \
        --seed "$s" --threads 1 --device cpu --top-k 10 --quiet \
        --checkpoint-dir "$WORK/ckpt/s$s" --keep 1 \
        --metrics-out "$WORK/logs/bivae-s$s.jsonl" >"$WORK/logs/bivae-s$s.txt" 2>&1
    $cmp bivae --metrics-out "$WORK/logs/bivae-s$s.jsonl" --seed "$s" \
        --out "$WORK/results/bivae-s$s.json" | tee -a "$WORK/logs/run.log"
    local ck
    ck=$(ls "$WORK/ckpt/s$s"/*.bvck | tail -1)
    "$BIVAE" export --model "$ck" --out "$WORK/export/s$s" >/dev/null
    $cmp score-export "$WORK/export/s$s" --train "$d/train.tsv" --test "$d/test.tsv" \
        --metrics-out "$WORK/logs/bivae-s$s.jsonl" --out "$WORK/crosscheck/bivae-s$s.json" \
        | tee -a "$WORK/logs/run.log"
}

cornac_quality() {
    local s=$1 d
    d=$(data_for ml-100k "$s")
    log "seed $s: cornac $EPOCHS epochs (load $(load))"
    $cmp cornac --train "$d/train.tsv" --test "$d/test.tsv" --seed "$s" --epochs "$EPOCHS" \
        --k 50 --encoder 100 --act tanh --likelihood pois --batch-size 128 --lr 0.001 \
        --threads 1 --out "$WORK/results/cornac-s$s.json" | tee -a "$WORK/logs/run.log"
}

quality() {
    for s in $SEEDS; do
        [ "${1:-both}" = cornac ] || bivae_quality "$s"
        [ "${1:-both}" = bivae ] || cornac_quality "$s"
    done
}

# Timing, TIMING_REPS times, interleaved. bivae-dist: wall s/epoch = mean of its JSON
# per-epoch "seconds"; CPU s/epoch = (CPU time of a long run − of a short run) / (epoch
# difference), which cancels loading and evaluation. Cornac: wall and CPU time of fit()
# (after a one-epoch warm-up fit). CPU time is what other jobs on a shared machine disturb
# least; wall time is what a user waits.
cpu_of() {   # command... -> prints user+sys CPU seconds of the command
    local TIMEFORMAT="%U %S"
    { time "$@" >/dev/null 2>&1; } 2>&1 | awk '{print $1 + $2}'
}

timing() {
    mkdir -p "$WORK/timing"
    for rep in $(seq 1 "$TIMING_REPS"); do
        for preset in ml-100k ml-1m; do
            d=$(data_for "$preset" 1)
            if [ "$preset" = ml-100k ]; then lo=10 hi=110 ce=$CORNAC_EPOCHS_100K
            else lo=2 hi=12 ce=$TIMING_EPOCHS; fi
            log "timing $preset rep $rep: bivae-dist $lo and $hi epochs (load $(load))"
            c=()
            for e in $lo $hi; do
                c+=("$(cpu_of "$BIVAE" train --train "$d/train.tsv" --k 50 --encoder 100 \
                    --act tanh --likelihood pois --epochs "$e" --batch-size 128 --lr 0.001 \
                    --seed 1 --threads 1 --device cpu --quiet \
                    --metrics-out "$WORK/timing/bivae-$preset-r$rep-e$e.jsonl")")
            done
            $cmp bivae-timing --metrics-out "$WORK/timing/bivae-$preset-r$rep-e$hi.jsonl" \
                --preset "$preset" --rep "$rep" --epochs-lo "$lo" --epochs-hi "$hi" \
                --cpu-lo "${c[0]}" --cpu-hi "${c[1]}" \
                --out "$WORK/timing/bivae-$preset-r$rep.json" | tee -a "$WORK/logs/run.log"
            log "timing $preset rep $rep: cornac $ce epochs (load $(load))"
            $cmp cornac --train "$d/train.tsv" --seed 1 --epochs "$ce" --no-eval \
                --preset "$preset" --rep "$rep" --k 50 --encoder 100 --act tanh \
                --likelihood pois --batch-size 128 --lr 0.001 --threads 1 \
                --out "$WORK/timing/cornac-$preset-r$rep.json" | tee -a "$WORK/logs/run.log"
        done
    done
}

# CAP: per seed, features from the training split (written once), then each system with CAP
# on both sides and without it, same data, split, features and hyper-parameters.
cap_features_for() {   # seed -> data dir with user_features.csv / item_features.csv
    local d
    d=$(data_for ml-100k "$1")
    if [ ! -s "$d/item_features.csv" ]; then
        $cmp features "$d" --seed "$1" --dim "$CAP_DIM" --noise "$CAP_NOISE" >>"$WORK/logs/run.log"
    fi
    echo "$d"
}

cap_runs() {
    local s d prior tag
    mkdir -p "$WORK/cap"
    for s in $SEEDS; do
        d=$(cap_features_for "$s")
        for prior in $CAP_PRIORS; do
            log "cap seed $s prior $prior: bivae-dist $CAP_EPOCHS epochs (load $(load))"
            local capflags=()
            [ "$prior" = cap ] && capflags=(--cap-priors both --user-features "$d/user_features.csv"
                                            --item-features "$d/item_features.csv")
            tag="s$s-$prior"
            "$BIVAE" train --train "$d/train.tsv" --test "$d/test.tsv" --k 50 --encoder 100 \
                --act tanh --likelihood pois --epochs "$CAP_EPOCHS" --batch-size 128 \
                --lr 0.001 --beta-kl 1.0 "${capflags[@]}" --seed "$s" --threads 1 \
                --device cpu --top-k 10 --quiet --metrics-out "$WORK/logs/cap-bivae-$tag.jsonl" \
                >"$WORK/logs/cap-bivae-$tag.txt" 2>&1 \
                || { cat "$WORK/logs/cap-bivae-$tag.txt" >&2; exit 1; }
            $cmp bivae --metrics-out "$WORK/logs/cap-bivae-$tag.jsonl" --seed "$s" \
                --prior "$([ "$prior" = cap ] && echo "cap user,item" || echo none)" \
                --out "$WORK/cap/bivae-$tag.json" | tee -a "$WORK/logs/run.log"
            log "cap seed $s prior $prior: cornac $CAP_EPOCHS epochs (load $(load))"
            local ccap=()
            [ "$prior" = cap ] && ccap=(--cap-priors user,item --user-features "$d/user_features.csv"
                                        --item-features "$d/item_features.csv")
            $cmp cornac --train "$d/train.tsv" --test "$d/test.tsv" --seed "$s" \
                --epochs "$CAP_EPOCHS" --k 50 --encoder 100 --act tanh --likelihood pois \
                --batch-size 128 --lr 0.001 --beta-kl 1.0 "${ccap[@]}" --threads 1 \
                --no-warmup --out "$WORK/cap/cornac-$tag.json" | tee -a "$WORK/logs/run.log"
        done
    done
}

cap_table() {
    $cmp cap-table "$WORK"/cap/*.json | tee "$WORK/cap.md"
}

table() {
    if ls "$WORK"/results/*.json >/dev/null 2>&1; then
        $cmp table "$WORK"/results/*.json | tee "$WORK/table.md"
    fi
    if ls "$WORK"/timing/*-r*.json >/dev/null 2>&1; then
        echo
        $cmp timing-table "$WORK"/timing/*-r*.json | tee "$WORK/timing.md"
    fi
}

case "$what" in
    quality) quality; table ;;
    bivae) quality bivae; table ;;
    cornac) quality cornac; table ;;
    timing) timing; table ;;
    table) table ;;
    cap) cap_runs; cap_table ;;
    cap-table) cap_table ;;
    all) quality; timing; table ;;
    *) echo "usage: run.sh [quality|bivae|cornac|timing|table|cap|cap-table|all]" >&2; exit 2 ;;
esac
