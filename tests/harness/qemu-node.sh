#!/usr/bin/env bash
# QEMU command line of a test "bare-metal node": BIOS + iPXE network boot,
# software emulation, serial console to a file, user-mode network that lets
# the guest reach only the iSCSI target (and optionally one HTTP server).
#
#   tests/harness/qemu-node.sh print|run DIR --tgt-port PORT [options]
#
#   print           write the command, shell-quoted, on one line
#   run             exec it (foreground; power off in the guest ends it)
#   --tgt-port P    host tgtd portal 127.0.0.1:P, seen by the guest as 10.0.2.100:3260
#   --http-port H   host HTTP 127.0.0.1:H, seen by the guest as http://10.0.2.101/
#   --mac MAC       NIC MAC (default 52:54:00:12:34:56)
#   --memory MB     default 512
#   --bootfile F    DHCP boot file served from DIR/tftp (default boot.ipxe)
#   --rbd P/I       a VM instead: boot RBD image P/I from a virtio disk through
#                   QEMU's rbd driver (qemu-block-extra), no network boot
#   --ceph-conf F   ceph.conf for --rbd (client id m2, keyring from the conf)
#   --local-disk F  also attach raw file F as a virtio disk (the node's local
#                   disk; the guest sees it as /dev/vda); still network boot
#   --boot-local    boot from the --local-disk (-boot c) instead of the network
#
# DIR/tftp/<bootfile> must exist (an iPXE script starting with #!ipxe); the
# serial console goes to DIR/console.log (rewritten at each start).
# Inside -netdev every guestfwd target is a command run per connection:
#   guestfwd=tcp:10.0.2.100:3260-cmd:socat -b 262144 - TCP:127.0.0.1:P
# (a chardev such as tcp:127.0.0.1:P would be a single connection made at
# start; commas in -netdev values must be doubled, these have none).
# Debian's iPXE virtio ROMs carry PCI id 1af4:1041 (modern virtio) and SeaBIOS
# runs a ROM only on an exact id match: the NIC is modern-only
# (disable-legacy=on), else SeaBIOS skips iPXE and reports no bootable device.
set -euo pipefail
# shellcheck source=tests/harness/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -ge 2 ]] || usage
MODE=$1
DIR=$(abspath "$2")
shift 2
TGT_PORT="" HTTP_PORT="" MAC=52:54:00:12:34:56 MEMORY=512 BOOTFILE=boot.ipxe RBD="" CEPH_CONF=""
LOCAL_DISK="" BOOT_LOCAL=""

while [[ $# -gt 0 ]]; do
    case $1 in
        --tgt-port) TGT_PORT=$2; shift 2 ;;
        --http-port) HTTP_PORT=$2; shift 2 ;;
        --mac) MAC=$2; shift 2 ;;
        --memory) MEMORY=$2; shift 2 ;;
        --bootfile) BOOTFILE=$2; shift 2 ;;
        --rbd) RBD=$2; shift 2 ;;
        --ceph-conf) CEPH_CONF=$2; shift 2 ;;
        --local-disk) LOCAL_DISK=$2; shift 2 ;;
        --boot-local) BOOT_LOCAL=1; shift ;;
        *) usage ;;
    esac
done
[[ $TGT_PORT =~ ^[0-9]+$ ]] || usage
[[ $MODE == print || $MODE == run ]] || usage
ROM=/usr/lib/ipxe/qemu/pxe-virtio.rom
[[ -r $ROM ]] || die "$ROM missing (install ipxe-qemu)"
[[ $DIR != *,* ]] || die "DIR must not contain commas (QEMU option syntax)"
if [[ -n $LOCAL_DISK ]]; then
    LOCAL_DISK=$(abspath "$LOCAL_DISK")
    [[ -w $LOCAL_DISK && $LOCAL_DISK != *[,:]* ]] ||
        die "--local-disk needs a writable file without commas or colons"
fi
[[ -z $BOOT_LOCAL || -n $LOCAL_DISK ]] || die "--boot-local needs --local-disk"
[[ -z $BOOT_LOCAL || -z $RBD ]] || die "--boot-local and --rbd exclude each other"

netdev="user,id=n0,restrict=on,tftp=$DIR/tftp,bootfile=$BOOTFILE"
netdev+=",guestfwd=tcp:10.0.2.100:3260-cmd:socat -b 262144 - TCP:127.0.0.1:$TGT_PORT"
if [[ -n $HTTP_PORT ]]; then
    netdev+=",guestfwd=tcp:10.0.2.101:80-cmd:socat - TCP:127.0.0.1:$HTTP_PORT"
fi
# shellcheck disable=SC2054 # the commas belong to QEMU options
cmd=(qemu-system-x86_64 -machine pc,accel=tcg -m "$MEMORY" -smp 1
    -display none -vga none -monitor none -no-reboot
    -serial "file:$DIR/console.log"
    -netdev "$netdev"
    -device "virtio-net-pci,netdev=n0,mac=$MAC,romfile=$ROM,disable-legacy=on")
if [[ -n $RBD ]]; then
    [[ -r $CEPH_CONF && $CEPH_CONF != *[,:]* && $RBD != *[,:]* ]] ||
        die "--rbd needs a readable --ceph-conf without commas or colons"
    cmd+=(-drive "file=rbd:$RBD:id=m2:conf=$CEPH_CONF,format=raw,if=virtio,cache=writeback" -boot c)
fi
if [[ -n $LOCAL_DISK ]]; then
    cmd+=(-drive "file=$LOCAL_DISK,format=raw,if=virtio")
fi
if [[ -n $BOOT_LOCAL ]]; then
    cmd+=(-boot c)
elif [[ -z $RBD ]]; then
    cmd+=(-boot n)
fi

if [[ $MODE == print ]]; then
    out=""
    for a in "${cmd[@]}"; do
        if [[ $a =~ ^[A-Za-z0-9_./:=,@+-]+$ ]]; then out+="$a "; else out+="'${a//\'/\'\\\'\'}' "; fi
    done
    printf '%s\n' "${out% }"
else
    mkdir -p "$DIR/tftp"
    exec "${cmd[@]}"
fi
