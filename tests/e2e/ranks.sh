#!/usr/bin/env bash
# The same model from any rank count (design.md, Invariant 1): np = 2, 3, 4 against np = 1,
# per-epoch losses within a relative 1e-4 and final metrics within 2e-3 (only the order of
# floating-point reductions differs), on shapes that stress the sharding:
#   a) synthetic ml-100k-shaped data, batch 100;
#   b) prime U and I with a batch smaller than the rank count (U=97, I=61, batch 3);
#   c) fewer users than ranks for np=4 (U=3 users);
#   d) the replicated first layer (--first-layer replicated) on the prime shape, against the
#      sharded np=1 run: the two modes are the same model.
source "$(dirname "$0")/lib.sh"
check() {
    local name=$1; shift
    run_np 1 "$TMP/$name.1.jsonl" "$@"
    for np in 2 3 4; do
        run_np "$np" "$TMP/$name.$np.jsonl" "$@"
        $COMPARE "$TMP/$name.1.jsonl" "$TMP/$name.$np.jsonl" --loss-rtol 1e-4 --metric-atol 2e-3 \
            || fail "$name: np $np differs from np 1"
    done
}
check synth100k --synthetic ml-100k --epochs 4 --k 10 --encoder 20 --batch-size 100
check prime --synthetic 97x61x2400 --epochs 5 --k 4 --encoder 8 --batch-size 3
printf '1\t10\t5\n1\t11\t4\n1\t12\t3\n1\t13\t5\n2\t10\t4\n2\t12\t2\n2\t14\t5\n3\t11\t5\n3\t13\t1\n3\t14\t4\n' >"$TMP/tiny.tsv"
check tiny --train "$TMP/tiny.tsv" --epochs 3 --k 2 --encoder 3 --batch-size 2
for np in 1 3; do
    run_np "$np" "$TMP/prime-rep.$np.jsonl" --synthetic 97x61x2400 --epochs 5 --k 4 --encoder 8 \
        --batch-size 3 --first-layer replicated
    $COMPARE "$TMP/prime.1.jsonl" "$TMP/prime-rep.$np.jsonl" --loss-rtol 1e-4 --metric-atol 2e-3 \
        || fail "prime: replicated first layer on np $np differs from sharded np 1"
done
echo "ranks: OK"
