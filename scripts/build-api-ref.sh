#!/usr/bin/env bash
# Builds the static HTML API reference: api-ref/build/index.html (self-contained, reads
# offline) from api-ref/openapi.json, the prose of api-ref/README.md and the examples in
# api-ref/examples/. Needs only python3. Options: --out DIR (default api-ref/build),
# --src DIR (default api-ref).
#
# The inputs are kept current by the tests (tests/api_ref.rs): after changing the API,
#   cargo build && target/debug/m2 openapi > api-ref/openapi.json
#   M2_UPDATE_API_REF=1 cargo nextest run --test api_ref examples
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v python3 >/dev/null; then
    echo "build-api-ref.sh: python3 is required" >&2
    exit 1
fi
exec python3 scripts/build_api_ref.py "$@"
