#!/usr/bin/env bash
# RPC and multi-conductor benchmark. See benches/README.md ("RPC through RabbitMQ").
#
#   benches/rpc-bench.sh [--calls N] [--concurrency N] [--nodes N] [--repeat N]
#                        [--only latency|deploys] [--no-build] [--keep-workdir]
#
# 1. RPC call latency (p50/p99), in process vs through RabbitMQ
#    (cargo bench --bench rpc_latency).
# 2. N fake-hardware nodes (default 100) deployed at once, time until all are
#    active, on: m2 standalone; 1 m2 api + 1 m2 conductor; 1 m2 api + 2 m2
#    conductors. The same PostgreSQL serves all three; each setup runs --repeat
#    times (default 3, on a fresh database each time) and the median is kept; the
#    ratio to standalone is printed.
#
# Starts its own RabbitMQ node and PostgreSQL cluster on free loopback ports in a
# temporary directory, and stops them at the end. Prints figures; the exit status
# is non-zero only when a run could not be carried out.
set -Eeuo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
CALLS=2000
CONCURRENCY=1
NODES=100
REPEAT=3
KEEP=0
ONLY=""
BUILD=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --only) ONLY="${2:?}"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --calls) CALLS="${2:?}"; shift 2 ;;
    --concurrency) CONCURRENCY="${2:?}"; shift 2 ;;
    --nodes) NODES="${2:?}"; shift 2 ;;
    --repeat) REPEAT="${2:?}"; shift 2 ;;
    --keep-workdir) KEEP=1; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "rpc-bench: unknown argument $1" >&2; exit 2 ;;
  esac
done

log() { printf '[rpc-bench] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { # port seconds
  local deadline=$((SECONDS + $2))
  until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

WORK=$(mktemp -d /tmp/m2-rpc-bench.XXXXXX)
chmod 711 "$WORK" # PostgreSQL runs as its own user
PIDS=()
MQ_NODE="m2bench-$RANDOM$RANDOM@localhost"
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
PG_AS=()
[[ $(id -u) -eq 0 ]] && PG_AS=(runuser -u postgres --)

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 1
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  if [[ -n ${MQ_PID:-} ]]; then kill -KILL -- "-$MQ_PID" 2>/dev/null || true; fi
  if [[ -d $WORK/pg/data ]]; then
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [[ $KEEP -eq 1 ]]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# --- services -----------------------------------------------------------------
start_rabbitmq() {
  local d=$WORK/mq
  mkdir -p "$d/home"
  MQ_PORT=$(free_port)
  printf 'M2BENCH%s' "$RANDOM$RANDOM" >"$d/home/.erlang.cookie"
  chmod 400 "$d/home/.erlang.cookie"
  printf 'listeners.tcp.default = 127.0.0.1:%s\nloopback_users.guest = true\n' "$MQ_PORT" >"$d/rabbitmq.conf"
  echo '[].' >"$d/enabled_plugins"
  (
    cd "$d"
    export HOME=$d/home RABBITMQ_NODENAME=$MQ_NODE RABBITMQ_NODE_PORT=$MQ_PORT \
      RABBITMQ_DIST_PORT=$(free_port) RABBITMQ_MNESIA_BASE=$d/mnesia RABBITMQ_LOG_BASE=$d/log \
      RABBITMQ_CONFIG_FILE=$d/rabbitmq.conf RABBITMQ_ENABLED_PLUGINS_FILE=$d/enabled_plugins \
      RABBITMQ_CONF_ENV_FILE=$d/none RABBITMQ_ADVANCED_CONFIG_FILE=$d/advanced.config \
      RABBITMQ_PID_FILE=$d/pid \
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}'
    exec setsid /usr/lib/rabbitmq/bin/rabbitmq-server >"$d/server.out" 2>&1
  ) &
  MQ_PID=$!
  disown "$MQ_PID"
  wait_port "$MQ_PORT" 120 || die "RabbitMQ did not start (see $d)"
  MQ_URL="rabbit://guest:guest@127.0.0.1:$MQ_PORT/"
  log "RabbitMQ on 127.0.0.1:$MQ_PORT"
}

