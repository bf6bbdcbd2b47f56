#!/usr/bin/env bash
# Bare Metal (Ironic) API benchmark. See benches/README.md.
#
#   benches/api-bench.sh --target URL [--pids "PID..."] [--label NAME] [options]
#   benches/api-bench.sh --compare [options]
#
# Prints figures; never judges them by its exit code. Exit status is non-zero
# only when a run could not be carried out (server did not start, requests
# failed, nodes ended in an error state).
set -Eeuo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
VENV="$BENCH_DIR/.venv"
IRONIC_VENV="$BENCH_DIR/.ironic-venv"
PY_HELPER="$BENCH_DIR/bench_api.py"

usage() {
  cat <<'EOF'
Usage:
  api-bench.sh --target URL [--pids "PID..."] [--label NAME] [options]
      Measure a running Bare Metal API endpoint (e.g. http://127.0.0.1:6385).
      --pids: the server's process ids; their VmRSS is summed (step 5).
  api-bench.sh --compare [options]
      Start m2 (target/release/m2 standalone) and OpenStack Ironic
      (benches/.ironic-venv) on free ports of 127.0.0.1, measure both one after
      the other, print a side-by-side table, and stop both.

Options:
  --nodes N            nodes enrolled for steps 1-3 and 5 (default 1000)
  --deploy-nodes N     nodes deployed at once in step 4 (default 100)
  --concurrency N      concurrent POSTs in step 1 (default 8)
  --connections N      wrk connections in steps 2-3 (default 8)
  --duration S         wrk run length in seconds (default 10)
  --api-version V      X-OpenStack-Ironic-API-Version sent (default 1.46)
  --with-children      --target mode: also count the descendants of --pids
  --json FILE          --target mode: also write the figures as JSON
  --results-dir DIR    --compare mode: where JSON results go
                       (default benches/results)
  --m2-bin PATH        --compare mode: m2 binary (default target/release/m2,
                       built with `cargo build --release` only if missing)
  --m2-config FILE     --compare mode: m2 config template; @PORT@ and
                       @DATA_DIR@ are substituted (default: generated)
  --skip-m2            --compare mode: measure Ironic only
  --skip-ironic        --compare mode: measure m2 only
  --keep-workdir       --compare mode: keep the temporary dir (logs, configs)
  -h, --help           this text
EOF
}

die() { echo "api-bench: $*" >&2; exit 2; }

MODE=""
TARGET=""
PIDS=""
LABEL=""
NODES=1000
DEPLOY_NODES=100
CONCURRENCY=8
CONNECTIONS=8
DURATION=10
API_VERSION=1.46
WITH_CHILDREN=0
JSON_OUT=""
RESULTS_DIR="$BENCH_DIR/results"
M2_BIN="$REPO_DIR/target/release/m2"
M2_CONFIG_TEMPLATE=""
SKIP_M2=0
SKIP_IRONIC=0
KEEP_WORKDIR=0

while [[ $# -gt 0 ]]; do
  case "$1" in
    --target) MODE=target; TARGET="${2:?--target needs a URL}"; shift 2 ;;
    --pids) PIDS="${2-}"; shift 2 ;;
    --label) LABEL="${2:?}"; shift 2 ;;
    --compare) MODE=compare; shift ;;
    --nodes) NODES="${2:?}"; shift 2 ;;
    --deploy-nodes) DEPLOY_NODES="${2:?}"; shift 2 ;;
    --concurrency) CONCURRENCY="${2:?}"; shift 2 ;;
    --connections) CONNECTIONS="${2:?}"; shift 2 ;;
    --duration) DURATION="${2:?}"; shift 2 ;;
    --api-version) API_VERSION="${2:?}"; shift 2 ;;
    --with-children) WITH_CHILDREN=1; shift ;;
    --json) JSON_OUT="${2:?}"; shift 2 ;;
    --results-dir) RESULTS_DIR="${2:?}"; shift 2 ;;
    --m2-bin) M2_BIN="${2:?}"; shift 2 ;;
    --m2-config) M2_CONFIG_TEMPLATE="${2:?}"; shift 2 ;;
    --skip-m2) SKIP_M2=1; shift ;;
    --skip-ironic) SKIP_IRONIC=1; shift ;;
    --keep-workdir) KEEP_WORKDIR=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
