#!/usr/bin/env bash
# A local distributed crossbar on loopback ports: a private PostgreSQL and nats-server
# (JetStream), `crossbar migrate`, the master account, 2 replicas of every service
# (`crossbar serve --services <name>`) and `crossbar gateway` in front of them.
#
#   deploy/local/cluster.sh start     # prints the gateway URL and the master login
#   deploy/local/cluster.sh status
#   deploy/local/cluster.sh stop      # stops every process by its own PID
#
# Fault injection (used by deploy/local/faults.sh):
#   cluster.sh kill-replica SERVICE N   # kill -9 replica N (1 or 2) of SERVICE
#   cluster.sh stop-replica SERVICE N   # SIGTERM (drain, then stop), waits for the exit
#   cluster.sh start-replica SERVICE N  # start it again on its port
#   cluster.sh nats-stop | nats-start   # stop/start nats-server (same port and store)
#   cluster.sh pg-stop | pg-start       # stop/start PostgreSQL (same port and data)
#
# Environment:
#   CROSSBAR_CLUSTER_DIR   run dir (default target/cluster): state.env, logs/, nats/, data/
#   CROSSBAR_BIN           the crossbar binary (default target/debug/crossbar, built if missing)
#   CROSSBAR_CLUSTER_REPLICAS          replicas per service (default 2)
#   CROSSBAR_CLUSTER_MASTER_NAME / _REALM / _USERNAME / _PASSWORD
#                          the master account to bootstrap (password random by default)
#
# The state file ($CROSSBAR_CLUSTER_DIR/state.env, shell syntax KEY='value') holds ports,
# PIDs, URLs and the master credentials; tests read it through CROSSBAR_E2E_CLUSTER.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
run="${CROSSBAR_CLUSTER_DIR:-$root/target/cluster}"
state="$run/state.env"
services=(auth accounts office_hours numbers callflows)

