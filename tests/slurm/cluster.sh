#!/usr/bin/env bash
# tests/slurm/cluster.sh — a private one-node Slurm cluster (munged + slurmctld + slurmd) on
# localhost, all state under one directory, for testing the Slurm launcher without systemd.
#
#   tests/slurm/cluster.sh start DIR   start the daemons, wait until the node is idle
#                                      (DIR: an empty directory; made mode 711)
#   tests/slurm/cluster.sh start DIR --bed N
#                                      the same over the N hosts of the multi-host test bed
#                                      (tests/multinode/bed.sh, up, BED_DIR exported): one
#                                      slurmd per host namespace (NodeName=bivae-hI,
#                                      NodeAddr=198.51.100.I, CPUs=2), slurmctld in the root
#                                      namespace as host bivae-ctl (198.51.100.254), one munged
#                                      (its socket is a file: every namespace reaches it)
#   tests/slurm/cluster.sh stop DIR    scancel what is left, `scontrol shutdown`, then stop
#                                      munged: only the daemons whose pid files are in DIR
#   tests/slurm/cluster.sh --help
#
# After start, `export SLURM_CONF=DIR/slurm/slurm.conf` points the Slurm commands at it.
# The node is NodeName=localhost CPUs=4 (SlurmdParameters=config_overrides lets it claim
# more CPUs than the machine has, so 4 one-CPU tasks fit on a 2-core machine).
# Environment: CLUSTER_TIMEOUT (seconds to wait for each daemon, default 30).
# Exit status: 0 done; 2 bad usage; 3 a daemon failed (its log is printed); 77 Slurm or
# munge is not installed, or not root (start only; the reason is printed as "SKIP: ...").
# Nothing is ever killed by name: stop reads the pid files the daemons wrote into DIR and
# checks /proc/PID/exe before signalling.
set -euo pipefail

