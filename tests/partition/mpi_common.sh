# tests/partition/mpi_common.sh — shared by the partition multi-rank scripts (sourced).
# Needs DUMP (the partition_dump driver) and MPIRUN; makes a scratch dir $T.
set -u
MPIRUN=${MPIRUN:-mpirun}
T=$(mktemp -d "${TMPDIR:-/tmp}/bivae-partition-mpi-XXXXXX")
trap 'rm -rf "$T"' EXIT
FAILED=0

fail() { echo "FAIL: $*"; FAILED=1; }

# run NP ARGS...: the driver on NP ranks, never longer than 120 s (a hang is a failure).
run() {
    local np=$1
    shift
    timeout -k 5 120 "$MPIRUN" -np "$np" --oversubscribe "$DUMP" "$@"
    local rc=$?
    [ $rc -eq 124 ] || [ $rc -eq 137 ] && echo "TIMEOUT (hang?): np $np $*"
    return $rc
}

# same_for_all_np NAME "NPS" ARGS...: the dump on 1 rank, then on each NP, must be identical.
same_for_all_np() {
    local name=$1 nps=$2
    shift 2
    if ! run 1 "$@" --out "$T/$name.np1" > "$T/log" 2>&1; then
        cat "$T/log"; fail "$name: np 1 failed"; return
    fi
    for np in $nps; do
        if ! run "$np" "$@" --out "$T/$name.np$np" > "$T/log" 2>&1; then
            cat "$T/log"; fail "$name: np $np failed"; continue
        fi
        cmp -s "$T/$name.np1" "$T/$name.np$np" || { diff "$T/$name.np1" "$T/$name.np$np" | head -5; fail "$name: np $np differs from np 1"; }
    done
    echo "done: $name: $(head -1 "$T/$name.np1") (np 1 $nps compared)"
}
