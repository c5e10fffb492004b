"""Durability across broker restarts, in phases the shell runs around them
(tests/e2e/test_durability.sh restarts the broker between phases):

  setup TAG N     persistent subscribers (v3.1.1 clean session 0; v5 Clean Start 0 + Session
                  Expiry) on dur/TAG/#, a short-lived v5 session (expiry 3 s), then N QoS 1
                  messages while they are away and a retained message on ret/TAG
  check TAG N     after the restart: both subscribers get every message in order, the
                  retained message is there, the short-lived session is gone
  pubstream TAG FILE
                  publishes QoS 1 one at a time until the broker goes away, appending the index
                  of each PUBACKed message to FILE (the shell kill -9s the broker meanwhile)
  acked TAG FILE  after the restart: the subscriber gets every message listed in FILE, in order
  hold TAG FILE SET
                  connects the clients of SET (stop, crash, enf), writes FILE once they are connected
                  and keeps them connected until the broker goes away (the shell stops or kills it)
  crashcheck TAG  after the kill -9 of the broker that held the "crash" set
  enfcheck TAG    after the restart of the enforcing broker that held the "enf" set
"""
import struct
import sys
import time

from pahoutil import (P_SESSION_EXPIRY, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, V311, V5, Failure, Paho,
                      PacketTypes, Raw, check, eq, payloads, props, run_tests, test)


def session(version, cid, clean, expiry=600, username=None):
    if version == V5:
        return Paho(cid, V5, clean=clean, connect_props=props(PacketTypes.CONNECT, SessionExpiryInterval=expiry),
                    username=username)
    return Paho(cid, V311, clean=clean, username=username)


def will_client(cid, topic, delay, expiry=600, version=V5, username=None):
    """A persistent session whose will (payload "CID gone", QoS 1) waits `delay` seconds."""
    will = dict(topic=topic, payload=f"{cid} gone".encode(), qos=1)
    if version == V5:
        will["properties"] = props(PacketTypes.WILLMESSAGE, WillDelayInterval=delay)
        return Paho(cid, V5, clean=True, connect_props=props(PacketTypes.CONNECT, SessionExpiryInterval=expiry),
                    will=will, username=username)
    return Paho(cid, V311, clean=False, will=will, username=username)


def publish_qos2_unreleased(cid, topic, payload, pid):
    """A persistent v5 session sends a QoS 2 PUBLISH and gets PUBREC, never sending PUBREL."""
    r = Raw()
    r.connect(cid, clean=True, props=[(P_SESSION_EXPIRY, 600)])
    r.publish(topic, payload, qos=2, pid=pid)
    _, _, body = r.expect(PUBREC)
    eq(struct.unpack_from("!H", body)[0], pid, "PUBREC packet id")
    return r


def release_qos2(cid, topic, payload, pid, resend):
    """After the restart: the same session (optionally re-sending the PUBLISH with DUP first)
    sends PUBREL and gets PUBCOMP 0x00, the id being still known; an id never received gets 0x92."""
    r = Raw()
    present, _, _ = r.connect(cid, clean=False, props=[(P_SESSION_EXPIRY, 600)])
    eq(present, 1, f"{cid}: CONNACK session present")
    if resend:
        r.publish(topic, payload, qos=2, pid=pid, dup=True)
        _, _, body = r.expect(PUBREC)
        eq(struct.unpack_from("!H", body)[0], pid, "PUBREC packet id of the re-sent PUBLISH")
    for p, reason in ((pid, 0x00), (pid + 1, 0x92)):
        r.ack(PUBREL, p)
        _, _, body = r.expect(PUBCOMP)
        eq(struct.unpack_from("!H", body)[0], p, "PUBCOMP packet id")
        eq(body[2] if len(body) > 2 else 0, reason, f"PUBCOMP reason code for packet id {p}")
    r.close()


def exactly_once(cid, payload, username=None):
    s = session(V5, cid, clean=False, username=username)
    eq(s.session_present, 1, f"{cid}: CONNACK session present")
    s.wait_messages(1)
    eq(payloads(s.quiet(1.0)), [payload], f"{cid}: messages received")


def expected(n):
    return [f"m{i:05d}".encode() for i in range(n)]


