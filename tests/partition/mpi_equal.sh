#!/bin/bash
# tests/partition/mpi_equal.sh DUMP — Invariant 1 for the data: what the ranks hold
# together (maps, training ones, test rows, statistics) is identical for np 1, 2, 3, 4,
# for synthetic data and for files in every format, split by hash or given as two files.
DUMP=$1
. "$(dirname "$0")/mpi_common.sh"

same_for_all_np synth-ml100k "2 3 4" --synthetic ml-100k
same_for_all_np synth-custom "2 3 4" --synthetic 500x300x12000 --no-permute --min-rating 3 \
    --test-ratio 0.3 --seed 7

# One ratings file, in several formats and line-end conventions: the same data.
run 1 --write-synthetic 2000x800x60000 "$T/gen.tsv" --seed 3 > /dev/null || fail "gen"
awk -F'\t' '{ printf "%s::%s::%s::%s\n", $1, $2, $3, $4 }' "$T/gen.tsv" > "$T/ratings.dat"
{ echo "userId,movieId,rating,timestamp"; tr '\t' ',' < "$T/gen.tsv"; } > "$T/ratings.csv"
{ printf '\xEF\xBB\xBFuser\titem\trating\tt\r\n'; sed 's/$/\r/' "$T/gen.tsv"; } > "$T/crlf.tsv"
same_for_all_np file-tsv "2 3 4" --data "$T/gen.tsv" --seed 3
same_for_all_np file-ml1m "3" --data "$T/ratings.dat" --seed 3
same_for_all_np file-ml20m "4" --data "$T/ratings.csv" --seed 3
same_for_all_np file-crlf-bom "2" --data "$T/crlf.tsv" --seed 3
for f in file-ml1m file-ml20m file-crlf-bom; do
    cmp -s "$T/file-tsv.np1" "$T/$f.np1" || fail "$f reads differently from the tsv file"
done

# String ids, compressed files, other separators and named columns: the same for any np.
awk -F'\t' '{ printf "A%s@x.org,B%07d,%s\n", $1 * 7919 % 2001, $2, $3 }' "$T/gen.tsv" > "$T/str.csv"
same_for_all_np file-strings "2 3 4" --data "$T/str.csv" --seed 3
gzip -c "$T/gen.tsv" > "$T/gen.tsv.gz"
same_for_all_np file-gz "2 3" --data "$T/gen.tsv.gz" --seed 3
cmp -s "$T/file-tsv.np1" "$T/file-gz.np1" || fail "the .gz file reads differently from the tsv file"
if command -v zstd >/dev/null; then
    zstd -q -c "$T/gen.tsv" > "$T/gen.tsv.zst"
    same_for_all_np file-zst "3" --data "$T/gen.tsv.zst" --seed 3
    cmp -s "$T/file-tsv.np1" "$T/file-zst.np1" || fail "the .zst file reads differently"
fi
{ echo "time;rating;item;user"; awk -F'\t' '{ print $4 ";" $3 ";" $2 ";" $1 }' "$T/gen.tsv"; } \
    > "$T/cols.txt"
same_for_all_np file-columns "2 4" --data "$T/cols.txt" --seed 3 --sep ';' \
    --columns user=user,item=item,rating=rating
cmp -s "$T/file-tsv.np1" "$T/file-columns.np1" || fail "--sep/--columns read differently"
awk -F'\t' '{ print $1 "   " $2 " " $3 }' "$T/gen.tsv" > "$T/spaces.txt"
same_for_all_np file-spaces "3" --data "$T/spaces.txt" --seed 3 --sep space
cmp -s "$T/file-tsv.np1" "$T/file-spaces.np1" || fail "--sep space reads differently"

# An explicit split: test rows of users/items unknown to training, a header, duplicates.
awk 'NR % 4 != 0' "$T/gen.tsv" > "$T/train.tsv"
{ echo "user,item,rating"; awk -F'\t' 'NR % 4 == 0 { print $1 "," $2 "," $3 }' "$T/gen.tsv";
  echo "999999,1,5"; echo "1,999999,5"; echo "1,999999,4"; } > "$T/test.csv"
same_for_all_np train-test "2 3 4" --train "$T/train.tsv" --test "$T/test.csv" --min-rating 2

exit $FAILED
