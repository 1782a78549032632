#!/usr/bin/env python3
"""Fault tests against a running local cluster (deploy/local/cluster.sh), with figures.

    deploy/local/faults.py STATE_FILE        (deploy/local/faults.sh starts and stops a cluster)

(a) one accounts replica stopped with SIGTERM (as Kubernetes does: it drains, then
    stops) under a steady stream of reads and writes (devices) through the gateway:
    nothing fails, every 201 reads back; (a') the same with kill -9: reads are
    retried, and so is the device creation in flight on the killed replica (with the
    gateway's creation id it happens once): nothing fails, nothing is lost;
(b) nats-server stopped for 10 s while writing devices, callflows routing numbers and
    temporal rules (three services in their own processes): every write succeeds;
    after NATS is back, the numbers service's `used_by` converges (counted);
(c) PostgreSQL stopped and started: answers during the outage (503 in Kazoo's shape)
    and time to recover on its own.
(d) a poison message on the event stream (a callflow event no consumer can read, as a
    broken producer would publish) between callflow writes: the numbers service's
    consumer dead-letters it (read back from the dead-letter stream) and the callflow
    events after it still mark their numbers. (A handler that keeps failing, retried
    with backoff and then dead-lettered: crates/events/tests/nats.rs.)
Exit status 0 only when every expectation holds. Standard library only.
"""
import base64
import hashlib
import json
import os
import secrets
import socket
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


def replica_ready(service, n, seconds=30):
    port = STATE[f"PORT_{service.upper()}_{n}"]
    end = time.time() + seconds
    while time.time() < end:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                if r.status == 200:
                    return True
        except Exception:
            pass
        time.sleep(0.2)
    return False


def replica_fault(label, command, replica, allowed_write_failures):
    """One accounts replica goes away under a steady stream; it is started again after."""
    print(f"({label}) {command} accounts#{replica} under a steady stream of GETs and PUTs through the gateway (10 s)")
    gone = {}
    stats = stream(10, 3, lambda: gone.update(pid=cluster(command, "accounts", str(replica)).strip()), write_device)
    lost = [d for d in stats["created"] if call("GET", f"/v2/accounts/{account}/devices/{d}", token)[0] != 200]
    print(f"  pid {gone.get('pid')} gone; reads {stats['reads']}, failed {len(stats['read_fail'])}; "
          f"writes {stats['writes']}, failed {len(stats['write_fail'])} {stats['write_fail'][:3]}; "
          f"created {len(stats['created'])}, read back {len(stats['created']) - len(lost)}, lost {len(lost)}")
    expect(stats["reads"] > 100 and stats["writes"] > 50, "the stream kept flowing")
    expect(not stats["read_fail"], "no read failed")
    expect(len(stats["write_fail"]) <= allowed_write_failures,
           "no write failed" if allowed_write_failures == 0 else
           f"at most {allowed_write_failures} write failed (the PUT in flight on the killed replica: "
           "not retried, it may have been applied)")
    expect(not lost, "every 201 reads back")
    cluster("start-replica", "accounts", str(replica))
    expect(replica_ready("accounts", replica), f"accounts#{replica} back and ready")


# (a) A replica stopped the way Kubernetes stops one (SIGTERM: drain, then stop): nothing
# fails. (a') kill -9: reads are retried, and so is the device creation in flight there
# (the gateway's creation id makes the other replica answer what the dead one created,
# or create it): nothing fails either.
replica_fault("a", "stop-replica", 1, 0)
replica_fault("a'", "kill-replica", 2, 0)

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
# The callflows replicas learn the numbers' owner from the numbers' events.
time.sleep(1)


def write_across_services(i):
    # In turn: a device (accounts service), a callflow routing a DID (callflows
    # service: the owner comes from its projection of number events), a temporal rule
    # (office-hours service). Every process checks the account in its own projection.
    kind = i % 3
    if kind == 1 and queue:
        n = queue.pop(0)
        s, b = call("PUT", f"/v2/accounts/{account}/callflows", token,
                    {"data": {"name": f"cf {n}", "numbers": [n], "flow": {"module": "hangup", "data": {}}}})
        return s, b, ("cf", n) if s == 201 else None
    if kind == 2:
        s, b = call("PUT", f"/v2/accounts/{account}/temporal_rules", token,
                    {"data": {"name": f"rule {i}", "cycle": "weekly", "wdays": ["monday"],
                              "time_window_start": 32400, "time_window_stop": 61200}})
        return s, b, ("rule", b["data"]["id"]) if s == 201 else None
    time.sleep(0.05)
    return write_device(i)