def in_order_no_loss(got, want, what):
    """QoS 1 allows duplicates; order must hold for the first copy of each message."""
    firsts = []
    for p in got:
        if p not in firsts:
            firsts.append(p)
    missing = [p for p in want if p not in firsts]
    check(not missing, f"{what}: {len(missing)} missing, first {missing[:5]}")
    eq([p for p in firsts if p in want], want, f"{what}: order")


def phase_setup(tag, n):
    @test(f"setup: persistent subscribers away, {n} QoS 1 messages and a retained message published")
    def _():
        for version in (V311, V5):
            s = session(version, f"dur{version}-{tag}", clean=version == V5)
            s.subscribe(f"dur/{tag}/#", qos=1)
            s.disconnect()
        # In flight at the stop: sent to a v5 subscriber that never acknowledged them.
        r = Raw()
        r.connect(f"inflight-{tag}", clean=True, props=[(P_SESSION_EXPIRY, 600)])
        r.subscribe(1, [(f"inf/{tag}", 1)])
        pub = Paho(f"pub-{tag}", V5)
        for i in range(3):
            pub.publish(f"inf/{tag}", f"unacked {i}".encode(), qos=1)
        got = [r.parse_publish(f, b) for t, f, b in r.collect(1.0) if t == PUBLISH]
        eq([m["payload"] for m in got], [f"unacked {i}".encode() for i in range(3)], "in-flight messages sent")
        r.close()
        for p in expected(n):
            pub.publish(f"dur/{tag}/x", p, qos=1)
        # The broker is down for more than 2 s: the first expires, the second has less left.
        pub.publish(f"dur/{tag}/e", b"short-lived", qos=1, properties=props(PacketTypes.PUBLISH, MessageExpiryInterval=2))
        pub.publish(f"dur/{tag}/e", b"long-lived", qos=1, properties=props(PacketTypes.PUBLISH, MessageExpiryInterval=600))
        pub.publish(f"ret/{tag}", b"retained across restart", qos=1, retain=True)
        pub.disconnect()
        # Inbound QoS 2 in progress at the stop (PUBREC sent, no PUBREL yet).
        q2sub = session(V5, f"q2sub-{tag}", clean=True)
        q2sub.subscribe(f"q2/{tag}", qos=2)
        q2sub.disconnect()
        publish_qos2_unreleased(f"q2pub-{tag}", f"q2/{tag}", b"exactly once", 7).close()
        # Away while the broker stops: the wills of the "stop" set are queued for it.
        willsub = session(V5, f"willsub-{tag}", clean=True)
        willsub.subscribe(f"will/{tag}/#", qos=1)
        willsub.disconnect()
        # Last, so that its 3 s run out while the broker is down, not before the stop.
        short = session(V5, f"short-{tag}", clean=True, expiry=3)
        short.subscribe(f"short/{tag}", qos=1)
        short.disconnect()


