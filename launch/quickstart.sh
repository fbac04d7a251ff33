#!/usr/bin/env bash
# launch/quickstart.sh — the README's first command on a fresh Debian machine: installs what
# is missing, builds, trains BiVAE with mpirun on the built-in synthetic MovieLens-100k shape
# (the reference hyper-parameters: k 50, encoder 100, tanh, pois, batch 128, lr 0.001,
# 500 epochs) and prints the metrics.
# Environment: NP (ranks, default: number of cores, at most 4), EPOCHS (default 500).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/launch/install-deps.sh"
"$root/launch/build.sh"
source "$root/launch/env.sh"
cores=$(nproc 2>/dev/null || echo 1)
np=${NP:-$(( cores < 4 ? cores : 4 ))}
mkdir -p "$root/out"
echo "quickstart: mpirun -np $np bivae-dist train --synthetic ml-100k ..."
exec mpirun -np "$np" --oversubscribe "$root/build/bivae-dist" train \
    --synthetic ml-100k --k 50 --encoder 100 --act tanh --likelihood pois \
    --epochs "${EPOCHS:-500}" --batch-size 128 --lr 0.001 --seed 42 \
    --metrics-out "$root/out/quickstart-metrics.jsonl"
