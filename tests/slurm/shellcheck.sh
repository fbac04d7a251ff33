#!/usr/bin/env bash
# Runs shellcheck over the launchers this area owns (the Slurm template, its submit helper, the
# one-node mpirun wrapper, the package installer) and the scripts of the Slurm test. SKIP (77)
# without shellcheck.
set -euo pipefail
: "${BIVAE_SOURCE_DIR:?}"
command -v shellcheck >/dev/null || { echo "SKIP: shellcheck not installed (apt-get install shellcheck)"; exit 77; }
cd "$BIVAE_SOURCE_DIR"
files=(launch/slurm/bivae.sbatch launch/slurm/submit.sh launch/mpirun.sh launch/install-deps.sh
       tests/slurm/*.sh tests/multinode/*.sh benchmarks/scaling.sh)
shellcheck --shell=bash --external-sources "${files[@]}" || { echo "FAIL: shellcheck found problems"; exit 1; }
echo "shellcheck $(shellcheck --version | sed -n 's/^version: //p'): ${#files[@]} files clean"
