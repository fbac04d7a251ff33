#!/usr/bin/env bash
# Multi-node item 2 on the CUDA path, under cuemu (the CPU emulation of CUDA and NCCL;
# registered only in a cuemu build): 2 hosts x 2 ranks by node (ranks 0,2 on bivae-h1;
# 1,3 on bivae-h2), 2 emulated GPUs per host (CUEMU_DEVICES=2), --device cuda --comm nccl.
# NCCL refuses two node-local ranks on one GPU (by bus id), so the run succeeds only if
# every rank takes the GPU of its node-local rank: with the global rank, ranks 0 and 2
# would share GPU 0 of bivae-h1. The control: 1 GPU per host must be refused, naming the
# two node-local ranks 0 and 1.
# shellcheck source=tests/multinode/lib.sh
source "$(dirname "$0")/lib.sh"
mn_up 2
bed_hostfile "$TMP/hosts" 2
ARGS=(--synthetic 97x61x2400 --epochs 1 --k 4 --encoder 8 --batch-size 16 --device cuda --comm nccl)
MN_SHOW="$TMP/two.err $TMP/one.err"
MN_MPI=(--map-by node -x CUEMU_DEVICES)
CUEMU_DEVICES=2 mn_train "$TMP/two" 4 "$TMP/hosts" "${ARGS[@]}"
[[ $MN_RC -eq 0 ]] || fail "2 GPUs per host, 2 ranks per host by node: exit $MN_RC"
grep -q "hosts: bivae-h1: ranks 0,2 (local 0,1); bivae-h2: ranks 1,3 (local 0,1)" "$TMP/two.err" \
    || fail "the hosts line does not say ranks 0,2 on bivae-h1 and 1,3 on bivae-h2"
grep -q "device: cuda, comm: nccl" "$TMP/two.err" || fail "not on the CUDA backend with NCCL"
CUEMU_DEVICES=1 mn_train "$TMP/one" 4 "$TMP/hosts" "${ARGS[@]}"
[[ $MN_RC -ne 0 ]] || fail "1 GPU per host for 2 ranks per host: NCCL accepted a shared GPU"
grep -q "node-local ranks 0 and 1 share GPU" "$TMP/one.err" || fail "the shared GPU is not named by node-local ranks"
echo "multinode cuda: each rank took the GPU of its node-local rank on both hosts (cuemu)"
