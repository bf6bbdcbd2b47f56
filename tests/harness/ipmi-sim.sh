#!/usr/bin/env bash
# A BMC for one test node: OpenIPMI's ipmi_sim on 127.0.0.1:PORT (UDP, IPMI
# 1.5 and 2.0/lanplus) whose chassis power runs a command, usually QEMU.
#
#   tests/harness/ipmi-sim.sh start DIR PORT -- COMMAND [ARGS...]
#   tests/harness/ipmi-sim.sh stop DIR      # stops ipmi_sim and the node
#   tests/harness/ipmi-sim.sh status DIR
#
#   ipmitool -I lanplus -C 3 -H 127.0.0.1 -p PORT -U admin -P password chassis power on
#
# Pass -C 3 (Ironic: driver_info ipmi_cipher_suite=3): ipmi_sim 2.0.33 does
# not answer Get Channel Cipher Suites, so ipmitool 1.8.19 without -C waits
# ~10 s for it on every call before falling back to suite 3. Suite 17 is
# refused ("invalid authentication algorithm"). -I lan (IPMI 1.5, MD5) works.
#
# power on starts COMMAND detached (pid DIR/node.pid, output DIR/node.log);
# power off kills it (SIGTERM, then SIGKILL after 5 s); power status is on
# while it runs, so a guest that powers itself off reads as off. power cycle
# and reset restart it. chassis bootdev is accepted and recorded in
# DIR/bootdev (pxe, disk, ...). Users: M2_IPMI_USER / M2_IPMI_PASSWORD
# (default admin / password).
# ipmi_sim calls this script back as "ipmi-sim.sh chassis DIR get|set ..."
# (its chassis_control hook): get NAME... prints NAME:VALUE lines.
set -euo pipefail
SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
# shellcheck source=tests/harness/lib.sh
. "$(dirname "$SELF")/lib.sh"

[[ $# -ge 2 ]] || usage
CMD=$1
DIR=$(abspath "$2")
shift 2

node_running() { pidfile_alive "$DIR/node.pid"; }

node_on() {
    node_running && return 0
    local -a argv
    mapfile -d '' -t argv <"$DIR/node.cmd"
    # Do not hand ipmi_sim's sockets and pipes to the node.
    local fd
    for fd in "/proc/$BASHPID/fd"/*; do
        fd=${fd##*/}
        if ((fd > 2 && fd < 255)); then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    spawn "$DIR/node.pid" "$DIR/node.log" "${argv[@]}"
    echo "$(date '+%F %T') power on pid $(cat "$DIR/node.pid")" >>"$DIR/power.log"
}

node_off() {
    node_running && echo "$(date '+%F %T') power off pid $(cat "$DIR/node.pid")" >>"$DIR/power.log"
    stop_pidfile "$DIR/node.pid" 5
}

chassis() { # get NAME... | set NAME VALUE...
    local op=$1; shift
    case $op in
        get)
            local name
            for name in "$@"; do
                case $name in
                    power) if node_running; then echo power:1; else echo power:0; fi ;;
                    boot) echo "boot:$(cat "$DIR/bootdev" 2>/dev/null || echo default)" ;;
                    *) echo "$name:0" ;;
                esac
            done
            ;;
        set)
            while [[ $# -ge 2 ]]; do
                case $1 in
                    power) if [[ $2 == 0 ]]; then node_off; else node_on; fi ;;
                    reset) node_off; node_on ;;
                    shutdown) node_off ;;
                    boot) echo "$2" >"$DIR/bootdev" ;;
                    identify) ;;
                    *) return 1 ;;
                esac
                shift 2
            done
            ;;
        *) return 1 ;;
    esac
}

write_config() { # port
    local user=${M2_IPMI_USER:-admin} pass=${M2_IPMI_PASSWORD:-password}
    cat >"$DIR/lan.conf" <<EOF
name "m2bmc"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 $1
    priv_limit admin
    allowed_auths_callback md5
    allowed_auths_user md5
    allowed_auths_operator md5
    allowed_auths_admin md5
    guid a123456789abcdefa123456789abcdef
  endlan
  chassis_control "$SELF chassis $DIR"
  user 2 true "$user" "$pass" admin 10 md5
EOF
    cat >"$DIR/bmc.emu" <<EOF
mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
sel_enable 0x20 1000 0x0a
mc_enable 0x20
EOF
}

bmc_answers() {
    ipmitool -I lanplus -C 3 -H 127.0.0.1 -p "$1" -U "${M2_IPMI_USER:-admin}" -P "${M2_IPMI_PASSWORD:-password}" \
        -R 1 -N 1 chassis power status
}

start() {
    local port=$1 t0
    shift
    [[ ${1:-} == -- ]] && shift
    [[ $# -ge 1 ]] || usage
    [[ $DIR != *[[:space:]\"]* ]] || die "DIR must not contain spaces or quotes"
    t0=$(ms_now)
    mkdir -p "$DIR/state"
    printf '%s\0' "$@" >"$DIR/node.cmd"
    if pidfile_alive "$DIR/ipmi_sim.pid"; then
        log "already running (pid $(cat "$DIR/ipmi_sim.pid")); node command updated"
        return 0
    fi
    port_busy "$port" udp && die "UDP port $port is in use"
    write_config "$port"
    spawn "$DIR/ipmi_sim.pid" "$DIR/ipmi_sim.log" \
        ipmi_sim -n -c "$DIR/lan.conf" -f "$DIR/bmc.emu" -s "$DIR/state"
    if ! wait_until 20 bmc_answers "$port"; then
        stop_pidfile "$DIR/ipmi_sim.pid" 5
        die "ipmi_sim does not answer on 127.0.0.1:$port; see $DIR/ipmi_sim.log"
    fi
    echo "$port" >"$DIR/port"
    log "ready in $(($(ms_now) - t0)) ms (127.0.0.1:$port)"
}

stop() {
    stop_pidfile "$DIR/ipmi_sim.pid" 5
    node_off
    log "stopped"
}

status() {
    local rc=0
    if pidfile_alive "$DIR/ipmi_sim.pid"; then
        echo "ipmi_sim running (pid $(cat "$DIR/ipmi_sim.pid"), port $(cat "$DIR/port"))"
    else
        echo "ipmi_sim stopped"; rc=1
    fi
    if node_running; then echo "node on (pid $(cat "$DIR/node.pid"))"; else echo "node off"; fi
    return "$rc"
}

case $CMD in
    start) [[ $# -ge 2 ]] || usage; start "$@" ;;
    stop) stop ;;
    status) status ;;
    chassis) chassis "$@" ;;
    *) usage ;;
esac
