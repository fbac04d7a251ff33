#!/usr/bin/env bash
# The CAP model (--cap-priors) on the GPU end to end, against the CPU:
#   a) np=1 --device cuda, and np=2 sharing one GPU (--comm mpi), equal the CPU run within
#      tests/cuda/train_gpu.sh's tolerance (losses 1e-3 relative, metrics 5e-3 absolute);
#   b) a GPU checkpoint of a CAP model resumed on the GPU (lazy Adam forced) continues
#      bit-identically and ends in the same checkpoint (ckpt_tool same) as an uninterrupted
#      run; its export has the prior means (computed on the device).
# Exits 77 (skipped) when this machine has no usable CUDA device.
source "$(dirname "$0")/../e2e/lib.sh"
TOOL=${1:?ckpt_tool path}
skip_without_gpu
args=(--synthetic 97x61x2400 --synthetic-features 5 --cap-priors both --k 4 --encoder 8
      --batch-size 7)
run_np 1 "$TMP/cpu.jsonl" "${args[@]}" --epochs 3 --device cpu
run_np 1 "$TMP/gpu1.jsonl" "${args[@]}" --epochs 3 --device cuda
$COMPARE "$TMP/cpu.jsonl" "$TMP/gpu1.jsonl" --loss-rtol 1e-3 --metric-atol 5e-3 \
    || fail "CAP np=1 cuda differs from the CPU run"
CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-0} run_np 2 "$TMP/gpu2.jsonl" "${args[@]}" \
    --epochs 3 --device cuda --comm mpi
$COMPARE "$TMP/cpu.jsonl" "$TMP/gpu2.jsonl" --loss-rtol 1e-3 --metric-atol 5e-3 \
    || fail "CAP np=2 on one GPU differs from the CPU run"

run_np 1 "$TMP/full.jsonl" "${args[@]}" --epochs 3 --device cuda --checkpoint-dir "$TMP/full"
BIVAE_TEST_ADAM=lazy run_np 1 "$TMP/a.jsonl" "${args[@]}" --device cuda --epochs 2 \
    --checkpoint-dir "$TMP/a"
BIVAE_TEST_ADAM=lazy run_np 1 "$TMP/a2.jsonl" "${args[@]}" --epochs 3 --device cuda \
    --checkpoint-dir "$TMP/a" --resume
$COMPARE --tail "$TMP/full.jsonl" "$TMP/a2.jsonl" --exact || fail "CAP GPU resume: losses differ"
last() { ls "$1"/ckpt-*-000003.bvck; }
"$TOOL" same "$(last "$TMP/full")" "$(last "$TMP/a")" || fail "CAP GPU resume: final checkpoints differ"
expect_exit 0 "exported" "$BIVAE" export --model "$(last "$TMP/full")" --out "$TMP/ex"
[[ -f $TMP/ex/mu_theta_prior.npy && -f $TMP/ex/mu_beta_prior.npy ]] || fail "GPU export: $(ls "$TMP/ex")"
echo "cap_gpu: OK"
