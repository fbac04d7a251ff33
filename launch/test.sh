#!/usr/bin/env bash
# launch/test.sh — the README's second command (and CI's): installs what is missing,
# builds, runs the whole ctest suite, then the CUDA tests against cuemu, the CPU emulation
# of the CUDA runtime, cuBLAS and NCCL (launch/test-cuemu.sh, tests/cuemu/README.md;
# BIVAE_TEST_CUEMU=0 skips it), then the suite again built with AddressSanitizer and
# UndefinedBehaviorSanitizer (launch/test-sanitizers.sh; BIVAE_TEST_SANITIZERS=0 skips that
# pass). Extra arguments go to ctest (e.g. -R kernels).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# --with-slurm: Slurm and munge for the private-cluster test (tests/slurm/), which skips
# without them; BIVAE_TEST_SLURM=0 leaves them out.
deps=(--with-slurm)
if [[ ${BIVAE_TEST_SLURM:-1} == 0 ]]; then deps=(); fi
"$root/launch/install-deps.sh" "${deps[@]}"
"$root/launch/build.sh"
source "$root/launch/env.sh"
cd "$root/build"
ctest --output-on-failure -j "$(nproc 2>/dev/null || echo 2)" --timeout 900 "$@"
if [[ ${BIVAE_TEST_CUEMU:-1} != 0 ]]; then
    echo "test: the CUDA tests against cuemu, the CPU emulation of CUDA (build-emu/)"
    "$root/launch/test-cuemu.sh" "$@"
fi
if [[ ${BIVAE_TEST_SANITIZERS:-1} != 0 ]]; then
    echo "test: the suite again under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)"
    "$root/launch/test-sanitizers.sh" "$@"
fi
