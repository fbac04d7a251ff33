#!/usr/bin/env bash
# launch/test-cuemu.sh — the CUDA tests (ctest label `cuda`) on machines without a GPU:
# the CUDA backend and the NCCL communicator built against cuemu, the CPU emulation of
# tests/cuemu (README there says what it can and cannot find), into build-emu/. On a machine
# with a GPU the same tests run for real in build/. Extra arguments go to ctest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc 2>/dev/null || echo 2)
mkdir -p build-emu
cmake -S . -B build-emu -DCMAKE_BUILD_TYPE=Release -DBIVAE_CUDA_EMU=ON \
    >build-emu/configure.log 2>&1 || { cat build-emu/configure.log >&2; exit 3; }
# only what the `cuda` label runs
cmake --build build-emu -j "$jobs" --target bivae-dist cuda_ops cuda_launches cuda_model cuda_comm \
    cuda_philox test_cuemu bench_gpu ckpt_tool
source "$root/launch/env.sh"
cd build-emu
ctest --output-on-failure -j "$jobs" --timeout 900 -L cuda "$@"
