#!/usr/bin/env python3
"""Malformed and hostile input against the real broker, over raw sockets.

usage: raw_cases.py PORT CASE

Runs one case; exits 0 when the broker did exactly what the case expects, else prints why
and exits 1. Each case is a function below; its docstring says what the broker must do
and which rule says so (MQTT 5.0 / 3.1.1, SPEC.md)."""
import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from raw_mqtt import (CONNACK, DISCONNECT, PINGRESP, PUBACK, PUBCOMP, PUBLISH, PUBREC, SUBACK, Conn,  # noqa: E402
                      DISCONNECT_BYTES, PINGREQ_BYTES, ack, connack_props, connect, describe, packet, prop_byte,
                      prop_u16, props, publish, subscribe, varint)

PORT = 0
UNIQUE = "%d" % os.getpid()


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def expect_disconnect(c, reason, timeout=3):
    """The broker sends DISCONNECT `reason` (v5) and closes the connection."""
    got, closed, rest = c.packets_until_close(timeout)
    check(len(got) == 1 and got[0][0] == DISCONNECT and not rest,
          "expected DISCONNECT 0x%02x then close, got %s" % (reason, describe(got, rest)))
    body = got[0][2]
    code = body[0] if body else 0
    check(code == reason, "DISCONNECT reason 0x%02x, expected 0x%02x (%s)" % (code, reason, body.hex()))
    check(closed, "DISCONNECT 0x%02x received but the connection stayed open" % reason)


def expect_closed_silently(c, timeout=3):
    t = c.wait_closed(timeout)
    check(t is not None, "connection still open after %.1f s" % timeout)
    return t


def v5():
    c = Conn(PORT)
    c.connect_ok("raw-%s-%d" % (UNIQUE, threading.get_ident() % 100000))
    return c


def v311():
    c = Conn(PORT)
    c.connect_ok("raw311-%s-%d" % (UNIQUE, threading.get_ident() % 100000), version=4)
    return c


def still_serving(tag):
    """A fresh client can subscribe and receive its own message: the broker is alive and routing."""
    c = v5()
    topic = "alive/%s/%s" % (UNIQUE, tag)
    c.send(subscribe(1, [(topic, 1)]))
    check(c.expect(SUBACK)[-1] == 1, "SUBACK did not grant QoS 1")
    c.send(publish(topic, b"alive", qos=1, packet_id=2))
    seen = set()
    for _ in range(2):
        p = c.read_packet(3)
        check(p is not None, "broker stopped answering: %s" % c.state())
        seen.add(p[0])
    check(seen == {PUBLISH, PUBACK}, "expected PUBLISH and PUBACK, got %s" % seen)
    c.close()


# ---- before and at CONNECT

def case_garbage_reserved_type():
    """A first packet of reserved type 0: closed without CONNACK [MQTT-3.1.0-1, 2.1.2]."""
    c = Conn(PORT)
    c.send(b"\x00\x02ab")
    expect_closed_silently(c)


def case_garbage_http():
    """An HTTP request instead of CONNECT: the first byte (0x47) is not CONNECT, so the
    connection is closed at once without CONNACK [MQTT-3.1.0-1], not after connect_timeout
    (10 s here): the broker has no reason to wait for the rest of a frame it will refuse."""
    c = Conn(PORT)
    c.send(b"GET /mqtt HTTP/1.1\r\nHost: x\r\n\r\n")
    expect_closed_silently(c, timeout=3)


def case_publish_before_connect():
    """PUBLISH as the first packet: closed, nothing sent [MQTT-3.1.0-1]."""
    c = Conn(PORT)
    c.send(publish("a/b", b"x", version=4))
    expect_closed_silently(c)


def case_pingreq_before_connect():
    """PINGREQ as the first packet: closed, nothing sent [MQTT-3.1.0-1]."""
    c = Conn(PORT)
    c.send(PINGREQ_BYTES)
    expect_closed_silently(c)


