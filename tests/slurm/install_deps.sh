#!/usr/bin/env bash
# launch/install-deps.sh and the package manager's lock (issue 12.9): the script's own
# functions (it is sourced; nothing is installed and the real locks are never touched),
# with its lock paths and apt-get pointed at files and a stub of this test:
#   a) no lock held: no wait, no message;
#   b) a lock held (an fcntl lock, as apt takes it, and a flock lock) and released after
#      ~2 s: one "waiting" line naming the lock and its holder, then it goes on;
#   c) a lock held past BIVAE_APT_LOCK_WAIT: exit 3 with one line naming the lock, the
#      holder and the wait, within the bound;
#   d) apt-get gets DPkg::Lock::Timeout with the time left; a failing apt-get is exit 3
#      naming the command (not apt's raw 100); apt's exit 100 while someone took the lock
#      again is waited for and retried.
set -euo pipefail
: "${BIVAE_SOURCE_DIR:?}"
TMP=$(mktemp -d)
holders=()
cleanup() {
    local pid
    for pid in "${holders[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
SCRIPT=$BIVAE_SOURCE_DIR/launch/install-deps.sh
locks=("$TMP/lock-frontend" "$TMP/lock" "$TMP/lists-lock")
touch "${locks[@]}"

# hold KIND FILE SECONDS: one process (its PID appended to holders) holding a lock on FILE
hold() {
    python3 -c 'import fcntl, sys, time
f = open(sys.argv[2], "a")
(fcntl.lockf if sys.argv[1] == "fcntl" else fcntl.flock)(f, fcntl.LOCK_EX)
open(sys.argv[2] + ".taken", "w").close()
time.sleep(float(sys.argv[3]))' "$1" "$2" "$3" &
    holders+=($!)
    for _ in $(seq 50); do [[ -e $2.taken ]] && { rm -f "$2.taken"; return 0; }; sleep 0.1; done
    fail "the lock on $2 was not taken"
}

# in_script WAIT CODE: CODE run in a shell that sourced install-deps.sh; stderr to $TMP/err
in_script() {
    local rc=0
    BIVAE_APT_LOCKS="${locks[*]}" BIVAE_APT_LOCK_WAIT=$1 BIVAE_APT_LOCK_POLL=0.2 \
        BIVAE_APT_GET="bash $TMP/apt-stub" bash -c "source '$SCRIPT'; $2" 2>"$TMP/err" || rc=$?
    return $rc
}

# a) free
start=$SECONDS
in_script 5 wait_for_locks || fail "no lock held: wait_for_locks failed: $(cat "$TMP/err")"
[[ ! -s $TMP/err ]] || fail "no lock held, yet: $(cat "$TMP/err")"
((SECONDS - start < 3)) || fail "no lock held, yet it waited"

# b) held, then released (both kinds of lock)
for kind in fcntl flock; do
    hold "$kind" "$TMP/lock" 2
    start=$SECONDS
    in_script 30 wait_for_locks || fail "$kind lock released after 2 s: $(cat "$TMP/err")"
    grep -Eq "^install-deps: waiting for the package manager: $TMP/lock is held by process ${holders[-1]} \(python3\) \(up to [0-9]+ s more\)$" \
        "$TMP/err" || fail "$kind: the waiting message: $(cat "$TMP/err")"
    [[ $(wc -l <"$TMP/err") -eq 1 ]] || fail "$kind: more than one line: $(cat "$TMP/err")"
    ((SECONDS - start >= 1)) || fail "$kind: did not wait for the lock"
    wait "${holders[-1]}" || true
done

# c) held past the bound
hold fcntl "$TMP/lists-lock" 60
start=$SECONDS
rc=0
in_script 2 wait_for_locks || rc=$?
[[ $rc -eq 3 ]] || fail "lock held past the bound: exit $rc, want 3"
grep -q "^install-deps: error: the package manager is still busy after 2 s: $TMP/lists-lock is held by process ${holders[-1]} (python3); run this again" \
    "$TMP/err" || fail "the timeout message: $(cat "$TMP/err")"
((SECONDS - start < 10)) || fail "the bound of 2 s took $((SECONDS - start)) s"
kill "${holders[-1]}"

# d) apt-get through run_apt
cat >"$TMP/apt-stub" <<STUB
echo "\$*" >>"$TMP/apt-calls"
[[ -e $TMP/apt-fail ]] && exit 100
if [[ -e $TMP/apt-race ]]; then        # someone took the lock meanwhile: apt exits 100
    rm "$TMP/apt-race"
    python3 -c 'import fcntl, time; f = open("$TMP/lock", "a"); fcntl.lockf(f, fcntl.LOCK_EX); time.sleep(1.5)' &
    sleep 0.5
    exit 100
fi
exit 0
STUB
in_script 30 'run_apt install -y pkg' || fail "run_apt: $(cat "$TMP/err")"
grep -Eq '^-o DPkg::Lock::Timeout=(29|30) install -y pkg$' "$TMP/apt-calls" \
    || fail "apt-get arguments: $(cat "$TMP/apt-calls")"
touch "$TMP/apt-fail"
rc=0
in_script 30 'run_apt update -qq' || rc=$?
[[ $rc -eq 3 ]] || fail "failing apt-get: exit $rc, want 3"
grep -q "^install-deps: error: apt-get update failed (exit 100; its messages are above)$" "$TMP/err" \
    || fail "failing apt-get: $(cat "$TMP/err")"
rm "$TMP/apt-fail" "$TMP/apt-calls"
touch "$TMP/apt-race"
in_script 30 'run_apt update -qq' || fail "apt-get that lost the lock once: $(cat "$TMP/err")"
[[ $(wc -l <"$TMP/apt-calls") -eq 2 ]] || fail "lost the lock once: apt-get calls: $(cat "$TMP/apt-calls")"
grep -q "waiting for the package manager: $TMP/lock is held" "$TMP/err" \
    || fail "lost the lock once: no waiting message: $(cat "$TMP/err")"
echo "install_deps: OK (no lock, fcntl and flock locks released, a lock past the bound, apt-get failing and losing the lock once)"
