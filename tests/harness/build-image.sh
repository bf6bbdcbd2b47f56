#!/usr/bin/env bash
# Builds the test guest's bootable raw disk image (64 MiB, sparse) without
# root, mounts or loop devices: MBR (syslinux mbr.bin) + one FAT16 partition
# at 1 MiB holding syslinux, Debian's vmlinuz and a busybox initramfs whose
# /init is tests/harness/guest-init.sh (markers on ttyS0; see that file).
#
#   tests/harness/build-image.sh OUT.img [--data TEXT] [--write WORD] [--append ARGS]
#                                        [--size MIB] [--filler MIB]
#
#   --data TEXT    put M2DATA.TXT (TEXT plus newline) on the partition
#   --write WORD   put M2WRITE.TXT: the first boot of each copy of the disk
#                  appends WORD to M2DATA.TXT and removes M2WRITE.TXT
#   --append ARGS  extra kernel arguments (m2write=WORD writes on every boot)
#   --size MIB     disk size in MiB, at least 64 (default 64, or 64 + the
#                  filler). The partition stays 1 MiB to 64 MiB; the rest of
#                  the disk is outside any partition (zeros unless filled)
#   --filler MIB   fill MIB MiB from 64 MiB on (outside any partition, never
#                  read by a boot) with pseudo-random data, the AES-128-CTR
#                  keystream of a fixed key (openssl): it stands for the rest
#                  of an OS install, not sparse, not compressible (default 0)
#
# A test can also add or change these files later in a raw image (before
# rbd import) with mtools: mcopy -o -i OUT.img@@1M FILE ::M2WRITE.TXT
# Environment: M2_KERNEL_VERSION (default: newest with /boot/vmlinuz-*).
# Output is byte-identical for identical inputs.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/harness/lib.sh
. "$HERE/lib.sh"

[[ $# -ge 1 && $1 != -* ]] || usage
OUT=$(abspath "$1"); shift
DATA="" WRITE="" APPEND="" SIZE_MIB="" FILLER_MIB=0
while [[ $# -gt 0 ]]; do
    case $1 in
        --data) DATA=$2; shift 2 ;;
        --write) WRITE=$2; shift 2 ;;
        --append) APPEND=$2; shift 2 ;;
        --size) SIZE_MIB=$2; shift 2 ;;
        --filler) FILLER_MIB=$2; shift 2 ;;
        *) usage ;;
    esac
done
[[ $FILLER_MIB =~ ^(0|[1-9][0-9]*)$ ]] || die "--filler must be a whole number of MiB"
SIZE_MIB=${SIZE_MIB:-$((64 + FILLER_MIB))}
[[ $SIZE_MIB =~ ^[1-9][0-9]*$ && $SIZE_MIB -ge 64 ]] || die "--size must be a whole number of MiB, at least 64"
((64 + FILLER_MIB <= SIZE_MIB)) || die "--filler $FILLER_MIB does not fit after the partition of a $SIZE_MIB MiB disk"
if ((FILLER_MIB > 0)); then
    command -v openssl >/dev/null || die "openssl missing (install openssl; needed by --filler)"
fi

KVER=${M2_KERNEL_VERSION:-$(find /boot -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V | tail -n1)}
[[ -n $KVER && -r /boot/vmlinuz-$KVER && -d /lib/modules/$KVER ]] ||
    die "no readable /boot/vmlinuz-* with /lib/modules (install linux-image-amd64)"
MBR=/usr/lib/syslinux/mbr/mbr.bin
[[ -r $MBR ]] || die "$MBR missing (install syslinux-common)"
MODULES=(iscsi_ibft virtio_pci virtio_net virtio_blk crc32c_generic iscsi_tcp sd_mod vfat nls_cp437 nls_ascii)
EPOCH=946684800 # 2000-01-01: fixed timestamps (FAT cannot hold 1970)
export SOURCE_DATE_EPOCH=$EPOCH
DISK_SECTORS=$((SIZE_MIB * 2048)) # 64 MiB by default
PART_START=2048       # 1 MiB
PART_SECTORS=$((131072 - PART_START)) # up to 64 MiB, whatever the disk size

t0=$(ms_now)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/m2-image.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/root

# --- initramfs ---------------------------------------------------------------
mkdir -p "$ROOT"/{bin,sbin,dev,proc,sys,tmp,mnt,etc/iscsi,run,var/lock}
ldd /bin/busybox >/dev/null 2>&1 && die "/bin/busybox is dynamic (install busybox-static)"
cp /bin/busybox "$ROOT/bin/busybox"
for applet in $(busybox --list); do
    [[ $applet == busybox ]] || ln -sf busybox "$ROOT/bin/$applet"
done
ln -sf ../bin/busybox "$ROOT/sbin/modprobe" # the kernel's module autoload path
install -m 755 "$HERE/guest-init.sh" "$ROOT/init"

