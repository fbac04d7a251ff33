#!/usr/bin/env bash
# Checkpoints of the CAP model (--cap-priors): they hold the prior encoders (at the end of
# each encoder's params) and a fingerprint of each CAP side's feature rows;
#   - resume is exact on the same rank count (bit-identical losses, byte-identical final
#     checkpoint), at an epoch end on 1 rank and inside a user phase on 2 ranks (a real
#     SIGUSR1 stop), and within the rank-count tolerance on another rank count;
#   - resuming on other feature rows (one value changed; another feature count) is exit 2
#     with one line; without --cap-priors it is the existing model-settings mismatch;
#   - eval reproduces the run's metrics, recommend answers, export writes mu_theta_prior.npy /
#     mu_beta_prior.npy: an affine function of each user's feature row (equal rows give equal
#     priors, a zero row gives b_p, steps along a feature add the same vector), and no prior
#     files for a checkpoint without CAP.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
CAP=(--synthetic-features 5 --cap-priors both)

train 1 full1.jsonl --epochs 4 --checkpoint-dir full1 "${CAP[@]}"
cp "$TMP/train.out" train_table.txt
train 2 full2.jsonl --epochs 4 --checkpoint-dir full2 "${CAP[@]}"

# 1 rank, epoch end: 2 epochs, then --resume to 4
train 1 a.jsonl --epochs 2 --checkpoint-dir a "${CAP[@]}"
cp -r a a_np2
train 1 a2.jsonl --epochs 4 --checkpoint-dir a --resume "${CAP[@]}"
$TAIL full1.jsonl a2.jsonl --exact || fail "CAP np 1: resumed at an epoch end, losses differ"
$TOOL same "$(ckpt full1 000004)" "$(ckpt a 000004)" || fail "CAP np 1: final checkpoints differ"

# 2 ranks, inside the user phase of epoch 2 (10 item steps + 2 user steps), signal on rank 1
BIVAE_TEST_SIGNAL_AT=2:12:1 train 2 b.jsonl --epochs 4 --checkpoint-dir b "${CAP[@]}"
ckpt b 000001-000012 >/dev/null
train 2 b2.jsonl --epochs 4 --checkpoint-dir b --resume "${CAP[@]}"
$TAIL full2.jsonl b2.jsonl --exact || fail "CAP np 2: resumed inside a user phase, losses differ"
$TOOL same "$(ckpt full2 000004)" "$(ckpt b 000004)" || fail "CAP np 2: final checkpoints differ"

# another rank count: 1 -> 2 at an epoch end
train 2 c.jsonl --epochs 4 --checkpoint-dir a_np2 --resume "${CAP[@]}"
$TAIL full1.jsonl c.jsonl --loss-rtol 1e-4 --metric-atol 2e-3 || fail "CAP np 1 -> 2 outside the tolerance"

# without --cap-priors: the model settings do not match
expect_exit 2 "error: .*--cap-priors none does not match the checkpoint's" \
    "$BIVAE" train "${SMALL[@]}" --epochs 4 --checkpoint-dir a --resume --synthetic-features 5
one_error_line

# feature files: a user side with CAP, users 1..200 (every 9th without a row: a zero row)
"$BIVAE" gen --synthetic 200x150x5000 --out r.tsv --seed 5 2>/dev/null || fail "gen"
awk 'BEGIN { for (u = 1; u <= 220; u++) if (u % 9) printf "%d,%d,%d\n", u, u % 4, u % 3 }' > u1.csv
awk -F, -v OFS=, 'NR == 7 { $2 = $2 + 1 } { print }' u1.csv > u2.csv
awk -F, -v OFS=, '{ print $0, 1 }' u1.csv > u3.csv
FILE=(train --train r.tsv --k 4 --encoder 8 --batch-size 16 --threads 1 --cap-priors user)
"$BIVAE" "${FILE[@]}" --user-features u1.csv --epochs 2 --checkpoint-dir f >/dev/null 2>&1 \
    || fail "CAP train with a feature file"
cp -r f f2
expect_exit 2 "error: --user-features u2.csv \(dense\): not the feature rows the checkpoint .* was trained on" \
    "$BIVAE" "${FILE[@]}" --user-features u2.csv --epochs 3 --checkpoint-dir f --resume
