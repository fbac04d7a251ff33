#!/usr/bin/env bash
# launch/test-sanitizers.sh — the test suite again, built with AddressSanitizer and
# UndefinedBehaviorSanitizer (CPU path, single- and multi-rank tests), into build-asan/.
# Leaks inside Open MPI's own libraries are suppressed (tests/sanitizers/lsan.supp); any
# report from the project's code fails the run. Extra arguments go to ctest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc 2>/dev/null || echo 2)
mkdir -p build-asan
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DBIVAE_SANITIZE=ON -DBIVAE_ENABLE_CUDA=OFF \
    >build-asan/configure.log 2>&1 || { cat build-asan/configure.log >&2; exit 3; }
cmake --build build-asan -j "$jobs"
source "$root/launch/env.sh"
# Full stacks (Open MPI is built without frame pointers) and MCA plugins kept loaded, so
# that leaks inside Open MPI can be matched by the suppression file.
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:fast_unwind_on_malloc=0:${ASAN_OPTIONS:-}"
export OMPI_MCA_mca_base_component_disable_dlclose=1
export LSAN_OPTIONS="suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
cd build-asan
ctest --output-on-failure -j "$jobs" --timeout 1800 "$@"
