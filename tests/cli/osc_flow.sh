#!/usr/bin/env bash
# shellcheck disable=SC2016 # jq filters are single-quoted on purpose ($u... are jq variables)
# Drive a Bare Metal API endpoint with the real `openstack baremetal` CLI
# (python-openstackclient + python-ironicclient) through a fake-hardware
# node's whole life, checking every answer with jq.
#
# Usage:
#   tests/cli/osc_flow.sh ENDPOINT [VENV]
#     ENDPOINT  API root without authentication, e.g. http://127.0.0.1:6385
#     VENV      virtualenv holding `openstack` (default: $M2_TEST_VENV, else
#               <repo>/.venv)
#
# Environment:
#   OSC_FLOW_TIMEOUT=60                    seconds for each --wait
#   OSC_FLOW_API_VERSION=latest            --os-baremetal-api-version
#   OSC_FLOW_REQUIRE_CONDUCTOR_ALIVE=1     fail unless a conductor reports alive
#
# python-ironicclient retries every HTTP 409 for ten seconds, so conflicts are
# not provoked here (sdk_nova_flow.py and the HTTP tests cover them).
#
# Stops at the first mismatch with a message naming the step and exits 1;
# on success the last line on stdout is a JSON summary.
set -euo pipefail

die() {
    printf 'osc_flow: FAILED at step "%s": %s\n' "$STEP" "$*" >&2
    exit 1
}

