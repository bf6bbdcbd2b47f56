#!/bin/bash
# devstack plugin for m2: runs m2 as the cloud's Bare Metal service
# (service type "baremetal", port 6385) in place of Ironic.
#
# devstack calls it as `source plugin.sh <mode> [phase]`:
#   stack install      build m2 and install the binary
#   stack post-config  write m2.conf, register the Keystone service and
#                      endpoint, create the database and run `m2 dbsync`
#   stack extra        start m2-api and m2-cond, wait until they answer
#   stack test-config  configure tempest for the Bare Metal API
#   unstack            stop the services
#   clean              remove configuration, state and the binary
# Settings and their defaults are in devstack/settings.

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
    [[ -f $HOME/.cargo/env ]] && source "$HOME/.cargo/env"
    if _m2_rust_ok "$required"; then
        return
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
        source "$HOME/.cargo/env"
    fi
    _m2_rust_ok "$required" || die $LINENO "rustup did not provide Rust >= $required"
}

function install_m2 {
    if [[ -n $M2_PREBUILT_BINARY ]]; then
        [[ -x $M2_PREBUILT_BINARY ]] || die $LINENO "M2_PREBUILT_BINARY=$M2_PREBUILT_BINARY is not an executable"
        sudo install -m 0755 "$M2_PREBUILT_BINARY" "$M2_BIN"
    else
        install_rust_toolchain
        local target_subdir=$M2_CARGO_PROFILE
        [[ $M2_CARGO_PROFILE == dev ]] && target_subdir=debug
        (cd "$M2_DIR" && cargo build --locked --profile "$M2_CARGO_PROFILE" --bin m2) ||
            die $LINENO "building m2 failed"
        sudo install -m 0755 "$M2_DIR/target/$target_subdir/m2" "$M2_BIN"
    fi
    "$M2_BIN" --version || die $LINENO "$M2_BIN does not run"

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

function configure_m2 {
    sudo install -d -o "$STACK_USER" -m 0755 "$M2_CONF_DIR" "$M2_DATA_DIR"
    # m2 rejects options it does not know: start from an empty file each time.
    rm -f "$M2_CONF"
    touch "$M2_CONF"
    chmod 0640 "$M2_CONF"

    local debug=false
    [[ $ENABLE_DEBUG_LOG_LEVEL == True ]] && debug=true
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

    # API and conductor are separate processes: they need the message bus.
    if is_service_enabled m2-api && is_service_enabled m2-cond; then
        if ! is_service_enabled rabbit && [[ -z $RABBIT_HOST ]]; then
            die $LINENO "m2-api and m2-cond talk through RabbitMQ: enable the rabbit service"
        fi
        iniset "$M2_CONF" DEFAULT rpc_transport amqp
        iniset_rpc_backend m2 "$M2_CONF" DEFAULT
    fi

    iniset "$M2_CONF" api host_ip "$M2_LISTEN_ADDRESS"
    iniset "$M2_CONF" api port "$M2_SERVICE_PORT"
    iniset "$M2_CONF" api public_endpoint "$(m2_url)"

    iniset "$M2_CONF" conductor automated_clean "$(echo "$M2_AUTOMATED_CLEAN" | tr '[:upper:]' '[:lower:]')"
    if [[ -n $M2_CONDUCTOR_GROUP ]]; then
        iniset "$M2_CONF" conductor conductor_group "$M2_CONDUCTOR_GROUP"
    fi

    iniset "$M2_CONF" database connection "$(database_connection_url "$M2_DB_NAME")"

    if is_service_enabled key; then
        configure_keystone_authtoken_middleware "$M2_CONF" "$M2_KEYSTONE_USER"
    fi
}

# Service user, and the baremetal service with its endpoints in the catalog.
function create_m2_accounts {
    create_service_user "$M2_KEYSTONE_USER" "admin"
    get_or_create_service "$M2_KEYSTONE_SERVICE_NAME" baremetal "Bare Metal provisioning service (m2)"
    get_or_create_endpoint baremetal "$REGION_NAME" "$(m2_url)" "$(m2_url)" "$(m2_url)"
}

function init_m2 {
    if is_service_enabled mysql postgresql; then
        recreate_database "$M2_DB_NAME"
    fi
    "$M2_BIN" dbsync --config-file "$M2_CONF" || die $LINENO "m2 dbsync failed"
}

# --- extra ---------------------------------------------------------------------

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
    run_process m2-api "$M2_BIN api --config-file $M2_CONF"
    run_process m2-cond "$M2_BIN conductor --config-file $M2_CONF"

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
    iniset "$TEMPEST_CONFIG" baremetal_m2 hardware_type "$first_hw"
    iniset "$TEMPEST_CONFIG" baremetal_m2 deploy_timeout "$M2_TEMPEST_DEPLOY_TIMEOUT"
}

# --- unstack / clean -------------------------------------------------------------

function stop_m2 {
    stop_process m2-api
    stop_process m2-cond
}

function cleanup_m2 {
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
