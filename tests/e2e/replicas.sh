#!/usr/bin/env bash
# --check-replicas: identical replicas pass on 3 ranks; a replica changed on purpose (the
# test-only BIVAE_TEST_PERTURB_RANK switch) is caught with one line and exit 3.
source "$(dirname "$0")/lib.sh"
args=(train --synthetic ml-100k --epochs 2 --k 8 --encoder 16 --check-replicas --quiet --threads 1)
"$MPIRUN" -np 3 --oversubscribe "$BIVAE" "${args[@]}" >"$TMP/out" 2>"$TMP/err" \
    || { cat "$TMP/err"; fail "--check-replicas failed on identical replicas"; }
BIVAE_TEST_PERTURB_RANK=2 expect_exit 3 "check-replicas: after epoch 1 the parameters of rank 2 differ" \
    "$MPIRUN" -np 3 --oversubscribe -x BIVAE_TEST_PERTURB_RANK "$BIVAE" "${args[@]}"
echo "replicas: OK"
