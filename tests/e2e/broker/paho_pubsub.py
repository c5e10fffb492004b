"""Publish/subscribe through the real broker: QoS, cross-version delivery, ordering,
overlapping subscriptions, no-local, UNSUBSCRIBE, shared subscriptions, Receive Maximum,
Maximum Packet Size. EG_PORT: broker with default limits.
"""
import time

from pahoutil import (PUBACK, PUBLISH, V311, V5, P_MAX_PACKET, P_RECEIVE_MAXIMUM, Paho, PacketTypes, Raw, check,
                      eq, payloads, prop, props, run_tests, test, uid)

VNAME = {V311: "v3.1.1", V5: "v5"}


def qos_levels(pub_v, sub_v):
    """Publisher (pub_v) -> subscriber (sub_v, granted QoS 2): QoS 0, 1, 2 each arrive once, same QoS."""
    topic = f"q/{uid()}"
    sub = Paho("s-" + uid(), sub_v)
    eq(sub.subscribe(topic, qos=2), [2], "SUBACK granted QoS")
    pub = Paho("p-" + uid(), pub_v)
    for q in (0, 1, 2):
        pub.publish(topic, f"qos{q}".encode(), qos=q)
    got = sub.wait_messages(3)
    got = sub.quiet(0.3)
    eq(sorted((m.topic, m.payload, m.qos, m.retain) for m in got),
       [(topic, b"qos0", 0, False), (topic, b"qos1", 1, False), (topic, b"qos2", 2, False)],
       f"{VNAME[pub_v]} -> {VNAME[sub_v]} deliveries (topic, payload, qos, retain)")
    return got


for _pv in (V311, V5):
    for _sv in (V311, V5):
        test(f"{VNAME[_pv]} publisher -> {VNAME[_sv]} subscriber: QoS 0, 1, 2 each delivered once at that QoS")(
            lambda pv=_pv, sv=_sv: qos_levels(pv, sv))


@test("v5 publisher with v5 properties -> v3.1.1 subscriber: payload and QoS delivered")
def t_v5_props_to_v311():
    topic = f"x/{uid()}"
    sub = Paho("s311-" + uid(), V311)
    sub.subscribe(topic, qos=1)
    pub = Paho("p5-" + uid(), V5)
    p = props(PacketTypes.PUBLISH, ContentType="text/plain", MessageExpiryInterval=60, ResponseTopic="r/t",
              CorrelationData=b"\x01\x02", PayloadFormatIndicator=1)
    p.UserProperty = ("k", "v")
    pub.publish(topic, b"from v5", qos=1, properties=p)
    got = sub.wait_messages(1)
    eq([(m.payload, m.qos) for m in got], [(b"from v5", 1)], "v3.1.1 subscriber deliveries")


@test("v3.1.1 publisher -> v5 subscriber: no v5 properties invented")
def t_v311_to_v5_no_props():
    topic = f"x/{uid()}"
    sub = Paho("s5-" + uid(), V5)
    sub.subscribe(topic, qos=1)
    pub = Paho("p311-" + uid(), V311)
    pub.publish(topic, b"from 3.1.1", qos=1)
    m = sub.wait_messages(1)[0]
    eq(m.payload, b"from 3.1.1", "payload")
    for name in ("UserProperty", "ContentType", "MessageExpiryInterval", "ResponseTopic", "CorrelationData",
                 "PayloadFormatIndicator", "SubscriptionIdentifier"):
        eq(prop(m.props, name), None, f"property {name}")


def ordering(version):
    topic = f"order/{uid()}"
    sub = Paho("os-" + uid(), version)
    sub.subscribe(topic, qos=1)
    # Room for all 200 in flight: paho 1.6 sends a message it had to queue from its network
    # thread, and a publish() of the main thread that finds room meanwhile can overtake it.
    pub = Paho("op-" + uid(), version, max_inflight=1000)
    infos = [pub.publish(topic, str(i).encode(), qos=1, wait=False) for i in range(200)]
    for info in infos:
        info.wait_for_publish(10)
    check(all(i.is_published() for i in infos), "not every PUBLISH was acknowledged")
    got = sub.wait_messages(200, timeout=15)
    got = sub.quiet(0.3)
    eq(len(got), 200, "messages received")
    eq(payloads(got), [str(i).encode() for i in range(200)], "order of the 200 messages")
    check(all(m.qos == 1 for m in got), "some message not delivered at QoS 1")


