#!/usr/bin/env bash
# The binary's contract with users and scripts: help, version, exit codes 0/2/3, one clear
# error line naming the flag or FILE:LINE, and no partial output files.
source "$(dirname "$0")/lib.sh"
"$BIVAE" --help | grep -q "train" || fail "--help lacks the train command"
"$BIVAE" train --help | grep -q -- "--batch-size" || fail "train --help lacks --batch-size"
"$BIVAE" --version | grep -Eq "^bivae-dist [0-9]" || fail "--version"
expect_exit 2 "--k" "$BIVAE" train --synthetic ml-100k --k zero
expect_exit 2 "--frobnicate" "$BIVAE" train --synthetic ml-100k --frobnicate 1
expect_exit 2 "no training data" "$BIVAE" train
expect_exit 2 "--synthetic" "$BIVAE" train --synthetic 10x10
expect_exit 3 "no CUDA device" "$BIVAE" train --synthetic ml-100k --device cuda
# bad input files: one line naming FILE:LINE, exit 2, also when 3 ranks read the file
printf '1\t2\t5\n1\t3\t4\n7\tx\t5\n' >"$TMP/bad.tsv"
expect_exit 2 "bad.tsv:3:" "$BIVAE" train --data "$TMP/bad.tsv" --epochs 1
expect_exit 2 "bad.tsv:3:" "$MPIRUN" -np 3 --oversubscribe "$BIVAE" train --data "$TMP/bad.tsv" --epochs 1
[[ $(grep -c "bad.tsv:3:" "$TMP/err") -eq 1 ]] || fail "the error line is not printed exactly once"
: >"$TMP/empty.csv"
expect_exit 2 "empty.csv" "$BIVAE" train --data "$TMP/empty.csv" --epochs 1
expect_exit 2 "cannot open" "$BIVAE" train --data "$TMP/missing.tsv" --epochs 1
# --metrics-out: its folder is made as mkdir -p does; a path that cannot be used is the
# user's (exit 2), named on one line
"$BIVAE" train --synthetic 40x60x1000 --epochs 1 --quiet --metrics-out "$TMP/new/dir/m.jsonl" >/dev/null \
    && [[ -s $TMP/new/dir/m.jsonl ]] || fail "--metrics-out in a folder to make"
: >"$TMP/plain"
expect_exit 2 "^bivae-dist: error: --metrics-out $TMP/plain/m.jsonl: cannot create its folder: $TMP/plain: not a directory$" \
    "$BIVAE" train --synthetic ml-100k --epochs 1 --metrics-out "$TMP/plain/m.jsonl"
rm -r "$TMP/new" "$TMP/plain"
# gen writes a complete file readable back by train
"$BIVAE" gen --synthetic 40x60x1000 --out "$TMP/g.tsv" --seed 3
[[ $(wc -l <"$TMP/g.tsv") -eq 1000 ]] || fail "gen wrote $(wc -l <"$TMP/g.tsv") lines, want 1000"
"$BIVAE" train --data "$TMP/g.tsv" --epochs 1 --k 2 --encoder 4 --quiet >/dev/null || fail "train on gen output"
ls "$TMP" | grep -v -E '^(bad.tsv|empty.csv|g.tsv|out|err)$' && fail "stray files left in the output directory"
echo "cli: OK"
