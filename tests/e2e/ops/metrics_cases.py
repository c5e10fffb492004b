"""Broker metrics after a scripted scenario (issue 10): each case scrapes the admin endpoint's
GET /metrics, drives real clients (paho, mosquitto_pub) against namespace ns1 on the plain
listener (client "dev", allowed on t/# and r/# only), then waits until the counters it names
reach their expected deltas and checks them exactly, with every other named series unchanged.
The broker runs with queue_max_messages 3. Run by tests/e2e/test_ops_metrics.sh.
"""
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "enforcement"))

from enfutil import V5, V311, TlsPaho, admin, check, eq, metrics, run_tests, test, uid  # noqa: E402
from pahoutil import props  # noqa: E402
from opsmetrics import closed, expect_deltas, series  # noqa: E402
from paho.mqtt.packettypes import PacketTypes  # noqa: E402

NOT_AUTH, TAKEN_OVER = 0x87, 0x8E


def dev(client_id, version=V5, port_env="EG_PLAIN_PORT", **kw):
    return TlsPaho(client_id, None, "dev", version=version, tls=False, port_env=port_env, **kw)


def mosquitto_pub(topic, lines, qos, port_env="EG_PLAIN_PORT"):
    """Publishes each line of `lines` as one message (mosquitto_pub -l), then disconnects."""
    out = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", os.environ[port_env], "-V", "mqttv5",
                          "-u", "dev", "-i", "mp-" + uid(), "-t", topic, "-q", str(qos), "-l"],
                         input="".join(line + "\n" for line in lines), capture_output=True, text=True, timeout=20)
    eq(out.returncode, 0, f"mosquitto_pub to {topic}: exit status ({out.stderr.strip()})")


@test("connects, QoS 0/1 publishes in and out: counts and payload bytes by QoS, successes, closes by reason")
def _():
    before = metrics()
    sub = dev("live-" + uid())
    eq(sub.subscribe("t/#", qos=1), [1], "SUBACK")
    now = metrics()
    eq(now[series("connections")] - before.get(series("connections"), 0), 1, "connections gauge, subscriber up")
    eq(now[series("subscriptions")] - before.get(series("subscriptions"), 0), 1, "subscriptions gauge")
    mosquitto_pub("t/a", ["one", "two", "three"], 1)
    mosquitto_pub("t/b", ["hello"], 0)
    sub.wait_messages(4)
    sub.disconnect()
    q0, q1 = {"qos": 0}, {"qos": 1}
    expect_deltas(before, {
        series("connections_opened_total"): 3,
        closed("ClientInitiatedDisconnect"): 3,
        closed("ConnectionLost"): 0,
        series("connections"): 0,
        series("subscriptions"): 0,
        series("publish_in_total", **q1): 3, series("publish_in_bytes_total", **q1): 11,
        series("publish_in_total", **q0): 1, series("publish_in_bytes_total", **q0): 5,
        series("publish_out_total", **q1): 3, series("publish_out_bytes_total", **q1): 11,
        series("publish_out_total", **q0): 1, series("publish_out_bytes_total", **q0): 5,
        series("publish_succeeded_total", **q1): 3, series("publish_succeeded_total", **q0): 1,
        series("publish_failed_total", reason_code="0x87"): 0,
        series("subscription_operations_total", operation="subscribe", result="success"): 1,
        series("subscription_operations_total", operation="subscribe", result="failure"): 0,
        series("publish_in_total", "ns2", **q1): 0,
        series("connections_opened_total", "ns2"): 0,
    })


@test("ns2 counts its own: a publish on its listener moves ns2's series, not ns1's")
def _():
    before = metrics()
    mosquitto_pub("t/ns2", ["x"], 1, port_env="EG_PLAIN2_PORT")
    expect_deltas(before, {
        series("publish_in_total", "ns2", qos=1): 1,
        series("connections_opened_total", "ns2"): 1,
        closed("ClientInitiatedDisconnect", "ns2"): 1,
        series("publish_in_total", qos=1): 0,
        series("connections_opened_total"): 0,
    })


@test("denials: PUBLISH QoS 0/1 and SUBSCRIBE refused (v5: 0x87), v3.1.1 PUBLISH refused by a disconnect")
def _():
    before = metrics()
    p = dev("deny-" + uid())
    p.publish("denied/q0", b"no", qos=0)
    eq(p.publish_rc("denied/q1", b"no"), NOT_AUTH, "PUBACK of a denied QoS 1 PUBLISH")
    eq(p.subscribe("denied/#"), [NOT_AUTH], "SUBACK of a denied filter")
    p.disconnect()
    old = dev("deny3-" + uid(), version=V311)
    old.publish("denied/v3", b"no", qos=1, wait=False)
    old.wait_closed()
    expect_deltas(before, {
        series("publish_failed_total", reason_code="0x87"): 3,
        series("publish_denied_total"): 3,
        series("subscribe_denied_total"): 1,
        series("subscription_operations_total", operation="subscribe", result="failure"): 1,
        series("subscription_operations_total", operation="subscribe", result="success"): 0,
        series("publish_succeeded_total", qos=0): 0,
        series("publish_succeeded_total", qos=1): 0,
        series("publish_in_total", qos=0): 1,
        series("publish_in_total", qos=1): 2,
        series("connections_opened_total"): 2,
        closed("ClientInitiatedDisconnect"): 1,
        closed("ClientAuthorizationError"): 1,
    })