def case_connect_reserved_flag_v5():
    """v5 CONNECT with the reserved flag set: CONNACK 0x81 (Malformed Packet), then close [MQTT-3.1.2-3]."""
    c = Conn(PORT)
    c.send(connect("rsv5", flags=0x03))
    got, closed, rest = c.packets_until_close()
    check(len(got) == 1 and got[0][0] == CONNACK, "expected one CONNACK, got %s" % describe(got, rest))
    check(got[0][2][:2] == b"\x00\x81", "CONNACK flags/reason %s, expected 00 81" % got[0][2].hex())
    check(closed, "connection stayed open after CONNACK 0x81")


def case_connect_reserved_flag_v311():
    """v3.1.1 CONNECT with the reserved flag set: closed without CONNACK [MQTT-3.1.2-3] (no return code fits)."""
    c = Conn(PORT)
    c.send(connect("rsv4", version=4, flags=0x03))
    expect_closed_silently(c)


def case_protocol_level_6():
    """Protocol level 6: CONNACK 0x84 Unsupported Protocol Version in the v5 format, then close [3.1.2.2]."""
    c = Conn(PORT)
    c.send(connect("lvl6", version=6, properties=b""))
    got, closed, rest = c.packets_until_close()
    check(len(got) == 1 and got[0][0] == CONNACK, "expected one CONNACK, got %s" % describe(got, rest))
    body = got[0][2]
    check(len(body) >= 3 and body[:2] == b"\x00\x84", "CONNACK %s, expected 00 84 + properties" % body.hex())
    n = body[2]  # property length (small)
    check(len(body) == 3 + n, "CONNACK is not in the v5 format (properties length %d, body %s)" % (n, body.hex()))
    check(closed, "connection stayed open after CONNACK 0x84")


def case_mqisdp_level_3():
    """MQTT 3.1 ("MQIsdp", level 3): v3.1.1-format CONNACK return code 1 (unacceptable protocol version), then close."""
    c = Conn(PORT)
    c.send(connect("mqisdp", version=3, proto_name="MQIsdp"))
    got, closed, rest = c.packets_until_close()
    check(len(got) == 1 and got[0][0] == CONNACK and got[0][2] == b"\x00\x01",
          "expected CONNACK 00 01, got %s" % describe(got, rest))
    check(closed, "connection stayed open after CONNACK 1")


def case_second_connect_v5():
    """A second CONNECT: DISCONNECT 0x82 (Protocol Error), then close [MQTT-3.1.0-2]."""
    c = v5()
    c.send(connect("again"))
    expect_disconnect(c, 0x82)


def case_second_connect_v311():
    """A second CONNECT (v3.1.1): closed, no DISCONNECT (v3.1.1 has none from servers) [MQTT-3.1.0-2]."""
    c = v311()
    c.send(connect("again", version=4))
    expect_closed_silently(c)


def case_remaining_length_5_bytes():
    """Remaining Length of 5 bytes after CONNECT: DISCONNECT 0x81 (Malformed Packet), then close [1.5.5]."""
    c = v5()
    c.send(b"\x30\xff\xff\xff\xff\x7f")
    expect_disconnect(c, 0x81)


def case_remaining_length_5_bytes_first():
    """Remaining Length of 5 bytes in the very first packet: closed without CONNACK."""
    c = Conn(PORT)
    c.send(b"\x10\xff\xff\xff\xff\x7f")
    expect_closed_silently(c)


def case_oversize_announced():
    """A PUBLISH header announcing 600 KiB (server maximum 512 KiB): DISCONNECT 0x95 (Packet too
    large) as soon as the header is read, before any of the body is sent [MQTT-3.2.2-15, SPEC 6]."""
    c = v5()
    c.send(b"\x32" + varint(600 * 1024))
    expect_disconnect(c, 0x95)


def case_oversize_connect():
    """A CONNECT header announcing 1 MiB: closed without waiting for the body."""
    c = Conn(PORT)
    c.send(b"\x10" + varint(1024 * 1024))
    got, closed, rest = c.packets_until_close(3)
    check(closed, "connection still open 3 s after a 1 MiB CONNECT header: %s" % describe(got, rest))
    check(all(t == CONNACK and b[1] == 0x95 for t, _, b in got) and not rest,
          "expected at most CONNACK 0x95, got %s" % describe(got, rest))


