#!/usr/bin/env bash
# Fault tests with figures (deploy/local/faults.py) on a fresh local cluster, stopped after.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
export CROSSBAR_CLUSTER_DIR="${CROSSBAR_CLUSTER_DIR:-$root/target/cluster-faults}"
cargo build -q -p crossbar-gateway --bin crossbar
deploy/local/cluster.sh stop >/dev/null 2>&1 || true
trap 'deploy/local/cluster.sh stop' EXIT
deploy/local/cluster.sh start >/dev/null
python3 deploy/local/faults.py "$CROSSBAR_CLUSTER_DIR/state.env"
