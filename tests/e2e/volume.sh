#!/usr/bin/env bash
# The communication volume each epoch reports (JSON lines: allreduce_bytes, allgather_bytes)
# equals the formula, to the byte, for both first-layer modes and several rank counts.
# Per side s with N_s rows, S_s = ceil(N_s / B) steps, first hidden width H, encoder
# parameters n_s (whole) and r_s (everything after Wt_1: b_1, deeper layers, head):
#   replicated:  S_s · (n_s + 2) floats                     (design.md's formula)
#   sharded:     S_s · (r_s + 2) + N_s · H, and when P > 1 the forward all-reduces:
#                (S_s + 1) · 2 · B' · H with B' = ceil(min(B, max(U, I)) / P) · P
#                (model_forward_pair: the refresh of step i and the training forward of
#                step i+1 in one, two fixed blocks of B' rows; one more for the last
#                refresh; a batch larger than both sides holds every row, so its block
#                is no larger than the larger side)
# all-gathered: (U + I) · K floats. Floats are 4 bytes. On one rank nothing is sent: no
# collective runs (comm_allreduce_sum_f32 and the table all-gather skip P = 1).
source "$(dirname "$0")/lib.sh"
U=97 I=61 K=4 H=8
for case in "sharded 1 3" "sharded 2 3" "sharded 3 3" "replicated 1 3" "replicated 2 3" \
    "replicated 3 3" "sharded 2 100000"; do
    read -r mode np B <<<"$case"
    run_np "$np" "$TMP/v.jsonl" --synthetic ${U}x${I}x2400 --epochs 2 --k $K --encoder $H \
        --batch-size $B --test-ratio 0 --first-layer $mode
    python3 - "$TMP/v.jsonl" "$mode" "$np" $U $I $K $H $B <<'PY' || fail "volume: $mode np $np batch $B"
import json, sys
path, mode, P = sys.argv[1], sys.argv[2], int(sys.argv[3])
U, I, K, H, B = map(int, sys.argv[4:])
rest = H + H * 2 * K + 2 * K                     # b_1, Wt_h, b_h (one hidden layer)
Bmax = -(-min(B, max(U, I)) // P) * P            # a batch's block in the forward all-reduce
floats = 0
for N, d_in in ((U, I), (I, U)):                 # user encoder reads items, and vice versa
    steps = (N + B - 1) // B
    if mode == "replicated":
        floats += steps * (d_in * H + rest + 2)
    else:
        floats += steps * (rest + 2) + N * H
        if P > 1:                                # forward pairs, + the flush after the last step
            floats += (steps + 1) * 2 * Bmax * H
want_ar, want_ag = (4 * floats, 4 * (U + I) * K) if P > 1 else (0, 0)
for line in open(path):
    r = json.loads(line)
    if "allreduce_bytes" not in r:
        continue
    got = (r["allreduce_bytes"], r["allgather_bytes"])
    if got != (want_ar, want_ag):
        sys.exit(f"epoch {r['epoch']}: all-reduced/all-gathered {got}, formula {(want_ar, want_ag)}")
print(f"volume: {mode} np {P} batch {B}: {want_ar} B all-reduced, {want_ag} B all-gathered per epoch")
PY
done
echo "volume: OK"
