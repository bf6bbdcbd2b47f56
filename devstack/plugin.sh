#!/bin/bash
# devstack plugin for m2: runs m2 as the cloud's Bare Metal service
# (service type "baremetal", port 6385) in place of Ironic.
#
# devstack calls it as `source plugin.sh <mode> [phase]`:
#   stack install      build m2 (or install M2_PREBUILT_BINARY); with the M2
#                      path, install tgt, iPXE, dnsmasq and the Ceph client
#   stack post-config  write m2.conf, register the Keystone service and
#                      endpoint, create the database and run `m2 dbsync`;
#                      with the M2 path, create the Ceph pools and user, fill
#                      the TFTP root and write dnsmasq's configuration
#   stack extra        start m2-tgtd and m2-tftp (M2 path), m2-api and
#                      m2-cond, wait until they answer
#   stack test-config  configure tempest for the Bare Metal API
#   unstack            stop the services (tgtd drops its targets)
#   clean              remove configuration, state, keyring and the binary
# Settings and their defaults are in devstack/settings.
#
# Globals such as STACK_USER, REGION_NAME, TEMPEST_CONFIG or SSL_BUNDLE_FILE
# are set by devstack before it sources this file.

_XTRACE_M2=$(set +o | grep xtrace)
set -o xtrace

# True when any m2 service is enabled: lets `is_service_enabled m2` work.
function is_m2_enabled {
    [[ ,${ENABLED_SERVICES}, =~ ,"m2-" ]] && return 0
    return 1
}

function m2_url {
    echo "$M2_SERVICE_PROTOCOL://$M2_SERVICE_HOST:$M2_SERVICE_PORT"
}

function _m2_lower {
    echo "$1" | tr '[:upper:]' '[:lower:]'
}

# --- install ---------------------------------------------------------------

# The Rust version m2 needs, from Cargo.toml's rust-version.
function _m2_required_rust {
    sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' "$M2_DIR/Cargo.toml" | head -n1
}

function _m2_rust_ok {
    local required=$1 have
    command -v cargo >/dev/null 2>&1 || return 1
    have=$(rustc --version 2>/dev/null | awk '{print $2}')
    [[ -n $have ]] || return 1
    [[ -z $required ]] || vercmp "$have" ">=" "$required"
}

function install_rust_toolchain {
    local required
    required=$(_m2_required_rust)
    if [[ -f $HOME/.cargo/env ]]; then
        # shellcheck source=/dev/null
        source "$HOME/.cargo/env"
    fi
    if _m2_rust_ok "$required"; then
        return 0
    fi
    if [[ $M2_INSTALL_RUSTUP != True ]]; then
        die $LINENO "m2 needs Rust >= ${required:-stable} (cargo); install it or set M2_INSTALL_RUSTUP=True"
    fi
    echo_summary "Installing the Rust toolchain ($M2_RUST_TOOLCHAIN) with rustup"
    if command -v rustup >/dev/null 2>&1; then
        rustup toolchain install "$M2_RUST_TOOLCHAIN" --profile minimal
        rustup default "$M2_RUST_TOOLCHAIN"
    else
        curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
            sh -s -- -y --no-modify-path --profile minimal --default-toolchain "$M2_RUST_TOOLCHAIN"
        # shellcheck source=/dev/null
        source "$HOME/.cargo/env"
    fi
    _m2_rust_ok "$required" || die $LINENO "rustup did not provide Rust >= $required"
}

# What the M2 path runs besides m2: tgtd with its RBD backing store, iPXE's
# binaries, dnsmasq (TFTP, optionally DHCP), the Ceph client (`rbd`, used
# to import images), qemu-img (qcow2 uploads) and ipmitool.
function install_m2_path_packages {
    local packages
    if is_ubuntu; then
        packages="tgt tgt-rbd ipxe ceph-common qemu-utils ipmitool"
        if is_service_enabled m2-tftp; then
            packages+=" dnsmasq-base"
        fi
    else
        packages="scsi-target-utils scsi-target-utils-rbd ipxe-bootimgs-x86 ceph-common qemu-img ipmitool"
        if is_service_enabled m2-tftp; then
            packages+=" dnsmasq"
        fi
    fi
    # shellcheck disable=SC2086 # a list of package names
    install_package $packages
}

