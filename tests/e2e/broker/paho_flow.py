"""Flow control: a subscriber that falls behind pauses the publishers feeding it (no
QoS 1 message is dropped) while it keeps reading; one that stops (about 1 s without
progress) lets its publishers go on, and is disconnected with 0x97 once its queue is
full, so it slows nobody else down.
EG_PORT: a broker with queue_max_messages 20 and slow_subscriber_timeout 5 (see
test_broker_paho.sh).
"""
import os
import struct
import threading
import time

from pahoutil import (DISCONNECT, P_RECEIVE_MAXIMUM, PUBACK, PUBLISH, V5, Paho, Raw, check, eq, run_tests, test,
                      uid)

COUNT = 200
WORKERS = int(os.environ.get("EGBROKER_WORKERS", "1"))


def subscriber(topic, receive_maximum):
    sub = Raw()
    sub.connect("flow-sub-" + uid(), props=[(P_RECEIVE_MAXIMUM, receive_maximum)])
    eq(sub.subscribe(1, [(topic, 1)]), [1], "SUBACK")
    return sub


def publish_all(topic):
    pub = Raw()
    pub.connect("flow-pub-" + uid())
    for i in range(COUNT):
        pub.publish(topic, b"%05d" % i, qos=1, pid=i + 1)
    return pub


def count_pubacks(pub, seconds):
    acks = 0
    for ptype, _, _ in pub.collect(seconds):
        acks += ptype == PUBACK
    return acks


def drain(sub, count, seconds):
    """Reads and acknowledges what `sub` receives until `count` new messages or `seconds`."""
    got = []
    deadline = time.time() + seconds
    while len(got) < count and time.time() < deadline:
        p = sub.read(1.0)
        if p is None:
            continue
        ptype, flags, body = p
        check(ptype == PUBLISH, f"unexpected packet type {ptype}")
        msg = sub.parse_publish(flags, body)
        sub.ack(PUBACK, msg["pid"])
        if not msg["dup"]:
            got.append(int(msg["payload"]))
    return got


@test("a subscriber that falls behind pauses its publisher (backpressure, not loss)")
def test_backpressure_then_all_delivered():
    topic = "flow/" + uid()
    sub = subscriber(topic, 10)
    pub = publish_all(topic)
    # Half a second without acknowledgements: behind, not yet stopped (about 1 s).
    acked = count_pubacks(pub, 0.5)
    # 10 in flight to the subscriber + 20 queued: the publisher stops being read near there. A
    # publisher on another worker thread learns of the congestion by mail, a few messages later
    # or, when its thread routes the whole burst first, after it: then only loss is checked.
    most = 45 if WORKERS == 1 else COUNT
    check(20 <= acked <= most, f"publisher got {acked} PUBACKs of {COUNT} while the subscriber was stalled")
    # The subscriber now acknowledges everything: all messages arrive, in order, once.
    got = drain(sub, COUNT, 10)
    eq(got, list(range(COUNT)), "payloads received by the subscriber")
    acked += count_pubacks(pub, 2.0)
    eq(acked, COUNT, "PUBACKs received by the publisher in the end")


@test("a stopped subscriber releases its publisher after about 1 s, and is disconnected with 0x97 when its "
      "queue is full")
def test_stuck_subscriber_disconnected():
    topic = "flow/" + uid()
    sub = subscriber(topic, 5)
    pub = publish_all(topic)
    started = time.time()
    got, closed = sub.wait_closed(8)  # never acknowledges
    waited = time.time() - started
    check(closed, "the stopped subscriber was not disconnected within 8 s")
    disconnects = [bytes(b) for t, _, b in got if t == DISCONNECT]
    eq(disconnects[-1:], [b"\x97"], "DISCONNECT reason code")
    check(0.8 <= waited <= 3.0, f"disconnected after {waited:.1f} s, expected about 1 s (stopped, queue full)")
    eq(count_pubacks(pub, 3.0), COUNT, "PUBACKs received by the publisher")


@test("a stopped subscriber does not slow another subscriber of the same publisher")
def test_stopped_subscriber_does_not_slow_others():
    topic = "flow/" + uid()
    stopped = subscriber(topic, 5)
    reader = subscriber(topic, 100)
    pub = publish_all(topic)
    started = time.time()
    got = drain(reader, COUNT, 8)
    took = time.time() - started
    eq(got, list(range(COUNT)), "payloads received by the reading subscriber, in order, once")
    check(took < 3.0, f"the reading subscriber took {took:.1f} s; the stopped one held it back (it stops "
                      "counting after about 1 s; slow_subscriber_timeout is 5 s)")
    _, closed = stopped.wait_closed(5)
    check(closed, "the stopped subscriber was not disconnected")
    eq(count_pubacks(pub, 2.0), COUNT, "PUBACKs received by the publisher")


@test("a publisher paused by a subscriber that has caught up resumes while another, unrelated subscriber is "
      "still behind")
def test_no_cross_talk_between_slow_subscribers():
    slow_topic, quick_topic = "flow/" + uid(), "flow/" + uid()
    slow = subscriber(slow_topic, 5)
    quick = subscriber(quick_topic, 5)
    slow_pub = publish_all(slow_topic)
    done = threading.Event()

    def pace():  # keeps reading, 5 acknowledgements a second: behind for the whole test
        while not done.is_set():
            p = slow.read(0.2)
            if p and p[0] == PUBLISH:
                time.sleep(0.2)
                slow.ack(PUBACK, slow.parse_publish(p[1], p[2])["pid"])

    pacer = threading.Thread(target=pace, daemon=True)
    pacer.start()
    try:
        quick_pub = publish_all(quick_topic)
        time.sleep(0.5)  # behind for half a second too, then it catches up
        started = time.time()
        got = drain(quick, COUNT, 8)
        took = time.time() - started
        eq(got, list(range(COUNT)), "payloads of the subscriber that caught up, in order, once")
        check(took < 3.0, f"it took {took:.1f} s: its publisher waited for the other subscriber (5 s timeout)")
        eq(count_pubacks(quick_pub, 2.0), COUNT, "PUBACKs of its publisher")
    finally:
        done.set()
        pacer.join(2)
    count_pubacks(slow_pub, 0.1)


QOS0_COUNT = 4000  # 4 KiB each: 16 MiB, past what the sockets of a stopped reader can hold


@test("QoS 0: a subscriber that stops reading its socket does not slow a reading one (what it cannot take is "
      "dropped)")
def test_stopped_qos0_subscriber():
    topic = "flow0/" + uid()
    stopped = Raw()
    stopped.connect("flow0-stopped-" + uid())
    eq(stopped.subscribe(1, [(topic, 0)]), [0], "SUBACK")  # then never reads its socket
    reader = Paho("flow0-reader-" + uid(), V5)
    reader.subscribe(topic, qos=0)
    pub = Raw()
    pub.connect("flow0-pub-" + uid())
    started = time.time()
    for i in range(QOS0_COUNT):
        pub.publish(topic, b"%05d" % i + b"x" * 4091, qos=0)
    got = reader.wait_messages(QOS0_COUNT, timeout=10)
    took = time.time() - started
    eq([int(m.payload[:5]) for m in got], list(range(QOS0_COUNT)), "messages of the reading subscriber, in order")
    check(took < 4.0, f"the reading subscriber took {took:.1f} s; the stopped one held the publisher (it stops "
                      "counting after about 1 s; slow_subscriber_timeout is 5 s)")


run_tests()