def phase_check(tag, n):
    for version in (V311, V5):
        @test(f"v{'3.1.1' if version == V311 else '5'} persistent subscriber gets all {n} messages, in order, "
              "after the restart")
        def _(version=version):
            s = session(version, f"dur{version}-{tag}", clean=False)
            eq(s.session_present, 1, "CONNACK session present")
            s.wait_messages(n, timeout=15)
            got = s.quiet(0.5)
            in_order_no_loss(payloads(got), expected(n), "messages")
            check(b"short-lived" not in payloads(got), "a message whose expiry passed while the broker was down "
                  "is not delivered")
            check(b"long-lived" in payloads(got), "a message with expiry left is delivered")
            if version == V5:
                left = [m.props.MessageExpiryInterval for m in got if m.payload == b"long-lived"][0]
                check(left < 600, f"the expiry interval is reduced by the time passed: {left}")
            s.disconnect()

    @test("messages in flight at the stop are re-sent with DUP, in order, after the restart")
    def _():
        r = Raw()
        present, _, _ = r.connect(f"inflight-{tag}", clean=False, props=[(P_SESSION_EXPIRY, 600)])
        eq(present, 1, "CONNACK session present")
        got = [r.parse_publish(f, b) for t, f, b in r.collect(1.0) if t == PUBLISH]
        eq([(m["payload"], m["dup"]) for m in got], [(f"unacked {i}".encode(), True) for i in range(3)],
           "re-sent (payload, DUP)")
        for m in got:
            r.ack(PUBACK, m["pid"])
        eq(r.collect(0.5), [], "packets after the PUBACKs")
        r.close()

    @test("the retained message survives the restart")
    def _():
        s = Paho(f"retsub-{tag}", V5)
        s.subscribe(f"ret/{tag}", qos=1)
        got = s.wait_messages(1)
        eq(got[0].payload, b"retained across restart", "retained payload")
        check(got[0].retain, "retain flag set")

    @test("a session whose expiry ran out while the broker was down is gone")
    def _():
        s = session(V5, f"short-{tag}", clean=False, expiry=3)
        eq(s.session_present, 0, "CONNACK session present")
        eq(s.quiet(0.5), [], "messages of the expired session")

    @test("inbound QoS 2 across a SIGTERM restart: the re-sent PUBLISH gets PUBREC, PUBREL gets PUBCOMP 0x00, "
          "delivered exactly once")
    def _():
        release_qos2(f"q2pub-{tag}", f"q2/{tag}", b"exactly once", 7, resend=True)
        exactly_once(f"q2sub-{tag}", b"exactly once")

    @test("wills pending at the stop: published at the restart when their delay (0) or their session (3 s) "
          "ran out while the broker was down, v3.1.1 included; a 600 s delay still runs")
    def _():
        s = session(V5, f"willsub-{tag}", clean=False)
        eq(s.session_present, 1, "CONNACK session present")
        want = sorted(f"{c}-{tag} gone".encode() for c in ("w0", "wend", "w311"))
        s.wait_messages(len(want))
        eq(sorted(payloads(s.quiet(0.5))), want, "wills received")
        ended = session(V5, f"wend-{tag}", clean=False, expiry=3)
        eq(ended.session_present, 0, "CONNACK session present for the session that ended with its will")
        back = session(V5, f"wlong-{tag}", clean=False)  # back before its delay: no will
        eq(back.session_present, 1, "CONNACK session present for the session whose will delay runs")
        back.disconnect()
        eq(sorted(payloads(s.quiet(0.5))), want, "wills received after the 600 s one was cancelled")


def phase_overflow(tag, n):
    @test(f"{n} messages to an away session with queue_max_messages 5: SessionOverflow ends it")
    def _():
        for version in (V311, V5):
            s = session(version, f"ovf{version}-{tag}", clean=version == V5)
            s.subscribe(f"ovf/{tag}", qos=1)
            s.disconnect()
        pub = Paho(f"ovfpub-{tag}", V5)
        for p in expected(n):
            pub.publish(f"ovf/{tag}", p, qos=1)
        pub.disconnect()
        for version in (V311, V5):
            s = session(version, f"ovf{version}-{tag}", clean=False)
            eq(s.session_present, 0, "CONNACK session present after the overflow")
            s.disconnect()
            s = session(version, f"ovf{version}-{tag}", clean=True, expiry=0)  # leaves nothing behind
            s.disconnect()


def phase_pubstream(tag, path):
    # Subscribes first so that every message has a persistent session to be queued for.
    s = session(V5, f"crash-{tag}", clean=True)
    s.subscribe(f"crash/{tag}", qos=1)
    s.disconnect()
    pub = Paho(f"crashpub-{tag}", V5)
    with open(path, "a") as f:
        i = 0
        while True:
            try:
                pub.publish(f"crash/{tag}", f"m{i:05d}".encode(), qos=1)
            except Failure:
                return 0  # the broker was killed: what is in the file was acknowledged
            f.write(f"{i}\n")
            f.flush()
            i += 1


def phase_acked(tag, path):
    with open(path) as f:
        acked = [int(line) for line in f if line.strip()]

    @test(f"kill -9 in sync mode: every PUBACKed message ({len(acked)}) delivered after the restart, in order")
    def _():
        check(len(acked) > 0, "the publisher got no PUBACK before the kill")
        s = session(V5, f"crash-{tag}", clean=False)
        eq(s.session_present, 1, "CONNACK session present")
        s.wait_messages(len(acked), timeout=15)
        want = [f"m{i:05d}".encode() for i in acked]
        in_order_no_loss(payloads(s.quiet(0.3)), want, "acknowledged messages")


