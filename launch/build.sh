#!/usr/bin/env bash
# launch/build.sh — configure and build into build/ (the binary is build/bivae-dist).
# Extra arguments go to the CMake configure step, e.g. -DBIVAE_ENABLE_CUDA=OFF.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc 2>/dev/null || echo 2)
mkdir -p build
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" >build/configure.log 2>&1 || {
    cat build/configure.log >&2
    echo "build: error: cmake configure failed (log above)" >&2
    exit 3
}
cmake --build build -j "$jobs"
