#!/usr/bin/env bash
# Benchmarks of the M2 path's control plane and of the disk lifecycle, against a
# real one-host Ceph cluster and a real tgtd (the test harness), with fake power:
# no node boots, so the figures are m2's own work plus Ceph's and tgtd's.
#
#   benches/m2-bench.sh [--nodes "1 10 100"] [--repeat N] [--binary PATH]
#                       [--keep-workdir]
#
# 1. Deploy N fake-hardware nodes at once (m2 deploy, ipxe boot) for each N of
#    --nodes: seconds until all are active, and per node the time of each step
#    (attach = clone, target, boot configuration, power) from m2's log (median
#    and max); then undeploy them all at once (seconds until all available).
# 2. Snapshot of a deployed node (POST /v1/images {"node": ...}) whose image is
#    64 MiB, and whose disk is a sparse 8 GiB: --repeat times each, median/min/max
#    of the call, and m2's split (disk snapshot, clone).
# 3. Release -> re-acquire: undeploy keeping the disk as a volume, deploy another
#    node from the volume; --repeat times, median of each half and of the sum.
# 4. Recovery (control plane): POST /v1/nodes/{failed}/recover until the spare
#    is active; --repeat times. (Call to the guest's boot marker on a real boot
#    is printed by tests/m2_lifecycle.rs.)
#
# Builds target/release/m2 unless --binary is given. Prints figures; the exit
# status is non-zero only when a run could not be carried out. Everything listens
# on 127.0.0.1 and is stopped at the end.
set -Eeuo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
HARNESS="$REPO_DIR/tests/harness"
NODES="1 10 100"
REPEAT=5
KEEP=0
M2=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --nodes) NODES="${2:?}"; shift 2 ;;
    --repeat) REPEAT="${2:?}"; shift 2 ;;
    --binary) M2="${2:?}"; shift 2 ;;
    --keep-workdir) KEEP=1; shift ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "m2-bench: unknown argument $1" >&2; exit 2 ;;
  esac
done

log() { printf '[m2-bench] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/m2-bench.XXXXXX")
M2_PID=""
cleanup() {
  [[ -n $M2_PID ]] && { kill -TERM "$M2_PID" 2>/dev/null || true; wait "$M2_PID" 2>/dev/null || true; }
  "$HARNESS/tgtd.sh" stop "$WORK/tgt" >/dev/null 2>&1 || true
  "$HARNESS/ceph.sh" stop "$WORK/ceph" >/dev/null 2>&1 || true
  if [[ $KEEP == 1 ]]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

if [[ -z $M2 ]]; then
  log "building target/release/m2"
  (cd "$REPO_DIR" && cargo build --release --bin m2 >&2)
  M2="$REPO_DIR/target/release/m2"
fi
[[ -x $M2 ]] || die "$M2 is not executable"

log "starting Ceph and tgtd"
eval "$("$HARNESS/ceph.sh" start "$WORK/ceph")"
eval "$("$HARNESS/tgtd.sh" start "$WORK/tgt")"
export CEPH_CONF
"$HARNESS/build-image.sh" "$WORK/tiny.img" >/dev/null 2>&1 || die "build-image.sh failed"
# A realistic disk size: the same data, 8 GiB virtual, sparse.
rbd --id m2 import --image-feature layering "$WORK/tiny.img" m2-images/bench-8g >/dev/null 2>&1
rbd --id m2 resize --size 8G m2-images/bench-8g >/dev/null 2>&1

cat >"$WORK/m2.conf" <<CONF
[DEFAULT]
host = bench
enabled_hardware_types = fake-hardware
enabled_power_interfaces = fake
enabled_management_interfaces = fake
enabled_boot_interfaces = ipxe,fake
enabled_deploy_interfaces = m2,fake
[api]
host_ip = 127.0.0.1
port = 0
[conductor]
automated_clean = false
sync_power_state_interval = 0
workers_pool_size = 200
[pxe]
http_url = http://127.0.0.1
[ceph]
conffile = $CEPH_CONF
[iscsi]
portal = 127.0.0.1:$M2_TGT_PORT
tgt_control_port = $M2_TGT_CTL
tgtadm = tgtadm
CONF
export NO_COLOR=1
"$M2" --config-file "$WORK/m2.conf" standalone --data-dir "$WORK/data" >"$WORK/m2.out" 2>"$WORK/m2.log" &
M2_PID=$!
deadline=$((SECONDS + 60))
until grep -q '^m2 listening on' "$WORK/m2.out" 2>/dev/null; do
  ((SECONDS < deadline)) || die "m2 did not start (see $WORK/m2.log)"
  sleep 0.2
done
API="http://$(sed -n 's/^m2 listening on //p' "$WORK/m2.out" | head -n1)"
log "m2 at $API (log $WORK/m2.log)"

python3 "$BENCH_DIR/bench_m2.py" --api "$API" --log "$WORK/m2.log" \
  --image "$WORK/tiny.img" --nodes "$NODES" --repeat "$REPEAT"
