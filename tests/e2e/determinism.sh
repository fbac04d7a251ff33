#!/usr/bin/env bash
# Same seed, same rank count → bit-identical losses and metrics; another seed → different.
source "$(dirname "$0")/lib.sh"
args=(--synthetic ml-100k --epochs 3 --k 10 --encoder 20)
run_np 1 "$TMP/a.jsonl" "${args[@]}"
run_np 1 "$TMP/b.jsonl" "${args[@]}"
$COMPARE "$TMP/a.jsonl" "$TMP/b.jsonl" --exact || fail "same seed gave different results"
run_np 2 "$TMP/c.jsonl" "${args[@]}"
run_np 2 "$TMP/d.jsonl" "${args[@]}"
$COMPARE "$TMP/c.jsonl" "$TMP/d.jsonl" --exact || fail "same seed on 2 ranks gave different results"
run_np 1 "$TMP/e.jsonl" "${args[@]}" --seed 7
if $COMPARE "$TMP/a.jsonl" "$TMP/e.jsonl" --loss-rtol 1e-6 >/dev/null; then
    fail "another seed gave the same losses"
fi
echo "determinism: OK"
