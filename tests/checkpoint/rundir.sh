#!/usr/bin/env bash
# Run directories (issue 12.5, src/checkpoint.h "Runs"), through the binary:
#  - --checkpoint-dir is made as mkdir -p does; the run id is logged, in the file names, in
#    the header, and current-run names it;
#  - a fresh train into a directory with checkpoints stops with exit 2 and one line naming
#    --resume and --overwrite, changing nothing there (also on 3 ranks);
#  - --overwrite starts a new run beside the old one: the old run's files stay byte for
#    byte through the new run's rotation (--keep 1), and --resume then continues the NEW
#    run; a fresh run of a third id rotates only its own;
#  - a legacy checkpoint (no run id) is resumed under a new run id, noted, and never
#    rotated away; a broken current-run is an error naming it;
#  - the refusal comes before anything is written: the metrics file is untouched.
source "$(dirname "$0")/lib.sh"
cd "$TMP"

# mkdir -p, and where the run id shows
train 1 a.jsonl --epochs 2 --checkpoint-every 1 --checkpoint-dir runs/x/ck
run_a=$(run_of runs/x/ck)
[[ $run_a =~ ^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{4}$ ]] || fail "current-run: '$run_a' is not a run id"
grep -Eq "^bivae-dist: run $run_a: bivae-dist [0-9.]+, CPU kernels [a-z0-9-]+, OpenBLAS [A-Za-z0-9_]+$" "$TMP/train.err" || fail "the run id is not logged"
[[ $("$TOOL" info "runs/x/ck/ckpt-$run_a-000002.bvck" | awk '{print $NF}') == "$run_a" ]] \
    || fail "the header's run id is not the file name's"
cp -r runs/x/ck before
cp a.jsonl a.before

# a fresh run into it: refused, nothing changed; on 3 ranks: one line
for np in 1 3; do
    expect_exit 2 "--checkpoint-dir runs/x/ck holds checkpoints of an earlier run \(newest: runs/x/ck/ckpt-$run_a-000002.bvck\): pass --resume to continue it, or --overwrite to start a new run beside it" \
        "$MPIRUN" -np $np --oversubscribe "$BIVAE" train "${SMALL[@]}" --epochs 2 \
        --checkpoint-dir runs/x/ck --metrics-out a.jsonl
    one_error_line
    diff -r runs/x/ck before || fail "np $np: the refused run changed the directory"
    cmp a.jsonl a.before || fail "np $np: the refused run touched --metrics-out"
done

# --overwrite: a new run; the old files survive its rotation untouched
train 1 b.jsonl --epochs 3 --checkpoint-every 1 --keep 1 --checkpoint-dir runs/x/ck --overwrite
run_b=$(run_of runs/x/ck)
[[ $run_b != "$run_a" ]] || fail "--overwrite kept the old run id"
for f in before/ckpt-*.bvck; do
    cmp "$f" "runs/x/ck/${f#before/}" || fail "--overwrite changed or removed $f"
done
[[ "$(cd runs/x/ck && ls ckpt-"$run_b"-*)" == "ckpt-$run_b-000003.bvck" ]] \
    || fail "keep 1 within the new run: $(ls runs/x/ck)"

# --resume continues the new run, not the old one with more epochs
BIVAE_TEST_SIGNAL_AT=4:3:0 train 1 c.jsonl --epochs 5 --checkpoint-dir runs/x/ck --resume --keep 1
grep -q "resuming from runs/x/ck/ckpt-$run_b-000003.bvck" "$TMP/train.err" \
    || { cat "$TMP/train.err"; fail "--resume did not continue the new run"; }
[[ $(run_of runs/x/ck) == "$run_b" ]] || fail "--resume changed the run id"
[[ -f runs/x/ck/ckpt-$run_b-000003-000003.bvck && ! -e runs/x/ck/ckpt-$run_b-000003.bvck ]] \
    || fail "the stop checkpoint of the new run: $(ls runs/x/ck)"
for f in before/ckpt-*.bvck; do
    cmp "$f" "runs/x/ck/${f#before/}" || fail "resuming the new run changed $f"
done

# a legacy checkpoint (written before run ids): resumed under a new id, never rotated
mkdir legacy
"$TOOL" legacy "runs/x/ck/ckpt-$run_a-000002.bvck" legacy/ckpt-000002.bvck
[[ $("$TOOL" info legacy/ckpt-000002.bvck | awk '{print $NF}') == - ]] || fail "ckpt_tool legacy"
cp legacy/ckpt-000002.bvck legacy.bvck
expect_exit 2 "holds checkpoints of an earlier run" "$BIVAE" train "${SMALL[@]}" --epochs 3 \
    --checkpoint-dir legacy
train 1 l.jsonl --epochs 4 --checkpoint-every 1 --keep 1 --checkpoint-dir legacy --resume
grep -q "legacy/ckpt-000002.bvck predates run ids: it continues as run " "$TMP/train.err" \
    || { cat "$TMP/train.err"; fail "no note on the legacy checkpoint"; }
run_l=$(run_of legacy)
[[ "$(ls legacy | tr "\n" " ")" == "ckpt-000002.bvck ckpt-$run_l-000004.bvck current-run " ]] \
    || fail "legacy: $(ls legacy)"
cmp legacy/ckpt-000002.bvck legacy.bvck || fail "the legacy file changed"

# a broken current-run: one line naming it, exit 2
echo garbage >legacy/current-run
expect_exit 2 "legacy/current-run: not a run id" "$BIVAE" train "${SMALL[@]}" --epochs 5 \
    --checkpoint-dir legacy --resume
one_error_line

# --checkpoint-dir that cannot be made: exit 2 naming the flag and the component
: >plain_file
expect_exit 2 "--checkpoint-dir plain_file/ck: cannot create: plain_file: not a directory" \
    "$BIVAE" train "${SMALL[@]}" --epochs 1 --checkpoint-dir plain_file/ck
one_error_line
echo "rundir: OK"
