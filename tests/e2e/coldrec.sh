#!/usr/bin/env bash
# recommend --history FILE (fold-in through the user encoder, src/app_history.c):
#   a) a training user's own training items, under its own id or a new one, give exactly
#      the lines `recommend --user` gives (fold-in = the encoder's mean, same exclusions);
#   b) the scores of a folded-in user are μ_θ·μ_β with μ_θ the exported mu_theta row of the
#      user whose items it was given (python on export's .npy files), ranked by them;
#   c) items unknown to the checkpoint are counted and ignored (a note), users without a
#      known item skipped (a note); a history with items in another order or duplicated
#      gives the same output;
#   d) bad input is one line and exit 2: empty history, only unknown items, a malformed
#      line (file:line), an unknown --format, --history with --user;
#   e) recommend --user-features FILE (θ = μ_prior of the row, CAP user prior): a user
#      given its training feature row is ranked by the exported mu_theta_prior row times
#      mu_beta over all items (python on export's .npy files); a non-CAP checkpoint, a
#      file of the wrong width, a second row of one id, a sparse file: one line, exit 2;
#   f) --new-items FILE (β = μ_prior, CAP item prior): a new item given a training item's
#      feature row scores μ_θ·(that item's exported mu_beta_prior row) and is ranked among
#      the checkpoint's items; an id of the checkpoint, a checkpoint without an item prior:
#      exit 2.
source "$(dirname "$0")/lib.sh"
"$BIVAE" gen --synthetic 150x90x3000 --out "$TMP/r.tsv" --seed 3 >/dev/null 2>&1 || fail "gen"
"$BIVAE" train --quiet --threads 1 --train "$TMP/r.tsv" --epochs 3 --k 3 --encoder 6 \
    --batch-size 16 --seed 3 --checkpoint-dir "$TMP/ck" >/dev/null 2>&1 || fail "train"
