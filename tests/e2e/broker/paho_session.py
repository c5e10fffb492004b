"""Persistent sessions: resumption, offline queues, clean start, expiry, overflow,
re-sending unacknowledged messages. EG_PORT: broker with default limits; EG_PORT_SMALL:
broker with queue_max_messages 5 (and max_session_expiry 60); EG_PORT_B: a second broker with
default limits. The last two tests check a session that outlives the expiry timer armed at
its earlier disconnect; that defect crashes the broker (use-after-free), so one of them runs
last on EG_PORT and the other on its own broker, EG_PORT_B.
"""
import time

from pahoutil import (PUBACK, PUBLISH, PUBREC, PUBREL, PUBCOMP, P_RECEIVE_MAXIMUM, P_SESSION_EXPIRY, V311, V5, Paho, PacketTypes, Raw, check,
                      eq, payloads, props, run_tests, test, uid)


def open_v5(cid, clean, expiry=60, port_env="EG_PORT"):
    cp = props(PacketTypes.CONNECT, SessionExpiryInterval=expiry) if expiry is not None else None
    return Paho(cid, V5, clean=clean, connect_props=cp, port_env=port_env)


def open_session(version, cid, clean, port_env="EG_PORT", expiry=60):
    if version == V5:
        return open_v5(cid, clean, expiry, port_env)
    return Paho(cid, V311, clean=clean, port_env=port_env)


def offline_delivery(version):
    cid, topic = f"ps{version}-" + uid(), f"ps/{uid()}"
    s = open_session(version, cid, clean=True if version == V5 else False)
    s.subscribe(topic, qos=1)
    s.disconnect()
    pub = Paho("psp-" + uid(), V5)
    for i in range(3):
        pub.publish(topic, f"offline {i}".encode(), qos=1)
    s2 = open_session(version, cid, clean=False)
    eq(s2.session_present, 1, "CONNACK session present")
    s2.wait_messages(3)
    got = s2.quiet(0.3)
    eq([(m.payload, m.qos) for m in got], [(f"offline {i}".encode(), 1) for i in range(3)],
       "messages published while offline (payload, qos)")


@test("v5 Clean Start 0 + Session Expiry: QoS 1 messages published while offline delivered on reconnect, "
      "session present 1")
def t_offline_v5():
    offline_delivery(V5)


@test("v3.1.1 clean session 0: QoS 1 messages published while offline delivered on reconnect, session present 1")
def t_offline_v311():
    offline_delivery(V311)


def subscriptions_survive(version):
    cid, topic = f"ss{version}-" + uid(), f"ss/{uid()}"
    s = open_session(version, cid, clean=True if version == V5 else False)
    s.subscribe(topic, qos=1)
    s.disconnect()
    s2 = open_session(version, cid, clean=False)
    eq(s2.session_present, 1, "CONNACK session present")
    pub = Paho("ssp-" + uid(), V5)
    pub.publish(topic, b"live after reconnect", qos=1)
    eq(payloads(s2.wait_messages(1)), [b"live after reconnect"], "messages without subscribing again")


@test("v5 subscriptions survive a disconnect (no SUBSCRIBE after reconnecting)")
def t_subs_survive_v5():
    subscriptions_survive(V5)


@test("v3.1.1 subscriptions survive a disconnect (no SUBSCRIBE after reconnecting)")
def t_subs_survive_v311():
    subscriptions_survive(V311)


@test("v5 QoS 2 messages published while offline delivered once on reconnect")
def t_offline_qos2():
    cid, topic = "pq2-" + uid(), f"pq2/{uid()}"
    s = open_v5(cid, clean=True)
    s.subscribe(topic, qos=2)
    s.disconnect()
    pub = Paho("pq2p-" + uid(), V5)
    pub.publish(topic, b"a", qos=2)
    pub.publish(topic, b"b", qos=2)
    s2 = open_v5(cid, clean=False)
    s2.wait_messages(2)
    eq([(m.payload, m.qos) for m in s2.quiet(0.5)], [(b"a", 2), (b"b", 2)], "(payload, qos) delivered")


def clean_discards(version):
    cid, topic = f"cd{version}-" + uid(), f"cd/{uid()}"
    s = open_session(version, cid, clean=True if version == V5 else False)
    s.subscribe(topic, qos=1)
    s.disconnect()
    pub = Paho("cdp-" + uid(), V5)
    pub.publish(topic, b"queued", qos=1)
    s2 = open_session(version, cid, clean=True)
    eq(s2.session_present, 0, "CONNACK session present")
    eq(s2.quiet(0.5), [], "queued messages delivered to the new session")
    pub.publish(topic, b"after", qos=1)
    eq(s2.quiet(0.5), [], "messages for the old subscription")


@test("v5 Clean Start 1 discards the session: session present 0, no queued messages, no subscriptions")
def t_clean_v5():
    clean_discards(V5)


@test("v3.1.1 clean session 1 discards the session: session present 0, no queued messages, no subscriptions")
def t_clean_v311():
    clean_discards(V311)


