#!/usr/bin/env bash
# One-host Ceph cluster for tests: one mon, one mgr, one BlueStore OSD on a
# sparse file, size-1 pools, cephx on. Everything lives under DIR; nothing
# listens anywhere but 127.0.0.1.
#
#   tests/harness/ceph.sh start DIR    # create or restart; prints export lines
#   tests/harness/ceph.sh stop DIR     # idempotent
#   tests/harness/ceph.sh status DIR   # exit 0 when all daemons run
#
#   eval "$(tests/harness/ceph.sh start /tmp/m2-ceph)"; rbd ls m2-disks
#
# Provides pools m2-images, m2-disks and volumes (rbd; `volumes` stands for
# Cinder's pool), user client.m2 (profile rbd on all three; keyring
# DIR/ceph.client.m2.keyring), rbd default features = 1.
# Environment: M2_CEPH_MON_PORT (msgr2 port; msgr1 is PORT+1; default: a free
# pair), M2_CEPH_OSD_SIZE (sparse OSD file size, default 10G),
# M2_CEPH_TIMEOUT (seconds to wait for each step, default 60).
set -euo pipefail
# shellcheck source=tests/harness/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 2 ]] || usage
CMD=$1
DIR=$(abspath "$2")
CONF=$DIR/ceph.conf
TIMEOUT=${M2_CEPH_TIMEOUT:-60}
POOLS=(m2-images m2-disks volumes)
DAEMONS=(mon.a mgr.x osd.0)

ceph_() { timeout "$TIMEOUT" ceph -c "$CONF" "$@"; }

write_conf() { # fsid port
    local p2=$2 p1=$(($2 + 1))
    cat >"$CONF" <<EOF
[global]
fsid = $1
mon host = [v2:127.0.0.1:$p2,v1:127.0.0.1:$p1]
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
keyring = $DIR/\$cluster.\$name.keyring
run dir = $DIR/run
pid file = $DIR/run/\$name.pid
mon cluster log file = $DIR/log/\$cluster.log
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 2
mon data avail crit = 1
rbd default features = 1

[mon]
mon data = $DIR/mon/\$cluster-\$id
keyring = \$mon_data/keyring
# An RBD snapshot waits for a monitor proposal: at Ceph's default interval (1 s)
# every snapshot takes about a second; at 50 ms about 0.1 s.
paxos propose interval = 0.05
log file = $DIR/log/\$cluster-\$name.log

[mgr]
mgr data = $DIR/mgr/\$cluster-\$id
keyring = \$mgr_data/keyring
log file = $DIR/log/\$cluster-\$name.log

# Per-process admin socket of the tests' clients (tgtd's librbd): exact
# per-image I/O counters with "ceph --admin-daemon <asok> perf dump".
[client.m2]
admin socket = $DIR/run/\$cluster-\$name.\$pid.\$cctid.asok

[osd]
osd data = $DIR/osd/\$cluster-\$id
keyring = \$osd_data/keyring
log file = $DIR/log/\$cluster-\$name.log
osd objectstore = bluestore
bluestore fsck on mkfs = false
bluestore block create = true
bluestore block size = ${M2_CEPH_OSD_SIZE:-10G}
osd memory target = 939524096
EOF
}

