"""Helpers for the end-to-end broker tests driven by Eclipse Paho (paho-mqtt 1.6.1).

- `test(name)` registers a test function; `run_tests()` runs them in order and prints one
  `ok - NAME` or `not ok - NAME` line each (reasons on `#` lines), then exits non-zero if
  any failed. Every client a test opens is closed after it, pass or fail.
- `Paho`: a paho-mqtt client on its own loop thread (no automatic reconnection), with
  bounded waits for CONNACK, SUBACK/UNSUBACK, publish completion and received messages.
  It records the reason code of a DISCONNECT sent by the server: paho 1.6.1 drops the
  reason code of a DISCONNECT whose remaining length is 1 or 2 (`_handle_disconnect`
  only reads it when the remaining length is > 2), which is the form the MQTT 5.0
  spec allows for a DISCONNECT without properties (section 3.14.2.1).
- `Raw`: a socket MQTT client built with struct, for what paho cannot do: not acknowledge,
  send exactly the bytes we want, close the socket abruptly, count packets.

Ports come from the environment: EG_PORT (broker with default limits), EG_PORT_SMALL
(broker with small limits, see test_broker_paho.sh).
"""
import os
import socket
import struct
import sys
import threading
import time
import traceback
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCodes
from paho.mqtt.subscribeoptions import SubscribeOptions

HOST = "127.0.0.1"
V311, V5 = 4, 5
WAIT = 5.0  # default bound on every wait, seconds


def port(name="EG_PORT"):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set (run through tests/e2e/test_broker_paho.sh)")
    return int(value)


def uid():
    return uuid.uuid4().hex[:10]


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def eq(actual, expected, what):
    if actual != expected:
        raise Failure(f"{what}: expected {expected!r}, got {actual!r}")


# ------------------------------------------------------------------------------------ runner

_TESTS = []
_OPEN = []  # clients opened by the running test, closed after it


def test(name):
    def deco(fn):
        _TESTS.append((name, fn))
        return fn
    return deco


def _close_all():
    while _OPEN:
        c = _OPEN.pop()
        try:
            c.close()
        except Exception:
            pass


def run_tests():
    only = sys.argv[1:]  # optional substrings selecting tests, for debugging
    failed = 0
    for name, fn in _TESTS:
        if only and not any(o in name for o in only):
            continue
        started = time.time()
        try:
            fn()
            print(f"ok - {name}")
        except Exception as e:  # a failed check, a timeout, or a client error
            failed += 1
            print(f"not ok - {name}")
            text = str(e) if isinstance(e, Failure) else traceback.format_exc(limit=3)
            for line in text.strip().splitlines()[:30]:
                print(f"# {line}")
        finally:
            _close_all()
        took = time.time() - started
        if took > 10:
            print(f"# ({name} took {took:.1f} s)")
        sys.stdout.flush()
    # The callers check this line: a driver killed by its timeout must not pass by omission.
    print("# all cases ran")
    sys.stdout.flush()
    sys.exit(1 if failed else 0)


# -------------------------------------------------------------------------------- paho client

def props(packet_type, **values):
    """Properties(packet_type) with the given attributes, e.g. props(PacketTypes.PUBLISH, ContentType="x")."""
    p = Properties(packet_type)
    for k, v in values.items():
        setattr(p, k, v)
    return p


def prop(p, name, default=None):
    return getattr(p, name, default) if p is not None else default


class _Client(mqtt.Client):
    """paho Client that keeps the reason code of every DISCONNECT the server sends."""
    server_disconnect = None

    def _handle_disconnect(self):
        packet = self._in_packet["packet"]
        self.server_disconnect = packet[0] if len(packet) >= 1 else 0x00
        return super()._handle_disconnect()

    def run_loop_in(self, thread):
        """Makes `thread` (which calls loop()) the only one that writes to the socket, as
        loop_start() would: else publish() from another thread writes while the loop thread
        reads, and an SSL object used by two threads at once corrupts memory (seen: a PUBACK
        lost, then "malloc(): unsorted double linked list corrupted" in the test process). The
        socket pair wakes the loop's select() when a packet is queued (paho 1.6 internals)."""
        self._sockpairR, self._sockpairW = mqtt._socketpair_compat()
        self._thread = thread


