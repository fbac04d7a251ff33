#!/usr/bin/env bash
# Multi-node item 3: the Slurm template on 2 nodes. A private cluster over the test bed
# (tests/slurm/cluster.sh start DIR --bed 2: one slurmd per host namespace, slurmctld as
# bivae-ctl, one munged) runs launch/slurm/bivae.sbatch with sbatch -N 2 --ntasks-per-node=2
# (CPU, srun --mpi=pmix, the data file generated once at one path that both hosts see):
#   1. the job is COMPLETED with ExitCode 0:0 on bivae-h[1-2], its metrics say 4 ranks on
#      2 hosts (2 per host) and end with the final metrics;
#   2. the time-limit path with the real trainer on both nodes: USR1 to the batch shell (what
#      --signal=B:USR1@120 sends) -> srun forwards it to the 4 ranks -> they stop at a step
#      boundary and rank 0 writes the checkpoint -> the script requeues the job -> its
#      restart resumes on both nodes (every rank reads the checkpoint) and completes; the
#      metrics file is that of one uninterrupted run: the same model as job 1's (bit-identical
#      losses: the same 4 ranks on the same 2 hosts).
# Then it stops the daemons (by their pid files) and the bed, also when a check fails.
# SKIP (77) without Slurm, munge, root or namespaces.
# shellcheck source=tests/multinode/lib.sh
source "$(dirname "$0")/lib.sh"
S=$BIVAE_SOURCE_DIR
CLUSTER=$S/tests/slurm/cluster.sh
D=""   # (its own directory under /tmp: munged, as the munge user, must reach it)
for cmd in munged slurmctld slurmd sbatch srun scontrol; do
    command -v "$cmd" >/dev/null || { echo "SKIP: $cmd not installed (launch/install-deps.sh --with-slurm)"; exit 77; }
done
mn_up 2
mn_extra_cleanup() {
    [[ -n $D ]] || return 0
    "$CLUSTER" stop "$D" || { echo "FAIL: stopping the private cluster" >&2; return 1; }
    rm -rf "$D"
}
D=$(mktemp -d "${TMPDIR:-/tmp}/bivae-mn-slurm-XXXXXX")
MN_SHOW="$TMP/cluster.err $TMP/job1.out $TMP/submit2 $TMP/job2.out $D/slurm/slurmctld.log $D/slurm/slurmd-bivae-h1.log $D/slurm/slurmd-bivae-h2.log"
CLUSTER_TIMEOUT=20 "$CLUSTER" start "$D" --bed 2 2>"$TMP/cluster.err" || fail "the 2-node cluster did not start"
export SLURM_CONF=$D/slurm/slurm.conf
export OMPI_MCA_btl_tcp_if_include=198.51.100.0/24 OMPI_MCA_oob_tcp_if_include=198.51.100.0/24
[[ $(sinfo -h -o %D) == 2 ]] || fail "sinfo: not 2 nodes"

job_field() { scontrol show job "$1" | grep -o "\b$2=[^ ]*" | head -n 1 | cut -d= -f2; }
mkdir -p "$TMP/data"
"$BIVAE" gen --synthetic ml-100k --out "$TMP/data/ratings.tsv" >/dev/null 2>&1 || fail "gen"
ARGS=(--data "$TMP/data/ratings.tsv" --k 10 --encoder 20 --batch-size 100)

# ---- 1. two nodes, COMPLETED 0:0 ------------------------------------------------------------
rc=0
timeout 90 env BIVAE_BIN="$BIVAE" BIVAE_DEVICE=cpu BIVAE_RUN_DIR="$TMP/run1" \
    sbatch --wait --parsable -J mn-e2e -N 2 --ntasks-per-node=2 --gpus-per-node=0 \
    --cpus-per-task=1 --time=3 --output="$TMP/job1.out" "$S/launch/slurm/bivae.sbatch" \
    "${ARGS[@]}" --epochs 40 --quiet >"$TMP/sbatch1" 2>&1 || rc=$?
job=$(head -n 1 "$TMP/sbatch1" | cut -d';' -f1)
[[ $job =~ ^[0-9]+$ ]] || fail "sbatch gave no job id (exit $rc): $(cat "$TMP/sbatch1")"
[[ $rc -eq 0 ]] || fail "sbatch --wait: exit $rc for job $job"
[[ $(job_field "$job" JobState) == COMPLETED ]] || fail "job $job: JobState=$(job_field "$job" JobState)"
[[ $(job_field "$job" ExitCode) == 0:0 ]] || fail "job $job: ExitCode=$(job_field "$job" ExitCode)"
[[ $(job_field "$job" NodeList) == "bivae-h[1-2]" ]] || fail "job $job: NodeList=$(job_field "$job" NodeList)"
grep -q "on 2 node(s) \[bivae-h\[1-2\]\], 4 ranks" "$TMP/job1.out" || fail "job $job: the template did not report 2 nodes, 4 ranks"
json_check "$TMP/run1/metrics.jsonl" '
assert len(epochs) == 40 and final, (len(epochs), final)
assert all(e["ranks"] == 4 and e["hosts"] == 2 and e["ranks_per_host"] == 2 for e in epochs), epochs[0]
assert 0 < final["ndcg@10"] <= 1, final' || fail "job $job: metrics"
echo "slurm 2-node job $job: COMPLETED 0:0 on bivae-h[1-2], 4 ranks on 2 hosts ($SECONDS s so far)"

