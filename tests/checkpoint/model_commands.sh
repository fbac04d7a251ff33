#!/usr/bin/env bash
# Using a model (issue 5.5): eval --model CKPT reproduces the training run's final metrics
# (with the checkpoint's data options, from another directory, and on 3 ranks);
# recommend gives top-K unseen items with scores μ_θ·μ_β and raw ids; export writes .npy
# files readable by numpy (header checked by hand; numpy.load when numpy is installed) and
# the id maps as CSV.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
PY=python3                                  # one with numpy when there is one
for p in python3 /usr/bin/python3; do
    "$p" -c 'import numpy' 2>/dev/null && { PY=$p; break; }
done
NPY="$PY $BIVAE_SOURCE_DIR/tests/checkpoint/npy_check.py"
"$BIVAE" gen --synthetic 200x150x5000 --out ratings.tsv --seed 5 2>/dev/null
train 1 run.jsonl --epochs 4 --checkpoint-dir d
cp "$TMP/train.out" train_table.txt
CK=$TMP/$(ckpt d 000004)

# eval: the same table as the training run printed
expect_exit 0 "eval: synthetic 200x150x5000" "$BIVAE" eval --model "$CK"
diff train_table.txt "$TMP/out" || fail "eval --model differs from the training run's metrics"
expect_exit 0 "eval:" "$MPIRUN" -np 3 --oversubscribe "$BIVAE" eval --model "$CK"
diff train_table.txt "$TMP/out" || fail "eval on 3 ranks differs"
expect_exit 0 "eval:" "$BIVAE" eval --model "$CK" --synthetic 200x150x5000 --test-ratio 0.25
diff train_table.txt "$TMP/out" || fail "eval with the data flags differs"
expect_exit 0 "eval:" "$BIVAE" eval --model "$CK" --top-k 5
grep -q "^metric *@5" "$TMP/out" || fail "eval --top-k 5"

# options not given take the checkpoint's; given ones are used even at their default value
train 1 r3.jsonl --epochs 1 --checkpoint-dir r3 --test-ratio 0.3 --id-order sorted
R3=$(ckpt r3 000001)
expect_exit 0 "eval:" "$BIVAE" eval --model "$R3"
expect_exit 2 "data do not match the checkpoint" "$BIVAE" eval --model "$R3" \
    --test-ratio 0.25
expect_exit 2 "data do not match the checkpoint" "$BIVAE" eval --model "$R3" \
    --id-order permuted

# a file given by a relative path is found again from another directory
mkdir sub
(cd sub && "$BIVAE" train --data ../ratings.tsv --epochs 2 --k 4 --encoder 8 --threads 1 \
    --checkpoint-dir ../f --quiet >../f_table.txt 2>/dev/null) || fail "training on a file"
expect_exit 0 "eval: .*ratings.tsv" "$BIVAE" eval --model "$(ckpt f 000002)"
diff f_table.txt "$TMP/out" || fail "eval of a file-trained checkpoint differs"

# recommend: one user, several users, to a file; unseen items, scores, raw ids
expect_exit 0 "exported" "$BIVAE" export --model "$CK" --out exp
user=$(sed -n 2p exp/user_ids.csv | cut -d, -f2)          # global user 0
"$TOOL" seen "$CK" "$user" >seen.txt
[[ -s seen.txt ]] || fail "user $user has no training items"
"$BIVAE" recommend --model "$CK" --user "$user" --top-k 7 >recs.tsv || fail "recommend --user"
[[ $(wc -l <recs.tsv) -eq 8 ]] || fail "recommend --top-k 7: $(wc -l <recs.tsv) lines"
printf '# users\n%s\n\n999999\n%s\n' "$user" "$user" >users.txt
expect_exit 0 "1 of 3 users in users.txt are not in the checkpoint" \
    "$BIVAE" recommend --model "$CK" --users users.txt --top-k 7 --out recs_file.tsv
[[ $(wc -l <recs_file.tsv) -eq 15 ]] || fail "recommend --users: $(wc -l <recs_file.tsv) lines"
diff <(sed -n 1,8p recs_file.tsv) recs.tsv || fail "--users and --user disagree"
expect_exit 2 "--user 999999: not a user of the checkpoint" "$BIVAE" recommend --model "$CK" --user 999999
expect_exit 2 "--user x1: not a user of the checkpoint" "$BIVAE" recommend --model "$CK" --user x1
expect_exit 2 "--user: a user id with a control character" "$BIVAE" recommend --model "$CK" \
    --user "$(printf 'a\001b')"
printf '%s\na\001b\n' "$user" >bad_users.txt
expect_exit 2 "bad_users.txt:2: not a raw user id \('a\\\\x01b'\): a user id with a control character" \
    "$BIVAE" recommend --model "$CK" \
    --users bad_users.txt --out recs_bad.tsv
[[ -z $(ls -d recs_bad.tsv* 2>/dev/null) ]] || fail "a partial --out file or its temporary: $(ls -d recs_bad.tsv*)"

# export: .npy and CSV, consistent with recommend
U=200 I=150
$NPY exp $U $I 4 recs.tsv "$user" seen.txt || fail "export / recommend check"
$NPY exp $U $I 4 | grep -q "numpy.load OK" || echo "note: numpy not installed: numpy.load skipped"
: >a_file
expect_exit 2 "--out a_file: not a directory" "$BIVAE" export --model "$CK" --out a_file
echo "model commands: OK"