function install_m2 {
    if [[ -n $M2_PREBUILT_BINARY ]]; then
        [[ -x $M2_PREBUILT_BINARY ]] || die $LINENO "M2_PREBUILT_BINARY=$M2_PREBUILT_BINARY is not an executable"
        sudo install -m 0755 "$M2_PREBUILT_BINARY" "$M2_BIN"
    else
        install_rust_toolchain
        local target_subdir=$M2_CARGO_PROFILE
        [[ $M2_CARGO_PROFILE != dev ]] || target_subdir=debug
        (cd "$M2_DIR" && cargo build --locked --profile "$M2_CARGO_PROFILE" --bin m2) ||
            die $LINENO "building m2 failed"
        sudo install -m 0755 "$M2_DIR/target/$target_subdir/m2" "$M2_BIN"
    fi
    "$M2_BIN" --version || die $LINENO "$M2_BIN does not run"

    if [[ $M2_ENABLE_M2_PATH == True ]]; then
        install_m2_path_packages
    fi

    # The `openstack baremetal` commands, used here to wait for the conductor
    # and by operators on this host.
    pip_install_gr python-ironicclient
}

# --- post-config -------------------------------------------------------------

function _m2_auth_strategy {
    if [[ -n $M2_AUTH_STRATEGY ]]; then
        echo "$M2_AUTH_STRATEGY"
    elif is_service_enabled key; then
        echo keystone
    else
        echo noauth
    fi
}

# devstack's URL for the m2 database, without its query: the SQLAlchemy
# options there (charset=utf8, plugin=dbcounter, client_encoding) mean
# nothing to m2, and MySQL's utf8 is not utf8mb4.
function _m2_database_url {
    local url
    url=$(database_connection_url "$M2_DB_NAME")
    echo "${url%%\?*}"
}

function configure_m2 {
    sudo install -d -o "$STACK_USER" -m 0755 "$M2_CONF_DIR" "$M2_DATA_DIR"
    # m2 rejects options it does not know: start from an empty file each time.
    rm -f "$M2_CONF"
    touch "$M2_CONF"
    chmod 0640 "$M2_CONF"

    local debug=false
    [[ $ENABLE_DEBUG_LOG_LEVEL != True ]] || debug=true
    iniset "$M2_CONF" DEFAULT debug "$debug"
    iniset "$M2_CONF" DEFAULT host "$(hostname)"
    iniset "$M2_CONF" DEFAULT auth_strategy "$(_m2_auth_strategy)"
    iniset "$M2_CONF" DEFAULT enabled_hardware_types "$M2_ENABLED_HARDWARE_TYPES"

    local kind upper var
    for kind in $M2_INTERFACE_KINDS; do
        upper=$(echo "$kind" | tr '[:lower:]' '[:upper:]')
        var=M2_ENABLED_${upper}_INTERFACES
        if [[ -n ${!var:-} ]]; then
            iniset "$M2_CONF" DEFAULT "enabled_${kind}_interfaces" "${!var}"
        fi
        var=M2_DEFAULT_${upper}_INTERFACE
        if [[ -n ${!var:-} ]]; then
            iniset "$M2_CONF" DEFAULT "default_${kind}_interface" "${!var}"
        fi
    done

    # `m2 api` and `m2 conductor` always talk through the message bus.
    local transport_url
    transport_url=$(get_transport_url)
    if [[ -z $transport_url ]]; then
        die $LINENO "m2-api and m2-cond talk through RabbitMQ: enable the rabbit service or set RABBIT_HOST and RABBIT_PASSWORD"
    fi
    iniset "$M2_CONF" DEFAULT rpc_transport amqp
    iniset "$M2_CONF" DEFAULT transport_url "$transport_url"

    iniset "$M2_CONF" api host_ip "$M2_LISTEN_ADDRESS"
    iniset "$M2_CONF" api port "$M2_SERVICE_PORT"
    iniset "$M2_CONF" api public_endpoint "$(m2_url)"

    iniset "$M2_CONF" conductor automated_clean "$(_m2_lower "$M2_AUTOMATED_CLEAN")"
    if [[ -n $M2_CONDUCTOR_GROUP ]]; then
        iniset "$M2_CONF" conductor conductor_group "$M2_CONDUCTOR_GROUP"
    fi

    iniset "$M2_CONF" database connection "$(_m2_database_url)"

    if is_service_enabled key; then
        configure_keystone_authtoken_middleware "$M2_CONF" "$M2_KEYSTONE_USER"
        # devstack names its CA bundle even when TLS is off and the file does
        # not exist; m2 reads the file at start, so leave it out then.
        if [[ ! -s ${SSL_BUNDLE_FILE:-} ]]; then
            iniset "$M2_CONF" keystone_authtoken cafile ""
        fi
    fi

    if [[ $M2_ENABLE_M2_PATH == True ]]; then
        configure_m2_path
    fi
}

