"""Event Grid compatibility ("compatibility": "eventgrid") against the real broker, driven by
Eclipse Paho and a raw client: each case runs on a broker or namespace in that mode (EG_PORT),
where Event Grid's reason code must come back, and on one left in "mqtt" mode (EG_PORT_MQTT),
where the same operation must be accepted, so the switch is what changes the outcome.

EG_USERNAME: the Username of every paho client (the enforced namespaces' client "dev").
EG_OPEN_MODE=1: also the cases that need the raw client or an empty client identifier (open
mode brokers only: the raw client sends no Username).
"""
import os
import struct

from pahoutil import (DISCONNECT, P_SESSION_EXPIRY, PINGREQ, PINGRESP, PUBACK, PUBLISH, V311, V5, Paho, PacketTypes, Raw, check, eq, packet,
                      prop, props, run_tests, test, uid)

USER = os.environ.get("EG_USERNAME") or None
OPEN_MODE = os.environ.get("EG_OPEN_MODE") == "1"
MODES = (("eventgrid", "EG_PORT"), ("mqtt", "EG_PORT_MQTT"))


def client(port_env, client_id, version=V5, **kw):
    return Paho(client_id, version, port_env=port_env, username=USER, **kw)


def both(what, eventgrid, mqtt, open_only=False):
    """Registers the case once per mode, named by what happens there: fn(eventgrid: bool, port_env)."""
    def deco(fn):
        if open_only and not OPEN_MODE:
            return fn
        for mode, env in MODES:
            outcome = eventgrid if mode == "eventgrid" else mqtt
            test(f"{mode}: {what}: {outcome}")(lambda fn=fn, mode=mode, env=env: fn(mode == "eventgrid", env))
        return fn
    return deco


def closed_with(c, reason):
    """The server ended the connection of `c`, with DISCONNECT `reason` for v5."""
    c.wait_closed()
    if c.version == V5:
        eq(c.server_disconnect, reason, f"{c.client_id}: DISCONNECT reason code")


@both("v5 CONNACK (Response Information requested)",
      "Maximum QoS 1, Retain / Subscription Identifiers / Shared Subscriptions Available 0, no Response Information",
      "every feature available, Response Information responses/{client id}")
def t_connack(eg, env):
    c = client(env, "cp-" + uid(), connect_props=props(PacketTypes.CONNECT, RequestResponseInformation=1))
    p = c.connack_props
    eq(prop(p, "MaximumQoS"), 1 if eg else None, "Maximum QoS (absent = 2)")
    eq(prop(p, "RetainAvailable"), 0 if eg else 1, "Retain Available")
    eq(prop(p, "SubscriptionIdentifierAvailable"), 0 if eg else 1, "Subscription Identifier Available")
    eq(prop(p, "SharedSubscriptionAvailable"), 0 if eg else 1, "Shared Subscription Available")
    eq(prop(p, "WildcardSubscriptionAvailable"), 1, "Wildcard Subscription Available")
    eq(prop(p, "TopicAliasMaximum"), 10, "Topic Alias Maximum")
    info = prop(p, "ResponseInformation")
    if eg:
        eq(info, None, "Response Information")
    else:
        check(info and info.startswith("responses/"), f"Response Information: {info!r}")


@both("v5 CONNECT with a will", "CONNACK 0x83 Implementation specific error", "accepted")
def t_will_v5(eg, env):
    c = client(env, "w5-" + uid(), will=dict(topic="t/will", payload="gone"), expect_rc=0x83 if eg else 0)
    if eg:
        c.wait_closed()


@both("v3.1.1 CONNECT with a will", "CONNACK return code 3, connection closed", "accepted")
def t_will_v311(eg, env):
    c = client(env, "w3-" + uid(), V311, will=dict(topic="t/will", payload="gone"), expect_rc=3 if eg else 0)
    if eg:
        c.wait_closed()


@both("empty client identifier", "v5 CONNACK 0x85, v3.1.1 return code 2", "accepted, v5 gets an assigned one",
      open_only=True)
def t_empty_client_id(eg, env):
    a = client(env, "", V5, expect_rc=0x85 if eg else 0)
    eq(prop(a.connack_props, "AssignedClientIdentifier") is not None, not eg, "Assigned Client Identifier given")
    # paho draws an identifier of its own for an empty v3.1.1 one: the raw client sends it empty
    Raw(port_env=env, version=V311).connect("", clean=True, expect_rc=2 if eg else 0)


@both("v5 PUBLISH with retain", "DISCONNECT 0x9A Retain not supported, nothing delivered",
      "retained for a later subscriber")