log() { echo "cluster: $*" >&2; }
die() { log "$*"; exit 1; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

pg_bin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

nats_bin() {
    command -v nats-server 2>/dev/null || { [ -x /usr/sbin/nats-server ] && echo /usr/sbin/nats-server; } || true
}

install_deps() {
    local missing=()
    [ -n "$(pg_bin)" ] || missing+=(postgresql)
    [ -n "$(nats_bin)" ] || missing+=(nats-server)
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
        log "installing ${missing[*]} (Debian packages)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        die "missing ${missing[*]}: apt-get install ${missing[*]} (as root)"
    fi
}

as_pg() {
    if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Appends/replaces KEY='value' in the state file.
set_state() {
    local key="$1" value="$2" tmp
    tmp="$(mktemp "$run/.state.XXXXXX")"
    if [ -f "$state" ]; then grep -v "^$key=" "$state" >"$tmp" || true; fi
    printf "%s='%s'\n" "$key" "$value" >>"$tmp"
    mv "$tmp" "$state"
}

load_state() {
    [ -f "$state" ] || die "no cluster state at $state (start it first)"
    # shellcheck disable=SC1090
    . "$state"
}

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# Stops one PID: TERM (or the signal given), up to 10 s, then KILL.
stop_pid() {
    local pid="$1" sig="${2:-TERM}" i
    alive "$pid" || return 0
    kill -"$sig" "$pid" 2>/dev/null || true
    for i in $(seq 100); do
        alive "$pid" || return 0
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
}

wait_http() { # URL seconds
    local url="$1" secs="$2" i
    for i in $(seq $((secs * 10))); do
        if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    return 1
}

wait_port() { # port seconds
    local port="$1" secs="$2" i
    for i in $(seq $((secs * 10))); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    return 1
}

crossbar_env() {
    # The environment of every crossbar process of the cluster.
    export CROSSBAR_DATABASE_URL="$PG_URL" CROSSBAR_NATS_URL="$NATS_URL"
    export CROSSBAR_LOG_FORMAT="${CROSSBAR_LOG_FORMAT:-text}"
    export RUST_LOG="${RUST_LOG:-info}"
}

start_nats() {
    load_state
    alive "${NATS_PID:-}" && { log "nats-server already running ($NATS_PID)"; return 0; }
    nohup "$NATS_BIN" -js -sd "$run/nats" -a 127.0.0.1 -p "$NATS_PORT" -n crossbar-local \
        </dev/null >>"$run/logs/nats.log" 2>&1 &
    set_state NATS_PID "$!"
    wait_port "$NATS_PORT" 20 || die "nats-server did not start (see $run/logs/nats.log)"
}

stop_nats() {
    load_state
    stop_pid "${NATS_PID:-}"
}

pg_pid() { head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null || true; }

start_pg() {
    load_state
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/postgres.log" -w -t 60 \
        -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=500 -c fsync=off" \
        start >/dev/null
    set_state PG_PID "$(pg_pid)"
}

stop_pg() {
    load_state
    if [ -f "$PG_DATA/postmaster.pid" ]; then
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 || stop_pid "${PG_PID:-}"
    fi
}

start_replica() { # service n
    load_state
    local svc="$1" n="$2" port_var pid_var port
    port_var="PORT_${svc^^}_$n"
    pid_var="PID_${svc^^}_$n"
    port="${!port_var:?unknown replica $svc $n}"
    alive "${!pid_var:-}" && { log "$svc#$n already running"; return 0; }
    (
        crossbar_env
        export CROSSBAR_LISTEN="127.0.0.1:$port" CROSSBAR_DATA_DIR="$run/data/$svc-$n"
        mkdir -p "$CROSSBAR_DATA_DIR"
        nohup "$CROSSBAR_BIN" serve --services "$svc" </dev/null >>"$run/logs/$svc-$n.log" 2>&1 &
        echo $! >"$run/.pid"
    )
    set_state "$pid_var" "$(cat "$run/.pid")"
}

kill_replica() { # service n: kill -9
    load_state
    local pid_var="PID_${1^^}_$2"
    local pid="${!pid_var:?unknown replica $1 $2}"
    kill -9 "$pid" 2>/dev/null || true
    echo "$pid"
}

stop_replica() { # service n: SIGTERM, as Kubernetes does; waits until it is gone
    load_state
    local pid_var="PID_${1^^}_$2"
    local pid="${!pid_var:?unknown replica $1 $2}" i
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 300); do
        alive "$pid" || break
        sleep 0.1
    done
    echo "$pid"
}

cmd_start() {
    if [ -f "$state" ]; then
        # shellcheck disable=SC1090
        (. "$state"; alive "${GATEWAY_PID:-}") && die "already running (state $state); stop it first"
        rm -f "$state"
    fi
    install_deps
    local bin="${CROSSBAR_BIN:-$root/target/debug/crossbar}"
    if [ ! -x "$bin" ]; then
        log "building the crossbar binary"
        (cd "$root" && cargo build -q -p crossbar-gateway --bin crossbar)
    fi
    bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
    # A fresh cluster each time: no JetStream store or logs from an earlier one.
    rm -rf "$run/logs" "$run/nats" "$run/data"
    mkdir -p "$run/logs" "$run/nats" "$run/data"
    : >"$state"
    set_state CLUSTER_DIR "$run"
    set_state CROSSBAR_BIN "$bin"
    local replicas="${CROSSBAR_CLUSTER_REPLICAS:-2}"
    set_state REPLICAS "$replicas"

    # PostgreSQL: its data dir must be reachable by the postgres user when run as root.
    local pg_dir
    pg_dir="$(mktemp -d /tmp/crossbar-cluster-pg.XXXXXX)"
    if [ "$(id -u)" = "0" ]; then chown postgres "$pg_dir"; fi
    local pg_port
    pg_port="$(free_port)"
    set_state PG_BIN "$(pg_bin)"
    set_state PG_DIR "$pg_dir"
    set_state PG_DATA "$pg_dir/data"
    set_state PG_PORT "$pg_port"
    set_state PG_URL "postgres://crossbar@127.0.0.1:$pg_port/crossbar"
    load_state
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -A trust -U crossbar >"$run/logs/initdb.log" 2>&1
    ln -sf "$PG_DIR/postgres.log" "$run/logs/postgres.log"
    start_pg
    as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U crossbar crossbar
    log "PostgreSQL on 127.0.0.1:$PG_PORT (pid $(pg_pid))"

    set_state NATS_BIN "$(nats_bin)"
    set_state NATS_PORT "$(free_port)"
    load_state
    set_state NATS_URL "nats://127.0.0.1:$NATS_PORT"
    start_nats
    load_state
    log "nats-server (JetStream) on $NATS_URL (pid $NATS_PID)"

    (crossbar_env; "$CROSSBAR_BIN" migrate >"$run/logs/migrate.log" 2>&1) \
        || die "crossbar migrate failed (see $run/logs/migrate.log)"

    local name="${CROSSBAR_CLUSTER_MASTER_NAME:-Master Account}"
    local realm="${CROSSBAR_CLUSTER_MASTER_REALM:-master.local.crossbar}"
    local user="${CROSSBAR_CLUSTER_MASTER_USERNAME:-admin}"
    local password="${CROSSBAR_CLUSTER_MASTER_PASSWORD:-$(python3 -c 'import secrets; print(secrets.token_hex(12))')}"
    local created
    created="$(crossbar_env; CROSSBAR_SERVICES=accounts CROSSBAR_DATA_DIR="$run/data/bootstrap" \
        "$CROSSBAR_BIN" create-account --name "$name" --realm "$realm" --username "$user" \
        --password "$password" 2>"$run/logs/create-account.log")" \
        || die "create-account failed (see $run/logs/create-account.log)"
    set_state MASTER_ID "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["account_id"])' "$created")"
    set_state MASTER_NAME "$name"
    set_state MASTER_REALM "$realm"
    set_state MASTER_USERNAME "$user"
    set_state MASTER_PASSWORD "$password"
    chmod 600 "$state"

    local svc n upstreams="" list
    for svc in "${services[@]}"; do
        list=""
        for n in $(seq "$replicas"); do
            port="$(free_port)"
            set_state "PORT_${svc^^}_$n" "$port"
            list="$list${list:+,}\"http://127.0.0.1:$port\""
        done
        upstreams="$upstreams${upstreams:+, }$svc=[$list]"
    done
    for svc in "${services[@]}"; do
        for n in $(seq "$replicas"); do start_replica "$svc" "$n"; done
    done
    load_state
    for svc in "${services[@]}"; do
        for n in $(seq "$replicas"); do
            port_var="PORT_${svc^^}_$n"
            wait_http "http://127.0.0.1:${!port_var}/readyz" 90 \
                || die "$svc#$n is not ready (see $run/logs/$svc-$n.log)"
        done
    done
    log "services ready: ${services[*]} x $replicas"

    local gw_port
    gw_port="$(free_port)"
    set_state GATEWAY_PORT "$gw_port"
    set_state GATEWAY_URL "http://127.0.0.1:$gw_port"
    set_state UPSTREAMS "{$upstreams}"
    load_state
    (
        export CROSSBAR_LISTEN="127.0.0.1:$gw_port" CROSSBAR_UPSTREAMS="{$upstreams}"
        export CROSSBAR_LOG_FORMAT="${CROSSBAR_LOG_FORMAT:-text}" RUST_LOG="${RUST_LOG:-info}"
        nohup "$CROSSBAR_BIN" gateway </dev/null >>"$run/logs/gateway.log" 2>&1 &
        echo $! >"$run/.pid"
    )
    set_state GATEWAY_PID "$(cat "$run/.pid")"
    wait_http "http://127.0.0.1:$gw_port/readyz" 60 || die "gateway not ready (see $run/logs/gateway.log)"
    load_state
    cat <<EOF
crossbar cluster ready
  gateway:      $GATEWAY_URL   (/v2, /readyz, /v2/openapi.json)
  state file:   $state
  logs:         $run/logs/
  master login: account_name "$MASTER_NAME", username "$MASTER_USERNAME", password "$MASTER_PASSWORD"
                (account id $MASTER_ID; credentials = md5("$MASTER_USERNAME:$MASTER_PASSWORD"))
  e2e tests:    CROSSBAR_E2E_CLUSTER=$state cargo test -p crossbar-e2e
EOF
}

cmd_stop() {
    if [ ! -f "$state" ]; then log "not running (no $state)"; return 0; fi
    load_state
    stop_pid "${GATEWAY_PID:-}"
    local svc n pid_var
    for svc in "${services[@]}"; do
        for n in $(seq "${REPLICAS:-2}"); do
            pid_var="PID_${svc^^}_$n"
            # INT: the whole cluster goes, no point in a SIGTERM drain per replica.
            stop_pid "${!pid_var:-}" INT
        done
    done
    stop_nats
    stop_pg
    rm -f "$run/logs/postgres.log"
    cp "$PG_DIR/postgres.log" "$run/logs/postgres.log" 2>/dev/null || true
    [ -n "${PG_DIR:-}" ] && case "$PG_DIR" in /tmp/crossbar-cluster-pg.*) rm -rf "$PG_DIR" ;; esac
    rm -f "$state"
    log "stopped (logs kept in $run/logs)"
}