class Message:
    """What a subscriber received (copied out of paho's MQTTMessage)."""

    def __init__(self, m, received_at):
        self.topic = m.topic
        self.payload = bytes(m.payload)
        self.qos = m.qos
        self.retain = bool(m.retain)
        self.dup = bool(m.dup)
        self.props = getattr(m, "properties", None)
        self.at = received_at

    def __repr__(self):
        return f"<{self.topic} {self.payload[:40]!r} qos={self.qos} retain={int(self.retain)}>"


class Paho:
    """A connected paho-mqtt client with bounded waits. version: V5 or V311."""

    def __init__(self, client_id, version=V5, port_env="EG_PORT", clean=True, keepalive=60,
                 connect_props=None, will=None, expect_rc=0, max_inflight=100, username=None):
        self.version = version
        self.client_id = client_id
        if version == V5:
            self.c = _Client(client_id=client_id, protocol=mqtt.MQTTv5)
        else:
            self.c = _Client(client_id=client_id, clean_session=clean, protocol=mqtt.MQTTv311)
        self.c.max_inflight_messages_set(max_inflight)
        self.cond = threading.Condition()
        self.messages = []
        self.connack = None  # (session_present, reason code int, properties or None)
        self.acks = {}  # mid -> list of reason codes (SUBACK / UNSUBACK)
        self.disconnect_rc = None
        self.closed = threading.Event()
        self._stop = False
        self.c.on_connect = self._on_connect
        self.c.on_message = self._on_message
        self.c.on_subscribe = self._on_subscribe
        self.c.on_unsubscribe = self._on_unsubscribe
        self.c.on_disconnect = self._on_disconnect
        if will:
            self.c.will_set(**will)
        if username:
            self.c.username_pw_set(username)
        _OPEN.append(self)
        if version == V5:
            self.c.connect(HOST, port(port_env), keepalive, clean_start=clean, properties=connect_props)
        else:
            self.c.connect(HOST, port(port_env), keepalive)
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.c.run_loop_in(self.thread)
        self.thread.start()
        self._wait(lambda: self.connack is not None or self.closed.is_set(), WAIT, "CONNACK")
        check(self.connack is not None, f"{client_id}: connection closed before CONNACK")
        if expect_rc is not None:
            eq(self.connack[1], expect_rc, f"{client_id}: CONNACK reason code")

    # callbacks (loop thread)
    def _on_connect(self, client, userdata, flags, rc, properties=None):
        with self.cond:
            code = rc.value if isinstance(rc, ReasonCodes) else int(rc)
            self.connack = (int(flags["session present"]), code, properties)
            self.cond.notify_all()

    def _on_message(self, client, userdata, m):
        with self.cond:
            self.messages.append(Message(m, time.time()))
            self.cond.notify_all()

    def _on_subscribe(self, client, userdata, mid, granted, properties=None):
        with self.cond:
            self.acks[mid] = [g.value if isinstance(g, ReasonCodes) else int(g) for g in granted]
            self.cond.notify_all()

    def _on_unsubscribe(self, client, userdata, mid, properties=None, codes=None):
        if codes is not None and not isinstance(codes, list):
            codes = [codes]
        with self.cond:
            self.acks[mid] = [c.value for c in codes] if codes is not None else []
            self.cond.notify_all()

    def _on_disconnect(self, client, userdata, rc, properties=None):
        with self.cond:
            self.disconnect_rc = rc
            self.cond.notify_all()

    def _loop(self):
        while not self._stop:
            if self.c.loop(timeout=0.05) != mqtt.MQTT_ERR_SUCCESS:
                break
        with self.cond:
            self.closed.set()
            self.cond.notify_all()

    def _wait(self, pred, timeout, what):
        deadline = time.time() + timeout
        with self.cond:
            while not pred():
                left = deadline - time.time()
                if left <= 0:
                    raise Failure(f"{self.client_id}: timed out after {timeout} s waiting for {what}")
                self.cond.wait(min(left, 0.1))

    # properties of the CONNACK
    @property
    def session_present(self):
        return self.connack[0]

    @property
    def connack_props(self):
        return self.connack[2]

    @property
    def server_disconnect(self):
        return self.c.server_disconnect

    def subscribe(self, topic, qos=1, no_local=False, rap=False, rh=0, sub_id=None):
        """Subscribes and returns the SUBACK codes (list of ints)."""
        if self.version == V5:
            p = props(PacketTypes.SUBSCRIBE, SubscriptionIdentifier=sub_id) if sub_id else None
            opts = SubscribeOptions(qos=qos, noLocal=no_local, retainAsPublished=rap, retainHandling=rh)
            rc, mid = self.c.subscribe(topic, options=opts, properties=p)
        else:
            rc, mid = self.c.subscribe(topic, qos)
        eq(rc, mqtt.MQTT_ERR_SUCCESS, f"{self.client_id}: subscribe({topic}) rc")
        self._wait(lambda: mid in self.acks, WAIT, f"SUBACK for {topic}")
        return self.acks.pop(mid)

    def unsubscribe(self, topics):
        rc, mid = self.c.unsubscribe(topics)
        eq(rc, mqtt.MQTT_ERR_SUCCESS, f"{self.client_id}: unsubscribe rc")
        self._wait(lambda: mid in self.acks, WAIT, "UNSUBACK")
        return self.acks.pop(mid)

    def publish(self, topic, payload, qos=0, retain=False, properties=None, wait=True):
        """wait=False: fire and forget; the server may close the connection at once (a
        refused PUBLISH), and paho then reports "no connection" for a call that did send."""
        info = self.c.publish(topic, payload, qos=qos, retain=retain, properties=properties)
        if not wait:
            return info
        check(info.rc == mqtt.MQTT_ERR_SUCCESS, f"{self.client_id}: publish to {topic!r} rc={info.rc}")
        info.wait_for_publish(WAIT)
        check(info.is_published(), f"{self.client_id}: publish to {topic!r} not acknowledged within {WAIT} s")
        return info

    def wait_messages(self, n, timeout=WAIT):
        """Waits until at least n messages arrived; returns all received so far."""
        try:
            self._wait(lambda: len(self.messages) >= n, timeout, f"{n} message(s)")
        except Failure as e:
            raise Failure(f"{e}; got {len(self.messages)}: {self.messages[:10]}")
        with self.cond:
            return list(self.messages)

    def quiet(self, seconds):
        """Waits `seconds` (for anything late to arrive) and returns all messages received."""
        time.sleep(seconds)
        with self.cond:
            return list(self.messages)

    def wait_closed(self, timeout=WAIT):
        if not self.closed.wait(timeout):
            raise Failure(f"{self.client_id}: connection still open after {timeout} s")

    def disconnect(self, reasoncode=None, properties=None):
        self.c.disconnect(reasoncode=reasoncode, properties=properties)
        self.wait_closed()
        time.sleep(0.2)  # let the broker process the DISCONNECT before the test goes on

    def kill(self):
        """Closes the socket without DISCONNECT (a network failure, as the broker sees it)."""
        self._stop = True
        self.thread.join(2)
        sock = self.c.socket()
        if sock:
            sock.close()
        self.closed.set()

    def close(self):
        if not self.closed.is_set():
            try:
                self.c.disconnect()  # written by the loop thread, which then ends
            except Exception:
                pass
            self.closed.wait(1)
        self._stop = True
        self.thread.join(2)
        try:
            sock = self.c.socket()
            if sock:
                sock.close()
        except Exception:
            pass