bootstrap() {
    local fsid port uuid t0
    t0=$(ms_now)
    if [[ -n ${M2_CEPH_MON_PORT:-} ]]; then
        port=$M2_CEPH_MON_PORT
    else
        port=$(free_port 2) || die "no free port pair for the mon"
    fi
    fsid=$(uuidgen)
    mkdir -p "$DIR"/{run,log,mon/ceph-a,mgr/ceph-x,osd/ceph-0}
    write_conf "$fsid" "$port"

    # All keys go into the mon's initial keyring: no auth calls afterwards.
    mkkey "$DIR/mon.keyring" mon. --cap mon 'allow *'
    mkkey "$DIR/ceph.client.admin.keyring" client.admin \
        --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *'
    mkkey "$DIR/mgr/ceph-x/keyring" mgr.x --cap mon 'allow profile mgr' --cap osd 'allow *' --cap mds 'allow *'
    mkkey "$DIR/osd/ceph-0/keyring" osd.0 \
        --cap mon 'allow profile osd' --cap mgr 'allow profile osd' --cap osd 'allow *'
    mkkey "$DIR/ceph.client.m2.keyring" client.m2 --cap mon 'profile rbd' \
        --cap osd 'profile rbd pool=m2-images, profile rbd pool=m2-disks, profile rbd pool=volumes' \
        --cap mgr 'profile rbd pool=m2-images, profile rbd pool=m2-disks, profile rbd pool=volumes'
    local k
    for k in ceph.client.admin.keyring mgr/ceph-x/keyring osd/ceph-0/keyring ceph.client.m2.keyring; do
        ceph-authtool "$DIR/mon.keyring" --import-keyring "$DIR/$k" >/dev/null
    done
    monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$port,v1:127.0.0.1:$((port + 1))]" "$DIR/monmap" >/dev/null
    ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/mon.keyring"
    start_mon
    ceph-mgr -c "$CONF" -i x

    uuid=$(uuidgen)
    [[ $(ceph_ osd new "$uuid") == 0 ]] || die "ceph osd new did not return id 0"
    ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$uuid" 2>>"$DIR/log/osd-mkfs.log" ||
        die "ceph-osd --mkfs failed; see $DIR/log/osd-mkfs.log"
    # ceph-osd returns once booted (~3 s); create the pools meanwhile.
    ceph-osd -c "$CONF" -i 0 2>>"$DIR/log/ceph-osd.0.log" &
    local pool
    for pool in "${POOLS[@]}"; do
        ceph_ osd pool create "$pool" 8 8 >/dev/null 2>&1 &
    done
    wait_all || die "starting osd.0 or creating the pools failed"
    # rbd pool init waits for the pool's PGs to be active.
    for pool in "${POOLS[@]}"; do
        timeout "$TIMEOUT" rbd -c "$CONF" pool init "$pool" &
    done
    wait_all || die "rbd pool init failed"
    touch "$DIR/.bootstrapped"
    log "bootstrapped in $(($(ms_now) - t0)) ms (mon ports $port/$((port + 1)))"
}

mkkey() { # file name caps...
    local file=$1 name=$2; shift 2
    ceph-authtool "$file" --create-keyring --gen-key -n "$name" "$@" >/dev/null
}

wait_all() { local rc=0 j; for j in $(jobs -p); do wait "$j" || rc=1; done; return "$rc"; }

start_mon() {
    ceph-mon -c "$CONF" -i a
    wait_until "$TIMEOUT" ceph -c "$CONF" --connect-timeout 5 mon stat ||
        die "mon did not answer within ${TIMEOUT}s; see $DIR/log/ceph-mon.a.log"
}

daemon_running() { pidfile_alive "$DIR/run/$1.pid"; }

start() {
    local t0 d
    t0=$(ms_now)
    if [[ ! -e $DIR/.bootstrapped ]]; then
        [[ ! -e $CONF ]] || die "$DIR holds a half-made cluster; run stop and remove it"
        mkdir -p "$DIR"
        bootstrap
    else
        daemon_running mon.a || start_mon
        daemon_running mgr.x || ceph-mgr -c "$CONF" -i x
        daemon_running osd.0 || ceph-osd -c "$CONF" -i 0 2>>"$DIR/log/ceph-osd.0.log"
    fi
    for d in "${DAEMONS[@]}"; do
        wait_until 10 daemon_running "$d" || die "$d did not start; see $DIR/log/ceph-$d.log"
    done
    wait_until "$TIMEOUT" timeout 10 rbd -c "$CONF" --id m2 ls m2-disks ||
        die "rbd ls m2-disks does not work after ${TIMEOUT}s"
    log "ready in $(($(ms_now) - t0)) ms"
    printf 'export CEPH_CONF=%q\n' "$CONF"
    printf 'export M2_CEPH_DIR=%q\n' "$DIR"
    printf 'export M2_CEPH_USER=m2\n'
    printf 'export M2_CEPH_KEYRING=%q\n' "$DIR/ceph.client.m2.keyring"
}

stop() {
    local d t0
    t0=$(ms_now)
    # OSD and mgr together, then the mon, so nothing waits on a missing mon.
    for d in osd.0 mgr.x; do
        stop_pidfile "$DIR/run/$d.pid" 20 &
    done
    wait_all || true
    stop_pidfile "$DIR/run/mon.a.pid" 20
    log "stopped in $(($(ms_now) - t0)) ms"
}

status() {
    local d rc=0
    for d in "${DAEMONS[@]}"; do
        if daemon_running "$d"; then
            echo "$d running (pid $(cat "$DIR/run/$d.pid"))"
        else
            echo "$d stopped"; rc=1
        fi
    done
    if [[ $rc -eq 0 ]]; then
        timeout 10 ceph -c "$CONF" -s 2>&1 || rc=1
    fi
    return "$rc"
}

case $CMD in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) usage ;;
esac
