"""Flow control: a subscriber that falls behind pauses the publishers feeding it (no
QoS 1 message is dropped), and one stuck past slow_subscriber_timeout is disconnected
with 0x97 while the publishers resume.
EG_PORT: a broker with queue_max_messages 20 and slow_subscriber_timeout 2 (see
test_broker_paho.sh).
"""
import struct
import time

from pahoutil import (DISCONNECT, P_RECEIVE_MAXIMUM, PUBACK, PUBLISH, V5, Raw, check, eq, run_tests, test,
                      uid)

COUNT = 200


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


@test("a subscriber that does not acknowledge pauses its publisher (backpressure, not loss)")
def test_backpressure_then_all_delivered():
    topic = "flow/" + uid()
    sub = subscriber(topic, 10)
    pub = publish_all(topic)
    acked = count_pubacks(pub, 1.0)
    # 10 in flight to the subscriber + 20 queued: the publisher stops being read near there.
    check(20 <= acked <= 45, f"publisher got {acked} PUBACKs of {COUNT} while the subscriber was stalled")
    # The subscriber now acknowledges everything: all messages arrive, in order, once.
    got = []
    deadline = time.time() + 10
    while len(got) < COUNT and time.time() < deadline:
        p = sub.read(1.0)
        if p is None:
            continue
        ptype, flags, body = p
        check(ptype == PUBLISH, f"unexpected packet type {ptype}")
        msg = sub.parse_publish(flags, body)
        sub.ack(PUBACK, msg["pid"])
        if not msg["dup"]:
            got.append(int(msg["payload"]))
    eq(got, list(range(COUNT)), "payloads received by the subscriber")
    acked += count_pubacks(pub, 2.0)
    eq(acked, COUNT, "PUBACKs received by the publisher in the end")


@test("a stuck subscriber is disconnected with 0x97 and its publisher resumes")
def test_stuck_subscriber_disconnected():
    topic = "flow/" + uid()
    sub = subscriber(topic, 5)
    pub = publish_all(topic)
    started = time.time()
    got, closed = sub.wait_closed(8)  # never acknowledges
    waited = time.time() - started
    check(closed, "the stuck subscriber was not disconnected within 8 s")
    disconnects = [bytes(b) for t, _, b in got if t == DISCONNECT]
    eq(disconnects[-1:], [b"\x97"], "DISCONNECT reason code")
    check(waited >= 1.5, f"disconnected after {waited:.1f} s, before slow_subscriber_timeout (2 s)")
    eq(count_pubacks(pub, 3.0), COUNT, "PUBACKs received by the publisher once the subscriber is gone")


run_tests()