[[ $# -ge 1 && $# -le 2 ]] || { sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
ENDPOINT=${1%/}
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV=${2:-${M2_TEST_VENV:-$REPO_ROOT/.venv}}
TIMEOUT=${OSC_FLOW_TIMEOUT:-60}
API_VERSION=${OSC_FLOW_API_VERSION:-latest}
REQUIRE_ALIVE=${OSC_FLOW_REQUIRE_CONDUCTOR_ALIVE:-1}
OPENSTACK="$VENV/bin/openstack"
STEP=setup
CHECKS=0
START=$SECONDS

[[ -x $OPENSTACK ]] || die "$OPENSTACK not found (run scripts/install-test-deps.sh)"
command -v jq >/dev/null || die "jq not found"

# Only the command line decides where the CLI goes: drop the caller's OS_*.
while read -r var; do unset "$var"; done < <(compgen -e | grep '^OS_' || true)

# Every CLI call; stderr is kept so that a failure can show it.
ERR=$(mktemp)
NODE=""
cleanup() {
    local rc=$?
    if [[ $rc -ne 0 && -n $NODE ]]; then
        # Leave nothing behind: maintenance allows deleting a node in any state.
        "$OPENSTACK" --os-auth-type none --os-endpoint "$ENDPOINT" \
            baremetal node maintenance set "$NODE" --reason "osc_flow cleanup" >/dev/null 2>&1 || true
        "$OPENSTACK" --os-auth-type none --os-endpoint "$ENDPOINT" \
            baremetal node delete "$NODE" >/dev/null 2>&1 || true
    fi
    rm -f "$ERR"
}
trap cleanup EXIT

bm() {
    if ! "$OPENSTACK" --os-auth-type none --os-endpoint "$ENDPOINT" \
        --os-baremetal-api-version "$API_VERSION" baremetal "$@" 2>"$ERR"; then
        die "'openstack baremetal $*' failed: $(tr '\n' ' ' <"$ERR")"
    fi
}

# bm_fails ARGS...: the command must exit non-zero.
bm_fails() {
    if "$OPENSTACK" --os-auth-type none --os-endpoint "$ENDPOINT" \
        --os-baremetal-api-version "$API_VERSION" baremetal "$@" >/dev/null 2>"$ERR"; then
        die "'openstack baremetal $*' succeeded; it should have failed"
    fi
    CHECKS=$((CHECKS + 1))
}

# expect JSON JQ_FILTER DESCRIPTION [jq args...]: the filter must yield true.
expect() {
    local json=$1 filter=$2 what=$3
    shift 3
    local got
    if ! got=$(jq -e "$@" "$filter" <<<"$json" 2>&1) || [[ $got != true ]]; then
        die "$what: '$filter' is not true for: $(jq -c . <<<"$json" 2>/dev/null || echo "$json")"
    fi
    CHECKS=$((CHECKS + 1))
}

STEP_START=$SECONDS
step() {
    [[ $STEP == setup ]] || printf 'osc_flow: %-24s ok (%ss)\n' "$STEP" $((SECONDS - STEP_START)) >&2
    STEP=$1
    STEP_START=$SECONDS
}

# --- drivers and conductors --------------------------------------------------
step "driver list"
json=$(bm driver list -f json)
expect "$json" 'any(.[]; .name == "fake-hardware")' "fake-hardware in driver list"

step "driver show"
json=$(bm driver show fake-hardware -f json)
expect "$json" '.name == "fake-hardware"' "driver name"
expect "$json" '(.hosts | length) > 0' "driver has conductor hosts"
expect "$json" '.default_deploy_interface | type == "string" and length > 0' "driver default deploy interface"

step "conductor list"
json=$(bm conductor list -f json)
expect "$json" 'length > 0 and all(.[]; (.hostname | type == "string") and (.hostname | length > 0))' "conductors with hostnames"
if [[ $REQUIRE_ALIVE == 1 ]]; then
    expect "$json" 'any(.[]; .alive == true)' "a live conductor"
fi

# --- enrolment and fields -----------------------------------------------------
NAME="osc-flow-$(date +%s)-$$"
step "node create"
json=$(bm node create --driver fake-hardware --name "$NAME" -f json)
NODE=$(jq -r .uuid <<<"$json")
expect "$json" '.uuid | test("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")' "node uuid"
expect "$json" '.name == $n and .driver == "fake-hardware"' "node name and driver" --arg n "$NAME"
expect "$json" '.provision_state == "enroll"' "new node provision_state"
expect "$json" '.maintenance == false and .instance_uuid == null' "new node maintenance and instance"

step "node list --long"
json=$(bm node list --long -f json)
expect "$json" 'map(select(.uuid == $u)) | length == 1' "node listed once" --arg u "$NODE"
expect "$json" '.[] | select(.uuid == $u) | .name == $n and .driver == "fake-hardware" and .provision_state == "enroll"' \
    "listed node fields" --arg u "$NODE" --arg n "$NAME"

step "node list"
json=$(bm node list -f json)
expect "$json" 'any(.[]; .uuid == $u and .name == $n and .provision_state == "enroll" and .maintenance == false)' \
    "short node list row" --arg u "$NODE" --arg n "$NAME"

step "node show"
json=$(bm node show "$NAME" -f json)
expect "$json" '.uuid == $u and .name == $n' "node show by name" --arg u "$NODE" --arg n "$NAME"
json=$(bm node show "$NODE" --fields uuid provision_state -f json)
expect "$json" '(keys | sort) == ["provision_state", "uuid"]' "node show --fields"
bm_fails node show "osc-flow-no-such-node-$$"

step "node set"
bm node set "$NAME" --property cpus=4 --property memory_mb=8192 --property cpu_arch=x86_64 \
    --extra rack=r1 --extra owner_ref=ops \
    --driver-info ipmi_address=127.0.0.1 --driver-info ipmi_username=admin \
    --driver-info ipmi_password=secret --description "osc flow node"
json=$(bm node show "$NAME" -f json)
expect "$json" '(.properties.cpus | tostring) == "4" and (.properties.memory_mb | tostring) == "8192" and .properties.cpu_arch == "x86_64"' "properties set"
expect "$json" '.extra == {"rack": "r1", "owner_ref": "ops"}' "extra set"
expect "$json" '.driver_info.ipmi_address == "127.0.0.1" and .driver_info.ipmi_username == "admin"' "driver_info set"
expect "$json" '.driver_info.ipmi_password == "******"' "ipmi_password masked"
expect "$json" '.description == "osc flow node"' "description set"

step "node unset"
bm node unset "$NAME" --property memory_mb --extra owner_ref --driver-info ipmi_username --description
json=$(bm node show "$NAME" -f json)
expect "$json" '.properties | has("memory_mb") | not' "property removed"
expect "$json" '(.properties.cpus | tostring) == "4"' "other property kept"
expect "$json" '.extra == {"rack": "r1"}' "extra removed"
expect "$json" '.driver_info | has("ipmi_username") | not' "driver_info key removed"
expect "$json" '.driver_info.ipmi_password == "******"' "ipmi_password still masked"
expect "$json" '.description == null' "description removed"

# --- ports ------------------------------------------------------------------
MAC=$(printf '52:54:00:%02x:%02x:%02x' $((RANDOM % 256)) $((RANDOM % 256)) $((RANDOM % 256)))
step "port create"
json=$(bm port create "$MAC" --node "$NODE" -f json)
PORT=$(jq -r .uuid <<<"$json")
expect "$json" '.address == $m and .node_uuid == $u' "port address and node" --arg m "$MAC" --arg u "$NODE"

step "port list"
json=$(bm port list --node "$NODE" -f json)
expect "$json" 'length == 1 and .[0].uuid == $p and .[0].address == $m' "ports of node" --arg p "$PORT" --arg m "$MAC"
json=$(bm port list --long -f json)
expect "$json" 'any(.[]; .uuid == $p and .node_uuid == $u and .address == $m)' "port in long list" --arg p "$PORT" --arg u "$NODE" --arg m "$MAC"

# --- provisioning -------------------------------------------------------------
show_state() { bm node show "$NODE" --fields provision_state target_provision_state power_state maintenance last_error -f json; }

step "node manage"
bm node manage "$NAME" --wait "$TIMEOUT" >&2
expect "$(show_state)" '.provision_state == "manageable" and .target_provision_state == null' "manageable"

step "node provide"
bm node provide "$NAME" --wait "$TIMEOUT" >&2
expect "$(show_state)" '.provision_state == "available" and .last_error == null' "available"

step "node validate"
json=$(bm node validate "$NAME" -f json)
for iface in boot deploy power management; do
    expect "$json" 'any(.[]; .Interface == $i and .Result == true)' "$iface interface valid" --arg i "$iface"
done

step "node deploy"
bm node deploy "$NAME" --config-drive '{"meta_data": {"hostname": "osc-flow"}, "user_data": "#cloud-config\n"}' --wait "$TIMEOUT" >&2
json=$(show_state)
expect "$json" '.provision_state == "active" and .target_provision_state == null and .last_error == null' "active"

step "node power off"
bm node power off "$NAME" --power-timeout "$TIMEOUT"
expect "$(show_state)" '.power_state == "power off" and .target_power_state == null' "powered off"

step "node power on"
bm node power on "$NAME" --power-timeout "$TIMEOUT"
expect "$(show_state)" '.power_state == "power on" and .target_power_state == null' "powered on"

step "node maintenance set"
bm node maintenance set "$NAME" --reason "osc flow check"
json=$(bm node show "$NODE" -f json)
expect "$json" '.maintenance == true and .maintenance_reason == "osc flow check"' "maintenance on with reason"

step "node maintenance unset"
bm node maintenance unset "$NAME"
json=$(bm node show "$NODE" -f json)
expect "$json" '.maintenance == false and .maintenance_reason == null' "maintenance off"

step "node undeploy"
bm node undeploy "$NAME" --wait "$TIMEOUT" >&2
json=$(bm node show "$NODE" -f json)
expect "$json" '.provision_state == "available" and .instance_uuid == null and .last_error == null' "available after undeploy"

# --- removal ------------------------------------------------------------------
step "node delete"
bm node delete "$NAME" >/dev/null
bm_fails node show "$NODE"
bm_fails port show "$PORT"
json=$(bm node list -f json)
expect "$json" 'all(.[]; .uuid != $u)' "node gone from list" --arg u "$NODE"
NODE=""

step "done"
jq -cn --arg ep "$ENDPOINT" --argjson checks "$CHECKS" --argjson s "$((SECONDS - START))" \
    --arg v "$("$OPENSTACK" --version 2>&1)" \
    '{result: "ok", endpoint: $ep, checks: $checks, seconds: $s, client: $v}'
