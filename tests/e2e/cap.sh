#!/usr/bin/env bash
# CAP (constrained adaptive priors, --cap-priors) through the binary:
#   a) the same model for any rank count: np 2 and 3 against np 1 (losses within a relative
#      1e-4, final metrics within 2e-3), with the synthetic features of both sides, on the
#      prime shape with a batch smaller than the rank count, sharded and replicated first
#      layer; and with feature files (dense, only some ids, a user side only);
#      lazy Adam gives the same bits as dense Adam;
#   b) CAP is really on: the losses differ from the same run without it, and --cap-priors
#      user differs from both;
#   c) a CAP side without features is exit 2 with one line (checkpoints: tests/checkpoint/cap.sh).
source "$(dirname "$0")/lib.sh"
check() {
    local name=$1; shift
    run_np 1 "$TMP/$name.1.jsonl" "$@"
    for np in 2 3; do
        run_np "$np" "$TMP/$name.$np.jsonl" "$@"
        $COMPARE "$TMP/$name.1.jsonl" "$TMP/$name.$np.jsonl" --loss-rtol 1e-4 --metric-atol 2e-3 \
            || fail "$name: np $np differs from np 1"
    done
}
differ() {   # differ A.jsonl B.jsonl WHAT: the epoch losses must not be the same
    python3 - "$1" "$2" "$3" <<'PY' || fail "$3"
import json, sys
def losses(p):
    return [(o["loss_item"], o["loss_user"]) for o in map(json.loads, open(p)) if not o.get("final")]
a, b = losses(sys.argv[1]), losses(sys.argv[2])
assert a and len(a) == len(b), (a, b)
rel = max(abs(x - y) / abs(y) for p, q in zip(a, b) for x, y in zip(p, q))
assert rel > 1e-3, f"{sys.argv[3]}: largest relative difference {rel}"
PY
}
syn=(--synthetic 97x61x2400 --synthetic-features 5 --epochs 4 --k 4 --encoder 8 --batch-size 3)
check cap-both "${syn[@]}" --cap-priors both --check-replicas
check cap-both-rep "${syn[@]}" --cap-priors both --first-layer replicated
$COMPARE "$TMP/cap-both.1.jsonl" "$TMP/cap-both-rep.1.jsonl" --loss-rtol 1e-4 --metric-atol 2e-3 \
    || fail "CAP: the replicated first layer differs from the sharded one"
# lazy Adam (the GPU default) updates the prior encoders like dense Adam: the same bits
BIVAE_TEST_ADAM=lazy run_np 2 "$TMP/cap-both-lazy.2.jsonl" "${syn[@]}" --cap-priors both
$COMPARE "$TMP/cap-both.2.jsonl" "$TMP/cap-both-lazy.2.jsonl" --exact \
    || fail "CAP: lazy Adam differs from dense Adam"
run_np 1 "$TMP/nocap.1.jsonl" "${syn[@]}"
run_np 1 "$TMP/cap-user.1.jsonl" "${syn[@]}" --cap-priors user
expect_exit 0 "cap priors: user 5 features -> 4 \(24 parameters\), item none" \
    "$BIVAE" train --threads 1 "${syn[@]}" --cap-priors user
grep -q "cap priors" "$TMP/np1.err" && fail "--quiet printed the cap priors line"
differ "$TMP/cap-both.1.jsonl" "$TMP/nocap.1.jsonl" "--cap-priors both changed nothing"
differ "$TMP/cap-user.1.jsonl" "$TMP/nocap.1.jsonl" "--cap-priors user changed nothing"
differ "$TMP/cap-both.1.jsonl" "$TMP/cap-user.1.jsonl" "--cap-priors both = user"

# feature files: rows of some ids only (the others zero rows), ids not in the ratings ignored
"$BIVAE" gen --synthetic 150x90x3000 --out "$TMP/r.tsv" --seed 3 >/dev/null 2>&1 || fail "gen"
awk 'BEGIN { for (u = 1; u <= 160; u++) if (u % 7) printf "%d,%.3f,%.3f,%d\n", u, sin(u), cos(3 * u), u % 4 }' \
    > "$TMP/users.csv"
check cap-file --train "$TMP/r.tsv" --user-features "$TMP/users.csv" --cap-priors user \
    --epochs 3 --k 3 --encoder 6 --batch-size 16 --seed 3

expect_exit 2 "error: --cap-priors: user needs --user-features FILE" \
    "$BIVAE" train --quiet --threads 1 --train "$TMP/r.tsv" --cap-priors both
echo "cap: OK"
