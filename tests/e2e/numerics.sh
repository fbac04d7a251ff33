#!/usr/bin/env bash
# Numerical guards: valid data never gives NaN/Inf in fp32, even from saturated starts
# (the test-only BIVAE_TEST_INIT_SCALE switch multiplies the initial weights and tables)
# or with the largest learning rate --lr accepts (1: absurd for Adam), for every likelihood; a state that cannot be represented
# (weights of 1e30: the loss overflows) stops the run with epoch, side and step, exit 3,
# and leaves the checkpoints already written untouched (the blown-up run is a new run,
# --overwrite, so current-run names it: the files compared are the checkpoints).
source "$(dirname "$0")/lib.sh"
args=(train --synthetic ml-100k --epochs 3 --k 8 --encoder 16 --threads 1 --quiet)
finite_json() {   # every loss and metric in the JSON lines is a finite number
    python3 - "$1" <<'PY' || fail "non-finite value in $1"
import json, math, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    for k in ("loss_item", "loss_user", "map", "ndcg@10"):
        if k in o:
            assert isinstance(o[k], (int, float)) and math.isfinite(o[k]), (k, o)
PY
}
for lik in pois bern gaus; do
    for lr in 0.5 1; do
        "$BIVAE" "${args[@]}" --likelihood "$lik" --lr "$lr" --metrics-out "$TMP/m.jsonl" \
            2>"$TMP/err" || { cat "$TMP/err"; fail "$lik --lr $lr failed"; }
        finite_json "$TMP/m.jsonl"
    done
    BIVAE_TEST_INIT_SCALE=1e4 "$BIVAE" "${args[@]}" --likelihood "$lik" --metrics-out "$TMP/m.jsonl" \
        2>"$TMP/err" || { cat "$TMP/err"; fail "$lik from a saturated start failed"; }
    finite_json "$TMP/m.jsonl"
done
# a good checkpoint first, then a run that blows up: stopped, checkpoint untouched
"$BIVAE" "${args[@]}" --checkpoint-dir "$TMP/ck" 2>"$TMP/err" || { cat "$TMP/err"; fail "checkpoint run"; }
cp -r "$TMP/ck" "$TMP/ck.before"
BIVAE_TEST_INIT_SCALE=1e30 expect_exit 3 "non-finite loss or gradient in epoch 1, item phase, step 1 of" \
    "$BIVAE" "${args[@]}" --checkpoint-dir "$TMP/ck" --overwrite
diff -r -x current-run "$TMP/ck" "$TMP/ck.before" >/dev/null \
    || fail "the blown-up run changed the checkpoints"
BIVAE_TEST_INIT_SCALE=1e30 expect_exit 3 "non-finite loss or gradient" \
    "$MPIRUN" -np 2 --oversubscribe -x BIVAE_TEST_INIT_SCALE "$BIVAE" "${args[@]}"
[[ $(grep -c "non-finite" "$TMP/err") -eq 1 ]] || fail "the error line is not printed exactly once"
echo "numerics: OK"
