#!/usr/bin/env bash
# The whole test suite: unit, HTTP and end-to-end tests (on SQLite and on a private
# PostgreSQL it starts and stops itself), then the published Python Kazoo clients
# against a running server.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

pg_bin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

if [ -z "$(pg_bin)" ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
        echo "== installing PostgreSQL (Debian packages)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    else
        echo "PostgreSQL is not installed: apt-get install postgresql" >&2
        exit 1
    fi
fi

# nats-server (JetStream): the NATS bus tests (crates/events/tests/nats.rs) start
# their own servers from this binary; they fail without it (CROSSBAR_SKIP_NATS=1 skips).
if ! command -v nats-server >/dev/null && [ ! -x /usr/sbin/nats-server ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
        echo "== installing nats-server (Debian package)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
    else
        echo "nats-server is not installed: apt-get install nats-server" >&2
        exit 1
    fi
fi

# A private PostgreSQL on a free port, owned by this run.
PG_BIN="$(pg_bin)"
pg_dir="$(mktemp -d /tmp/crossbar-pg.XXXXXX)"
pg_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
as_pg() {
    if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ "$(id -u)" = "0" ]; then chown postgres "$pg_dir"; fi
stop_pg() {
    as_pg "$PG_BIN/pg_ctl" -D "$pg_dir/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
}
trap stop_pg EXIT
as_pg "$PG_BIN/initdb" -D "$pg_dir/data" -A trust -U crossbar >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
    -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off" start >/dev/null
as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$pg_port" -U crossbar crossbar_test
pg_url="postgres://crossbar@127.0.0.1:$pg_port/crossbar_test"
echo "== PostgreSQL ready on port $pg_port"

# Every end-to-end server logs here (debug level); checked for leaked secrets below.
test_log="$pg_dir/e2e-log.jsonl"
echo "== cargo test (SQLite)"
CROSSBAR_TEST_LOG="$test_log" cargo test --workspace --no-fail-fast

echo "== end-to-end tests on PostgreSQL"
# `--workspace` keeps the feature set of the first run, so nothing is compiled again
# (`-p crossbar-e2e` alone would rebuild dependencies with other features).
CROSSBAR_TEST_DATABASE_URL="$pg_url" CROSSBAR_TEST_LOG="$test_log" cargo test --workspace --no-fail-fast --test '*'

echo "== the logs of those runs hold no passwords, credentials, tokens or API keys"
# The checker itself must catch a planted leak of each kind.
planted="$pg_dir/planted.log"
for leak in "e2e-admin-secret" "$(printf 'admin:e2e-admin-secret' | md5sum | cut -c1-32)" \
    "eyJhbGciOiJFZERTQSJ9.eyJhY2NvdW50X2lkIjoiYSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ" \
    "$(printf 'a%.0s' $(seq 64) | tr a 0)"; do
    printf '{"msg":"%s"}\n' "$leak" >"$planted"
    if python3 scripts/check_logs.py --sources tests --user admin "$planted" >/dev/null; then
        echo "check_logs.py missed a planted leak: $leak" >&2
        exit 1
    fi
done
python3 scripts/check_logs.py --sources tests --sources crates --user admin "$test_log"

echo "== Python Kazoo clients (kazoo-sdk, pykazoo) against a running server"
cargo build --workspace --bins
CROSSBAR_BIN=target/debug/crossbar tests/compat/run.sh

echo "== OpenAPI document: valid 3.1, and schemathesis over every operation (no 5xx, no schema breaks)"
CROSSBAR_BIN=target/debug/crossbar tests/api/run.sh

echo "== the same end-to-end suite against a local cluster (PostgreSQL, NATS JetStream, 2 replicas of every service, the gateway)"
deploy/local/e2e.sh

echo "== fault tests on a local cluster: replica stopped and killed under load, NATS down 10 s while writing, PostgreSQL restarted"
deploy/local/faults.sh

echo "== deploy/: kustomize overlays rendered, checked with checkov and hadolint"
deploy/check.sh
