#!/usr/bin/env python3
"""Malformed and hostile input against the real broker, over raw sockets.

usage: raw_cases.py PORT CASE

Runs one case; exits 0 when the broker did exactly what the case expects, else prints why
and exits 1. Each case is a function below; its docstring says what the broker must do
and which rule says so (MQTT 5.0 / 3.1.1, SPEC.md)."""
import itertools
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from raw_mqtt import (CONNACK, DISCONNECT, PINGRESP, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBACK,  # noqa: E402
                      UNSUBACK, Conn,
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


_serial = itertools.count(1)


def v5():
    """A connected v5 client with a client id of its own."""
    c = Conn(PORT)
    c.connect_ok("raw-%s-%d" % (UNIQUE, next(_serial)))
    return c


def v311():
    c = Conn(PORT)
    c.connect_ok("raw311-%s-%d" % (UNIQUE, next(_serial)), version=4)
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


def case_packet_size_boundary():
    """A PUBLISH of exactly 524288 bytes (the 512 KiB maximum) is accepted; one byte more is
    refused with DISCONNECT 0x95 [MQTT-3.2.2-15 counts the whole packet, SPEC 6]."""
    topic = "size/%s" % UNIQUE
    def sized(total):
        body_len = total - 1 - len(varint(total))  # remaining length for this total
        while 1 + len(varint(body_len)) + body_len != total:
            body_len -= 1
        payload_len = body_len - (2 + len(topic) + 2 + 1)
        pkt = publish(topic, b"x" * payload_len, qos=1, packet_id=1)
        check(len(pkt) == total, "built %d bytes, wanted %d" % (len(pkt), total))
        return pkt
    c = v5()
    c.send(sized(524288))
    body = c.expect(PUBACK, timeout=10)
    check(body[:2] == b"\x00\x01" and (len(body) == 2 or body[2] in (0x00, 0x10)), "PUBACK %s" % body.hex())
    c.send(sized(524289))
    expect_disconnect(c, 0x95, timeout=10)


def case_receive_maximum_outbound():
    """A subscriber that sent Receive Maximum 2 never has more than 2 unacknowledged QoS 1
    PUBLISHes; each PUBACK lets the next one out [MQTT-3.3.4-7, SPEC 5]."""
    topic = "rmax/%s" % UNIQUE
    sub = Conn(PORT)
    sub.connect_ok("rmax-%s" % UNIQUE, properties=props(prop_u16(0x21, 2)))
    sub.send(subscribe(1, [(topic, 1)]))
    sub.expect(SUBACK)
    pub = v5()
    for i in range(1, 6):
        pub.send(publish(topic, b"m%d" % i, qos=1, packet_id=i))
        pub.expect(PUBACK)
    got = []
    while True:
        p = sub.read_packet(1.0)
        if p is None:
            break
        got.append(p)
    check(len(got) == 2 and all(t == PUBLISH for t, _, _ in got), "before any PUBACK: %s" % describe(got))
    received = []
    for _ in range(5):
        if not got:
            p = sub.read_packet(3)
            check(p is not None and p[0] == PUBLISH, "after PUBACK: %s" % sub.state())
            got.append(p)
        t, flags, body = got.pop(0)
        tlen = struct.unpack(">H", body[:2])[0]
        pid = body[2 + tlen:4 + tlen]
        received.append(body[5 + tlen:])
        # one more must not arrive while 2 are outstanding
        if len(got) >= 2:
            raise AssertionError("more than 2 in flight")
        sub.send(ack(4, struct.unpack(">H", pid)[0]))
        p = sub.read_packet(0.5)
        if p is not None:
            got.append(p)
    check(received == [b"m1", b"m2", b"m3", b"m4", b"m5"], "received %s" % received)


def case_keepalive_timeout():
    """Keep Alive 2 s and silence: after 1.5 x 2 = 3 s the broker sends DISCONNECT 0x8D
    (Keep Alive timeout) and closes [MQTT-3.1.2-22]."""
    c = Conn(PORT)
    c.send(connect("ka-%s" % UNIQUE, keep_alive=2))
    c.expect(CONNACK)
    start = time.monotonic()
    got, closed, rest = c.packets_until_close(6)
    t = time.monotonic() - start
    check(closed, "still open after 6 s")
    check(2.8 <= t <= 4.5, "closed after %.1f s, expected 3 s" % t)
    check(len(got) == 1 and got[0][0] == DISCONNECT and got[0][2][:1] == b"\x8d",
          "expected DISCONNECT 0x8d, got %s" % describe(got, rest))


def case_will_on_protocol_error():
    """A client disconnected by the server for a protocol violation has its will published [MQTT-3.1.2-8]."""
    topic = "rawwill/%s" % UNIQUE
    watcher = v5()
    watcher.send(subscribe(1, [(topic, 1)]))
    watcher.expect(SUBACK)
    c = Conn(PORT)
    c.connect_ok("willpe-%s" % UNIQUE, will=(topic, b"bad client", 1))
    c.send(packet(0x36, b"\x00\x03a/b\x00\x01\x00x"))  # QoS 3
    expect_disconnect(c, 0x81)
    body = watcher.expect(PUBLISH)
    check(body.endswith(b"bad client"), "watcher got %s" % body.hex())


def case_qos2_exactly_once():
    """A QoS 2 PUBLISH re-sent with DUP before PUBREL is acknowledged again but routed once [4.3.3]."""
    topic = "once/%s" % UNIQUE
    sub = v5()
    sub.send(subscribe(1, [(topic, 0), ("once-mark/%s" % UNIQUE, 0)]))
    sub.expect(SUBACK)
    c = v5()
    c.send(publish(topic, b"once", qos=2, packet_id=42))
    check(c.expect(PUBREC)[:2] == b"\x00\x2a", "no PUBREC for id 42")
    c.send(publish(topic, b"once", qos=2, packet_id=42, dup=True))
    check(c.expect(PUBREC)[:2] == b"\x00\x2a", "no PUBREC for the re-sent id 42")
    c.send(ack(6, 42))
    check(c.expect(PUBCOMP)[:3] in (b"\x00\x2a", b"\x00\x2a\x00"), "bad PUBCOMP")
    c.send(publish("once-mark/%s" % UNIQUE, b"mark", qos=1, packet_id=43))
    payloads = []
    while True:
        body = sub.expect(PUBLISH)
        payloads.append(body[2 + struct.unpack(">H", body[:2])[0] + 1:])
        if payloads[-1] == b"mark":
            break
    check(payloads == [b"once", b"mark"], "subscriber got %s" % payloads)


def case_pubrel_unknown_id():
    """PUBREL for a packet id with no QoS 2 flow: PUBCOMP 0x92 (Packet Identifier not found) [3.7.2.1]."""
    c = v5()
    c.send(ack(6, 999))
    body = c.expect(PUBCOMP)
    check(body[:3] == b"\x03\xe7\x92", "PUBCOMP %s, expected 03e7 92" % body.hex())


def redelivery(qos):
    topic = "redeliver%d/%s" % (qos, UNIQUE)
    cid = "redeliver%d-%s" % (qos, UNIQUE)
    sess = props(bytes([0x11]) + struct.pack(">I", 300))
    sub = Conn(PORT)
    sub.connect_ok(cid, clean=False, properties=sess)
    sub.send(subscribe(1, [(topic, qos)]))
    sub.expect(SUBACK)
    pub = v5()
    pub.send(publish(topic, b"unacked", qos=qos, packet_id=1))
    first = sub.expect(PUBLISH)
    check(first.endswith(b"unacked"), "first delivery %s" % first.hex())
    sub.close()  # never acknowledged
    time.sleep(0.2)
    again = Conn(PORT)
    body = again.connect_ok(cid, clean=False, properties=sess)
    check(body[0] == 1, "CONNACK session present flag %d, expected 1" % body[0])
    p = again.read_packet(3)
    check(p is not None and p[0] == PUBLISH, "no re-delivery after reconnect: %s" % again.state())
    t, flags, body2 = p
    check(flags & 0x08, "re-delivered PUBLISH has DUP=0 (flags %x)" % flags)
    check((flags >> 1) & 3 == qos and body2.endswith(b"unacked"), "re-delivered %x %s" % (flags, body2.hex()))
    tlen = struct.unpack(">H", first[:2])[0]
    check(body2[2 + tlen:4 + tlen] == first[2 + tlen:4 + tlen], "packet id changed on re-delivery")
    pid = struct.unpack(">H", body2[2 + tlen:4 + tlen])[0]
    if qos == 1:
        again.send(ack(4, pid))
    else:
        again.send(ack(5, pid))
        check(again.expect(PUBREL)[:2] == struct.pack(">H", pid), "no PUBREL")
        again.send(ack(7, pid))
    again.send(packet(0xE0, b"\x00\x01\x11\x00\x00\x00\x00"))  # DISCONNECT, session expiry 0: end it


def case_redelivery_qos1():
    """An unacknowledged QoS 1 PUBLISH is re-sent with DUP=1 and the same packet id when a
    persistent session reconnects [MQTT-4.4.0-1]."""
    redelivery(1)


def case_redelivery_qos2():
    """An unacknowledged QoS 2 PUBLISH is re-sent with DUP=1 when the session reconnects [MQTT-4.4.0-1]."""
    redelivery(2)


def case_unsubscribe_nonexistent():
    """UNSUBSCRIBE [existing, never subscribed]: UNSUBACK [0x00, 0x11] [3.11.3]."""
    c = v5()
    c.send(subscribe(1, [("uns/a", 0)]))
    c.expect(SUBACK)
    c.send(packet(0xA2, b"\x00\x02\x00" + b"\x00\x05uns/a" + b"\x00\x05uns/b"))
    body = c.expect(UNSUBACK)
    check(body == b"\x00\x02\x00\x00\x11", "UNSUBACK %s, expected 0002 00 00 11" % body.hex())


def case_v311_empty_id_persistent():
    """v3.1.1 CONNECT with an empty ClientId and CleanSession=0: CONNACK return code 2
    (identifier rejected), then close [MQTT-3.1.3-8]."""
    c = Conn(PORT)
    c.send(connect("", version=4, clean=False))
    got, closed, rest = c.packets_until_close()
    check(len(got) == 1 and got[0][0] == CONNACK and got[0][2] == b"\x00\x02",
          "expected CONNACK 00 02, got %s" % describe(got, rest))
    check(closed, "connection stayed open")


def case_takeover_v5():
    """A second connection with the same ClientId takes the session over: the first gets
    DISCONNECT 0x8E (Session taken over) and is closed [MQTT-3.1.4-3]."""
    cid = "takeover-%s" % UNIQUE
    a = Conn(PORT)
    a.connect_ok(cid)
    b = Conn(PORT)
    b.connect_ok(cid)
    expect_disconnect(a, 0x8E)
    b.send(PINGREQ_BYTES)
    b.expect(PINGRESP)


def case_shutdown_disconnect():
    """Connects (v5), prints "ready", then expects DISCONNECT 0x8B (Server shutting down)
    and the close when the broker is stopped (the caller sends SIGTERM) [SPEC 7]."""
    c = v5()
    print("ready", flush=True)
    expect_disconnect(c, 0x8B, timeout=20)


def case_session_expiry_max_v311():
    """Broker max_session_expiry 1 s: a v3.1.1 persistent session (CleanSession=0) ends 1 s
    after its connection, so a reconnect 2 s later finds no session [SPEC 5]."""
    cid = "exp311-%s" % UNIQUE
    c = Conn(PORT)
    c.connect_ok(cid, version=4, clean=False)
    c.send(DISCONNECT_BYTES)
    c.close()
    time.sleep(2.0)
    again = Conn(PORT)
    body = again.connect_ok(cid, version=4, clean=False)
    check(body[0] == 0, "CONNACK session present %d after the maximum expiry passed, expected 0" % body[0])
    again.send(DISCONNECT_BYTES)


def case_session_expiry_capped_v5():
    """Broker max_session_expiry 1 s: a v5 CONNECT asking 100 s gets Session Expiry Interval 1
    in the CONNACK, and the session is gone 2 s after disconnecting [SPEC 5]."""
    cid = "exp5-%s" % UNIQUE
    sess = props(bytes([0x11]) + struct.pack(">I", 100))
    c = Conn(PORT)
    body = c.connect_ok(cid, clean=False, properties=sess)
    got = connack_props(body).get(0x11)
    check(got == 1, "CONNACK Session Expiry Interval %r, expected 1" % got)
    c.send(DISCONNECT_BYTES)
    c.close()
    time.sleep(2.0)
    again = Conn(PORT)
    body = again.connect_ok(cid, clean=False, properties=sess)
    check(body[0] == 0, "CONNACK session present %d after the capped expiry passed, expected 0" % body[0])


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
