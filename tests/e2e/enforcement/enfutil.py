"""Helpers for the enforcement end-to-end tests: paho clients over TLS with client
certificates and a Username, and the REST / admin calls the live tests make (with curl).

The runner (`test`, `run_tests`), checks and the paho wrapper come from
tests/e2e/broker/pahoutil.py; `TlsPaho` is its `Paho` connected over TLS (or plain TCP) with
the identity options the enforcement tests need. Environment (set by enf_lib.sh enf_export):
EG_TLS_PORT, EG_PLAIN_PORT, EG_CERTS, EG_CP_URL, EG_CP_TOKEN_FILE, EG_ADMIN_URL,
EG_ADMIN_TOKEN_FILE, EG_NS.
"""
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "broker"))

import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.subscribeoptions import SubscribeOptions  # noqa: E402

import pahoutil  # noqa: E402
from pahoutil import (V5, V311, WAIT, Failure, Paho, _Client, _OPEN, check, eq, payloads, run_tests,  # noqa: E402,F401
                      uid)


def test(name):
    """pahoutil.test, with a pause first: the previous test's connections, closed by the runner,
    are gone at the broker too (the session limit per authentication name counts them)."""
    def deco(fn):
        def run():
            time.sleep(0.1)
            fn()
        pahoutil._TESTS.append((name, run))
        return fn
    return deco


CERTS = os.environ.get("EG_CERTS", "")
NS = os.environ.get("EG_NS", "ns1")
WORKERS = int(os.environ.get("EGBROKER_WORKERS", "1"))


def eq_no_subscribers(rc, what):
    """A v5 PUBACK that no subscriber matched: 0x10. With several worker threads the broker
    knows that only when no other worker holds a subscription in the namespace, and says 0x00
    otherwise, which MQTT allows (3.4.2.1); delivery is then checked by the caller."""
    check(rc == 0x10 or (WORKERS > 1 and rc == 0), f"{what}: expected 16, got {rc}")


def env_port(name):
    return int(os.environ[name])


def cert(name):
    """(certfile, keyfile) of a test certificate in EG_CERTS."""
    return os.path.join(CERTS, name + ".pem"), os.path.join(CERTS, name + ".key")