def t_retain_v5(eg, env):
    topic = "t/r/" + uid()
    sub = client(env, "rs-" + uid())
    eq(sub.subscribe(topic, qos=1), [1], "SUBACK")
    pub = client(env, "rp-" + uid())
    if eg:
        pub.publish(topic, "kept", qos=1, retain=True, wait=False)
        closed_with(pub, 0x9A)
        eq(sub.quiet(0.5), [], "messages delivered")
    else:
        pub.publish(topic, "kept", qos=1, retain=True)
        late = client(env, "rl-" + uid())
        late.subscribe(topic, qos=1)
        msgs = late.wait_messages(1)
        check(msgs[0].retain, f"the late subscriber got {msgs[0]!r}, not the retained message")


@both("v5 PUBLISH QoS 2", "DISCONNECT 0x9B QoS not supported, nothing delivered", "delivered at QoS 2")
def t_qos2_v5(eg, env):
    topic = "t/q/" + uid()
    sub = client(env, "qs-" + uid())
    eq(sub.subscribe(topic, qos=2), [1 if eg else 2], "SUBACK (granted QoS)")
    pub = client(env, "qp-" + uid())
    if eg:
        pub.publish(topic, "two", qos=2, wait=False)
        closed_with(pub, 0x9B)
        eq(sub.quiet(0.5), [], "messages delivered")
    else:
        pub.publish(topic, "two", qos=2)
        eq(sub.wait_messages(1)[0].qos, 2, "delivered QoS")


@both("v3.1.1 PUBLISH with retain, and one with QoS 2", "the connection closes", "acknowledged")
def t_v311_publish(eg, env):
    for label, qos, retain in (("retain", 1, True), ("QoS 2", 2, False)):
        pub = client(env, "p3-" + uid(), V311)
        info = pub.publish("t/p3/" + uid(), label, qos=qos, retain=retain, wait=not eg)
        if eg:
            closed_with(pub, None)
        else:
            check(info.is_published(), f"{label}: not acknowledged")


@both("SUBSCRIBE asking QoS 2 (v5 and v3.1.1)", "granted 1, QoS 1 delivered", "granted 2, QoS 1 delivered")
def t_subscribe_qos2(eg, env):
    topic = "t/s/" + uid()
    s5 = client(env, "s5-" + uid())
    s3 = client(env, "s3-" + uid(), V311)
    eq(s5.subscribe(topic, qos=2), [1 if eg else 2], "v5 SUBACK")
    eq(s3.subscribe(topic, qos=2), [1 if eg else 2], "v3.1.1 SUBACK")
    client(env, "sp-" + uid()).publish(topic, "one", qos=1)
    eq(s5.wait_messages(1)[0].qos, 1, "v5 delivered QoS")
    eq(s3.wait_messages(1)[0].qos, 1, "v3.1.1 delivered QoS")


@both("shared subscription", "SUBACK 0x9E (v3.1.1: 0x80), a plain filter still granted", "granted")
def t_shared(eg, env):
    tag = uid()
    s5 = client(env, "sh5-" + tag)
    eq(s5.subscribe(f"$share/g/t/sh/{tag}", qos=1), [0x9E if eg else 1], "v5 SUBACK")
    eq(s5.subscribe(f"t/sh/{tag}", qos=1), [1], "v5 SUBACK of a plain filter after it")
    s3 = client(env, "sh3-" + tag, V311)
    eq(s3.subscribe(f"$share/g/t/sh/{tag}", qos=1), [0x80 if eg else 1], "v3.1.1 SUBACK")


@both("SUBSCRIBE with a Subscription Identifier", "DISCONNECT 0xA1", "granted")
def t_sub_id(eg, env):
    c = client(env, "si-" + uid())
    if eg:
        c.c.subscribe("t/si", options=None, properties=props(PacketTypes.SUBSCRIBE, SubscriptionIdentifier=7))
        closed_with(c, 0xA1)
    else:
        eq(c.subscribe("t/si", qos=1, sub_id=7), [1], "SUBACK")


@both("a subscriber's PUBACK with reason 0x80", "DISCONNECT 0x83, the message not sent again",
      "the connection stays", open_only=True)
def t_negative_puback(eg, env):
    topic = "t/na/" + uid()
    raw, name = Raw(port_env=env, version=V5), "na-" + uid()
    raw.connect(name, clean=False, props=[(P_SESSION_EXPIRY, 60)])
    eq(raw.subscribe(1, [(topic, 1)]), [1], "SUBACK")
    client(env, "np-" + uid()).publish(topic, "refuse me", qos=1)
    _, flags, body = raw.expect(PUBLISH)
    pid = raw.parse_publish(flags, body)["pid"]
    raw.send(packet(PUBACK, 0, struct.pack("!HB", pid, 0x80) + b"\x00"))  # PUBACK, Unspecified error
    if eg:
        _, _, body = raw.expect(DISCONNECT)
        eq(body[0], 0x83, "DISCONNECT reason code")
        again = Raw(port_env=env, version=V5)
        again.connect(name, clean=False, props=[(P_SESSION_EXPIRY, 60)])
        eq(again.read(0.5), None, "packet after resuming the session (the refused message again?)")
    else:
        raw.send(packet(PINGREQ, 0, b""))
        raw.expect(PINGRESP)


run_tests()