def disconnect_with_will():
    return ReasonCodes(PacketTypes.DISCONNECT, "Disconnect with will message")


def payloads(messages):
    return [m.payload for m in messages]


# --------------------------------------------------------------------------------- raw client

# Packet types and wire primitives are shared with the malformed-input tests' raw client.
from raw_mqtt import (CONNACK, CONNECT, DISCONNECT, PINGREQ, PINGRESP, PUBACK, PUBCOMP, PUBLISH,  # noqa: E402,F401
                      PUBREC, PUBREL, SUBACK, SUBSCRIBE, UNSUBACK, UNSUBSCRIBE, read_varint, varint)
from raw_mqtt import s as mstr  # noqa: E402

# property id -> wire type
_PROP_TYPES = {
    0x01: "byte", 0x02: "u32", 0x03: "str", 0x08: "str", 0x09: "bin", 0x0B: "varint", 0x11: "u32",
    0x12: "str", 0x13: "u16", 0x15: "str", 0x16: "bin", 0x17: "byte", 0x18: "u32", 0x19: "byte",
    0x1A: "str", 0x1C: "str", 0x1F: "str", 0x21: "u16", 0x22: "u16", 0x23: "u16", 0x24: "byte",
    0x25: "byte", 0x26: "pair", 0x27: "u32", 0x28: "byte", 0x29: "byte", 0x2A: "byte",
}
P_PAYLOAD_FORMAT, P_MESSAGE_EXPIRY, P_CONTENT_TYPE, P_SUB_ID = 0x01, 0x02, 0x03, 0x0B
P_SESSION_EXPIRY, P_SERVER_KEEP_ALIVE, P_WILL_DELAY = 0x11, 0x13, 0x18
P_RECEIVE_MAXIMUM, P_TOPIC_ALIAS, P_USER, P_MAX_PACKET = 0x21, 0x23, 0x26, 0x27