@test("v5 Clean Start 0 without Session Expiry: the session ends at disconnect")
def t_no_expiry_ends():
    cid, topic = "ne-" + uid(), f"ne/{uid()}"
    s = open_v5(cid, clean=False, expiry=None)
    s.subscribe(topic, qos=1)
    s.disconnect()
    pub = Paho("nep-" + uid(), V5)
    pub.publish(topic, b"x", qos=1)
    s2 = open_v5(cid, clean=False, expiry=None)
    eq(s2.session_present, 0, "CONNACK session present")
    eq(s2.quiet(0.5), [], "messages delivered")


@test("v5 Session Expiry 1 s: after 2 s offline the session is gone (session present 0, no messages)")
def t_expiry():
    cid, topic = "se-" + uid(), f"se/{uid()}"
    s = open_v5(cid, clean=True, expiry=1)
    s.subscribe(topic, qos=1)
    s.disconnect()
    pub = Paho("sep-" + uid(), V5)
    pub.publish(topic, b"lost", qos=1)
    time.sleep(2.0)
    s2 = open_v5(cid, clean=False, expiry=60)
    eq(s2.session_present, 0, "CONNACK session present")
    eq(s2.quiet(0.5), [], "messages delivered")
    pub.publish(topic, b"after", qos=1)
    eq(s2.quiet(0.5), [], "messages for the expired session's subscription")


@test("v5 DISCONNECT with Session Expiry Interval 0 ends a persistent session")
def t_disconnect_expiry_zero():
    cid, topic = "dz-" + uid(), f"dz/{uid()}"
    s = open_v5(cid, clean=True, expiry=60)
    s.subscribe(topic, qos=1)
    s.disconnect(properties=props(PacketTypes.DISCONNECT, SessionExpiryInterval=0))
    s2 = open_v5(cid, clean=False)
    eq(s2.session_present, 0, "CONNACK session present")


def offline_queue(prefix, count):
    """A persistent v5 session on the small broker (queue_max_messages 5) goes offline,
    `count` QoS 1 messages are published to it, and it reconnects: returns that client."""
    cid, topic = f"{prefix}-" + uid(), f"{prefix}/{uid()}"
    s = open_v5(cid, clean=True, port_env="EG_PORT_SMALL")
    s.subscribe(topic, qos=1)
    s.disconnect()
    pub = Paho(f"{prefix}p-" + uid(), V5, port_env="EG_PORT_SMALL")
    for i in range(count):
        pub.publish(topic, f"m{i}".encode(), qos=1)
    return open_v5(cid, clean=False, port_env="EG_PORT_SMALL")


@test("session overflow (queue_max_messages 5): 6 QoS 1 messages to an offline session end it "
      "(session present 0, nothing queued)")
def t_overflow():
    s2 = offline_queue("of", 6)
    eq(s2.session_present, 0, "CONNACK session present")
    eq(s2.quiet(0.5), [], "messages delivered")


@test("session under the overflow limit (queue_max_messages 5): 5 QoS 1 messages all arrive, in order")
def t_under_overflow():
    s2 = offline_queue("uf", 5)
    eq(s2.session_present, 1, "CONNACK session present")
    s2.wait_messages(5)
    eq(payloads(s2.quiet(0.3)), [f"m{i}".encode() for i in range(5)], "messages delivered")


@test("v5 unacknowledged QoS 1 PUBLISH re-sent after reconnect with DUP 1 and the same packet id")
def t_redeliver_dup():
    cid, topic = "dup-" + uid(), f"dup/{uid()}"
    r = Raw()
    r.connect(cid, clean=True, props=[(P_SESSION_EXPIRY, 60)])
    r.subscribe(1, [(topic, 1)])
    pub = Paho("dupp-" + uid(), V5)
    pub.publish(topic, b"unacked", qos=1)
    t, f, b = r.expect(PUBLISH)
    first = r.parse_publish(f, b)
    eq((first["payload"], first["dup"]), (b"unacked", False), "first delivery (payload, DUP)")
    r.close()  # no PUBACK
    time.sleep(0.3)
    r2 = Raw()
    present, _, _ = r2.connect(cid, clean=False, props=[(P_SESSION_EXPIRY, 60)])
    eq(present, 1, "CONNACK session present")
    t, f, b = r2.expect(PUBLISH)
    again = r2.parse_publish(f, b)
    eq((again["payload"], again["dup"], again["pid"], again["qos"]), (b"unacked", True, first["pid"], 1),
       "re-sent PUBLISH (payload, DUP, packet id, qos)")
    r2.ack(4, again["pid"])
    eq(r2.collect(0.5), [], "packets after the PUBACK")


