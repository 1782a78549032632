#!/usr/bin/env python3
"""Fault tests against a running local cluster (deploy/local/cluster.sh), with figures.

    deploy/local/faults.py STATE_FILE        (deploy/local/faults.sh starts and stops a cluster)

(a) kill -9 one accounts replica under a steady stream of reads and writes (devices)
    through the gateway: counts, failures, and every 201 read back;
(b) nats-server stopped for 10 s while writing callflows that route numbers: writes
    counted; after NATS is back, the numbers service's `used_by` converges (counted);
(c) PostgreSQL stopped and started: answers during the outage (503 in Kazoo's shape)
    and time to recover on its own.
(d) dead-lettering is shown by crates/events/tests/nats.rs
    (a_failing_event_is_dead_lettered_and_does_not_block_the_others).
Exit status 0 only when every expectation holds. Standard library only.
"""
import hashlib
import json
import os
import secrets
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
CLUSTER = os.path.join(HERE, "cluster.sh")


def load_state(path):
    state = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                state[k] = v.strip("'")
    return state


STATE = load_state(sys.argv[1])
BASE = STATE["GATEWAY_URL"]
ENV = dict(os.environ, CROSSBAR_CLUSTER_DIR=STATE["CLUSTER_DIR"])


def cluster(*args):
    return subprocess.run([CLUSTER, *args], env=ENV, check=True, capture_output=True, text=True).stdout


