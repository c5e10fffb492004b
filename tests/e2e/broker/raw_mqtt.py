"""Tiny raw MQTT client for the broker's malformed-input tests: builds packets byte by
byte (so tests can break them on purpose) and reads what the broker answers.

Nothing here validates what the broker sends beyond framing: the tests compare bytes."""
import socket
import struct
import time

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT, AUTH = 8, 9, 10, 11, 12, 13, 14, 15
NAMES = {1: "CONNECT", 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK", 5: "PUBREC", 6: "PUBREL", 7: "PUBCOMP",
         8: "SUBSCRIBE", 9: "SUBACK", 10: "UNSUBSCRIBE", 11: "UNSUBACK", 12: "PINGREQ", 13: "PINGRESP",
         14: "DISCONNECT", 15: "AUTH"}


def varint(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def read_varint(buf, pos):
    """(value, next position) of the variable byte integer at buf[pos]."""
    value, shift = 0, 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, pos


def s(text):
    """A length-prefixed UTF-8 string (or binary data when given bytes)."""
    data = text.encode() if isinstance(text, str) else text
    return struct.pack(">H", len(data)) + data


def packet(first_byte, body):
    return bytes([first_byte]) + varint(len(body)) + body


def props(*items):
    """A v5 property block from already-encoded properties (id byte + value)."""
    block = b"".join(items)
    return varint(len(block)) + block


def prop_u16(pid, v):
    return bytes([pid]) + struct.pack(">H", v)


def prop_u32(pid, v):
    return bytes([pid]) + struct.pack(">I", v)


def prop_byte(pid, v):
    return bytes([pid, v])


def connect(client_id="", version=5, clean=True, keep_alive=60, flags=None, properties=b"\x00",
            proto_name="MQTT", will=None):
    """CONNECT. `flags` overrides the whole Connect Flags byte. will=(topic, payload, qos)."""
    f = 0x02 if clean else 0
    payload = s(client_id)
    if will:
        topic, wpayload, wqos = will
        f |= 0x04 | (wqos << 3)
        payload += (b"\x00" if version == 5 else b"") + s(topic) + s(wpayload)
    if flags is not None:
        f = flags
    body = s(proto_name) + bytes([version, f]) + struct.pack(">H", keep_alive)
    if version == 5:
        body += properties
    return packet(0x10, body + payload)


def publish(topic, payload=b"", qos=0, packet_id=1, version=5, properties=b"\x00", retain=False, dup=False):
    if isinstance(payload, str):
        payload = payload.encode()
    body = s(topic)
    if qos:
        body += struct.pack(">H", packet_id)
    if version == 5:
        body += properties
    return packet(0x30 | (0x08 if dup else 0) | (qos << 1) | (1 if retain else 0), body + payload)


def subscribe(packet_id, filters, version=5, properties=b"\x00"):
    """filters: list of (filter, options byte)."""
    body = struct.pack(">H", packet_id) + (properties if version == 5 else b"")
    for f, opts in filters:
        body += s(f) + bytes([opts])
    return packet(0x82, body)


def ack(ptype, packet_id, version=5):
    return packet((ptype << 4) | (0x02 if ptype == PUBREL else 0), struct.pack(">H", packet_id))


PINGREQ_BYTES = b"\xc0\x00"
DISCONNECT_BYTES = b"\xe0\x00"


class Closed(Exception):
    pass


class Conn:
    """A TCP connection to the broker with a packet reader."""

    def __init__(self, port, host="127.0.0.1", timeout=5):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.closed = False
        self.reset = False

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        """Reads more bytes; False on timeout; marks closed on EOF or reset."""
        if self.closed:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(1 << 20)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            self.closed = self.reset = True
            return False
        if not data:
            self.closed = True
            return False
        self.buf += data
        return True

    def _complete(self):
        """Length of the first complete packet in buf, or 0."""
        if len(self.buf) < 2:
            return 0
        pos, value, shift = 1, 0, 0
        while True:
            if pos >= len(self.buf):
                return 0
            b = self.buf[pos]
            pos += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
            if pos > 4:
                raise ValueError("broker sent a remaining length longer than 4 bytes")
        return pos + value if len(self.buf) >= pos + value else 0

    def read_packet(self, timeout=3):
        """(type, flags, body) of the next packet; None on timeout or close (see .closed)."""
        deadline = time.monotonic() + timeout
        while True:
            n = self._complete()
            if n:
                raw, self.buf = self.buf[:n], self.buf[n:]
                _, body_at = read_varint(raw, 1)
                return raw[0] >> 4, raw[0] & 0x0F, raw[body_at:]
            if not self._fill(deadline):
                return None

    def expect(self, ptype, timeout=3):
        """The next packet, which must be of ptype: returns its body, raises AssertionError otherwise."""
        p = self.read_packet(timeout)
        if p is None:
            raise AssertionError("expected %s, got %s" % (NAMES[ptype], self.state()))
        if p[0] != ptype:
            raise AssertionError("expected %s, got %s %s" % (NAMES[ptype], NAMES.get(p[0], p[0]), p[2].hex()))
        return p[2]

    def packets_until_close(self, timeout=3):
        """Every packet read until the broker closes or `timeout` passes: (packets, closed, leftover bytes)."""
        deadline = time.monotonic() + timeout
        got = []
        while True:
            p = self.read_packet(max(0.0, deadline - time.monotonic()))
            if p is None:
                return got, self.closed, self.buf
            got.append(p)

    def wait_closed(self, timeout=3):
        """Seconds until the broker closed the connection (None if it did not); fails if it sent anything."""
        start = time.monotonic()
        got, closed, rest = self.packets_until_close(timeout)
        if got or rest:
            raise AssertionError("expected the connection closed without any answer, got %s" % describe(got, rest))
        return time.monotonic() - start if closed else None

    def state(self):
        if self.closed:
            return "connection closed" + (" (reset)" if self.reset else "")
        return "nothing (timeout)" + (", partial bytes %s" % self.buf.hex() if self.buf else "")

    def connect_ok(self, client_id="", version=5, **kw):
        """Sends CONNECT and expects CONNACK success; returns the CONNACK body."""
        self.send(connect(client_id, version, **kw))
        body = self.expect(CONNACK)
        if body[1] != 0:
            raise AssertionError("CONNACK refused: %s" % body.hex())
        return body

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def describe(packets, rest=b""):
    parts = ["%s %s" % (NAMES.get(t, t), b.hex()) for t, _, b in packets]
    if rest:
        parts.append("partial bytes %s" % rest.hex())
    return ", ".join(parts) or "nothing"


def connack_props(body):
    """v5 CONNACK properties as {id: raw value bytes} (enough for the numeric ones the tests read)."""
    n, pos = read_varint(body, 2)
    end = pos + n
    out = {}
    sizes = {0x11: 4, 0x21: 2, 0x22: 2, 0x24: 1, 0x25: 1, 0x27: 4, 0x28: 1, 0x29: 1, 0x2A: 1, 0x13: 2}
    while pos < end:
        pid = body[pos]
        pos += 1
        if pid in sizes:
            out[pid] = int.from_bytes(body[pos:pos + sizes[pid]], "big")
            pos += sizes[pid]
        elif pid == 0x26:  # user property: two strings
            kl = struct.unpack(">H", body[pos:pos + 2])[0]
            vl = struct.unpack(">H", body[pos + 2 + kl:pos + 4 + kl])[0]
            pos += 4 + kl + vl
        else:  # strings / binary: 2-byte length
            ln = struct.unpack(">H", body[pos:pos + 2])[0]
            out[pid] = body[pos + 2:pos + 2 + ln]
            pos += 2 + ln
    return out
