#!/usr/bin/env bash
# Writes the dev overlay's secrets into secrets/ (git-ignored), once: a random
# PostgreSQL password, the matching crossbar.toml (database_url), and an Ed25519 JWT
# signing key. Existing files are kept; delete secrets/ to rotate everything.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="$here/secrets"
mkdir -p "$dir"
chmod 700 "$dir"
umask 077
if [[ ! -s "$dir/postgres-password" ]]; then
    python3 -c 'import secrets; print(secrets.token_hex(24), end="")' >"$dir/postgres-password"
fi
if [[ ! -s "$dir/crossbar.toml" ]]; then
    printf 'database_url = "postgres://crossbar:%s@postgres:5432/crossbar"\n' \
        "$(cat "$dir/postgres-password")" >"$dir/crossbar.toml"
fi
if [[ ! -s "$dir/jwt-signing-key.pem" ]]; then
    if command -v openssl >/dev/null; then
        openssl genpkey -algorithm ed25519 -out "$dir/jwt-signing-key.pem" 2>/dev/null
    else
        echo "make-secrets: openssl not found; write an Ed25519 PKCS#8 PEM key to $dir/jwt-signing-key.pem" >&2
        exit 1
    fi
fi
echo "dev secrets in $dir"
