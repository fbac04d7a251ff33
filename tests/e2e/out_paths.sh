#!/usr/bin/env bash
# The output paths a user names (issue 12.5 and 12.8): export --out DIR, recommend --out FILE
# and gen --out FILE make their folders as `mkdir -p` does; a path that cannot be written is
# one line naming --out and the user's path (never an internal temporary) with exit 2, and
# leaves nothing behind; gen says what it wrote; a file of the user's beside the output
# (even one named like our temporary) is never touched. (Full disks and read-only file
# systems: out_full.sh.)
source "$(dirname "$0")/lib.sh"
cd "$TMP"
tiny=(--synthetic 60x50x1300 --epochs 1 --k 2 --encoder 4 --threads 1 --quiet)
"$BIVAE" train "${tiny[@]}" --checkpoint-dir ck >/dev/null 2>&1 || fail "training the checkpoint"
CK=$(ls ck/ckpt-*-000001.bvck)
no_leftovers() {   # no_leftovers GLOB...: nothing matches (no output, no temporary)
    local left
    left=$(ls -d "$@" 2>/dev/null || true)
    [[ -z $left ]] || fail "left behind: $left"
}

# mkdir -p, and what gen wrote
expect_exit 0 "^bivae-dist: wrote 1,300 ratings \(60 users x 50 items, synthetic 60x50x1300, seed 7\) to g/a/b/r.tsv$" \
    "$BIVAE" gen --synthetic 60x50x1300 --seed 7 --out g/a/b/r.tsv
[[ $(wc -l <g/a/b/r.tsv) -eq 1300 ]] || fail "gen wrote $(wc -l <g/a/b/r.tsv) lines, want 1300"
expect_exit 0 "wrote 100,000 ratings \(943 users x 1,682 items, synthetic ml-100k, seed 42\) to ml.tsv" \
    "$BIVAE" gen --synthetic ml-100k --out ml.tsv
expect_exit 0 "exported $CK to e/x/y" "$BIVAE" export --model "$CK" --out e/x/y
[[ $(ls e/x/y | wc -l) -eq 6 ]] || fail "export --out e/x/y: $(ls e/x/y)"
"$BIVAE" recommend --model "$CK" --user 1 --out r/s/t.tsv || fail "recommend --out r/s/t.tsv"
[[ $(head -n 1 r/s/t.tsv) == $'user\trank\titem\tscore' ]] || fail "recommend --out: $(head -n 2 r/s/t.tsv)"

# unwritable: a file where a folder must be, a folder or a device where the file must be
: >plain
expect_exit 2 "^bivae-dist: error: --out plain/x.tsv: plain: not a directory$" \
    "$BIVAE" gen --synthetic 60x50x1300 --out plain/x.tsv
expect_exit 2 "^bivae-dist: error: --out plain/sub/x.tsv: plain: not a directory$" \
    "$BIVAE" recommend --model "$CK" --user 1 --out plain/sub/x.tsv
expect_exit 2 "^bivae-dist: error: --out plain: not a directory$" "$BIVAE" export --model "$CK" --out plain
expect_exit 2 "^bivae-dist: error: --out plain/e: plain: not a directory$" \
    "$BIVAE" export --model "$CK" --out plain/e
expect_exit 2 "^bivae-dist: error: --out e: is a directory \(give a file name\)$" \
    "$BIVAE" gen --synthetic 60x50x1300 --out e
expect_exit 2 "^bivae-dist: error: --out e: is a directory" "$BIVAE" recommend --model "$CK" --user 1 --out e
expect_exit 2 "^bivae-dist: error: --out new/: not a file name$" "$BIVAE" gen --synthetic 60x50x1300 --out new/
expect_exit 2 "^bivae-dist: error: --out /dev/null: not a regular file" \
    "$BIVAE" recommend --model "$CK" --user 1 --out /dev/null
[[ -c /dev/null ]] || fail "/dev/null is no longer a device"
long=$(printf 'x%.0s' {1..300})
expect_exit 2 "^bivae-dist: error: --out $long.tsv: cannot create: File name too long$" \
    "$BIVAE" gen --synthetic 60x50x1300 --out "$long.tsv"
# the inputs of recommend are never its output; on 2 ranks: one line, exit 2
printf '1\n2\n' >users.txt
cp "$CK" model_copy.bvck
expect_exit 2 "^bivae-dist: error: --out users.txt: is the --users file" \
    "$BIVAE" recommend --model "$CK" --users users.txt --out users.txt
[[ $(cat users.txt) == $'1\n2' ]] || fail "the --users file changed"
expect_exit 2 "^bivae-dist: error: --out $CK: is the --model file" \
    "$MPIRUN" -np 2 --oversubscribe "$BIVAE" recommend --model "$CK" --user 1 --out "$CK"
[[ $(grep -c "error:" "$TMP/err") -eq 1 ]] || fail "recommend on 2 ranks: not exactly one error line"
cmp "$CK" model_copy.bvck || fail "the --model file changed"
# --model naming the checkpoint folder: exit 2, one line (not a read error, exit 3)
for cmd in "eval --model ck" "export --model ck --out never"; do
    # shellcheck disable=SC2086
    expect_exit 2 "^bivae-dist: error: ck: is a directory: give a checkpoint file \(its newest: $CK\)$" \
        "$BIVAE" $cmd
done
no_leftovers never
# a failure after the output was opened leaves nothing under --out, and no temporary
expect_exit 2 "^bivae-dist: error: ck: is a directory" "$BIVAE" recommend --model ck --user 1 --out fail/recs.tsv
no_leftovers fail/recs.tsv*
expect_exit 2 "--user 999999: not a user of the checkpoint" \
    "$BIVAE" recommend --model "$CK" --user 999999 --out fail/recs.tsv
no_leftovers fail/recs.tsv*
no_leftovers plain/* e.tmp* new plain.tmp*
# a file of the user's named like a temporary stays as it was
echo "mine" >recs.tsv.tmp
"$BIVAE" recommend --model "$CK" --user 1 --out recs.tsv || fail "recommend --out recs.tsv"
[[ $(cat recs.tsv.tmp) == mine ]] || fail "recs.tsv.tmp (the user's file) was overwritten"
no_leftovers recs.tsv.tmp.* g/a/b/r.tsv.tmp* e/x/y/*.tmp*
echo "out_paths: OK"
