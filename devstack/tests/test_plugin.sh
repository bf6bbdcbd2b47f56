#!/usr/bin/env bash
# Runs the m2 devstack plugin's phases against stubbed devstack helpers and
# checks what they do:
#
#   devstack/tests/test_plugin.sh PATH_TO_M2_BINARY
#
# devstack's helpers (iniset, run_process, get_or_create_service, ...) are
# replaced by functions that record each call, one line per call with the
# arguments quoted as `printf %q` quotes them, in SCENARIO/calls.log; sudo
# runs file operations under the test directory only and the stub commands
# below, and refuses anything else. Stub commands (ceph, rbd, tgtadm,
# systemctl, openstack, curl) record their calls the same way. Each
# scenario sources devstack/settings and then plugin.sh phase by phase, in
# one shell with errexit as stack.sh does; unstack and clean each run in a
# fresh shell, as unstack.sh and clean.sh do.
#
# The m2.conf that the plugin writes is loaded by the real m2 binary: the
# plugin's own `m2 dbsync` (the database URL names a SQLite file here), then
# `m2 api` and, for the M2 path, `m2 conductor`, each started on a copy of
# the file until it reports that it runs.
#
# Prints every check; exits non-zero when one fails. KEEP=1 keeps the test
# directory.
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 PATH_TO_M2_BINARY" >&2
    exit 2
fi
M2_REAL=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
if [[ ! -x $M2_REAL ]]; then
    echo "$0: $1 is not an executable" >&2
    exit 2
fi

PLUGIN_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/m2-devstack-test.XXXXXX")
STUB_BIN=$WORK/bin
# Processes this script started (m2 api / m2 conductor checks).
CHILDREN=()

cleanup() {
    local pid
    for pid in "${CHILDREN[@]}"; do
        kill -9 "$pid" 2>/dev/null || true
    done
    if [[ ${KEEP:-} == 1 ]]; then
        echo "test directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

PASSED=0
FAILED=0
FAILURES=()
S=""          # the current scenario's directory
STUB_LOG=""   # its calls.log
BOOT_IPXE=""  # see boot_ipxe_written

pass() {
    PASSED=$((PASSED + 1))
    echo "  ok    $*"
}

fail() {
    FAILED=$((FAILED + 1))
    FAILURES+=("${S##*/}: $1")
    echo "  FAIL  $1"
    shift
    local line
    for line in "$@"; do
        echo "          $line"
    done
}

# One call as the stubs record it.
fmt_call() {
    local out
    out=$(printf '%q ' "$@")
    echo "${out% }"
}

record() {
    fmt_call "$@" >>"$STUB_LOG"
}

# --- stubbed devstack helpers --------------------------------------------------
# Defined here, inherited by the scenarios' subshells. They follow devstack's
# semantics where the plugin depends on them (is_service_enabled,
# trueorfalse, get_transport_url, create_service_user,
# configure_keystone_authtoken_middleware, database_connection_url), and
# otherwise only record the call.

# Records the call, and the message as it reads in DIED beside the log.
die() {
    record die "$@"
    echo "$*" >"${STUB_LOG%/*}/died"
    echo "die: $*" >&2
    exit 1
}

warn() {
    record warn "$@"
}

echo_summary() {
    record echo_summary "$@"
    echo ">>> $*"
}

trueorfalse() {
    local default=$1 value
    [[ -n ${2:-} ]] || die $LINENO "trueorfalse needs a variable name"
    value=${!2:-}
    case $value in
        1 | [yY]es | YES | [tT]rue | TRUE) echo True ;;
        0 | [nN]o | NO | [fF]alse | FALSE) echo False ;;
        *) echo "$default" ;;
    esac
}

vercmp() {
    record vercmp "$@"
    local a=$1 op=$2 b=$3 lowest
    lowest=$(printf '%s\n%s\n' "$a" "$b" | sort -V | head -n1)
    case $op in
        ">=") [[ $lowest == "$b" ]] ;;
        "<") [[ $lowest == "$a" && $a != "$b" ]] ;;
        *) die $LINENO "vercmp stub: unsupported operator $op" ;;
    esac
}

ipv6_unquote() {
    echo "$1" | tr -d '[]'
}

is_service_enabled() {
    local enabled=1 service
    for service in "$@"; do
        if [[ ,${ENABLED_SERVICES}, == *,"$service",* ]]; then
            enabled=0
        fi
        if type "is_${service}_enabled" >/dev/null 2>&1 && "is_${service}_enabled"; then
            enabled=0
        fi
    done
    return "$enabled"
}