one_error_line
expect_exit 2 "error: --user-features u3.csv \(dense\): 3 features, the checkpoint .* was trained on 2" \
    "$MPIRUN" -np 2 --oversubscribe "$BIVAE" "${FILE[@]}" --user-features u3.csv --epochs 3 \
    --checkpoint-dir f --resume
one_error_line
expect_exit 0 "resuming from" "$BIVAE" "${FILE[@]}" --user-features u1.csv --epochs 3 \
    --checkpoint-dir f2 --resume

# eval, recommend, export of a CAP checkpoint
CK=$TMP/$(ckpt full1 000004)
expect_exit 0 "eval: synthetic 200x150x5000" "$BIVAE" eval --model "$CK"
diff train_table.txt "$TMP/out" || fail "eval --model of a CAP checkpoint differs from the run's metrics"
"$BIVAE" recommend --model "$CK" --user 1 >rec.txt 2>"$TMP/err" || { cat "$TMP/err"; fail "recommend"; }
[[ $(wc -l <rec.txt) -eq 11 ]] || fail "recommend of a CAP checkpoint: $(cat rec.txt)"
expect_exit 0 "exported" "$BIVAE" export --model "$CK" --out ex
[[ -f ex/mu_theta_prior.npy && -f ex/mu_beta_prior.npy ]] || fail "export: no prior means: $(ls ex)"
FK=$(ls f/ckpt-*.bvck | tail -1)
expect_exit 0 "exported" "$BIVAE" export --model "$FK" --out exf
[[ -f exf/mu_theta_prior.npy && ! -e exf/mu_beta_prior.npy ]] || fail "export --cap-priors user: $(ls exf)"
cat > affine.py <<'PY'
import array, ast, sys
d, feats = sys.argv[1], sys.argv[2]
data = open(f"{d}/mu_theta_prior.npy", "rb").read()
hlen = data[8] | (data[9] << 8)
shape = ast.literal_eval(data[10:10 + hlen].decode("latin1").strip())["shape"]
v = array.array("f"); v.frombytes(data[10 + hlen:])
rows = [v[r * shape[1]:(r + 1) * shape[1]] for r in range(shape[0])]
ids = [l.split(",")[1] for l in open(f"{d}/user_ids.csv").read().splitlines()[1:]]
f = {l.split(",")[0]: tuple(int(x) for x in l.split(",")[1:]) for l in open(feats)}
prior = {}
for g, raw in enumerate(ids):
    key = f.get(raw, (0, 0))                       # no row: a zero row
    if key in prior:
        assert max(abs(a - b) for a, b in zip(prior[key], rows[g])) < 1e-6, (raw, key)
    prior[key] = rows[g]
assert len(prior) == 12, sorted(prior)             # 4 x 3 distinct rows, all different
assert len({tuple(r) for r in prior.values()}) == 12
for b in range(3):                                 # affine: equal steps, equal differences
    for a in (1, 2):
        step = [x - y for x, y in zip(prior[(a + 1, b)], prior[(a, b)])]
        first = [x - y for x, y in zip(prior[(1, 0)], prior[(0, 0)])]
        assert max(abs(x - y) for x, y in zip(step, first)) < 1e-5, (a, b)
PY
python3 affine.py exf u1.csv || fail "exported mu_theta_prior is not F·W_p + b_p of each user's row"
# the same from a 2-rank run (the rows gathered from their owners in global order)
"$MPIRUN" -np 2 --oversubscribe "$BIVAE" "${FILE[@]}" --user-features u1.csv --epochs 1 \
    --checkpoint-dir f3 >/dev/null 2>&1 || fail "CAP train with a feature file on 2 ranks"
expect_exit 0 "exported" "$BIVAE" export --model "$(ls f3/ckpt-*.bvck | tail -1)" --out exf3
python3 affine.py exf3 u1.csv || fail "np 2: exported mu_theta_prior is not F·W_p + b_p of each user's row"
train 1 plain.jsonl --epochs 1 --checkpoint-dir plain
expect_exit 0 "exported" "$BIVAE" export --model "$TMP/$(ckpt plain 000001)" --out exp
[[ ! -e exp/mu_theta_prior.npy && ! -e exp/mu_beta_prior.npy ]] || fail "prior files without CAP"
echo "ckpt cap: OK"
