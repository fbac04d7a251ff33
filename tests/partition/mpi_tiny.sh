#!/bin/bash
# tests/partition/mpi_tiny.sh DUMP — more ranks than users or items: ranks that own
# nothing hold valid empty matrices and the union is still the np 1 result.
DUMP=$1
. "$(dirname "$0")/mpi_common.sh"

printf '10\t100\t5\n20\t100\t3\n20\t200\t4\n30\t300\t1\n30\t400\t2\n10\t400\t5\n' > "$T/tiny.tsv"
same_for_all_np tiny "2 4 5 7" --data "$T/tiny.tsv" --test-ratio 0
same_for_all_np tiny-split "4 6" --data "$T/tiny.tsv" --test-ratio 0.4 --seed 1
printf '1,1\n' > "$T/one.csv"
same_for_all_np one-rating "3" --data "$T/one.csv" --test-ratio 0
grep -q '^stats users 3 items 4 nnz_train 6 ' "$T/tiny.np1" || fail "tiny: wrong stats: $(head -1 "$T/tiny.np1")"

exit $FAILED