[[ -n "$MODE" ]] || { usage >&2; exit 2; }
for n in "$NODES" "$DEPLOY_NODES" "$CONCURRENCY" "$CONNECTIONS" "$DURATION"; do
  [[ "$n" =~ ^[0-9]+$ && "$n" -ge 1 ]] || die "numeric options must be positive integers (got '$n')"
done
PIDS="${PIDS//,/ }"
for p in $PIDS; do [[ "$p" =~ ^[0-9]+$ ]] || die "--pids: not a PID: $p"; done

# ---------------------------------------------------------------- tooling

ensure_wrk() {
  command -v wrk >/dev/null && return
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "installing wrk (Debian package) ..."
    apt-get install -y -q wrk >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null; }
  fi
  command -v wrk >/dev/null || die "wrk is required: apt-get install -y wrk"
}

ensure_venv() {
  if ! "$VENV/bin/python" -c 'import aiohttp' 2>/dev/null; then
    echo "creating $VENV (aiohttp) ..."
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$BENCH_DIR/requirements.txt"
  fi
}

ensure_ironic_venv() {
  if ! [[ -x "$IRONIC_VENV/bin/ironic" && -x "$IRONIC_VENV/bin/ironic-dbsync" ]]; then
    echo "creating $IRONIC_VENV (OpenStack Ironic from PyPI; takes a few minutes) ..."
    python3 -m venv "$IRONIC_VENV"
    "$IRONIC_VENV/bin/pip" install -q --disable-pip-version-check -r "$BENCH_DIR/requirements-ironic.txt"
  fi
}

HELPER=("$VENV/bin/python" "$PY_HELPER")
helper() { "${HELPER[@]}" "$@"; }

# bg CMD...: run CMD as a child and wait for it, so that a signal reaches our
# traps at once instead of after CMD ends; the trap passes SIGTERM on to CMD.
CHILD_PID=""
bg() {
  local rc=0
  "$@" &
  CHILD_PID=$!
  wait "$CHILD_PID" || rc=$?
  CHILD_PID=""
  return $rc
}

run_args() {
  # Common arguments of `bench_api.py run`.
  echo --nodes "$NODES" --deploy-nodes "$DEPLOY_NODES" --concurrency "$CONCURRENCY" \
    --connections "$CONNECTIONS" --duration "$DURATION" --api-version "$API_VERSION"
}

# ---------------------------------------------------------------- servers

STARTED_PIDS=()
WORKDIR=""

# start_server NAME LOGFILE CMD...: start CMD in its own session (so the whole
# process group can be stopped), record its PID in SERVER_PID.
start_server() {
  local name="$1" logfile="$2"; shift 2
  setsid "$@" >"$logfile" 2>&1 </dev/null &
  SERVER_PID=$!
  STARTED_PIDS+=("$SERVER_PID")
  echo "started $name: pid $SERVER_PID (log $logfile)"
}

# stop_server PID: SIGTERM its process group, SIGKILL after 15 s.
stop_server() {
  local pid="$1" pgid i
  kill -0 "$pid" 2>/dev/null || return 0
  pgid="$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ' || true)"
  if [[ "$pgid" == "$pid" ]]; then kill -TERM -- "-$pid" 2>/dev/null || true
  else kill -TERM "$pid" 2>/dev/null || true; fi
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "pid $pid still running after 15 s: SIGKILL"
    if [[ "$pgid" == "$pid" ]]; then kill -KILL -- "-$pid" 2>/dev/null || true
    else kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  wait "$pid" 2>/dev/null || true
  # Leftover members of its group (workers whose parent died first).
  if [[ "$pgid" == "$pid" ]]; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
}

