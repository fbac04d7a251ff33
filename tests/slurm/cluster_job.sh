#!/usr/bin/env bash
# The Slurm launcher on a real Slurm: a private one-node cluster (tests/slurm/cluster.sh:
# munged + slurmctld + slurmd on localhost, state in a temporary directory) runs
#   1. launch/slurm/bivae.sbatch with 4 tasks (srun --mpi=pmix, CPU, synthetic ml-100k,
#      3 epochs) under `sbatch --wait`: the job must be COMPLETED with exit code 0:0, and its
#      metrics must come from one MPI world of 4 ranks and end with the final ndcg@10;
#   2. the preemption protocol through launch/slurm/submit.sh --wait, with
#      tests/slurm/fake_trainer.sh as the trainer: USR1 to the batch shell (what
#      --signal=B:USR1@120 sends before the time limit) -> forwarded to the ranks ->
#      checkpoint, exit 0 -> the script requeues the job -> it restarts with --resume and
#      completes.
# Then it stops exactly the daemons it started (by their pid files) and removes the directory,
# also when a check fails. SKIP (77) where Slurm or munge is missing or it is not root.
set -euo pipefail
: "${BIVAE:?}" "${BIVAE_SOURCE_DIR:?}"
S=$BIVAE_SOURCE_DIR
CLUSTER=$S/tests/slurm/cluster.sh
D=$(mktemp -d "${TMPDIR:-/tmp}/bivae-slurm-XXXXXX")
T0=$SECONDS
BUDGET=110   # seconds for everything before the stop (which takes about 4 s, at most ~50 s)
failed=0

fail() { echo "FAIL: $*" >&2; failed=1; exit 1; }

show() { local f; for f in "$@"; do [[ -s $f ]] && { echo "---- $f"; tail -n 40 "$f"; }; done; return 0; }

