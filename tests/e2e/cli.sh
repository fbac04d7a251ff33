#!/usr/bin/env bash
# The binary's contract with users and scripts: help, version, exit codes 0/2/3, one clear
# error line naming the flag or FILE:LINE, and no partial output files.
source "$(dirname "$0")/lib.sh"
# (the help is read whole first: `| grep -q` under pipefail fails when grep stops reading
# before the binary has written everything, and the binary dies of SIGPIPE)
help=$("$BIVAE" --help) && grep -q "train" <<<"$help" || fail "--help lacks the train command"
help=$("$BIVAE" train --help) && grep -q -- "--batch-size" <<<"$help" \
    || fail "train --help lacks --batch-size"
"$BIVAE" --version | grep -Eq "^bivae-dist [0-9]" || fail "--version"
expect_exit 2 "--k" "$BIVAE" train --synthetic ml-100k --k zero
expect_exit 2 "--frobnicate" "$BIVAE" train --synthetic ml-100k --frobnicate 1
expect_exit 2 "no training data" "$BIVAE" train
expect_exit 2 "--synthetic" "$BIVAE" train --synthetic 10x10
# --threads above the cores this rank may run on (its affinity mask): exit 2 naming the flag
# and the cores, once, on every rank (today's alternative: 100000 threads crash OpenMP)
mine=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)   # this process's affinity mask
tiny=(train --synthetic 60x50x1300 --epochs 1 --k 2 --encoder 4 --quiet)
expect_exit 2 "error: --threads $((mine + 1)): rank 0 may run on only $mine (core|of the node)" \
    "$BIVAE" "${tiny[@]}" --threads $((mine + 1))
one_core=$(taskset -cp $$ | sed 's/.*: //; s/[,-].*//')   # the first core of our mask
online=$(getconf _NPROCESSORS_ONLN)
expect_exit 2 "error: --threads 2: rank 0 may run on only 1 (core|of the node's $online cores \(its CPU affinity)" \
    taskset -c "$one_core" "$BIVAE" "${tiny[@]}" --threads 2
expect_exit 2 "error: --threads $((mine + 1)): rank [01] may run" \
    "$MPIRUN" -np 2 --oversubscribe --bind-to none "$BIVAE" "${tiny[@]}" --threads $((mine + 1))
[[ $(grep -c "error:" "$TMP/err") -eq 1 ]] || fail "--threads on 2 ranks: not exactly one error line"
"$BIVAE" "${tiny[@]}" --threads "$mine" >/dev/null || fail "--threads $mine (the cores this rank has) refused"
# --device cuda without a usable GPU: one line saying why, exit 3; GPU-only settings where
# --device auto falls back to the CPU: exit 2 on every rank, one line, never ignored.
# (CUDA_VISIBLE_DEVICES="" hides any GPU this machine may have.)
nodev="this build has no CUDA backend: it was built without nvcc"
[[ ${BIVAE_HAVE_CUDA:?} == ON ]] && nodev="no NVIDIA driver / no GPU found"
CUDA_VISIBLE_DEVICES="" expect_exit 3 "error: --device cuda: rank 0: $nodev" \
    "$BIVAE" "${tiny[@]}" --device cuda
grep -q "insufficient" "$TMP/err" && fail "--device cuda: the runtime's version text instead of the reason"
CUDA_VISIBLE_DEVICES="" expect_exit 2 \
    "error: --precision bf16 needs a GPU, but --device auto found none on rank 0 \($nodev.*\): drop --precision bf16 to train on the CPU" \
    "$BIVAE" "${tiny[@]}" --precision bf16
CUDA_VISIBLE_DEVICES="" expect_exit 2 "error: --precision tf32 needs a GPU, but --device auto found none on rank [01]" \
    "$MPIRUN" -np 2 --oversubscribe -x CUDA_VISIBLE_DEVICES "$BIVAE" "${tiny[@]}" --threads 1 --precision tf32
[[ $(grep -c "error:" "$TMP/err") -eq 1 ]] || fail "--precision on 2 ranks: not exactly one error line"
CUDA_VISIBLE_DEVICES="" expect_exit 2 "error: --comm nccl needs a GPU, but --device auto found none" \
    "$BIVAE" "${tiny[@]}" --comm nccl
CUDA_VISIBLE_DEVICES="" "$BIVAE" "${tiny[@]}" --precision fp32 >/dev/null || fail "--precision fp32 on the CPU"
# bad input files: one line naming FILE:LINE, exit 2, also when 3 ranks read the file
printf '1\t2\t5\n1\t3\t4\n7\t\t5\n' >"$TMP/bad.tsv"
expect_exit 2 "bad.tsv:3:" "$BIVAE" train --data "$TMP/bad.tsv" --epochs 1
expect_exit 2 "bad.tsv:3:" "$MPIRUN" -np 3 --oversubscribe "$BIVAE" train --data "$TMP/bad.tsv" --epochs 1
[[ $(grep -c "bad.tsv:3:" "$TMP/err") -eq 1 ]] || fail "the error line is not printed exactly once"
: >"$TMP/empty.csv"
expect_exit 2 "empty.csv" "$BIVAE" train --data "$TMP/empty.csv" --epochs 1
expect_exit 2 "cannot open" "$BIVAE" train --data "$TMP/missing.tsv" --epochs 1
# --metrics-out: its folder is made as mkdir -p does; a path that cannot be used is the
# user's (exit 2), named on one line
"$BIVAE" train --synthetic 40x60x1000 --epochs 1 --quiet --metrics-out "$TMP/new/dir/m.jsonl" >/dev/null \
    && [[ -s $TMP/new/dir/m.jsonl ]] || fail "--metrics-out in a folder to make"
: >"$TMP/plain"
expect_exit 2 "^bivae-dist: error: --metrics-out $TMP/plain/m.jsonl: cannot create its folder: $TMP/plain: not a directory$" \
    "$BIVAE" train --synthetic ml-100k --epochs 1 --metrics-out "$TMP/plain/m.jsonl"
rm -r "$TMP/new" "$TMP/plain"
# gen writes a complete file readable back by train
"$BIVAE" gen --synthetic 40x60x1000 --out "$TMP/g.tsv" --seed 3
[[ $(wc -l <"$TMP/g.tsv") -eq 1000 ]] || fail "gen wrote $(wc -l <"$TMP/g.tsv") lines, want 1000"
"$BIVAE" train --data "$TMP/g.tsv" --epochs 1 --k 2 --encoder 4 --quiet >/dev/null || fail "train on gen output"
ls "$TMP" | grep -v -E '^(bad.tsv|empty.csv|g.tsv|out|err)$' && fail "stray files left in the output directory"
echo "cli: OK"
