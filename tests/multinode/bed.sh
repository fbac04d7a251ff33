# tests/multinode/bed.sh — a multi-host test bed on one machine (sourced by the multinode
# tests and by benchmarks/scaling.sh --bed). Each host is a Linux network namespace
# bivae-hI (I = 1..N) with its own hostname (a UTS namespace held by a sleeper process) and
# one veth link to a private bridge bivae-br0 in the root namespace. Addresses come from
# 198.51.100.0/24 (TEST-NET-2, reserved for documentation): host I is 198.51.100.I, the
# bridge 198.51.100.254 (where mpirun and slurmctld run). Nothing is routed out: the
# namespaces have no default route and the bridge has no uplink.
#
#   bed_up N           create N hosts (2..9); returns 77 with "SKIP: reason" on stderr when
#                      not root or when the kernel refuses namespaces
#   bed_exec I CMD...  run CMD on host I (its network and hostname; the same file system)
#   bed_pids I         the pids of the processes in host I's network namespace
#   bed_kill I         SIGKILL every process of host I (a node lost)
#   bed_boot I         bring host I back after bed_kill (its hostname holder)
#   bed_hostfile F S   write an Open MPI hostfile F with S slots per host
#   bed_mpirun ARGS... mpirun over the bed's hosts: TCP only, on the test subnet, launched
#                      through tests/multinode/agent.sh (plm_rsh_agent), at most
#                      BED_TIMEOUT seconds (default 300; exit 124 past it)
#   bed_down           kill what runs in the hosts, delete them and the bridge; prints what
#                      it could not remove and returns 1 then
#
# The caller traps EXIT to bed_down (bed_up does not install traps).
# Environment: BED_HIDE_<host>=DIR (e.g. BED_HIDE_bivae_h2=/tmp/x/data): that host sees an
# empty DIR (a private tmpfs mounted over it in its own mount namespace), the way a node
# without the shared file would.

BED_NET=198.51.100
BED_BRIDGE=bivae-br0
BED_N=${BED_N:-0}
BED_DIR=${BED_DIR:-}
BED_AGENT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/agent.sh

bed_skip() { echo "SKIP: $*" >&2; return 77; }

bed_ns() { echo "bivae-h$1"; }

# bed_up N: see above.
bed_up() {
    local n=$1 i ns cmd
    [[ $(id -u) -eq 0 ]] || { bed_skip "not root: network namespaces need root"; return 77; }
    for cmd in ip unshare nsenter mpirun; do
        command -v "$cmd" >/dev/null || { bed_skip "$cmd not installed"; return 77; }
    done
    ip netns del bivae-probe 2>/dev/null || true   # (left by an interrupted probe)
    local why
    why=$(ip netns add bivae-probe 2>&1) \
        || { bed_skip "ip netns add refused: $(head -n 1 <<<"$why")"; return 77; }
    ip netns del bivae-probe
    if ip link show "$BED_BRIDGE" >/dev/null 2>&1 || ip -o link show | grep -q ' bivae-v[0-9]' ||
        ip netns list | grep -q '^bivae-h'; then
        echo "bed: error: a test bed is already up ($BED_BRIDGE, bivae-v* or bivae-h* exist): remove it with" \
             "'source tests/multinode/bed.sh; BED_N=9 bed_down'" >&2
        return 3
    fi
    BED_DIR=$(mktemp -d "${TMPDIR:-/tmp}/bivae-bed-XXXXXX")
    export BED_DIR BED_N=$n   # (agent.sh finds the hosts' sleepers there)
    # a kernel without bridges or veth pairs (a container's) refuses these two: skip
    why=$(ip link add "$BED_BRIDGE" type bridge 2>&1) \
        || { bed_skip "ip link add $BED_BRIDGE type bridge refused: $(head -n 1 <<<"$why")"; return 77; }
    ip addr add "$BED_NET.254/24" dev "$BED_BRIDGE" || return 3
    ip link set "$BED_BRIDGE" up || return 3
    for ((i = 1; i <= n; i++)); do
        ns=$(bed_ns "$i")
        ip netns add "$ns" || return 3
        why=$(ip link add "bivae-v$i" type veth peer name eth0 netns "$ns" 2>&1) \
            || { bed_skip "ip link add type veth refused: $(head -n 1 <<<"$why")"; return 77; }
        ip link set "bivae-v$i" master "$BED_BRIDGE" up || return 3
        ip -n "$ns" addr add "$BED_NET.$i/24" dev eth0 || return 3
        ip -n "$ns" link set eth0 up || return 3
        ip -n "$ns" link set lo up || return 3
        bed_boot "$i" || return 3
    done
    # every host has its link up and a route to the bridge (no ping on these machines)
    for ((i = 1; i <= n; i++)); do
        bed_exec "$i" ip route get "$BED_NET.254" >/dev/null 2>&1 \
            || { echo "bed: error: host $i has no route to $BED_NET.254" >&2; return 3; }
    done
    echo "bed: $n hosts up: $(for ((i = 1; i <= n; i++)); do printf '%s=%s.%d ' "$(bed_ns "$i")" "$BED_NET" "$i"; done)" >&2
}