enable_service() {
    local service
    for service in "$@"; do
        if [[ ,${DISABLED_SERVICES:-}, == *,"$service",* ]]; then
            warn "Attempt to enable_service $service when it has been disabled"
            continue
        fi
        if [[ ,${ENABLED_SERVICES}, != *,"$service",* ]]; then
            ENABLED_SERVICES+=",$service"
        fi
    done
    ENABLED_SERVICES=${ENABLED_SERVICES#,}
}

disable_service() {
    local service
    for service in "$@"; do
        DISABLED_SERVICES+=",$service"
        ENABLED_SERVICES=$(echo ",$ENABLED_SERVICES," | sed "s/,$service,/,/g; s/^,//; s/,\$//")
    done
}

is_plugin_enabled() {
    [[ ,${DEVSTACK_PLUGINS:-}, == *,"$1",* ]]
}

is_ubuntu() {
    [[ ${STUB_OS_PACKAGE:-deb} == deb ]]
}

install_package() {
    record install_package "$@"
}

pip_install_gr() {
    record pip_install_gr "$@"
}

# iniset [-sudo] FILE SECTION OPTION VALUE: sets the option, adding the
# section or the option where missing, keeping the file's mode.
iniset() {
    if [[ $1 == -sudo ]]; then
        shift
    fi
    local file=$1 section=$2 option=$3 value=${4:-}
    record iniset "$file" "$section" "$option" "$value"
    [[ -e $file ]] || : >"$file"
    INI_S=$section INI_K=$option INI_V=$value awk '
        BEGIN { s = "[" ENVIRON["INI_S"] "]"; k = ENVIRON["INI_K"]; v = ENVIRON["INI_V"] }
        function emit() { print k " = " v; done = 1 }
        /^\[/ { if (insec && !done) emit(); insec = ($0 == s); print; next }
        insec && !done {
            i = index($0, "=")
            if (i) {
                key = substr($0, 1, i - 1)
                gsub(/^[ \t]+|[ \t]+$/, "", key)
                if (key == k) { emit(); next }
            }
        }
        { print }
        END { if (!done) { if (!insec) print s; emit() } }
    ' "$file" >"$file.iniset"
    cat "$file.iniset" >"$file"
    rm -f "$file.iniset"
}

# Prints the value of OPTION in SECTION of FILE (the last one); fails when
# absent.
ini_value() {
    local file=$1 section=$2 option=$3
    [[ -f $file ]] || return 1
    INI_S=$section INI_K=$option awk '
        BEGIN { s = "[" ENVIRON["INI_S"] "]"; k = ENVIRON["INI_K"] }
        /^\[/ { insec = ($0 == s); next }
        insec {
            i = index($0, "=")
            if (i) {
                key = substr($0, 1, i - 1)
                gsub(/^[ \t]+|[ \t]+$/, "", key)
                if (key == k) {
                    val = substr($0, i + 1)
                    gsub(/^[ \t]+|[ \t]+$/, "", val)
                    last = val
                    found = 1
                }
            }
        }
        END { if (found) print last; exit !found }
    ' "$file"
}

# As devstack's lib/rpc_backend (called without a virtual host).
get_transport_url() {
    if is_service_enabled rabbit || [[ -n ${RABBIT_HOST:-} && -n ${RABBIT_PASSWORD:-} ]]; then
        echo "rabbit://$RABBIT_USERID:$RABBIT_PASSWORD@$RABBIT_HOST:5672/"
    fi
}

# As devstack's lib/database and lib/databases/*: the URL carries the
# SQLAlchemy options devstack adds. BASE_SQL_CONN names a SQLite directory
# here, so that the plugin's `m2 dbsync` runs for real.
database_connection_url() {
    case $DATABASE_TYPE in
        mysql) echo "$BASE_SQL_CONN/$1?charset=utf8&plugin=dbcounter" ;;
        postgresql) echo "$BASE_SQL_CONN/$1?client_encoding=utf8" ;;
        *) die $LINENO "database_connection_url stub: DATABASE_TYPE=$DATABASE_TYPE" ;;
    esac
}

recreate_database() {
    record recreate_database "$@"
}

get_or_create_user() {
    record get_or_create_user "$@"
    echo "user-id-$1"
}

get_or_add_user_project_role() {
    record get_or_add_user_project_role "$@"
    echo "role-id-$1"
}

get_or_create_service() {
    record get_or_create_service "$@"
    echo "service-id-$2"
}

get_or_create_endpoint() {
    record get_or_create_endpoint "$@"
    echo "endpoint-id-$1"
}

# As devstack's lib/keystone.
create_service_user() {
    record create_service_user "$@"
    get_or_create_user "$1" "$SERVICE_PASSWORD" "$SERVICE_DOMAIN_NAME" >/dev/null
    get_or_add_user_project_role service "$1" "$SERVICE_PROJECT_NAME" "$SERVICE_DOMAIN_NAME" "$SERVICE_DOMAIN_NAME" >/dev/null
    if [[ -n ${2:-} ]]; then
        get_or_add_user_project_role "$2" "$1" "$SERVICE_PROJECT_NAME" "$SERVICE_DOMAIN_NAME" "$SERVICE_DOMAIN_NAME" >/dev/null
    fi
}

# As devstack's lib/keystone: the keys it writes, cafile included.
configure_keystone_authtoken_middleware() {
    record configure_keystone_authtoken_middleware "$@"
    local conf=$1 user=$2 section=${3:-keystone_authtoken}
    iniset "$conf" "$section" auth_type password
    iniset "$conf" "$section" interface public
    iniset "$conf" "$section" auth_url "$KEYSTONE_SERVICE_URI"
    iniset "$conf" "$section" username "$user"
    iniset "$conf" "$section" password "$SERVICE_PASSWORD"
    iniset "$conf" "$section" user_domain_name "$SERVICE_DOMAIN_NAME"
    iniset "$conf" "$section" project_name "$SERVICE_PROJECT_NAME"
    iniset "$conf" "$section" project_domain_name "$SERVICE_DOMAIN_NAME"
    iniset "$conf" "$section" www_authenticate_uri "$KEYSTONE_SERVICE_URI"
    iniset "$conf" "$section" cafile "$SSL_BUNDLE_FILE"
    iniset "$conf" "$section" memcached_servers "$MEMCACHE_SERVERS"
}

