#!/usr/bin/env bash
# Builds m2 and runs it on its embedded default: API + conductor in one process,
# SQLite under ./m2-data (or $M2_DATA_DIR), noauth, fake-hardware, 127.0.0.1:6385.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

data_dir=${M2_DATA_DIR:-$PWD/m2-data}
port=${M2_PORT:-6385}

need=()
command -v cc >/dev/null || need+=(gcc)
command -v pkg-config >/dev/null || need+=(pkg-config)
if ((${#need[@]})); then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi
if ! command -v cargo >/dev/null; then
    echo "run-standalone.sh: cargo is required (https://rustup.rs)" >&2
    exit 1
fi

cargo build --release --locked --bin m2
mkdir -p "$data_dir"
conf="$data_dir/m2.conf"
if [[ ! -f $conf ]]; then
    cat >"$conf" <<CONF
[DEFAULT]
enabled_hardware_types = fake-hardware

[api]
host_ip = 127.0.0.1
port = $port
CONF
fi
exec target/release/m2 --config-file "$conf" standalone --data-dir "$data_dir"
