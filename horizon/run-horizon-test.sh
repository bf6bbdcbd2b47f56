#!/usr/bin/env bash
# Horizon with the ironic-ui panel against m2, in a real headless Chromium:
# logs in to Horizon as Keystone's admin, lists m2's nodes, opens one, runs a
# provision action and a maintenance action from the UI and checks them
# through m2's API. Keystone, m2 and Horizon run on free ports of 127.0.0.1.
#
#   horizon/run-horizon-test.sh                # the whole test
#   horizon/run-horizon-test.sh --keep         # keep the work directory (logs)
#   horizon/run-horizon-test.sh --setup-only   # only prepare the Horizon venv
#
# Needs Debian's chromium and chromium-driver, Keystone in .venv-keystone
# (scripts/install-test-deps.sh keystone horizon installs both) and an m2
# binary: M2_BIN, else target/debug/m2, else target/release/m2. Creates the
# Horizon venv (M2_TEST_HORIZON_VENV, default <repo>/.venv-horizon) from
# horizon/requirements.txt when it is missing or its pins changed. Screenshots
# go to $M2_TEST_ARTIFACTS/horizon/, else target/horizon/. See horizon/README.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/.." && pwd)"
HORIZON_VENV="${M2_TEST_HORIZON_VENV:-$REPO_ROOT/.venv-horizon}"
REQUIREMENTS="$HERE/requirements.txt"
PINS_COPY="$HORIZON_VENV/m2-horizon-requirements.txt"
VERSIONS="$HORIZON_VENV/m2-horizon-versions.txt"

log() { printf '[horizon-test] %s\n' "$*" >&2; }

venv_ok() {
    [[ -x $HORIZON_VENV/bin/python ]] &&
        cmp -s "$REQUIREMENTS" "$PINS_COPY" && [[ -f $VERSIONS ]] &&
        "$HORIZON_VENV/bin/python" -c 'import openstack_dashboard, ironic_ui, selenium' 2>/dev/null
}

if ! venv_ok; then
    py=$(command -v python3 || true)
    [[ -n $py ]] || { log "python3 not found"; exit 2; }
    if [[ ! -x $HORIZON_VENV/bin/python ]]; then
        log "creating the Horizon venv at $HORIZON_VENV with $py"
        "$py" -m venv "$HORIZON_VENV"
    fi
    log "installing $REQUIREMENTS into $HORIZON_VENV"
    "$HORIZON_VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
    "$HORIZON_VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQUIREMENTS"
    cp "$REQUIREMENTS" "$PINS_COPY"
    "$HORIZON_VENV/bin/python" -c '
from importlib.metadata import version
for dist in ("horizon", "ironic-ui", "Django", "selenium"):
    print(dist, version(dist))' >"$VERSIONS"
    venv_ok || { log "the venv at $HORIZON_VENV does not import horizon, ironic_ui and selenium"; exit 2; }
fi

exec "$HORIZON_VENV/bin/python" "$HERE/horizon_test.py" "$@"
