#!/usr/bin/env bash
# tests/multinode/agent.sh — Open MPI's remote launcher for the test bed (plm_rsh_agent):
# called as `agent.sh HOST COMMAND...` the way ssh would be, it runs COMMAND (one shell
# command line, as ssh's remote shell gets it) on HOST, a namespace host of
# tests/multinode/bed.sh (bivae-hI), in its network and UTS namespaces. With
# BED_HIDE_<host>=DIR in the environment (the host name with - as _, e.g. BED_HIDE_bivae_h2),
# the command runs in its own mount namespace where DIR is an empty tmpfs: a node that
# lacks the files there.
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
if [[ -n $hide ]]; then
    exec nsenter --target "$pid" --net --uts -- unshare --mount --propagation private -- \
        sh -c 'mount -t tmpfs bed-hidden "$1" && shift && exec sh -c "$*"' agent "$hide" "$@"
fi
exec nsenter --target "$pid" --net --uts -- sh -c "$*"
