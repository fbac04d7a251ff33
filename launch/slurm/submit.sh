#!/usr/bin/env bash
# launch/slurm/submit.sh — submit launch/slurm/bivae.sbatch for N nodes x G GPUs (or CPU ranks)
# with flags instead of hand-written sbatch options.
#
#   launch/slurm/submit.sh [options] [--] TRAIN-FLAGS...
#
#   -N, --nodes N             nodes (default: 1)
#   -g, --gpus-per-node G     GPUs per node, one rank each (default: 8); 0: CPU-only nodes
#   -n, --tasks-per-node T    ranks per node (default: G; required with -g 0)
#   -c, --cpus-per-task C     cores per rank (default: 8 with GPUs, 1 without)
#   -t, --time T              time limit, e.g. 04:00:00 (default: the template's)
#   -p, --partition P         partition (default: the site's)
#   -A, --account A           account (default: the site's)
#   -J, --job-name NAME       job name (default: bivae)
#   -o, --output FILE         job output file (default: bivae-%j.out in the current directory)
#       --device cuda|cpu     (default: cuda with GPUs, cpu with -g 0)
#       --run-dir DIR         checkpoints/ and metrics.jsonl (default: ./runs/JOBID)
#       --checkpoint-every N  epochs between checkpoints (default: 10)
#       --resume auto|always|never   (default: auto: resume when the checkpoint dir is not empty)
#       --gpus-per-task       each rank sees only its own GPU (srun --gpus-per-task=1)
#       --nccl-debug LEVEL    WARN, INFO or TRACE (logs in the run dir)
#       --sbatch ARG          one more sbatch argument (repeatable), e.g. --sbatch=--exclusive
#       --wait                wait for the job to end; exit 0 only if its state is COMPLETED
#                             with exit code 0:0 (sbatch --wait alone returns 0 for a
#                             cancelled job)
#       --dry-run             print the sbatch command line and exit
#   -h, --help
#
# Example: 2 nodes x 8 GPUs on ML-20M
#   launch/slurm/submit.sh -N 2 -g 8 -t 08:00:00 -- --data ml-20m/ratings.csv --k 50 --encoder 100
# The BIVAE_* variables of bivae.sbatch may be set in the environment instead of these flags.
# Exit status: 0 submitted (with --wait: completed); 2 bad usage; 3 sbatch failed or (with
# --wait) the job did not complete successfully. With --wait the job id is printed first.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
template=$root/launch/slurm/bivae.sbatch

usage() { awk 'NR > 1 && (!/^#/ || /^#SBATCH/) { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; }
die() { echo "submit: error: $*" >&2; exit "${2:-2}"; }

nodes=1 gpus=8 tasks="" cpus="" time="" partition="" account="" name="" output=""
device="" run_dir="" ckpt_every="" resume="" per_task=0 nccl_debug="" wait=0 dry_run=0
more=()
need() { [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value"; }
while [[ $# -gt 0 ]]; do
    opt=$1
    if [[ $opt == --*=* ]]; then set -- "${opt%%=*}" "${opt#*=}" "${@:2}"; opt=$1; fi
    case $opt in
    -N | --nodes) need "$@"; nodes=$2; shift 2 ;;
    -g | --gpus-per-node) need "$@"; gpus=$2; shift 2 ;;
    -n | --tasks-per-node) need "$@"; tasks=$2; shift 2 ;;
    -c | --cpus-per-task) need "$@"; cpus=$2; shift 2 ;;
    -t | --time) need "$@"; time=$2; shift 2 ;;
    -p | --partition) need "$@"; partition=$2; shift 2 ;;
    -A | --account) need "$@"; account=$2; shift 2 ;;
    -J | --job-name) need "$@"; name=$2; shift 2 ;;
    -o | --output) need "$@"; output=$2; shift 2 ;;
    --device) need "$@"; device=$2; shift 2 ;;
    --run-dir) need "$@"; run_dir=$2; shift 2 ;;
    --checkpoint-every) need "$@"; ckpt_every=$2; shift 2 ;;
    --resume) need "$@"; resume=$2; shift 2 ;;
    --gpus-per-task) per_task=1; shift ;;
    --nccl-debug) need "$@"; nccl_debug=$2; shift 2 ;;
    --sbatch) need "$@"; more+=("$2"); shift 2 ;;
    --wait) wait=1; shift ;;
    --dry-run) dry_run=1; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    -*) # the first unknown flag starts the training flags only after --
        die "unknown option $opt (training flags go after --; see --help)" ;;
    *) break ;;
    esac
