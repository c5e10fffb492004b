"""Quotas of a namespace with throughputUnits (SPEC section 6), against the broker of
tests/e2e/test_quotas.sh: ns1 sets throughputUnits 1 (plain listener EG_PLAIN_PORT), ns2 sets
none (EG_PLAIN2_PORT). Configured limits: 20 PUBLISH/s per session (burst 20), a disconnect
after 2 s of refusals, 4 sessions and 3 retained messages per throughput unit. Clients are paho
(v5 and v3.1.1) and mosquitto_pub, all as client "dev" (allowed on t/# and r/#).
"""
import functools
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "enforcement"))

from enfutil import V311, WAIT, TlsPaho, check, eq, metrics, run_tests, test, uid  # noqa: E402
from pahoutil import props  # noqa: E402
from opsmetrics import closed, expect_deltas, series  # noqa: E402

# The throttling kinds and the closes by reason are always written: each must exist.
expect_deltas_all = functools.partial(expect_deltas, must_exist=True)
from paho.mqtt.packettypes import PacketTypes  # noqa: E402

QUOTA_EXCEEDED, RATE_TOO_HIGH = 0x97, 0x96
RATE, SESSIONS, RETAINED = 20, 4, 3
WORKERS = int(os.environ.get("EGBROKER_WORKERS", "1"))


def throttled(kind, ns="ns1"):
    return series("throttling_events_total", ns, kind=kind)


def failed(code, ns="ns1"):
    return series("publish_failed_total", ns, reason_code=f"0x{code:02x}")


def dev(client_id, ns2=False, **kw):
    p = TlsPaho(client_id, None, "dev", tls=False, port_env="EG_PLAIN2_PORT" if ns2 else "EG_PLAIN_PORT", **kw)
    p.c.max_inflight_messages_set(1000)  # the broker's Receive Maximum, not paho's default 20
    return p


def publish_burst(p, n, topic="t/burst", qos=1, retain=False):
    """Publishes n messages at once (pipelined) and waits for their acks (QoS 1); returns the
    PUBACK reason codes in order (QoS 0: [])."""
    infos = [p.c.publish(topic, b"m%d" % i, qos=qos, retain=retain) for i in range(n)]
    if qos == 0:
        return []
    for info in infos:
        info.wait_for_publish(WAIT)
        check(info.is_published(), f"{p.client_id}: no PUBACK within {WAIT} s")
    return [p.c.pubacks.get(info.mid) for info in infos]


def ok_code(rc):
    # 0x10 (no matching subscribers) is a success too; with several workers 0x00 either way
    return rc in (0, 0x10)


@test("ns1 v5 QoS 1 under the rate: every PUBACK 0x00, every message delivered")
def _():
    sub = dev("sub-" + uid())
    eq(sub.subscribe("t/#", qos=1), [1], "SUBACK")
    p = dev("slow-" + uid())
    codes = []
    for i in range(2 * RATE):  # 2 s at half the rate
        codes.append(p.publish_rc("t/slow", b"s%d" % i))
        time.sleep(1.0 / (RATE / 2))
    eq(codes, [0] * len(codes), "PUBACK codes")
    eq(len(sub.wait_messages(len(codes))), len(codes), "messages delivered")


@test("ns1 v5 over the rate: the burst passes, then PUBACK 0x97 (not routed); kept up: DISCONNECT 0x96")
def _():
    sub = dev("sub-" + uid())
    eq(sub.subscribe("t/#", qos=1), [1], "SUBACK")
    before = metrics()
    p = dev("fast-" + uid())
    codes = publish_burst(p, 3 * RATE)
    accepted = sum(ok_code(c) for c in codes)
    refused = codes.count(QUOTA_EXCEEDED)
    eq(accepted + refused, len(codes), f"every PUBACK is 0x00 or 0x97: {codes}")
    # tokens come back at RATE/s while the burst is read: a few more may pass on a slow machine
    check(RATE <= accepted <= RATE + 10, f"the burst of {RATE} passes, little more: {accepted} accepted")
    check(all(ok_code(c) for c in codes[:RATE]), f"the first {RATE} pass: {codes[:RATE]}")
    sub.quiet(0.3)
    eq(len(sub.messages), accepted, "messages delivered (the refused ones are not routed)")
    # Kept up at twice the rate: refused without a second's pause, disconnected after 2 s.
    started = time.time()
    sent = 0
    while not p.closed.is_set() and time.time() - started < 6:
        p.c.publish("t/burst", b"k", qos=1)
        sent += 1
        time.sleep(1.0 / (2 * RATE))
    p.wait_closed(1)
    took = time.time() - started
    eq(p.server_disconnect, RATE_TOO_HIGH, "the server's DISCONNECT reason code")
    # the run of refusals began with the burst, a moment before this loop
    check(1.0 <= took <= 4.5, f"disconnected after {took:.1f} s of excess (configured: 2 s)")
    refused_total = sum(1 for c in p.c.pubacks.values() if c == QUOTA_EXCEEDED)
    expect_deltas_all(before, {
        throttled("publish_rate"): refused_total,
        throttled("publish_rate_disconnect"): 1,
        failed(QUOTA_EXCEEDED): refused_total,
        failed(RATE_TOO_HIGH): 1,
        closed("QuotaExceeded"): 1,
    })


