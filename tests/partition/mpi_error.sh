#!/bin/bash
# tests/partition/mpi_error.sh DUMP — bad input read by several ranks: exactly one error
# line, naming FILE and the file's first bad line (whichever rank holds it), every rank
# returns 2, nothing hangs.
DUMP=$1
. "$(dirname "$0")/mpi_common.sh"

# expect_error NAME NP EXPECTED-LINE-PREFIX ARGS...
expect_error() {
    local name=$1 np=$2 want=$3
    shift 3
    local before=$FAILED lines
    FAILED=0
    run "$np" "$@" --report-rc > "$T/out" 2> "$T/err"
    local rc=$?
    lines=$(grep -c '^bivae-dist: error: ' "$T/err")
    [ "$rc" -ne 0 ] || fail "$name: mpirun exited 0"
    [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || fail "$name: timed out"
    [ "$lines" -eq 1 ] || { cat "$T/err"; fail "$name: $lines error lines, want 1"; }
    grep -q "^bivae-dist: error: $want" "$T/err" || { cat "$T/err"; fail "$name: want '$want'"; }
    for r in $(seq 0 $((np - 1))); do
        grep -q "^partition_dump: rank $r exit ${WANT_RC:-2}$" "$T/out" || { cat "$T/out"; fail "$name: rank $r did not exit ${WANT_RC:-2}"; }
    done
    [ $FAILED -eq 0 ] && echo "ok: $name: $(grep '^bivae-dist: error: ' "$T/err")"
    [ $before -eq 0 ] || FAILED=1
}

# 3000 lines of equal length: with np 3, lines 1-1000 are rank 0's, 1001-2000 rank 1's.
awk 'BEGIN { for (k = 1; k <= 3000; k++) printf "%06d\t%06d\t4\n", k % 97 + 1, k % 89 + 1 }' > "$T/good.tsv"

awk 'NR == 2345 { $0 = "000001\t\t4" } { print }' "$T/good.tsv" > "$T/bad1.tsv"
expect_error "one bad line, rank 2" 3 "$T/bad1.tsv:2345: empty item id" --data "$T/bad1.tsv"
awk 'NR == 1500 { $0 = "000001\t000002\tfour" } NR == 2600 || NR == 2999 { $0 = "x\t1\t1" } { print }' \
    "$T/good.tsv" > "$T/bad2.tsv"
expect_error "first of three bad lines" 3 "$T/bad2.tsv:1500: rating 'four' is not a number" --data "$T/bad2.tsv"
expect_error "first of three bad lines, np 4" 4 "$T/bad2.tsv:1500: rating 'four' is not a number" --data "$T/bad2.tsv"
{ head -c -1 "$T/good.tsv"; printf '\n7\n'; } > "$T/bad3.tsv"     # last line, no final '\n'
expect_error "last line" 4 "$T/bad3.tsv:3001: expected user<TAB>item" --data "$T/bad3.tsv"
tr '\t' ',' < "$T/good.tsv" > "$T/ratings.csv"
expect_error "missing ml-20m header" 3 "$T/ratings.csv:1: missing header" --data "$T/ratings.csv" \
    --format ml-20m
expect_error "missing file" 3 "cannot open $T/nope.tsv: No such file or directory" --data "$T/nope.tsv"
: > "$T/empty.tsv"
expect_error "empty file" 2 "$T/empty.tsv: no ratings" --data "$T/empty.tsv"
expect_error "bad test file" 3 "$T/bad1.tsv:2345: empty item id" --train "$T/good.tsv" --test "$T/bad1.tsv"
# compressed: every rank inflates the stream; the error still names the file's line
gzip -c "$T/bad2.tsv" > "$T/bad2.tsv.gz"
expect_error "first bad line of a .gz, np 3" 3 "$T/bad2.tsv.gz:1500: rating 'four' is not a number" \
    --data "$T/bad2.tsv.gz"
head -c $(( $(stat -c %s "$T/bad2.tsv.gz") / 2 )) "$T/bad2.tsv.gz" > "$T/cut.tsv.gz"
expect_error "truncated .gz" 3 "$T/cut.tsv.gz: truncated gzip data" --data "$T/cut.tsv.gz"
{ head -n 1999 "$T/good.tsv"; printf '1\t2\0\t3\n'; } > "$T/nul.tsv"
expect_error "a NUL byte on rank 1's line" 3 "$T/nul.tsv:2000: binary data (a NUL byte at column 4)" \
    --data "$T/nul.tsv"
# a test file none of whose users is in training: an error, not "no test data"
awk -F'\t' '{ printf "other%s\t%s\t4\n", $1, $2 }' "$T/good.tsv" > "$T/foreign.tsv"
expect_error "no known test user" 3 "--test $T/foreign.tsv: none of its 3000 test rows has a user" \
    --train "$T/good.tsv" --test "$T/foreign.tsv"
# an I/O error on one rank only (test switch: its reads fail with EIO): every rank exits 3
start=$(date +%s)
BIVAE_TEST_READ_ERROR_RANK=2 WANT_RC=3 expect_error "read error on rank 2" 3 \
    "cannot read $T/good.tsv: Input/output error" --data "$T/good.tsv"
(( $(date +%s) - start < 30 )) || fail "read error on rank 2: took more than 30 s"
expect_error "bad --synthetic" 3 "--synthetic 10x10x10" --synthetic 10x10x10

exit $FAILED
