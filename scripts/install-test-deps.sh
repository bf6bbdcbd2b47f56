#!/usr/bin/env bash
# Install and start everything m2's test suite needs, on Debian 12, as root.
#
# Idempotent: every step checks first and does nothing when its part is
# already in place, so a second run takes a few seconds.
#
#   scripts/install-test-deps.sh            # everything
#   scripts/install-test-deps.sh packages   # only some steps: packages postgres
#                                           #   mariadb rabbitmq venv keystone tempest
#                                           #   nextest
#   M2_SKIP_APT=1 scripts/install-test-deps.sh   # leave system packages alone
#   scripts/install-test-deps.sh keystone horizon  # the extended suite's browser
#                                           #   test; `horizon` is never a default step
#
# What it provides:
#   * Debian packages (PostgreSQL, MariaDB, RabbitMQ, wrk, jq, curl, python3-venv)
#     and the boot chain used by tests/harness/ (Ceph, tgt, iPXE, QEMU, OpenIPMI,
#     syslinux, busybox, a Debian kernel); none of their daemons is started
#   * PostgreSQL on 127.0.0.1:5432, trust auth, database `test`
#   * MariaDB on 127.0.0.1:3306, root without password, database `test`
#   * RabbitMQ on 127.0.0.1:5672 (guest/guest), best effort
#   * <repo>/.venv with python-openstackclient, python-ironicclient, openstacksdk
#     and python-m2client, the `openstack baremetal m2` plugin (osc/, editable)
#   * <repo>/.venv-keystone with Keystone, for the tests of
#     auth_strategy = keystone (tests/auth_keystone.rs starts and stops it)
#   * <repo>/.venv-tempest with tempest, ironic-tempest-plugin and m2's own
#     plugin (tempest/, editable), for scripts/run-tempest.sh
#   * cargo-nextest
#   * only with the step `horizon`: Debian's chromium and chromium-driver, and
#     <repo>/.venv-horizon with Horizon, ironic-ui and selenium, configured for
#     horizon/run-horizon-test.sh (tests/horizon.rs, an ignored test)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${M2_TEST_VENV:-$REPO_ROOT/.venv}"
KEYSTONE_VENV="${M2_TEST_KEYSTONE_VENV:-$REPO_ROOT/.venv-keystone}"
TEMPEST_VENV="${M2_TEST_TEMPEST_VENV:-$REPO_ROOT/.venv-tempest}"
HORIZON_VENV="${M2_TEST_HORIZON_VENV:-$REPO_ROOT/.venv-horizon}"
WAIT_SECONDS="${M2_SERVICE_WAIT_SECONDS:-60}"

log() { printf '[install-test-deps] %s\n' "$*" >&2; }
die() { printf '[install-test-deps] ERROR: %s\n' "$*" >&2; exit 1; }

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "run as root (or install sudo)"
    SUDO="sudo"
fi

# ---------------------------------------------------------------------------
# Debian packages
# ---------------------------------------------------------------------------
APT_PACKAGES=(
    postgresql
    mariadb-server
    rabbitmq-server
    wrk
    jq
    curl
    python3-venv
    shellcheck
)
# --- Storage / boot chain packages (tests/harness/) -------------------------
# Daemons among them (tgtd, ceph-*, iscsid) are never started by the install;
# the harness scripts run them bound to 127.0.0.1 under a test directory.
EXTRA_APT_PACKAGES=(
    ceph ceph-common ceph-mon ceph-osd ceph-mgr   # one-host RBD cluster
    librbd-dev librados-dev libclang-dev          # rbd-sys bindings
    tgt tgt-rbd                                   # iSCSI target, rbd backing store
    libiscsi-bin                                  # iscsi-ls, iscsi-inq
    open-iscsi                                    # only for iscsistart in the guest initramfs
    ipxe qemu-system-x86                          # node firmware and emulator
    qemu-block-extra                              # QEMU's rbd driver (a VM boots an RBD volume)
    openipmi ipmitool                             # ipmi_sim BMC, client
    syslinux syslinux-common mtools dosfstools    # boot image without loop devices
    openssl                                       # build-image.sh --filler data
    busybox-static cpio linux-image-amd64         # guest initramfs and kernel
    socat                                         # guestfwd to the host's target
)
# ---------------------------------------------------------------------------

pkg_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

