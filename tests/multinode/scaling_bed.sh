#!/usr/bin/env bash
# Multi-node item 5: benchmarks/scaling.sh -b 2 runs over the test bed's 2 hosts (4 ranks,
# 2 per host, synthetic ml-100k, 2 epochs) and reports the TCP all-reduce bandwidth it
# measured (bench_allreduce, whose sums must be exact) beside the run's per-epoch
# communication volume, saying "veth loopback, not InfiniBand" beside the number.
# shellcheck source=tests/multinode/lib.sh
source "$(dirname "$0")/lib.sh"
rc=0
BIVAE_BUILD_DIR=$(dirname "$BIVAE") timeout 150 bash "$BIVAE_SOURCE_DIR/benchmarks/scaling.sh" \
    -b 2 -n 4 -m strong -s ml-100k -e 2 -o "$TMP/out" >"$TMP/scaling.out" 2>"$TMP/scaling.err" || rc=$?
if [[ $rc -eq 77 ]]; then grep SKIP "$TMP/scaling.err"; exit 77; fi
MN_SHOW="$TMP/scaling.out $TMP/scaling.err"
[[ $rc -eq 0 ]] || fail "scaling.sh -b 2: exit $rc"
grep -q "TCP all-reduce .* GB/s bus bandwidth .* (veth loopback, not InfiniBand); per-epoch communication .* MB per rank" \
    "$TMP/scaling.err" || fail "no bandwidth line beside the communication volume"
python3 - "$TMP/out/bed-bandwidth.csv" "$TMP/out/bed-allreduce-np4.csv" <<'PY' || fail "bed-bandwidth.csv"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 1, rows
r = rows[0]
assert r["hosts"] == "2" and r["np"] == "4", r
assert float(r["busbw_GBps"]) > 0 and int(r["comm_bytes_per_epoch"]) > 0, r
assert float(r["comm_s_at_algbw"]) > 0, r
sizes = list(csv.DictReader(open(sys.argv[2])))
assert len(sizes) >= 2 and all(s["wrong"] == "0" for s in sizes), sizes
print("scaling over the bed: busbw %s GB/s at %s bytes, %s B per epoch" % (r["busbw_GBps"], r["bytes"], r["comm_bytes_per_epoch"]))
PY
grep "TCP all-reduce" "$TMP/scaling.err"
ip link show bivae-br0 >/dev/null 2>&1 && fail "scaling.sh left the bed's bridge behind"
echo "multinode scaling: OK"