class _EnfClient(_Client):
    """Also keeps the reason code of every PUBACK (paho 1.6.1 does not hand it to the
    application): pubacks[mid] = code, recorded before on_publish fires."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.pubacks = {}

    def _handle_pubackcomp(self, cmd):
        packet = self._in_packet["packet"]
        if cmd == "PUBACK" and len(packet) >= 2:
            code = packet[2] if self._protocol == mqtt.MQTTv5 and len(packet) >= 3 else 0
            self.pubacks[int.from_bytes(packet[0:2], "big")] = code
        return super()._handle_pubackcomp(cmd)


class TlsPaho(Paho):
    """pahoutil.Paho over TLS to EG_TLS_PORT (or plain TCP to EG_PLAIN_PORT with tls=False).
    cert: a test certificate name (device1, ...) or None for no client certificate.
    username: the CONNECT Username (None: no Username). expect_rc: the CONNACK code wanted
    (None: whatever it is, see .rc). port_env: the variable naming the port (default EG_TLS_PORT
    with tls, else EG_PLAIN_PORT). connect_props: v5 CONNECT properties (pahoutil.props)."""

    def __init__(self, client_id, cert_name=None, username=None, version=V5, tls=True, expect_rc=0,
                 clean=True, keepalive=60, port_env=None, connect_props=None):
        self.version = version
        self.client_id = client_id
        if version == V5:
            self.c = _EnfClient(client_id=client_id, protocol=mqtt.MQTTv5)
        else:
            self.c = _EnfClient(client_id=client_id, clean_session=clean, protocol=mqtt.MQTTv311)
        self.cond = threading.Condition()
        self.messages = []
        self.connack = None
        self.acks = {}
        self.disconnect_rc = None
        self.closed = threading.Event()
        self._stop = False
        self.c.on_connect = self._on_connect
        self.c.on_message = self._on_message
        self.c.on_subscribe = self._on_subscribe
        self.c.on_unsubscribe = self._on_unsubscribe
        self.c.on_disconnect = self._on_disconnect
        if username is not None:
            self.c.username_pw_set(username)
        if tls:
            ctx = ssl.create_default_context(cafile=os.path.join(CERTS, "ca.pem"))
            if cert_name:
                ctx.load_cert_chain(*cert(cert_name))
            self.c.tls_set_context(ctx)
        port = env_port(port_env or ("EG_TLS_PORT" if tls else "EG_PLAIN_PORT"))
        _OPEN.append(self)
        if version == V5:
            self.c.connect("127.0.0.1", port, keepalive, clean_start=clean, properties=connect_props)
        else:
            self.c.connect("127.0.0.1", port, keepalive)
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.c.run_loop_in(self.thread)
        self.thread.start()
        self._wait(lambda: self.connack is not None or self.closed.is_set(), WAIT, "CONNACK")
        check(self.connack is not None, f"{client_id}: connection closed before CONNACK")
        if expect_rc is not None:
            eq(self.connack[1], expect_rc, f"{client_id}: CONNACK reason code")

    @property
    def rc(self):
        return self.connack[1]

    def expect_refused(self):
        """After a refused CONNACK the broker closes the connection."""
        self.wait_closed()

    def wait_server_disconnect(self, timeout=WAIT):
        """Waits until the server closes the connection; returns the reason code of its
        DISCONNECT (None when it sent none)."""
        self.wait_closed(timeout)
        return self.server_disconnect

    def publish_rc(self, topic, payload, qos=1, retain=False):
        """Publishes QoS 1 and returns the PUBACK reason code (0 for v3.1.1)."""
        info = self.c.publish(topic, payload, qos=qos, retain=retain)
        check(info.rc == mqtt.MQTT_ERR_SUCCESS, f"{self.client_id}: publish to {topic!r} rc={info.rc}")
        info.wait_for_publish(WAIT)
        check(info.is_published(), f"{self.client_id}: no PUBACK for {topic!r} within {WAIT} s")
        return self.c.pubacks.get(info.mid)


def subscribe_many(p, filters, qos=1):
    """One SUBSCRIBE with several filters; returns the SUBACK codes."""
    if p.version == V5:
        rc, mid = p.c.subscribe([(f, SubscribeOptions(qos=qos)) for f in filters])
    else:
        rc, mid = p.c.subscribe([(f, qos) for f in filters])
    eq(rc, mqtt.MQTT_ERR_SUCCESS, f"{p.client_id}: subscribe rc")
    p._wait(lambda: mid in p.acks, WAIT, f"SUBACK for {filters}")
    return p.acks.pop(mid)


# ------------------------------------------------------------------------- REST and admin

def _token(var):
    with open(os.environ[var]) as f:
        return f.read().strip()


def curl(method, url, token, body=None):
    """(status, parsed JSON body or text) of one curl request."""
    args = ["curl", "-sS", "--max-time", "10", "-o", "-", "-w", "\n%{http_code}", "-X", method,
            "-H", f"Authorization: Bearer {token}"]
    if body is not None:
        args += ["-H", "Content-Type: application/json", "--data-binary",
                 body if isinstance(body, str) else json.dumps(body)]
    out = subprocess.run(args + [url], capture_output=True, text=True, timeout=15)
    text, _, status = out.stdout.rpartition("\n")
    try:
        doc = json.loads(text) if text else None
    except ValueError:
        doc = text
    return int(status or 0), doc


def api(method, path, body=None, ok=(200, 201, 204)):
    """A REST call to egcontrol; fails the test unless the status is in ok."""
    status, doc = curl(method, os.environ["EG_CP_URL"] + path, _token("EG_CP_TOKEN_FILE"), body)
    if ok and status not in ok:
        raise Failure(f"{method} {path}: status {status}: {str(doc)[:300]}")
    return status, doc


def admin(method, path, body=None):
    return curl(method, os.environ["EG_ADMIN_URL"] + path, _token("EG_ADMIN_TOKEN_FILE"), body)


def wait_insync(timeout=10.0):
    """Until GET /brokers shows broker b1 InSync at the namespace's current snapshot version;
    returns that version."""
    _, snap = api("GET", f"/namespaces/{NS}/snapshot")
    want = snap["version"]
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        _, doc = api("GET", "/brokers")
        for b in doc.get("value", []):
            if b.get("name") != "b1":
                continue
            for n in b.get("namespaces", []):
                if n.get("namespace") == NS:
                    last = n
                    if n.get("state") == "InSync" and n.get("appliedVersion") == want:
                        return want
        time.sleep(0.05)
    raise Failure(f"broker not InSync at version {want} within {timeout} s: {last}")


def wait_deleted(above, timeout=10.0):
    """Until GET /brokers shows broker b1 InSync for the namespace at the version egcontrol
    desires, above `above` (after DELETE of the namespace, whose snapshot route is gone)."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        _, doc = api("GET", "/brokers")
        for b in doc.get("value", []):
            for n in b.get("namespaces", []) if b.get("name") == "b1" else []:
                if n.get("namespace") == NS:
                    last = n
                    if n.get("state") == "InSync" and above < n.get("appliedVersion", 0) == n.get("desiredVersion"):
                        return n["appliedVersion"]
        time.sleep(0.05)
    raise Failure(f"the namespace deletion was not applied within {timeout} s: {last}")


