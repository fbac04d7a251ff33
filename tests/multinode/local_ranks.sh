#!/usr/bin/env bash
# Multi-node item 2: node-local ranks come from the hosts, not from the global rank. With
# BIVAE_TEST_REPORT_GPU_INDEX=4 (a test hook: each rank reports the CUDA device index the
# --device cuda path would take on a node showing 4 GPUs, then trains on the CPU):
#   a) 2 hosts x 2 ranks, ranks by slot (0,1 on bivae-h1; 2,3 on bivae-h2): local ranks
#      0,1 on each host, GPU indices 0,1,0,1 (rank % 4 would give 2,3 on bivae-h2);
#   b) the same ranks by node (--map-by node: 0,2 on bivae-h1; 1,3 on bivae-h2): GPU 0,0,1,1;
#   c) 3 ranks on 2 hosts (2 + 1): "ranks_per_host":[2,1] and "3 on 2 hosts (2, 1 per host)".
# Also: the data file missing on one host (bivae-h2 sees an empty folder where it is): one
# error line naming that host and the path, every rank leaves, exit 2.
# shellcheck source=tests/multinode/lib.sh
source "$(dirname "$0")/lib.sh"
mn_up 2
ARGS=(--synthetic 97x61x2400 --epochs 1 --k 4 --encoder 8 --batch-size 16)
bed_hostfile "$TMP/hosts" 2
MN_SHOW="$TMP/a.err $TMP/b.err $TMP/c.err $TMP/d.err"

# want_gpu ERRFILE RANK HOST LOCAL INDEX: the hook's line of RANK says HOST, LOCAL, INDEX.
want_gpu() {
    grep -q "test hook: rank $2 host $3 local rank $4 of 2: GPU index $5 of 4\$" "$1" \
        || fail "$(basename "$1" .err): rank $2 should be local rank $4 on $3 and take GPU $5; the hook says: $(grep "test hook: rank $2 " "$1")"
}
BIVAE_TEST_REPORT_GPU_INDEX=4 mn_train "$TMP/a" 4 "$TMP/hosts" "${ARGS[@]}" --device cpu
[[ $MN_RC -eq 0 ]] || fail "a: exit $MN_RC"
[[ $(grep -c "test hook:" "$TMP/a.err") -eq 4 ]] || fail "a: want 4 test hook lines"
want_gpu "$TMP/a.err" 0 bivae-h1 0 0
want_gpu "$TMP/a.err" 1 bivae-h1 1 1
want_gpu "$TMP/a.err" 2 bivae-h2 0 0
want_gpu "$TMP/a.err" 3 bivae-h2 1 1

MN_MPI=(--map-by node)
BIVAE_TEST_REPORT_GPU_INDEX=4 mn_train "$TMP/b" 4 "$TMP/hosts" "${ARGS[@]}" --device cpu
MN_MPI=()
[[ $MN_RC -eq 0 ]] || fail "b: exit $MN_RC"
want_gpu "$TMP/b.err" 0 bivae-h1 0 0
want_gpu "$TMP/b.err" 1 bivae-h2 0 0
want_gpu "$TMP/b.err" 2 bivae-h1 1 1
want_gpu "$TMP/b.err" 3 bivae-h2 1 1
grep -q "hosts: bivae-h1: ranks 0,2 (local 0,1); bivae-h2: ranks 1,3 (local 0,1)" "$TMP/b.err" \
    || fail "b: the hosts line does not say ranks 0,2 on bivae-h1 and 1,3 on bivae-h2"

mn_train "$TMP/c" 3 "$TMP/hosts" "${ARGS[@]}" --metrics-out "$TMP/c.jsonl"
[[ $MN_RC -eq 0 ]] || fail "c: exit $MN_RC"
grep -q "ranks: 3 on 2 hosts (2, 1 per host)," "$TMP/c.err" || fail "c: no 'ranks: 3 on 2 hosts (2, 1 per host)' line"
json_check "$TMP/c.jsonl" 'assert all(e["hosts"] == 2 and e["ranks_per_host"] == [2, 1] for e in epochs), epochs' \
    || fail "c: metrics lines lack hosts 2, ranks_per_host [2,1]"

# d) the data file only on bivae-h1
mkdir -p "$TMP/data"
"$BIVAE" gen --synthetic 97x61x2400 --out "$TMP/data/r.tsv" >/dev/null 2>&1 || fail "d: gen failed"
BED_HIDE_bivae_h2=$TMP/data mn_train "$TMP/d" 4 "$TMP/hosts" --train "$TMP/data/r.tsv" --epochs 1 --k 4 --encoder 8
[[ $MN_RC -eq 2 ]] || fail "d: exit $MN_RC, want 2 (a rank cannot open the data file)"
[[ $(grep -c "error:" "$TMP/d.err") -eq 1 ]] || fail "d: want exactly one error line"
grep -q "error: cannot open $TMP/data/r.tsv: No such file or directory on host bivae-h2 (rank 2; 2 of 4 ranks opened it): every host needs the data file at the same path" "$TMP/d.err" \
    || fail "d: the error does not name bivae-h2 and the path: $(grep error: "$TMP/d.err")"
echo "multinode local ranks: from the hosts (GPU index = local rank mod GPUs), hosts in the metrics, a host without the data file named"