start_postgres() {
  [[ -n $PG_BIN ]] || die "PostgreSQL is not installed"
  local d=$WORK/pg
  mkdir -p "$d"
  [[ ${#PG_AS[@]} -gt 0 ]] && chown postgres "$d"
  PG_PORT=$(free_port)
  "${PG_AS[@]}" "$PG_BIN/initdb" -D "$d/data" -U postgres -A trust --no-sync -E UTF8 >/dev/null
  "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$d/data" -l "$d/log" -w \
    -o "-p $PG_PORT -k $d -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null
  log "PostgreSQL on 127.0.0.1:$PG_PORT"
}

psql_reset() { # drop and recreate the database m2
  PGOPTIONS='-c client_min_messages=warning' "$PG_BIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
    -c 'DROP DATABASE IF EXISTS m2' -c 'CREATE DATABASE m2' >/dev/null
}

# --- m2 -------------------------------------------------------------------------
M2="$REPO_DIR/target/release/m2"
export NO_COLOR=1

config() { # file host transport
  cat >"$1" <<EOF
[DEFAULT]
host = $2
rpc_transport = $3
transport_url = $MQ_URL
hash_ring_reset_interval = 1
[api]
host_ip = 127.0.0.1
port = 0
[conductor]
automated_clean = false
heartbeat_interval = 2
[database]
connection = postgresql://postgres@127.0.0.1:$PG_PORT/m2
max_pool_size = 32
EOF
}

API_URL=""
start_api() { # subcommand host
  local conf=$WORK/$2.conf
  config "$conf" "$2" "$([[ $1 == standalone ]] && echo none || echo amqp)"
  "$M2" --config-file "$conf" "$1" --data-dir "$WORK/data" >"$WORK/$2.out" 2>"$WORK/$2.log" &
  PIDS+=($!)
  local deadline=$((SECONDS + 60))
  until grep -q '^m2 listening on' "$WORK/$2.out" 2>/dev/null; do
    ((SECONDS < deadline)) || die "$1 did not start (see $WORK/$2.log)"
    sleep 0.2
  done
  API_URL="http://$(sed -n 's/^m2 listening on //p' "$WORK/$2.out" | head -n1)"
}

start_conductor() { # host
  local conf=$WORK/$1.conf
  config "$conf" "$1" amqp
  "$M2" --config-file "$conf" conductor >"$WORK/$1.out" 2>"$WORK/$1.log" &
  PIDS+=($!)
}

stop_all() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}

# Creates the nodes, makes them available, fires every deploy at once, and prints
# the seconds until all are active.
deploy_time() { # conductors-expected
  python3 - "$API_URL" "$NODES" "$1" <<'PY'
import json, sys, time, urllib.request, urllib.error
from concurrent.futures import ThreadPoolExecutor
base, n, want_conductors = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
H = {"X-OpenStack-Ironic-API-Version": "latest", "Content-Type": "application/json"}
def call(method, path, body=None):
    req = urllib.request.Request(base + path, method=method, headers=H,
                                 data=None if body is None else json.dumps(body).encode())
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
deadline = time.time() + 60
while True:
    st, body = call("GET", "/v1/conductors")
    alive = [c for c in body.get("conductors", [])] if st == 200 else []
    if st == 200 and sum(1 for c in alive if c["alive"]) >= want_conductors:
        break
    if time.time() > deadline:
        sys.exit("conductors not alive: %s" % (body,))
    time.sleep(0.2)
def provision(uuid, target):
    for _ in range(200):
        st, body = call("PUT", "/v1/nodes/%s/states/provision" % uuid, {"target": target})
        if st == 202:
            return
        if st not in (409, 503):
            sys.exit("%s %s: HTTP %s %s" % (target, uuid, st, body))
        time.sleep(0.05)
    sys.exit("%s %s: never accepted" % (target, uuid))
def wait_all(state, limit=300):
    end = time.time() + limit
    while time.time() < end:
        st, body = call("GET", "/v1/nodes?fields=uuid,provision_state&limit=1000")
        states = [x["provision_state"] for x in body["nodes"]]
        bad = [s for s in states if "fail" in s or s == "error"]
        if bad:
            sys.exit("nodes failed: %s" % bad[:5])
        if states.count(state) == n:
            return
        time.sleep(0.05)
    sys.exit("not all %s after %ss" % (state, limit))
uuids = [call("POST", "/v1/nodes", {"driver": "fake-hardware", "name": "b%d" % i})[1]["uuid"] for i in range(n)]
with ThreadPoolExecutor(16) as ex:
    list(ex.map(lambda u: provision(u, "manage"), uuids))
wait_all("manageable")
with ThreadPoolExecutor(16) as ex:
    list(ex.map(lambda u: provision(u, "provide"), uuids))
wait_all("available")
start = time.time()
with ThreadPoolExecutor(n) as ex:
    list(ex.map(lambda u: provision(u, "active"), uuids))
wait_all("active")
print("%.3f" % (time.time() - start))
PY
}

# --- run ------------------------------------------------------------------------
command -v /usr/lib/rabbitmq/bin/rabbitmq-server >/dev/null || die "rabbitmq-server is not installed"
if [[ $BUILD -eq 1 ]]; then
  log "building (release)"
  (
    cd "$REPO_DIR"
    [[ $ONLY == latency ]] || cargo build --release --bin m2
    [[ $ONLY == deploys ]] || cargo bench --no-run --bench rpc_latency
  ) >&2
fi
start_rabbitmq

if [[ $ONLY != deploys ]]; then
  log "RPC latency"
  (cd "$REPO_DIR" && cargo bench --bench rpc_latency -- --url "$MQ_URL" --calls "$CALLS" --concurrency "$CONCURRENCY")
fi
[[ $ONLY == latency ]] && exit 0
start_postgres

declare -A T
run_once() { # conductors; prints seconds
  psql_reset
  config "$WORK/dbsync.conf" dbsync amqp
  "$M2" --config-file "$WORK/dbsync.conf" dbsync 2>>"$WORK/dbsync.log"
  if [[ $1 -eq 0 ]]; then
    start_api standalone standalone
    deploy_time 1
  else
    local i
    for ((i = 1; i <= $1; i++)); do start_conductor "c$i"; done
    start_api api api
    deploy_time "$1"
  fi
  stop_all
}
run_setup() { # name conductors
  local runs=() r
  for ((r = 0; r < REPEAT; r++)); do
    run_once "$2" >"$WORK/seconds" # not in a subshell: cleanup must see the PIDs
    runs+=("$(tail -n1 "$WORK/seconds")")
  done
  T[$1]=$(printf '%s\n' "${runs[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  log "$1: ${runs[*]} s (median ${T[$1]})"
}
log "deploying $NODES nodes, $REPEAT times on each setup"
run_setup standalone 0
run_setup "api+1 conductor" 1
run_setup "api+2 conductors" 2

echo
echo "$NODES fake-hardware deploys fired at once, seconds until all active (median of $REPEAT):"
printf '%-20s %10s %10s\n' setup seconds "x standalone"
for s in standalone "api+1 conductor" "api+2 conductors"; do
  printf '%-20s %10s %10s\n' "$s" "${T[$s]}" "$(python3 -c "print('%.2f' % (${T[$s]} / ${T[standalone]}))")"
done
