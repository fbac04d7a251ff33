#!/usr/bin/env bash
# --metrics-out across resumes (issue 12.6, src/log.h): a resumed run keeps the lines of the
# epochs its checkpoint completed, drops the rest and appends, so the file equals one
# uninterrupted run's file line for line, apart from timings and the run id
# (compare_runs.py --whole: losses, bytes and metrics exactly):
#  - stopped by SIGUSR1 twice (inside the item phase of epoch 2, inside the user phase of
#    epoch 4) and resumed twice, on 1 rank and on 3 ranks with the signal on rank 2;
#  - a run killed (SIGKILL of a rank) after writing a line past its last checkpoint, and
#    a line cut in the middle: both dropped on resume, with a note;
#  - nothing is changed before the run starts training: a resume refused for other data
#    leaves the file byte for byte, a refused run creates no file;
#  - a file with a line that is not ours, or with another run's lines: exit 2 naming
#    FILE:LINE, the file untouched; an unusable path: exit 2 naming --metrics-out and the
#    path (also on 3 ranks: one line); its folder is made as mkdir -p does.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
EV=(--epochs 6 --eval-every 2)
lines() { wc -l <"$1"; }

# stopped twice and resumed twice, np 1 and np 3 (signal on rank 2)
for np in 1 3; do
    train $np full$np.jsonl "${EV[@]}" --checkpoint-dir s$np
    BIVAE_TEST_SIGNAL_AT=2:3:$((np - 1)) train $np m$np.jsonl "${EV[@]}" --checkpoint-dir r$np
    [[ $(lines m$np.jsonl) -eq 1 ]] || fail "np $np: first stop: $(lines m$np.jsonl) lines"
    cp m$np.jsonl once$np.jsonl
    BIVAE_TEST_SIGNAL_AT=4:15:$((np - 1)) train $np m$np.jsonl "${EV[@]}" --checkpoint-dir r$np --resume
    grep -q "stopped in epoch 4, user phase, before step 6" "$TMP/train.err" \
        || { cat "$TMP/train.err"; fail "np $np: no second stop inside the user phase"; }
    [[ $(lines m$np.jsonl) -eq 3 ]] || fail "np $np: second stop: $(lines m$np.jsonl) lines"
    train $np m$np.jsonl "${EV[@]}" --checkpoint-dir r$np --resume
    $COMPARE full$np.jsonl m$np.jsonl --whole || fail "np $np: stopped twice and resumed twice differs"
    # the comparison can fail: a file that stops early, or of another rank count, is not equal
    ! $COMPARE full$np.jsonl once$np.jsonl --whole >/dev/null || fail "--whole accepted a short file"
done
! $COMPARE full1.jsonl full3.jsonl --whole >/dev/null || fail "--whole accepted another rank count"

# killed after writing epoch 3 with its last checkpoint at epoch 2; a line cut in the middle
train 2 full2.jsonl "${EV[@]}" --checkpoint-dir s2
rc=0
BIVAE_TEST_KILL_RANK=1 BIVAE_TEST_FAULT_AFTER=200 timeout 120 "$MPIRUN" -np 2 --oversubscribe \
    -x BIVAE_TEST_KILL_RANK -x BIVAE_TEST_FAULT_AFTER "$BIVAE" train "${SMALL[@]}" "${EV[@]}" \
    --checkpoint-dir k --checkpoint-every 2 --metrics-out k.jsonl >k.out 2>k.err || rc=$?
[[ $rc -ne 0 && $rc -ne 124 ]] || { cat k.err; fail "the killed run: exit $rc"; }
[[ $(positions k) == "000002 " && $(lines k.jsonl) -eq 3 ]] \
    || fail "want a checkpoint at epoch 2 and 3 lines: $(positions k), $(lines k.jsonl) lines"
printf '{"epoch":4,"epochs":6,"loss_it' >>k.jsonl
train 2 k.jsonl "${EV[@]}" --checkpoint-dir k --resume
grep -q "metrics-out k.jsonl: kept the lines of 2 epoch(s), dropped 2 line(s) past the checkpoint" \
    "$TMP/train.err" || { cat "$TMP/train.err"; fail "no note on the dropped lines"; }
$COMPARE full2.jsonl k.jsonl --whole || fail "killed and resumed: the metrics differ"

# nothing changes before training starts
cp m1.jsonl keep.jsonl
expect_exit 2 "data do not match the checkpoint" "$BIVAE" train --synthetic 201x150x5000 --k 4 \
    --encoder 8 --batch-size 16 --threads 1 --epochs 8 --checkpoint-dir r1 --resume --metrics-out m1.jsonl
cmp m1.jsonl keep.jsonl || fail "a resume refused for its data changed --metrics-out"
expect_exit 2 "holds checkpoints" "$BIVAE" train "${SMALL[@]}" --epochs 1 --checkpoint-dir r1 \
    --metrics-out never.jsonl
[[ ! -e never.jsonl ]] || fail "a refused run created its --metrics-out"

# lines that must not be dropped: exit 2 naming FILE:LINE, the file left as it is
sed '2s/.*/a note of mine/' keep.jsonl >noted.jsonl
cp noted.jsonl noted.before
expect_exit 2 "noted.jsonl:2: not a line of a bivae-dist metrics file" "$BIVAE" train "${SMALL[@]}" \
    --epochs 8 --checkpoint-dir r1 --resume --metrics-out noted.jsonl
one_error_line
cmp noted.jsonl noted.before || fail "a foreign line: the file changed"
cp full3.jsonl other.jsonl
run3=$(run_of s3) run1=$(run_of r1)
expect_exit 2 "other.jsonl:1: a metrics line of run $run3, but this run is $run1" \
    "$BIVAE" train "${SMALL[@]}" --epochs 8 --checkpoint-dir r1 --resume --metrics-out other.jsonl
cmp other.jsonl full3.jsonl || fail "another run's lines: the file changed"

# the path: its folder made as mkdir -p; a path that cannot be used is the user's (exit 2)
train 1 deep/er/m.jsonl --epochs 1
[[ $(lines deep/er/m.jsonl) -eq 2 ]] || fail "--metrics-out in a new folder"
: >plain_file
mkdir a_dir
for np in 1 3; do
    expect_exit 2 "--metrics-out plain_file/m.jsonl: cannot create its folder: plain_file: not a directory" \
        "$MPIRUN" -np $np --oversubscribe "$BIVAE" train "${SMALL[@]}" --epochs 1 --metrics-out plain_file/m.jsonl
    one_error_line
    expect_exit 2 "--metrics-out a_dir: cannot open: Is a directory" \
        "$MPIRUN" -np $np --oversubscribe "$BIVAE" train "${SMALL[@]}" --epochs 1 --metrics-out a_dir
    one_error_line
done
echo "metrics: OK"