@test("session overflow: a persistent session offline past queue_max_messages (3) is dropped")
def _():
    before = metrics()
    cid = "persist-" + uid()
    s = dev(cid, clean=False, connect_props=props(PacketTypes.CONNECT, SessionExpiryInterval=300))
    eq(s.subscribe("t/over/#", qos=1), [1], "SUBACK")
    eq(s.unsubscribe(["t/none"]), [0x11], "UNSUBACK of a filter never subscribed")
    s.disconnect()
    mosquitto_pub("t/over/x", ["m1", "m2", "m3"], 1)
    queued = expect_deltas(before, {
        series("sessions"): 1,
        series("sessions_persistent"): 1,
        series("queued_messages"): 3,
        series("sessions_dropped_total", reason="overflow"): 0,
        series("subscription_operations_total", operation="subscribe", result="success"): 1,
        series("subscription_operations_total", operation="unsubscribe", result="success"): 1,
    })
    check(queued[series("queued_bytes")] > before.get(series("queued_bytes"), 0), "queued_bytes did not grow")
    mosquitto_pub("t/over/x", ["m4"], 1)
    expect_deltas(before, {
        series("sessions_dropped_total", reason="overflow"): 1,
        series("sessions"): 0,
        series("sessions_persistent"): 0,
        series("queued_messages"): 0,
        series("queued_bytes"): 0,
        series("subscriptions"): 0,
        series("publish_succeeded_total", qos=1): 4,
        series("connections_opened_total"): 3,
        closed("ClientInitiatedDisconnect"): 3,
    })


@test("takeover and a lost connection: SessionTakenOver (0x8E to the first) and ConnectionLost")
def _():
    before = metrics()
    cid = "taker-" + uid()
    first = dev(cid)
    second = dev(cid)
    eq(first.wait_server_disconnect(), TAKEN_OVER, "DISCONNECT reason to the connection taken over")
    second.disconnect()
    gone = dev("lost-" + uid())
    gone.kill()
    expect_deltas(before, {
        series("connections_opened_total"): 3,
        closed("SessionTakenOver"): 1,
        closed("ClientInitiatedDisconnect"): 1,
        closed("ConnectionLost"): 1,
        series("connections"): 0,
    })


@test("a failed TLS handshake (plain bytes sent to the TLS listener) is counted")
def _():
    before = metrics()
    with socket.create_connection(("127.0.0.1", int(os.environ["EG_TLS_PORT"])), timeout=5) as sock:
        sock.sendall(b"this is not a TLS ClientHello\r\n\r\n")
        try:
            while sock.recv(4096):
                pass
        except OSError:
            pass
    expect_deltas(before, {
        "egbroker_tls_handshake_failures_total": 1,
        "egbroker_network_connections_opened_total": 1,
        "egbroker_network_connections_closed_total": 1,
        series("connections_opened_total"): 0,
    })


@test("exposition format: HELP and TYPE once per family, before its samples; snapshot version and age")
def _():
    status, text = admin("GET", "/metrics")
    eq(status, 200, "GET /metrics")
    helps, types, problems = {}, {}, []
    for line in str(text).splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            kind, name = line.split()[1], line.split()[2]
            seen = helps if kind == "HELP" else types
            if name in seen:
                problems.append(f"{kind} {name} twice")
            seen[name] = line.split()[3] if kind == "TYPE" else True
        elif line and not line.startswith("#"):
            name = line.split("{")[0].split(" ")[0]
            if name not in types or name not in helps:
                problems.append(f"sample before its HELP/TYPE: {line}")
            elif types[name] == "counter" and not name.endswith("_total"):
                problems.append(f"counter without _total: {name}")
    check(not problems, "\n".join(problems[:20]))
    m = metrics()
    for ns in ("ns1", "ns2"):
        check(m.get(series("snapshot_version", ns), 0) >= 1, f"{ns}: snapshot_version {m.get(series('snapshot_version', ns))}")
        age = m.get(series("snapshot_age_seconds", ns))
        check(age is not None and 0 <= age < 300, f"{ns}: snapshot_age_seconds {age}")


run_tests()