CK=$(ls "$TMP"/ck/*.bvck) || fail "no checkpoint"
rec() { "$BIVAE" recommend --model "$CK" --top-k 100 "$@"; }   # all items: exclusions show

# a) user 7's training rows: as user 7 and as a new user "new7"
awk -F'\t' '$1 == 7' "$TMP/r.tsv" > "$TMP/h7.tsv"
rec --user 7 > "$TMP/want7" 2>/dev/null || fail "recommend --user 7"
rec --history "$TMP/h7.tsv" > "$TMP/got7" 2>"$TMP/err" || fail "recommend --history"
cmp -s "$TMP/want7" "$TMP/got7" || fail "fold-in of user 7's own row differs from --user 7"
awk -F'\t' -v OFS='\t' '$1 == 7 { $1 = "new7"; print }' "$TMP/r.tsv" | sort -r > "$TMP/hn.tsv"
tail -n 1 "$TMP/hn.tsv" >> "$TMP/hn.tsv"     # a duplicate line
rec --history "$TMP/hn.tsv" > "$TMP/gotn" 2>/dev/null || fail "recommend --history (new user)"
sed 's/^7\t/new7\t/' "$TMP/want7" | cmp -s - "$TMP/gotn" || fail "new user with user 7's items differs"

# b) scores = μ_θ[7]·μ_β from export's files, every item not in the history, ranked
"$BIVAE" export --model "$CK" --out "$TMP/ex" >/dev/null 2>&1 || fail "export"
check_scores() {   # check_scores EXPORT_DIR THETA_NPY USER SEEN_FILE|- GOT
python3 - "$@" <<'PY'
import ast, struct, sys
def load(path):   # a [rows x K] '<f4' C-order .npy, without numpy
    b = open(path, "rb").read()
    n = struct.unpack("<H", b[8:10])[0]
    h = ast.literal_eval(b[10:10 + n].decode())
    assert h["descr"] == "<f4" and not h["fortran_order"], h
    rows, K = h["shape"]
    v = struct.unpack(f"<{rows * K}f", b[10 + n:10 + n + 4 * rows * K])
    return [list(v[r * K:(r + 1) * K]) for r in range(rows)]
ex, theta_npy, user, hist, got = sys.argv[1:]
ids = lambda f: [l.split(",", 1)[1].strip() for l in open(f"{ex}/{f}").readlines()[1:]]
users, items = ids("user_ids.csv"), ids("item_ids.csv")
theta = load(f"{ex}/{theta_npy}")[users.index(user)]
s = [sum(a * b for a, b in zip(beta, theta)) for beta in load(f"{ex}/mu_beta.npy")]
seen = {items.index(l.split("\t")[1]) for l in open(hist)} if hist != "-" else set()
order = [j for j in sorted(range(len(s)), key=lambda j: -s[j]) if j not in seen][:100]
rows = [l.rstrip("\n").split("\t") for l in open(got).readlines()[1:]]
rows = [r for r in rows if r[0] == user]
assert [r[2] for r in rows] == [items[j] for j in order], (rows, order)
for r, j in zip(rows, order):
    assert abs(float(r[3]) - s[j]) <= 1e-5 + 1e-5 * abs(s[j]), (r, s[j])
PY
}
check_scores "$TMP/ex" mu_theta.npy 7 "$TMP/hn.tsv" <(sed 's/^new7\t/7\t/' "$TMP/gotn") \
    || fail "fold-in scores are not mu_theta.mu_beta"

# c) unknown items and users without a known item
{ cat "$TMP/hn.tsv"; printf 'new7\t9999\t3\t0\nghost\t8888\t1\t0\n'; } > "$TMP/hu.tsv"
rec --history "$TMP/hu.tsv" > "$TMP/gotu" 2>"$TMP/err" || fail "recommend --history (unknown)"
cmp -s "$TMP/gotn" "$TMP/gotu" || fail "unknown items changed the recommendations"
grep -q "note: 2 of $(wc -l < "$TMP/hu.tsv") ratings in .*hu.tsv name 2 items not in the checkpoint: ignored" \
    "$TMP/err" || { cat "$TMP/err" >&2; fail "no note of the unknown items"; }
grep -q "note: 1 of 2 users in .*hu.tsv have no item of the checkpoint: skipped" "$TMP/err" \
    || { cat "$TMP/err" >&2; fail "no note of the skipped user"; }

# d) bad input: one line, exit 2
one_line() { [[ $(wc -l < "$TMP/err") -eq 1 ]] || { cat "$TMP/err" >&2; fail "not one line: $*"; }; }
: > "$TMP/empty.tsv"
expect_exit 2 "error: --history .*empty.tsv: no ratings" rec --history "$TMP/empty.tsv"; one_line empty
printf 'u1\t9999\t3\t0\n' > "$TMP/unk.tsv"
expect_exit 2 "error: --history .*unk.tsv: none of its 1 users has an item of the checkpoint" \
    rec --history "$TMP/unk.tsv"; one_line unknown
printf '1\t5\t3\t0\n2\n' > "$TMP/bad.tsv"
expect_exit 2 "error: --history .*bad.tsv:2: " rec --history "$TMP/bad.tsv"; one_line malformed
expect_exit 2 "error: --format: 'nope' is not one of" rec --history "$TMP/h7.tsv" --format nope
expect_exit 2 "error: --history: give one of --user" rec --history "$TMP/h7.tsv" --user 7

# e) cold-start users from their features (a CAP checkpoint with a user prior)
awk 'BEGIN { for (u = 1; u <= 160; u++) if (u % 7) printf "%d,%.3f,%.3f,%d\n", u, sin(u), cos(3 * u), u % 4 }' \
    > "$TMP/users.csv"
"$BIVAE" train --quiet --threads 1 --train "$TMP/r.tsv" --user-features "$TMP/users.csv" \
    --cap-priors user --epochs 3 --k 3 --encoder 6 --batch-size 16 --seed 3 \
    --checkpoint-dir "$TMP/ckc" >/dev/null 2>&1 || fail "train CAP"
CKC=$(ls "$TMP"/ckc/*.bvck) || fail "no CAP checkpoint"
"$BIVAE" export --model "$CKC" --out "$TMP/exc" >/dev/null 2>&1 || fail "export CAP"
{ grep '^9,' "$TMP/users.csv"; echo "newbie,0.5,-0.5,1"; } > "$TMP/cold.csv"
"$BIVAE" recommend --model "$CKC" --top-k 100 --user-features "$TMP/cold.csv" > "$TMP/gotc" \
    2>"$TMP/err" || { cat "$TMP/err" >&2; fail "recommend --user-features"; }
check_scores "$TMP/exc" mu_theta_prior.npy 9 - "$TMP/gotc" \
    || fail "cold-start scores are not mu_theta_prior.mu_beta"
[[ $(grep -c '^newbie' "$TMP/gotc") -eq $(( $(wc -l < "$TMP/exc/item_ids.csv") - 1 )) ]] \
    || fail "the new user does not get every item"
expect_exit 2 "error: --user-features: the checkpoint .* has no user prior" \
    rec --user-features "$TMP/cold.csv"; one_line non-CAP
printf '2,0.9,0.2\n' > "$TMP/narrow.csv"
expect_exit 2 "error: --user-features .*narrow.csv: 2 features per row, the user prior of .* reads 3" \
    "$BIVAE" recommend --model "$CKC" --user-features "$TMP/narrow.csv"; one_line width
printf '2,0.9,0.2,1\n2,0.9,0.2,1\n' > "$TMP/dup.csv"
expect_exit 2 "error: --user-features .*dup.csv:2: a second row" \
    "$BIVAE" recommend --model "$CKC" --user-features "$TMP/dup.csv"; one_line duplicate
printf '2 a b:0.5\n' > "$TMP/sp.txt"
expect_exit 2 "error: --user-features .*sp.txt: sparse features are numbered by their names" \
    "$BIVAE" recommend --model "$CKC" --user-features "$TMP/sp.txt" --features-format sparse
one_line sparse
expect_exit 2 "error: --features-format: 'nope' is not one of" \
    "$BIVAE" recommend --model "$CKC" --user-features "$TMP/cold.csv" --features-format nope

# f) new items from their features (a checkpoint with an item prior)
awk 'BEGIN { for (i = 1; i <= 95; i++) printf "%d,%.3f,%.3f\n", i, sin(2 * i), cos(i) }' > "$TMP/items.csv"
"$BIVAE" train --quiet --threads 1 --train "$TMP/r.tsv" --user-features "$TMP/users.csv" \
    --item-features "$TMP/items.csv" --cap-priors both --epochs 3 --k 3 --encoder 6 \
    --batch-size 16 --seed 3 --checkpoint-dir "$TMP/ckb" >/dev/null 2>&1 || fail "train CAP both"
CKB=$(ls "$TMP"/ckb/*.bvck) || fail "no CAP-both checkpoint"
"$BIVAE" export --model "$CKB" --out "$TMP/exb" >/dev/null 2>&1 || fail "export CAP both"
{ grep '^5,' "$TMP/items.csv" | sed 's/^5,/fresh5,/'; echo "fresh,0.1,0.2"; } > "$TMP/new.csv"
"$BIVAE" recommend --model "$CKB" --user 9 --new-items "$TMP/new.csv" --top-k 100 \
    > "$TMP/gotb" 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "recommend --new-items"; }
grep -q "note: 2 new items from .*new.csv join the .* items of the checkpoint" "$TMP/err" \
    || { cat "$TMP/err" >&2; fail "no note of the new items"; }
grep -q $'^9\t[0-9]*\tfresh\t' "$TMP/gotb" || fail "the new item 'fresh' is not ranked"
python3 - "$TMP/exb" "$TMP/gotb" <<'PY' || fail "a new item's score is not mu_theta.mu_beta_prior"
import ast, struct, sys
def load(path):
    b = open(path, "rb").read()
    n = struct.unpack("<H", b[8:10])[0]
    h = ast.literal_eval(b[10:10 + n].decode())
    rows, K = h["shape"]
    v = struct.unpack(f"<{rows * K}f", b[10 + n:10 + n + 4 * rows * K])
    return [list(v[r * K:(r + 1) * K]) for r in range(rows)]
ex, got = sys.argv[1:]
ids = lambda f: [l.split(",", 1)[1].strip() for l in open(f"{ex}/{f}").readlines()[1:]]
users, items = ids("user_ids.csv"), ids("item_ids.csv")
theta = load(f"{ex}/mu_theta.npy")[users.index("9")]
beta5 = load(f"{ex}/mu_beta_prior.npy")[items.index("5")]
want = sum(a * b for a, b in zip(theta, beta5))
rows = [l.rstrip("\n").split("\t") for l in open(got).readlines()[1:]]
score = {r[2]: float(r[3]) for r in rows}
assert abs(score["fresh5"] - want) <= 1e-5 + 1e-5 * abs(want), (score["fresh5"], want)
assert [float(r[3]) for r in rows] == sorted((float(r[3]) for r in rows), reverse=True)
PY
printf '5,0.1,0.2\n' > "$TMP/clash.csv"
expect_exit 2 "error: --new-items .*clash.csv: '5' is an item of the checkpoint" \
    "$BIVAE" recommend --model "$CKB" --user 9 --new-items "$TMP/clash.csv"; one_line clash
expect_exit 2 "error: --new-items: the checkpoint .* has no item prior" \
    "$BIVAE" recommend --model "$CKC" --user 9 --new-items "$TMP/new.csv"; one_line no-item-prior
echo "coldrec: OK"