def change(method, path, body=None):
    """A REST change, then the wait until the broker applied it. Returns the version."""
    api(method, path, body)
    return wait_insync()


def metrics():
    """The admin endpoint's /metrics as {series: value}."""
    status, text = admin("GET", "/metrics")
    eq(status, 200, "GET /metrics status")
    out = {}
    for line in str(text).splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


class TlsRaw(pahoutil.Raw):
    """pahoutil.Raw over TLS to EG_TLS_PORT with a client certificate (cert_name or None),
    sending the TLS server name `sni` (default "localhost"; the certificate is then not checked
    against it)."""

    def __init__(self, cert_name=None, version=V5, sni="localhost"):
        self.version = version
        ctx = ssl.create_default_context(cafile=os.path.join(CERTS, "ca.pem"))
        if sni != "localhost":
            ctx.check_hostname = False
        if cert_name:
            ctx.load_cert_chain(*cert(cert_name))
        raw = socket.create_connection(("127.0.0.1", env_port("EG_TLS_PORT")), timeout=WAIT)
        self.s = ctx.wrap_socket(raw, server_hostname=sni)
        self.buf = b""
        self.eof = False
        _OPEN.append(self)

    def connect_as(self, client_id, username=None, expect_rc=0, props=None, will=None):
        """CONNECT with a Username (Raw.connect has none). Returns the CONNACK code; the
        properties are in .connack_props ({id: value})."""
        flags = 0x02 | (0x80 if username is not None else 0)
        payload = pahoutil.mstr(client_id)
        if will:
            flags |= 0x04 | will.get("qos", 0) << 3 | (0x20 if will.get("retain") else 0)
            if self.version == V5:
                payload += pahoutil.enc_props(will.get("props"))
            payload += pahoutil.mstr(will["topic"]) + pahoutil.mstr(will["payload"])
        if username is not None:
            payload += pahoutil.mstr(username)
        var = pahoutil.mstr("MQTT") + bytes([self.version, flags]) + (60).to_bytes(2, "big")
        if self.version == V5:
            var += pahoutil.enc_props(props)
        self.send(pahoutil.packet(pahoutil.CONNECT, 0, var + payload))
        _, _, body = self.expect(pahoutil.CONNACK)
        rc = body[1]
        self.connack_props = pahoutil.dec_props(body, 2)[0] if self.version == V5 and len(body) > 2 else {}
        if expect_rc is not None:
            eq(rc, expect_rc, f"{client_id}: CONNACK reason code")
        return rc
