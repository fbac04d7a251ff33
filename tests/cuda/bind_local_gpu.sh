#!/usr/bin/env bash
# tests/cuda/bind_local_gpu.sh CMD...: runs CMD seeing only the GPU of its node-local rank
# (CUDA_VISIBLE_DEVICES = local rank), as Slurm's --gpus-per-task=1 binding does.
export CUDA_VISIBLE_DEVICES=${OMPI_COMM_WORLD_LOCAL_RANK:-${SLURM_LOCALID:-0}}
exec "$@"