run_process() {
    record run_process "$@"
    if is_service_enabled "$1"; then
        record started "$1"
    fi
}

stop_process() {
    record stop_process "$@"
}

wait_for_service() {
    record wait_for_service "$@"
}

# sudo: file operations on paths under the test directory run (as the
# current user); the stub commands run; anything else is refused.
sudo() {
    record sudo "$@"
    local arg
    case $1 in
        install | rm | mkdir | cp | chown | chmod | touch | tee)
            for arg in "${@:2}"; do
                if [[ $arg == /* && $arg != "$WORK"/* ]]; then
                    echo "sudo stub: refusing $* (outside $WORK)" >&2
                    record REFUSED sudo "$@"
                    return 1
                fi
            done
            "$@"
            ;;
        *)
            if [[ $(command -v "$1") == "$STUB_BIN/$1" ]]; then
                "$@"
            else
                echo "sudo stub: unexpected command: $*" >&2
                record REFUSED sudo "$@"
                return 1
            fi
            ;;
    esac
}

# --- stub commands -------------------------------------------------------------

# write_stub NAME < BODY: a command that records its call, then runs BODY.
write_stub() {
    {
        cat <<'EOF'
#!/usr/bin/env bash
line=$(printf '%q ' "$(basename "$0")" "$@")
echo "${line% }" >>"$STUB_LOG"
EOF
        cat
    } >"$STUB_BIN/$1"
    chmod +x "$STUB_BIN/$1"
}

make_stubs() {
    mkdir -p "$STUB_BIN"
    # ceph: `auth get ENTITY -o FILE` writes a keyring; get-or-create fails
    # when STUB_CEPH_USER_EXISTS=1 (a user with other caps).
    write_stub ceph <<'EOF'
args=" $* "
if [[ $args == *" auth get-or-create "* && ${STUB_CEPH_USER_EXISTS:-0} == 1 ]]; then
    echo "Error EINVAL: key for client.m2 exists but cap osd does not match" >&2
    exit 22
fi
if [[ $args == *" auth get "* ]]; then
    out=""
    while (($#)); do
        if [[ $1 == -o ]]; then out=$2; fi
        shift
    done
    if [[ -n $out ]]; then
        printf '[client.m2]\n\tkey = AQBstubstubstubstubstubstubstubstubstub==\n' >"$out"
    fi
fi
exit 0
EOF
    write_stub rbd <<<'exit 0'
    # systemctl: the packaged tgt service is enabled when STUB_PACKAGED_TGT=1.
    write_stub systemctl <<'EOF'
case " $* " in
    *" is-enabled "* | *" is-active "*) [[ ${STUB_PACKAGED_TGT:-0} == 1 ]] ;;
    *) exit 0 ;;
esac
EOF
    # tgtadm: one target, so that unstack has something to remove.
    write_stub tgtadm <<'EOF'
if [[ " $* " == *" --mode target --op show "* ]]; then
    echo "Target 1: iqn.2010-10.org.m2:node-0c3e1f52"
    echo "    System information:"
    echo "        Driver: iscsi"
fi
exit 0
EOF
    write_stub openstack <<'EOF'
if [[ " $* " == *" baremetal driver list "* ]]; then
    tr , '\n' <<<"${STUB_DRIVERS:-}"
fi
exit 0
EOF
    write_stub curl <<'EOF'
echo '{"default_version": {"id": "v1", "version": "1.99"}}'
EOF
}

# --- scenarios -----------------------------------------------------------------

# new_scenario NAME: a directory with devstack's usual globals in env.sh;
# the caller appends the scenario's own settings.
new_scenario() {
    S=$WORK/$1
    STUB_LOG=$S/calls.log
    mkdir -p "$S/bin" "$S/db" "$S/data"
    : >"$STUB_LOG"
    cat >"$S/env.sh" <<EOF
# devstack's globals, as stack.sh has them when it runs the plugin.
export STUB_LOG=$STUB_LOG
STACK_USER=$(id -un)
DEST=$S/opt
DATA_DIR=$S/data
SERVICE_PROTOCOL=http
SERVICE_HOST=127.0.0.1
SERVICE_LISTEN_ADDRESS=0.0.0.0
HOST_IP=127.0.0.1
SERVICE_TIMEOUT=60
REGION_NAME=RegionOne
SERVICE_PASSWORD=secret
SERVICE_DOMAIN_NAME=Default
SERVICE_PROJECT_NAME=service
KEYSTONE_SERVICE_URI=http://127.0.0.1/identity
MEMCACHE_SERVERS=localhost:11211
SSL_BUNDLE_FILE=$S/data/ca-bundle.pem
ENABLE_DEBUG_LOG_LEVEL=True
RABBIT_USERID=stackrabbit
RABBIT_PASSWORD=secret
RABBIT_HOST=127.0.0.1
DATABASE_TYPE=mysql
BASE_SQL_CONN=sqlite://$S/db
TEMPEST_CONFIG=$S/tempest.conf
DEVSTACK_PLUGINS=m2
ENABLED_SERVICES=
DISABLED_SERVICES=
# Where the plugin installs and writes, under the test directory.
M2_BIN_DIR=$S/bin
M2_CONF_DIR=$S/etc
M2_PREBUILT_BINARY=$WORK/prebuilt/m2
M2_TGTADM=$STUB_BIN/tgtadm
M2_TGTD_SOCKET_DIR=$S/run/tgtd
M2_START_TIMEOUT=5
EOF
}

# run_devstack MODE [PHASE] [MODE [PHASE]] ...: sources settings, then
# plugin.sh once per MODE:PHASE word, in one shell.
run_devstack() {
    (
        set +o nounset +o pipefail
        set -o errexit
        # shellcheck source=/dev/null
        source "$S/env.sh"
        # shellcheck source=devstack/settings
        source "$PLUGIN_DIR/settings"
        local step
        for step in "$@"; do
            # shellcheck source=devstack/plugin.sh
            source "$PLUGIN_DIR/plugin.sh" "${step%%:*}" "${step#*:}"
        done
    ) >>"$S/devstack.log" 2>&1
}

# Runs the phases, failing the check (with the end of the output) when the
# shell stops early.
run_phases() {
    local what="$1"
    shift
    if run_devstack "$@"; then
        pass "$what"
    else
        fail "$what: the plugin stopped (exit status $?)" \
            "$(grep -E '^(die|sudo stub|REFUSED)' "$S/devstack.log" | tail -n 3)" \
            "last lines of $S/devstack.log:" \
            "$(tail -n 15 "$S/devstack.log")"
    fi
}

expect_call() {
    local line
    line=$(fmt_call "$@")
    if grep -Fxq -- "$line" "$STUB_LOG"; then
        pass "called: $line"
    else
        fail "not called: $line" "calls of $1 seen:" "$(grep -F -- "$1 " "$STUB_LOG" | head -n 12)"
    fi
}

expect_no_call() { # description, fixed string
    if grep -Fq -- "$2" "$STUB_LOG"; then
        fail "$1" "seen: $(grep -F -- "$2" "$STUB_LOG" | head -n 3)"
    else
        pass "$1"
    fi
}

# expect_order "A" "B": the call line A comes before B (both given as
# already formatted lines).
expect_order() {
    local a b
    a=$(grep -Fxn -- "$1" "$STUB_LOG" | head -n1 | cut -d: -f1) || true
    b=$(grep -Fxn -- "$2" "$STUB_LOG" | head -n1 | cut -d: -f1) || true
    if [[ -n $a && -n $b ]] && ((a < b)); then
        pass "in order: $1, then $2"
    else
        fail "not in order: $1 (line ${a:-none}), then $2 (line ${b:-none})"
    fi
}

expect_conf() { # file section option expected
    local got
    if got=$(ini_value "$1" "$2" "$3"); then
        if [[ $got == "$4" ]]; then
            pass "${1##*/} [$2] $3 = $4"
        else
            fail "${1##*/} [$2] $3: expected '$4', found '$got'"
        fi
    else
        fail "${1##*/} [$2] $3: missing (expected '$4')" "file:" "$(cat "$1" 2>/dev/null)"
    fi
}

