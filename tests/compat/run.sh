#!/usr/bin/env bash
# Compatibility test: the published Python Kazoo clients (kazoo-sdk, pykazoo), unchanged,
# against a freshly started crossbar server.
#
#   tests/compat/run.sh [pytest args...]
#
# Environment:
#   CROSSBAR_BIN   server binary (default: <repo>/target/release/crossbar; a relative
#                  path is taken relative to the repo root)
#   PYTHON         python used to create the venv (default: python3)
#
# Exits with pytest's exit code (1 if the server could not be started).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

bin="${CROSSBAR_BIN:-target/release/crossbar}"
case "$bin" in
  /*) ;;
  *) bin="$root/$bin" ;;
esac
if [[ ! -x "$bin" ]]; then
  echo "compat: server binary not found or not executable: $bin (set CROSSBAR_BIN or build it)" >&2
  exit 1
fi

# ---- python environment
venv="$here/.venv"
if [[ ! -x "$venv/bin/python" ]]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$here/requirements.txt"

# ---- server
work="$(mktemp -d "${TMPDIR:-/tmp}/crossbar-compat.XXXXXX")"
server_pid=""
cleanup() {
  local rc=$?
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [[ $rc -ne 0 && -s "$work/server.log" ]]; then
    echo "---- compat: last lines of the server log ($work/server.log)" >&2
    tail -n 40 "$work/server.log" >&2 || true
  else
    rm -rf "$work"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port="$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
password="$("$venv/bin/python" -c 'import secrets; print("Pw-" + secrets.token_hex(12))')"
account_name="Compat Master"
username="admin"

export CROSSBAR_DATA_DIR="$work/data"
export CROSSBAR_LISTEN="127.0.0.1:$port"
mkdir -p "$CROSSBAR_DATA_DIR"

echo "compat: bootstrapping the master account in $CROSSBAR_DATA_DIR"
created="$("$bin" create-account --name "$account_name" --realm compat.example.com \
  --username "$username" --password "$password")"
account_id="$(printf '%s' "$created" | "$venv/bin/python" -c '
import json, re, sys
text = sys.stdin.read()
try:
    print(json.loads(text)["account_id"]); sys.exit(0)
except Exception:
    pass
m = re.findall(r"\"account_id\"\s*:\s*\"([^\"]+)\"", text)
if not m:
    sys.exit("compat: no account_id in create-account output: %r" % text)
print(m[-1])
')"
echo "compat: master account $account_id"

# Debug-level JSON logs: checked for leaked credentials after the run.
RUST_LOG="debug,sqlx=warn,sea_orm=warn,actix_server=warn,actix_http=warn" CROSSBAR_LOG_FORMAT=json \
  "$bin" serve >"$work/server.log" 2>&1 &
server_pid=$!
echo "compat: server pid $server_pid on $CROSSBAR_LISTEN"

base="http://127.0.0.1:$port"
deadline=$((SECONDS + 60))
until curl -fs -o /dev/null --max-time 2 "$base/healthz"; do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "compat: server exited before answering /healthz" >&2
    exit 1
  fi
  if (( SECONDS >= deadline )); then
    echo "compat: /healthz did not answer 200 within 60 s" >&2
    exit 1
  fi
  sleep 0.5
done
echo "compat: server is up"

set +e
CROSSBAR_URL="$base/v2" \
CROSSBAR_ACCOUNT_NAME="$account_name" \
CROSSBAR_USERNAME="$username" \
CROSSBAR_PASSWORD="$password" \
CROSSBAR_ACCOUNT_ID="$account_id" \
  "$venv/bin/python" -m pytest -p no:cacheprovider -v "$here/test_clients.py" "$@"
rc=$?
set -e
echo "compat: checking the server log for leaked credentials"
if ! "$venv/bin/python" "$root/scripts/check_logs.py" --secret "$password" --user "$username" \
    --sources "$here" "$work/server.log"; then
  rc=1
fi
exit $rc
