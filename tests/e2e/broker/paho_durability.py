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
"""
import sys

from pahoutil import (P_SESSION_EXPIRY, PUBACK, PUBLISH, V311, V5, Failure, Paho, PacketTypes, Raw, check, eq, payloads,
                      props, run_tests, test)


def session(version, cid, clean, expiry=600):
    if version == V5:
        return Paho(cid, V5, clean=clean, connect_props=props(PacketTypes.CONNECT, SessionExpiryInterval=expiry))
    return Paho(cid, V311, clean=clean)


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


if __name__ == "__main__":
    phase, tag, arg = sys.argv[1], sys.argv[2], sys.argv[3]
    if phase == "pubstream":
        sys.exit(phase_pubstream(tag, arg))
    {"setup": lambda: phase_setup(tag, int(arg)), "check": lambda: phase_check(tag, int(arg)),
     "overflow": lambda: phase_overflow(tag, int(arg)),
     "acked": lambda: phase_acked(tag, arg)}[phase]()
    sys.argv = sys.argv[:1]  # run_tests reads its arguments as test filters
    run_tests()
