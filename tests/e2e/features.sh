#!/usr/bin/env bash
# Feature files through the binary: `train` reads --user-features / --item-features, the
# data: line reports each side's rows, zero rows and ignored ids, the same on 1 and 2
# ranks; the model is unchanged by them (no CAP yet: the same metrics as without); a bad
# feature file is one line FILE:LINE and exit 2; --missing-features error is exit 2;
# --cap-priors trains on them (tests/e2e/cap.sh tests the CAP model itself).
source "$(dirname "$0")/lib.sh"
"$BIVAE" gen --synthetic 300x200x8000 --out "$TMP/r.tsv" --seed 4 >/dev/null 2>&1 || fail "gen"
awk 'BEGIN { split("administrator artist doctor educator engineer entertainment executive healthcare homemaker lawyer librarian marketing none other programmer retired salesman scientist student technician writer", occ, " ");
             for (u = 1; u <= 302; u++) if (u % 50) printf "%d|%d|%s|%s|%05d\n", u, 10 + u % 60, (u % 2 ? "M" : "F"), occ[u % 21 + 1], u }' > "$TMP/u.user"
{ echo "id,a,b"; awk 'BEGIN { for (i = 1; i <= 200; i++) printf "%d,%.2f,%d\n", i, i / 10.0, i % 3 }'; } > "$TMP/items.csv"
args=(train --data "$TMP/r.tsv" --epochs 2 --k 4 --encoder 8 --threads 1 --seed 4 --device cpu)
feats=(--user-features "$TMP/u.user" --item-features "$TMP/items.csv")

want="user features: $TMP/u.user \(ml-100k-user\): 30 features, 294 rows, 6 users without a row \(zero rows\), 2 ids not in training \(2 rows\) ignored; item features: $TMP/items.csv \(dense, header 'id,a,b' skipped\): 2 features, 200 rows, 0 items"
expect_exit 0 "$want" "$BIVAE" "${args[@]}" "${feats[@]}" --metrics-out "$TMP/f.jsonl"
expect_exit 0 "$want" "$MPIRUN" -np 2 --oversubscribe "$BIVAE" "${args[@]}" "${feats[@]}"
expect_exit 0 "data: " "$BIVAE" "${args[@]}" --metrics-out "$TMP/plain.jsonl"
python3 - "$TMP/f.jsonl" "$TMP/plain.jsonl" <<'PY' || fail "features changed the model (no CAP: they must not)"
import json, sys
final = [next(json.loads(l) for l in open(p) if '"final"' in l) for p in sys.argv[1:]]
keys = [k for k in final[0] if k.startswith(("map", "ndcg", "recall", "precision"))]
assert keys and all(final[0][k] == final[1][k] for k in keys), (final, keys)
PY

awk 'NR == 120 { $0 = "120|forty|M|artist|1" } { print }' "$TMP/u.user" > "$TMP/bad.user"
mv "$TMP/bad.user" "$TMP/u.user.bad"
expect_exit 2 "^bivae-dist: error: $TMP/u.user.bad:120: age 'forty' is not a whole number" \
    "$BIVAE" "${args[@]}" --user-features "$TMP/u.user.bad" --features-format ml-100k-user
[[ $(grep -c 'error:' "$TMP/err") -eq 1 ]] || { cat "$TMP/err"; fail "more than one error line"; }
expect_exit 2 "error: $TMP/u.user: no feature row for user '50' \(6 users" \
    "$BIVAE" "${args[@]}" "${feats[@]}" --missing-features error
expect_exit 0 "data: " "$BIVAE" "${args[@]}" "${feats[@]}" --cap-priors both
echo "features: OK"
