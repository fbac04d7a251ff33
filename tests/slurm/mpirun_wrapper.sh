#!/usr/bin/env bash
# launch/mpirun.sh, the one-node wrapper: a real 2-rank training run (one MPI world of 2 ranks,
# final metrics), the mpirun lines it builds (binding, threads, oversubscription, NCCL debug,
# other commands) and its usage errors.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/../e2e/lib.sh"
W=$BIVAE_SOURCE_DIR/launch/mpirun.sh
export MPIRUN

"$W" --help >"$TMP/help" || fail "--help: exit $?"
grep -q "Exit status" "$TMP/help" || fail "--help: no usage text"

# a real run: 2 ranks, 3 epochs
timeout 300 "$W" --bin "$BIVAE" -n 2 -- --synthetic ml-100k --epochs 3 --k 10 --encoder 20 --quiet \
    --metrics-out "$TMP/m.jsonl" >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err"; fail "np 2 run failed"; }
grep -q "NDCG" "$TMP/out" || { cat "$TMP/out"; fail "no final metrics table"; }
python3 - "$TMP/m.jsonl" <<'PY' || fail "metrics of the np 2 run"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
epochs = [l for l in lines if not l.get("final")]
final = [l for l in lines if l.get("final")]
assert len(epochs) == 3 and len(final) == 1, (len(epochs), len(final))
assert all(e["ranks"] == 2 for e in epochs), [e["ranks"] for e in epochs]
assert 0 < final[0]["ndcg@10"] <= 1 and final[0]["users"] == 943, final[0]
print("mpirun.sh np 2: OK", final[0])
PY

# dry LINE-ARGS...: the mpirun line into $TMP/line
dry() { "$W" --dry-run --bin /b "$@" >"$TMP/line" 2>"$TMP/err" || { cat "$TMP/err"; fail "dry run: $*"; }; }
has() { grep -qF -- "$1" "$TMP/line" || { cat "$TMP/line"; fail "mpirun line lacks '$1'"; }; }
hasnt() { ! grep -qF -- "$1" "$TMP/line" || { cat "$TMP/line"; fail "mpirun line has '$1'"; }; }

dry -n 1 -- --synthetic ml-1m                        # one rank: bound to its own cores
has "-np 1 --map-by slot:PE="
has "--bind-to core"
has "/b train --synthetic ml-1m --threads "
hasnt "--oversubscribe"
dry -n 1 -t 1 -- --synthetic ml-1m
has "-np 1 --map-by slot:PE=1 --bind-to core -x OPENBLAS_NUM_THREADS "
has " /b train --synthetic ml-1m --threads 1"
dry -n 1 -- --synthetic ml-1m --threads=1            # the trainer's --threads sets the width
has "--map-by slot:PE=1 --bind-to core"
[[ $(grep -o -- "--threads" "$TMP/line" | wc -l) -eq 1 ]] || fail "--threads given twice"
dry -n 64 --synthetic ml-1m                          # more ranks than cores: runs, unbound
has "-np 64 --bind-to none --oversubscribe"
dry -n 1 --bind none -- --synthetic ml-1m
has "-np 1 --bind-to none -x"
hasnt "--oversubscribe"
dry -n 2 gen --synthetic ml-1m --out x.tsv           # other commands pass through, no --threads
has "/b gen --synthetic ml-1m --out x.tsv"
hasnt "--threads"
dry -n 1 --nccl-debug INFO --mpirun-arg=--report-bindings -- --device cuda
has "-x NCCL_DEBUG -x NCCL_DEBUG_SUBSYS "
has " --report-bindings /b train --device cuda"
NP=1 BIVAE_BIND=none "$W" --dry-run --bin /b --synthetic x >"$TMP/line"
has "-np 1 --bind-to none"

expect_exit 2 "--np 0" "$W" -n 0 --dry-run -- --x
expect_exit 2 "--bind socket" "$W" -n 1 --bind socket --dry-run -- --x
expect_exit 2 "--bind core: 64 ranks" "$W" -n 64 --bind core --dry-run -- --x
expect_exit 2 "--nccl-debug LOUD" "$W" --nccl-debug LOUD --dry-run -- --x
expect_exit 2 "disagree" "$W" -n 1 -t 2 --dry-run -- --threads 3
expect_exit 2 "-n needs a value" "$W" -n
expect_exit 3 "not an executable" "$W" --bin /nonexistent -n 1 -- --x
expect_exit 2 "unknown flag" "$W" --bin "$BIVAE" -n 1 -- --synthetic ml-100k --bogus
echo "mpirun wrapper: OK"
