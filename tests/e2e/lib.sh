# tests/e2e/lib.sh — shared by the end-to-end script tests. Needs BIVAE (the binary), MPIRUN,
# BIVAE_SOURCE_DIR in the environment (set by bivae_add_script_test).
set -euo pipefail
: "${BIVAE:?}" "${MPIRUN:?}" "${BIVAE_SOURCE_DIR:?}"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
COMPARE="python3 $BIVAE_SOURCE_DIR/tests/tools/compare_runs.py"

fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_exit CODE PATTERN cmd...: runs cmd, checks its exit status and that stderr matches
# the extended regex PATTERN.
expect_exit() {
    local want=$1 pattern=$2; shift 2
    local got=0
    "$@" >"$TMP/out" 2>"$TMP/err" || got=$?
    [[ $got -eq $want ]] || { cat "$TMP/err" >&2; fail "exit $got, want $want: $*"; }
    grep -Eq -- "$pattern" "$TMP/err" || { cat "$TMP/err" >&2; fail "stderr lacks /$pattern/: $*"; }
}

# run_np NP OUT.jsonl args...: trains under mpirun with NP ranks, metrics to OUT.jsonl
run_np() {
    local np=$1 out=$2; shift 2
    timeout 600 "$MPIRUN" -np "$np" --oversubscribe "$BIVAE" train --quiet --threads 1 \
        --metrics-out "$out" "$@" >"$TMP/np$np.out" 2>"$TMP/np$np.err" \
        || { cat "$TMP/np$np.err" >&2; fail "np $np run failed: $*"; }
}

# skip_without_gpu: one tiny --device cuda run; exits 77 (ctest's skip) with the reason
# when this machine has no usable CUDA device or the build has no CUDA backend, fails the
# test when the probe run fails otherwise.
skip_without_gpu() {
    local probe=0
    local nodev="--device cuda: rank 0: (no NVIDIA driver / no GPU found|this build has no CUDA backend)"
    "$BIVAE" train --synthetic 60x50x1300 --epochs 1 --k 2 --encoder 4 --device cuda --quiet \
        >"$TMP/probe.out" 2>"$TMP/probe.err" || probe=$?
    if [[ $probe -eq 3 ]] && grep -Eq -- "$nodev" "$TMP/probe.err"; then
        echo "SKIP: $(grep -E -m1 -- "$nodev" "$TMP/probe.err")"
        exit 77
    fi
    [[ $probe -eq 0 ]] || { cat "$TMP/probe.err"; fail "the GPU probe run failed (exit $probe)"; }
}
