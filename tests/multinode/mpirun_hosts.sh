#!/usr/bin/env bash
# Multi-node item 1: mpirun across 2 namespace hosts x 2 ranks, over TCP only (btl tcp,self
# on the test subnet), gives the same model as one host x 4 ranks (shared memory): per-epoch
# losses within a relative 1e-4 and final metrics within 2e-3 (tests/e2e/ranks.sh's
# rank-count tolerance); the info line says "ranks: 4 on 2 hosts (2 per host)" and names
# each host's ranks, and every metrics line has "hosts":2,"ranks_per_host":2 (the one-host
# run: 1 and 4). SKIP (77) when not root or namespaces are refused.
# shellcheck source=tests/multinode/lib.sh
source "$(dirname "$0")/lib.sh"
mn_up 2
ARGS=(--synthetic ml-100k --epochs 3 --k 10 --encoder 20 --batch-size 100)
bed_hostfile "$TMP/hosts" 2
MN_SHOW="$TMP/two.err $TMP/one.err"
mn_train "$TMP/two" 4 "$TMP/hosts" "${ARGS[@]}" --metrics-out "$TMP/two.jsonl"
[[ $MN_RC -eq 0 ]] || fail "2 hosts x 2 ranks: exit $MN_RC"
timeout 300 "$MPIRUN" -np 4 --oversubscribe "$BIVAE" train --threads 1 "${ARGS[@]}" \
    --metrics-out "$TMP/one.jsonl" >"$TMP/one.out" 2>"$TMP/one.err" || fail "1 host x 4 ranks failed"
grep -q "ranks: 4 on 2 hosts (2 per host)," "$TMP/two.err" || fail "2 hosts: no 'ranks: 4 on 2 hosts (2 per host)' info line"
grep -q "hosts: bivae-h1: ranks 0,1 (local 0,1); bivae-h2: ranks 2,3 (local 0,1)" "$TMP/two.err" \
    || fail "2 hosts: the hosts line does not name bivae-h1 with ranks 0,1 and bivae-h2 with 2,3"
grep -q "ranks: 4 on 1 host," "$TMP/one.err" || fail "1 host: no 'ranks: 4 on 1 host' info line"
json_check "$TMP/two.jsonl" 'assert len(epochs) == 3 and all(e["hosts"] == 2 and e["ranks_per_host"] == 2 and e["ranks"] == 4 for e in epochs), epochs' \
    || fail "2 hosts: metrics lines lack hosts 2, ranks_per_host 2"
json_check "$TMP/one.jsonl" 'assert all(e["hosts"] == 1 and e["ranks_per_host"] == 4 for e in epochs), epochs' \
    || fail "1 host: metrics lines lack hosts 1, ranks_per_host 4"
$COMPARE "$TMP/one.jsonl" "$TMP/two.jsonl" --loss-rtol 1e-4 --metric-atol 2e-3 \
    || fail "2 hosts x 2 ranks differ from 1 host x 4 ranks"
echo "multinode mpirun: 2 hosts x 2 ranks over TCP = 1 host x 4 ranks (within the rank-count tolerance)"
