#!/usr/bin/env bash
# --cold-users F through the data line and the binary:
#   a) the cold users are absent from training: in the partition dump (np 1 and np 3 the
#      same) a fraction near F of the users has test rows and no training one, no user
#      without --cold-users; no rating is lost (train + test the same count);
#   b) np 1/2/3 give the same warm / cold / popular metrics (users exactly), and the cold
#      users scored are exactly the dump's cold users;
#   c) CAP cold users (θ = μ_prior) score clearly above random ranking on the synthetic
#      informative features;
#   d) bad values are exit 2 with one error line;
#   e) --cold-history-ratio adds the fold-in of part of the cold users' history.
# Usage: cold_users.sh PARTITION_DUMP
source "$(dirname "$0")/lib.sh"
DUMP=${1:?partition_dump}
data=(--synthetic 160x90x4000 --seed 5)
"$DUMP" "${data[@]}" --cold-users 0.25 --out "$TMP/cold.1.txt" || fail "dump np 1"
timeout 300 "$MPIRUN" -np 3 --oversubscribe "$DUMP" "${data[@]}" --cold-users 0.25 \
    --out "$TMP/cold.3.txt" || fail "dump np 3"
cmp -s "$TMP/cold.1.txt" "$TMP/cold.3.txt" || fail "the cold split differs on 3 ranks"
"$DUMP" "${data[@]}" --out "$TMP/warm.txt" || fail "dump without --cold-users"
# cold users: raw ids with a test count (C) and no training one (R)
cold_users() { awk '$1 == "R" { r[$2] = 1 } $1 == "C" && $4 > 0 { c[$2] = 1 }
                    END { n = 0; for (u in c) if (!(u in r)) n++; print n }' "$1"; }
n_cold=$(cold_users "$TMP/cold.1.txt")
n_warm_cold=$(cold_users "$TMP/warm.txt")
[[ $n_warm_cold -eq 0 ]] || fail "$n_warm_cold users without training rows without --cold-users"
(( n_cold >= 24 && n_cold <= 56 )) || fail "$n_cold cold users of 160, expected about 40"
nnz() { awk '$1 == "stats" { print $8 + $10 }' "$1"; }
[[ $(nnz "$TMP/cold.1.txt") -eq $(nnz "$TMP/warm.txt") ]] || fail "--cold-users lost ratings"

# b) np 1/2/3: the cold_start line
syn=("${data[@]}" --synthetic-features 6 --cap-priors user --cold-users 0.25 --epochs 4 --k 4
     --encoder 8 --batch-size 7)
for np in 1 2 3; do run_np "$np" "$TMP/run.$np.jsonl" "${syn[@]}"; done
python3 - "$TMP" "$n_cold" <<'PY' || fail "np 1/2/3 cold-start metrics"
import json, sys
tmp, n_cold = sys.argv[1], int(sys.argv[2])
def cold(np):
    lines = [json.loads(l) for l in open(f"{tmp}/run.{np}.jsonl")]
    c = [o for o in lines if o.get("cold_start")]
    assert len(c) == 1, f"np {np}: {len(c)} cold_start lines"
    return c[0]
ref = cold(1)
assert ref["cold"]["users"] == n_cold, (ref["cold"]["users"], n_cold)
assert ref["cold"]["users"] == ref["cold_popular"]["users"]
assert ref["warm"]["users"] == ref["warm_popular"]["users"] == 160 - n_cold
for np in (2, 3):
    got = cold(np)
    for group in ("warm", "warm_popular", "cold", "cold_popular"):
        for key, v in ref[group].items():
            w = got[group][key]
            tol = 0 if key in ("users", "top_k") else 2e-3
            assert abs(v - w) <= tol, f"np {np} {group} {key}: {w} vs {v}"
PY

# c) cold users from features alone, above random: a random ranking's expected
#    precision@10 is the mean share of each cold user's test items among all items
big=(--synthetic 600x400x24000 --seed 7)
"$DUMP" "${big[@]}" --cold-users 0.2 --out "$TMP/big.txt" || fail "dump big"
run_np 1 "$TMP/big.jsonl" "${big[@]}" --synthetic-features 16 --cap-priors user \
    --cold-users 0.2 --epochs 30 --k 8 --encoder 32 --batch-size 64
python3 - "$TMP/big.txt" "$TMP/big.jsonl" <<'PY' || fail "CAP cold users not above random"
import json, sys
dump, run = sys.argv[1], sys.argv[2]
train, count, n_items = set(), {}, None
for l in open(dump):
    f = l.split()
    if f[0] == "stats": n_items = int(f[4])
    elif f[0] == "R": train.add(f[1])
    elif f[0] == "C" and int(f[3]) > 0: count[f[1]] = int(f[3])
cold = [c for u, c in count.items() if u not in train]
random_p = sum(c / n_items for c in cold) / len(cold)
c = [json.loads(l) for l in open(run) if '"cold_start"' in l][0]
p = c["cold"]["precision@10"]
print(f"cold users {len(cold)}: CAP precision@10 {p:.4f}, random {random_p:.4f}, "
      f"popular {c['cold_popular']['precision@10']:.4f}")
assert c["cold"]["users"] == len(cold)
assert p > 2 * random_p, (p, random_p)
PY

# e) --cold-history-ratio: the cold users also from the fold-in of part of their history
#    (model_fold_in), all three cold columns on the same users and test part
run_np 1 "$TMP/fold.jsonl" "${big[@]}" --synthetic-features 16 --cap-priors user \
    --cold-users 0.2 --cold-history-ratio 0.5 --epochs 30 --k 8 --encoder 32 --batch-size 64
python3 - "$TMP/fold.jsonl" "$TMP/big.jsonl" <<'PY' || fail "--cold-history-ratio"
import json, sys
f, b = ([json.loads(l) for l in open(p) if '"cold_start"' in l][0] for p in sys.argv[1:])
assert f["cold_history_ratio"] == 0.5
n = b["cold"]["users"]
assert f["cold"]["users"] == f["cold_popular"]["users"] == f["cold_foldin"]["users"] <= n, (f, n)
assert f["cold_foldin"] != f["cold"], "the fold-in scored exactly as mu_prior"
# the history is not test data: fewer relevant items left, so recall's base changes
assert f["cold_popular"] != b["cold_popular"], "the history changed nothing"
assert f["warm"] == b["warm"], "the warm users changed"
print("fold-in precision@10", f["cold_foldin"]["precision@10"], "mu_prior", f["cold"]["precision@10"])
PY

# d) bad values
base=(--synthetic 97x61x2400 --synthetic-features 4 --epochs 1)
for f in 0 1 1.5 -0.1 x; do
    expect_exit 2 "^bivae-dist: error: --cold-users: " \
        "$BIVAE" train "${base[@]}" --cap-priors user --cold-users "$f"
done
expect_exit 2 "error: --cold-users: needs --cap-priors user\|both" \
    "$BIVAE" train "${base[@]}" --cold-users 0.2
expect_exit 2 "error: --cold-users: needs --cap-priors user\|both" \
    "$BIVAE" train "${base[@]}" --cap-priors item --cold-users 0.2
expect_exit 2 "error: --cold-history-ratio: needs one rank" \
    "$MPIRUN" -np 2 --oversubscribe "$BIVAE" train "${base[@]}" --threads 1 --cap-priors user \
    --cold-users 0.2 --cold-history-ratio 0.5
expect_exit 2 "error: --cold-history-ratio: needs --cold-users F" \
    "$BIVAE" train "${base[@]}" --cap-priors user --cold-history-ratio 0.5
"$BIVAE" gen --synthetic 60x50x1300 --out "$TMP/r.tsv" --seed 3 >/dev/null 2>&1 || fail "gen"
awk 'BEGIN { for (u = 1; u <= 60; u++) printf "%d,%.3f\n", u, sin(u) }' > "$TMP/u.csv"
expect_exit 2 "error: --cold-users needs --data or --synthetic" \
    "$BIVAE" train --train "$TMP/r.tsv" --user-features "$TMP/u.csv" --cap-priors user \
    --cold-users 0.2
[[ $(grep -c "error" "$TMP/err") -eq 1 ]] || fail "more than one error line"
echo "cold_users: OK"
