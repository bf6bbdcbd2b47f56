# Helpers shared by the tests/harness scripts. Source it; not executable.

log() { printf '[%s] %s\n' "${0##*/}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Absolute path of $1 (which need not exist yet).
abspath() {
    case $1 in
        /*) printf '%s\n' "$1" ;;
        *) printf '%s/%s\n' "$PWD" "$1" ;;
    esac
}

# True when something listens on 127.0.0.1:$1 (TCP) or, with "udp", UDP.
port_busy() {
    local proto=${2:-tcp} flag=t
    [[ $proto == udp ]] && flag=u
    [[ -n $(ss -Hln"$flag" "sport = :$1" 2>/dev/null) ]]
}

# Prints a free port (TCP and UDP) such that $1 consecutive ports are free,
# starting from a random point in 20000-39999.
free_port() {
    local count=${1:-1} tries p i ok
    for ((tries = 0; tries < 200; tries++)); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 20000))
        ok=1
        for ((i = 0; i < count; i++)); do
            if port_busy $((p + i)) || port_busy $((p + i)) udp; then ok=""; break; fi
        done
        [[ -n $ok ]] && { echo "$p"; return 0; }
    done
    return 1
}

# wait_until SECONDS command...: retries every 0.2 s.
wait_until() {
    local limit=$1; shift
    local deadline=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

# A killed daemon whose parent has not reaped it yet is a zombie: not alive.
pid_alive() {
    [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null || return 1
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ $state != Z ]]
}

# True when the pid in file $1 is a live process.
pidfile_alive() { [[ -s $1 ]] && pid_alive "$(cat "$1")"; }

# Stops the process whose pid is in file $1: SIGTERM, then SIGKILL after
# ${2:-10} s. Removes the file. No-op when the file or process is gone.
stop_pidfile() {
    local file=$1 grace=${2:-10} pid
    [[ -s $file ]] || { rm -f "$file"; return 0; }
    pid=$(cat "$file")
    if pid_alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        local deadline=$((SECONDS + grace))
        while pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
        if pid_alive "$pid"; then
            log "pid $pid ignored SIGTERM for ${grace}s; SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            while pid_alive "$pid"; do sleep 0.1; done
        fi
    fi
    rm -f "$file"
}

# Runs a command detached (own session, no terminal), output to $2, pid to $1.
spawn() {
    local pidfile=$1 logfile=$2; shift 2
    setsid "$@" </dev/null >>"$logfile" 2>&1 &
    echo $! >"$pidfile"
}

ms_now() { date +%s%3N; }

# Prints the calling script's header comment (its usage) and exits 2.
usage() { sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0" >&2; exit 2; }