def enc_props(items):
    """items: list of (id, value); a pair value is (key, value)."""
    out = b""
    for pid, v in items or []:
        t = _PROP_TYPES[pid]
        out += varint(pid)
        if t == "byte":
            out += struct.pack("!B", v)
        elif t == "u16":
            out += struct.pack("!H", v)
        elif t == "u32":
            out += struct.pack("!I", v)
        elif t == "varint":
            out += varint(v)
        elif t in ("str", "bin"):
            out += mstr(v)
        else:
            out += mstr(v[0]) + mstr(v[1])
    return varint(len(out)) + out


def dec_props(b, i):
    """Returns ({id: value, or list of values for user properties and subscription ids}, next index)."""
    length, i = read_varint(b, i)
    end, out = i + length, {}
    while i < end:
        pid, i = read_varint(b, i)
        t = _PROP_TYPES[pid]
        if t == "byte":
            v, i = b[i], i + 1
        elif t == "u16":
            v, i = struct.unpack_from("!H", b, i)[0], i + 2
        elif t == "u32":
            v, i = struct.unpack_from("!I", b, i)[0], i + 4
        elif t == "varint":
            v, i = read_varint(b, i)
        else:
            n = struct.unpack_from("!H", b, i)[0]
            v, i = bytes(b[i + 2:i + 2 + n]), i + 2 + n
            if t == "str":
                v = v.decode()
            if t == "pair":
                n = struct.unpack_from("!H", b, i)[0]
                v, i = (v, bytes(b[i + 2:i + 2 + n]).decode()), i + 2 + n
        if pid in (P_USER, P_SUB_ID):
            out.setdefault(pid, []).append(v)
        else:
            out[pid] = v
    return out, end


def packet(ptype, flags, body):
    return bytes([ptype << 4 | flags]) + varint(len(body)) + body


class Closed(Exception):
    pass