# --- post-config: the M2 path ----------------------------------------------------

function _m2_ceph {
    sudo ceph -c "$M2_CEPH_CONF" "$@"
}

# The pools m2's cephx user may open, one a line.
function _m2_ceph_pools {
    local pool
    for pool in "$M2_CEPH_IMAGES_POOL" "$M2_CEPH_DISKS_POOL" ${M2_CEPH_EXTRA_POOLS//,/ }; do
        echo "$pool"
    done
}

# Pools for the images and the nodes' disks, and a cephx user with
# `profile rbd` on them (and on M2_CEPH_EXTRA_POOLS), as the admin of this
# host's cluster: devstack-plugin-ceph's, or an existing one.
function configure_m2_ceph {
    if [[ ! -f $M2_CEPH_CONF ]]; then
        die $LINENO "M2_CEPH_CONF=$M2_CEPH_CONF does not exist: enable devstack-plugin-ceph or point M2_CEPH_CONF at an existing cluster's ceph.conf"
    fi
    if [[ $M2_CEPH_CREATE_POOLS == True ]]; then
        local pool
        for pool in "$M2_CEPH_IMAGES_POOL" "$M2_CEPH_DISKS_POOL"; do
            _m2_ceph osd pool create "$pool" "$M2_CEPH_POOL_PG_NUM"
            sudo rbd -c "$M2_CEPH_CONF" pool init "$pool"
        done
        local osd_caps="" mgr_caps=""
        for pool in $(_m2_ceph_pools); do
            osd_caps+="${osd_caps:+, }profile rbd pool=$pool"
            mgr_caps+="${mgr_caps:+, }profile rbd pool=$pool"
        done
        local entity=client.$M2_CEPH_USER
        local caps=(mon "profile rbd" osd "$osd_caps" mgr "$mgr_caps")
        # get-or-create refuses an existing user with other caps: set them then.
        _m2_ceph auth get-or-create "$entity" "${caps[@]}" >/dev/null ||
            _m2_ceph auth caps "$entity" "${caps[@]}" ||
            die $LINENO "cannot create the cephx user $entity"
        _m2_ceph auth get "$entity" -o "$M2_CEPH_KEYRING"
        # m2-cond and m2-tgtd run as $STACK_USER and both open the disks.
        sudo chown "$STACK_USER" "$M2_CEPH_KEYRING"
        sudo chmod 0600 "$M2_CEPH_KEYRING"
    fi
    if [[ ! -r $M2_CEPH_KEYRING ]]; then
        die $LINENO "$STACK_USER cannot read M2_CEPH_KEYRING=$M2_CEPH_KEYRING (the key of client.$M2_CEPH_USER)"
    fi
}

# tgtd runs as $STACK_USER, so that m2-cond (also $STACK_USER) may drive it
# with tgtadm through its control socket. A packaged tgtd would hold port
# 3260 on every address: it is stopped.
function configure_m2_tgtd {
    if systemctl is-enabled --quiet tgt.service 2>/dev/null ||
        systemctl is-active --quiet tgt.service 2>/dev/null; then
        echo "Stopping the packaged tgt service: m2-tgtd replaces it"
        sudo systemctl disable --now tgt.service
    fi
    sudo install -d -o "$STACK_USER" -m 0755 "$M2_TGTD_SOCKET_DIR"
}

# The first directory of M2_IPXE_DIRS that holds undionly.kpxe.
function _m2_ipxe_dir {
    local dir
    for dir in $M2_IPXE_DIRS; do
        if [[ -f $dir/undionly.kpxe ]]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

# The TFTP root gets iPXE for BIOS (undionly.kpxe) and UEFI (ipxe.efi,
# snponly.efi); m2-cond writes boot.ipxe there when it starts.
function configure_m2_tftp {
    sudo install -d -o "$STACK_USER" -m 0755 "$M2_TFTP_ROOT"
    local dir pair
    dir=$(_m2_ipxe_dir) ||
        die $LINENO "iPXE's undionly.kpxe is in none of $M2_IPXE_DIRS: install the ipxe package"
    # source:name pairs; Red Hat's files carry the architecture in their names.
    for pair in undionly.kpxe:undionly.kpxe ipxe.efi:ipxe.efi ipxe-x86_64.efi:ipxe.efi \
        snponly.efi:snponly.efi snponly-x86_64.efi:snponly.efi; do
        if [[ -f $dir/${pair%%:*} ]]; then
            install -m 0644 "$dir/${pair%%:*}" "$M2_TFTP_ROOT/${pair#*:}"
        fi
    done

    if is_service_enabled m2-tftp; then
        write_m2_dnsmasq_conf
    fi
}

# dnsmasq as TFTP server, and as DHCP server when M2_DHCP_RANGE is set:
# PXE firmware gets iPXE (undionly.kpxe for BIOS, ipxe.efi for UEFI), iPXE
# then gets boot.ipxe, which chains to the node's script on the API.
function write_m2_dnsmasq_conf {
    {
        echo "# dnsmasq of the m2 devstack plugin (service m2-tftp)."
        echo "port=0"
        echo "log-facility=-"
        echo "pid-file="
        echo "enable-tftp"
        echo "tftp-root=$M2_TFTP_ROOT"
        if [[ -n $M2_PROVISION_INTERFACE ]]; then
            echo "interface=$M2_PROVISION_INTERFACE"
            echo "bind-interfaces"
        fi
        if [[ -n $M2_DHCP_RANGE ]]; then
            echo "dhcp-range=$M2_DHCP_RANGE"
            echo "dhcp-leasefile=$M2_DATA_DIR/dnsmasq.leases"
            echo "dhcp-userclass=set:ipxe,iPXE"
            echo "dhcp-match=set:ipxe,175"
            echo "dhcp-match=set:efi,option:client-arch,7"
            echo "dhcp-match=set:efi,option:client-arch,9"
            echo "dhcp-boot=tag:ipxe,boot.ipxe"
            echo "dhcp-boot=tag:!ipxe,tag:efi,ipxe.efi"
            echo "dhcp-boot=tag:!ipxe,tag:!efi,undionly.kpxe"
        fi
    } >"$M2_DNSMASQ_CONF"
}

function configure_m2_path {
    configure_m2_ceph
    configure_m2_tftp
    if is_service_enabled m2-tgtd; then
        configure_m2_tgtd
    fi

    iniset "$M2_CONF" ceph conffile "$M2_CEPH_CONF"
    iniset "$M2_CONF" ceph client_id "$M2_CEPH_USER"
    iniset "$M2_CONF" ceph keyring "$M2_CEPH_KEYRING"
    iniset "$M2_CONF" ceph images_pool "$M2_CEPH_IMAGES_POOL"
    iniset "$M2_CONF" ceph disks_pool "$M2_CEPH_DISKS_POOL"

    iniset "$M2_CONF" iscsi portal "$M2_ISCSI_PORTAL"
    if [[ -n $M2_ISCSI_GUEST_PORTAL ]]; then
        iniset "$M2_CONF" iscsi guest_portal "$M2_ISCSI_GUEST_PORTAL"
    fi
    iniset "$M2_CONF" iscsi tgt_control_port "$M2_TGT_CONTROL_PORT"
    iniset "$M2_CONF" iscsi tgtadm "$M2_TGTADM"
    iniset "$M2_CONF" iscsi iqn_prefix "$M2_ISCSI_IQN_PREFIX"

    iniset "$M2_CONF" pxe http_url "$M2_PXE_HTTP_URL"
    iniset "$M2_CONF" pxe tftp_root "$M2_TFTP_ROOT"
}

# Service user, and the baremetal service with its endpoints in the catalog.
# The user validates tokens: the service role is enough.
function create_m2_accounts {
    create_service_user "$M2_KEYSTONE_USER"
    get_or_create_service "$M2_KEYSTONE_SERVICE_NAME" baremetal "Bare Metal provisioning service (m2)"
    get_or_create_endpoint baremetal "$REGION_NAME" "$(m2_url)" "$(m2_url)" "$(m2_url)"
}

function init_m2 {
    if is_service_enabled mysql postgresql; then
        recreate_database "$M2_DB_NAME"
    fi
    # --data-dir: where m2 would keep a SQLite database.
    "$M2_BIN" --config-file "$M2_CONF" dbsync --data-dir "$M2_DATA_DIR" || die $LINENO "m2 dbsync failed"
}

# --- extra ---------------------------------------------------------------------

function _m2_tgtadm {
    "$M2_TGTADM" -C "$M2_TGT_CONTROL_PORT" "$@"
}

function start_m2_tgtd {
    run_process m2-tgtd "$M2_TGTD -f -C $M2_TGT_CONTROL_PORT --iscsi portal=$M2_ISCSI_PORTAL"
    echo "Waiting for tgtd on control socket $M2_TGT_CONTROL_PORT"
    local deadline=$((SECONDS + M2_START_TIMEOUT))
    until _m2_tgtadm --lld iscsi --mode target --op show >/dev/null 2>&1; do
        ((SECONDS < deadline)) ||
            die $LINENO "m2-tgtd did not answer within $M2_START_TIMEOUT seconds"
        sleep 1
    done
}

function _m2_conductor_registered {
    local types
    types=$(openstack --os-cloud devstack-system-admin baremetal driver list -f value -c name 2>/dev/null) ||
        return 1
    local hw
    for hw in ${M2_ENABLED_HARDWARE_TYPES//,/ }; do
        grep -qx "$hw" <<<"$types" || return 1
    done
}

function start_m2 {
    # The conductor checks at start that tgtd answers.
    if is_service_enabled m2-tgtd; then
        start_m2_tgtd
    fi
    # dnsmasq binds port 69 (and 67 for DHCP), then drops its privileges.
    run_process m2-tftp "$M2_DNSMASQ --keep-in-foreground --conf-file=$M2_DNSMASQ_CONF" "" root
    run_process m2-api "$M2_BIN --config-file $M2_CONF api"
    run_process m2-cond "$M2_BIN --config-file $M2_CONF conductor"

    if is_service_enabled m2-api; then
        echo "Waiting for the m2 API at $(m2_url)"
        wait_for_service "$M2_START_TIMEOUT" "$(m2_url)" ||
            die $LINENO "m2-api did not start within $M2_START_TIMEOUT seconds"
        if is_service_enabled m2-cond && is_service_enabled key; then
            echo "Waiting for an m2 conductor to offer $M2_ENABLED_HARDWARE_TYPES"
            local deadline=$((SECONDS + M2_START_TIMEOUT))
            until _m2_conductor_registered; do
                ((SECONDS < deadline)) ||
                    die $LINENO "no m2 conductor registered $M2_ENABLED_HARDWARE_TYPES within $M2_START_TIMEOUT seconds"
                sleep 2
            done
        fi
    fi
}

# --- test-config -----------------------------------------------------------------

function configure_m2_tempest {
    local max=$M2_TEMPEST_MAX_MICROVERSION
    if [[ -z $max ]]; then
        max=$(curl -sf "$(m2_url)/" | python3 -c 'import json, sys; print(json.load(sys.stdin)["default_version"]["version"])' 2>/dev/null || true)
    fi
    local first_hw=${M2_ENABLED_HARDWARE_TYPES%%,*}

    iniset "$TEMPEST_CONFIG" service_available ironic True
    # m2 does not enforce scoped tokens.
    iniset "$TEMPEST_CONFIG" enforce_scope ironic False
    iniset "$TEMPEST_CONFIG" baremetal driver "$first_hw"
    iniset "$TEMPEST_CONFIG" baremetal enabled_hardware_types "$M2_ENABLED_HARDWARE_TYPES"
    iniset "$TEMPEST_CONFIG" baremetal min_microversion "$M2_TEMPEST_MIN_MICROVERSION"
    if [[ -n $max ]]; then
        iniset "$TEMPEST_CONFIG" baremetal max_microversion "$max"
    fi
    iniset "$TEMPEST_CONFIG" baremetal_m2 deploy_timeout "$M2_TEMPEST_DEPLOY_TIMEOUT"
}

# --- unstack / clean -------------------------------------------------------------

# tgtd ignores SIGTERM: it exits on "delete system" once it has no targets.
# Its targets go with it (tgtd keeps them in memory only; m2-cond exports
# the disks of active nodes again when it starts).
function stop_m2_tgtd {
    local tids tid
    tids=$(_m2_tgtadm --lld iscsi --mode target --op show 2>/dev/null |
        sed -n 's/^Target \([0-9]*\):.*/\1/p') || true
    for tid in $tids; do
        _m2_tgtadm --lld iscsi --mode target --op delete --force --tid "$tid" || true
    done
    _m2_tgtadm --mode system --op delete >/dev/null 2>&1 || true
    stop_process m2-tgtd
}

function stop_m2 {
    stop_process m2-api
    stop_process m2-cond
    if is_service_enabled m2-tgtd; then
        stop_m2_tgtd
    fi
    stop_process m2-tftp
}

function cleanup_m2 {
    if [[ $M2_ENABLE_M2_PATH == True ]]; then
        # A TFTP root of its own goes with the data directory; in a shared
        # one, only what the plugin and m2 put there.
        if [[ $M2_TFTP_ROOT != "$M2_DATA_DIR"/* ]]; then
            local file
            for file in undionly.kpxe ipxe.efi snponly.efi boot.ipxe; do
                sudo rm -f "$M2_TFTP_ROOT/$file"
            done
        fi
        if [[ $M2_CEPH_CREATE_POOLS == True ]]; then
            # The pools and their images stay in the cluster.
            sudo rm -f "$M2_CEPH_KEYRING"
        fi
    fi
    sudo rm -rf "$M2_CONF_DIR" "$M2_DATA_DIR"
    sudo rm -f "$M2_BIN"
}

# --- dispatch ----------------------------------------------------------------------

if is_service_enabled m2-api m2-cond; then
    if [[ $1 == stack ]]; then
        case $2 in
            install)
                echo_summary "Installing m2"
                install_m2
                ;;
            post-config)
                echo_summary "Configuring m2"
                configure_m2
                if is_service_enabled key; then
                    create_m2_accounts
                fi
                init_m2
                ;;
            extra)
                echo_summary "Starting m2"
                start_m2
                ;;
            test-config)
                if is_service_enabled tempest; then
                    echo_summary "Configuring tempest for m2"
                    configure_m2_tempest
                fi
                ;;
        esac
    fi

    if [[ $1 == unstack ]]; then
        stop_m2
    fi

    if [[ $1 == clean ]]; then
        cleanup_m2
    fi
fi

$_XTRACE_M2
