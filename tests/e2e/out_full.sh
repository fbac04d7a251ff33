#!/usr/bin/env bash
# Output paths on a full disk and on a read-only file system (issue 12.8): a path that
# cannot be created is exit 2 naming --out and the path; a write that fails in the middle
# (disk full) is exit 3; either way nothing is left under --out, not even a temporary, and
# export leaves none of its six files. The file systems are small tmpfs mounts in a private
# user and mount namespace (unshare -rm): SKIP (77) where this machine allows none.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
unshare -rm bash -c 'mkdir -p probe && mount -t tmpfs -o size=16k tmpfs probe' 2>/dev/null \
    || { echo "SKIP: cannot mount a tmpfs in a private namespace (unshare -rm)"; exit 77; }
tiny=(--synthetic 60x50x1300 --epochs 1 --k 2 --encoder 4 --threads 1 --quiet)
"$BIVAE" train "${tiny[@]}" --checkpoint-dir ck >/dev/null 2>&1 || fail "training the checkpoint"
seq 1 60 >users.txt
mkdir -p full ro
# in_ns CMD...: CMD with a 16 KiB tmpfs on full/ and a read-only tmpfs on ro/
in_ns() {
    unshare -rm bash -c 'mount -t tmpfs -o size=16k tmpfs full && mount -t tmpfs -o ro,size=16k tmpfs ro &&
        "$@"; rc=$?; ls -AR full ro >listing; exit $rc' in_ns "$@"
}
empty_after() {
    [[ $(grep -cv -e '^full:$' -e '^ro:$' -e '^$' listing) -eq 0 ]] || fail "$1 left: $(cat listing)"
}
CK=$(ls ck/ckpt-*-000001.bvck)
expect_exit 3 "^bivae-dist: error: --out full/g.tsv: cannot write: No space left on device$" \
    in_ns "$BIVAE" gen --synthetic 100x200x5000 --out full/g.tsv
empty_after "gen, disk full"
expect_exit 3 "^bivae-dist: error: --out full/r.tsv: cannot write: No space left on device$" \
    in_ns "$BIVAE" recommend --model "$CK" --users users.txt --top-k 50 --out full/r.tsv
empty_after "recommend, disk full"
expect_exit 3 "^bivae-dist: error: --out full/e: full/e/[a-z_]+\.(npy|csv): cannot write: No space left on device$" \
    in_ns "$BIVAE" export --model "$CK" --out full/e
grep -q "^e$" listing || fail "export: its folder was not made"
[[ $(grep -cE '\.(npy|csv)' listing) -eq 0 ]] || fail "export, disk full: files left: $(cat listing)"
for cmd in "gen --synthetic 60x50x1300 --out ro/g.tsv" "recommend --model $CK --user 1 --out ro/r.tsv"; do
    # shellcheck disable=SC2086
    expect_exit 2 "^bivae-dist: error: --out ro/[gr].tsv: cannot create: Read-only file system$" \
        in_ns "$BIVAE" $cmd
    empty_after "$cmd, read-only"
done
expect_exit 2 "^bivae-dist: error: --out ro/e: Read-only file system$" \
    in_ns "$BIVAE" export --model "$CK" --out ro/e
expect_exit 2 "^bivae-dist: error: --out ro: ro/user_ids.csv: cannot create: Read-only file system$" \
    in_ns "$BIVAE" export --model "$CK" --out ro
echo "out_full: OK"
