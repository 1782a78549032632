#!/usr/bin/env bash
# Load run through the gateway of a local cluster (deploy/local/cluster.sh, release
# binary), with wrk: an authenticated GET served by the accounts service, a write (PUT
# device), and a GET served by the callflows service (a process without the accounts
# service: it checks the caller's and the target's account in its own projection).
# Starts the cluster, prints req/s and latency, stops it.
# Usage: deploy/local/load.sh [seconds per run, default 8] [connections, default 32]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
secs="${1:-8}"
conns="${2:-32}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
cargo build -q --release -p crossbar-gateway --bin crossbar
export CROSSBAR_CLUSTER_DIR="${CROSSBAR_CLUSTER_DIR:-$root/target/cluster-load}"
export CROSSBAR_BIN="$root/target/release/crossbar" RUST_LOG=warn
deploy/local/cluster.sh stop >/dev/null 2>&1 || true
trap 'deploy/local/cluster.sh stop >/dev/null' EXIT
deploy/local/cluster.sh start >/dev/null
# shellcheck disable=SC1091
. "$CROSSBAR_CLUSTER_DIR/state.env"
creds="$(printf '%s:%s' "$MASTER_USERNAME" "$MASTER_PASSWORD" | md5sum | cut -d' ' -f1)"
token="$(curl -fs -X PUT "$GATEWAY_URL/v2/user_auth" \
    -d "{\"data\":{\"credentials\":\"$creds\",\"account_name\":\"$MASTER_NAME\"}}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["auth_token"])')"
account="$(curl -fs -X PUT -H "X-Auth-Token: $token" "$GATEWAY_URL/v2/accounts/$MASTER_ID" \
    -d '{"data":{"name":"Load Co"}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["id"])')"
base="$GATEWAY_URL/v2/accounts/$account"
for i in $(seq 1 20); do
    curl -fs -X PUT -H "X-Auth-Token: $token" "$base/callflows" \
        -d "{\"data\":{\"name\":\"cf $i\",\"numbers\":[\"$((1000 + i))\"],\"flow\":{\"module\":\"hangup\",\"data\":{}}}}" >/dev/null
done
work="$CROSSBAR_CLUSTER_DIR/load"
mkdir -p "$work"
cat >"$work/put.lua" <<LUA
wrk.method = "PUT"
wrk.headers["X-Auth-Token"] = "$token"
wrk.headers["Content-Type"] = "application/json"
counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil, '{"data":{"name":"device ' .. counter .. '-' .. math.random(1e9) .. '"}}')
end
LUA
run() {
    echo "== $1"
    shift
    wrk -t2 -c"$conns" -d"${secs}s" --latency "$@" | grep -E "Requests/sec|Latency|50%|99%|Non-2xx|Socket errors"
}
run "cluster: GET account (accounts service)" -H "X-Auth-Token: $token" "$base"
run "cluster: PUT device (accounts service, PostgreSQL, outbox)" -s "$work/put.lua" "$base/devices"
run "cluster: GET callflows (callflows service, accounts from its projection)" -H "X-Auth-Token: $token" "$base/callflows"
echo "== gateway RSS after the runs: $(ps -o rss= -p "$GATEWAY_PID" | awk '{printf "%.1f MiB", $1/1024}')"