cmd_status() {
    if [ ! -f "$state" ]; then echo "not running"; return 1; fi
    load_state
    local rc=0 svc n pid_var port_var
    show() { # label pid extra
        if alive "$2"; then printf '  %-16s pid %-8s %s\n' "$1" "$2" "$3"
        else printf '  %-16s DOWN (pid %s) %s\n' "$1" "${2:-?}" "$3"; rc=1; fi
    }
    show postgres "$(pg_pid)" "127.0.0.1:$PG_PORT"
    show nats-server "${NATS_PID:-}" "$NATS_URL"
    for svc in "${services[@]}"; do
        for n in $(seq "${REPLICAS:-2}"); do
            pid_var="PID_${svc^^}_$n"; port_var="PORT_${svc^^}_$n"
            show "$svc#$n" "${!pid_var:-}" "http://127.0.0.1:${!port_var}"
        done
    done
    show gateway "${GATEWAY_PID:-}" "$GATEWAY_URL"
    if curl -fsS -o /dev/null --max-time 5 "$GATEWAY_URL/readyz"; then echo "  gateway /readyz: ready"
    else echo "  gateway /readyz: NOT ready"; rc=1; fi
    return $rc
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    kill-replica) kill_replica "${2:?service}" "${3:?replica number}" ;;
    stop-replica) stop_replica "${2:?service}" "${3:?replica number}" ;;
    start-replica) start_replica "${2:?service}" "${3:?replica number}" ;;
    nats-stop) stop_nats ;;
    nats-start) start_nats ;;
    pg-stop) stop_pg ;;
    pg-start) start_pg ;;
    *) echo "usage: $0 start|stop|status|kill-replica S N|stop-replica S N|start-replica S N|nats-stop|nats-start|pg-stop|pg-start" >&2; exit 2 ;;
esac
