#!/usr/bin/env bash
# A private tgtd (iSCSI target) on 127.0.0.1 for tests.
#
#   tests/harness/tgtd.sh start DIR [PORT]   # prints export lines
#   tests/harness/tgtd.sh stop DIR           # idempotent
#   tests/harness/tgtd.sh status DIR
#
# PORT defaults to a free port. The control socket number N (tgtadm -C N) is
# chosen free and written to DIR/tgtd.ctl, the portal port to DIR/tgtd.port,
# the pid to DIR/tgtd.pid, the log to DIR/tgtd.log.
#   tgtadm -C "$(cat DIR/tgtd.ctl)" --lld iscsi --mode target --op show
# tgtd keeps targets in memory only: after a restart they are gone.
set -euo pipefail
# shellcheck source=tests/harness/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -ge 2 && $# -le 3 ]] || usage
CMD=$1
DIR=$(abspath "$2")
SOCKDIR=/var/run/tgtd

answers() { tgtadm -C "$1" --lld iscsi --mode target --op show; }

# A control number whose socket and lock file do not exist (random, so that
# concurrent starts rarely collide; tgtd itself refuses a locked one).
pick_ctl() {
    local n tries
    mkdir -p "$SOCKDIR"
    for ((tries = 0; tries < 100; tries++)); do
        n=$((1000 + RANDOM % 30000))
        [[ -e $SOCKDIR/socket.$n || -e $SOCKDIR/socket.$n.lock ]] && continue
        echo "$n"
        return 0
    done
    return 1
}

start() {
    local port=${1:-} ctl t0
    t0=$(ms_now)
    mkdir -p "$DIR"
    if pidfile_alive "$DIR/tgtd.pid"; then
        ctl=$(cat "$DIR/tgtd.ctl")
        port=$(cat "$DIR/tgtd.port")
        log "already running (pid $(cat "$DIR/tgtd.pid"), port $port, ctl $ctl)"
    else
        [[ -n $port ]] || port=$(free_port 1) || die "no free port"
        port_busy "$port" && die "port $port is in use"
        # A restart keeps its control socket number: clients are configured with it.
        ctl=$(cat "$DIR/tgtd.ctl" 2>/dev/null || true)
        if [[ -z $ctl ]] || answers "$ctl"; then
            ctl=$(pick_ctl) || die "no free control socket number"
        fi
        echo "$ctl" >"$DIR/tgtd.ctl"
        echo "$port" >"$DIR/tgtd.port"
        spawn "$DIR/tgtd.pid" "$DIR/tgtd.log" tgtd -f -C "$ctl" --iscsi "portal=127.0.0.1:$port"
        if ! wait_until 20 answers "$ctl"; then
            stop_pidfile "$DIR/tgtd.pid" 5
            die "tgtd did not answer on control socket $ctl; see $DIR/tgtd.log"
        fi
        wait_until 10 port_busy "$port" || die "tgtd does not listen on 127.0.0.1:$port"
        log "ready in $(($(ms_now) - t0)) ms (127.0.0.1:$port, ctl $ctl)"
    fi
    printf 'export M2_TGT_PORT=%s\n' "$port"
    printf 'export M2_TGT_CTL=%s\n' "$ctl"
}

stop() {
    local n=""
    [[ -s $DIR/tgtd.ctl ]] && n=$(cat "$DIR/tgtd.ctl")
    # tgtd ignores SIGTERM. It exits on "delete system" once it has no
    # targets; --force drops a target's sessions.
    if [[ -n $n ]] && pidfile_alive "$DIR/tgtd.pid"; then
        local tid
        for tid in $(answers "$n" 2>/dev/null | sed -n 's/^Target \([0-9]*\):.*/\1/p'); do
            tgtadm -C "$n" --lld iscsi --mode target --op delete --force --tid "$tid" || true
        done
        tgtadm -C "$n" --mode system --op delete >/dev/null 2>&1 || true
        wait_until 5 bash -c "! kill -0 $(cat "$DIR/tgtd.pid")" || true
    fi
    stop_pidfile "$DIR/tgtd.pid" 2
    [[ -n $n ]] && rm -f "$SOCKDIR/socket.$n" "$SOCKDIR/socket.$n.lock"
    log "stopped"
}

status() {
    if pidfile_alive "$DIR/tgtd.pid"; then
        echo "tgtd running (pid $(cat "$DIR/tgtd.pid"), port $(cat "$DIR/tgtd.port"), ctl $(cat "$DIR/tgtd.ctl"))"
    else
        echo "tgtd stopped"; return 1
    fi
}

case $CMD in
    start) start "${3:-}" ;;
    stop) stop ;;
    status) status ;;
    *) usage ;;
esac