usage() { awk 'NR > 1 && (!/^#/ || /^#SBATCH/) { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; }
die() { echo "cluster: error: $*" >&2; exit 3; }
skip() { echo "SKIP: $*" >&2; exit 77; }
timeout_s=${CLUSTER_TIMEOUT:-30}

# ---- helpers ----------------------------------------------------------------------------

# pid_of NAME FILE: the pid in FILE if that process is alive and runs the program NAME
# (compared with the resolved path of `command -v NAME`: Debian's slurmctld is a link to
# slurmctld-wlm).
pid_of() {
    local name=$1 file=$2 pid exe want
    [[ -s $file ]] || return 1
    pid=$(tr -dc '0-9' <"$file")
    [[ -n $pid ]] && alive "$pid" || return 1
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
    want=$(readlink -f "$(command -v "$name")") || return 1
    [[ $exe == "$want" ]] || return 1
    echo "$pid"
}

# alive PID: the process exists and is not a zombie (a daemon that exited stays a zombie
# until whoever adopted it reaps it, and kill -0 still succeeds on a zombie).
alive() {
    local stat
    kill -0 "$1" 2>/dev/null || return 1
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}

# wait_gone PID SECONDS: wait until PID has exited; 1 if it has not after SECONDS.
wait_gone() {
    local pid=$1 t=$(( $2 * 10 ))
    while alive "$pid" && (( t-- > 0 )); do sleep 0.1; done
    ! alive "$pid"
}

# stop_pid NAME FILE: TERM the daemon of FILE, then KILL it if it does not go.
stop_pid() {
    local name=$1 file=$2 pid
    pid=$(pid_of "$name" "$file") || return 0
    kill -TERM "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 && return 0
    echo "cluster: $name (pid $pid) ignored SIGTERM for 10 s: SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 5 || echo "cluster: warning: $name (pid $pid) still running" >&2
}

show_log() { [[ -s $1 ]] && { echo "---- $1 (last 30 lines)" >&2; tail -n 30 "$1" >&2; }; return 0; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# node_lines DIR: the slurm.conf lines of the node(s), and how the daemons are reached
node_lines() {
    local s=$1/slurm i
    if [[ $bed_n -eq 0 ]]; then
        cat <<CONF
SlurmctldHost=localhost
SlurmdPidFile=$s/slurmd.pid
SlurmdSpoolDir=$s/spool
SlurmdLogFile=$s/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 CPUs=4 RealMemory=4000 State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
        return
    fi
    cat <<CONF
SlurmctldHost=bivae-ctl(198.51.100.254)
SlurmdPidFile=$s/slurmd-%n.pid
SlurmdSpoolDir=$s/spool-%n
SlurmdLogFile=$s/slurmd-%n.log
TmpFS=$s/tmp-%n
CONF
    for ((i = 1; i <= bed_n; i++)); do
        echo "NodeName=bivae-h$i NodeAddr=198.51.100.$i CPUs=2 RealMemory=2000 State=UNKNOWN"
    done
    echo "PartitionName=test Nodes=bivae-h[1-$bed_n] Default=YES MaxTime=INFINITE State=UP"
}

# start_daemons DIR: slurmctld and the slurmd(s); waits until every node is idle
start_daemons() {
    local s=$1/slurm i nodes=() t state=""
    if [[ $bed_n -eq 0 ]]; then
        slurmctld -i || { show_log "$s/slurmctld.log"; die "slurmctld did not start"; }
        slurmd -N localhost || { show_log "$s/slurmd.log"; die "slurmd did not start"; }
        nodes=(localhost)
    else
        # slurmctld checks that its hostname is SlurmctldHost's: a UTS namespace of its own
        unshare --uts sh -c 'hostname bivae-ctl && exec slurmctld -i' \
            || { show_log "$s/slurmctld.log"; die "slurmctld did not start"; }
        for ((i = 1; i <= bed_n; i++)); do
            # (per node: the pmix plugin makes its client directory under TmpFS, and the
            # hosts share one file system)
            mkdir -p "$s/spool-bivae-h$i" "$s/tmp-bivae-h$i"
            bed_exec "$i" slurmd -N "bivae-h$i" \
                || { show_log "$s/slurmd-bivae-h$i.log"; die "slurmd on bivae-h$i did not start"; }
            nodes+=("bivae-h$i")
        done
    fi
    for node in "${nodes[@]}"; do
        t=$(( timeout_s * 10 )) state=""
        until [[ $state == idle ]]; do
            (( t-- > 0 )) || { show_log "$s/slurmctld.log"; show_log "$s/slurmd.log"; show_log "$s/slurmd-$node.log"
                               die "node $node is '${state:-unknown}', not idle, after ${timeout_s} s"; }
            sleep 0.1
            state=$(sinfo -h -n "$node" -o %T 2>/dev/null || true)
        done
    done
}

# ---- start --------------------------------------------------------------------------------

start() {
    local dir=$1 cmd
    for cmd in munged mungekey slurmctld slurmd sbatch srun scontrol sinfo squeue scancel runuser python3; do
        command -v "$cmd" >/dev/null || skip "$cmd not installed (launch/install-deps.sh --with-slurm installs Slurm and munge)"
    done
    [[ $(id -u) -eq 0 ]] || skip "not root: munged must run as the munge user and slurmd as root"
    id munge >/dev/null 2>&1 || skip "no munge user (is the munge package installed?)"
    mkdir -p "$dir" && chmod 711 "$dir"
    [[ -z $(ls -A "$dir/munge" "$dir/slurm" 2>/dev/null) ]] || die "$dir already holds a cluster"

    # munged, as the munge user, socket directory mode 711, its own key
    local m=$dir/munge
    mkdir -p "$m" && chown munge:munge "$m" && chmod 711 "$m"
    runuser -u munge -- mungekey --create --keyfile="$m/munge.key" >/dev/null 2>&1 \
        || die "mungekey could not create $m/munge.key"
    runuser -u munge -- munged --socket="$m/munge.socket.2" --pid-file="$m/munged.pid" \
        --key-file="$m/munge.key" --log-file="$m/munged.log" --seed-file="$m/munged.seed" \
        || { show_log "$m/munged.log"; die "munged did not start"; }
    local t=$(( timeout_s * 10 ))
    until [[ -S $m/munge.socket.2 ]] && pid_of munged "$m/munged.pid" >/dev/null; do
        (( t-- > 0 )) || { show_log "$m/munged.log"; die "munged: no socket after ${timeout_s} s"; }
        sleep 0.1
    done

    # slurm.conf: the key lines verified in shared/docs/platform-notes.md
    local s=$dir/slurm
    mkdir -p "$s/state" "$s/spool"
    local ctld_port slurmd_port
    ctld_port=$(free_port) || die "no free TCP port on 127.0.0.1"
    slurmd_port=$(free_port) || die "no free TCP port on 127.0.0.1"
    cat >"$s/slurm.conf" <<CONF
# written by tests/slurm/cluster.sh: a private one-node test cluster
ClusterName=bivaetest
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$m/munge.socket.2
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
SlurmdParameters=config_overrides
EnforcePartLimits=ALL
ReturnToService=2
JobRequeue=1
MailProg=/bin/true
StateSaveLocation=$s/state
SlurmctldPidFile=$s/slurmctld.pid
SlurmctldLogFile=$s/slurmctld.log
SlurmctldDebug=info
SlurmdDebug=info
$(node_lines "$dir")
CONF
    export SLURM_CONF=$s/slurm.conf
    start_daemons "$dir"
    echo "cluster: up in $dir (slurmctld port $ctld_port, slurmd port $slurmd_port)" >&2
}

# ---- stop ---------------------------------------------------------------------------------

stop() {
    local dir=$1 s=$1/slurm m=$1/munge pid
    if [[ -f $s/slurm.conf ]]; then
        export SLURM_CONF=$s/slurm.conf
        if pid=$(pid_of slurmctld "$s/slurmctld.pid"); then
            # jobs left by a failed test: cancel them so that no step outlives the cluster
            local jobs=()
            mapfile -t jobs < <(timeout 10 squeue -h -o %i 2>/dev/null || true)
            if [[ ${#jobs[@]} -gt 0 ]]; then timeout 10 scancel "${jobs[@]}" 2>/dev/null || true; fi
            timeout 10 scontrol shutdown >/dev/null 2>&1 || true
            wait_gone "$pid" "$timeout_s" || echo "cluster: slurmctld still up after scontrol shutdown" >&2
        fi
        stop_pid slurmctld "$s/slurmctld.pid"
        local f
        for f in "$s"/slurmd.pid "$s"/slurmd-*.pid; do
            [[ -e $f ]] && stop_pid slurmd "$f"
        done
    fi
    stop_pid munged "$m/munged.pid"
}

case "${1:-}" in
-h | --help) usage; exit 0 ;;
start | stop) ;;
*) usage >&2; echo "cluster: error: want 'start DIR' or 'stop DIR'" >&2; exit 2 ;;
esac
bed_n=0
if [[ $1 == start && $# -eq 4 && $3 == --bed ]]; then
    [[ $4 =~ ^[1-9]$ ]] || { echo "cluster: error: --bed $4: want 1 to 9 hosts" >&2; exit 2; }
    [[ -n ${BED_DIR:-} ]] || { echo "cluster: error: --bed: no test bed (BED_DIR unset: bed_up first)" >&2; exit 2; }
    # shellcheck source=tests/multinode/bed.sh
    source "$(dirname "${BASH_SOURCE[0]}")/../multinode/bed.sh"
    bed_n=$4
    set -- start "$2"
fi
[[ $# -eq 2 && -n $2 ]] || { echo "cluster: error: $1 needs DIR" >&2; exit 2; }
"$1" "$2"
