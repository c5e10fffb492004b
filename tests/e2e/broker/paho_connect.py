"""CONNECT/CONNACK, session take-over and keep alive against the real broker.

EG_PORT: broker with default limits. EG_PORT_SMALL: max_session_expiry 60.
"""
import struct
import time

from pahoutil import (CONNACK, CONNECT, DISCONNECT, PINGREQ, PINGRESP, PUBACK, PUBLISH, SUBACK, SUBSCRIBE, V311,
                      V5, Paho, PacketTypes, Raw, check, enc_props, eq, mstr, packet, prop, props, run_tests, test,
                      uid)


@test("v5 CONNACK: Receive Maximum 1000, Maximum Packet Size 524288, Topic Alias Maximum 10, features available")
def t_connack_props():
    c = Paho("cp-" + uid(), V5, keepalive=60)
    p = c.connack_props
    eq(c.session_present, 0, "session present")
    eq(prop(p, "ReceiveMaximum"), 1000, "Receive Maximum")
    eq(prop(p, "MaximumPacketSize"), 524288, "Maximum Packet Size")
    eq(prop(p, "TopicAliasMaximum"), 10, "Topic Alias Maximum")
    eq(prop(p, "RetainAvailable"), 1, "Retain Available")
    eq(prop(p, "WildcardSubscriptionAvailable"), 1, "Wildcard Subscription Available")
    eq(prop(p, "SubscriptionIdentifierAvailable"), 1, "Subscription Identifier Available")
    eq(prop(p, "SharedSubscriptionAvailable"), 1, "Shared Subscription Available")
    # MaximumQoS absent means QoS 2 is supported [MQTT-3.2.2-9]
    eq(prop(p, "MaximumQoS"), None, "Maximum QoS (absent = 2)")
    eq(prop(p, "AssignedClientIdentifier"), None, "Assigned Client Identifier for a named client")
    eq(prop(p, "ServerKeepAlive"), None, "Server Keep Alive for keepalive 60 (within the 1160 s cap)")


@test("v5 empty client id: CONNACK carries a unique Assigned Client Identifier")
def t_assigned_id():
    a = Paho("", V5)
    b = Paho("", V5)
    ida, idb = prop(a.connack_props, "AssignedClientIdentifier"), prop(b.connack_props, "AssignedClientIdentifier")
    check(isinstance(ida, str) and len(ida) > 0, f"Assigned Client Identifier missing: {ida!r}")
    check(isinstance(idb, str) and len(idb) > 0, f"Assigned Client Identifier missing: {idb!r}")
    check(ida != idb, f"two connections got the same assigned identifier {ida!r}")
    # the assigned identifier names a real session: connecting with it takes the first connection over
    c = Paho(ida, V5)
    a.wait_closed()
    eq(a.server_disconnect, 0x8E, "DISCONNECT reason to the connection that used the assigned id")
    eq(c.connack[1], 0, "CONNACK reason code")


@test("v3.1.1 empty client id: accepted with clean session 1, refused (return code 2) with clean session 0")
def t_v311_empty_id():
    r = Raw(version=V311)
    present, rc, _ = r.connect("", clean=True, expect_rc=None)
    eq((present, rc), (0, 0), "CONNACK (session present, return code) for clean session 1")
    r2 = Raw(version=V311)
    present, rc, _ = r2.connect("", clean=False, expect_rc=None)
    eq(rc, 2, "CONNACK return code for clean session 0 [MQTT-3.1.3-8]")
    _, closed = r2.wait_closed(3)
    check(closed, "connection not closed after the refusal")


@test("v5 keepalive 0: CONNACK Server Keep Alive 1160")
def t_server_keep_alive_zero():
    c = Paho("ka0-" + uid(), V5, keepalive=0)
    eq(prop(c.connack_props, "ServerKeepAlive"), 1160, "Server Keep Alive")


@test("v5 keepalive 1200: CONNACK Server Keep Alive 1160")
def t_server_keep_alive_capped():
    c = Paho("ka1200-" + uid(), V5, keepalive=1200)
    eq(prop(c.connack_props, "ServerKeepAlive"), 1160, "Server Keep Alive")


@test("v5 Session Expiry 99999 with max_session_expiry 60: CONNACK Session Expiry Interval 60")
def t_session_expiry_capped():
    c = Paho("se-" + uid(), V5, port_env="EG_PORT_SMALL",
             connect_props=props(PacketTypes.CONNECT, SessionExpiryInterval=99999))
    eq(prop(c.connack_props, "SessionExpiryInterval"), 60, "CONNACK Session Expiry Interval")


@test("v5 Session Expiry 30 under the cap of 60: kept (CONNACK absent or 30)")
def t_session_expiry_under_cap():
    c = Paho("se30-" + uid(), V5, port_env="EG_PORT_SMALL",
             connect_props=props(PacketTypes.CONNECT, SessionExpiryInterval=30))
    v = prop(c.connack_props, "SessionExpiryInterval")
    check(v in (None, 30), f"CONNACK Session Expiry Interval {v!r}, expected absent or 30")


