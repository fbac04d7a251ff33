#!/bin/bash
# tests/partition/mpi_features.sh DUMP — feature files over ranks: the rows every rank
# holds together (id, features) and the counts are identical for np 1, 2, 3, in every
# format, plain or compressed, and for the synthetic features; a bad feature file read by
# several ranks gives exactly one error line naming FILE:LINE (whichever rank holds it)
# and exit 2 on every rank.
DUMP=$1
. "$(dirname "$0")/mpi_common.sh"

run 1 --write-synthetic 1500x700x40000 "$T/gen.tsv" --seed 3 > /dev/null || fail "gen"

# dense user features, shuffled, with ids missing (every 13th) and unknown (5000+)
awk 'BEGIN { for (u = 1; u <= 1500; u++) if (u % 13) printf "%d,%.3f,%d,%.2e\n", (u * 7) % 1501 + 0, u / 7.0, u % 5, u * 1.5;
             for (u = 5000; u < 5040; u++) printf "%d,1,2,3\n", u }' > "$T/users.csv"
# sparse item features with string names and values
awk 'BEGIN { for (i = 700; i >= 1; i--) { printf "%d", i; if (i % 3) printf " g%d", i % 11;
             if (i % 4) printf " w:%.2f", i / 100.0; if (i % 5 == 0) printf " %d:2", i % 7; printf "\n" } }' > "$T/items.svm"
same_for_all_np dense-sparse "2 3" --data "$T/gen.tsv" --seed 3 --user-features "$T/users.csv" \
    --item-features "$T/items.svm"
grep -q '^UF-stats features 3 rows 1385 missing 115 unknown_ids 40 unknown_rows 40$' \
    "$T/dense-sparse.np1" || { grep -- -stats "$T/dense-sparse.np1"; fail "dense-sparse: counts"; }

# genome scores: 40 tags per movie, so the byte ranges cut through a movie's lines
{ echo "movieId,tagId,relevance"; awk 'BEGIN { for (m = 1; m <= 720; m++) for (t = 1; t <= 40; t++) printf "%d,%d,%.5f\n", m, t, ((m * 31 + t * 17) % 1000) / 1000.0 }'; } \
    > "$T/genome-scores.csv"
same_for_all_np genome "2 3" --data "$T/gen.tsv" --seed 3 --item-features "$T/genome-scores.csv"
grep -q '^IF-stats features 40 rows 700 missing 0 unknown_ids 20 unknown_rows 800$' \
    "$T/genome.np1" || { grep -- -stats "$T/genome.np1"; fail "genome: counts"; }
gzip -c "$T/genome-scores.csv" > "$T/genome-scores.csv.gz"
same_for_all_np genome-gz "3" --data "$T/gen.tsv" --seed 3 --item-features "$T/genome-scores.csv.gz"
cmp -s "$T/genome.np1" "$T/genome-gz.np1" || fail "the .gz genome file reads differently"

# MovieLens side files in their published layouts
awk 'BEGIN { split("administrator artist doctor educator engineer entertainment executive healthcare homemaker lawyer librarian marketing none other programmer retired salesman scientist student technician writer", occ, " ");
             for (u = 1; u <= 1500; u++) printf "%d|%d|%s|%s|%05d\n", u, 7 + u % 60, (u % 2 ? "M" : "F"), occ[u % 21 + 1], u }' > "$T/u.user"
awk 'BEGIN { split("Action Adventure Animation Children Comedy Crime Documentary Drama Fantasy Film-Noir Horror IMAX Musical Mystery Romance Sci-Fi Thriller War Western", g, " ");
             print "movieId,title,genres";
             for (i = 1; i <= 700; i++) { t = (i % 3 ? sprintf("Movie %d (19%02d)", i, i % 100) : sprintf("\"Movie, The \"\"%d\"\" (1995)\"", i));
                 printf "%d,%s,%s\n", i, t, (i % 10 ? g[i % 19 + 1] "|" g[(i * 7) % 19 + 1] : "(no genres listed)") } }' > "$T/movies.csv"
same_for_all_np movielens "2 3" --data "$T/gen.tsv" --seed 3 --user-features "$T/u.user" \
    --item-features "$T/movies.csv" --missing-features error

# synthetic features: made per id, the same for any np
same_for_all_np synthetic "2 3" --synthetic 600x300x15000 --synthetic-features 5 --seed 9

# ---- errors ---------------------------------------------------------------------------------
expect_error() {
    local name=$1 np=$2 want=$3
    shift 3
    run "$np" "$@" --report-rc > "$T/out" 2> "$T/err"
    local rc=$? lines
    lines=$(grep -c '^bivae-dist: error: ' "$T/err")
    [ "$rc" -ne 0 ] || fail "$name: mpirun exited 0"
    [ "$lines" -eq 1 ] || { cat "$T/err"; fail "$name: $lines error lines, want 1"; }
    grep -q "^bivae-dist: error: $want" "$T/err" || { cat "$T/err"; fail "$name: want '$want'"; }
    for r in $(seq 0 $((np - 1))); do
        grep -q "^partition_dump: rank $r exit 2$" "$T/out" || { cat "$T/out"; fail "$name: rank $r did not exit 2"; }
    done
    echo "ok: $name: $(grep '^bivae-dist: error: ' "$T/err")"
}
awk 'BEGIN { for (u = 1; u <= 1500; u++) printf "%d,%06d,%06d\n", u, u % 97, u % 89 }' > "$T/good.csv"
awk 'NR == 1234 { $0 = "1234,000001,abcdef" } NR == 1400 { $0 = "x" } { print }' "$T/good.csv" > "$T/bad1.csv"
expect_error "malformed line, rank 2" 3 "$T/bad1.csv:1234: feature 2 'abcdef' is not a number" \
    --data "$T/gen.tsv" --user-features "$T/bad1.csv"
gzip -c "$T/bad1.csv" > "$T/bad1.csv.gz"
expect_error "malformed line of a .gz, np 3" 3 "$T/bad1.csv.gz:1234: feature 2 'abcdef' is not a number" \
    --data "$T/gen.tsv" --user-features "$T/bad1.csv.gz"
awk 'NR == 1300 { $0 = "2,000001,000001" } { print }' "$T/good.csv" > "$T/dup.csv"
expect_error "duplicate on another rank" 3 "$T/dup.csv:1300: a second feature row for id '2' (the first is line 2)" \
    --data "$T/gen.tsv" --user-features "$T/dup.csv"
awk 'NR != 1001 && NR != 17' "$T/good.csv" > "$T/missing.csv"
expect_error "missing id, error" 3 "$T/missing.csv: no feature row for user '17' (2 users" \
    --data "$T/gen.tsv" --user-features "$T/missing.csv" --missing-features error

exit $FAILED
