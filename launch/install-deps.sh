#!/usr/bin/env bash
# launch/install-deps.sh — install the Debian packages bivae-dist needs, only those missing.
# Usage: launch/install-deps.sh [--with-slurm]
# Needs root (or sudo) only when something is missing. The CUDA toolkit is not a Debian
# package here: when /usr/local/cuda/bin/nvcc exists the CUDA backend is built too.
set -euo pipefail

packages=(build-essential cmake pkg-config libopenmpi-dev openmpi-bin libopenblas-dev
          libprotobuf-c-dev protobuf-c-compiler libcmocka-dev librandom123-dev zlib1g-dev libzstd-dev
          python3 python3-numpy)
if [[ "${1:-}" == "--with-slurm" ]]; then
    packages+=(slurmctld slurmd slurm-client munge gnuplot-nox shellcheck)
fi

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-deps: all packages present"
    exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=()
if [[ $(id -u) -ne 0 ]]; then
    if ! command -v sudo >/dev/null; then
        echo "install-deps: error: missing packages (${missing[*]}) and not root, no sudo" >&2
        exit 3
    fi
    sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
