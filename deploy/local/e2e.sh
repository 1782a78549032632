#!/usr/bin/env bash
# The end-to-end suite (tests/, the same test code as the embedded run) against a local
# cluster started by deploy/local/cluster.sh: 2 replicas of every service on PostgreSQL
# and NATS JetStream, through the gateway. Starts the cluster, runs
# `cargo test -p crossbar-e2e` with CROSSBAR_E2E_CLUSTER set, prints pass/fail/skip
# counts, stops the cluster (also on failure). Extra arguments go to `cargo test`.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
export CROSSBAR_CLUSTER_DIR="${CROSSBAR_CLUSTER_DIR:-$root/target/cluster-e2e}"
# The harness logs in as the e2e master (tests/src/lib.rs: MASTER_NAME, ADMIN_PASSWORD).
export CROSSBAR_CLUSTER_MASTER_NAME="E2E Master" CROSSBAR_CLUSTER_MASTER_REALM=master.e2e.test
export CROSSBAR_CLUSTER_MASTER_USERNAME=admin CROSSBAR_CLUSTER_MASTER_PASSWORD=e2e-admin-secret
cargo build -q -p crossbar-gateway --bin crossbar
cargo test -q -p crossbar-e2e --no-run
deploy/local/cluster.sh stop >/dev/null 2>&1 || true
trap 'deploy/local/cluster.sh stop' EXIT
deploy/local/cluster.sh start
out="$CROSSBAR_CLUSTER_DIR/e2e-output.log"
skips="$CROSSBAR_CLUSTER_DIR/e2e-skipped.tsv"
: >"$skips"
start=$(date +%s)
rc=0
CROSSBAR_E2E_CLUSTER="$CROSSBAR_CLUSTER_DIR/state.env" CROSSBAR_E2E_SKIP_LOG="$skips" \
    cargo test -p crossbar-e2e --no-fail-fast "$@" >"$out" 2>&1 || rc=$?
sum() { grep -E '^test result:' "$out" | grep -oE "[0-9]+ $1" | awk '{s += $1} END {print s + 0}'; }
passed=$(sum passed)
failed=$(sum failed)
skipped=$(wc -l <"$skips")
grep -E '^test .* FAILED$' "$out" || true
echo "e2e on the cluster: $((passed - skipped)) passed, $failed failed, $skipped skipped (cluster mode) in $(( $(date +%s) - start )) s"
echo "  output: $out"
echo "  skipped: $skips"
[ "$rc" = 0 ] && [ "$failed" = 0 ]
