#!/usr/bin/env bash
# Authentication benchmark: GET /v1/nodes with cached Keystone tokens against
# noauth on the same data, and the latency of a token m2 has not seen yet.
# See benches/README.md.
#
#   benches/auth-bench.sh [--nodes N] [--duration S] [--rounds R] [--cold K]
#                         [--connections C] [--path /v1/nodes] [--m2-bin PATH]
#
# Needs wrk and the Keystone venv (scripts/install-test-deps.sh packages keystone);
# builds target/release/m2 when it is missing. Prints figures; exits non-zero only
# when a run could not be carried out.
set -Eeuo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KEYSTONE_VENV="${M2_TEST_KEYSTONE_VENV:-$REPO_DIR/.venv-keystone}"

command -v wrk >/dev/null || { echo "auth-bench: wrk is missing (apt-get install wrk)" >&2; exit 2; }
[[ -x $KEYSTONE_VENV/bin/python ]] ||
    { echo "auth-bench: no Keystone venv at $KEYSTONE_VENV (scripts/install-test-deps.sh keystone)" >&2; exit 2; }
if [[ " $* " != *" --m2-bin "* && ! -x $REPO_DIR/target/release/m2 ]]; then
    (cd "$REPO_DIR" && cargo build --release --bin m2)
fi
exec "$KEYSTONE_VENV/bin/python" "$REPO_DIR/benches/bench_auth.py" "$@"