# bed_boot I: host I's hostname: a UTS namespace kept alive by a sleeper that bed_exec
# enters (also to bring a host back after bed_kill: its network namespace stays).
bed_boot() {
    local i=$1 ns t=50
    ns=$(bed_ns "$i")
    ip netns exec "$ns" unshare --uts sh -c "hostname $ns && exec sleep infinity" \
        </dev/null >/dev/null 2>&1 &
    echo $! >"$BED_DIR/uts-$i.pid"
    disown $!
    until [[ $(bed_exec "$i" hostname 2>/dev/null) == "$ns" ]]; do
        (( t-- > 0 )) || { echo "bed: error: host $i has no hostname after 5 s" >&2; return 3; }
        sleep 0.1
    done
}

# bed_exec I CMD...: CMD in host I's network and UTS namespaces (environment kept).
bed_exec() {
    local i=$1 pid
    shift
    pid=$(cat "$BED_DIR/uts-$i.pid" 2>/dev/null) || { echo "bed: error: no host $i" >&2; return 3; }
    nsenter --target "$pid" --net --uts -- "$@"
}

bed_pids() { ip netns pids "$(bed_ns "$1")" 2>/dev/null; }

# bed_kill I: SIGKILL every process of host I, until none is left (5 s at most).
bed_kill() {
    local i=$1 t=50 pids
    while pids=$(bed_pids "$i") && [[ -n $pids ]]; do
        # shellcheck disable=SC2086  # (one pid a word)
        kill -KILL $pids 2>/dev/null || true
        (( t-- > 0 )) || { echo "bed: host $i: processes left: $pids" >&2; return 1; }
        sleep 0.1
    done
}

# bed_hostfile FILE SLOTS
bed_hostfile() {
    local i
    : >"$1"
    for ((i = 1; i <= BED_N; i++)); do echo "$(bed_ns "$i") slots=$2" >>"$1"; done
}

# bed_mpirun ARGS...: mpirun (in the root namespace) whose daemons run on the bed's hosts.
# BED_TIMEOUT (seconds, default 300) bounds it: exit 124 when it ran over.
bed_mpirun() {
    timeout "${BED_TIMEOUT:-300}" "${MPIRUN:-mpirun}" --mca plm_rsh_agent "$BED_AGENT" \
        --mca btl tcp,self --mca btl_tcp_if_include "$BED_NET.0/24" \
        --mca oob_tcp_if_include "$BED_NET.0/24" "$@"
}

# bed_down: see above. Safe to call twice, and with hosts half made.
bed_down() {
    local i ns left=() pids
    for ((i = 1; i <= ${BED_N:-0}; i++)); do
        ns=$(bed_ns "$i")
        ip netns list | grep -qw "^$ns" || continue
        bed_kill "$i" || true
        pids=$(bed_pids "$i")
        [[ -z $pids ]] || left+=("processes $pids in $ns")
        ip netns del "$ns" 2>/dev/null || true
        if ip netns list | grep -qw "^$ns"; then left+=("namespace $ns"); fi
    done
    # a namespace whose name is gone can outlive it while the kernel dismantles it (sockets
    # still retransmitting to a host whose link went down): its veth pair goes with this
    local t
    for ((i = 1; i <= ${BED_N:-0}; i++)); do
        t=30
        while ip link show "bivae-v$i" >/dev/null 2>&1; do   # (it may vanish meanwhile)
            ip link del "bivae-v$i" 2>/dev/null || sleep 0.1
            (( t-- > 0 )) || { left+=("link bivae-v$i"); break; }
        done
    done
    if ip link show "$BED_BRIDGE" >/dev/null 2>&1; then
        ip link del "$BED_BRIDGE" 2>/dev/null || left+=("bridge $BED_BRIDGE")
    fi
    [[ -z $BED_DIR ]] || rm -rf "$BED_DIR"
    BED_N=0
    if [[ ${#left[@]} -gt 0 ]]; then
        echo "bed: error: could not remove: ${left[*]}" >&2
        return 1
    fi
}
