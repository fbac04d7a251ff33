#!/usr/bin/env bash
# tests/slurm/fake_trainer.sh — stands in for `bivae-dist train` in the requeue test of the
# Slurm template: the checkpoint protocol of the real trainer without the model, so that the
# template's signal forwarding, requeue and --resume are tested before (and independently of)
# the trainer's own checkpoints.
#
#   fake_trainer.sh train --epochs N --checkpoint-dir DIR --metrics-out FILE [--resume] [...]
#
# Every rank runs an epoch every 0.2 s. SIGUSR1 or SIGTERM: the rank writes DIR/ckpt-<epoch>.rank<R>
# at the next epoch boundary and exits 0. --resume: continues after the newest checkpoint
# (exit 3 if there is none). Rank 0 (SLURM_PROCID) appends one JSON line per epoch to FILE
# and the final object at the end. Every start is logged to DIR/../starts.log with its flags.
set -euo pipefail
if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; exit 0
fi
[[ ${1:-} == train ]] || { echo "fake_trainer: want 'train' first" >&2; exit 2; }
shift
epochs=100 ckpt="" metrics="" resume=0 args="$*"
while [[ $# -gt 0 ]]; do
    case $1 in
    --epochs) epochs=$2; shift 2 ;;
    --checkpoint-dir) ckpt=$2; shift 2 ;;
    --metrics-out) metrics=$2; shift 2 ;;
    --resume) resume=1; shift ;;
    --*=*) shift ;;
    --*) if [[ $# -ge 2 && $2 != --* ]]; then shift 2; else shift; fi ;;
    *) echo "fake_trainer: unexpected argument $1" >&2; exit 2 ;;
    esac
done
[[ -n $ckpt && -n $metrics ]] || { echo "fake_trainer: needs --checkpoint-dir and --metrics-out" >&2; exit 2; }
rank=${SLURM_PROCID:?not started by srun}
stop=0
trap 'stop=1' USR1 TERM
echo "restart=${SLURM_RESTART_COUNT:-0} rank=$rank args=$args" >>"$ckpt/../starts.log"
epoch=0
if [[ $resume -eq 1 ]]; then
    last=$(find "$ckpt" -name "ckpt-*.rank$rank" | sed 's/.*ckpt-\([0-9]*\)\.rank.*/\1/' | sort -n | tail -n 1)
    [[ -n $last ]] || { echo "fake_trainer: --resume: no checkpoint in $ckpt" >&2; exit 3; }
    epoch=$last
fi
while (( epoch < epochs )); do
    sleep 0.2 &
    wait $! || true          # a signal interrupts the wait; finish the "step" anyway
    epoch=$(( epoch + 1 ))
    if [[ $rank -eq 0 ]]; then echo "{\"epoch\":$epoch,\"epochs\":$epochs,\"loss_item\":1.0}" >>"$metrics"; fi
    if [[ $stop -eq 1 ]]; then
        : >"$ckpt/ckpt-$epoch.rank$rank"
        echo "fake_trainer: rank $rank checkpointed at epoch $epoch, exiting" >&2
        exit 0
    fi
done
if [[ $rank -eq 0 ]]; then echo '{"final":true,"ndcg@10":0.5,"users":1}' >>"$metrics"; fi