def wait_used_by_callflow(numbers, seconds):
    """The numbers of `numbers` not (yet) marked used_by=callflow after up to `seconds`."""
    deadline = time.time() + seconds
    pending = set(numbers)
    while pending and time.time() < deadline:
        for n in list(pending):
            s, b = call("GET", f"/v2/accounts/{account}/phone_numbers/{n}", token)
            if s == 200 and b["data"].get("_read_only", {}).get("used_by") == "callflow":
                pending.discard(n)
        time.sleep(0.3)
    return pending


def nats_outage():
    cluster("nats-stop")
    time.sleep(10)


stats = stream(12, 1, nats_outage, write_across_services)
cluster("nats-start")
back = time.time()
routed = [c[1] for c in stats["created"] if isinstance(c, tuple) and c[0] == "cf"]
rules = [c[1] for c in stats["created"] if isinstance(c, tuple) and c[0] == "rule"]
devices = [c for c in stats["created"] if not isinstance(c, tuple)]
print(f"  during ~12 s (10 s without NATS): reads {stats['reads']}, failed {len(stats['read_fail'])}; "
      f"writes {stats['writes']}, failed {len(stats['write_fail'])} {stats['write_fail'][:3]}; "
      f"created {len(devices)} devices, {len(routed)} callflows, {len(rules)} temporal rules")
expect(not stats["read_fail"], "no read failed")
expect(routed and rules and devices and not stats["write_fail"],
       "every write succeeded (accounts, callflows and office-hours processes)")
pending = wait_used_by_callflow(routed, 90)
print(f"  after NATS is back: {len(routed) - len(pending)}/{len(routed)} numbers marked used_by=callflow "
      f"within {time.time() - back:.1f} s")
expect(not pending, "every callflow event reached the numbers service")
# Exactly once in effect: every number is marked once, by its own callflow, and the
# account's listing holds each number once.
s, b = call("GET", f"/v2/accounts/{account}/phone_numbers", token)
marked = [n for n, v in (b.get("data", {}).get("numbers") or {}).items() if v.get("used_by") == "callflow"]
print(f"  numbers marked used_by=callflow in the account's listing: {len(marked)} (callflows created: {len(routed)})")
expect(s == 200 and sorted(marked) == sorted(routed), "marked numbers are exactly the routed ones")