# shellcheck disable=SC2317  # called through the EXIT trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local pid
  if [[ -n "$CHILD_PID" ]] && kill -0 "$CHILD_PID" 2>/dev/null; then
    kill -TERM "$CHILD_PID" 2>/dev/null || true
    for ((pid = 0; pid < 100; pid++)); do kill -0 "$CHILD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$CHILD_PID" 2>/dev/null || true
  fi
  for pid in "${STARTED_PIDS[@]}"; do stop_server "$pid"; done
  if [[ -n "$WORKDIR" && -d "$WORKDIR" ]]; then
    if [[ $KEEP_WORKDIR -eq 1 ]]; then echo "work dir kept: $WORKDIR"
    else rm -rf "$WORKDIR"; fi
  fi
  exit "$rc"
}

show_log_tail() {
  echo "---- last lines of $1 ----"
  tail -n 30 "$1" 2>/dev/null || true
  echo "----"
}

# ---------------------------------------------------------------- m2

run_m2() {
  local out_json="$1" port dir cfg
  if [[ ! -x "$M2_BIN" ]]; then
    if [[ "$M2_BIN" == "$REPO_DIR/target/release/m2" ]]; then
      echo "m2 binary missing: cargo build --release ..."
      # shellcheck disable=SC2016  # $1 is expanded by the inner bash
      bg bash -c 'cd "$1" && cargo build --release' _ "$REPO_DIR" || { echo "m2: build failed"; return 1; }
    else
      echo "m2: $M2_BIN is not executable"; return 1
    fi
  fi
  port="$(helper free-port)"
  dir="$WORKDIR/m2"; mkdir -p "$dir/data"
  cfg="$dir/m2.conf"
  if [[ -n "$M2_CONFIG_TEMPLATE" ]]; then
    sed -e "s|@PORT@|$port|g" -e "s|@DATA_DIR@|$dir/data|g" "$M2_CONFIG_TEMPLATE" >"$cfg"
  else
    cat >"$cfg" <<EOF
[api]
host_ip = 127.0.0.1
port = $port

[conductor]
automated_clean = false
EOF
  fi
  start_server m2 "$dir/m2.log" "$M2_BIN" standalone --config-file "$cfg" --data-dir "$dir/data"
  local pid=$SERVER_PID
  if ! bg "${HELPER[@]}" wait-up "http://127.0.0.1:$port" --timeout 60 --pid "$pid"; then
    show_log_tail "$dir/m2.log"; stop_server "$pid"; return 1
  fi
  echo "m2 answers on http://127.0.0.1:$port"
  local rc=0
  # shellcheck disable=SC2046
  bg "${HELPER[@]}" run --target "http://127.0.0.1:$port" --pids "$pid" --rss-children --label m2 \
    --json "$out_json" $(run_args) || rc=$?
  stop_server "$pid"
  return $rc
}

# ---------------------------------------------------------------- Ironic