def case_publish_qos3():
    """PUBLISH with QoS 3: DISCONNECT 0x81 (Malformed Packet) [MQTT-3.3.1-4]."""
    c = v5()
    c.send(packet(0x36, b"\x00\x03a/b\x00\x01\x00x"))
    expect_disconnect(c, 0x81)


def case_publish_qos3_v311():
    """v3.1.1 PUBLISH with QoS 3: the connection is closed [MQTT-3.3.1-4]."""
    c = v311()
    c.send(packet(0x36, b"\x00\x03a/b\x00\x01x"))
    expect_closed_silently(c)


def case_publish_wildcard_plus():
    """PUBLISH to a topic name containing '+': DISCONNECT 0x90 (Topic Name invalid) [MQTT-3.3.2-2]."""
    c = v5()
    c.send(publish("a/+/b", b"x"))
    expect_disconnect(c, 0x90)


def case_publish_wildcard_hash():
    """PUBLISH to a topic name containing '#': DISCONNECT 0x90 (Topic Name invalid) [MQTT-3.3.2-2]."""
    c = v5()
    c.send(publish("a/#", b"x", qos=1))
    expect_disconnect(c, 0x90)


def case_topic_alias_11():
    """Topic Alias 11 when the CONNACK said Topic Alias Maximum 10: DISCONNECT 0x94 [MQTT-3.3.2-9]."""
    c = Conn(PORT)
    c.send(connect("alias11"))
    body = c.expect(CONNACK)
    check(connack_props(body).get(0x22) == 10, "CONNACK Topic Alias Maximum %r, expected 10" % connack_props(body).get(0x22))
    c.send(publish("alias/t", b"x", properties=props(prop_u16(0x23, 11))))
    expect_disconnect(c, 0x94)


def case_topic_alias_0():
    """Topic Alias 0: DISCONNECT 0x94 (Topic Alias invalid) [MQTT-3.3.2-8]."""
    c = v5()
    c.send(publish("alias/t", b"x", properties=props(prop_u16(0x23, 0))))
    expect_disconnect(c, 0x94)


def case_topic_alias_unknown():
    """An empty topic with a Topic Alias that was never set: DISCONNECT 0x82 (Protocol Error) [3.3.2.3.4]."""
    c = v5()
    c.send(publish("", b"x", properties=props(prop_u16(0x23, 3))))
    expect_disconnect(c, 0x82)


def case_topic_alias_used():
    """Topic Alias 1 set with a topic, then used with an empty topic: both messages arrive on that topic."""
    topic = "alias/%s/x" % UNIQUE
    sub = v5()
    sub.send(subscribe(1, [(topic, 0)]))
    sub.expect(SUBACK)
    c = v5()
    c.send(publish(topic, b"first", properties=props(prop_u16(0x23, 1))))
    c.send(publish("", b"second", properties=props(prop_u16(0x23, 1))))
    for want in (b"first", b"second"):
        body = sub.expect(PUBLISH)
        tlen = struct.unpack(">H", body[:2])[0]
        got_topic = body[2:2 + tlen].decode()
        pos = 2 + tlen
        plen = body[pos]  # property length (small)
        payload = body[pos + 1 + plen:]
        check(got_topic == topic and payload == want, "got %s %r, expected %s %r" % (got_topic, payload, topic, want))


def case_subscribe_invalid_filter_v5():
    """SUBSCRIBE [a/#/b, valid]: SUBACK 0x8F for the bad filter only, the valid one granted and working [MQTT-3.9.3]."""
    topic = "okv5/%s" % UNIQUE
    c = v5()
    c.send(subscribe(7, [("a/#/b", 1), (topic, 1)]))
    body = c.expect(SUBACK)
    check(body == b"\x00\x07\x00\x8f\x01", "SUBACK %s, expected 0007 00 8f 01" % body.hex())
    c.send(publish(topic, b"works", qos=1, packet_id=9))
    seen = {c.read_packet(3), c.read_packet(3)}
    check({p[0] for p in seen if p} == {PUBLISH, PUBACK}, "after SUBACK: %s" % seen)


