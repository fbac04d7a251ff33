#!/usr/bin/env bash
# Faults a long run meets, each ending in bounded time with a message and nothing lost:
#  a) a rank stalls before a collective → the others fail after --comm-timeout (3 s here),
#     naming the operation and their rank, exit 3;
#  b) a rank dies (SIGKILL) mid-epoch → mpirun ends the whole job, exit != 0, and the last
#     checkpoint is intact: --resume continues from it to the end;
#  c) --device cuda without a GPU, --cap-priors of a side without features → one line, exit 3 / 2.
# (The test-only switches BIVAE_TEST_STALL_RANK / BIVAE_TEST_KILL_RANK live in comm/.)
source "$(dirname "$0")/lib.sh"
args=(train --synthetic ml-100k --epochs 6 --k 8 --encoder 16 --threads 1 --quiet)

start=$(date +%s)
BIVAE_TEST_STALL_RANK=1 BIVAE_TEST_FAULT_AFTER=30 expect_exit 3 "not complete after 3 s" \
    timeout 120 "$MPIRUN" -np 3 --oversubscribe -x BIVAE_TEST_STALL_RANK -x BIVAE_TEST_FAULT_AFTER \
    "$BIVAE" "${args[@]}" --comm-timeout 3
(( $(date +%s) - start < 60 )) || fail "the stalled job took more than 60 s to end"

ck="$TMP/ck"
got=0
BIVAE_TEST_KILL_RANK=2 BIVAE_TEST_FAULT_AFTER=200 timeout 120 "$MPIRUN" -np 3 --oversubscribe \
    -x BIVAE_TEST_KILL_RANK -x BIVAE_TEST_FAULT_AFTER "$BIVAE" "${args[@]}" \
    --checkpoint-dir "$ck" --checkpoint-every 1 >"$TMP/out" 2>"$TMP/err" || got=$?
[[ $got -ne 0 && $got -ne 124 ]] || { cat "$TMP/err"; fail "killed rank: exit $got (want != 0, no timeout)"; }
grep -Eqi "signal 9|killed" "$TMP/err" || { cat "$TMP/err"; fail "killed rank: no message naming the failure"; }
ls "$ck"/ckpt-*.bvck >/dev/null 2>&1 || fail "killed rank: no checkpoint was written before the kill"
ls "$ck" | grep -q '\.tmp' && echo "note: a partial .tmp was left (resume cleans it)"
"$MPIRUN" -np 3 --oversubscribe "$BIVAE" "${args[@]}" --checkpoint-dir "$ck" --resume \
    >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err"; fail "resume after the killed rank failed"; }

nodev="this build has no CUDA backend"
[[ ${BIVAE_HAVE_CUDA:?} == ON ]] && nodev="no NVIDIA driver / no GPU found"
CUDA_VISIBLE_DEVICES="" expect_exit 3 "--device cuda: rank 0: $nodev" "$BIVAE" "${args[@]}" --device cuda
expect_exit 2 "error: --cap-priors: item needs --item-features FILE" "$BIVAE" "${args[@]}" \
    --cap-priors item --user-features /dev/null
echo "faults: OK"
