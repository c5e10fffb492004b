"""Raw WebSocket cases for the broker (one per invocation): `ws_cases.py PORT CASE`.
Prints "ok" or a reason, exits 0 / 1. Frames are built here byte by byte so that
tests can split, join, unmask or oversize them on purpose."""
import base64
import os
import socket
import struct
import sys
import time

PORT = int(sys.argv[1])
KEY = base64.b64encode(os.urandom(16)).decode()


def frame(opcode, payload, mask=True, fin=True):
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    bit = 0x80 if mask else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 65536:
        head += bytes([bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    m = os.urandom(4)
    return head + m + bytes(b ^ m[i % 4] for i, b in enumerate(payload))


def upgrade(request=None, protocol="mqtt"):
    s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
    proto = f"Sec-WebSocket-Protocol: {protocol}\r\n" if protocol else ""
    s.sendall((request or (f"GET /mqtt HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n"
                           f"Sec-WebSocket-Version: 13\r\n{proto}\r\n")).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            break
        head += chunk
    return s, head.split(b"\r\n\r\n")[0].decode(errors="replace"), head.split(b"\r\n\r\n", 1)[-1]


def read_frames(s, seconds=3):
    """Frames the server sends: list of (opcode, payload); stops at close or EOF."""
    buf, out, deadline = b"", [], time.time() + seconds
    while time.time() < deadline:
        while len(buf) >= 2:
            op, n, i = buf[0] & 0x0F, buf[1] & 0x7F, 2
            if n == 126:
                n, i = struct.unpack("!H", buf[2:4])[0], 4
            elif n == 127:
                n, i = struct.unpack("!Q", buf[2:10])[0], 10
            if len(buf) < i + n:
                break
            out.append((op, buf[i:i + n]))
            buf = buf[i + n:]
            if op == 8:
                return out
        s.settimeout(max(0.05, deadline - time.time()))
        try:
            data = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            return out
        if not data:
            return out
        buf += data
    return out


CONNECT = b"\x10\x0e\x00\x04MQTT\x04\x02\x00\x3c\x00\x02ws"
SUBSCRIBE = b"\x82\x08\x00\x01\x00\x03w/t\x01"
PINGREQ = b"\xc0\x00"


def mqtt_bytes(frames):
    return b"".join(p for op, p in frames if op == 2)


def case_upgrade_headers():
    s, head, _ = upgrade()
    accept = base64.b64encode(__import__("hashlib").sha1((KEY + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
                                                          .encode()).digest()).decode()
    want = ["HTTP/1.1 101", f"Sec-WebSocket-Accept: {accept}", "Sec-WebSocket-Protocol: mqtt"]
    missing = [w for w in want if w not in head]
    return "ok" if not missing else f"missing {missing} in {head!r}"


def case_split_and_joined():
    """CONNECT cut across three frames, then SUBSCRIBE + PINGREQ in one frame."""
    s, head, _ = upgrade(protocol="mqttv3.1")
    if "101" not in head or "Sec-WebSocket-Protocol: mqttv3.1" not in head:
        return f"upgrade: {head!r}"
    s.sendall(frame(2, CONNECT[:3]) + frame(2, CONNECT[3:9]))
    time.sleep(0.2)
    s.sendall(frame(2, CONNECT[9:]))
    got = mqtt_bytes(read_frames(s, 2))
    if not got.startswith(b"\x20\x02\x00\x00"):
        return f"CONNACK expected, got {got.hex()}"
    s.sendall(frame(2, SUBSCRIBE + PINGREQ))
    got = mqtt_bytes(read_frames(s, 2))
    return "ok" if got == b"\x90\x03\x00\x01\x01\xd0\x00" else f"SUBACK+PINGRESP expected, got {got.hex()}"


def case_ping_pong():
    s, _, _ = upgrade()
    s.sendall(frame(9, b"are you there"))
    frames = read_frames(s, 2)
    return "ok" if (10, b"are you there") in frames else f"no pong: {frames}"


def expect_close(s, code, what):
    frames = read_frames(s, 3)
    closes = [p for op, p in frames if op == 8]
    if closes and len(closes[0]) >= 2 and struct.unpack("!H", closes[0][:2])[0] == code:
        return "ok"
    return f"{what}: expected close {code}, got {frames}"


def case_text_frame():
    s, _, _ = upgrade()
    s.sendall(frame(1, b"not mqtt"))
    return expect_close(s, 1003, "text frame")


def case_unmasked():
    s, _, _ = upgrade()
    s.sendall(frame(2, CONNECT, mask=False))
    return expect_close(s, 1002, "unmasked frame")


def case_oversize():
    s, _, _ = upgrade()
    try:
        s.sendall(frame(2, b"\x00" * (600 * 1024)))
    except (BrokenPipeError, ConnectionResetError):
        pass
    return expect_close(s, 1009, "600 KiB message")


def refused(request, status):
    s, head, _ = upgrade(request)
    return "ok" if head.startswith(f"HTTP/1.1 {status}") else f"expected {status}, got {head.splitlines()[:1]}"


def base_request(**override):
    h = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Key": KEY, "Sec-WebSocket-Version": "13"}
    h.update(override)
    path = h.pop("path", "/mqtt")
    method = h.pop("method", "GET")
    lines = "".join(f"{k}: {v}\r\n" for k, v in h.items() if v is not None)
    return f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n{lines}\r\n"


CONNECT_V5 = b"\x10\x0f\x00\x04MQTT\x05\x02\x00\x3c\x00\x00\x02w5"


def case_server_disconnect():
    """A second CONNECT: the server sends DISCONNECT 0x82 in a binary frame, then a close frame."""
    s, _, _ = upgrade()
    s.sendall(frame(2, CONNECT_V5))
    got = mqtt_bytes(read_frames(s, 2))
    if not got.startswith(b"\x20"):
        return f"CONNACK expected, got {got.hex()}"
    s.sendall(frame(2, CONNECT_V5))
    frames = read_frames(s, 3)
    if mqtt_bytes(frames) != b"\xe0\x01\x82":
        return f"DISCONNECT 0x82 expected, got {frames}"
    closes = [p for op, p in frames if op == 8]
    return "ok" if closes and closes[0][:2] == b"\x03\xe8" else f"close frame 1000 expected after it: {frames}"


CASES = {
    "server_disconnect": case_server_disconnect,
    "upgrade_headers": case_upgrade_headers,
    "split_and_joined": case_split_and_joined,
    "ping_pong": case_ping_pong,
    "text_frame": case_text_frame,
    "unmasked": case_unmasked,
    "oversize": case_oversize,
    "wrong_path_404": lambda: refused(base_request(path="/nope"), 404),
    "plain_http_426": lambda: refused("GET /mqtt HTTP/1.1\r\nHost: localhost\r\n\r\n", 426),
    "version_8_426": lambda: refused(base_request(**{"Sec-WebSocket-Version": "8"}), 426),
    "bad_key_400": lambda: refused(base_request(**{"Sec-WebSocket-Key": "short"}), 400),
    "bad_subprotocol_400": lambda: refused(base_request(**{"Sec-WebSocket-Protocol": "amqp"}), 400),
    "post_400": lambda: refused(base_request(method="POST"), 400),
}

result = CASES[sys.argv[2]]()
print(result)
sys.exit(0 if result == "ok" else 1)
