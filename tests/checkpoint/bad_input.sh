#!/usr/bin/env bash
# Bad input (issue 5.6): a truncated file, a flipped byte (crc32), a foreign file, an empty
# file, a newer format version, a damaged newest checkpoint on --resume, and a model /
# data / epochs mismatch on resume each give ONE clear line and exit 2 — never a crash —
# from eval, recommend, export and train --resume alike, also on 3 ranks.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
train 1 ok.jsonl --epochs 2 --checkpoint-dir good
CK=$(ckpt good 000002)
size=$(stat -c %s "$CK")

# bad CKPT: every command that reads one says what is wrong, once (np3: also on 3 ranks)
bad() {   # bad PATTERN FILE [np3]
    local pattern=$1 file=$2
    expect_exit 2 "$file: .*$pattern" "$BIVAE" eval --model "$file"
    one_error_line
    expect_exit 2 "$file: .*$pattern" "$BIVAE" recommend --model "$file" --user 1
    expect_exit 2 "$file: .*$pattern" "$BIVAE" export --model "$file" --out "exp_$RANDOM"
    [[ ${3:-} == np3 ]] || return 0
    expect_exit 2 "$file: .*$pattern" "$MPIRUN" -np 3 --oversubscribe "$BIVAE" eval --model "$file"
    one_error_line
}
head -c $((size / 2)) "$CK" >half.bvck
bad "truncated" half.bvck np3
head -c $((size - 1)) "$CK" >short.bvck
bad "truncated" short.bvck
cp "$CK" flip.bvck
printf '\x5a' | dd of=flip.bvck bs=1 seek=$((size / 2)) conv=notrunc status=none
cmp -s "$CK" flip.bvck && fail "the byte flip changed nothing"
bad "crc32 mismatch" flip.bvck
cp "$CK" flip_head.bvck
printf '\x5a' | dd of=flip_head.bvck bs=1 seek=40 conv=notrunc status=none
bad "corrupt" flip_head.bvck
printf 'user\titem\trating\n1\t2\t5\n' >foreign.bvck
bad "not a bivae-dist checkpoint" foreign.bvck
: >empty.bvck
bad "not a bivae-dist checkpoint" empty.bvck
"$TOOL" set-version "$CK" v3.bvck 3
bad "format version 3 is newer" v3.bvck np3
"$TOOL" set-version "$CK" v2.bvck 2                 # the tool itself changes nothing else
"$BIVAE" export --model v2.bvck --out v2 >/dev/null 2>&1 || fail "a re-versioned v2 file does not load"
# format version 1 (int64 raw ids, before string ids) is still read: the same export, and
# the same evaluation, from a v1 copy of the checkpoint
"$TOOL" to-v1 "$CK" v1.bvck
"$BIVAE" export --model v1.bvck --out v1 >/dev/null 2>&1 || fail "a version 1 file does not load"
for f in user_ids.csv item_ids.csv mu_theta.npy beta_tilde.npy; do
    cmp -s v1/$f v2/$f || fail "export of the version 1 file differs in $f"
done
"$BIVAE" eval --model v1.bvck >eval_v1.txt 2>/dev/null || fail "eval of a version 1 file"
"$BIVAE" eval --model v2.bvck >eval_v2.txt 2>/dev/null || fail "eval of the version 2 file"
diff eval_v1.txt eval_v2.txt >/dev/null || fail "eval of the version 1 file differs"
expect_exit 2 "missing.bvck: cannot open" "$BIVAE" eval --model missing.bvck
ls | grep -q '^exp_' && fail "export left a directory behind for a bad checkpoint"

# resume: model, data and epochs must fit the checkpoint (one line, exit 2, on 3 ranks too)
cp -r good r
DATA=(--synthetic 200x150x5000)
MODEL=(--k 4 --encoder 8 --batch-size 16)
resume_bad() {   # resume_bad PATTERN [np3] train-args...: also on 3 ranks with np3
    local pattern=$1 np3=0; shift
    [[ $1 == np3 ]] && { np3=1; shift; }
    expect_exit 2 "$pattern" "$BIVAE" train --threads 1 --checkpoint-dir r --resume "$@"
    one_error_line
    [[ $np3 == 1 ]] || return 0
    expect_exit 2 "$pattern" "$MPIRUN" -np 3 --oversubscribe "$BIVAE" train --threads 1 \
        --checkpoint-dir r --resume "$@"
    one_error_line
}
resume_bad "--k 5 does not match the checkpoint's k 4" np3 --epochs 4 "${DATA[@]}" --k 5 \
    --encoder 8 --batch-size 16
