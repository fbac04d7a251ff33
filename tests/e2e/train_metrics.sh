#!/usr/bin/env bash
# A training run end to end through the CLI: progress lines, the metrics table, and the
# JSON lines of cli.md (epoch objects with the required keys, --eval-every, the final object).
source "$(dirname "$0")/lib.sh"
"$BIVAE" train --synthetic ml-100k --epochs 4 --k 10 --encoder 20 --eval-every 2 --top-k 5 \
    --metrics-out "$TMP/m.jsonl" >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err"; fail "train failed"; }
[[ $(grep -c "^epoch" "$TMP/err") -eq 4 ]] || { cat "$TMP/err"; fail "want 4 progress lines"; }
grep -q "NDCG" "$TMP/out" || { cat "$TMP/out"; fail "no final metrics table"; }
! grep -q "no test data" "$TMP/err" || { cat "$TMP/err"; fail "'no test data' note on a run with test data"; }
"$BIVAE" train --synthetic 300x200x8000 --epochs 1 --k 4 --encoder 8 --test-ratio 0 \
    >"$TMP/out0" 2>"$TMP/err0" || { cat "$TMP/err0"; fail "train --test-ratio 0 failed"; }
grep -q "no test data: training done" "$TMP/err0" || { cat "$TMP/err0"; fail "no 'no test data' note"; }
! grep -q "NDCG" "$TMP/out0" || { cat "$TMP/out0"; fail "metrics without test data"; }
python3 - "$TMP/m.jsonl" <<'PY' || fail "metrics JSON lines"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
epochs = [l for l in lines if not l.get("final")]
final = [l for l in lines if l.get("final")]
assert len(epochs) == 4 and len(final) == 1, (len(epochs), len(final))
for e in epochs:
    for k in ("epoch", "loss_item", "loss_user", "seconds", "comm_seconds", "comm_bytes"):
        assert k in e, k
assert "ndcg@5" in epochs[1] and "ndcg@5" not in epochs[0], "eval-every 2"
f = final[0]
for k in ("map", "ndcg@5", "precision@5", "recall@5", "users"):
    assert k in f, k
assert 0 < f["ndcg@5"] <= 1 and f["users"] > 900, f
print("metrics JSON: OK", f)
PY