@test("ns1 v5 QoS 0 over the rate: the excess is dropped (counted), the connection stays")
def _():
    sub = dev("sub-" + uid())
    eq(sub.subscribe("t/#", qos=1), [1], "SUBACK")
    before = metrics()
    p = dev("q0-" + uid())
    publish_burst(p, 3 * RATE, qos=0)
    got = len(sub.quiet(0.5))
    check(RATE <= got <= RATE + 10, f"the burst arrives, little more: {got} of {3 * RATE}")
    check(not p.closed.is_set(), "the publisher is still connected")
    eq(p.publish_rc("t/after", b"x"), 0, "a QoS 1 PUBLISH half a second later (tokens back)")
    expect_deltas_all(before, {throttled("publish_rate"): 3 * RATE - got, throttled("publish_rate_disconnect"): 0})


@test("ns1 v3.1.1 QoS 1 over the rate: disconnected (it has no way to hear a refusal), QuotaExceeded")
def _():
    before = metrics()
    p = dev("v3-" + uid(), version=V311)
    for i in range(3 * RATE):
        if p.closed.is_set():
            break
        p.c.publish("t/v3", b"m", qos=1)
    p.wait_closed(WAIT)
    eq(p.server_disconnect, None, "no DISCONNECT packet in v3.1.1")
    expect_deltas_all(before, {closed("QuotaExceeded"): 1, throttled("publish_rate"): 1})


@test("ns1 sessions: 4 per throughput unit (connected or offline); the 5th gets 0x97 (v5) and 0x03 (v3.1.1)")
def _():
    before = metrics()
    offline_id = "offline-" + uid()
    p = dev(offline_id, connect_props=props(PacketTypes.CONNECT, SessionExpiryInterval=300))
    p.disconnect()  # its session stays: it counts
    held = [dev("held-%d-" % i + uid()) for i in range(SESSIONS - 1)]
    dev("fifth-" + uid(), expect_rc=QUOTA_EXCEEDED).expect_refused()
    out = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", os.environ["EG_PLAIN_PORT"], "-V", "mqttv311",
                          "-u", "dev", "-i", "mp-" + uid(), "-t", "t/x", "-m", "x"],
                         capture_output=True, text=True, timeout=20)
    check(out.returncode != 0 and "unavailable" in out.stderr.lower(),
          f"mosquitto_pub v3.1.1: refused with 0x03 Server unavailable (exit {out.returncode}: {out.stderr.strip()})")
    # Resuming a session that exists adds none: allowed at the quota.
    back = dev(offline_id, clean=False, connect_props=props(PacketTypes.CONNECT, SessionExpiryInterval=300))
    eq(back.session_present, True, "the offline session resumed")
    # One ends: a new session fits again.
    back.disconnect(reasoncode=None, properties=props(PacketTypes.DISCONNECT, SessionExpiryInterval=0))
    dev("sixth-" + uid()).disconnect()
    for h in held:
        h.disconnect()
    expect_deltas_all(before, {throttled("namespace_session_limit"): 2})


@test("ns1 retained: 3 per throughput unit; a 4th gets 0x97 and is neither kept nor routed; replace and delete allowed")
def _():
    sub = dev("rsub-" + uid())
    eq(sub.subscribe("r/#", qos=1), [1], "SUBACK")
    before = metrics()
    p = dev("ret-" + uid())
    for i in (1, 2, 3):
        check(ok_code(p.publish_rc(f"r/{i}", b"v%d" % i, retain=True)), f"retained r/{i}")
    eq(p.publish_rc("r/4", b"v4", retain=True), QUOTA_EXCEEDED, "a 4th retained topic")
    check(ok_code(p.publish_rc("r/1", b"v1b", retain=True)), "replacing r/1")
    check(ok_code(p.publish_rc("r/2", b"", retain=True)), "deleting r/2")
    check(ok_code(p.publish_rc("r/4", b"v4b", retain=True)), "r/4 once r/2 is gone")
    eq(p.publish_rc("r/5", b"v5", retain=True), QUOTA_EXCEEDED, "r/5 at the quota again")
    check(ok_code(p.publish_rc("r/5", b"not retained", retain=False)), "a PUBLISH without retain is not limited")
    got = sorted((m.topic, m.payload) for m in sub.quiet(0.5))
    eq(got, sorted([("r/1", b"v1"), ("r/2", b"v2"), ("r/3", b"v3"), ("r/1", b"v1b"), ("r/2", b""),
                    ("r/4", b"v4b"), ("r/5", b"not retained")]), "what the subscriber received")
    late = dev("late-" + uid())
    eq(late.subscribe("r/#", qos=1), [1], "SUBACK")
    eq(sorted((m.topic, m.payload) for m in late.wait_messages(3)), [("r/1", b"v1b"), ("r/3", b"v3"), ("r/4", b"v4b")],
       "the retained messages kept")
    expect_deltas_all(before, {throttled("retained_limit"): 2, failed(QUOTA_EXCEEDED): 2})
    for t in ("r/1", "r/3", "r/4"):
        check(ok_code(p.publish_rc(t, b"", retain=True)), f"cleaning up {t}")


@test("ns2 (no throughputUnits): no publish rate, session or retained quota")
def _():
    before = metrics()
    p = dev("ns2-" + uid(), ns2=True)
    codes = publish_burst(p, 5 * RATE)
    check(all(ok_code(c) for c in codes), f"every PUBACK a success: {set(codes)}")
    clients = [dev("ns2-s%d-" % i + uid(), ns2=True) for i in range(SESSIONS + 2)]
    for i in range(RETAINED + 2):
        check(ok_code(p.publish_rc(f"r/{i}", b"x", retain=True)), f"retained r/{i} in ns2")
    for i in range(RETAINED + 2):
        p.publish_rc(f"r/{i}", b"", retain=True)
    for c in clients:
        c.disconnect()
    want = {throttled(k, "ns2"): 0 for k in ("publish_rate", "publish_rate_disconnect", "namespace_session_limit",
                                              "retained_limit")}
    expect_deltas(before, want)


run_tests()