# Kernel modules with their dependencies, then depmod for busybox modprobe.
declare -A seen=()
add_module() { # name or relative path from modules.dep
    local key=${1##*/} line dep
    key=${key%.ko*}
    key=${key//-/_}
    [[ -n ${seen[$key]:-} ]] && return 0
    seen[$key]=1
    line=$(awk -v m="$key" '{ n = $1; sub(/:$/, "", n); sub(/.*\//, "", n); sub(/\.ko.*/, "", n);
        gsub(/-/, "_", n); if (n == m) { print; exit } }' "/lib/modules/$KVER/modules.dep")
    if [[ -z $line ]]; then
        grep -q "/${key//_/[-_]}\.ko" "/lib/modules/$KVER/modules.builtin" ||
            die "kernel module $key not found for $KVER"
        return 0
    fi
    for dep in ${line#*:}; do add_module "$dep"; done
    local rel=${line%%:*}
    mkdir -p "$ROOT/lib/modules/$KVER/$(dirname "$rel")"
    cp "/lib/modules/$KVER/$rel" "$ROOT/lib/modules/$KVER/$rel"
}
for m in "${MODULES[@]}"; do add_module "$m"; done
cp /lib/modules/"$KVER"/modules.{order,builtin,builtin.modinfo} "$ROOT/lib/modules/$KVER/"
depmod -b "$ROOT" "$KVER"

# iscsistart and the shared libraries it needs.
ISCSISTART=$(command -v iscsistart || echo /usr/sbin/iscsistart)
[[ -x $ISCSISTART ]] || die "iscsistart missing (install open-iscsi)"
cp "$ISCSISTART" "$ROOT/sbin/iscsistart"
for lib in $(ldd "$ISCSISTART" | awk '/=>/ { print $3 } /^\t\/lib/ { print $1 }'); do
    mkdir -p "$ROOT$(dirname "$lib")"
    cp -L "$lib" "$ROOT$lib"
done
[[ -d $ROOT/lib64 ]] || die "ld-linux not copied"

find "$ROOT" -exec touch -h -d "@$EPOCH" {} +
(cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort |
    cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -n -6 >"$WORK/initrd.gz"

# --- FAT partition -------------------------------------------------------------
PART=$WORK/part.img
mkfs.fat -C -F 16 -h "$PART_START" -n M2BOOT --invariant "$PART" $((PART_SECTORS / 2)) >/dev/null
syslinux --install "$PART"
cat >"$WORK/syslinux.cfg" <<EOF
DEFAULT m2
PROMPT 0
TIMEOUT 0
LABEL m2
  KERNEL /vmlinuz
  INITRD /initrd.gz
  APPEND console=ttyS0,115200 panic=-1 loglevel=4${APPEND:+ $APPEND}
EOF
cp "/boot/vmlinuz-$KVER" "$WORK/vmlinuz"
files=("$WORK/syslinux.cfg" "$WORK/vmlinuz" "$WORK/initrd.gz")
if [[ -n $DATA ]]; then printf '%s\n' "$DATA" >"$WORK/M2DATA.TXT"; files+=("$WORK/M2DATA.TXT"); fi
if [[ -n $WRITE ]]; then printf '%s\n' "$WRITE" >"$WORK/M2WRITE.TXT"; files+=("$WORK/M2WRITE.TXT"); fi
touch -d "@$EPOCH" "${files[@]}"
mcopy -m -i "$PART" "${files[@]}" ::

# --- disk: MBR boot code, partition table, partition ---------------------------
le32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
rm -f "$OUT"
truncate -s $((DISK_SECTORS * 512)) "$OUT"
dd if="$MBR" of="$OUT" bs=440 count=1 conv=notrunc status=none
{
    printf 'M2\x00\x01\x00\x00'                          # disk signature, reserved
    printf '\x80\x20\x21\x00\x0e\x28\x20\x08'            # active, CHS start, FAT16 LBA, CHS end
    # shellcheck disable=SC2059 # le32 yields printf escapes
    printf "$(le32 $PART_START)$(le32 $PART_SECTORS)"    # LBA start, sectors
    head -c 48 /dev/zero                                 # entries 2-4
    printf '\x55\xaa'
} | dd of="$OUT" bs=1 seek=440 conv=notrunc status=none
dd if="$PART" of="$OUT" bs=1M seek=1 conv=notrunc,sparse status=none
if ((FILLER_MIB > 0)); then
    # AES-CTR encryption of zeros is the keystream: the same bytes for the same
    # key and IV with any openssl; the input ends, so nothing gets SIGPIPE.
    head -c $((FILLER_MIB << 20)) /dev/zero |
        openssl enc -aes-128-ctr -nosalt -K 6d322d66696c6c65722d6b65792d3031 -iv 00000000000000000000000000000000 |
        dd of="$OUT" bs=1M seek=64 iflag=fullblock conv=notrunc status=none
    [[ $(stat -c %s "$OUT") -eq $((DISK_SECTORS * 512)) ]] || die "the filler overran the disk"
fi
sizes=""
((SIZE_MIB == 64 && FILLER_MIB == 0)) || sizes=", $SIZE_MIB MiB, filler $FILLER_MIB MiB"
log "built $OUT ($KVER$sizes, initrd $(stat -c %s "$WORK/initrd.gz") bytes) in $(($(ms_now) - t0)) ms"
