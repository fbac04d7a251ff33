#!/usr/bin/env bash
# Every rank leaves through the same door (issue 12.7, src/train.h "Guards"): a fault that
# holds on one rank only is agreed through a collective before anyone exits. Each case runs
# on 3 ranks with a large --comm-timeout (120 s), bounded by `timeout 60`: it must end with
# exit 3, ONE error line with the right message, within 30 s (a rank left waiting in a
# collective would show as the 120 s watchdog or the timeout). The fault is on rank 2,
# except for the writes only rank 0 makes (checkpoints, metrics), where it is on rank 0:
#  a) a NaN in the gradient of rank 2's own first-layer rows at a phase's last step (only
#     rank 2's Adam sees it; before the agreement rank 2 waited in a barrier while the
#     others went on into the all-gather): named, no checkpoint of the bad state;
#  b) a NaN put into rank 2's own first-layer parameters after the last step of a phase
#     (no forward reads it again in that phase: only the state scan can see it);
#  c) the same in the middle of a phase: the next forward spreads it through the
#     all-reduce, every rank sees the same bad loss;
#  d) a read error on rank 2 while resuming (BIVAE_TEST_LOAD_FAIL);
#  e) a full disk under the checkpoint being written (rank 0);
#  f) a full disk under --metrics-out (rank 0): stopped after that epoch, with a
#     checkpoint of it, so nothing trained is lost; also without --checkpoint-dir;
#  g) --check-replicas with rank 2's replica changed.
source "$(dirname "$0")/lib.sh"
cd "$TMP"

# door NAME PATTERN [VAR=VALUE...] -- TRAIN-ARGS...: the bounded np 3 run described above
door() {
    local name=$1 pattern=$2 envs=() xs=() t0=$SECONDS
    shift 2
    while [[ $1 != -- ]]; do envs+=("$1"); xs+=(-x "${1%%=*}"); shift; done
    shift
    expect_exit 3 "$pattern" env "${envs[@]}" timeout 60 "$MPIRUN" -np 3 --oversubscribe \
        "${xs[@]}" "$BIVAE" train "${SMALL[@]}" --comm-timeout 120 "$@"
    one_error_line
    (( SECONDS - t0 < 30 )) || fail "$name: $((SECONDS - t0)) s to end"
    echo "same_door: $name: exit 3, one line, $((SECONDS - t0)) s"
}
RANK2="on rank 2 only \(in the first-layer rows it owns, which no all-reduce shares\)"
NOCKPT="training stopped, no checkpoint of this state is written"

# a) epoch 2, item step 10 of 10 (steps are numbered item steps, then user steps)
door "NaN gradient, own rows of rank 2" \
    "non-finite value $RANK2 in epoch 2, item phase, step 10 of 10 \(global batch from row 144\): $NOCKPT" \
    BIVAE_TEST_NAN_AT=grad:2:9:2 -- --epochs 3 --checkpoint-dir a --checkpoint-every 1
[[ $(positions a) == "000001 " ]] || fail "a): want only the checkpoint of epoch 1: $(ls a)"
# b) epoch 1, after user step 13 of 13
door "NaN parameter, own rows of rank 2" \
    "non-finite value $RANK2 in epoch 1, user phase, after step 13 of 13: $NOCKPT" \
    BIVAE_TEST_NAN_AT=param:1:22:2 -- --epochs 2 --checkpoint-dir b
[[ -z $(positions b) ]] || fail "b): a checkpoint of the bad state: $(ls b)"
# c) epoch 1, after item step 4: every rank's loss goes bad at the next step
door "NaN parameter spread by the all-reduce" \
    "non-finite loss or gradient in epoch 1, item phase, step 5 of 10 \(global batch from row 64\): $NOCKPT" \
    BIVAE_TEST_NAN_AT=param:1:3:2 -- --epochs 2
# d) resuming a's checkpoint of epoch 1
door "read error on rank 2" \
    "$(ckpt a 000001): read error at tensor encoder.user.params \(rank 2, BIVAE_TEST_LOAD_FAIL\)" \
    BIVAE_TEST_LOAD_FAIL=2 -- --epochs 3 --checkpoint-dir a --resume
# e) the checkpoint of epoch 2 goes to /dev/full
run=$(run_of a)
ln -s /dev/full "a/ckpt-$run-000002.bvck.tmp"
door "full disk under a checkpoint" \
    "cannot write checkpoint: a/ckpt-$run-000002.bvck: cannot write: No space left on device" \
    -- --epochs 3 --checkpoint-dir a --resume --checkpoint-every 1
[[ $(positions a) == "000001 " ]] || fail "e): $(ls a)"
# f) every metrics line goes to /dev/full
door "full disk under --metrics-out" \
    "cannot write --metrics-out /dev/full: No space left on device: training stopped after epoch 1, checkpoint f/ckpt-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{4}-000001.bvck written: continue with --resume" \
    -- --epochs 3 --checkpoint-dir f --metrics-out /dev/full
[[ $(positions f) == "000001 " ]] || fail "f): want the checkpoint of epoch 1: $(ls f)"
door "full disk under --metrics-out, no checkpoints" \
    "cannot write --metrics-out /dev/full: No space left on device: training stopped after epoch 1$" \
    -- --epochs 3 --metrics-out /dev/full
# g) replicas
door "diverged replica of rank 2" \
    "--check-replicas: after epoch 1 the parameters of rank 2 differ from rank 0" \
    BIVAE_TEST_PERTURB_RANK=2 -- --epochs 2 --check-replicas
echo "same_door: OK"
