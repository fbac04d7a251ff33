#!/usr/bin/env bash
# benchmarks/cap_quality.sh — CAP quality on synthetic data with informative features
# (--synthetic-features D: noisy linear views of the generator's latent factors), over
# several seeds, mean ± std of NDCG / Precision / Recall / MAP @ top-k:
#   warm:  the same data without CAP and with --cap-priors user (all users, no cold ones);
#   cold:  --cap-priors user --cold-users F: the cold users scored from μ_prior against the
#          most-popular baseline on the same users (and the warm users of that run);
#   fold:  the same with --cold-history-ratio H: the cold users' test part from μ_prior,
#          from the fold-in of their history, and by popularity (history excluded).
# Cornac's BiVAECF(cap_priors=...) on the same features: benchmarks/reference/run.sh cap.
#   benchmarks/cap_quality.sh [BIVAE] ; environment: SEEDS ("1 2 3"), SHAPE (ml-100k),
#   FEATURES (16), EPOCHS (100), COLD (0.2), HISTORY (0.5), THREADS (1)
set -euo pipefail
BIVAE=${1:-build/bivae-dist}
SEEDS=${SEEDS:-1 2 3}
SHAPE=${SHAPE:-ml-100k}
FEATURES=${FEATURES:-16}
EPOCHS=${EPOCHS:-100}
COLD=${COLD:-0.2}
HISTORY=${HISTORY:-0.5}
THREADS=${THREADS:-1}
[[ -x $BIVAE ]] || { echo "cap_quality: $BIVAE is not an executable (build it first)" >&2; exit 2; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
common=(--synthetic "$SHAPE" --synthetic-features "$FEATURES" --epochs "$EPOCHS"
        --threads "$THREADS" --quiet)
for seed in $SEEDS; do
    "$BIVAE" train "${common[@]}" --seed "$seed" --metrics-out "$OUT/nocap.$seed.jsonl" >/dev/null
    "$BIVAE" train "${common[@]}" --seed "$seed" --cap-priors user \
        --metrics-out "$OUT/cap.$seed.jsonl" >/dev/null
    "$BIVAE" train "${common[@]}" --seed "$seed" --cap-priors user --cold-users "$COLD" \
        --metrics-out "$OUT/cold.$seed.jsonl" >/dev/null
    "$BIVAE" train "${common[@]}" --seed "$seed" --cap-priors user --cold-users "$COLD" \
        --cold-history-ratio "$HISTORY" --metrics-out "$OUT/fold.$seed.jsonl" >/dev/null
done
python3 - "$OUT" "$SEEDS" <<'PY'
import json, statistics, sys
out, seeds = sys.argv[1], sys.argv[2].split()
def lines(name, seed):
    return [json.loads(l) for l in open(f"{out}/{name}.{seed}.jsonl")]
rows = {}   # label -> list of metric dicts (one per seed)
for s in seeds:
    rows.setdefault("warm, no CAP (all users)", []).append(
        [o for o in lines("nocap", s) if o.get("final")][0])
    rows.setdefault("warm, CAP user (all users)", []).append(
        [o for o in lines("cap", s) if o.get("final")][0])
    c = [o for o in lines("cold", s) if o.get("cold_start")][0]
    for g, label in (("warm", "--cold-users: warm, CAP"),
                     ("warm_popular", "--cold-users: warm, most popular"),
                     ("cold", "--cold-users: cold, CAP mu_prior"),
                     ("cold_popular", "--cold-users: cold, most popular")):
        rows.setdefault(label, []).append(c[g])
    f = [o for o in lines("fold", s) if o.get("cold_start")][0]
    for g, label in (("cold", "--cold-history-ratio: cold test part, CAP mu_prior"),
                     ("cold_foldin", "--cold-history-ratio: cold test part, fold-in"),
                     ("cold_popular", "--cold-history-ratio: cold test part, most popular")):
        rows.setdefault(label, []).append(f[g])
k = rows["warm, no CAP (all users)"][0]["top_k"]
keys = [f"ndcg@{k}", f"precision@{k}", f"recall@{k}", "map"]
print(f"| run ({len(seeds)} seeds) | users | " + " | ".join(keys) + " |")
print("|---|---|" + "---|" * len(keys))
def cell(v):
    return f"{statistics.mean(v):.4f} ± {statistics.stdev(v) if len(v) > 1 else 0.0:.4f}"
for label, ms in rows.items():
    users = statistics.mean(m["users"] for m in ms)
    print(f"| {label} | {users:.0f} | " + " | ".join(cell([m[x] for m in ms]) for x in keys) + " |")
PY
