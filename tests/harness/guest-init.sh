#!/bin/sh
# /init of the test guest's initramfs (busybox). Built in by build-image.sh.
# Every line the tests look for on the serial console starts with "M2-":
#   M2-BOOT-MARKER              the kernel ran the initramfs
#   M2-UPTIME=<seconds>         guest uptime then (and before M2-DONE)
#   M2-IBFT-TARGET=<iqn>        from /sys/firmware/ibft (iPXE sanboot)
#   M2-IBFT-INITIATOR=<iqn>
#   M2-LOCAL-DISK               no iBFT: booted from a local (virtio) disk, as a VM
#   M2-CONFIGDRIVE=<label>      a disk labelled config-2 (LUN 2) was found
#   M2-USERDATA=<first line>    of openstack/latest/user_data on it
#   M2-NOCONFIGDRIVE            no such disk
# A line m2write=<word> in the configdrive's user_data asks for a write too.
# A line m2copy=1 there asks, after the iSCSI login, for a copy of the whole
# boot disk to the local disk /dev/vda (as a copy-to-disk deploy would do):
#   M2-COPIED=<bytes>           the boot disk was copied to /dev/vda
#   M2-DATA=<words>             M2DATA.TXT on the boot disk, lines joined by spaces
#   M2-NODATA                   no M2DATA.TXT
#   M2-WROTE=<word>             word appended to M2DATA.TXT (see below)
#   M2-ERROR=<what>             a step failed; the guest powers off
#   M2-DONE                     last line before power off
# Stage 2 logs into the boot target from iBFT (iscsistart), mounts the FAT
# partition read-write and, when the kernel command line has m2write=<word>
# or the partition holds M2WRITE.TXT, appends the word to M2DATA.TXT. The
# file M2WRITE.TXT is removed after use: it asks for one write per disk.
export PATH=/bin:/sbin

mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
echo M2-BOOT-MARKER
echo "M2-UPTIME=$(cut -d ' ' -f 1 /proc/uptime)"

fail() {
    echo "M2-ERROR=$*"
    sync
    poweroff -f
}

modprobe iscsi_ibft || fail "modprobe iscsi_ibft"
ibft=/sys/firmware/ibft
if [ -r $ibft/target0/target-name ]; then
    echo "M2-IBFT-TARGET=$(cat $ibft/target0/target-name)"
    echo "M2-IBFT-INITIATOR=$(cat $ibft/initiator/initiator-name)"
    glob="sd*1"
else
    # A VM booting the same disk through QEMU's rbd driver.
    echo M2-LOCAL-DISK
    for m in virtio_pci virtio_blk vfat nls_cp437 nls_ascii; do
        modprobe $m || fail "modprobe $m"
    done
    glob="vd*1"
fi

# --- stage 2: log into the boot target, read and write the FAT partition ---
if [ "$glob" = "sd*1" ]; then
# iscsi_tcp needs crc32c from the crypto API (no SSE4.2 under TCG).
for m in virtio_pci virtio_net crc32c_generic iscsi_tcp sd_mod vfat nls_cp437 nls_ascii; do
    modprobe $m || fail "modprobe $m"
done
ip link set lo up
# The NIC appears asynchronously after virtio_net loads.
i=0
while :; do
    for n in /sys/class/net/*; do [ "${n##*/}" = lo ] || break 2; done
    i=$((i + 1)); [ $i -le 50 ] || fail "no network interface"; sleep 0.1
done
iscsistart -N >/tmp/iscsistart-N.log 2>&1 || { cat /tmp/iscsistart-N.log; fail "iscsistart -N"; }
iscsistart -b >/tmp/iscsistart-b.log 2>&1 || { cat /tmp/iscsistart-b.log; fail "iscsistart -b"; }
fi

part=""
i=0
while [ -z "$part" ]; do
    # shellcheck disable=SC2086 # the glob is meant to expand
    for p in /sys/class/block/$glob; do
        [ -e "$p" ] && [ -b "/dev/${p##*/}" ] && part=/dev/${p##*/}
    done
    [ -n "$part" ] && break
    i=$((i + 1)); [ $i -le 100 ] || fail "no disk partition after iSCSI login"; sleep 0.2
done

# The configdrive: a whole disk (no partition table) labelled config-2
# (busybox has findfs, not blkid).
cfg=""
i=0
while [ -z "$cfg" ] && [ $i -lt 5 ]; do
    cfg=$(findfs LABEL=config-2 2>/dev/null) || cfg=""
    [ -n "$cfg" ] || { i=$((i + 1)); sleep 0.2; }
done
if [ -n "$cfg" ]; then
    mkdir -p /cfg
    mount -t vfat -o ro "$cfg" /cfg || fail "mount configdrive $cfg"
    echo "M2-CONFIGDRIVE=config-2"
    if [ -f /cfg/openstack/latest/user_data ]; then
        echo "M2-USERDATA=$(head -n 1 /cfg/openstack/latest/user_data | tr -d '\r')"
        cfgword=$(sed -n 's/^m2write=\([A-Za-z0-9_-]*\).*/\1/p' /cfg/openstack/latest/user_data | head -n 1)
        grep -q '^m2copy=1' /cfg/openstack/latest/user_data && cfgcopy=1
    fi
    umount /cfg
else
    echo M2-NOCONFIGDRIVE
fi
# Copy mode: the whole boot disk (the partition's disk) onto the local disk.
if [ -n "${cfgcopy:-}" ] && [ "$glob" = "sd*1" ]; then
    disk=${part%%[0-9]*}
    modprobe virtio_blk || fail "modprobe virtio_blk"
    i=0
    while [ ! -b /dev/vda ]; do
        i=$((i + 1)); [ $i -le 50 ] || fail "no local disk /dev/vda"; sleep 0.1
    done
    dd if="$disk" of=/dev/vda bs=1M conv=fsync 2>/tmp/dd.log || { cat /tmp/dd.log; fail "dd $disk to /dev/vda"; }
    echo "M2-COPIED=$(blockdev --getsize64 "$disk")"
fi
mkdir -p /mnt
mount -t vfat -o rw "$part" /mnt || fail "mount $part"

if [ -f /mnt/M2DATA.TXT ]; then
    echo "M2-DATA=$(tr -d '\r' </mnt/M2DATA.TXT | tr '\n' ' ' | sed 's/ *$//')"
else
    echo M2-NODATA
fi

word=${cfgword:-}
# shellcheck disable=SC2013 # words, not lines
for arg in $(cat /proc/cmdline); do
    case $arg in m2write=*) word=${arg#m2write=} ;; esac
done
if [ -z "$word" ] && [ -f /mnt/M2WRITE.TXT ]; then
    word=$(tr -d '\r' </mnt/M2WRITE.TXT | head -n 1 | tr -d ' \t')
fi
if [ -n "$word" ]; then
    echo "$word" >>/mnt/M2DATA.TXT || fail "write M2DATA.TXT"
    rm -f /mnt/M2WRITE.TXT
fi
sync
umount /mnt || fail "umount $part"
[ -n "$word" ] && echo "M2-WROTE=$word"
echo "M2-UPTIME=$(cut -d ' ' -f 1 /proc/uptime)"
echo M2-DONE
sync
poweroff -f
