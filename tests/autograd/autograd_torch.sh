#!/usr/bin/env bash
# tests/autograd/autograd_torch.sh DUMP_GRAD — the C forward/backward of a tiny BiVAE
# (dump_grad) against torch autograd in float64 (check_torch.py), every likelihood ×
# activation × {1, 2} hidden layers × side. Skips (77) when no python3 can import torch.
#
# Python: $BIVAE_PYTHON if set, else the first python3 on PATH; when that one has no
# torch, the repository's optional virtualenv .deps/venv (benchmarks/reference/README.md).
set -euo pipefail
dump_grad=${1:?usage: autograd_torch.sh DUMP_GRAD}
here=$(cd "$(dirname "$0")" && pwd)
src=${BIVAE_SOURCE_DIR:-$(cd "$here/../.." && pwd)}

has_torch() { "$1" -c 'import torch' >/dev/null 2>&1; }
py=""
for cand in ${BIVAE_PYTHON:-} python3 "$src/.deps/venv/bin/python3"; do
    if command -v "$cand" >/dev/null 2>&1 && has_torch "$cand"; then
        py=$cand
        break
    fi
done
if [ -z "$py" ]; then
    echo "SKIP: python3 torch not installed"
    exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$dump_grad" "$tmp/dump.json"
echo "python: $(command -v "$py")"
OMP_NUM_THREADS=1 "$py" "$here/check_torch.py" "$tmp/dump.json"
