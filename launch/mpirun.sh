#!/usr/bin/env bash
# launch/mpirun.sh — bivae-dist on one node with mpirun: ranks, threads and core binding
# chosen from the machine, one BLAS thread per rank, an NCCL debug switch.
#
#   launch/mpirun.sh [options] [--] [train|eval|recommend|export|gen] FLAGS...
#
#   -n, --np N            ranks (default: $NP, else one per GPU that nvidia-smi lists, else one
#                         per physical core)
#   -t, --threads T       CPU threads per rank, passed as --threads T unless the flags give it
#                         (default: cores / ranks, at least 1)
#       --bind core|none  core: each rank bound to its own T cores (--map-by slot:PE=T
#                         --bind-to core); none: no binding. Default: core when ranks x T fit
#                         on the cores, else none with --oversubscribe (it runs, but slowly)
#       --nccl-debug L    WARN, INFO or TRACE: NCCL_DEBUG=L (INFO adds NCCL_DEBUG_SUBSYS=INIT,NET)
#       --bin PATH        the binary (default: $BIVAE_BIN, else build/bivae-dist of this checkout)
#       --mpirun-arg A    one more mpirun argument (repeatable), e.g. --mpirun-arg=--report-bindings
#       --dry-run         print the command line and exit
#   -h, --help
#
# The command defaults to train. Examples:
#   launch/mpirun.sh -n 4 -- --synthetic ml-1m --k 50 --encoder 100 --epochs 100
#   launch/mpirun.sh --nccl-debug INFO -- --device cuda --data ml-20m/ratings.csv
# Environment: NP, BIVAE_BIN, BIVAE_BIND, BIVAE_NCCL_DEBUG (as the flags); MPIRUN (default:
# mpirun); OPENBLAS_NUM_THREADS (default 1; bivae-dist sets its own thread count). As root the
# Open MPI run-as-root variables are set (launch/env.sh).
# Exit status: bivae-dist's (0 success, 2 bad usage or input, 3 runtime failure); 2 bad usage
# of this script; 3 mpirun or the binary missing.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() { awk 'NR > 1 && (!/^#/ || /^#SBATCH/) { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; }
die() { echo "mpirun.sh: error: $*" >&2; exit "${2:-2}"; }

np=${NP:-} threads="" bind=${BIVAE_BIND:-} nccl_debug=${BIVAE_NCCL_DEBUG:-}
bin=${BIVAE_BIN:-$root/build/bivae-dist} dry_run=0 more=()
need() { [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value"; }
while [[ $# -gt 0 ]]; do
    opt=$1
    if [[ $opt == --*=* ]]; then set -- "${opt%%=*}" "${opt#*=}" "${@:2}"; opt=$1; fi
    case $opt in
    -n | --np) need "$@"; np=$2; shift 2 ;;
    -t | --threads) need "$@"; threads=$2; shift 2 ;;
    --bind) need "$@"; bind=$2; shift 2 ;;
    --nccl-debug) need "$@"; nccl_debug=$2; shift 2 ;;
    --bin) need "$@"; bin=$2; shift 2 ;;
    --mpirun-arg) need "$@"; more+=("$2"); shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    *) break ;;   # the first bivae-dist argument
    esac
done
case ${1:-} in
train | eval | recommend | export | gen) cmd=$1; shift ;;
*) cmd=train ;;
esac
args=("$@")

# has_flag NAME: true if the bivae-dist flags contain --NAME (--NAME V or --NAME=V).
has_flag() {
    local a
    for a in "${args[@]}"; do [[ $a == "--$1" || $a == "--$1="* ]] && return 0; done
    return 1
}

# physical cores (Open MPI binds to cores, not hardware threads), at most the CPUs we may use
cores=$(nproc 2>/dev/null || echo 1)
if command -v lscpu >/dev/null; then
    phys=$(lscpu -p=core,socket 2>/dev/null | grep -v '^#' | sort -u | wc -l)
    if [[ $phys -gt 0 && $phys -lt $cores ]]; then cores=$phys; fi
fi
if [[ -z $np ]]; then
    gpus=0
    if command -v nvidia-smi >/dev/null; then gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true); fi
    np=$(( gpus > 0 ? gpus : cores ))
fi
[[ $np =~ ^[1-9][0-9]*$ ]] || die "--np $np: want a positive integer"
if has_flag threads; then   # the trainer's own --threads decides the binding width
    given=$(for ((i = 0; i < ${#args[@]}; i++)); do
        case ${args[i]} in --threads) echo "${args[i + 1]:-}" ;; --threads=*) echo "${args[i]#*=}" ;; esac
    done | head -n 1)
    [[ -z $threads || $threads == "$given" ]] || die "-t $threads and --threads $given disagree"
    threads=$given
fi
if [[ -z $threads || $threads == 0 ]]; then threads=$(( cores / np > 0 ? cores / np : 1 )); fi
[[ $threads =~ ^[1-9][0-9]*$ ]] || die "--threads $threads: want a positive integer"
fits=$(( np * threads <= cores ))
bind=${bind:-$([[ $fits -eq 1 ]] && echo core || echo none)}
case $bind in core | none) ;; *) die "--bind $bind: want core or none" ;; esac
case $nccl_debug in "" | WARN | INFO | TRACE) ;; *) die "--nccl-debug $nccl_debug: want WARN, INFO or TRACE" ;; esac
mpirun=${MPIRUN:-mpirun}
if [[ $dry_run -eq 0 ]]; then
    command -v "$mpirun" >/dev/null || die "$mpirun not found (launch/install-deps.sh installs Open MPI)" 3
    [[ -x $bin ]] || die "$bin: not an executable (build with launch/build.sh, or pass --bin)" 3
fi

# shellcheck disable=SC1091  # (launch/env.sh: OPENBLAS_NUM_THREADS=1 unless set; Open MPI as root)
source "$root/launch/env.sh"
if [[ -n $nccl_debug ]]; then
    export NCCL_DEBUG=$nccl_debug
    [[ $nccl_debug == WARN ]] || export NCCL_DEBUG_SUBSYS=${NCCL_DEBUG_SUBSYS:-INIT,NET}
fi

run=("$mpirun" -np "$np")
if [[ $bind == core ]]; then
    [[ $fits -eq 1 ]] || die "--bind core: $np ranks x $threads threads need $(( np * threads )) cores, this node has $cores"
    run+=(--map-by "slot:PE=$threads" --bind-to core)
else
    run+=(--bind-to none)
    [[ $fits -eq 1 ]] || run+=(--oversubscribe)
fi
for v in OPENBLAS_NUM_THREADS OMP_NUM_THREADS NCCL_DEBUG NCCL_DEBUG_SUBSYS CUDA_VISIBLE_DEVICES; do
    if [[ -n ${!v:-} ]]; then run+=(-x "$v"); fi
done
run+=("${more[@]}" "$bin" "$cmd" "${args[@]}")
if [[ $cmd == train ]] && ! has_flag threads; then run+=(--threads "$threads"); fi

if [[ $dry_run -eq 1 ]]; then printf '%q ' "${run[@]}"; echo; exit 0; fi
[[ $fits -eq 1 ]] || echo "mpirun.sh: note: $np ranks x $threads threads on $cores cores: oversubscribed, unbound" >&2
exec "${run[@]}"