# bookworm-backports' qemu-utils (10.x) conflicts with bookworm's
# qemu-system-x86 (7.2). Prints "pkg=version" for every installed qemu-*
# package whose version differs from qemu-system-x86's candidate, when that
# version is available for it; empty when the set is already consistent.
qemu_pins() {
    local want pkg have
    want=$(apt-cache policy qemu-system-x86 2>/dev/null | awk '/Candidate:/ {print $2}')
    [[ -n $want && $want != "(none)" ]] || return 0
    while read -r pkg have; do
        [[ $have == "$want" ]] && continue
        if apt-cache madison "$pkg" 2>/dev/null | awk -F'|' '{gsub(/ /, "", $2); print $2}' | grep -qxF "$want"; then
            printf '%s=%s\n' "$pkg" "$want"
        fi
    done < <(dpkg-query -W -f='${db:Status-Abbrev} ${Package} ${Version}\n' 'qemu-*' 2>/dev/null |
        awk '$1 == "ii" {print $2, $3}')
}

# Fails when a daemon that the packages ship is running (an install must not
# leave one behind: tgtd would listen on 0.0.0.0:3260).
check_no_packaged_daemons() {
    local d pids bad=""
    for d in tgtd iscsid ceph-mon ceph-mgr ceph-osd ceph-mds; do
        pids=$(pidof "$d" 2>/dev/null || true)
        [[ -z $pids ]] && continue
        # Instances started by tests/harness run with a private state dir; only
        # report those running from the packaged defaults.
        local pid own=""
        for pid in $pids; do
            if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -Eq -- '(^| )(-C|--conf|-c) '; then
                own=1
            else
                bad+=" $d($pid)"
            fi
        done
        [[ -n $own ]] && log "note: $d running with a private configuration (test harness)"
    done
    [[ -z $bad ]] || die "packaged daemons running after install:$bad (stop them; policy-rc.d should have prevented this)"
}

