# tests/multinode/lib.sh — shared by the multi-host tests: the test bed (bed.sh) up for the
# test, torn down at its end whatever happens, and the helpers. Needs BIVAE, MPIRUN and
# BIVAE_SOURCE_DIR in the environment (bivae_add_script_test sets them).
# shellcheck source=tests/multinode/bed.sh
source "$(dirname "${BASH_SOURCE[0]}")/bed.sh"
set -euo pipefail
: "${BIVAE:?}" "${MPIRUN:?}" "${BIVAE_SOURCE_DIR:?}"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/bivae-mn-XXXXXX")
# shellcheck disable=SC2034  # (COMPARE, MN_RC, MN_SHOW, MN_MPI: for the tests that source this)
COMPARE="python3 $BIVAE_SOURCE_DIR/tests/tools/compare_runs.py"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
# more ranks than cores: ranks waiting in a collective yield instead of spinning
export OMPI_MCA_mpi_yield_when_idle=1

fail() { echo "FAIL: $*" >&2; exit 1; }

mn_cleanup() {
    local rc=$?
    trap - EXIT
    if [[ $rc -ne 0 && $rc -ne 77 && -n ${MN_SHOW:-} ]]; then
        local f
        for f in $MN_SHOW; do [[ -s $f ]] && { echo "---- $f" >&2; tail -n 30 "$f" >&2; }; done
    fi
    [[ $(type -t mn_extra_cleanup) != function ]] || mn_extra_cleanup || rc=1
    bed_down || rc=1
    [[ -n ${MN_KEEP:-} ]] || rm -rf "$TMP"
    exit "$rc"
}
trap mn_cleanup EXIT
trap 'exit 130' INT TERM

# mn_up N: the bed with N hosts, or exit 77 (skip) with the reason.
mn_up() {
    local rc=0
    bed_up "$1" || rc=$?
    [[ $rc -eq 0 ]] || exit "$rc"
}

# mn_train OUTBASE NP HOSTFILE ARGS...: bivae-dist train over the bed (mpirun -np NP,
# hostfile HOSTFILE, more mpirun arguments in the array MN_MPI); stdout/stderr to
# OUTBASE.out/.err, the exit status in MN_RC.
MN_MPI=()
mn_train() {
    local base=$1 np=$2 hosts=$3
    shift 3
    MN_RC=0
    # shellcheck disable=SC2034  # (read by the tests)
    bed_mpirun --hostfile "$hosts" -np "$np" "${MN_MPI[@]}" "$BIVAE" train --threads 1 "$@" \
        >"$base.out" 2>"$base.err" || MN_RC=$?
}

# json_check FILE PYTHON: PYTHON (with `epochs` the epoch objects, `final` the final one)
# must not raise.
json_check() {
    python3 - "$1" "$2" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
epochs = [l for l in lines if not l.get("final")]
final = ([l for l in lines if l.get("final")] or [None])[0]
exec(sys.argv[2])
PY
}