expect_no_section() { # file section
    if grep -Fxq "[$2]" "$1"; then
        fail "${1##*/} has no [$2] section" "found: $(sed -n "/^\[$2\]/,/^\[/p" "$1" | head -n 8)"
    else
        pass "${1##*/} has no [$2] section"
    fi
}

expect_line() { # file line
    if grep -Fxq -- "$2" "$1"; then
        pass "${1##*/} has the line: $2"
    else
        fail "${1##*/} lacks the line: $2" "file:" "$(cat "$1" 2>/dev/null)"
    fi
}

# Runs the command, its output discarded.
quietly() {
    "$@" >/dev/null 2>&1
}

expect_true() { # description, command...
    local what=$1
    shift
    if "$@"; then
        pass "$what"
    else
        fail "$what"
    fi
}

expect_death() { # description, fixed string of the message
    local died=$S/died
    if [[ -f $died ]] && grep -Fq -- "$2" "$died"; then
        pass "$1: $(cat "$died")"
    else
        fail "$1: expected the plugin to die with \"$2\"" \
            "died with: $(cat "$died" 2>/dev/null || echo nothing)" \
            "last lines of $S/devstack.log:" "$(tail -n 8 "$S/devstack.log")"
    fi
}

# Readiness checks for m2_starts, given m2's standard output.
api_is_listening() {
    grep -qs "^m2 listening on 127.0.0.1:" "$1"
}

# The conductor wrote boot.ipxe, chaining to [pxe] http_url, into BOOT_IPXE.
boot_ipxe_written() {
    grep -qs "^chain http://127.0.0.1:6385/boot/" "$BOOT_IPXE"
}

# m2_starts WHAT CONF READY SUBCOMMAND...: starts the real m2 on CONF and
# waits (30 s at most) until the function READY, given m2's output file,
# succeeds; stops it then.
m2_starts() {
    local what=$1 conf=$2 ready=$3
    shift 3
    local out=$S/m2-check.out err=$S/m2-check.err pid deadline ok=0
    STUB_LOG=$S/m2-check.calls "$M2_REAL" --config-file "$conf" "$@" >"$out" 2>"$err" &
    pid=$!
    CHILDREN+=("$pid")
    deadline=$((SECONDS + 30))
    while ((SECONDS < deadline)); do
        if "$ready" "$out"; then
            ok=1
            break
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    kill "$pid" 2>/dev/null || true
    local waited=0
    while kill -0 "$pid" 2>/dev/null && ((waited < 50)); do
        sleep 0.2
        waited=$((waited + 1))
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    if ((ok)); then
        pass "$what"
    else
        fail "$what" "stdout: $(cat "$out")" "stderr: $(grep -v 'message bus' "$err" | tail -n 5)"
    fi
}

# A copy of the plugin's m2.conf that listens on a free loopback port.
api_check_conf() {
    local copy=$S/m2-api-check.conf
    cp "$S/etc/m2.conf" "$copy"
    STUB_LOG=/dev/null iniset "$copy" api host_ip 127.0.0.1
    STUB_LOG=/dev/null iniset "$copy" api port 0
    echo "$copy"
}

is_sqlite_file() {
    [[ -f $1 ]] && [[ $(head -c 15 "$1") == "SQLite format 3" ]]
}

# --- the scenarios ---------------------------------------------------------------

scenario_fake_hardware() {
    new_scenario fake-hardware
    echo
    echo "== fake-hardware with Keystone, MySQL, RabbitMQ and tempest"
    cat >>"$S/env.sh" <<'EOF'
ENABLED_SERVICES=key,mysql,rabbit,tempest
M2_ENABLED_DEPLOY_INTERFACES=fake
M2_DEFAULT_DEPLOY_INTERFACE=fake
export STUB_DRIVERS=fake-hardware
EOF
    local conf=$S/etc/m2.conf bin=$S/bin/m2 url=http://127.0.0.1:6385
    run_phases "stack install, post-config, extra, test-config" \
        stack:install stack:post-config stack:extra stack:test-config

    echo "-- install"
    expect_call sudo install -m 0755 "$WORK/prebuilt/m2" "$bin"
    expect_true "the m2 binary is installed and runs" quietly "$bin" --version
    expect_call pip_install_gr python-ironicclient
    expect_no_call "no M2-path packages without the M2 path" "install_package"

    echo "-- post-config: m2.conf"
    expect_true "m2.conf is not world-readable" test "$(stat -c %a "$conf")" = 640
    expect_conf "$conf" DEFAULT debug true
    expect_conf "$conf" DEFAULT host "$(hostname)"
    expect_conf "$conf" DEFAULT auth_strategy keystone
    expect_conf "$conf" DEFAULT enabled_hardware_types fake-hardware
    expect_conf "$conf" DEFAULT enabled_deploy_interfaces fake
    expect_conf "$conf" DEFAULT default_deploy_interface fake
    expect_conf "$conf" DEFAULT rpc_transport amqp
    expect_conf "$conf" DEFAULT transport_url rabbit://stackrabbit:secret@127.0.0.1:5672/
    expect_conf "$conf" api host_ip 0.0.0.0
    expect_conf "$conf" api port 6385
    expect_conf "$conf" api public_endpoint "$url"
    expect_conf "$conf" conductor automated_clean false
    expect_conf "$conf" database connection "sqlite://$S/db/m2"
    expect_conf "$conf" keystone_authtoken auth_url http://127.0.0.1/identity
    expect_conf "$conf" keystone_authtoken username m2
    expect_conf "$conf" keystone_authtoken password secret
    expect_conf "$conf" keystone_authtoken project_name service
    expect_conf "$conf" keystone_authtoken user_domain_name Default
    expect_conf "$conf" keystone_authtoken www_authenticate_uri http://127.0.0.1/identity
    expect_conf "$conf" keystone_authtoken cafile ""
    local section
    for section in ceph iscsi pxe; do
        expect_no_section "$conf" "$section"
    done

    echo "-- post-config: Keystone and database"
    expect_call get_or_create_user m2 secret Default
    expect_call get_or_add_user_project_role service m2 service Default Default
    expect_no_call "the service user gets no admin role" "get_or_add_user_project_role admin"
    expect_call get_or_create_service ironic baremetal "Bare Metal provisioning service (m2)"
    expect_call get_or_create_endpoint baremetal RegionOne "$url" "$url" "$url"
    expect_call recreate_database m2
    expect_true "the plugin's m2 dbsync created the database $S/db/m2" is_sqlite_file "$S/db/m2"
    m2_starts "the real m2 api starts on the plugin's m2.conf" "$(api_check_conf)" \
        api_is_listening api --allow-sqlite --data-dir "$S/data/m2"

    echo "-- extra"
    expect_call run_process m2-api "$bin --config-file $conf api"
    expect_call run_process m2-cond "$bin --config-file $conf conductor"
    expect_call started m2-api
    expect_call started m2-cond
    expect_no_call "no tgtd without the M2 path" "run_process m2-tgtd"
    expect_no_call "no dnsmasq started without the M2 path" "started m2-tftp"
    expect_call wait_for_service 5 "$url"
    expect_call openstack --os-cloud devstack-system-admin baremetal driver list -f value -c name

    echo "-- test-config"
    expect_conf "$S/tempest.conf" service_available ironic True
    expect_conf "$S/tempest.conf" baremetal driver fake-hardware
    expect_conf "$S/tempest.conf" baremetal enabled_hardware_types fake-hardware
    expect_conf "$S/tempest.conf" baremetal min_microversion 1.1
    expect_conf "$S/tempest.conf" baremetal max_microversion 1.99
    expect_conf "$S/tempest.conf" baremetal_m2 deploy_timeout 300

    echo "-- unstack"
    run_phases "unstack" unstack
    expect_call stop_process m2-api
    expect_call stop_process m2-cond
    expect_no_call "no tgtadm without the M2 path" "tgtadm"

    echo "-- clean"
    run_phases "clean" clean
    expect_true "clean removes $S/etc" test ! -e "$S/etc"
    expect_true "clean removes the data directory" test ! -e "$S/data/m2"
    expect_true "clean removes the binary" test ! -e "$bin"
}

scenario_m2_path() {
    new_scenario m2-path
    echo
    echo "== the M2 path with devstack-plugin-ceph, PostgreSQL and dnsmasq as DHCP server"
    mkdir -p "$S/ceph" "$S/ipxe"
    printf '[global]\nmon host = 127.0.0.1:1\n' >"$S/ceph/ceph.conf"
    local f
    for f in undionly.kpxe ipxe.efi snponly.efi; do
        echo "iPXE $f" >"$S/ipxe/$f"
    done
    cat >>"$S/env.sh" <<EOF
ENABLED_SERVICES=key,postgresql,rabbit
DATABASE_TYPE=postgresql
DEVSTACK_PLUGINS=devstack-plugin-ceph,m2
CEPH_CONF_FILE=$S/ceph/ceph.conf
M2_ENABLE_M2_PATH=True
M2_CEPH_EXTRA_POOLS=volumes
M2_IPXE_DIRS="$S/no-such-dir $S/ipxe"
M2_PROVISION_INTERFACE=brbm
M2_DHCP_RANGE=10.1.0.100,10.1.0.200,12h
export STUB_DRIVERS=fake-hardware,ipmi
export STUB_PACKAGED_TGT=1
export STUB_CEPH_USER_EXISTS=1
EOF
    local conf=$S/etc/m2.conf bin=$S/bin/m2 tftp=$S/data/m2/tftpboot ceph_conf=$S/ceph/ceph.conf
    local keyring=$S/ceph/ceph.client.m2.keyring dnsmasq_conf=$S/etc/dnsmasq.conf
    run_phases "stack install, post-config, extra, test-config" \
        stack:install stack:post-config stack:extra stack:test-config

    echo "-- install"
    expect_call install_package tgt tgt-rbd ipxe ceph-common qemu-utils ipmitool dnsmasq-base

    echo "-- post-config: Ceph"
    local pool
    for pool in m2-images m2-disks; do
        expect_call sudo ceph -c "$ceph_conf" osd pool create "$pool" 8
        expect_call sudo rbd -c "$ceph_conf" pool init "$pool"
    done
    local rbd_caps="profile rbd pool=m2-images, profile rbd pool=m2-disks, profile rbd pool=volumes"
    expect_call sudo ceph -c "$ceph_conf" auth get-or-create client.m2 \
        mon "profile rbd" osd "$rbd_caps" mgr "$rbd_caps"
    expect_call sudo ceph -c "$ceph_conf" auth caps client.m2 \
        mon "profile rbd" osd "$rbd_caps" mgr "$rbd_caps"
    expect_call sudo ceph -c "$ceph_conf" auth get client.m2 -o "$keyring"
    expect_call sudo chown "$(id -un)" "$keyring"
    expect_true "the keyring exists, mode 600" test "$(stat -c %a "$keyring" 2>/dev/null)" = 600

    echo "-- post-config: tgtd, iPXE, dnsmasq"
    expect_call sudo systemctl disable --now tgt.service
    expect_true "tgtd's socket directory belongs to the stack user" \
        test "$(stat -c %U "$S/run/tgtd" 2>/dev/null)" = "$(id -un)"
    for f in undionly.kpxe ipxe.efi snponly.efi; do
        expect_true "the TFTP root has $f" cmp -s "$S/ipxe/$f" "$tftp/$f"
    done
    expect_line "$dnsmasq_conf" "port=0"
    expect_line "$dnsmasq_conf" "enable-tftp"
    expect_line "$dnsmasq_conf" "tftp-root=$tftp"
    expect_line "$dnsmasq_conf" "interface=brbm"
    expect_line "$dnsmasq_conf" "bind-interfaces"
    expect_line "$dnsmasq_conf" "dhcp-range=10.1.0.100,10.1.0.200,12h"
    expect_line "$dnsmasq_conf" "dhcp-boot=tag:ipxe,boot.ipxe"
    expect_line "$dnsmasq_conf" "dhcp-boot=tag:!ipxe,tag:efi,ipxe.efi"
    expect_line "$dnsmasq_conf" "dhcp-boot=tag:!ipxe,tag:!efi,undionly.kpxe"
    if command -v dnsmasq >/dev/null 2>&1; then
        local out
        if out=$(dnsmasq --test --conf-file="$dnsmasq_conf" 2>&1); then
            pass "dnsmasq --test accepts dnsmasq.conf"
        else
            fail "dnsmasq --test rejects dnsmasq.conf" "$out"
        fi
    else
        echo "  skip  dnsmasq --test: dnsmasq is not installed"
    fi

    echo "-- post-config: m2.conf"
    expect_conf "$conf" DEFAULT enabled_hardware_types ipmi,fake-hardware
    expect_conf "$conf" DEFAULT enabled_boot_interfaces ipxe,fake
    expect_conf "$conf" DEFAULT enabled_deploy_interfaces m2,fake
    expect_conf "$conf" DEFAULT enabled_power_interfaces ipmitool,fake
    expect_conf "$conf" DEFAULT enabled_management_interfaces ipmitool,fake
    expect_conf "$conf" database connection "sqlite://$S/db/m2"
    expect_conf "$conf" ceph conffile "$ceph_conf"
    expect_conf "$conf" ceph client_id m2
    expect_conf "$conf" ceph keyring "$keyring"
    expect_conf "$conf" ceph images_pool m2-images
    expect_conf "$conf" ceph disks_pool m2-disks
    expect_conf "$conf" iscsi portal 127.0.0.1:3260
    expect_conf "$conf" iscsi tgt_control_port 1
    expect_conf "$conf" iscsi tgtadm "$STUB_BIN/tgtadm"
    expect_conf "$conf" iscsi iqn_prefix iqn.2010-10.org.m2
    expect_conf "$conf" pxe http_url http://127.0.0.1:6385
    expect_conf "$conf" pxe tftp_root "$tftp"
    expect_call recreate_database m2
    expect_true "the plugin's m2 dbsync created the database $S/db/m2" is_sqlite_file "$S/db/m2"
    m2_starts "the real m2 api starts on the plugin's m2.conf" "$(api_check_conf)" \
        api_is_listening api --allow-sqlite --data-dir "$S/data/m2"
    BOOT_IPXE=$tftp/boot.ipxe
    rm -f "$BOOT_IPXE"
    m2_starts "the real m2 conductor starts on the plugin's m2.conf and writes boot.ipxe into the TFTP root" \
        "$conf" boot_ipxe_written conductor --allow-sqlite --data-dir "$S/data/m2"

    echo "-- extra"
    local tgtd_line cond_line
    tgtd_line=$(fmt_call run_process m2-tgtd "/usr/sbin/tgtd -f -C 1 --iscsi portal=127.0.0.1:3260")
    cond_line=$(fmt_call run_process m2-cond "$bin --config-file $conf conductor")
    expect_call run_process m2-tgtd "/usr/sbin/tgtd -f -C 1 --iscsi portal=127.0.0.1:3260"
    expect_call tgtadm -C 1 --lld iscsi --mode target --op show
    expect_order "$tgtd_line" "$cond_line"
    expect_call run_process m2-tftp "/usr/sbin/dnsmasq --keep-in-foreground --conf-file=$dnsmasq_conf" "" root
    local service
    for service in m2-tgtd m2-tftp m2-api m2-cond; do
        expect_call started "$service"
    done
    expect_no_call "tempest is not configured when it is disabled" "baremetal_m2"

    echo "-- unstack"
    : >"$STUB_LOG"
    run_phases "unstack" unstack
    local delete_line stop_line
    delete_line=$(fmt_call tgtadm -C 1 --mode system --op delete)
    stop_line=$(fmt_call stop_process m2-tgtd)
    expect_call tgtadm -C 1 --lld iscsi --mode target --op delete --force --tid 1
    expect_call tgtadm -C 1 --mode system --op delete
    expect_order "$delete_line" "$stop_line"
    for service in m2-api m2-cond m2-tftp; do
        expect_call stop_process "$service"
    done

    echo "-- clean"
    run_phases "clean" clean
    expect_true "clean removes the keyring it made" test ! -e "$keyring"
    expect_true "clean removes the TFTP root" test ! -e "$tftp"
    expect_true "clean removes $S/etc" test ! -e "$S/etc"
    expect_no_call "clean deletes no pool" "pool delete"
}

scenario_noauth() {
    new_scenario noauth
    echo
    echo "== without Keystone"
    cat >>"$S/env.sh" <<'EOF'
ENABLED_SERVICES=mysql,rabbit
EOF
    local conf=$S/etc/m2.conf
    run_phases "stack install, post-config, extra" stack:install stack:post-config stack:extra
    expect_conf "$conf" DEFAULT auth_strategy noauth
    expect_no_section "$conf" keystone_authtoken
    expect_no_call "no Keystone user without Keystone" "get_or_create_user"
    expect_no_call "no catalog entry without Keystone" "get_or_create_service"
    expect_no_call "no conductor wait through Keystone" "openstack"
    expect_call wait_for_service 5 http://127.0.0.1:6385
    expect_true "the plugin's m2 dbsync created the database" is_sqlite_file "$S/db/m2"
}

scenario_no_rabbit() {
    new_scenario no-rabbit
    echo
    echo "== RabbitMQ neither enabled nor given"
    cat >>"$S/env.sh" <<'EOF'
ENABLED_SERVICES=key,mysql
RABBIT_HOST=
EOF
    if run_devstack stack:install stack:post-config; then
        fail "post-config stops without a message bus"
    else
        pass "post-config stops without a message bus"
    fi
    expect_death "the reason names RabbitMQ" "talk through RabbitMQ"
}

scenario_no_ceph() {
    new_scenario no-ceph
    echo
    echo "== the M2 path without a Ceph cluster"
    cat >>"$S/env.sh" <<EOF
ENABLED_SERVICES=key,mysql,rabbit
M2_ENABLE_M2_PATH=True
M2_CEPH_CONF=$S/no-ceph/ceph.conf
EOF
    if run_devstack stack:post-config; then
        fail "post-config stops without a ceph.conf"
    else
        pass "post-config stops without a ceph.conf"
    fi
    expect_death "the reason names M2_CEPH_CONF" "M2_CEPH_CONF=$S/no-ceph/ceph.conf does not exist"
}

scenario_external_pools() {
    new_scenario external-pools
    echo
    echo "== the M2 path, pools made by the Ceph admin, keyring missing"
    mkdir -p "$S/ceph"
    printf '[global]\n' >"$S/ceph/ceph.conf"
    cat >>"$S/env.sh" <<EOF
ENABLED_SERVICES=key,mysql,rabbit
M2_ENABLE_M2_PATH=True
M2_CEPH_CONF=$S/ceph/ceph.conf
M2_CEPH_CREATE_POOLS=False
EOF
    if run_devstack stack:post-config; then
        fail "post-config stops without the user's keyring"
    else
        pass "post-config stops without the user's keyring"
    fi
    expect_death "the reason names the keyring" "M2_CEPH_KEYRING=$S/ceph/ceph.client.m2.keyring"
    expect_no_call "no pool is created" "osd pool create"
}

# probe < CODE: runs the shell code in a subshell after env.sh, with the
# stubs; prints its output. The code sources settings (and plugin.sh) itself.
probe() {
    cat >"$S/probe.sh"
    (
        set +o nounset +o pipefail
        # shellcheck source=/dev/null
        source "$S/env.sh"
        # shellcheck source=/dev/null
        source "$S/probe.sh"
    ) 2>>"$S/devstack.log"
}

scenario_settings() {
    new_scenario settings
    echo
    echo "== settings and helpers"
    local out
    out=$(probe <<'EOF'
M2_ENABLED_DEPLOY_INTERFACES=m2,fake
source "$PLUGIN_DIR/settings"
echo "path=$M2_ENABLE_M2_PATH services=$ENABLED_SERVICES hw=$M2_ENABLED_HARDWARE_TYPES"
EOF
    )
    if [[ $out == "path=True services=m2-api,m2-cond,m2-tgtd,m2-tftp hw=ipmi,fake-hardware" ]]; then
        pass "the m2 deploy interface turns the M2 path on: $out"
    else
        fail "the m2 deploy interface turns the M2 path on" "got: $out"
    fi

    out=$(probe <<'EOF'
M2_ENABLE_M2_PATH=True
disable_service m2-tftp
source "$PLUGIN_DIR/settings"
echo "services=$ENABLED_SERVICES"
EOF
    )
    if [[ $out == "services=m2-api,m2-cond,m2-tgtd" ]]; then
        pass "disable_service m2-tftp keeps dnsmasq off: $out"
    else
        fail "disable_service m2-tftp keeps dnsmasq off" "got: $out"
    fi

    out=$(probe <<'EOF'
source "$PLUGIN_DIR/settings"
source "$PLUGIN_DIR/plugin.sh" source
BASE_SQL_CONN=mysql+pymysql://root:secret@127.0.0.1:1
_m2_database_url
EOF
    )
    if [[ $out == "mysql+pymysql://root:secret@127.0.0.1:1/m2" ]]; then
        pass "the database URL loses devstack's SQLAlchemy query: $out"
    else
        fail "the database URL loses devstack's SQLAlchemy query" "got: $out"
    fi
    # The real m2 loads a configuration with that URL: dbsync then fails to
    # connect (nothing listens on port 1), not on the configuration (status 2).
    mkdir -p "$S/etc"
    printf '[database]\nconnection = %s\n' "$out" >"$S/etc/mysql.conf"
    local status=0
    timeout 60 "$M2_REAL" --config-file "$S/etc/mysql.conf" dbsync >"$S/mysql.out" 2>&1 || status=$?
    if [[ $status == 1 ]] && ! grep -q 'configuration error' "$S/mysql.out"; then
        pass "the real m2 accepts the MySQL URL (dbsync fails only to connect)"
    else
        fail "the real m2 accepts the MySQL URL" "dbsync exit status $status" "$(tail -n 3 "$S/mysql.out")"
    fi

    out=$(probe <<'EOF'
STUB_OS_PACKAGE=rpm
M2_ENABLE_M2_PATH=True
source "$PLUGIN_DIR/settings"
source "$PLUGIN_DIR/plugin.sh" source
install_m2_path_packages
tail -n 1 "$STUB_LOG"
EOF
    )
    local want
    want=$(fmt_call install_package scsi-target-utils scsi-target-utils-rbd ipxe-bootimgs-x86 \
        ceph-common qemu-img ipmitool dnsmasq)
    if [[ $out == "$want" ]]; then
        pass "Red Hat package names: $out"
    else
        fail "Red Hat package names" "expected: $want" "got: $out"
    fi
}

# --- main ------------------------------------------------------------------------

make_stubs
export PATH="$STUB_BIN:$PATH"
mkdir -p "$WORK/prebuilt"
ln -s "$M2_REAL" "$WORK/prebuilt/m2"

echo "m2 devstack plugin test: plugin $PLUGIN_DIR, m2 binary $M2_REAL"
echo "(test directory $WORK)"

scenario_fake_hardware
scenario_m2_path
scenario_noauth
scenario_no_rabbit
scenario_no_ceph
scenario_external_pools
scenario_settings

echo
if ((FAILED)); then
    echo "failed checks:"
    for f in "${FAILURES[@]}"; do
        echo "  $f"
    done
fi
echo "devstack plugin test: $PASSED checks passed, $FAILED failed"
((FAILED == 0))