install_apt_packages() {
    if [[ -n "${M2_SKIP_APT:-}" ]]; then
        log "M2_SKIP_APT set: not touching Debian packages"
        return
    fi
    local missing=() pins=() p
    for p in "${APT_PACKAGES[@]}" "${EXTRA_APT_PACKAGES[@]}"; do
        pkg_installed "$p" || missing+=("$p")
    done
    mapfile -t pins < <(qemu_pins)
    if [[ ${#missing[@]} -eq 0 && ${#pins[@]} -eq 0 ]]; then
        log "Debian packages: all present"
        check_no_packaged_daemons
        return
    fi
    log "Debian packages missing: ${missing[*]:-none}"

    # Packaged daemons (tgt, rabbitmq, ...) try to start on install, some
    # listening on every address. Forbid that for the duration of the install;
    # this script starts what the tests need itself, bound to loopback.
    local policy=/usr/sbin/policy-rc.d created_policy=""
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\n# installed by m2 scripts/install-test-deps.sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
        $SUDO chmod 755 "$policy"
        created_policy=1
    fi
    local rc=0
    {
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        # Lists are fresh now: compute the qemu pins again, then install the
        # packages and any qemu-* downgrades in one transaction.
        mapfile -t pins < <(qemu_pins) &&
        { [[ ${#pins[@]} -eq 0 ]] || log "aligning QEMU packages: ${pins[*]}"; } &&
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends --allow-downgrades -o Dpkg::Options::=--force-confold \
            "${missing[@]}" "${pins[@]}"
    } || rc=$?
    if [[ -n $created_policy ]]; then
        $SUDO rm -f "$policy"
    fi
    [[ $rc -eq 0 ]] || die "apt-get install failed (exit $rc)"
    check_no_packaged_daemons
}

# ---------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------
tcp_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_for() { # description, command...
    local what=$1; shift
    local deadline=$((SECONDS + WAIT_SECONDS))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            return 1
        fi
        sleep 0.5
    done
    log "$what: ready"
}

pg_answers() { psql "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3" -tAc 'select 1'; }
pg_local() { $SUDO runuser -u postgres -- psql -X -q -tA "$@"; }

setup_postgres() {
    local ver
    ver=$(find /etc/postgresql -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null | sort -V | tail -n1)
    [[ -n $ver ]] || die "no PostgreSQL cluster configuration under /etc/postgresql"
    if [[ ! -d /etc/postgresql/$ver/main ]]; then
        log "creating PostgreSQL $ver cluster 'main'"
        $SUDO pg_createcluster "$ver" main
    fi
    local hba=/etc/postgresql/$ver/main/pg_hba.conf
    local need_reload=""
    if ! grep -Eq '^[[:space:]]*host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
        log "PostgreSQL: allowing trust authentication from 127.0.0.1"
        $SUDO sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
        need_reload=1
    fi
    if ! pg_lsclusters -h "$ver" main 2>/dev/null | awk '{print $4}' | grep -q online; then
        log "starting PostgreSQL $ver"
        $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main start
        need_reload=""
    fi
    if [[ -n $need_reload ]]; then
        $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main reload
    fi
    wait_for "PostgreSQL on 127.0.0.1:5432" pg_answers || die "PostgreSQL did not answer on 127.0.0.1:5432 within ${WAIT_SECONDS}s"
    if [[ -z $(pg_local -c "select 1 from pg_database where datname = 'test'") ]]; then
        log "PostgreSQL: creating database test"
        pg_local -c 'create database test'
    fi
}

my_answers() { mariadb --protocol=tcp -h 127.0.0.1 -P 3306 -uroot --connect-timeout=3 -e 'select 1'; }
my_socket_up() { mariadb-admin --protocol=socket -uroot ping; }

setup_mariadb() {
    if ! my_answers >/dev/null 2>&1 && ! my_socket_up >/dev/null 2>&1; then
        log "starting MariaDB"
        $SUDO install -d -o mysql -g mysql -m 755 /run/mysqld
        $SUDO start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
        wait_for "MariaDB socket" my_socket_up || die "MariaDB did not start within ${WAIT_SECONDS}s"
    fi
    if ! my_answers >/dev/null 2>&1; then
        # Debian's default root account authenticates only over the unix
        # socket; tests connect over TCP as root without a password.
        log "MariaDB: allowing root without password from 127.0.0.1"
        $SUDO mariadb --protocol=socket -uroot -e \
            "ALTER USER root@localhost IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD(''); FLUSH PRIVILEGES;"
    fi
    wait_for "MariaDB on 127.0.0.1:3306" my_answers || die "MariaDB did not answer on 127.0.0.1:3306 within ${WAIT_SECONDS}s"
    mariadb --protocol=tcp -h 127.0.0.1 -uroot -e 'CREATE DATABASE IF NOT EXISTS test'
}

setup_rabbitmq() {
    # Only the messaging tests need it; a failure here is reported, not fatal.
    if tcp_open 127.0.0.1 5672; then
        log "RabbitMQ on 127.0.0.1:5672: ready"
        return
    fi
    if ! command -v rabbitmq-server >/dev/null; then
        log "WARNING: rabbitmq-server not installed; messaging tests will skip"
        return
    fi
    log "starting RabbitMQ"
    $SUDO rabbitmq-server -detached >/dev/null 2>&1 || true
    wait_for "RabbitMQ on 127.0.0.1:5672" tcp_open 127.0.0.1 5672 ||
        log "WARNING: RabbitMQ did not answer on 127.0.0.1:5672 within ${WAIT_SECONDS}s"
}

# ---------------------------------------------------------------------------
# Python clients
# ---------------------------------------------------------------------------
PY_PACKAGES=(python-openstackclient python-ironicclient openstacksdk)

clients_ok() {
    [[ -x $VENV/bin/openstack && -x $VENV/bin/python ]] &&
        "$VENV/bin/python" -c 'import openstack, ironicclient, openstackclient' 2>/dev/null
}

# `openstack baremetal m2 ...` for m2's own resources, installed editable from
# osc/ so that the venv runs this checkout's plugin. Prints the directory the
# venv imports it from.
m2client_dir() {
    "$VENV/bin/python" -c \
        'import m2client.osc.plugin, m2client, os; print(os.path.dirname(os.path.dirname(os.path.abspath(m2client.__file__))))'
}

venv_ok() {
    clients_ok && [[ $(m2client_dir 2>/dev/null) == "$REPO_ROOT/osc" ]]
}

setup_venv() {
    if venv_ok; then
        log "Python venv $VENV: present ($(tr '\n' ' ' <"$VENV/m2-client-versions.txt" 2>/dev/null))"
        return
    fi
    local py
    py=$(command -v python3 || true)
    [[ -n $py ]] || die "python3 not found"
    if [[ ! -x $VENV/bin/python ]]; then
        log "creating Python venv at $VENV with $py"
        "$py" -m venv "$VENV"
    fi
    if ! clients_ok; then
        log "installing ${PY_PACKAGES[*]} into $VENV"
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PY_PACKAGES[@]}"
        clients_ok || die "the venv at $VENV does not import the OpenStack clients"
    fi
    # Again when the checkout moved (or another one installed it).
    log "installing the openstack CLI plugin of $REPO_ROOT/osc into $VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$REPO_ROOT/osc"
    venv_ok || die "the venv at $VENV does not import m2client from $REPO_ROOT/osc"
    {
        "$VENV/bin/openstack" --version 2>&1
        "$VENV/bin/python" - <<'EOF'
from importlib.metadata import version
for dist in ("python-ironicclient", "openstacksdk", "keystoneauth1", "osc-lib", "python-m2client"):
    print(f"{dist} {version(dist)}")
EOF
    } >"$VENV/m2-client-versions.txt"
    log "installed: $(tr '\n' ' ' <"$VENV/m2-client-versions.txt")"
}

# ---------------------------------------------------------------------------
# Keystone, in a venv of its own: its pinned libraries must not meet the
# clients' in .venv. Nothing is started here; the tests run it on a free
# 127.0.0.1 port with SQLite and fernet keys in a temporary directory, served
# by Python's wsgiref (tests/keystone/serve.py): Keystone's configuration
# loader reads the process arguments, which rules out gunicorn's command line.
# ---------------------------------------------------------------------------
KEYSTONE_PACKAGES=(keystone)

keystone_venv_ok() {
    [[ -x $KEYSTONE_VENV/bin/keystone-manage ]] &&
        "$KEYSTONE_VENV/bin/python" -c 'import keystone.server.wsgi' 2>/dev/null
}

setup_keystone_venv() {
    if keystone_venv_ok; then
        log "Keystone venv $KEYSTONE_VENV: present ($(cat "$KEYSTONE_VENV/m2-keystone-version.txt" 2>/dev/null))"
        return
    fi
    local py
    py=$(command -v python3 || true)
    [[ -n $py ]] || die "python3 not found"
    if [[ ! -x $KEYSTONE_VENV/bin/python ]]; then
        log "creating Python venv at $KEYSTONE_VENV with $py"
        "$py" -m venv "$KEYSTONE_VENV"
    fi
    log "installing ${KEYSTONE_PACKAGES[*]} into $KEYSTONE_VENV"
    "$KEYSTONE_VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
    "$KEYSTONE_VENV/bin/python" -m pip install -q --disable-pip-version-check "${KEYSTONE_PACKAGES[@]}"
    keystone_venv_ok || die "the venv at $KEYSTONE_VENV does not provide keystone-manage and keystone.server.wsgi"
    "$KEYSTONE_VENV/bin/python" -c 'from importlib.metadata import version; print("keystone", version("keystone"))' \
        >"$KEYSTONE_VENV/m2-keystone-version.txt"
    log "installed: $(cat "$KEYSTONE_VENV/m2-keystone-version.txt")"
}

# ---------------------------------------------------------------------------
# Tempest, in a venv of its own: tempest, ironic-tempest-plugin (Ironic's API
# tests) and m2's plugin from tempest/, installed editable so that a change of
# m2's tests needs no reinstall. Pinned: a new release of Ironic's plugin brings
# new tests, which are reviewed against tempest/ironic-api-skips.txt when the
# pins move. Nothing is started here: scripts/run-tempest.sh starts Keystone
# and m2 and runs both suites.
# ---------------------------------------------------------------------------
TEMPEST_PACKAGES=(tempest==47.0.0 ironic-tempest-plugin==3.2.0)

# Prints the directory the venv's m2_tempest_plugin is imported from.
tempest_plugin_dir() {
    "$TEMPEST_VENV/bin/python" -c \
        'import m2_tempest_plugin, os; print(os.path.dirname(os.path.dirname(os.path.abspath(m2_tempest_plugin.__file__))))'
}

tempest_venv_ok() {
    [[ -x $TEMPEST_VENV/bin/tempest && -f $TEMPEST_VENV/m2-tempest-versions.txt ]] &&
        "$TEMPEST_VENV/bin/python" -c 'import tempest, ironic_tempest_plugin' 2>/dev/null &&
        [[ $(tempest_plugin_dir 2>/dev/null) == "$REPO_ROOT/tempest" ]] &&
        grep -qxF "${TEMPEST_PACKAGES[*]}" "$TEMPEST_VENV/m2-tempest-pins.txt" 2>/dev/null
}

setup_tempest_venv() {
    if tempest_venv_ok; then
        log "Tempest venv $TEMPEST_VENV: present ($(tr '\n' ' ' <"$TEMPEST_VENV/m2-tempest-versions.txt"))"
        return
    fi
    local py
    py=$(command -v python3 || true)
    [[ -n $py ]] || die "python3 not found"
    if [[ ! -x $TEMPEST_VENV/bin/python ]]; then
        log "creating Python venv at $TEMPEST_VENV with $py"
        "$py" -m venv "$TEMPEST_VENV"
    fi
    log "installing ${TEMPEST_PACKAGES[*]} and $REPO_ROOT/tempest into $TEMPEST_VENV"
    "$TEMPEST_VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
    "$TEMPEST_VENV/bin/python" -m pip install -q --disable-pip-version-check "${TEMPEST_PACKAGES[@]}"
    # Editable: the venv runs the tests of this checkout. The checkout moved
    # (or another one installed it): install again to point at this one.
    "$TEMPEST_VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e "$REPO_ROOT/tempest"
    [[ $(tempest_plugin_dir 2>/dev/null) == "$REPO_ROOT/tempest" ]] ||
        die "the venv at $TEMPEST_VENV does not import m2_tempest_plugin from $REPO_ROOT/tempest"
    printf '%s\n' "${TEMPEST_PACKAGES[*]}" >"$TEMPEST_VENV/m2-tempest-pins.txt"
    "$TEMPEST_VENV/bin/python" -c '
from importlib.metadata import version
for dist in ("tempest", "ironic-tempest-plugin", "m2-tempest-plugin"):
    print(dist, version(dist))' >"$TEMPEST_VENV/m2-tempest-versions.txt"
    tempest_venv_ok || die "the venv at $TEMPEST_VENV does not provide tempest, ironic_tempest_plugin and m2_tempest_plugin"
    log "installed: $(tr '\n' ' ' <"$TEMPEST_VENV/m2-tempest-versions.txt")"
}

# ---------------------------------------------------------------------------
# Horizon (extended suite only; not among the default steps): Debian's
# chromium and chromium-driver, and the venv of horizon/run-horizon-test.sh,
# which the test script makes itself: `--setup-only` installs
# horizon/requirements.txt (horizon, ironic-ui, selenium) into the venv,
# enables ironic-ui's panel, writes Horizon's local_settings.py and compresses
# its static files, each part only when it is not in place yet.
# ---------------------------------------------------------------------------
HORIZON_APT_PACKAGES=(chromium chromium-driver fonts-liberation)

setup_horizon() {
    local missing=() p
    for p in "${HORIZON_APT_PACKAGES[@]}"; do
        pkg_installed "$p" || missing+=("$p")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        log "Chromium: $(chromium --version 2>/dev/null || echo '?')"
    elif [[ -n "${M2_SKIP_APT:-}" ]]; then
        log "WARNING: M2_SKIP_APT set and ${missing[*]} missing: the Horizon test will skip"
    else
        log "Debian packages missing: ${missing[*]}"
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            -o Dpkg::Options::=--force-confold "${missing[@]}" || die "apt-get install ${missing[*]} failed"
    fi
    M2_TEST_HORIZON_VENV="$HORIZON_VENV" "$REPO_ROOT/horizon/run-horizon-test.sh" --setup-only ||
        die "preparing the Horizon venv at $HORIZON_VENV failed"
    log "Horizon venv $HORIZON_VENV: ready ($(tr '\n' ' ' <"$HORIZON_VENV/m2-horizon-versions.txt" 2>/dev/null))"
}

# ---------------------------------------------------------------------------
# Rust tools
# ---------------------------------------------------------------------------
setup_nextest() {
    command -v cargo >/dev/null || die "cargo not found (install the Rust toolchain with rustup)"
    if cargo nextest --version >/dev/null 2>&1; then
        log "cargo-nextest: $(cargo nextest --version 2>/dev/null | head -n1)"
        return
    fi
    log "installing cargo-nextest"
    cargo install cargo-nextest --locked
}

main() {
    local start=$SECONDS step
    local steps=("$@")
    [[ ${#steps[@]} -gt 0 ]] || steps=(packages postgres mariadb rabbitmq venv keystone tempest nextest)
    for step in "${steps[@]}"; do
        case $step in
            packages) install_apt_packages ;;
            postgres) setup_postgres ;;
            mariadb) setup_mariadb ;;
            rabbitmq) setup_rabbitmq ;;
            venv) setup_venv ;;
            keystone) setup_keystone_venv ;;
            tempest) setup_tempest_venv ;;
            nextest) setup_nextest ;;
            horizon) setup_horizon ;;
            *) die "unknown step '$step' (packages postgres mariadb rabbitmq venv keystone tempest nextest horizon)" ;;
        esac
    done
    log "done in $((SECONDS - start))s"
}

main "$@"