resume_bad "--encoder 8,8 does not match the checkpoint's encoder 8" --epochs 4 "${DATA[@]}" \
    --k 4 --encoder 8,8 --batch-size 16
resume_bad "--act relu does not match" --epochs 4 "${DATA[@]}" "${MODEL[@]}" --act relu
resume_bad "--likelihood bern does not match" --epochs 4 "${DATA[@]}" "${MODEL[@]}" --likelihood bern
resume_bad "--beta-kl 0.5 does not match" --epochs 4 "${DATA[@]}" "${MODEL[@]}" --beta-kl 0.5
resume_bad "--batch-size 32 does not match" --epochs 4 "${DATA[@]}" --k 4 --encoder 8 --batch-size 32
resume_bad "--seed 7 does not match" --epochs 4 "${DATA[@]}" "${MODEL[@]}" --seed 7
resume_bad "data do not match the checkpoint $(ckpt r 000002): 201 users" np3 --epochs 4 \
    --synthetic 201x150x5000 "${MODEL[@]}"
resume_bad "data do not match the checkpoint $(ckpt r 000002): 3569 training ratings" \
    --epochs 4 "${DATA[@]}" "${MODEL[@]}" --test-ratio 0.3
# same users, items and counts: other pairs (the hash), or other raw ids (the id maps)
printf '1\t10\n1\t11\n2\t10\n2\t12\n3\t11\n3\t12\n' >a.tsv
printf '1\t10\n1\t12\n2\t10\n2\t11\n3\t11\n3\t12\n' >b.tsv
printf '1\t10\n1\t11\n2\t10\n2\t12\n4\t11\n4\t12\n' >c.tsv
TINY=(--k 2 --encoder 3 --batch-size 2 --threads 1 --quiet)
"$BIVAE" train --train a.tsv "${TINY[@]}" --epochs 1 --checkpoint-dir tiny >/dev/null 2>&1 \
    || fail "training on a.tsv"
expect_exit 2 "data do not match the checkpoint $(ckpt tiny 000001): the training ratings differ" \
    "$BIVAE" train --train b.tsv "${TINY[@]}" --epochs 2 --checkpoint-dir tiny --resume
expect_exit 2 "data do not match the checkpoint $(ckpt tiny 000001): user id [0-9] is raw id '3' in the checkpoint but '4' in the data" \
    "$BIVAE" train --train c.tsv "${TINY[@]}" --epochs 2 --checkpoint-dir tiny --resume
one_error_line
BIVAE_TEST_SIGNAL_AT=3:3:0 train 1 stop.jsonl --epochs 4 --checkpoint-dir r --resume
inside=$(ckpt r 000002-000003)
resume_bad "--epochs 2: the checkpoint $inside is inside epoch 3" --epochs 2 \
    "${DATA[@]}" "${MODEL[@]}"
# the newest checkpoint damaged: an error naming it, not a silent fall-back to an older one
printf '\x5a' | dd of="$inside" bs=1 seek=$((size / 2)) conv=notrunc status=none
resume_bad "$inside: corrupt" np3 --epochs 4 "${DATA[@]}" "${MODEL[@]}"
# eval on other data than the checkpoint's
expect_exit 2 "data do not match the checkpoint $CK: 200 users x 151 items" \
    "$BIVAE" eval --model "$CK" --synthetic 200x151x5000
one_error_line
# the checkpoint directory is a file
: >not_a_dir
expect_exit 2 "--checkpoint-dir not_a_dir: not a directory" "$BIVAE" train "${SMALL[@]}" \
    --epochs 1 --checkpoint-dir not_a_dir
echo "bad input: OK"