def call(method, path, token=None, body=None, ctype="application/json", timeout=30):
    data = None
    headers = {}
    if token:
        headers["X-Auth-Token"] = token
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["Content-Type"] = ctype
    req = urllib.request.Request(BASE + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, text = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read()
    except Exception as e:  # transport error: counted as a failure
        return 0, {"transport": str(e)}
    try:
        return status, json.loads(text)
    except ValueError:
        return status, {"raw": text[:200].decode(errors="replace")}


def login(name, user, password):
    cred = hashlib.md5(f"{user.lower()}:{password}".encode()).hexdigest()
    status, body = call("PUT", "/v2/user_auth", body={"data": {"credentials": cred, "account_name": name}})
    assert status == 201, body
    return body["auth_token"], body["data"]["account_id"]


OK = True


def expect(cond, what):
    global OK
    print(f"  [{'ok' if cond else 'FAIL'}] {what}")
    OK = OK and cond


master_token, master_id = login(STATE["MASTER_NAME"], STATE["MASTER_USERNAME"], STATE["MASTER_PASSWORD"])
name = f"Faults {secrets.token_hex(4)}"
status, body = call("PUT", f"/v2/accounts/{master_id}", master_token, {"data": {"name": name}})
assert status == 201, body
account = body["data"]["id"]
status, body = call("PUT", f"/v2/accounts/{account}/users", master_token,
                    {"data": {"first_name": "F", "last_name": "T", "username": "admin",
                              "password": "pw-123456", "priv_level": "admin"}})
assert status == 201, body
token, _ = login(name, "admin", "pw-123456")


def stream(seconds, fault_at, fault, write):
    """Readers and a writer for `seconds`; `fault()` runs at `fault_at` s."""
    stats = {"reads": 0, "read_fail": [], "writes": 0, "write_fail": [], "created": []}
    lock = threading.Lock()
    stop = time.time() + seconds
    status, body = call("PUT", f"/v2/accounts/{account}/devices", token, {"data": {"name": "probe"}})
    assert status == 201, body
    probe = body["data"]["id"]

    def reader():
        while time.time() < stop:
            s, b = call("GET", f"/v2/accounts/{account}/devices/{probe}", token)
            with lock:
                stats["reads"] += 1
                if s != 200:
                    stats["read_fail"].append((s, b.get("message", b)))

    def writer():
        i = 0
        while time.time() < stop:
            i += 1
            s, b, ident = write(i)
            with lock:
                stats["writes"] += 1
                if s == 201:
                    stats["created"].append(ident or b["data"]["id"])
                else:
                    stats["write_fail"].append((s, b.get("message", b)))

    threads = [threading.Thread(target=reader) for _ in range(2)] + [threading.Thread(target=writer)]
    for t in threads:
        t.start()
    time.sleep(fault_at)
    fault()
    for t in threads:
        t.join()
    return stats


def write_device(i):
    s, b = call("PUT", f"/v2/accounts/{account}/devices", token, {"data": {"name": f"dev-{i}-{secrets.token_hex(3)}"}})
    return s, b, None


# (a) kill -9 one replica of the accounts service (devices, account reads) under load.
print("(a) kill -9 accounts#1 under a steady stream of GETs and PUTs through the gateway (10 s)")
killed = {}
stats = stream(10, 3, lambda: killed.update(pid=cluster("kill-replica", "accounts", "1").strip()), write_device)
lost = [d for d in stats["created"] if call("GET", f"/v2/accounts/{account}/devices/{d}", token)[0] != 200]
print(f"  killed pid {killed.get('pid')}; reads {stats['reads']}, failed {len(stats['read_fail'])}; "
      f"writes {stats['writes']}, failed {len(stats['write_fail'])} {stats['write_fail'][:3]}; "
      f"created {len(stats['created'])}, read back {len(stats['created']) - len(lost)}, lost {len(lost)}")
expect(not stats["read_fail"], "no read failed")
expect(not lost, "every 201 reads back")
cluster("start-replica", "accounts", "1")
time.sleep(2)

# (b) NATS down for 10 s while writing callflows that route numbers of the account.
print("(b) nats-server stopped for 10 s while writing callflows (numbers get used_by after)")
prefix = "+1628" + "".join(secrets.choice("23456789") for _ in range(3))
numbers = [f"{prefix}{i:04d}" for i in range(60)]
csv = "number,city\n" + "".join(f"{n},SF\n" for n in numbers)
s, b = call("PUT", "/v2/phone_numbers/inventory", master_token, csv.encode(), ctype="text/csv")
assert s == 200, b
for n in numbers:
    s, b = call("PUT", f"/v2/accounts/{account}/phone_numbers/{n}", token)
    assert s == 201, b
    s, b = call("PUT", f"/v2/accounts/{account}/phone_numbers/{n}/activate", token)
    assert s == 200, b
queue = list(numbers)


def write_callflow(i):
    # Alternating: a device (accounts service alone), then a callflow routing a DID
    # (the callflows service asks the numbers service who owns it, over NATS).
    n = queue.pop(0) if queue and i % 2 == 0 else None
    if n is None:
        return write_device(i)
    time.sleep(0.2)
    s, b = call("PUT", f"/v2/accounts/{account}/callflows", token,
                {"data": {"name": f"cf {n}", "numbers": [n], "flow": {"module": "hangup", "data": {}}}})
    return s, b, ("cf", n) if s == 201 else None


def nats_outage():
    cluster("nats-stop")
    time.sleep(10)


t0 = time.time()
stats = stream(12, 1, nats_outage, write_callflow)
cluster("nats-start")
back = time.time()
routed = [c[1] for c in stats["created"] if isinstance(c, tuple)]
print(f"  during ~12 s (10 s without NATS): reads {stats['reads']}, failed {len(stats['read_fail'])}; "
      f"writes {stats['writes']}, failed {len(stats['write_fail'])} {stats['write_fail'][:3]}; "
      f"callflows created {len(routed)}")
deadline = time.time() + 90
pending = set(routed)
while pending and time.time() < deadline:
    for n in list(pending):
        s, b = call("GET", f"/v2/accounts/{account}/phone_numbers/{n}", token)
        if s == 200 and b["data"].get("_read_only", {}).get("used_by") == "callflow":
            pending.discard(n)
    time.sleep(0.5)
print(f"  after NATS is back: {len(routed) - len(pending)}/{len(routed)} numbers marked used_by=callflow "
      f"within {time.time() - back:.1f} s")
device_fail = [f for f in stats["write_fail"] if f[0] != 503 or len(routed) + len(stats["write_fail"]) > len(numbers)]
print(f"  failed writes are callflows whose DID check asks the numbers service over NATS: "
      f"{len(stats['write_fail'])} x {sorted(set(f[0] for f in stats['write_fail']))}")
expect(len(stats["created"]) > 0 and not device_fail, "every write that needs no cross-service question succeeded")
expect(not pending, "every callflow event reached the numbers service")

# (c) PostgreSQL stopped, then started again.
print("(c) PostgreSQL stopped for 5 s, then started")
cluster("pg-stop")
outage = {}
end = time.time() + 5
shape_ok = True
while time.time() < end:
    s, b = call("GET", f"/v2/accounts/{account}/devices", token, timeout=10)
    outage[s] = outage.get(s, 0) + 1
    if s == 503:
        shape_ok = shape_ok and b.get("status") == "error" and b.get("error") == "503" and "message" in b
    time.sleep(0.2)
cluster("pg-start")
back = time.time()
recovered = None
while time.time() < back + 60:
    s, b = call("GET", f"/v2/accounts/{account}/devices", token, timeout=10)
    if s == 200:
        recovered = time.time() - back
        break
    time.sleep(0.2)
print(f"  answers during the outage: {outage}; first 200 after restart: "
      f"{'%.1f s' % recovered if recovered is not None else 'never'}")
expect(set(outage) <= {503}, "only 503 during the outage")
expect(shape_ok, "the 503s are Kazoo-shaped (status/error/message)")
expect(recovered is not None, "recovered by itself")

print("(d) dead letter: crates/events/tests/nats.rs a_failing_event_is_dead_lettered_and_does_not_block_the_others")
print("faults:", "all expectations hold" if OK else "SOME EXPECTATIONS FAILED")
sys.exit(0 if OK else 1)