def hold_set(tag, which):
    """The clients of a set, connected (subscribers first, then disconnected)."""
    if which == "stop":
        return [will_client(f"w0-{tag}", f"will/{tag}/w0", 0), will_client(f"wlong-{tag}", f"will/{tag}/wlong", 600),
                will_client(f"wend-{tag}", f"will/{tag}/wend", 600, expiry=3),
                will_client(f"w311-{tag}", f"will/{tag}/w311", 0, version=V311)]
    if which == "crash":
        for cid, topic in ((f"cwsub-{tag}", f"cwill/{tag}"), (f"cq2sub-{tag}", f"cq2/{tag}")):
            s = session(V5, cid, clean=True)
            s.subscribe(topic, qos=2)
            s.disconnect()
        publish_qos2_unreleased(f"cq2-{tag}", f"cq2/{tag}", b"crash exactly once", 11)
        return [session(V5, f"cexp-{tag}", clean=True, expiry=3), session(V5, f"ckeep-{tag}", clean=True),
                will_client(f"cwill-{tag}", f"cwill/{tag}", 0)]
    # enf: namespace durns, authentication name dev, which may publish and subscribe t/# only.
    s = session(V5, f"esub-{tag}", clean=True, username="dev")
    s.subscribe(f"t/{tag}/#", qos=1)
    s.disconnect()
    return [will_client(f"ewill-{tag}", f"t/{tag}/will", 0, username="dev"),
            will_client(f"edeny-{tag}", f"x/{tag}/will", 0, username="dev"),
            session(V5, f"eshort-{tag}", clean=True, expiry=3, username="dev")]


def phase_hold(tag, path, which):
    clients = hold_set(tag, which)
    with open(path, "w") as f:
        f.write("connected\n")
    deadline = time.time() + 60
    while time.time() < deadline and not all(c.closed.is_set() for c in clients):
        time.sleep(0.1)
    return 0 if all(c.closed.is_set() for c in clients) else 1


def phase_crashcheck(tag):
    @test("kill -9: a session connected at the crash with a 3 s expiry, the broker down 4 s, is gone; "
          "one with 600 s is kept")
    def _():
        eq(session(V5, f"cexp-{tag}", clean=False, expiry=3).session_present, 0, "CONNACK session present (3 s)")
        eq(session(V5, f"ckeep-{tag}", clean=False).session_present, 1, "CONNACK session present (600 s)")

    @test("kill -9: the will of a session connected at the crash is published at the restart")
    def _():
        exactly_once(f"cwsub-{tag}", f"cwill-{tag} gone".encode())

    @test("kill -9 in sync mode: a QoS 2 PUBLISH that got PUBREC before the crash gets PUBCOMP 0x00 after it, "
          "delivered exactly once")
    def _():
        release_qos2(f"cq2-{tag}", f"cq2/{tag}", b"crash exactly once", 11, resend=False)
        exactly_once(f"cq2sub-{tag}", b"crash exactly once")


def phase_enfcheck(tag):
    @test("enforcing broker restarted: the will its client may publish is published, the one it may not "
          "is not (judged by the saved snapshot)")
    def _():
        exactly_once(f"esub-{tag}", f"ewill-{tag} gone".encode(), username="dev")


if __name__ == "__main__":
    phase, tag, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if phase in ("pubstream", "hold"):
        sys.exit({"pubstream": phase_pubstream, "hold": phase_hold}[phase](tag, *args))
    {"setup": lambda: phase_setup(tag, int(args[0])), "check": lambda: phase_check(tag, int(args[0])),
     "overflow": lambda: phase_overflow(tag, int(args[0])),
     "acked": lambda: phase_acked(tag, args[0]), "crashcheck": lambda: phase_crashcheck(tag),
     "enfcheck": lambda: phase_enfcheck(tag)}[phase]()
    sys.argv = sys.argv[:1]  # run_tests reads its arguments as test filters
    run_tests()