@test("v5: 200 QoS 1 messages from one publisher arrive in order")
def t_order_v5():
    ordering(V5)


@test("v3.1.1: 200 QoS 1 messages from one publisher arrive in order")
def t_order_v311():
    ordering(V311)


def downgrade(version):
    t0, t1 = f"dg/{uid()}/0", f"dg/{uid()}/1"
    sub = Paho("dg-" + uid(), version)
    eq(sub.subscribe(t0, qos=0), [0], "granted QoS for the QoS 0 subscription")
    eq(sub.subscribe(t1, qos=1), [1], "granted QoS for the QoS 1 subscription")
    pub = Paho("dgp-" + uid(), version)
    pub.publish(t0, b"two-to-zero", qos=2)
    pub.publish(t1, b"two-to-one", qos=2)
    pub.publish(t0, b"one-to-zero", qos=1)
    sub.wait_messages(3)
    got = sorted((m.payload, m.qos) for m in sub.quiet(0.3))
    eq(got, [(b"one-to-zero", 0), (b"two-to-one", 1), (b"two-to-zero", 0)], "(payload, delivered QoS)")


@test("v5: QoS downgraded to the granted QoS")
def t_downgrade_v5():
    downgrade(V5)


@test("v3.1.1: QoS downgraded to the granted QoS")
def t_downgrade_v311():
    downgrade(V311)


@test("v5 overlapping subscriptions: one delivery at the highest QoS with every matching subscription id")
def t_overlap_v5():
    base = f"ov/{uid()}"
    sub = Paho("ov-" + uid(), V5)
    sub.subscribe(f"{base}/+", qos=0, sub_id=11)
    sub.subscribe(f"{base}/#", qos=2, sub_id=22)
    sub.subscribe(f"{base}/a", qos=1)  # no identifier
    sub.subscribe(f"{base}/b", qos=1, sub_id=33)  # does not match
    pub = Paho("ovp-" + uid(), V5)
    pub.publish(f"{base}/a", b"overlap", qos=2)
    sub.wait_messages(1)
    got = sub.quiet(0.5)
    eq(len(got), 1, f"deliveries of one message matching 3 subscriptions: {got}")
    eq(got[0].qos, 2, "delivered QoS (highest granted)")
    eq(sorted(prop(got[0].props, "SubscriptionIdentifier", [])), [11, 22], "Subscription Identifiers")


@test("v5 subscription identifier: delivered with the message of that subscription only")
def t_sub_id_single():
    base = f"sid/{uid()}"
    sub = Paho("sid-" + uid(), V5)
    sub.subscribe(f"{base}/a", qos=1, sub_id=7)
    sub.subscribe(f"{base}/b", qos=1)
    pub = Paho("sidp-" + uid(), V5)
    pub.publish(f"{base}/a", b"a", qos=1)
    pub.publish(f"{base}/b", b"b", qos=1)
    got = {m.payload: prop(m.props, "SubscriptionIdentifier") for m in sub.wait_messages(2)}
    eq(got, {b"a": [7], b"b": None}, "Subscription Identifier per message")


@test("v3.1.1 overlapping subscriptions: delivered at the highest granted QoS")
def t_overlap_v311():
    base = f"ov311/{uid()}"
    sub = Paho("ov311-" + uid(), V311)
    sub.subscribe(f"{base}/+", qos=0)
    sub.subscribe(f"{base}/#", qos=2)
    pub = Paho("ovp311-" + uid(), V311)
    pub.publish(f"{base}/a", b"m", qos=2)
    sub.wait_messages(1)
    got = sub.quiet(0.5)
    check(len(got) >= 1 and max(m.qos for m in got) == 2, f"no delivery at QoS 2: {got}")