def case_subscribe_invalid_filter_v311():
    """v3.1.1 SUBSCRIBE [a/#/b, valid]: SUBACK 0x80 for the bad filter only, the valid one granted [MQTT-3.9.3]."""
    topic = "ok311/%s" % UNIQUE
    c = v311()
    c.send(subscribe(7, [("a/#/b", 1), (topic, 1)], version=4))
    body = c.expect(SUBACK)
    check(body == b"\x00\x07\x80\x01", "SUBACK %s, expected 0007 80 01" % body.hex())
    c.send(publish(topic, b"works", qos=1, packet_id=9, version=4))
    seen = {c.read_packet(3), c.read_packet(3)}
    check({p[0] for p in seen if p} == {PUBLISH, PUBACK}, "after SUBACK: %s" % seen)


def case_qos2_receive_maximum():
    """1001 QoS 2 PUBLISHes never PUBRELed (Receive Maximum 1000 in CONNACK): 1000 PUBRECs, then
    DISCONNECT 0x93 (Receive Maximum exceeded) [MQTT-3.3.4-9, SPEC 6]."""
    c = Conn(PORT)
    c.send(connect("qos2flood-%s" % UNIQUE))
    rm = connack_props(c.expect(CONNACK)).get(0x21)
    check(rm == 1000, "CONNACK Receive Maximum %r, expected 1000" % rm)
    c.send(b"".join(publish("flood/%s" % UNIQUE, b"p", qos=2, packet_id=i) for i in range(1, 1002)))
    got, closed, rest = c.packets_until_close(10)
    recs = [p for p in got if p[0] == PUBREC]
    others = [p for p in got if p[0] != PUBREC]
    check(len(recs) == 1000, "%d PUBRECs, expected 1000" % len(recs))
    check(len(others) == 1 and others[0][0] == DISCONNECT and others[0][2][:1] == b"\x93",
          "expected DISCONNECT 0x93 after the PUBRECs, got %s" % describe(others, rest))
    check(closed, "connection stayed open after DISCONNECT 0x93")


def case_qos2_pubrel_frees_slots():
    """QoS 2 flows that complete (PUBREL -> PUBCOMP) free their Receive Maximum slot: 1500 sequential flows pass."""
    c = v5()
    for i in range(1, 1501):
        c.send(publish("flow/%s" % UNIQUE, b"p", qos=2, packet_id=i))
        body = c.expect(PUBREC)
        check(body[:2] == struct.pack(">H", i), "PUBREC for %s, expected id %d" % (body.hex(), i))
        c.send(ack(6, i))
        body = c.expect(PUBCOMP)
        check(body[:2] == struct.pack(">H", i), "PUBCOMP for %s, expected id %d" % (body.hex(), i))


def case_payload_format_invalid():
    """Payload Format Indicator 1 with a payload that is not UTF-8: PUBACK 0x99, the connection stays [3.3.2.3.2, SPEC 5]."""
    c = v5()
    c.send(publish("pfi/%s" % UNIQUE, b"\xff\xfe\x00", qos=1, packet_id=5, properties=props(prop_byte(0x01, 1))))
    body = c.expect(PUBACK)
    check(body[:3] == b"\x00\x05\x99", "PUBACK %s, expected 0005 99" % body.hex())
    c.send(PINGREQ_BYTES)
    c.expect(PINGRESP)


# ---- time and concurrency

def case_connect_timeout():
    """No CONNECT at all (broker connect_timeout 2 s): closed without an answer, after about 2 s."""
    c = Conn(PORT)
    t = expect_closed_silently(c, timeout=6)
    check(1.5 <= t <= 4.5, "closed after %.1f s, expected about 2 s" % t)


