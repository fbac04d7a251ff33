#!/usr/bin/env bash
# tests/multinode/agent.sh — Open MPI's remote launcher for the test bed (plm_rsh_agent):
# called as `agent.sh HOST COMMAND...` the way ssh would be, it runs COMMAND (one shell
# command line, as ssh's remote shell gets it) on HOST, a namespace host of
# tests/multinode/bed.sh (bivae-hI), in its network and UTS namespaces. With
# BED_HIDE_<host>=DIR in the environment (the host name with - as _, e.g. BED_HIDE_bivae_h2),
# the command runs in its own mount namespace where DIR is an empty tmpfs: a node that
# lacks the files there.
# Like an ssh client, it stays in the launching (root) namespace while the command runs on
# the host, and returns its exit status. When every process of the host is killed (a node
# lost) it waits 3 s, as ssh notices a dead server only after a while, so that Open MPI
# first sees its daemon's TCP connection drop (and says which node it lost), then says
# "connection to HOST lost" and exits 255, as ssh does.
set -euo pipefail
die() { echo "agent.sh: error: $*" >&2; exit 255; }
[[ $# -ge 2 ]] || die "usage: agent.sh HOST COMMAND..."
host=$1
shift
[[ $host =~ ^bivae-h([1-9])$ ]] || die "$host: not a test bed host (bivae-h1..bivae-h9)"
i=${BASH_REMATCH[1]}
: "${BED_DIR:?agent.sh: BED_DIR not set (start the bed with bed_up)}"
pid=$(cat "$BED_DIR/uts-$i.pid" 2>/dev/null) || die "$host: not up (no $BED_DIR/uts-$i.pid)"
hide_var=BED_HIDE_${host//-/_}
hide=${!hide_var:-}
rc=0
if [[ -n $hide ]]; then
    # shellcheck disable=SC2016  # ($1 and $* of the inner shell)
    nsenter --target "$pid" --net --uts -- unshare --mount --propagation private -- \
        sh -c 'mount -t tmpfs bed-hidden "$1" && shift && exec sh -c "$*"' agent "$hide" "$@" || rc=$?
else
    nsenter --target "$pid" --net --uts -- sh -c "$*" || rc=$?
fi
if [[ $rc -eq $((128 + 9)) ]]; then
    sleep 3
    echo "agent.sh: connection to $host lost (its processes were killed)" >&2
    exit 255
fi
exit "$rc"