@test("v5 no-local: own messages not delivered, other clients' messages are")
def t_no_local():
    topic = f"nl/{uid()}"
    a = Paho("nla-" + uid(), V5)
    a.subscribe(topic, qos=1, no_local=True)
    watcher = Paho("nlw-" + uid(), V5)
    watcher.subscribe(topic, qos=1)  # same topic without no-local
    b = Paho("nlb-" + uid(), V5)
    a.publish(topic, b"from a", qos=1)
    b.publish(topic, b"from b", qos=1)
    watcher.wait_messages(2)
    a.wait_messages(1)
    eq(payloads(a.quiet(0.5)), [b"from b"], "messages to the no-local subscriber")
    eq(sorted(payloads(watcher.quiet(0))), [b"from a", b"from b"], "messages to the other subscriber")


@test("v5 without no-local: a subscriber receives its own messages")
def t_local_default():
    topic = f"nl0/{uid()}"
    a = Paho("nl0-" + uid(), V5)
    a.subscribe(topic, qos=1)
    a.publish(topic, b"own", qos=1)
    eq(payloads(a.wait_messages(1)), [b"own"], "own message")


@test("v5 UNSUBSCRIBE: reason codes 0x00 (removed) and 0x11 (no subscription existed); no more deliveries")
def t_unsubscribe():
    base = f"un/{uid()}"
    sub = Paho("un-" + uid(), V5)
    sub.subscribe(f"{base}/a", qos=1)
    eq(sub.unsubscribe([f"{base}/a", f"{base}/never"]), [0x00, 0x11], "UNSUBACK reason codes")
    pub = Paho("unp-" + uid(), V5)
    pub.publish(f"{base}/a", b"after unsubscribe", qos=1)
    eq(sub.quiet(0.7), [], "messages after UNSUBSCRIBE")
    eq(sub.unsubscribe([f"{base}/a"]), [0x11], "UNSUBACK for the second UNSUBSCRIBE")


@test("shared subscription $share/g: 30 messages split over 3 members, a plain subscriber gets all 30")
def t_shared():
    topic = f"sh/{uid()}"
    members = [Paho(f"sh{i}-" + uid(), V5) for i in range(3)]
    for m in members:
        eq(m.subscribe(f"$share/g/{topic}", qos=1), [1], "SUBACK for the shared subscription")
    plain = Paho("shplain-" + uid(), V5)
    plain.subscribe(topic, qos=1)
    pub = Paho("shp-" + uid(), V5)
    sent = [f"m{i}".encode() for i in range(30)]
    for p in sent:
        pub.publish(topic, p, qos=1)
    plain.wait_messages(30)
    deadline = time.time() + 5
    while time.time() < deadline and sum(len(m.quiet(0)) for m in members) < 30:
        time.sleep(0.05)
    time.sleep(0.3)  # anything extra (a duplicate) has time to arrive
    per_member = [payloads(m.quiet(0)) for m in members]
    allp = [p for x in per_member for p in x]
    counts = [len(x) for x in per_member]
    eq(sorted(allp), sorted(sent), f"union of the members' messages (counts {counts})")
    eq(len(allp), 30, f"total over the members (counts {counts})")
    check(all(c > 0 for c in counts), f"some member got nothing: counts {counts}")
    eq(sorted(payloads(plain.quiet(0))), sorted(sent), "messages to the plain subscriber")


@test("shared subscription: QoS 1 messages a member never acknowledged go to another member when it disconnects")
def t_shared_redelivery():
    topic = f"shr/{uid()}"
    lazy = Raw()  # receives its share but never acknowledges
    lazy.connect("shr-lazy-" + uid())
    eq(lazy.subscribe(1, [(f"$share/g/{topic}", 1)]), [1], "SUBACK for the lazy member")
    busy = Paho("shr-busy-" + uid(), V5)
    eq(busy.subscribe(f"$share/g/{topic}", qos=1), [1], "SUBACK for the other member")
    pub = Paho("shr-pub-" + uid(), V5)
    sent = [f"r{i}".encode() for i in range(10)]
    for p in sent:
        pub.publish(topic, p, qos=1)
    unacked = [lazy.parse_publish(f, b)["payload"] for t, f, b in lazy.collect(1.0) if t == PUBLISH]
    check(unacked, "the lazy member got no share of the messages")
    lazy.close()  # gone without acknowledging
    deadline = time.time() + 5
    while time.time() < deadline and len(set(payloads(busy.quiet(0)))) < len(sent):
        time.sleep(0.05)
    got = payloads(busy.quiet(0.3))
    eq(sorted(set(got)), sorted(sent), f"messages at the remaining member ({len(unacked)} were left unacknowledged)")


