#!/usr/bin/env bash
# Input limits through the whole binary (parsing details are in the partition tests): each
# case either trains to the end or gets one line naming the file (and line) and exit 2,
# on 1 and on 3 ranks.
source "$(dirname "$0")/lib.sh"
train() { "$BIVAE" train --epochs 2 --k 2 --encoder 3 --threads 1 --quiet "$@"; }
train3() { "$MPIRUN" -np 3 --oversubscribe "$BIVAE" train --epochs 2 --k 2 --encoder 3 --threads 1 --quiet "$@"; }
works() {  # file: trains on 1 and 3 ranks
    train --train "$1" >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err"; fail "1 rank on $1"; }
    train3 --train "$1" >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err"; fail "3 ranks on $1"; }
}
printf '7\t1\t5\n7\t2\t3\n7\t3\t4\n7\t9\t1\n' >"$TMP/one_user.tsv"
works "$TMP/one_user.tsv"
printf '1\t5\t5\n2\t5\t3\n3\t5\t4\n4\t5\t1\n' >"$TMP/one_item.tsv"
works "$TMP/one_item.tsv"
printf '1\t1\t5\n' >"$TMP/one_rating.tsv"
works "$TMP/one_rating.tsv"
printf '\xef\xbb\xbfuser,item,rating\r\n1,2,5\r\n2,3,4\r\n3,1,1\r\n' >"$TMP/bom_crlf.csv"
works "$TMP/bom_crlf.csv"
# one user in a --data split: the hash split may leave it training rows only; still trains
train --data "$TMP/one_user.tsv" >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err"; fail "--data one user"; }

printf 'userId,movieId,rating,timestamp\n' >"$TMP/ratings.csv"
expect_exit 2 "ratings.csv" train --data "$TMP/ratings.csv"
expect_exit 2 "ratings.csv" train3 --data "$TMP/ratings.csv"
expect_exit 2 "no training ratings|no ratings" train --train "$TMP/one_user.tsv" --min-rating 6
printf '1\t2\t5\n1\t9\0019\t5\n' >"$TMP/ctl_id.tsv"
expect_exit 2 "ctl_id.tsv:2: item id '9.x019' contains a control character" train --train "$TMP/ctl_id.tsv"
expect_exit 2 "ctl_id.tsv:2:" train3 --train "$TMP/ctl_id.tsv"
{ printf '1\t2\t5\n2\t'; head -c 3000000 /dev/zero | tr '\0' '7'; printf '\t5\n'; } >"$TMP/long.tsv"
expect_exit 2 "long.tsv:2:" train --train "$TMP/long.tsv"
echo "limits: OK"
