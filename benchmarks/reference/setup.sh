#!/usr/bin/env bash
# benchmarks/reference/setup.sh — the optional Python environment of the reference
# comparison: a virtualenv at .deps/venv (git-ignored) with cornac and torch from PyPI.
# Not part of the project's install: only this comparison (and, when no python3 on PATH
# has torch, the optional ctest autograd_torch) use it. ~6 GB (PyPI's Linux torch wheel
# pulls its CUDA libraries; the comparison itself runs torch on the CPU).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=${VENV:-$root/.deps/venv}
python=${PYTHON:-python3}
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/pip" install --upgrade pip
"$venv/bin/pip" install torch cornac
"$venv/bin/python" -c 'import torch, cornac; print("torch", torch.__version__, "cornac", cornac.__version__)'