@test("v5 PUBACK reason code: 0x10 when no subscription matches, 0x00 when one does")
def t_puback_codes():
    topic = f"pa/{uid()}"
    r = Raw()
    r.connect("pa-" + uid())
    r.publish(topic, b"nobody", qos=1, pid=3)
    _, _, body = r.expect(PUBACK)
    eq(bytes(body[:3]), b"\x00\x03\x10", "PUBACK (packet id, reason) with no subscriber")
    sub = Paho("pas-" + uid(), V5)
    sub.subscribe(topic, qos=1)
    r.publish(topic, b"somebody", qos=1, pid=4)
    _, _, body = r.expect(PUBACK)
    eq((bytes(body[:2]), body[2] if len(body) > 2 else 0), (b"\x00\x04", 0), "PUBACK (packet id, reason) with a subscriber")
    eq(payloads(sub.wait_messages(1)), [b"somebody"], "delivered")


@test("v5 Receive Maximum 2: never more than 2 unacknowledged QoS 1 PUBLISHes in flight")
def t_receive_maximum():
    topic = f"rm/{uid()}"
    r = Raw()
    r.connect("rm-" + uid(), props=[(P_RECEIVE_MAXIMUM, 2)])
    eq(r.subscribe(1, [(topic, 1)]), [1], "SUBACK")
    pub = Paho("rmp-" + uid(), V5)
    for i in range(5):
        pub.publish(topic, f"r{i}".encode(), qos=1)

    def publishes(packets):
        return [r.parse_publish(f, b) for t, f, b in packets if t == PUBLISH]

    first = publishes(r.collect(1.0))
    eq([p["payload"] for p in first], [b"r0", b"r1"], "PUBLISHes before any PUBACK")
    r.ack(PUBACK, first[0]["pid"])
    second = publishes(r.collect(1.0))
    eq([p["payload"] for p in second], [b"r2"], "PUBLISHes after one PUBACK")
    for p in first[1:] + second:
        r.ack(PUBACK, p["pid"])
    rest = publishes(r.collect(1.0))
    eq([p["payload"] for p in rest], [b"r3", b"r4"], "PUBLISHes after acknowledging all")
    check(all(p["qos"] == 1 and not p["dup"] for p in first + second + rest), "unexpected QoS or DUP flag")


@test("v5 client Maximum Packet Size 128: a bigger message is not sent to it, a smaller one is")
def t_client_max_packet():
    topic = f"mp/{uid()}"
    r = Raw()
    r.connect("mp-" + uid(), props=[(P_MAX_PACKET, 128)])
    r.subscribe(1, [(topic, 0)])
    pub = Paho("mpp-" + uid(), V5)
    pub.publish(topic, b"x" * 500, qos=1)
    pub.publish(topic, b"small", qos=1)
    got = r.collect(1.0)
    check(all(len(b) + 2 <= 128 for _, _, b in got), f"a packet over 128 bytes was sent: {[len(b) for _, _, b in got]}")
    eq([r.parse_publish(f, b)["payload"] for t, f, b in got if t == PUBLISH], [b"small"], "messages delivered")


@test("v5 PUBLISH over the server Maximum Packet Size (512 KiB): DISCONNECT 0x95")
def t_server_max_packet():
    r = Raw()
    r.connect("mps-" + uid())
    topic = f"mps/{uid()}"
    r.publish(topic, b"x" * (524288 + 10), qos=0)
    got, closed = r.wait_closed(3)
    check(closed, "connection not closed")
    eq([(t, bytes(b)) for t, _, b in got], [(14, b"\x95")], "packets before the close")


if __name__ == "__main__":
    run_tests()
