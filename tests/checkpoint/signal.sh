#!/usr/bin/env bash
# Preemption under mpirun (issue 5.4): SIGUSR1 to mpirun (forwarded to every rank, as a
# Slurm batch script forwards --signal=B:USR1@120) and SIGTERM to ONE rank only both make
# all ranks stop at the next step boundary, write a checkpoint, print one line saying so
# and exit 0; --resume then finishes the run.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
LONG=(--synthetic ml-100k --k 10 --encoder 20 --threads 1 --checkpoint-dir d)

# start_run NAME: a long 2-rank run in the background; returns once 2 epochs are logged
start_run() {
    "$MPIRUN" -np 2 --oversubscribe "$BIVAE" train "${LONG[@]}" --epochs 300 --resume \
        --metrics-out "$1.jsonl" \
        >"$1.out" 2>"$1.err" &
    RUN=$!
    for _ in $(seq 1 600); do
        [[ -f $1.jsonl && $(wc -l <"$1.jsonl") -ge 2 ]] && return 0
        kill -0 $RUN 2>/dev/null || { cat "$1.err" >&2; fail "$1: the run ended early"; }
        sleep 0.1
    done
    fail "$1: no epochs after 60 s"
}

# stopped NAME SIGNAL: the run ended with exit 0, one stop line and a checkpoint
stopped() {
    local rc=0
    wait $RUN || rc=$?
    [[ $rc -eq 0 ]] || { cat "$1.err" >&2; fail "$1: exit $rc after $2"; }
    [[ $(grep -c "$2 received: stopped .*checkpoint d/ckpt-.* written; continue with --resume" "$1.err") -eq 1 ]] \
        || { cat "$1.err" >&2; fail "$1: no single stop line for $2"; }
    grep -q '"final"' "$1.jsonl" && fail "$1: the stopped run printed final metrics"
    [[ $(wc -l <"$1.jsonl") -lt 300 ]] || fail "$1: the run did not stop early"
    ls d/ckpt-*.bvck >/dev/null || fail "$1: no checkpoint"
}

start_run usr1
kill -USR1 $RUN
stopped usr1 SIGUSR1

start_run term
kill -TERM "$(pgrep -P $RUN | tail -1)"        # the last rank only: mpirun's second child
stopped term SIGTERM
grep -q "resuming from d/ckpt-" term.err || fail "the second run did not resume"

# the rest of the run from the newest checkpoint (two epochs more)
[[ $(compgen -G "d/ckpt-*.bvck" | wc -l) -eq 2 ]] || fail "keep 2: $(ls d)"
newest=$(compgen -G "d/ckpt-$(run_of d)-*.bvck" | sort | tail -1)
newest=${newest#d/}
epoch=$("$TOOL" info "d/$newest" | awk '{print $2}')
timeout 300 "$MPIRUN" -np 2 --oversubscribe "$BIVAE" train "${LONG[@]}" --epochs $((epoch + 2)) \
    --resume --metrics-out rest.jsonl >rest.out 2>rest.err || { cat rest.err >&2; fail "resume after the stops"; }
grep -q "resuming from d/$newest" rest.err || fail "did not resume from $newest"
grep -q '"final":true' rest.jsonl || fail "the resumed run has no final metrics"
echo "signal: OK"
