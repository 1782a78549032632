#!/usr/bin/env bash
# Load run against the embedded server (release build, SQLite), from a second process
# on loopback with wrk. Prints requests/s and latency for:
#   1. GET /v2/accounts/{A}             (token verification + tree check + read)
#   2. GET /v2/accounts/{A}/users       (listing, page of 50)
#   3. PUT /v2/accounts/{A}/devices     (validated write + outbox event)
#   4. PUT /v2/user_auth                (login: Argon2id)
# Then the same GET and PUT through `crossbar gateway` in front of the server, for the
# cost of the extra hop.
# Usage: scripts/load.sh [seconds per run, default 10] [connections, default 32]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
secs="${1:-10}"
conns="${2:-32}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
[ -x target/release/crossbar ] || cargo build --release
work="$(mktemp -d /tmp/crossbar-load.XXXXXX)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
export CROSSBAR_DATA_DIR="$work/data" CROSSBAR_LISTEN="127.0.0.1:$port" RUST_LOG=warn
password="load-$(date +%s)"
account_id="$(target/release/crossbar create-account --name "Load Master" --realm load.example.com \
    --username admin --password "$password" | python3 -c 'import json,sys; print(json.load(sys.stdin)["account_id"])')"
target/release/crossbar serve >"$work/server.log" 2>&1 &
pid=$!
gw_pid=""
trap 'kill $pid $gw_pid 2>/dev/null; wait $pid $gw_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
creds="$(printf 'admin:%s' "$password" | md5sum | cut -d' ' -f1)"
login_body="{\"data\":{\"credentials\":\"$creds\",\"account_name\":\"Load Master\"}}"
token="$(curl -fs -X PUT "http://127.0.0.1:$port/v2/user_auth" -d "$login_body" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["auth_token"])')"
base="http://127.0.0.1:$port/v2/accounts/$account_id"
for i in $(seq 1 60); do
    curl -fs -X PUT -H "X-Auth-Token: $token" "$base/users" \
        -d "{\"data\":{\"first_name\":\"U$i\",\"last_name\":\"Load\"}}" >/dev/null
done
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
cat >"$work/login.lua" <<LUA
wrk.method = "PUT"
wrk.body = '$login_body'
LUA
run() {
    echo "== $1"
    shift
    wrk -t2 -c"$conns" -d"${secs}s" --latency "$@" | grep -E "Requests/sec|Latency|50%|99%|Non-2xx|Socket errors"
}
run "GET account" -H "X-Auth-Token: $token" "$base"
run "GET users (page of 50)" -H "X-Auth-Token: $token" "$base/users"
run "PUT device" -s "$work/put.lua" "$base/devices"
run "PUT user_auth (Argon2id; the throttle is per address, failures only)" -c4 -s "$work/login.lua" "http://127.0.0.1:$port/v2/user_auth"
echo "== server RSS after the runs: $(ps -o rss= -p $pid | awk '{printf "%.1f MiB", $1/1024}')"

gw_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
CROSSBAR_LISTEN="127.0.0.1:$gw_port" CROSSBAR_UPSTREAMS="{all=[\"http://127.0.0.1:$port\"]}" \
    target/release/crossbar gateway >"$work/gateway.log" 2>&1 &
gw_pid=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$gw_port/readyz" >/dev/null && break; sleep 0.2; done
gw_base="http://127.0.0.1:$gw_port/v2/accounts/$account_id"
run "through the gateway: GET account" -H "X-Auth-Token: $token" "$gw_base"
run "through the gateway: PUT device" -s "$work/put.lua" "$gw_base/devices"
echo "== gateway RSS after the runs: $(ps -o rss= -p $gw_pid | awk '{printf "%.1f MiB", $1/1024}')"