cleanup() {
    local rc=$?
    trap - EXIT
    if [[ $rc -ne 0 && $rc -ne 77 ]] || [[ $failed -eq 1 ]]; then
        show "$D"/job*.out "$D"/sbatch* "$D"/submit* "$D"/run2/starts.log "$D/slurm/slurmctld.log" "$D/slurm/slurmd.log" >&2
    fi
    if ! "$CLUSTER" stop "$D"; then echo "FAIL: stopping the private cluster" >&2; rc=1; fi
    rm -rf "$D"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# within SECONDS: sets limit to SECONDS, or less so that the test stays within its budget.
within() {
    local left=$(( BUDGET - (SECONDS - T0) ))
    (( left > 0 )) || fail "out of time (budget ${BUDGET} s)"
    limit=$(( $1 < left ? $1 : left ))
}

# wait_for SECONDS WHAT COMMAND...: poll COMMAND every 0.2 s until it succeeds.
wait_for() {
    local t what=$2
    within "$1"
    t=$(( limit * 5 ))
    shift 2
    until "$@" >/dev/null 2>&1; do
        (( t-- > 0 )) || fail "timed out waiting for $what"
        sleep 0.2
    done
}

# job_field JOB KEY: KEY=value from `scontrol show job JOB`.
job_field() {
    scontrol show job "$1" | grep -o "\b$2=[^ ]*" | head -n 1 | cut -d= -f2
}

# ---- the cluster ------------------------------------------------------------------------

rc=0
CLUSTER_TIMEOUT=20 "$CLUSTER" start "$D" 2>"$D/cluster.err" || rc=$?
if [[ $rc -eq 77 ]]; then cat "$D/cluster.err"; exit 77; fi
[[ $rc -eq 0 ]] || { cat "$D/cluster.err" >&2; fail "the private cluster did not start (exit $rc)"; }
cat "$D/cluster.err"
export SLURM_CONF=$D/slurm/slurm.conf
# Open MPI as root; 4 ranks on a 2-core machine: srun's direct launch does not tell Open MPI
# it is oversubscribed, so without this every rank busy-polls and an epoch takes seconds.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1
srun --mpi=list 2>&1 | grep -qw pmix || fail "this Slurm has no pmix MPI plugin (srun --mpi=list)"
cd "$D"

# ---- 1. the template, 4 tasks, the real trainer ---------------------------------------------

rc=0
within 60
timeout "$limit" env BIVAE_BIN="$BIVAE" BIVAE_DEVICE=cpu BIVAE_RUN_DIR="$D/run1" \
    sbatch --wait --parsable --job-name=bivae-e2e --nodes=1 --ntasks-per-node=4 \
    --gpus-per-node=0 --cpus-per-task=1 --time=3 --output="$D/job1-%j.out" \
    "$S/launch/slurm/bivae.sbatch" --synthetic ml-100k --epochs 3 --k 10 --encoder 20 --quiet \
    --metrics-out "$D/metrics1.jsonl" >"$D/sbatch1" 2>&1 || rc=$?
job=$(head -n 1 "$D/sbatch1" | cut -d';' -f1)
[[ $job =~ ^[0-9]+$ ]] || fail "sbatch gave no job id (exit $rc)"
[[ $rc -ne 124 ]] || fail "job $job did not end within $limit s"
[[ $rc -eq 0 ]] || fail "sbatch --wait: exit $rc for job $job"
state=$(job_field "$job" JobState) code=$(job_field "$job" ExitCode) tasks=$(job_field "$job" NumTasks)
[[ $state == COMPLETED ]] || fail "job $job: JobState=$state, want COMPLETED"
[[ $code == 0:0 ]] || fail "job $job: ExitCode=$code, want 0:0"
[[ $tasks == 4 ]] || fail "job $job: NumTasks=$tasks, want 4"
grep -q "srun --mpi=pmix" "$D/job1-$job.out" || fail "job $job: the template did not use srun --mpi=pmix"
grep -q "NDCG" "$D/job1-$job.out" || fail "job $job: no final metrics table in its output"
python3 - "$D/metrics1.jsonl" <<'PY' || fail "job $job: metrics"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
epochs = [l for l in lines if not l.get("final")]
final = [l for l in lines if l.get("final")]
assert len(epochs) == 3 and len(final) == 1, ("epochs", len(epochs), "final", len(final))
assert all(e["ranks"] == 4 for e in epochs), ("ranks", [e["ranks"] for e in epochs])
f = final[0]
assert 0 < f["ndcg@10"] <= 1 and f["users"] == 943, f
print("slurm job: 4 ranks, 3 epochs, final ndcg@10 %.4f over %d users" % (f["ndcg@10"], f["users"]))
PY
echo "slurm job $job: COMPLETED, ExitCode 0:0, 4 tasks ($(( SECONDS - T0 )) s so far)"

# ---- 2. time-limit signal -> checkpoint -> requeue -> --resume ------------------------------

within 60
BIVAE_BIN=$S/tests/slurm/fake_trainer.sh timeout "$limit" "$S/launch/slurm/submit.sh" -g 0 -n 4 -t 3 \
    -J bivae-requeue --run-dir "$D/run2" -o "$D/job2-%j.out" --wait -- --epochs 30 \
    >"$D/submit2" 2>&1 &
sub_pid=$!
ranks_started() { [[ -f $D/run2/starts.log && $(wc -l <"$D/run2/starts.log") -ge 4 ]]; }
wait_for 20 "the 4 ranks of the requeue job to start" ranks_started
job=$(squeue -h -n bivae-requeue -o %i | head -n 1)
[[ $job =~ ^[0-9]+$ ]] || fail "no running bivae-requeue job"
scancel --signal=USR1 --batch "$job" || fail "scancel --signal=USR1 --batch $job"
# The batch script requeues the job; Slurm then holds it (BeginTime, about 2 minutes): release it.
pending() { [[ $(squeue -h -j "$job" -o %T) == PENDING ]]; }
wait_for 20 "job $job to be requeued (PENDING)" pending
scontrol update JobId="$job" StartTime=now || fail "scontrol update JobId=$job StartTime=now"
rc=0
wait "$sub_pid" || rc=$?
[[ $rc -ne 124 ]] || fail "requeue job $job did not end within $limit s"
[[ $rc -eq 0 ]] || fail "submit.sh --wait: exit $rc for the requeue job $job"
[[ $(job_field "$job" JobState) == COMPLETED ]] || fail "job $job: not COMPLETED"
[[ $(job_field "$job" Restarts) == 1 ]] || fail "job $job: Restarts=$(job_field "$job" Restarts), want 1"
out=$D/job2-$job.out
grep -q "got SIGUSR1" "$out" || fail "job $job: the batch script did not get USR1"
grep -q "requeueing job $job" "$out" || fail "job $job: the batch script did not requeue"
[[ $(grep -c "checkpointed at epoch" "$out") -eq 4 ]] || fail "job $job: not all 4 ranks checkpointed"
log=$D/run2/starts.log
[[ $(grep -c "^restart=0 " "$log") -eq 4 ]] || fail "job $job: want 4 first starts"
[[ $(grep "^restart=0 " "$log" | grep -c -- "--resume") -eq 0 ]] || fail "job $job: first start with --resume"
[[ $(grep "^restart=1 " "$log" | grep -c -- "--resume") -eq 4 ]] || fail "job $job: want 4 restarts with --resume"
grep -q '"final":true' "$D/run2/metrics.jsonl" || fail "job $job: no final object after the resume"
grep -q '"epoch":30,"epochs":30' "$D/run2/metrics.jsonl" || fail "job $job: did not reach epoch 30"
echo "slurm requeue job $job: USR1 -> checkpoint -> requeue -> --resume -> COMPLETED ($(( SECONDS - T0 )) s so far)"
echo "slurm cluster: OK"