# (d) A poison message between callflow writes: dead-lettered, the others flow on.
class Nats:
    """Just enough of the NATS client protocol for JetStream API requests."""

    def __init__(self, url):
        host, port = url.split("://", 1)[-1].rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.buf = b""
        self._line()  # INFO
        self.sock.sendall(b'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true}\r\n')
        self.sock.sendall(b"SUB _INBOX.faults.* 1\r\n")
        self.asked = 0

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("nats closed the connection")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()

    def _bytes(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def request(self, subject, payload):
        self.asked += 1
        inbox = f"_INBOX.faults.{self.asked}"
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.sock.sendall(f"PUB {subject} {inbox} {len(body)}\r\n".encode() + body + b"\r\n")
        while True:
            line = self._line()
            if line == "PING":
                self.sock.sendall(b"PONG\r\n")
            elif line.startswith("MSG ") and line.split()[1] == inbox:
                return json.loads(self._bytes(int(line.split()[-1])))
            elif line.startswith("HMSG ") and line.split()[1] == inbox:
                raw = self._bytes(int(line.split()[-1]))
                raise RuntimeError(f"no answer on {subject}: {raw[:80]!r}")
            elif line.startswith(("MSG ", "HMSG ")):
                self._bytes(int(line.split()[-1]))
            elif line.startswith("-ERR"):
                raise RuntimeError(line)


print("(d) a poison message on the event stream between callflow writes")
nats = Nats(STATE["NATS_URL"])
dead_before = nats.request("$JS.API.STREAM.INFO.CROSSBAR_DEADLETTER", b"")["state"]["last_seq"]
poison_numbers = [f"{prefix}{i:04d}" for i in range(60, 70)]
csv = "number,city\n" + "".join(f"{n},SF\n" for n in poison_numbers)
s, b = call("PUT", "/v2/phone_numbers/inventory", master_token, csv.encode(), ctype="text/csv")
assert s == 200, b
for n in poison_numbers:
    assert call("PUT", f"/v2/accounts/{account}/phone_numbers/{n}", token)[0] == 201
    assert call("PUT", f"/v2/accounts/{account}/phone_numbers/{n}/activate", token)[0] == 200
time.sleep(1)
routed_after = []
poison_seq = None
for i, n in enumerate(poison_numbers):
    if i == 2:
        ack = nats.request("events.crossbar.callflows.callflow.created", b"{not an event")
        poison_seq = ack.get("seq")
    s, b = call("PUT", f"/v2/accounts/{account}/callflows", token,
                {"data": {"name": f"after poison {n}", "numbers": [n], "flow": {"module": "hangup", "data": {}}}})
    if s == 201:
        routed_after.append(n)
published = time.time()
pending = wait_used_by_callflow(routed_after, 60)
print(f"  poison at stream sequence {poison_seq} after 2 of {len(poison_numbers)} callflows; "
      f"{len(routed_after) - len(pending)}/{len(routed_after)} numbers marked used_by=callflow "
      f"within {time.time() - published:.1f} s")
expect(poison_seq is not None and len(routed_after) == len(poison_numbers),
       "the poison message was stored and every callflow was created")
expect(not pending, "the events after the poison message reached the numbers service")
dead = []
end = time.time() + 15
while time.time() < end:
    last = nats.request("$JS.API.STREAM.INFO.CROSSBAR_DEADLETTER", b"")["state"]["last_seq"]
    for seq in range(dead_before + 1 + len(dead), last + 1):
        got = nats.request("$JS.API.STREAM.MSG.GET.CROSSBAR_DEADLETTER", {"seq": seq})
        dead.append(json.loads(base64.b64decode(got["message"]["data"])))
    if any(d.get("service") == "numbers" and d.get("stream_sequence") == poison_seq for d in dead):
        break
    time.sleep(0.5)
mine = [d for d in dead if d.get("stream_sequence") == poison_seq]
print(f"  dead-lettered copies of the poison message: {len(mine)} "
      f"(by {sorted(set(d.get('consumer', '?') for d in mine))}); "
      f"first error: {mine[0].get('error', '')[:70] if mine else '-'}")
expect(any(d.get("service") == "numbers" for d in mine),
       "the numbers service's consumer dead-lettered the poison message")
expect(all(d.get("event") == "{not an event" for d in mine), "the dead letter keeps the message as it was")

# (c) PostgreSQL stopped, then started again.
print("(c) PostgreSQL stopped for 5 s, then started")
cluster("pg-stop")
outage = {}
end = time.time() + 5
shape_ok = True
slowest = 0.0
while time.time() < end:
    t = time.time()
    s, b = call("GET", f"/v2/accounts/{account}/devices", token, timeout=10)
    slowest = max(slowest, time.time() - t)
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
print(f"  answers during the outage: {outage} (slowest {slowest:.1f} s); first 200 after restart: "
      f"{'%.1f s' % recovered if recovered is not None else 'never'}")
expect(set(outage) <= {503}, "only 503 during the outage")
expect(shape_ok, "the 503s are Kazoo-shaped (status/error/message)")
expect(recovered is not None, "recovered by itself")

# (e) The signing key rotated while the cluster runs: every process (auth replicas and
# the others) follows the rotation event over NATS, no restart.
print("(e) crossbar keys rotate on the running cluster")
rotate_env = dict(os.environ, CROSSBAR_DATABASE_URL=STATE["PG_URL"], CROSSBAR_NATS_URL=STATE["NATS_URL"],
                  RUST_LOG="warn")
rotated = subprocess.run([STATE["CROSSBAR_BIN"], "keys", "rotate"], env=rotate_env, check=True,
                         capture_output=True, text=True).stdout
new_kid = json.loads(rotated.strip().splitlines()[-1])["kid"]


def kid_of(jwt):
    header = jwt.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


old_token = token
deadline = time.time() + 10
new_token = None
while time.time() < deadline:
    candidate, _ = login(name, "admin", "pw-123456")
    if kid_of(candidate) == new_kid:
        new_token = candidate
        break
    time.sleep(0.2)
expect(new_token is not None, f"logins sign with the new key {new_kid[:8]}... (both auth replicas)")
if new_token:
    # Several requests per service, so both replicas of each answer.
    paths = [f"/v2/accounts/{account}", f"/v2/accounts/{account}/callflows",
             f"/v2/accounts/{account}/temporal_rules", f"/v2/accounts/{account}/phone_numbers"]
    answers = [call("GET", p, t)[0] for p in paths for t in (new_token, old_token) for _ in range(4)]
    print(f"  GETs on accounts, callflows, office-hours and numbers with the new and the old token: "
          f"{len(answers)}, statuses {sorted(set(answers))}")
    expect(set(answers) == {200}, "every process accepts tokens of the new key and of the old one")

print("faults:", "all expectations hold" if OK else "SOME EXPECTATIONS FAILED")
sys.exit(0 if OK else 1)