@test("v5 Request Response Information 1: CONNACK carries Response Information")
def t_response_information():
    c = Paho("ri-" + uid(), V5, connect_props=props(PacketTypes.CONNECT, RequestResponseInformation=1))
    ri = prop(c.connack_props, "ResponseInformation")
    check(isinstance(ri, str) and len(ri) > 0, f"Response Information missing or empty: {ri!r}")


@test("v5 no Request Response Information: no Response Information [MQTT-3.1.2-28]")
def t_no_response_information():
    c = Paho("nri-" + uid(), V5)
    eq(prop(c.connack_props, "ResponseInformation"), None, "Response Information")
    d = Paho("nri0-" + uid(), V5, connect_props=props(PacketTypes.CONNECT, RequestResponseInformation=0))
    eq(prop(d.connack_props, "ResponseInformation"), None, "Response Information with request 0")


@test("v5 session take-over: the first connection gets DISCONNECT 0x8E, the second is connected")
def t_takeover_v5():
    cid = "to-" + uid()
    first = Paho(cid, V5)
    second = Paho(cid, V5)
    first.wait_closed()
    eq(first.server_disconnect, 0x8E, "DISCONNECT reason code to the first connection")
    eq(second.connack[1], 0, "second CONNACK reason code")
    # the second connection works: it receives its own subscription's messages
    topic = f"to/{uid()}"
    second.subscribe(topic, qos=1)
    second.publish(topic, b"after take-over", qos=1)
    eq([m.payload for m in second.wait_messages(1)], [b"after take-over"], "messages on the new connection")
    check(not second.closed.is_set(), "the second connection was closed too")


@test("v3.1.1 session take-over: the first connection is closed, the second works")
def t_takeover_v311():
    cid = "to311-" + uid()
    first = Paho(cid, V311)
    second = Paho(cid, V311)
    first.wait_closed()
    eq(first.server_disconnect, None, "a v3.1.1 client must not get a DISCONNECT packet")
    topic = f"to311/{uid()}"
    second.subscribe(topic, qos=1)
    second.publish(topic, b"x", qos=1)
    eq(len(second.wait_messages(1)), 1, "messages on the new connection")


@test("v5 keep alive 2 s, client silent: DISCONNECT 0x8D after about 3 s, then closed")
def t_keep_alive_timeout_v5():
    r = Raw()
    r.connect("kat-" + uid(), keepalive=2)
    start = time.time()
    got, closed = r.wait_closed(6)
    took = time.time() - start
    check(closed, f"connection still open {took:.1f} s after CONNACK")
    check(2.5 <= took <= 4.5, f"closed after {took:.2f} s, expected about 3 s (1.5 x keep alive)")
    eq([(t, bytes(b)) for t, _, b in got], [(DISCONNECT, b"\x8d")], "packets before the close")


@test("v3.1.1 keep alive 2 s, client silent: closed after about 3 s")
def t_keep_alive_timeout_v311():
    r = Raw(version=V311)
    r.connect("kat311-" + uid(), keepalive=2)
    start = time.time()
    got, closed = r.wait_closed(6)
    took = time.time() - start
    check(closed, f"connection still open {took:.1f} s after CONNACK")
    check(2.5 <= took <= 4.5, f"closed after {took:.2f} s, expected about 3 s")
    eq(got, [], "packets before the close")


@test("v5 keep alive 2 s with PINGREQ every second: stays connected, PINGRESP each time")
def t_keep_alive_ping():
    r = Raw()
    r.connect("kap-" + uid(), keepalive=2)
    for i in range(5):
        time.sleep(1)
        r.send(packet(PINGREQ, 0, b""))
        p = r.read(2)
        check(p is not None, f"no answer to PINGREQ {i + 1}")
        eq(p[0], PINGRESP, f"answer to PINGREQ {i + 1}")


@test("CONNECT, SUBSCRIBE, PUBLISH and PINGREQ in one write, before the CONNACK: all answered, in order "
      "(with several workers, the connection moves to its session's worker with those bytes)")
def t_pipelined_after_connect():
    for _ in range(6):  # with 3 workers, most of them move
        cid, topic = "pipe-" + uid(), "pipe/" + uid()
        r = Raw()
        connect = mstr("MQTT") + bytes([V5, 0x02]) + struct.pack("!H", 60) + enc_props([]) + mstr(cid)
        subscribe = struct.pack("!H", 1) + enc_props([]) + mstr(topic) + bytes([1])
        publish = mstr(topic) + struct.pack("!H", 2) + enc_props([]) + b"to myself"
        r.send(packet(CONNECT, 0, connect) + packet(SUBSCRIBE, 2, subscribe) + packet(PUBLISH, 2, publish) +
               packet(PINGREQ, 0, b""))
        got = []
        for ptype, flags, body in r.collect(1.0, stop_after=5):
            got.append(ptype)
            if ptype == PUBLISH:
                eq(r.parse_publish(flags, body)["payload"], b"to myself", "payload of the own message")
        eq(got[:2], [CONNACK, SUBACK], "first answers")
        eq(sorted(got[2:]), sorted([PUBACK, PUBLISH, PINGRESP]), "then the PUBACK, the message and the PINGRESP")
        r.close()


if __name__ == "__main__":
    run_tests()
