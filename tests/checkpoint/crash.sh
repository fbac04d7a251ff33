#!/usr/bin/env bash
# Crashes while writing (issue 5.2 / 5.7): a writer killed with SIGKILL in the middle of a
# save (test switch BIVAE_TEST_KILL_SAVE=N: rank 0 kills itself after N chunk records, on 2
# ranks) leaves the previous checkpoint loadable and nothing under the new real name;
# --resume then continues from the previous one and removes the leftover .tmp. A full disk
# (ENOSPC from /dev/full) and a failed rename end the run with one line and exit 3,
# the previous checkpoint intact.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
train 1 a.jsonl --epochs 2 --checkpoint-every 1 --checkpoint-dir d
run=$(run_of d)
cp d/ckpt-$run-000002.bvck before.bvck

# SIGKILL in the middle of writing the epoch-3 checkpoint
rc=0
BIVAE_TEST_KILL_SAVE=5 timeout 120 "$MPIRUN" -np 2 --oversubscribe "$BIVAE" train "${SMALL[@]}" \
    --epochs 3 --checkpoint-dir d --resume >out 2>err || rc=$?
[[ $rc -ne 0 ]] || fail "the killed run exited 0"
[[ ! -e d/ckpt-$run-000003.bvck ]] || fail "a partial checkpoint under the real name"
[[ -s d/ckpt-$run-000003.bvck.tmp ]] || fail "the writer was not killed mid-save: $(ls d)"
cmp d/ckpt-$run-000002.bvck before.bvck || fail "the previous checkpoint changed"
"$BIVAE" export --model d/ckpt-$run-000002.bvck --out exp >/dev/null 2>&1 \
    || fail "the previous checkpoint does not load"
train 2 b.jsonl --epochs 3 --checkpoint-dir d --resume
grep -q "resuming from d/ckpt-$run-000002.bvck" "$TMP/train.err" || fail "did not resume from epoch 2"
[[ "$(ls d | tr '\n' ' ')" == "ckpt-$run-000002.bvck ckpt-$run-000003.bvck current-run " ]] \
    || fail "after resume: $(ls d)"

# disk full: the temporary name leads to /dev/full, where every write fails with ENOSPC
cp d/ckpt-$run-000003.bvck before3.bvck
ln -s /dev/full d/ckpt-$run-000004.bvck.tmp
expect_exit 3 "cannot write checkpoint: d/ckpt-$run-000004.bvck: cannot write: No space left on device" \
    "$BIVAE" train "${SMALL[@]}" --epochs 4 --checkpoint-dir d --resume
one_error_line
cmp d/ckpt-$run-000003.bvck before3.bvck || fail "disk full: the previous checkpoint changed"
[[ "$(positions d)" == "000002 000003 " ]] || fail "disk full: $(ls d)"

# the rename fails (a directory holds the real name)
mkdir d/ckpt-$run-000004.bvck
expect_exit 3 "cannot write checkpoint: d/ckpt-$run-000004.bvck: cannot rename the finished temporary d/ckpt-$run-000004.bvck.tmp to it" \
    "$MPIRUN" -np 2 --oversubscribe "$BIVAE" train "${SMALL[@]}" --epochs 4 --checkpoint-dir d --resume
one_error_line
[[ ! -e d/ckpt-$run-000004.bvck.tmp ]] || fail "rename failure: the .tmp was left behind"
cmp d/ckpt-$run-000003.bvck before3.bvck || fail "rename failure: the previous checkpoint changed"
echo "crash: OK"
