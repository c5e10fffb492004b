"""Retained messages: set, replace, delete, delivery on subscribe, retain flag on live
delivery, Retain As Published, Retain Handling 0/1/2, message expiry of retained messages.
EG_PORT: broker with default limits.
"""
import time

from pahoutil import V311, V5, Paho, PacketTypes, check, eq, payloads, prop, props, run_tests, test, uid


def retained_on_subscribe(version):
    topic = f"rt/{uid()}"
    pub = Paho("rtp-" + uid(), V5)
    pub.publish(topic, b"kept", qos=1, retain=True)
    sub = Paho("rts-" + uid(), version)
    sub.subscribe(topic, qos=2)
    sub.wait_messages(1)
    got = sub.quiet(0.3)
    eq([(m.topic, m.payload, m.qos, m.retain) for m in got], [(topic, b"kept", 1, True)],
       "retained delivery (topic, payload, qos, retain flag)")


@test("v5 retained message delivered on subscribe with the retain flag, at min(published, granted) QoS")
def t_retained_v5():
    retained_on_subscribe(V5)


@test("v3.1.1 retained message delivered on subscribe with the retain flag")
def t_retained_v311():
    retained_on_subscribe(V311)


@test("retained message replaced: a new subscriber gets only the last one")
def t_replace():
    topic = f"rr/{uid()}"
    pub = Paho("rrp-" + uid(), V5)
    pub.publish(topic, b"one", qos=1, retain=True)
    pub.publish(topic, b"two", qos=1, retain=True)
    sub = Paho("rrs-" + uid(), V5)
    sub.subscribe(topic, qos=1)
    sub.wait_messages(1)
    eq(payloads(sub.quiet(0.5)), [b"two"], "retained messages delivered")


@test("retained message deleted by an empty retained PUBLISH (forwarded to current subscribers)")
def t_delete():
    topic = f"rd/{uid()}"
    pub = Paho("rdp-" + uid(), V5)
    pub.publish(topic, b"soon gone", qos=1, retain=True)
    live = Paho("rdl-" + uid(), V5)
    live.subscribe(topic, qos=1)
    live.wait_messages(1)  # the retained message
    pub.publish(topic, b"", qos=1, retain=True)
    got = live.wait_messages(2)
    eq(got[1].payload, b"", "the empty PUBLISH is delivered to a current subscriber")
    sub = Paho("rds-" + uid(), V5)
    sub.subscribe(topic, qos=1)
    eq(sub.quiet(0.7), [], "retained messages after the delete")


@test("wildcard subscription gets every matching retained message, not others")
def t_wildcard():
    base = f"rw/{uid()}"
    pub = Paho("rwp-" + uid(), V5)
    for t in ("a", "b/c", "d"):
        pub.publish(f"{base}/{t}", t.encode(), qos=0, retain=True)
    pub.publish(f"rw/{uid()}/a", b"other", qos=0, retain=True)
    time.sleep(0.2)
    sub = Paho("rws-" + uid(), V5)
    sub.subscribe(f"{base}/#", qos=1)
    sub.wait_messages(3)
    got = sub.quiet(0.3)
    eq(sorted((m.topic, m.payload, m.retain) for m in got),
       [(f"{base}/a", b"a", True), (f"{base}/b/c", b"b/c", True), (f"{base}/d", b"d", True)], "retained deliveries")


def live_retain_flag(version):
    topic = f"rl/{uid()}"
    sub = Paho("rls-" + uid(), version)
    sub.subscribe(topic, qos=1)
    pub = Paho("rlp-" + uid(), version)
    pub.publish(topic, b"live", qos=1, retain=True)
    got = sub.wait_messages(1)
    eq([(m.payload, m.retain) for m in got], [(b"live", False)], "(payload, retain flag) on an existing subscription")


@test("v5 retained PUBLISH to an existing subscription (Retain As Published 0): retain flag 0")
def t_live_flag_v5():
    live_retain_flag(V5)


@test("v3.1.1 retained PUBLISH to an existing subscription: retain flag 0 [MQTT-3.3.1-9]")
def t_live_flag_v311():
    live_retain_flag(V311)


@test("v5 Retain As Published 1: retain flag kept as published on live delivery")
def t_rap():
    topic = f"rap/{uid()}"
    sub = Paho("raps-" + uid(), V5)
    sub.subscribe(topic, qos=1, rap=True)
    pub = Paho("rapp-" + uid(), V5)
    pub.publish(topic, b"retained", qos=1, retain=True)
    pub.publish(topic, b"plain", qos=1, retain=False)
    got = sub.wait_messages(2)
    eq([(m.payload, m.retain) for m in got], [(b"retained", True), (b"plain", False)], "(payload, retain flag)")


def resubscribe(rh):
    topic = f"rh{rh}/{uid()}"
    pub = Paho("rhp-" + uid(), V5)
    pub.publish(topic, b"r", qos=1, retain=True)
    sub = Paho("rhs-" + uid(), V5)
    sub.subscribe(topic, qos=1, rh=rh)
    first = len(sub.quiet(0.5))
    sub.subscribe(topic, qos=1, rh=rh)
    second = len(sub.quiet(0.5)) - first
    return first, second


@test("v5 Retain Handling 0: retained message sent on every SUBSCRIBE, new or not")
def t_rh0():
    eq(resubscribe(0), (1, 1), "(retained sent on first SUBSCRIBE, on the repeated SUBSCRIBE)")


@test("v5 Retain Handling 1: retained message sent only for a new subscription")
def t_rh1():
    eq(resubscribe(1), (1, 0), "(retained sent on first SUBSCRIBE, on the repeated SUBSCRIBE)")


@test("v5 Retain Handling 2: retained message never sent on SUBSCRIBE")
def t_rh2():
    eq(resubscribe(2), (0, 0), "(retained sent on first SUBSCRIBE, on the repeated SUBSCRIBE)")


@test("v5 retained message with Message Expiry 60: delivered with the remaining interval")
def t_retained_expiry_remaining():
    topic = f"rx/{uid()}"
    pub = Paho("rxp-" + uid(), V5)
    pub.publish(topic, b"expiring", qos=1, retain=True,
                properties=props(PacketTypes.PUBLISH, MessageExpiryInterval=60))
    time.sleep(1.1)
    sub = Paho("rxs-" + uid(), V5)
    sub.subscribe(topic, qos=1)
    m = sub.wait_messages(1)[0]
    e = prop(m.props, "MessageExpiryInterval")
    check(e is not None and 1 <= e <= 59, f"Message Expiry Interval {e!r}, expected 1..59 after waiting 1.1 s")


@test("v5 retained message with Message Expiry 1: not delivered on subscribe after 2 s")
def t_retained_expired():
    base = f"rxx/{uid()}"
    pub = Paho("rxxp-" + uid(), V5)
    pub.publish(f"{base}/expiring", b"expired", qos=1, retain=True,
                properties=props(PacketTypes.PUBLISH, MessageExpiryInterval=1))
    pub.publish(f"{base}/lasting", b"lasting", qos=1, retain=True)
    time.sleep(2.1)
    sub = Paho("rxxs-" + uid(), V5)
    sub.subscribe(f"{base}/+", qos=1)
    sub.wait_messages(1)
    eq(payloads(sub.quiet(0.5)), [b"lasting"], "retained messages delivered")


if __name__ == "__main__":
    run_tests()