run_ironic() {
  local out_json="$1" port dir cfg
  ensure_ironic_venv
  port="$(helper free-port)"
  dir="$WORKDIR/ironic"; mkdir -p "$dir"
  cfg="$dir/ironic.conf"
  cat >"$cfg" <<EOF
[DEFAULT]
auth_strategy = noauth
rpc_transport = none
host = bench-ironic
enabled_hardware_types = fake-hardware
enabled_bios_interfaces = fake,no-bios
enabled_boot_interfaces = fake
enabled_console_interfaces = fake,no-console
enabled_deploy_interfaces = fake
enabled_firmware_interfaces = fake,no-firmware
enabled_inspect_interfaces = fake,no-inspect
enabled_management_interfaces = fake
enabled_network_interfaces = noop
enabled_power_interfaces = fake
enabled_raid_interfaces = fake,no-raid
enabled_rescue_interfaces = fake,no-rescue
enabled_storage_interfaces = noop
enabled_vendor_interfaces = fake,no-vendor
default_boot_interface = fake
default_deploy_interface = fake
default_network_interface = noop
log_dir = $dir
use_stderr = false
graceful_shutdown_timeout = 5

[api]
host_ip = 127.0.0.1
port = $port

[conductor]
automated_clean = false

[database]
connection = sqlite:///$dir/ironic.sqlite

[dhcp]
dhcp_provider = none
EOF
  bg "$IRONIC_VENV/bin/ironic-dbsync" --config-file "$cfg" create_schema >"$dir/dbsync.out" 2>&1 \
    || { show_log_tail "$dir/dbsync.out"; return 1; }
  start_server ironic "$dir/ironic.out" "$IRONIC_VENV/bin/ironic" --config-file "$cfg"
  local pid=$SERVER_PID
  if ! bg "${HELPER[@]}" wait-up "http://127.0.0.1:$port" --timeout 120 --pid "$pid"; then
    show_log_tail "$dir/ironic.log"; show_log_tail "$dir/ironic.out"; stop_server "$pid"; return 1
  fi
  # The API answers before the conductor has registered the driver.
  bg "${HELPER[@]}" wait-up "http://127.0.0.1:$port" --path /v1/drivers --contains fake-hardware \
    --timeout 60 --pid "$pid" || { show_log_tail "$dir/ironic.log"; stop_server "$pid"; return 1; }
  echo "Ironic answers on http://127.0.0.1:$port (processes: $(helper pids "$pid"))"
  local rc=0
  # shellcheck disable=SC2046
  bg "${HELPER[@]}" run --target "http://127.0.0.1:$port" --pids "$pid" --rss-children --label ironic \
    --json "$out_json" $(run_args) || rc=$?
  stop_server "$pid"
  return $rc
}

# ---------------------------------------------------------------- main

ensure_wrk
ensure_venv

if [[ "$MODE" == target ]]; then
  [[ -n "$PIDS" ]] || echo "note: no --pids given: RSS (step 5) is skipped"
  extra=()
  read -ra pid_list <<<"$PIDS"
  [[ ${#pid_list[@]} -gt 0 ]] && extra+=(--pids "${pid_list[@]}")
  [[ $WITH_CHILDREN -eq 1 ]] && extra+=(--rss-children)
  [[ -n "$JSON_OUT" ]] && extra+=(--json "$JSON_OUT")
  # shellcheck disable=SC2046
  exec "$VENV/bin/python" "$PY_HELPER" run --target "$TARGET" --label "${LABEL:-$TARGET}" \
    "${extra[@]}" $(run_args)
fi

# --compare
trap cleanup EXIT
trap 'echo "interrupted"; exit 130' INT
trap 'echo "terminated"; exit 143' TERM
WORKDIR="$(mktemp -d /tmp/m2-api-bench.XXXXXX)"
mkdir -p "$RESULTS_DIR"
stamp="$(date +%Y%m%d-%H%M%S)"
M2_JSON="$RESULTS_DIR/$stamp-m2.json"
IRONIC_JSON="$RESULTS_DIR/$stamp-ironic.json"
status=0

if [[ $SKIP_M2 -eq 0 ]]; then
  echo "==== m2 ===="
  run_m2 "$M2_JSON" || { echo "m2 half FAILED"; status=1; }
fi
if [[ $SKIP_IRONIC -eq 0 ]]; then
  echo "==== OpenStack Ironic ===="
  run_ironic "$IRONIC_JSON" || { echo "Ironic half FAILED"; status=1; }
fi

echo
echo "==== m2 vs OpenStack Ironic ($NODES nodes, $DEPLOY_NODES deployed at once, API $API_VERSION) ===="
skipped=()
[[ $SKIP_M2 -eq 1 ]] && skipped+=(m2)
[[ $SKIP_IRONIC -eq 1 ]] && skipped+=(ironic)
helper table --m2 "$M2_JSON" --ironic "$IRONIC_JSON" --nodes "$NODES" --deploy-nodes "$DEPLOY_NODES" \
  --skipped "${skipped[@]}"
echo "results: $( [[ -f $M2_JSON ]] && echo "$M2_JSON " )$( [[ -f $IRONIC_JSON ]] && echo "$IRONIC_JSON" )"
exit $status
