#!/usr/bin/env bash
# End-to-end proof of the boot chain with the harness scripts:
# Ceph RBD clone -> tgtd (rbd backing store, name ACL + CHAP) -> IPMI power on
# -> QEMU/iPXE (TFTP script chains an HTTP script through a guestfwd) ->
# sanboot -> Linux sees iBFT, logs in again from the initramfs, writes to the
# clone; a second boot of the same clone reads the data back.
#
#   tests/harness/demo-chain.sh DIR     # exit 0 only when every check passes
#
# Everything lives under DIR (kept for the logs) and is stopped at the end;
# M2_DEMO_KEEP=1 leaves the services running. Root needed for tgtd only.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/harness/lib.sh
. "$HERE/lib.sh"

[[ $# -eq 1 ]] || usage
DIR=$(abspath "$1")
mkdir -p "$DIR"
BOOT_TIMEOUT=${M2_DEMO_BOOT_TIMEOUT:-120}
declare -A T=() # timings, ms

step() { log "--- $*"; }
fail() { log "FAILED: $*"; exit 1; }

cleanup() {
    local rc=$?
    [[ -n ${M2_DEMO_KEEP:-} ]] && { log "M2_DEMO_KEEP set: services left running"; return; }
    "$HERE/ipmi-sim.sh" stop "$DIR/bmc" 2>/dev/null || true
    stop_pidfile "$DIR/http.pid" 2
    "$HERE/tgtd.sh" stop "$DIR/tgt" 2>/dev/null || true
    "$HERE/ceph.sh" stop "$DIR/ceph" 2>/dev/null || true
    if [[ $rc -ne 0 && -f $DIR/node/console.log ]]; then
        log "last console lines:"; tail -n 20 "$DIR/node/console.log" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT

# --- services ------------------------------------------------------------------
step "ceph"
t=$(ms_now); eval "$("$HERE/ceph.sh" start "$DIR/ceph")"; T[ceph_start]=$(($(ms_now) - t))
RBD=(rbd --id m2)
Q=--no-progress
step "tgtd"
eval "$("$HERE/tgtd.sh" start "$DIR/tgt")"
tgt() { tgtadm -C "$M2_TGT_CTL" --lld iscsi "$@"; }

step "image"
t=$(ms_now); "$HERE/build-image.sh" "$DIR/disk.img" --write first; T[image_build]=$(($(ms_now) - t))
t=$(ms_now); "${RBD[@]}" import $Q "$DIR/disk.img" m2-images/demo; T[rbd_import]=$(($(ms_now) - t))
t=$(ms_now)
"${RBD[@]}" snap create $Q m2-images/demo@golden
"${RBD[@]}" snap protect m2-images/demo@golden
T[snap_protect]=$(($(ms_now) - t))
t=$(ms_now); "${RBD[@]}" clone m2-images/demo@golden m2-disks/node-1; T[clone]=$(($(ms_now) - t))

UUID=$(uuidgen)
TARGET=iqn.2010-10.org.m2:node-$UUID
INITIATOR=iqn.2010-10.org.m2:initiator-$UUID
CHAP_USER=node-${UUID:0:8}
CHAP_SECRET=$(head -c 12 /dev/urandom | base64 | tr '+/' 'xy')
add_target() {
    tgt --mode target --op new --tid 1 -T "$TARGET"
    tgt --mode logicalunit --op new --tid 1 --lun 1 --bstype rbd \
        --backing-store m2-disks/node-1 --bsopts "conf=$CEPH_CONF;id=m2"
    tgt --mode target --op bind --tid 1 -Q "$INITIATOR"
    tgt --mode account --op bind --tid 1 --user "$CHAP_USER"
}
tgt --mode account --op new --user "$CHAP_USER" --password "$CHAP_SECRET"
add_target

# --- refusals (and the positive control) ----------------------------------------
step "iSCSI access checks"
URL=iscsi://$CHAP_USER%$CHAP_SECRET@127.0.0.1:$M2_TGT_PORT/$TARGET/1
iscsi-inq -i "$INITIATOR" "$URL" >/dev/null || fail "right initiator and secret refused"
if iscsi-inq -i iqn.2010-10.org.m2:intruder "$URL" >/dev/null 2>"$DIR/refusal-name.txt"; then
    fail "wrong initiator name accepted"
fi
if iscsi-inq -i "$INITIATOR" "iscsi://$CHAP_USER%wrong-secret@127.0.0.1:$M2_TGT_PORT/$TARGET/1" \
    >/dev/null 2>"$DIR/refusal-chap.txt"; then
    fail "wrong CHAP secret accepted"
fi
if iscsi-inq -i "$INITIATOR" "iscsi://127.0.0.1:$M2_TGT_PORT/$TARGET/1" >/dev/null 2>"$DIR/refusal-nochap.txt"; then
    fail "login without CHAP accepted"
fi
log "refused: name: $(tr -d '\n' <"$DIR/refusal-name.txt"); chap: $(tr -d '\n' <"$DIR/refusal-chap.txt")"

# --- boot scripts: TFTP script chains the per-node HTTP script ----------------------
mkdir -p "$DIR/node/tftp" "$DIR/http"
printf '#!ipxe\nchain http://10.0.2.101/node-1.ipxe\n' >"$DIR/node/tftp/boot.ipxe"
cat >"$DIR/http/node-1.ipxe" <<EOF
#!ipxe
set initiator-iqn $INITIATOR
set username $CHAP_USER
set password $CHAP_SECRET
sanboot iscsi:10.0.2.100::3260:1:$TARGET
EOF
HTTP_PORT=$(free_port 1)
spawn "$DIR/http.pid" "$DIR/http.log" python3 -m http.server --bind 127.0.0.1 --directory "$DIR/http" "$HTTP_PORT"
wait_until 10 port_busy "$HTTP_PORT" || fail "HTTP server did not start"

step "BMC"
BMC_PORT=$(free_port 1)
"$HERE/ipmi-sim.sh" start "$DIR/bmc" "$BMC_PORT" -- \
    "$HERE/qemu-node.sh" run "$DIR/node" --tgt-port "$M2_TGT_PORT" --http-port "$HTTP_PORT"
ipmi() { ipmitool -I lanplus -C 3 -H 127.0.0.1 -p "$BMC_PORT" -U admin -P password "$@"; }
ipmi chassis bootdev pxe >/dev/null
[[ $(cat "$DIR/bmc/bootdev") == pxe ]] || fail "bootdev pxe not recorded"

# boot N: power on, wait for the marker and M2-DONE, then for power off.
boot() {
    local n=$1 log=$DIR/node/console.log t
    rm -f "$log"
    t=$(ms_now)
    ipmi chassis power on >/dev/null
    [[ $(ipmi chassis power status) == *on ]] || fail "power status not on after power on"
    local gets
    gets=$(grep -c 'GET /node-1.ipxe' "$DIR/http.log" || true)
    wait_until "$BOOT_TIMEOUT" bash -c "(( \$(grep -c 'GET /node-1.ipxe' '$DIR/http.log') > $gets ))" ||
        fail "boot $n: iPXE did not fetch the HTTP script"
    T[boot${n}_to_http]=$(($(ms_now) - t))
    wait_until "$BOOT_TIMEOUT" grep -aq '^M2-BOOT-MARKER' "$log" || fail "boot $n: no marker in ${BOOT_TIMEOUT}s"
    T[boot${n}_to_marker]=$(($(ms_now) - t))
    wait_until 60 grep -aq -e '^M2-DONE' -e '^M2-ERROR' "$log" || fail "boot $n: no M2-DONE"
    T[boot${n}_to_done]=$(($(ms_now) - t))
    wait_until 20 bash -c "[[ \$(ipmitool -I lanplus -C 3 -H 127.0.0.1 -p $BMC_PORT -U admin -P password chassis power status) == *off ]]" ||
        fail "boot $n: power status still on after the guest powered off"
    T[boot${n}_to_off]=$(($(ms_now) - t))
    # The serial console ends lines with CR LF.
    CONSOLE=$DIR/console-boot$n.log
    tr -d '\r' <"$log" >"$CONSOLE"
    grep -a '^M2-' "$CONSOLE" | sed "s/^/[boot $n] /" >&2
    grep -aq '^M2-ERROR' "$CONSOLE" && fail "boot $n: $(grep -a '^M2-ERROR' "$CONSOLE")"
    grep -aqx "M2-IBFT-TARGET=$TARGET" "$CONSOLE" || fail "boot $n: iBFT target name wrong"
    grep -aqx "M2-IBFT-INITIATOR=$INITIATOR" "$CONSOLE" || fail "boot $n: iBFT initiator name wrong"
}

step "boot 1"
boot 1
grep -aqx 'M2-NODATA' "$CONSOLE" || fail "boot 1: M2DATA.TXT should not exist yet"
grep -aqx 'M2-WROTE=first' "$CONSOLE" || fail "boot 1: guest did not write"

# As after a tgtd restart: the target is recreated; the image is reopened.
tgt --mode target --op delete --force --tid 1
add_target

step "boot 2"
boot 2
grep -aqx 'M2-DATA=first' "$CONSOLE" || fail "boot 2: data from boot 1 missing"
grep -aq '^M2-WROTE' "$CONSOLE" && fail "boot 2: wrote again (M2WRITE.TXT not consumed)"

# --- storage-level check: the clone holds the data, the golden snapshot not -------
step "storage check"
tgt --mode target --op delete --force --tid 1
"${RBD[@]}" export $Q m2-disks/node-1 "$DIR/node-1.img"
[[ $(mtype -i "$DIR/node-1.img@@1M" ::M2DATA.TXT | tr -d '\r') == first ]] || fail "clone lacks M2DATA.TXT"
"${RBD[@]}" export $Q m2-images/demo@golden "$DIR/golden.img"
mtype -i "$DIR/golden.img@@1M" ::M2DATA.TXT >/dev/null 2>&1 && fail "golden snapshot was modified"
"${RBD[@]}" du m2-disks/node-1 >&2 2>/dev/null || true

step "teardown of the RBD objects"
"${RBD[@]}" rm $Q m2-disks/node-1
"${RBD[@]}" snap unprotect m2-images/demo@golden
"${RBD[@]}" snap rm $Q m2-images/demo@golden
"${RBD[@]}" rm $Q m2-images/demo
rm -f "$DIR/node-1.img" "$DIR/golden.img"

log "timings (ms):"
for k in ceph_start image_build rbd_import snap_protect clone \
    boot1_to_http boot1_to_marker boot1_to_done boot1_to_off \
    boot2_to_http boot2_to_marker boot2_to_done boot2_to_off; do
    printf '  %-16s %6s\n' "$k" "${T[$k]}" >&2
done
log "PASS"