class Raw:
    """A raw MQTT client on a blocking socket. Packets are (type, flags, body)."""

    def __init__(self, port_env="EG_PORT", version=V5):
        self.version = version
        self.s = socket.create_connection((HOST, port(port_env)), timeout=WAIT)
        self.buf = b""
        self.eof = False
        _OPEN.append(self)

    def send(self, data):
        self.s.sendall(data)

    def read(self, timeout=WAIT):
        """Next packet, or None when none arrived within timeout. Raises Closed at EOF/reset."""
        deadline = time.time() + timeout
        while True:
            if len(self.buf) >= 2:
                try:
                    length, i = read_varint(self.buf, 1)
                except IndexError:
                    length, i = None, 0
                if length is not None and len(self.buf) >= i + length:
                    head, body = self.buf[0], self.buf[i:i + length]
                    self.buf = self.buf[i + length:]
                    return head >> 4, head & 0x0F, body
            if self.eof:
                raise Closed("connection closed by the server")
            left = deadline - time.time()
            if left <= 0:
                return None
            self.s.settimeout(left)
            try:
                data = self.s.recv(65536)
            except socket.timeout:
                return None
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            if not data:
                self.eof = True
            self.buf += data

    def expect(self, ptype, timeout=WAIT):
        p = self.read(timeout)
        check(p is not None, f"no packet within {timeout} s (expected type {ptype})")
        eq(p[0], ptype, f"packet type (flags {p[1]}, body {p[2].hex()})")
        return p

    def connect(self, client_id, keepalive=60, clean=True, props=None, will=None, expect_rc=0):
        """will: dict(topic, payload, qos=0, retain=False, props=[]). Returns (session_present, rc, props)."""
        flags = 0x02 if clean else 0
        payload = mstr(client_id)
        if will:
            flags |= 0x04 | will.get("qos", 0) << 3 | (0x20 if will.get("retain") else 0)
            if self.version == V5:
                payload += enc_props(will.get("props"))
            payload += mstr(will["topic"]) + mstr(will["payload"])
        var = mstr("MQTT") + bytes([self.version, flags]) + struct.pack("!H", keepalive)
        if self.version == V5:
            var += enc_props(props)
        self.send(packet(CONNECT, 0, var + payload))
        _, _, body = self.expect(CONNACK)
        present, rc = body[0] & 1, body[1]
        cprops = dec_props(body, 2)[0] if self.version == V5 and len(body) > 2 else {}
        if expect_rc is not None:
            eq(rc, expect_rc, f"{client_id}: CONNACK reason code")
        return present, rc, cprops

    def subscribe(self, pid, filters, sub_id=None):
        """filters: list of (filter, options byte). Returns the SUBACK codes."""
        body = struct.pack("!H", pid)
        if self.version == V5:
            body += enc_props([(P_SUB_ID, sub_id)] if sub_id else [])
        for f, opts in filters:
            body += mstr(f) + bytes([opts])
        self.send(packet(SUBSCRIBE, 2, body))
        _, _, ack = self.expect(SUBACK)
        eq(struct.unpack_from("!H", ack)[0], pid, "SUBACK packet id")
        i = 2
        if self.version == V5:
            i = dec_props(ack, 2)[1]
        return list(ack[i:])

    def publish(self, topic, payload, qos=0, pid=1, retain=False, props=None, dup=False):
        body = mstr(topic) + (struct.pack("!H", pid) if qos else b"")
        if self.version == V5:
            body += enc_props(props)
        body += payload if isinstance(payload, bytes) else payload.encode()
        flags = (0x08 if dup else 0) | qos << 1 | (1 if retain else 0)
        self.send(packet(PUBLISH, flags, body))

    def ack(self, ptype, pid, reason=None):
        body = struct.pack("!H", pid) + (bytes([reason]) if reason is not None else b"")
        self.send(packet(ptype, 2 if ptype == PUBREL else 0, body))

    def disconnect(self, reason=0, props=None):
        body = b""
        if self.version == V5 and (reason or props):
            body = bytes([reason]) + (enc_props(props) if props else b"")
        self.send(packet(DISCONNECT, 0, body))

    def parse_publish(self, flags, body):
        n = struct.unpack_from("!H", body)[0]
        topic, i = body[2:2 + n].decode(), 2 + n
        qos = flags >> 1 & 3
        pid = None
        if qos:
            pid, i = struct.unpack_from("!H", body, i)[0], i + 2
        pprops = {}
        if self.version == V5:
            pprops, i = dec_props(body, i)
        return {"topic": topic, "qos": qos, "pid": pid, "retain": bool(flags & 1), "dup": bool(flags & 8),
                "props": pprops, "payload": bytes(body[i:])}

    def collect(self, seconds, stop_after=None):
        """Reads packets for `seconds` (or until stop_after packets); returns them. Stops at EOF."""
        out, deadline = [], time.time() + seconds
        while time.time() < deadline and (stop_after is None or len(out) < stop_after):
            try:
                p = self.read(deadline - time.time())
            except Closed:
                break
            if p is None:
                break
            out.append(p)
        return out

    def wait_closed(self, timeout):
        """Reads until the server closes the connection; returns (packets read, closed?)."""
        got, deadline = [], time.time() + timeout
        while time.time() < deadline:
            try:
                p = self.read(deadline - time.time())
            except Closed:
                return got, True
            if p is None:
                break
            got.append(p)
        return got, False

    def expect_server_disconnect(self, reason, timeout=WAIT):
        """The server sends exactly DISCONNECT `reason` (bytes of its body) and closes."""
        got, closed = self.wait_closed(timeout)
        check(closed, "connection not closed")
        eq([(t, bytes(b)) for t, _, b in got], [(DISCONNECT, reason)], "packets before the close")

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass
