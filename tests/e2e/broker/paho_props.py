"""v5 PUBLISH properties through the real broker: pass-through, message expiry, topic
aliases from the client, payload format validation. EG_PORT: broker with default limits.
"""
import time

from pahoutil import (DISCONNECT, P_PAYLOAD_FORMAT, P_TOPIC_ALIAS, PUBACK, V5, Paho, PacketTypes, Raw, check, eq,
                      payloads, prop, props, run_tests, test, uid)

USER = [("b", "1"), ("a", "2"), ("b", "3"), ("ключ", "значение")]


def full_props(**extra):
    p = props(PacketTypes.PUBLISH, ContentType="application/json; charset=utf-8", PayloadFormatIndicator=1,
              ResponseTopic="replies/here", CorrelationData=b"\x00\x01\xfe\xff", **extra)
    p.UserProperty = USER
    return p


@test("v5 user properties (order and duplicates kept), content type, payload format, response topic, "
      "correlation data passed through unchanged")
def t_passthrough():
    topic = f"pp/{uid()}"
    sub = Paho("pps-" + uid(), V5)
    sub.subscribe(topic, qos=1)
    pub = Paho("ppp-" + uid(), V5)
    pub.publish(topic, b'{"n": 1}', qos=1, properties=full_props())
    m = sub.wait_messages(1)[0]
    eq(m.payload, b'{"n": 1}', "payload")
    eq(prop(m.props, "UserProperty"), USER, "User Properties")
    eq(prop(m.props, "ContentType"), "application/json; charset=utf-8", "Content Type")
    eq(prop(m.props, "PayloadFormatIndicator"), 1, "Payload Format Indicator")
    eq(prop(m.props, "ResponseTopic"), "replies/here", "Response Topic")
    eq(prop(m.props, "CorrelationData"), b"\x00\x01\xfe\xff", "Correlation Data")
    eq(prop(m.props, "MessageExpiryInterval"), None, "Message Expiry Interval (none was set)")
    eq(prop(m.props, "TopicAlias"), None, "Topic Alias (the broker sends none)")


@test("v5 properties also pass through QoS 0 and QoS 2 deliveries")
def t_passthrough_qos02():
    topic = f"pp02/{uid()}"
    sub = Paho("pp02s-" + uid(), V5)
    sub.subscribe(topic, qos=2)
    pub = Paho("pp02p-" + uid(), V5)
    pub.publish(topic, b"q0", qos=0, properties=full_props())
    pub.publish(topic, b"q2", qos=2, properties=full_props())
    got = sub.wait_messages(2)
    for m in got:
        eq((prop(m.props, "UserProperty"), prop(m.props, "CorrelationData"), prop(m.props, "ResponseTopic")),
           (USER, b"\x00\x01\xfe\xff", "replies/here"), f"properties of {m.payload!r}")


@test("v5 Message Expiry Interval forwarded to an online subscriber (100 s published -> 99..100)")
def t_expiry_online():
    topic = f"me/{uid()}"
    sub = Paho("mes-" + uid(), V5)
    sub.subscribe(topic, qos=1)
    pub = Paho("mep-" + uid(), V5)
    pub.publish(topic, b"e", qos=1, properties=props(PacketTypes.PUBLISH, MessageExpiryInterval=100))
    e = prop(sub.wait_messages(1)[0].props, "MessageExpiryInterval")
    check(e in (99, 100), f"Message Expiry Interval {e!r}, expected 99 or 100")


def persistent_subscriber(cid, topic):
    s = Paho(cid, V5, clean=True, connect_props=props(PacketTypes.CONNECT, SessionExpiryInterval=60))
    s.subscribe(topic, qos=1)
    s.disconnect()


def resume(cid):
    return Paho(cid, V5, clean=False, connect_props=props(PacketTypes.CONNECT, SessionExpiryInterval=60))


@test("v5 queued message: Message Expiry Interval forwarded as the remaining time (10 s, 2 s offline -> <= 8)")
def t_expiry_remaining():
    cid, topic = "mer-" + uid(), f"mer/{uid()}"
    persistent_subscriber(cid, topic)
    pub = Paho("merp-" + uid(), V5)
    pub.publish(topic, b"waited", qos=1, properties=props(PacketTypes.PUBLISH, MessageExpiryInterval=10))
    time.sleep(2.0)
    s = resume(cid)
    eq(s.session_present, 1, "session present")
    m = s.wait_messages(1)[0]
    e = prop(m.props, "MessageExpiryInterval")
    check(e is not None and 1 <= e <= 8, f"Message Expiry Interval {e!r}, expected 1..8 after 2 s in the queue")


@test("v5 queued message with Message Expiry 1 s: not delivered after 2 s offline (others are)")
def t_expiry_dropped():
    cid, topic = "mex-" + uid(), f"mex/{uid()}"
    persistent_subscriber(cid, topic)
    pub = Paho("mexp-" + uid(), V5)
    pub.publish(topic, b"expires", qos=1, properties=props(PacketTypes.PUBLISH, MessageExpiryInterval=1))
    pub.publish(topic, b"stays", qos=1)
    time.sleep(2.0)
    s = resume(cid)
    eq(s.session_present, 1, "session present")
    s.wait_messages(1)
    got = s.quiet(0.5)
    eq(payloads(got), [b"stays"], "messages delivered after reconnecting")
    eq(prop(got[0].props, "MessageExpiryInterval"), None, "Message Expiry Interval of the message without one")


@test("v5 topic alias: set with a topic, then used with an empty topic; delivered on the real topic")
def t_alias_use():
    topic = f"ta/{uid()}"
    sub = Paho("tas-" + uid(), V5)
    sub.subscribe(topic, qos=1)
    pub = Paho("tap-" + uid(), V5)
    pub.publish(topic, b"set", qos=1, properties=props(PacketTypes.PUBLISH, TopicAlias=1))
    pub.publish("", b"use", qos=1, properties=props(PacketTypes.PUBLISH, TopicAlias=1))
    pub.publish("", b"use again", qos=0, properties=props(PacketTypes.PUBLISH, TopicAlias=1))
    got = sub.wait_messages(3)
    eq([(m.topic, m.payload) for m in got], [(topic, b"set"), (topic, b"use"), (topic, b"use again")],
       "(topic, payload) delivered")
    check(not pub.closed.is_set(), f"publisher disconnected (reason {pub.server_disconnect!r})")


@test("v5 topic alias re-mapped to another topic: later uses go to the new topic")
def t_alias_remap():
    base = f"tar/{uid()}"
    sub = Paho("tars-" + uid(), V5)
    sub.subscribe(f"{base}/#", qos=1)
    pub = Paho("tarp-" + uid(), V5)
    pub.publish(f"{base}/one", b"1", qos=1, properties=props(PacketTypes.PUBLISH, TopicAlias=10))
    pub.publish(f"{base}/two", b"2", qos=1, properties=props(PacketTypes.PUBLISH, TopicAlias=10))
    pub.publish("", b"3", qos=1, properties=props(PacketTypes.PUBLISH, TopicAlias=10))
    got = sub.wait_messages(3)
    eq([(m.topic, m.payload) for m in got], [(f"{base}/one", b"1"), (f"{base}/two", b"2"), (f"{base}/two", b"3")],
       "(topic, payload) delivered")


def bad_alias(alias):
    topic = f"tab/{uid()}"
    sub = Paho("tabs-" + uid(), V5)
    sub.subscribe(topic, qos=1)
    pub = Paho("tabp-" + uid(), V5)
    pub.publish(topic, b"bad alias", qos=1, properties=props(PacketTypes.PUBLISH, TopicAlias=alias), wait=False)
    pub.wait_closed()
    eq(pub.server_disconnect, 0x94, f"DISCONNECT reason code for Topic Alias {alias}")
    eq(sub.quiet(0.3), [], "messages delivered")


@test("v5 Topic Alias 0: DISCONNECT 0x94 (Topic Alias invalid)")
def t_alias_zero():
    # paho refuses to send Topic Alias 0, so this client is a raw one
    topic = f"tab0/{uid()}"
    sub = Paho("tab0s-" + uid(), V5)
    sub.subscribe(topic, qos=1)
    r = Raw()
    r.connect("tab0p-" + uid())
    r.publish(topic, b"bad alias", qos=1, pid=1, props=[(P_TOPIC_ALIAS, 0)])
    r.expect_server_disconnect(b"\x94", 3)
    eq(sub.quiet(0.3), [], "messages delivered")


@test("v5 Topic Alias 11 (> Topic Alias Maximum 10): DISCONNECT 0x94")
def t_alias_too_big():
    bad_alias(11)


@test("v5 empty topic with an alias never set: DISCONNECT 0x82 (Protocol Error)")
def t_alias_unset():
    r = Raw()
    r.connect("tau-" + uid())
    r.publish("", b"nowhere", qos=1, pid=1, props=[(P_TOPIC_ALIAS, 3)])
    r.expect_server_disconnect(b"\x82", 3)


@test("v5 Payload Format Indicator 1 with invalid UTF-8: PUBACK 0x99, not delivered")
def t_payload_format_invalid():
    topic = f"pf/{uid()}"
    sub = Paho("pfs-" + uid(), V5)
    sub.subscribe(topic, qos=1)
    r = Raw()
    r.connect("pfp-" + uid())
    r.publish(topic, b"\xff\xfe not utf-8", qos=1, pid=5, props=[(P_PAYLOAD_FORMAT, 1)])
    _, _, body = r.expect(PUBACK)
    eq(bytes(body[:3]), b"\x00\x05\x99", "PUBACK packet id and reason code")
    r.publish(topic, "valid UTF-8 ✓".encode(), qos=1, pid=6, props=[(P_PAYLOAD_FORMAT, 1)])
    _, _, body = r.expect(PUBACK)
    eq(bytes(body[:2]), b"\x00\x06", "PUBACK packet id")
    eq(body[2] if len(body) > 2 else 0, 0, "PUBACK reason code for valid UTF-8 (a subscriber exists)")
    sub.wait_messages(1)
    eq(payloads(sub.quiet(0.3)), ["valid UTF-8 ✓".encode()], "messages delivered")


if __name__ == "__main__":
    run_tests()
