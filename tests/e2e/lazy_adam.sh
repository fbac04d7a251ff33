#!/usr/bin/env bash
# Lazy Adam (src/model_adam.c) is dense Adam, bitwise: with the sharded first layer, the
# own Wt_1 rows a batch does not touch are updated only when read, replaying their
# zero-gradient steps (the default on CUDA; forced here on the CPU with
# BIVAE_TEST_ADAM=lazy). The same runs with BIVAE_TEST_ADAM=dense (every row at every step)
# must give bit-identical losses and metrics and identical checkpoints (ckpt_tool same: every
# record byte for byte, the run id of the two runs apart): on 1, 2 and 3
# ranks, at every epoch's checkpoint, and across a stop inside a phase and its resume. The
# data is sparse (a batch touches ~16 % of the features), so most rows are lazy most of
# the time.
source "$(dirname "$0")/lib.sh"
TOOL=${1:?ckpt_tool path}
cd "$TMP"
args=(--synthetic 1500x2000x30000 --k 4 --encoder 8 --batch-size 16 --epochs 3)
for np in 1 2 3; do
    BIVAE_TEST_ADAM=lazy run_np $np lazy$np.jsonl "${args[@]}" --checkpoint-dir lazy$np --checkpoint-every 1 --keep 3
    BIVAE_TEST_ADAM=dense run_np $np dense$np.jsonl "${args[@]}" --checkpoint-dir dense$np \
        --checkpoint-every 1 --keep 3
    $COMPARE dense$np.jsonl lazy$np.jsonl --exact || fail "np $np: lazy and dense Adam differ"
    for e in 1 2 3; do
        "$TOOL" same lazy$np/ckpt-*-00000$e.bvck dense$np/ckpt-*-00000$e.bvck \
            || fail "np $np: epoch $e checkpoints differ (lazy vs dense)"
    done
    echo "lazy_adam: np $np: lazy == dense, losses, metrics and 3 checkpoints byte for byte"
done
# a stop inside the user phase of epoch 2 (125 item steps + 9 user steps), then --resume
BIVAE_TEST_ADAM=lazy BIVAE_TEST_SIGNAL_AT=2:134:0 run_np 2 stop.jsonl "${args[@]}" --checkpoint-dir stop
ls stop | grep -q -- "-000134.bvck" || fail "no mid-phase checkpoint: $(ls stop)"
BIVAE_TEST_ADAM=lazy run_np 2 resumed.jsonl "${args[@]}" --checkpoint-dir stop --resume
"$TOOL" same stop/ckpt-*-000003.bvck dense2/ckpt-*-000003.bvck \
    || fail "stopped inside a phase and resumed: the final checkpoint differs from dense Adam's"
echo "lazy_adam: a mid-phase stop and resume ends byte-identical to dense Adam"