@test("v5 QoS 2 outbound: PUBREL re-sent after reconnect when PUBCOMP was missing")
def t_redeliver_pubrel():
    cid, topic = "rel-" + uid(), f"rel/{uid()}"
    r = Raw()
    r.connect(cid, clean=True, props=[(P_SESSION_EXPIRY, 60)])
    r.subscribe(1, [(topic, 2)])
    pub = Paho("relp-" + uid(), V5)
    pub.publish(topic, b"exactly once", qos=2)
    t, f, b = r.expect(PUBLISH)
    m = r.parse_publish(f, b)
    eq(m["qos"], 2, "delivered QoS")
    r.ack(PUBREC, m["pid"])
    t, f, b = r.expect(PUBREL)
    eq(bytes(b[:2]), m["pid"].to_bytes(2, "big"), "PUBREL packet id")
    r.close()  # no PUBCOMP
    time.sleep(0.3)
    r2 = Raw()
    present, _, _ = r2.connect(cid, clean=False, props=[(P_SESSION_EXPIRY, 60)])
    eq(present, 1, "CONNACK session present")
    t, f, b = r2.expect(PUBREL)
    eq((f, bytes(b[:2])), (2, m["pid"].to_bytes(2, "big")), "re-sent PUBREL (flags, packet id)")
    r2.ack(PUBCOMP, m["pid"])
    eq(r2.collect(0.5), [], "packets after PUBCOMP (the message must not be sent again)")


@test("v5 Receive Maximum of the new connection honoured when re-sending unacknowledged messages after reconnect")
def t_resend_receive_maximum():
    cid, topic = "rmr-" + uid(), f"rmr/{uid()}"
    r = Raw()
    r.connect(cid, clean=True, props=[(P_SESSION_EXPIRY, 60), (P_RECEIVE_MAXIMUM, 10)])
    r.subscribe(1, [(topic, 1)])
    pub = Paho("rmrp-" + uid(), V5)
    for i in range(5):
        pub.publish(topic, f"u{i}".encode(), qos=1)
    first = [r.parse_publish(f, b) for t, f, b in r.collect(1.0) if t == PUBLISH]
    eq([p["payload"] for p in first], [f"u{i}".encode() for i in range(5)], "first deliveries (none acknowledged)")
    r.close()
    time.sleep(0.3)
    r2 = Raw()
    present, _, _ = r2.connect(cid, clean=False, props=[(P_SESSION_EXPIRY, 60), (P_RECEIVE_MAXIMUM, 2)])
    eq(present, 1, "CONNACK session present")
    again = [r2.parse_publish(f, b) for t, f, b in r2.collect(1.0) if t == PUBLISH]
    eq([(p["payload"], p["dup"]) for p in again], [(b"u0", True), (b"u1", True)],
       "PUBLISHes re-sent to a connection with Receive Maximum 2, before any PUBACK [MQTT-3.3.4-9, MQTT-4.9.0-2]")
    for p in again:
        r2.ack(PUBACK, p["pid"])
    rest = [r2.parse_publish(f, b) for t, f, b in r2.collect(1.0) if t == PUBLISH]
    eq([p["payload"] for p in rest], [b"u2", b"u3"], "PUBLISHes after acknowledging the first two")


@test("v5 resumed session is not expired by the timer of its earlier disconnect (expiry 2 s, 3 s connected)")
def t_resumed_not_expired():
    cid, topic = "rs-" + uid(), f"rs/{uid()}"
    s = open_v5(cid, clean=True, expiry=2)
    s.subscribe(topic, qos=1)
    s.disconnect()
    s2 = open_v5(cid, clean=False, expiry=2)
    eq(s2.session_present, 1, "CONNACK session present on the quick reconnect")
    time.sleep(3.0)  # past the 2 s the session had left when it was offline
    check(not s2.closed.is_set(), f"connection closed while idle (server DISCONNECT {s2.server_disconnect!r})")
    pub = Paho("rsp-" + uid(), V5)
    pub.publish(topic, b"still subscribed", qos=1)
    eq(payloads(s2.wait_messages(1, timeout=3)), [b"still subscribed"], "messages on the resumed session")


@test("v5 taken-over persistent session is not expired while the new connection is up (expiry 2 s)")
def t_takeover_not_expired():
    # on its own broker (EG_PORT_B): the same defect as the previous test can crash a broker
    cid, topic = "tk-" + uid(), f"tk/{uid()}"
    s = open_v5(cid, clean=True, expiry=2, port_env="EG_PORT_B")
    s.subscribe(topic, qos=1)
    s2 = open_v5(cid, clean=False, expiry=2, port_env="EG_PORT_B")
    eq(s2.session_present, 1, "CONNACK session present on take-over")
    s.wait_closed()
    time.sleep(3.0)
    check(not s2.closed.is_set(), f"connection closed while idle (server DISCONNECT {s2.server_disconnect!r})")
    pub = Paho("tkp-" + uid(), V5, port_env="EG_PORT_B")
    pub.publish(topic, b"still subscribed", qos=1)
    eq(payloads(s2.wait_messages(1, timeout=3)), [b"still subscribed"], "messages on the taken-over session")


if __name__ == "__main__":
    run_tests()
