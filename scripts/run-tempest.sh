#!/usr/bin/env bash
# Runs Ironic's tempest API tests (ironic-tempest-plugin) and m2's own tempest
# tests (tempest/) against m2 with a real Keystone, all on 127.0.0.1.
#
#   scripts/run-tempest.sh                 # both suites
#   scripts/run-tempest.sh --suite ironic  # only Ironic's API tests
#   scripts/run-tempest.sh --suite m2      # only m2's tests
#   scripts/run-tempest.sh --help          # every option
#
# Needs scripts/install-test-deps.sh keystone tempest (the venvs .venv-keystone
# and .venv-tempest) and an m2 binary: M2_BIN, else target/debug/m2, else
# target/release/m2. The work lives in scripts/run_tempest.py; this wrapper
# only picks the Python of the tempest venv.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TEMPEST_VENV="${M2_TEST_TEMPEST_VENV:-$REPO_ROOT/.venv-tempest}"

if [[ ! -x $TEMPEST_VENV/bin/tempest ]]; then
    echo "run-tempest: no tempest in $TEMPEST_VENV (scripts/install-test-deps.sh tempest)" >&2
    exit 2
fi
exec "$TEMPEST_VENV/bin/python" "$REPO_ROOT/scripts/run_tempest.py" "$@"
