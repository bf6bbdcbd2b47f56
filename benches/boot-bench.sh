#!/usr/bin/env bash
# Boot benchmark of the M2 data path on real components. See benches/README.md
# ("Boot: bytes read and boot time").
#
#   benches/boot-bench.sh [--m2-bin PATH] [--root-gb N] [--image-mib N]
#                         [--filler-mib N] [--timeout S] [--keep-workdir]
#
#   --m2-bin PATH    m2 binary (default target/debug/m2; waits up to 120 s for it)
#   --root-gb N      instance_info.root_gb of the M2 node: its clone is resized to
#                    N GiB, the disk size figure 1 compares with (default 8)
#   --image-mib N    size of the image, a raw disk of N MiB, at least 64 and at
#                    most --root-gb (default 2048)
#   --filler-mib N   MiB of pseudo-random data after the image's boot partition,
#                    standing for the rest of an OS install that a boot does not
#                    read (default 1200; at most --image-mib minus 64)
#   --timeout S      limit for each boot, power-on to M2-DONE (default 300 plus
#                    1 s per 8 MiB of image: 556 for 2048 MiB)
#   --keep-workdir   keep the temporary directory (logs, consoles, configs)
#
# --image-mib 64 --filler-mib 0 is the bare 64 MiB test guest.
#
# Starts a one-host Ceph (tests/harness/ceph.sh), a private tgtd
# (tests/harness/tgtd.sh) and `m2 standalone`, all on 127.0.0.1, uploads the
# test guest (tests/harness/build-image.sh --size N --filler N: the 64 MiB
# boot partition, then the filler, then zeros) as an image, deploys two
# fake-hardware nodes (deploy m2, boot ipxe) and boots QEMU "nodes"
# (tests/harness/qemu-node.sh, software emulation) itself:
#
# 1. Bytes read from RBD during one boot: the M2 node (disk resized to
#    --root-gb) network-boots its iSCSI clone once; the bytes tgtd read from
#    the clone (librbd counters of tgtd's admin socket, cross-checked with
#    tgtd's per-session counters) against the disk's virtual size and against
#    the image's allocated data.
# 2. Boot time, power-on (QEMU start) to the guest's M2-DONE line: M2 (the
#    boot of 1) against copy-to-disk, i.e. a network boot that copies the
#    whole image to the node's local disk (configdrive user_data m2copy=1)
#    plus a second boot from that local disk; the ratio M2/copy.
#
# Prints the figures; never judges them. The exit status is non-zero only when
# the run itself broke (a service did not start, a deploy or a boot failed).
# Everything started is stopped on exit; the work directory is a mktemp
# directory under ${TMPDIR:-/tmp}. Needs root (tgtd), Ceph, tgt, QEMU with
# ipxe-qemu, socat, syslinux, mtools, curl, python3, openssl (for the filler).
set -Eeuo pipefail
shopt -s inherit_errexit

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
HARNESS=$REPO_DIR/tests/harness
# shellcheck source=tests/harness/lib.sh
. "$HARNESS/lib.sh"

log() { printf '[boot-bench] %s\n' "$*" >&2; }
trap 'log "ERROR: line $LINENO: $BASH_COMMAND failed"' ERR

M2_BIN=$REPO_DIR/target/debug/m2
ROOT_GB=8
IMAGE_MIB=2048
FILLER_MIB=1200
BOOT_TIMEOUT=""
KEEP=0
while [[ $# -gt 0 ]]; do
    case $1 in
        --m2-bin) M2_BIN=${2:?}; shift 2 ;;
        --root-gb) ROOT_GB=${2:?}; shift 2 ;;
        --image-mib) IMAGE_MIB=${2:?}; shift 2 ;;
        --filler-mib) FILLER_MIB=${2:?}; shift 2 ;;
        --timeout) BOOT_TIMEOUT=${2:?}; shift 2 ;;
        --keep-workdir) KEEP=1; shift ;;
        -h | --help) sed -n '2,/^set /{/^set /d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *) echo "boot-bench: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ $ROOT_GB =~ ^[1-9][0-9]*$ ]] || die "--root-gb must be a positive integer"
