#!/usr/bin/env bash
# launch/test.sh — the README's second command (and CI's): installs what is missing,
# builds, runs the whole ctest suite. Extra arguments go to ctest (e.g. -R kernels).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/launch/install-deps.sh"
"$root/launch/build.sh"
source "$root/launch/env.sh"
cd "$root/build"
ctest --output-on-failure -j "$(nproc 2>/dev/null || echo 2)" --timeout 900 "$@"
