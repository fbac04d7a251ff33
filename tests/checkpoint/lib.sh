# tests/checkpoint/lib.sh — shared by the checkpoint script tests: tests/e2e/lib.sh (TMP,
# fail, expect_exit) plus a small model, the test tool, the comparison script and helpers
# for checkpoint names (ckpt-RUN-EEEEEE[-SSSSSS].bvck, src/checkpoint.h "Runs").
# $1 of the calling script: the ckpt_tool binary.
source "$BIVAE_SOURCE_DIR/tests/e2e/lib.sh"
TOOL=${1:?ckpt_tool path}
TAIL="python3 $BIVAE_SOURCE_DIR/tests/tools/compare_runs.py --tail"
# a small model: 10 item steps and 13 user steps per epoch
SMALL=(--synthetic 200x150x5000 --k 4 --encoder 8 --batch-size 16 --threads 1)

# train NP OUT.jsonl args...: the small model under mpirun, metrics to OUT.jsonl
train() {
    local np=$1 out=$2; shift 2
    timeout 300 "$MPIRUN" -np "$np" --oversubscribe "$BIVAE" train "${SMALL[@]}" \
        --metrics-out "$out" "$@" >"$TMP/train.out" 2>"$TMP/train.err" \
        || { cat "$TMP/train.err" >&2; fail "train np $np failed: $*"; }
}

# one_error_line: the last command's stderr ($TMP/err) has exactly one error line
one_error_line() {
    local n
    n=$(grep -c "error:" "$TMP/err" || true)
    [[ $n -eq 1 ]] || { cat "$TMP/err" >&2; fail "$n error lines, want 1"; }
}

# RUN_GLOB: the run-id part of a checkpoint name (YYYYMMDDTHHMMSSZ-xxxx)
RUN_GLOB='????????T??????Z-????'

# ckpt DIR POS: the path of the one checkpoint of DIR at position POS (EEEEEE, or
# EEEEEE-SSSSSS inside an epoch), of whichever run; fails unless there is exactly one.
ckpt() {
    local f
    f=$(compgen -G "$1/ckpt-$RUN_GLOB-$2.bvck" || true)
    [[ -n $f && $(wc -l <<<"$f") -eq 1 ]] || fail "want one checkpoint at $2 in $1: $(ls "$1")"
    echo "$f"
}

# positions DIR: the positions of DIR's complete checkpoints of every run, in name order
# ("000001 000002-000005 "), the run ids left out.
positions() {
    local f out=""
    for f in $(compgen -G "$1/ckpt-*.bvck" | sort); do
        f=${f##*/ckpt-}
        f=${f%.bvck}
        out+="${f#$RUN_GLOB-} "
    done
    echo "$out"
}

# run_of DIR: the run id DIR/current-run names
run_of() { cat "$1/current-run"; }