[[ $IMAGE_MIB =~ ^[1-9][0-9]*$ && $IMAGE_MIB -ge 64 ]] || die "--image-mib must be an integer of at least 64"
[[ $FILLER_MIB =~ ^(0|[1-9][0-9]*)$ ]] || die "--filler-mib must be a non-negative integer"
((64 + FILLER_MIB <= IMAGE_MIB)) || die "--filler-mib $FILLER_MIB does not fit in --image-mib $IMAGE_MIB after the 64 MiB boot partition"
((IMAGE_MIB <= ROOT_GB * 1024)) || die "--image-mib $IMAGE_MIB is larger than --root-gb $ROOT_GB GiB"
BOOT_TIMEOUT=${BOOT_TIMEOUT:-$((300 + IMAGE_MIB / 8))}
[[ $BOOT_TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "--timeout must be a positive integer"

tools=(ceph ceph-mon ceph-osd rbd tgtd tgtadm qemu-system-x86_64 socat syslinux mcopy curl python3 uuidgen ss)
((FILLER_MIB == 0)) || tools+=(openssl)
for tool in "${tools[@]}"; do
    command -v "$tool" >/dev/null || die "$tool is not installed (scripts/install-test-deps.sh packages)"
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/m2-boot-bench.XXXXXX")
QEMU_PIDFILE=$WORK/qemu.pid
CURRENT_CONSOLE=""

cleanup() {
    local rc=$?
    trap - ERR
    set +e
    if [[ -s $QEMU_PIDFILE ]]; then
        # qemu-node.sh runs QEMU in its own session; its guestfwd socats are in it.
        kill -KILL -- "-$(cat "$QEMU_PIDFILE")" 2>/dev/null
        rm -f "$QEMU_PIDFILE"
    fi
    if [[ $rc -ne 0 ]]; then
        if [[ -n $CURRENT_CONSOLE && -f $CURRENT_CONSOLE ]]; then
            log "last console lines ($CURRENT_CONSOLE):"
            tail -n 20 "$CURRENT_CONSOLE" | tr -d '\r' >&2
        fi
        if [[ -f $WORK/m2.err ]]; then
            log "last m2 log lines:"
            tail -n 15 "$WORK/m2.err" >&2
        fi
    fi
    stop_pidfile "$WORK/m2.pid" 15
    [[ -d $WORK/tgt ]] && "$HARNESS/tgtd.sh" stop "$WORK/tgt" >/dev/null 2>&1
    [[ -d $WORK/ceph ]] && "$HARNESS/ceph.sh" stop "$WORK/ceph" >/dev/null 2>&1
    if [[ $KEEP -eq 1 ]]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
[[ $WORK != *[,:]* ]] || die "work directory $WORK holds a comma or colon (QEMU option syntax)"

# --- helpers --------------------------------------------------------------------
# jget PATH: the value at a dotted path of the JSON document on stdin ("" if absent).
jget() {
    python3 -c '
import json, sys
d = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    if isinstance(d, list):
        d = d[int(k)]
    elif isinstance(d, dict):
        d = d.get(k)
    else:
        d = None
    if d is None:
        break
print("" if d is None else json.dumps(d) if isinstance(d, (dict, list)) else d)
' "$1"
}

# api METHOD PATH [JSON]: prints the response body; dies unless the status is 2xx.
api() {
    local method=$1 path=$2 body=${3:-} out code
    local args=(-sS -X "$method" --max-time 120 -w '\n%{http_code}'
        -H 'X-OpenStack-Ironic-API-Version: latest')
    [[ -n $body ]] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
    out=$(curl "${args[@]}" "$API$path") || die "$method $path: curl failed"
    code=${out##*$'\n'}
    out=${out%"$code"}
    out=${out%$'\n'}
    [[ $code == 2?? ]] || die "$method $path: HTTP $code: $out"
    printf '%s\n' "$out"
}

# wait_state UUID STATE [SECONDS]
wait_state() {
    local id=$1 want=$2 limit=${3:-180} deadline node state
    deadline=$((SECONDS + limit))
    while :; do
        node=$(api GET "/v1/nodes/$id")
        state=$(jget provision_state <<<"$node")
        [[ $state == "$want" ]] && return 0
        case $state in
            *failed | error) die "node $id is in '$state': $(jget last_error <<<"$node")" ;;
        esac
        ((SECONDS < deadline)) || die "node $id still in '$state' after ${limit}s (wanted $want)"
        sleep 0.3
    done
}

# enroll NAME MAC: a fake-hardware node deployed by m2 and booted by iPXE, in
# 'available'; prints its UUID.
enroll() {
    local name=$1 mac=$2 node id
    node=$(api POST /v1/nodes "{\"driver\": \"fake-hardware\", \"name\": \"$name\",
        \"deploy_interface\": \"m2\", \"boot_interface\": \"ipxe\",
        \"power_interface\": \"fake\", \"management_interface\": \"fake\"}")
    id=$(jget uuid <<<"$node")
    [[ -n $id ]] || die "POST /v1/nodes gave no uuid: $node"
    api POST /v1/ports "{\"address\": \"$mac\", \"node_uuid\": \"$id\"}" >/dev/null
    api PUT "/v1/nodes/$id/states/provision" '{"target": "manage"}' >/dev/null
    wait_state "$id" manageable
    api PUT "/v1/nodes/$id/states/provision" '{"target": "provide"}' >/dev/null
    wait_state "$id" available
    printf '%s\n' "$id"
}

# deploy UUID PATCH-JSON USER_DATA: sets instance_info, deploys with a
# configdrive holding USER_DATA (JSON-escaped), waits for 'active'; prints ms.
deploy() {
    local id=$1 patch=$2 user_data=$3 t0
    api PATCH "/v1/nodes/$id" "$patch" >/dev/null
    t0=$(ms_now)
    api PUT "/v1/nodes/$id/states/provision" \
        "{\"target\": \"active\", \"configdrive\": {\"user_data\": \"$user_data\"}}" >/dev/null
    wait_state "$id" active
    echo $(($(ms_now) - t0))
}

# tgtd's per-LUN read counters, one line "time lun sid rd_done_bytes" per LUN and session.
tgt_stats() { # tid
    tgtadm -C "$M2_TGT_CTL" --lld iscsi --mode target --op stat --tid "$1" 2>/dev/null |
        awk -v t="$(ms_now)" '$1 != "tgt" && NF >= 12 { print t, $2, $3, $6 }'
}

# tgtd sessions vanish with the node's connections: the read bytes of LUN $2 are
# the sum over sessions of the last value seen in the polls file $1.
tgt_read_bytes() { # file lun
    awk -v lun="$2" '$2 == lun { k = $3; if ($4 > m[k]) m[k] = $4 }
        END { s = 0; for (k in m) s += m[k]; printf "%d\n", s }' "$1"
}

# rbd_counters IMAGE...: rd_bytes of the librbd image contexts of tgtd (its admin
# sockets, from ceph.sh's [client.m2] section), one line "pool/image bytes" each.
# PARENT@IMAGE reads the parent's context opened together with IMAGE.
rbd_counters() {
    local pid
    pid=$(cat "$WORK/tgt/tgtd.pid")
    python3 - "$WORK/ceph/run" "$pid" "$@" <<'EOF'
import glob, json, subprocess, sys
run, pid, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
dumps = []
for sock in sorted(glob.glob(f"{run}/ceph-client.m2.{pid}.*.asok")):
    try:
        out = subprocess.run(["ceph", "--admin-daemon", sock, "perf", "dump"],
                             capture_output=True, text=True, timeout=30, check=True).stdout
        dumps.append(json.loads(out))
    except (subprocess.SubprocessError, ValueError):
        pass
def key(d, image):
    suffix = "-" + image.replace("/", "-")
    return next((k for k in d if k.startswith("librbd-") and k.endswith(suffix)), None)
for w in wanted:
    parent, _, image = w.rpartition("@")
    val = ""
    for d in dumps:
        k = key(d, image)
        if k is None:
            continue
        if parent:
            k = key(d, parent)
            if k is None:
                continue
        val = str(d[k].get("rd_bytes", ""))
        break
    print(w, val)
EOF
}

# boot LABEL DIR MAC TID [qemu-node.sh options...]: starts the node's QEMU
# ("power on") and waits for M2-DONE; sets BOOT_MS (power-on to M2-DONE),
# OFF_MS (power-on to QEMU exit) and CONSOLE (the console, CR stripped). With a
# TID other than "-", polls that target's tgtd counters into DIR/tgt-stats.
boot() {
    local label=$1 dir=$2 mac=$3 tid=$4 t0 now err alive
    shift 4
    local console=$dir/console.log
    rm -f "$console"
    CURRENT_CONSOLE=$console
    [[ $tid == - ]] || : >"$dir/tgt-stats"
    t0=$(ms_now)
    spawn "$QEMU_PIDFILE" "$dir/qemu.log" "$HARNESS/qemu-node.sh" run "$dir" \
        --tgt-port "$M2_TGT_PORT" --http-port "$API_PORT" --mac "$mac" "$@"
    while :; do
        # QEMU's liveness first: the guest powers off right after M2-DONE, so a
        # QEMU seen gone before the console is read has written all of it.
        alive=1
        pidfile_alive "$QEMU_PIDFILE" || alive=0
        if [[ -f $console ]] && grep -aq '^M2-DONE' "$console"; then break; fi
        now=$(ms_now)
        if [[ -f $console ]] && err=$(grep -a -m1 '^M2-ERROR' "$console"); then
            die "$label: the guest failed: ${err%$'\r'}"
        fi
        ((alive)) || die "$label: QEMU exited without M2-DONE (see $dir/qemu.log)"
        ((now - t0 < BOOT_TIMEOUT * 1000)) || die "$label: no M2-DONE within ${BOOT_TIMEOUT}s"
        [[ $tid == - ]] || tgt_stats "$tid" >>"$dir/tgt-stats"
        sleep 0.1
    done
    BOOT_MS=$(($(ms_now) - t0))
    [[ $tid == - ]] || tgt_stats "$tid" >>"$dir/tgt-stats"
    # The guest syncs and powers off; QEMU exits.
    wait_until 60 qemu_gone ||
        die "$label: QEMU still running 60 s after M2-DONE"
    OFF_MS=$(($(ms_now) - t0))
    stop_pidfile "$QEMU_PIDFILE" 5
    CURRENT_CONSOLE=""
    CONSOLE=$(tr -d '\r' <"$console")
    grep -a '^M2-' <<<"$CONSOLE" | sed "s/^/[boot-bench]   $label: /" >&2
    log "$label: M2-DONE after $(secs "$BOOT_MS") s, powered off after $(secs "$OFF_MS") s"
}

qemu_gone() { ! pidfile_alive "$QEMU_PIDFILE"; }

console_value() { # KEY: the last value of KEY=... in $CONSOLE
    sed -n "s/^$1=//p" <<<"$CONSOLE" | tail -n 1
}

secs() { awk -v ms="$1" 'BEGIN { printf "%.2f", ms / 1000 }'; }
mb() { awk -v b="$1" 'BEGIN { printf "%.2f MB", b / 1e6 }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f %%", 100 * a / b }'; }

# --- services ---------------------------------------------------------------------
LOAD_START=$(cut -d ' ' -f 1-3 /proc/loadavg)
T_START=$SECONDS

deadline=$((SECONDS + 120))
until [[ -x $M2_BIN ]]; do
    ((SECONDS < deadline)) || die "$M2_BIN missing (build it: cargo build)"
    log "waiting for $M2_BIN"
    sleep 10
done
# A copy: the checkout's binary may be rebuilt while the benchmark runs.
cp "$M2_BIN" "$WORK/m2"

log "starting Ceph"
out=$("$HARNESS/ceph.sh" start "$WORK/ceph") || die "ceph.sh start failed"
eval "$out"
log "starting tgtd"
out=$("$HARNESS/tgtd.sh" start "$WORK/tgt") || die "tgtd.sh start failed"
eval "$out"
RBD=(rbd --id m2)

log "building the test image ($IMAGE_MIB MiB, $FILLER_MIB MiB of filler)"
"$HARNESS/build-image.sh" "$WORK/disk.img" --size "$IMAGE_MIB" --filler "$FILLER_MIB" 2>>"$WORK/build-image.log" ||
    die "build-image.sh failed (see $WORK/build-image.log)"

API_PORT=$(free_port 1) || die "no free port"
API=http://127.0.0.1:$API_PORT
cat >"$WORK/m2.conf" <<EOF
[DEFAULT]
host = boot-bench
enabled_hardware_types = ipmi,fake-hardware
enabled_power_interfaces = ipmitool,fake
enabled_management_interfaces = ipmitool,fake
enabled_boot_interfaces = ipxe,fake
enabled_deploy_interfaces = m2,fake

[api]
host_ip = 127.0.0.1
port = $API_PORT

[conductor]
automated_clean = false
force_power_state_during_sync = false

[ipmi]
command_retry_timeout = 10

[pxe]
http_url = http://10.0.2.101

[ceph]
conffile = $CEPH_CONF

[iscsi]
portal = 127.0.0.1:$M2_TGT_PORT
guest_portal = 10.0.2.100:3260
tgt_control_port = $M2_TGT_CTL
tgtadm = tgtadm
reconcile_interval = 2
EOF
log "starting m2 on 127.0.0.1:$API_PORT"
mkdir -p "$WORK/m2-data"
spawn "$WORK/m2.pid" "$WORK/m2.err" env -u M2_CONFIG_FILE -u M2_DATA_DIR -u RUST_LOG NO_COLOR=1 \
    "$WORK/m2" --config-file "$WORK/m2.conf" standalone --data-dir "$WORK/m2-data"
wait_until 60 curl -sf --max-time 5 "$API/" ||
    die "m2 did not answer on $API within 60 s (see $WORK/m2.err)"

# --- image and nodes ----------------------------------------------------------------
IMAGE_NAME=boot-bench
img=$(api POST /v1/images "{\"name\": \"$IMAGE_NAME\", \"visibility\": \"public\"}")
IMAGE_ID=$(jget uuid <<<"$img")
log "uploading $(stat -c %s "$WORK/disk.img") bytes as image $IMAGE_ID"
# Streamed from the file (--upload-file), not read into memory first; m2 spools,
# imports and snapshots it before it answers.
t0=$(ms_now)
img=$(curl -sS --fail-with-body --max-time $((300 + IMAGE_MIB / 4)) -X PUT \
    -H 'X-OpenStack-Ironic-API-Version: latest' -H 'Content-Type: application/octet-stream' \
    -H 'Expect:' --upload-file "$WORK/disk.img" "$API/v1/images/$IMAGE_ID/file") ||
    die "image upload failed: $img"
UPLOAD_MS=$(($(ms_now) - t0))
[[ $(jget status <<<"$img") == active ]] || die "image not active after upload: $img"
IMAGE_SIZE=$(jget size <<<"$img")
IMAGE_RBD=$(jget rbd <<<"$img") # pool/image@snapshot
IMAGE_ALLOC=$("${RBD[@]}" diff --format json "$IMAGE_RBD" 2>/dev/null |
    python3 -c 'import json, sys; print(sum(e["length"] for e in json.load(sys.stdin)))') ||
    die "rbd diff $IMAGE_RBD failed"
IMAGE_USED=$("${RBD[@]}" du --format json "$IMAGE_RBD" 2>/dev/null | jget images.0.used_size) ||
    die "rbd du $IMAGE_RBD failed"
# Both paths read the same parent objects: read them once first, so that the
# first boot does not alone pay the OSD's cold cache (a golden image is hot in a
# cluster whose nodes boot from it). The whole image may not fit in the OSD's
# cache: the boot partition (first 64 MiB), which both paths boot from, is read
# again last.
log "reading the image once (warms the OSD's cache for both paths)"
t0=$(ms_now)
"${RBD[@]}" export --no-progress "$IMAGE_RBD" - >/dev/null 2>&1 || die "rbd export $IMAGE_RBD failed"
{ "${RBD[@]}" export --no-progress "$IMAGE_RBD" - 2>/dev/null || :; } | head -c $((64 << 20)) >/dev/null
WARM_MS=$(($(ms_now) - t0))

BOOT_SCRIPT=$(api GET /boot/boot.ipxe)
MAC_M2=52:54:00:b0:0b:01
MAC_COPY=52:54:00:b0:0b:02
for d in node-m2 node-copy; do
    mkdir -p "$WORK/$d/tftp"
    printf '%s\n' "$BOOT_SCRIPT" >"$WORK/$d/tftp/boot.ipxe"
done

log "enrolling two fake-hardware nodes"
NODE_M2=$(enroll bench-m2 "$MAC_M2")
NODE_COPY=$(enroll bench-copy "$MAC_COPY")

log "deploying bench-m2 (root_gb $ROOT_GB) and bench-copy (root_gb unset: its disk is the image)"
DEPLOY_M2_MS=$(deploy "$NODE_M2" "[{\"op\": \"add\", \"path\": \"/instance_info/image_source\", \"value\": \"$IMAGE_NAME\"},
    {\"op\": \"add\", \"path\": \"/instance_info/root_gb\", \"value\": $ROOT_GB}]" 'm2bench=1\n')
DEPLOY_COPY_MS=$(deploy "$NODE_COPY" "[{\"op\": \"add\", \"path\": \"/instance_info/image_source\", \"value\": \"$IMAGE_NAME\"}]" 'm2copy=1\n')

node=$(api GET "/v1/nodes/$NODE_M2")
DISK_M2=$(jget driver_internal_info.m2_disk <<<"$node")
IQN_M2=$(jget driver_internal_info.m2_target <<<"$node")
[[ -n $DISK_M2 && -n $IQN_M2 ]] || die "bench-m2 has no m2_disk/m2_target: $node"
DISK_SIZE=$("${RBD[@]}" info --format json "$DISK_M2" | jget size)
# The target's id and the backing image of each LUN, from tgtadm's listing.
tgt_show=$(tgtadm -C "$M2_TGT_CTL" --lld iscsi --mode target --op show)
TID_M2=$(sed -n "s/^Target \([0-9]*\): $IQN_M2\$/\1/p" <<<"$tgt_show")
[[ -n $TID_M2 ]] || die "no tgtd target $IQN_M2"
CFG_M2=$(awk -v iqn="$IQN_M2" '/^Target / { t = ($3 == iqn) } t && /LUN: / { lun = $2 }
    t && lun == 2 && /Backing store path:/ { print $4 }' <<<"$tgt_show")

# --- figure 1 and M2's boot time --------------------------------------------------------
read_counters() { # prints "disk parent configdrive" rd_bytes
    local lines
    lines=$(rbd_counters "$DISK_M2" "${IMAGE_RBD%@*}@$DISK_M2" ${CFG_M2:+"$CFG_M2"})
    awk '$2 != "" { v[NR] = $2 }
        END { for (i = 1; i <= 3; i++) printf "%s%s", (i in v ? v[i] : "-"), (i < 3 ? " " : "\n") }' <<<"$lines"
}
read -r D0 P0 C0 < <(read_counters)
log "boot 1/3: bench-m2 network-boots its iSCSI clone"
boot bench-m2 "$WORK/node-m2" "$MAC_M2" "$TID_M2"
M2_MS=$BOOT_MS
M2_OFF_MS=$OFF_MS
M2_UPTIME=$(console_value M2-UPTIME)
read -r D1 P1 C1 < <(read_counters)
TGT_DISK=$(tgt_read_bytes "$WORK/node-m2/tgt-stats" 1)
TGT_CFG=$(tgt_read_bytes "$WORK/node-m2/tgt-stats" 2)
delta() { if [[ $1 == - || $2 == - ]]; then echo -; else echo $(($2 - $1)); fi; }
RD_DISK=$(delta "$D0" "$D1")
RD_PARENT=$(delta "$P0" "$P1")
RD_CFG=$(delta "$C0" "$C1")
[[ $RD_CFG != - ]] || RD_CFG=$TGT_CFG
if [[ $RD_DISK == - ]]; then
    log "no librbd counters for $DISK_M2 in tgtd's admin sockets: using tgtd's counters"
    READ_DISK=$TGT_DISK
    READ_SRC="tgtd per-session counters"
else
    READ_DISK=$RD_DISK
    READ_SRC="librbd counters of tgtd"
fi

# --- copy-to-disk ------------------------------------------------------------------------
LOCAL=$WORK/node-copy/local-disk.img
truncate -s "${ROOT_GB}G" "$LOCAL"
log "boot 2/3: bench-copy network-boots and copies its disk to the local disk"
boot bench-copy "$WORK/node-copy" "$MAC_COPY" - --local-disk "$LOCAL"
COPY1_MS=$BOOT_MS
COPY1_OFF_MS=$OFF_MS
COPY1_UPTIME=$(console_value M2-UPTIME)
COPIED=$(console_value M2-COPIED)
[[ -n $COPIED ]] || die "bench-copy did not copy its disk (no M2-COPIED line)"
log "boot 3/3: bench-copy boots from the local disk"
boot bench-copy-local "$WORK/node-copy" "$MAC_COPY" - --local-disk "$LOCAL" --boot-local
COPY2_MS=$BOOT_MS
COPY2_UPTIME=$(console_value M2-UPTIME)
grep -aqx M2-LOCAL-DISK <<<"$CONSOLE" || die "the local-disk boot did not boot the local disk"
COPY_MS=$((COPY1_MS + COPY2_MS))
LOAD_END=$(cut -d ' ' -f 1-3 /proc/loadavg)

# --- figures ----------------------------------------------------------------------------------
GIB=$((1 << 30))
cat <<EOF

boot-bench: image $IMAGE_SIZE B raw ($(mb "$IMAGE_SIZE"); --image-mib $IMAGE_MIB --filler-mib $FILLER_MIB), allocated data $IMAGE_ALLOC B ($(mb "$IMAGE_ALLOC"); rbd du used $(mb "$IMAGE_USED")); M2 node disk $DISK_SIZE B ($(awk -v b="$DISK_SIZE" -v g="$GIB" 'BEGIN { printf "%.1f", b / g }') GiB, root_gb=$ROOT_GB)
[1] bytes read from RBD during one M2 boot (power-on to M2-DONE)
    read by the node from its disk (LUN 1):  $READ_DISK B ($(mb "$READ_DISK"); $READ_SRC)
      cross-check, tgtd per-session counters: $TGT_DISK B (last poll before power-off)
    vs the disk's virtual size $DISK_SIZE B:  $(pct "$READ_DISK" "$DISK_SIZE")  (target at most 2 %; paper: about 170 MB of 8 GB)
    vs the image's allocated data $IMAGE_ALLOC B:  $(pct "$READ_DISK" "$IMAGE_ALLOC")
    also read: configdrive (LUN 2) $RD_CFG B; by the clone from its parent image $RD_PARENT B (includes copy-up of the objects the guest wrote)
[2] boot time, power-on (QEMU start) to M2-DONE, same image, QEMU TCG
    M2, one network boot from the iSCSI clone:       $(secs "$M2_MS") s  (guest uptime at M2-DONE ${M2_UPTIME} s)
    copy-to-disk, network boot + copy of $COPIED B:  $(secs "$COPY1_MS") s  (guest uptime at M2-DONE ${COPY1_UPTIME} s)
    copy-to-disk, boot from the local disk:         $(secs "$COPY2_MS") s  (guest uptime at M2-DONE ${COPY2_UPTIME} s)
    copy-to-disk, total:                            $(secs "$COPY_MS") s
      of which the copy, about (guest uptime at M2-DONE, copy boot 1 minus M2): $(awk -v a="$COPY1_UPTIME" -v b="$M2_UPTIME" -v n="$COPIED" 'BEGIN { d = a - b; printf "%.2f s", d; if (d > 0) printf ", %.1f MB/s", n / d / 1e6 }')
    ratio M2/copy: $(awk -v a="$M2_MS" -v b="$COPY_MS" 'BEGIN { printf "%.2f", a / b }')  (target at most 0.5)
    not counted: deploy request to 'active' (M2 $(secs "$DEPLOY_M2_MS") s, copy node $(secs "$DEPLOY_COPY_MS") s); M2-DONE to power-off (M2 $(secs $((M2_OFF_MS - M2_MS))) s, copy boot 1 $(secs $((COPY1_OFF_MS - COPY1_MS))) s); image upload $(secs "$UPLOAD_MS") s, cache warm-up $(secs "$WARM_MS") s
load average at start $LOAD_START, at end $LOAD_END; run took $((SECONDS - T_START)) s
EOF
