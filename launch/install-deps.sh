#!/usr/bin/env bash
# launch/install-deps.sh — install the Debian packages bivae-dist needs, only those missing.
# Usage: launch/install-deps.sh [--with-slurm]
# Needs root (or sudo) only when something is missing. The CUDA toolkit is not a Debian
# package here: when /usr/local/cuda/bin/nvcc exists the CUDA backend is built too.
# When another apt or dpkg holds the package manager's lock (unattended-upgrades, a second
# install), it waits for it with a message, at most BIVAE_APT_LOCK_WAIT seconds (default
# 300), then fails with one line and exit 3 (not apt's raw exit 100).
# Exit status: 0 done; 2 bad usage; 3 the install failed or the lock stayed taken.
set -euo pipefail

# ---- the package manager's locks -----------------------------------------------------------
# (BIVAE_APT_LOCKS, BIVAE_APT_GET and BIVAE_APT_LOCK_POLL are for tests/launch/install_deps.sh.)
read -r -a apt_locks <<<"${BIVAE_APT_LOCKS:-/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock /var/cache/apt/archives/lock}"
read -r -a apt_get <<<"${BIVAE_APT_GET:-apt-get}"
lock_wait=${BIVAE_APT_LOCK_WAIT:-300}
lock_poll=${BIVAE_APT_LOCK_POLL:-2}
deadline=$((SECONDS + lock_wait))
sudo=()

# lock_holder FILE: the PID holding a lock on FILE (from /proc/locks: apt's fcntl locks and
# flock locks alike; -1 for an open-file-description lock), or status 1 when none does.
# Matched by inode number alone: /proc/locks and stat disagree on the device of overlay and
# btrfs files.
lock_holder() {
    local ino
    [[ -e $1 && -r /proc/locks ]] || return 1
    ino=$(stat -L -c %i -- "$1") || return 1
    awk -v ino="$ino" '{
        for (i = 2; i <= NF; i++)
            if ($i ~ /^[0-9a-f]+:[0-9a-f]+:[0-9]+$/ && substr($i, match($i, /:[0-9]+$/) + 1) == ino) {
                print $(i - 1); found = 1; exit
            }
    } END { exit !found }' /proc/locks
}

# held_lock: "LOCK PID" of the first lock of apt_locks someone holds, or status 1.
held_lock() {
    local lock pid
    for lock in "${apt_locks[@]}"; do
        if pid=$(lock_holder "$lock"); then
            echo "$lock $pid"
            return 0
        fi
    done
    return 1
}

# describe_pid PID: "process 123 (unattended-upgr)"
describe_pid() {
    local comm=""
    [[ $1 =~ ^[0-9]+$ ]] || { echo "another process"; return; }
    comm=$(cat "/proc/$1/comm" 2>/dev/null || true)
    echo "process $1${comm:+ ($comm)}"
}

# wait_for_locks: returns once no apt lock is held; exit 3 at the deadline.
wait_for_locks() {
    local held lock pid said=""
    while held=$(held_lock); do
        lock=${held% *} pid=${held##* }
        if ((SECONDS >= deadline)); then
            echo "install-deps: error: the package manager is still busy after ${lock_wait} s:" \
                "$lock is held by $(describe_pid "$pid"); run this again when it has finished" \
                "(BIVAE_APT_LOCK_WAIT=SECONDS waits longer)" >&2
            exit 3
        fi
        if [[ $said != "$lock" ]]; then
            echo "install-deps: waiting for the package manager: $lock is held by" \
                "$(describe_pid "$pid") (up to $((deadline - SECONDS)) s more)" >&2
            said=$lock
        fi
        sleep "$lock_poll"
    done
}

# run_apt ARGS...: apt-get ARGS once the locks are free (apt itself waits for the dpkg lock
# until the deadline too); a lock taken again meanwhile (apt's exit 100 while a lock is
# held) is waited for again. Any other failure: exit 3 naming the command.
run_apt() {
    local rc left
    while :; do
        wait_for_locks
        left=$((deadline - SECONDS))
        rc=0
        "${sudo[@]}" "${apt_get[@]}" -o "DPkg::Lock::Timeout=$((left > 0 ? left : 0))" "$@" || rc=$?
        ((rc != 0)) || return 0
        if ((rc == 100)) && held_lock >/dev/null; then
            continue
        fi
        echo "install-deps: error: apt-get $1 failed (exit $rc; its messages are above)" >&2
        exit 3
    done
}

[[ ${BASH_SOURCE[0]} == "$0" ]] || return 0   # sourced (the test): the functions only

# ---- what is missing, and installing it -------------------------------------------------------
packages=(build-essential cmake pkg-config libopenmpi-dev openmpi-bin libopenblas-dev
          libprotobuf-c-dev protobuf-c-compiler libcmocka-dev librandom123-dev zlib1g-dev libzstd-dev
          python3 python3-numpy)
case "${1:-}" in
"") ;;
--with-slurm) packages+=(slurmctld slurmd slurm-client munge gnuplot-nox shellcheck) ;;
*) echo "install-deps: error: unknown argument '$1' (usage: $0 [--with-slurm])" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-deps: all packages present"
    exit 0
fi

echo "install-deps: installing ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
    if ! command -v sudo >/dev/null; then
        echo "install-deps: error: missing packages (${missing[*]}) and not root, no sudo" >&2
        exit 3
    fi
    sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
run_apt update -qq
run_apt install -y -qq --no-install-recommends "${missing[@]}"
