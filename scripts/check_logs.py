#!/usr/bin/env python3
"""Fails when log files contain credentials: passwords, md5/sha1 login credentials,
JWTs (auth tokens) or account API keys.

    scripts/check_logs.py [--secret S ...] [--user U ...] [--sources DIR ...] LOG...

Secrets are the --secret values plus, with --sources, every string literal in the
Rust test sources under DIR that looks like a password (contains "pass", "secret",
"pw-", ...). Credentials are md5/sha1 of "user:password" for every username candidate
(--user values and short lowercase literals from the sources) and every password.
Any JWT (three base64url parts, the first two JSON) and any 64-hex API key is a
leak whatever its value.
"""
import argparse
import hashlib
import pathlib
import re
import sys

LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')
PASSWORDISH = re.compile(r"(pass|secret|s3cret|pw-|pwd)", re.IGNORECASE)
USERNAMEISH = re.compile(r"^[a-z][a-z0-9._@-]{1,40}$")
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")
API_KEY = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")
HEX32 = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")
HEX40 = re.compile(r"(?<![0-9a-f])[0-9a-f]{40}(?![0-9a-f])")


def literals(sources):
    """(line, literal) for every string literal of the Rust and Python sources."""
    for root in sources:
        for pattern, literal in (("*.rs", LITERAL), ("*.py", re.compile(r"['\"]([^'\"\n]+)['\"]"))):
            for path in pathlib.Path(root).rglob(pattern):
                if ".venv" in path.parts or "target" in path.parts:
                    continue
                for line in path.read_text(errors="replace").splitlines():
                    for match in literal.finditer(line):
                        yield line, match.group(1)


def looks_like_password(text):
    # Test passwords have a digit or a dash ("pw-123456", "e2e-admin-secret"); plain
    # words such as "password" are field names, not secrets.
    return (
        len(text) >= 6
        and PASSWORDISH.search(text) is not None
        and re.search(r"[0-9-]", text) is not None
        and re.fullmatch(r"[A-Za-z0-9!@#$%^&*.+-]+", text) is not None
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--secret", action="append", default=[])
    parser.add_argument("--user", action="append", default=[])
    parser.add_argument("--sources", action="append", default=[])
    parser.add_argument("logs", nargs="+")
    args = parser.parse_args()

    passwords = {s for s in args.secret if s}
    users = {u.lower() for u in args.user if u}
    for line, text in literals(args.sources):
        if looks_like_password(text):
            passwords.add(text)
        if USERNAMEISH.match(text) and "user" in line.lower():
            users.add(text.lower())
    credentials = {}
    for user in users:
        for password in passwords:
            pair = f"{user}:{password}".encode()
            credentials[hashlib.md5(pair).hexdigest()] = f"md5({user}:****)"
            credentials[hashlib.sha1(pair).hexdigest()] = f"sha1({user}:****)"

    leaks = []
    lines = 0
    for log in args.logs:
        path = pathlib.Path(log)
        if not path.exists():
            print(f"check_logs: {log} does not exist", file=sys.stderr)
            return 2
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            lines += 1
            where = f"{log}:{number}"
            for password in passwords:
                if password in line:
                    leaks.append(f"{where}: a test password")
            if JWT.search(line):
                leaks.append(f"{where}: an auth token (JWT)")
            if API_KEY.search(line):
                leaks.append(f"{where}: an API key (64 hex digits)")
            for match in HEX32.findall(line) + HEX40.findall(line):
                if match in credentials:
                    leaks.append(f"{where}: login credentials {credentials[match]}")
    print(
        f"check_logs: {lines} log lines, {len(passwords)} passwords, "
        f"{len(credentials)} credential hashes checked; {len(leaks)} leaks"
    )
    for leak in leaks[:50]:
        print("  " + leak)
    return 1 if leaks else 0


if __name__ == "__main__":
    sys.exit(main())