def case_connect_timeout_trickle():
    """A CONNECT trickled one byte every 0.5 s that never completes (connect_timeout 2 s) is
    still no CONNECT: closed within about 2 s of connecting, however the bytes trickle in."""
    c = Conn(PORT)
    data = connect("trickle-never-completes-" + "x" * 40)
    start = time.monotonic()
    for b in data:
        try:
            c.send(bytes([b]))
        except OSError:
            break
        p = c.read_packet(0.5)
        if p is not None or c.closed:
            break
        if time.monotonic() - start > 8:
            break
    elapsed = time.monotonic() - start
    check(c.closed, "still open after %.1f s of trickled CONNECT bytes (connect_timeout is 2 s)" % elapsed)
    check(elapsed <= 4.5, "closed only after %.1f s, expected about 2 s" % elapsed)
    check(not c.buf, "broker answered %s" % c.buf.hex())


def case_slowloris_connect():
    """A CONNECT sent one byte every 200 ms (within connect_timeout 10 s) still connects and works."""
    c = Conn(PORT)
    for b in connect("slow", version=4):
        c.send(bytes([b]))
        time.sleep(0.2)
    body = c.expect(CONNACK)
    check(body == b"\x00\x00", "CONNACK %s, expected 00 00" % body.hex())
    c.send(PINGREQ_BYTES)
    c.expect(PINGRESP)


def case_stalled_half_packet():
    """A client that sends half a PUBLISH and stalls does not block others; when it finishes
    the packet later, its PUBLISH is processed."""
    topic = "stall/%s" % UNIQUE
    staller = v5()
    whole = publish(topic, b"S" * 300, qos=1, packet_id=3)
    staller.send(whole[:60])
    sub = v5()
    sub.send(subscribe(1, [(topic, 1)]))
    sub.expect(SUBACK)
    pub = v5()
    pub.send(publish(topic, b"from-other", qos=1, packet_id=4))
    check(pub.expect(PUBACK)[:2] == b"\x00\x04", "no PUBACK for the other client's publish")
    body = sub.expect(PUBLISH)
    check(body.endswith(b"from-other"), "subscriber got %s" % body[:40].hex())
    staller.send(whole[60:])
    check(staller.expect(PUBACK)[:2] == b"\x00\x03", "stalled client's completed PUBLISH not acknowledged")
    body = sub.expect(PUBLISH)
    check(body.endswith(b"S" * 300), "subscriber did not get the completed PUBLISH: %s" % body[:40].hex())


def case_churn_200():
    """200 connections opened at once and closed in every way (clean DISCONNECT, reset after
    CONNECT, no bytes, half a CONNECT, half a PUBLISH): the broker keeps serving."""
    socks = []
    for i in range(200):
        socks.append(socket.create_connection(("127.0.0.1", PORT), timeout=5))
    for i, sk in enumerate(socks):
        kind = i % 5
        try:
            if kind == 0:
                sk.sendall(connect("churn-%s-%d" % (UNIQUE, i)) + DISCONNECT_BYTES)
            elif kind == 1:
                sk.sendall(connect("churn-%s-%d" % (UNIQUE, i), version=4))
                sk.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST on close
            elif kind == 3:
                sk.sendall(connect("churn-%s-%d" % (UNIQUE, i))[:7])
            elif kind == 4:
                sk.sendall(connect("churn-%s-%d" % (UNIQUE, i)) + publish("churn/t", b"z" * 100, qos=1)[:20])
        except OSError:
            pass
    time.sleep(0.2)
    for sk in socks:
        sk.close()
    still_serving("churn")


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


def main():
    global PORT
    if len(sys.argv) != 3 or sys.argv[2] not in CASES:
        print("usage: raw_cases.py PORT CASE; cases: %s" % " ".join(sorted(CASES)))
        return 2
    PORT = int(sys.argv[1])
    try:
        CASES[sys.argv[2]]()
    except AssertionError as e:
        print(e)
        return 1
    except OSError as e:
        print("socket error: %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