done
[[ $# -gt 0 ]] || die "no training flags after -- (e.g. -- --synthetic ml-20m --epochs 100)"

posint() { [[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 $2: want a positive integer"; }
posint --nodes "$nodes"
[[ $gpus =~ ^[0-9]+$ ]] || die "--gpus-per-node $gpus: want a number (0: CPU-only)"
if [[ -z $tasks ]]; then
    [[ $gpus -gt 0 ]] || die "--gpus-per-node 0 (CPU-only) needs --tasks-per-node"
    tasks=$gpus
fi
posint --tasks-per-node "$tasks"
cpus=${cpus:-$([[ $gpus -gt 0 ]] && echo 8 || echo 1)}
posint --cpus-per-task "$cpus"
device=${device:-$([[ $gpus -gt 0 ]] && echo cuda || echo cpu)}
case $device in cuda | cpu) ;; *) die "--device $device: want cuda or cpu" ;; esac
[[ $device == cpu || $gpus -gt 0 ]] || die "--device cuda needs --gpus-per-node > 0"
if [[ $device == cuda && $tasks -ne $gpus ]]; then
    die "--tasks-per-node $tasks with --gpus-per-node $gpus: one rank per GPU wants them equal"
fi
[[ -f $template ]] || die "$template missing" 3

sb=(sbatch --nodes="$nodes" --ntasks-per-node="$tasks" --gpus-per-node="$gpus"
    --cpus-per-task="$cpus" --export=ALL)
[[ -z $time ]] || sb+=(--time="$time")
[[ -z $partition ]] || sb+=(--partition="$partition")
[[ -z $account ]] || sb+=(--account="$account")
[[ -z $name ]] || sb+=(--job-name="$name")
[[ -z $output ]] || sb+=(--output="$output")
[[ $wait -eq 0 ]] || sb+=(--wait --parsable)
sb+=("${more[@]}" "$template" "$@")

env_vars=(BIVAE_ROOT="$root" BIVAE_DEVICE="$device")
[[ -z $run_dir ]] || env_vars+=(BIVAE_RUN_DIR="$run_dir")
[[ -z $ckpt_every ]] || env_vars+=(BIVAE_CHECKPOINT_EVERY="$ckpt_every")
[[ -z $resume ]] || env_vars+=(BIVAE_RESUME="$resume")
[[ $per_task -eq 0 ]] || env_vars+=(BIVAE_GPUS_PER_TASK=1)
[[ -z $nccl_debug ]] || env_vars+=(BIVAE_NCCL_DEBUG="$nccl_debug")

if [[ $dry_run -eq 1 ]]; then
    printf '%q ' env "${env_vars[@]}" "${sb[@]}"; echo
    exit 0
fi
command -v sbatch >/dev/null || die "sbatch not found: is this a Slurm login node?" 3
if [[ $wait -eq 0 ]]; then
    env "${env_vars[@]}" "${sb[@]}" || die "sbatch failed" 3
    exit 0
fi

# --wait: sbatch prints the job id at submission, then returns when the job ends.
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
env "${env_vars[@]}" "${sb[@]}" >"$out" || rc=$?
job=$(head -n 1 "$out" | cut -d';' -f1)
[[ $job =~ ^[0-9]+$ ]] || die "sbatch failed (exit $rc): no job id" 3
echo "$job"
info=$(scontrol show job "$job" 2>/dev/null) || die "job $job: scontrol show job failed (sbatch exit $rc)" 3
state=$(grep -o 'JobState=[A-Z_]*' <<<"$info" | head -n 1 | cut -d= -f2)
code=$(grep -o ' ExitCode=[0-9:]*' <<<"$info" | head -n 1 | cut -d= -f2)
if [[ $state != COMPLETED || $code != 0:0 ]]; then
    die "job $job ended $state with exit code $code (sbatch exit $rc)" 3
fi
echo "submit: job $job COMPLETED, exit code 0:0" >&2
