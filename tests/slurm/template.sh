#!/usr/bin/env bash
# The Slurm batch template and its submit helper without Slurm: bash -n, --help, the srun and
# sbatch command lines they build (BIVAE_DRY_RUN / --dry-run), that every trainer flag the
# template adds is a real `bivae-dist train` flag, and their usage errors (exit 2).
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/../e2e/lib.sh"
S=$BIVAE_SOURCE_DIR
T=$S/launch/slurm/bivae.sbatch
SUB=$S/launch/slurm/submit.sh
for f in "$T" "$SUB" "$S/launch/mpirun.sh" "$S"/tests/slurm/*.sh; do
    bash -n "$f" || fail "bash -n $f"
done
for f in "$T" "$SUB"; do
    bash "$f" --help >"$TMP/help" 2>&1 || fail "$f --help: exit $?"
    grep -q "Exit status" "$TMP/help" || fail "$f --help: no usage text"
done

# the #SBATCH lines the preemption protocol needs
grep -q '^#SBATCH --signal=B:USR1@120' "$T" || fail "template: no --signal=B:USR1@120"
grep -q '^#SBATCH --requeue' "$T" || fail "template: no --requeue"
grep -q '^#SBATCH --open-mode=append' "$T" || fail "template: no --open-mode=append"

# dry ENV... -- ARGS...: the srun line of the template (outside Slurm) into $TMP/line
dry() {
    local envs=()
    while [[ $1 != -- ]]; do envs+=("$1"); shift; done
    shift
    env -u SLURM_JOB_ID -u SLURM_CPUS_PER_TASK BIVAE_DRY_RUN=1 BIVAE_RUN_DIR="$TMP/run" \
        "${envs[@]}" bash "$T" "$@" >"$TMP/line" 2>"$TMP/err" || { cat "$TMP/err"; fail "dry run: $*"; }
}
has() { grep -qF -- "$1" "$TMP/line" || { cat "$TMP/line"; fail "srun line lacks '$1'"; }; }
hasnt() { ! grep -qF -- "$1" "$TMP/line" || { cat "$TMP/line"; fail "srun line has '$1'"; }; }

dry -- --synthetic ml-1m --epochs 5
has "srun --mpi=pmix --kill-on-bad-exit=1 "
has "train --synthetic ml-1m --epochs 5 "
has "--device cuda --comm nccl"
has "--checkpoint-dir $TMP/run/checkpoints --checkpoint-every 10 --keep 2"
has "--metrics-out $TMP/run/metrics.jsonl"
hasnt "--resume"
hasnt "--gpus-per-task"
hasnt "--threads"

# every trainer flag the template adds exists in `bivae-dist train --help`
"$BIVAE" train --help >"$TMP/trainhelp"
sed 's/.* train //' "$TMP/line" | grep -o -- '--[a-z-]*' | sort -u >"$TMP/flags"
[[ $(wc -l <"$TMP/flags") -ge 6 ]] || fail "template: too few trainer flags in the srun line"
while read -r flag; do
    grep -q -- "^  $flag\b" "$TMP/trainhelp" || fail "template uses $flag, not in bivae-dist train --help"
done <"$TMP/flags"

dry BIVAE_DEVICE=cpu BIVAE_GPUS_PER_TASK=1 BIVAE_CHECKPOINT_EVERY=3 BIVAE_KEEP=5 \
    SLURM_CPUS_PER_TASK=4 BIVAE_SRUN_ARGS="--cpu-bind=cores -l" -- --synthetic ml-100k
has "--cpus-per-task=4 --gpus-per-task=1 --cpu-bind=cores -l "
has "--device cpu --comm mpi --threads 4"
has "--checkpoint-every 3 --keep 5"

# flags given by the user win, and are not given twice
dry SLURM_CPUS_PER_TASK=4 -- --synthetic ml-100k --device=cpu --threads 2 --checkpoint-dir "$TMP/ck" --resume
has "--device=cpu --threads 2 --checkpoint-dir $TMP/ck --resume --comm nccl --checkpoint-every"
[[ $(grep -o -- "--threads" "$TMP/line" | wc -l) -eq 1 ]] || fail "--threads given twice"
[[ $(grep -o -- "--resume" "$TMP/line" | wc -l) -eq 1 ]] || fail "--resume given twice"
hasnt "--device cuda"

# --resume: auto when the checkpoint directory holds something; always; never
mkdir -p "$TMP/run/checkpoints"
dry -- --synthetic ml-100k; hasnt "--resume"
touch "$TMP/run/checkpoints/something"
dry -- --synthetic ml-100k; has "--resume"
dry BIVAE_RESUME=never -- --synthetic ml-100k; hasnt "--resume"
rm "$TMP/run/checkpoints/something"
dry BIVAE_RESUME=always -- --synthetic ml-100k; has "--resume"
# --overwrite: a new run on the first start (no --resume added); a requeued start resumes it
touch "$TMP/run/checkpoints/something"
dry -- --synthetic ml-100k --overwrite; has "--overwrite"; hasnt "--resume"
dry SLURM_RESTART_COUNT=1 -- --synthetic ml-100k --overwrite; hasnt "--overwrite"; has "--resume"
rm "$TMP/run/checkpoints/something"

# NCCL debug switch: the variables reach the ranks through the environment srun passes on
dry BIVAE_NCCL_DEBUG=INFO -- --synthetic ml-100k
grep -q "environment: .*NCCL_DEBUG=INFO NCCL_DEBUG_FILE=$TMP/run/nccl-%h-%p.log NCCL_DEBUG_SUBSYS=INIT,NET " "$TMP/err" \
    || { cat "$TMP/err"; fail "BIVAE_NCCL_DEBUG=INFO: NCCL variables not exported"; }

# usage errors: exit 2 with one line naming the problem
expect_exit 2 "no training flags" env BIVAE_DRY_RUN=1 bash "$T"
expect_exit 2 "not inside a Slurm job" env -u SLURM_JOB_ID bash "$T" --synthetic ml-100k
expect_exit 2 "BIVAE_DEVICE=gpu" env BIVAE_DRY_RUN=1 BIVAE_DEVICE=gpu bash "$T" --x
expect_exit 2 "BIVAE_RESUME=yes" env BIVAE_DRY_RUN=1 BIVAE_RESUME=yes bash "$T" --x
expect_exit 2 "BIVAE_CHECKPOINT_EVERY=ten" env BIVAE_DRY_RUN=1 BIVAE_CHECKPOINT_EVERY=ten bash "$T" --x
expect_exit 2 "BIVAE_NCCL_DEBUG=LOUD" env BIVAE_DRY_RUN=1 BIVAE_NCCL_DEBUG=LOUD bash "$T" --x
expect_exit 3 "not an executable" env SLURM_JOB_ID=1 BIVAE_BIN=/nonexistent bash "$T" --x

# submit.sh: N nodes x G GPUs, CPU-only, and its usage errors
"$SUB" --dry-run -N 2 -g 8 -t 08:00:00 -p gpu -- --synthetic ml-20m >"$TMP/line"
has "BIVAE_DEVICE=cuda sbatch --nodes=2 --ntasks-per-node=8 --gpus-per-node=8 --cpus-per-task=8 --export=ALL --time=08:00:00 --partition=gpu $T --synthetic ml-20m"
"$SUB" --dry-run -g 0 -n 4 --run-dir /r --resume never --nccl-debug WARN --gpus-per-task --wait \
    --sbatch=--exclusive -- --synthetic ml-100k >"$TMP/line"
has "BIVAE_DEVICE=cpu BIVAE_RUN_DIR=/r BIVAE_RESUME=never BIVAE_GPUS_PER_TASK=1 BIVAE_NCCL_DEBUG=WARN sbatch --nodes=1 --ntasks-per-node=4 --gpus-per-node=0 --cpus-per-task=1"
has "--wait --parsable --exclusive $T --synthetic ml-100k"
expect_exit 2 "needs --tasks-per-node" "$SUB" --dry-run -g 0 -- --x
expect_exit 2 "one rank per GPU" "$SUB" --dry-run -g 8 -n 4 -- --x
expect_exit 2 "needs --gpus-per-node > 0" "$SUB" --dry-run -g 0 -n 2 --device cuda -- --x
expect_exit 2 "unknown option --bogus" "$SUB" --bogus -- --x
expect_exit 2 "no training flags" "$SUB" -N 2
expect_exit 2 "--nodes 0" "$SUB" -N 0 -- --x
echo "slurm template: OK"