# ---- 2. USR1 -> checkpoint -> requeue -> --resume on both nodes -------------------------------
# (through launch/submit.sh --wait: sbatch --wait alone returns 1 for a job that requeued)
BIVAE_BIN=$BIVAE timeout 120 "$S/launch/slurm/submit.sh" -N 2 -g 0 -n 2 -t 3 -J mn-requeue \
    --run-dir "$TMP/run2" --checkpoint-every 0 -o "$TMP/job2.out" --wait -- \
    "${ARGS[@]}" --epochs 40 --quiet >"$TMP/submit2" 2>&1 &
sub=$!
at_epoch() { [[ -s $TMP/run2/metrics.jsonl ]] && grep -q '"epoch":2,' "$TMP/run2/metrics.jsonl"; }
t=300
until at_epoch; do (( t-- > 0 )) || fail "job 2 did not reach epoch 2 in 30 s"; sleep 0.1; done
job=$(squeue -h -n mn-requeue -o %i | head -n 1)
[[ $job =~ ^[0-9]+$ ]] || fail "no running mn-requeue job"
scancel --signal=USR1 --batch "$job" || fail "scancel --signal=USR1 --batch $job"
pending() { [[ $(squeue -h -j "$job" -o %T) == PENDING ]]; }
t=300
until pending; do (( t-- > 0 )) || fail "job $job was not requeued (PENDING) within 30 s"; sleep 0.1; done
# Slurm would hold the requeued job for about 2 minutes; release it once the first start's
# steps are gone from both nodes (idle, and the pmix plugin's per-step directory removed: the
# restart's step has the same id and name), or its launch can race their cleanup.
settled() {
    [[ $(sinfo -h -n bivae-h1,bivae-h2 -o %T | sort -u) == idle ]] &&
        ! compgen -G "$D/slurm/tmp-bivae-h*/spmix_appdir_*" >/dev/null
}
t=600 t0=$SECONDS
until settled; do (( t-- > 0 )) || fail "the nodes did not settle within 60 s of the requeue"; sleep 0.1; done
echo "requeued job $job: nodes idle after $(( SECONDS - t0 )) s"
scontrol update JobId="$job" StartTime=now || fail "scontrol update JobId=$job StartTime=now"
rc=0
wait "$sub" || rc=$?
[[ $rc -eq 0 ]] || fail "submit.sh --wait: exit $rc for the requeued job $job: $(cat "$TMP/submit2")"
[[ $(job_field "$job" JobState) == COMPLETED && $(job_field "$job" ExitCode) == 0:0 ]] \
    || fail "job $job: $(job_field "$job" JobState) $(job_field "$job" ExitCode)"
[[ $(job_field "$job" Restarts) == 1 ]] || fail "job $job: Restarts=$(job_field "$job" Restarts), want 1"
out=$TMP/job2.out
grep -q "got SIGUSR1" "$out" || fail "job $job: the batch script did not get USR1"
grep -q "requeueing job $job" "$out" || fail "job $job: the batch script did not requeue"
grep -q "restart 1) on 2 node(s) \[bivae-h\[1-2\]\]" "$out" || fail "job $job: the restart is not on both nodes"
grep -q -- "--resume" <(grep "restart 1" -A 3 "$out") || fail "job $job: the restart did not pass --resume"
compgen -G "$TMP/run2/checkpoints/ckpt-*.bvck" >/dev/null || fail "job $job: no checkpoint"
json_check "$TMP/run2/metrics.jsonl" '
assert [e["epoch"] for e in epochs] == list(range(1, 41)) and final, [e["epoch"] for e in epochs]
assert all(e["hosts"] == 2 and e["ranks_per_host"] == 2 for e in epochs)' || fail "job $job: metrics"
$COMPARE "$TMP/run1/metrics.jsonl" "$TMP/run2/metrics.jsonl" --exact \
    || fail "job $job: stopped, requeued and resumed on 2 nodes: not the uninterrupted job's model"
echo "slurm 2-node requeue job $job: USR1 -> checkpoint -> requeue -> --resume on bivae-h[1-2] -> COMPLETED, the same model ($SECONDS s)"
