"""Client life-cycle events end to end (tests/e2e/test_ops_events.sh): a monitoring client
(paho, v5) with a Subscriber binding on "$events/namespaces/{ns}/clients/+" sees Event Grid's
MQTTClientSessionConnected/Disconnected of device1's sessions with the right reasons and
increasing sequence numbers, and MQTTClientCreatedOrUpdated/Deleted of clients changed through
the REST API; a client without the permission is refused the subscription.

Environment: EG_PLAIN_PORT (the namespace's plain listener), EG_NS, EG_CP_URL,
EG_CP_TOKEN_FILE, EG_EVENTS_OUT (where the received events are written, one JSON per line:
{"topic", "qos", "retain", "contentType", "event"}).
"""
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "broker"))

import pahoutil  # noqa: E402
from pahoutil import V5, V311, Failure, Paho, check, eq, run_tests, test, uid  # noqa: E402

NS = os.environ["EG_NS"]
FILTER = f"$events/namespaces/{NS}/clients/+"
CP_URL = os.environ["EG_CP_URL"]
with open(os.environ["EG_CP_TOKEN_FILE"]) as f:
    TOKEN = f.read().strip()
PORT = "EG_PLAIN_PORT"
CONNECTED = "Microsoft.EventGrid.MQTTClientSessionConnected"
DISCONNECTED = "Microsoft.EventGrid.MQTTClientSessionDisconnected"
UPSERTED = "Microsoft.EventGrid.MQTTClientCreatedOrUpdated"
DELETED = "Microsoft.EventGrid.MQTTClientDeleted"
RUN = uid()  # session names of this run

monitor = None


def rest(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(CP_URL + path, data=data, method=method,
                                 headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        raise Failure(f"{method} {path}: HTTP {e.code}: {e.read()[:300]!r}")


def received():
    """(message, event) for each message the monitor received so far."""
    with monitor.cond:
        msgs = list(monitor.messages)
    return [(m, json.loads(m.payload)) for m in msgs]


def wait_events(pred, n, what, timeout=10.0):
    """Waits until n received events satisfy pred; returns them in arrival order."""
    deadline = time.time() + timeout
    while True:
        got = [e for _, e in received() if pred(e)]
        if len(got) >= n:
            return got
        if time.time() > deadline:
            raise Failure(f"timed out waiting for {n} {what}; got {len(got)}: "
                          + "; ".join(f"{e['type'].split('.')[-1]} {e['subject']} {e['data']}" for e in got))
        time.sleep(0.05)


def session_events(session, n):
    return wait_events(lambda e: e["data"].get("clientSessionName") == session, n, f"events of session {session}")


def expect_sessions(events, expected, auth="device1"):
    """expected: [(type, disconnectionReason or None)] in order; checks subjects, data and that
    the sequence numbers increase."""
    got = [(e["type"], e["data"].get("disconnectionReason")) for e in events]
    eq(got, expected, "event types and reasons, in order")
    seqs = [e["data"]["sequenceNumber"] for e in events]
    check(all(isinstance(s, int) for s in seqs) and seqs == sorted(set(seqs)),
          f"sequence numbers increase: {seqs}")
    for e in events:
        session = e["data"]["clientSessionName"]
        eq(e["subject"], f"clients/{auth}/sessions/{session}", "subject")
        eq(e["data"]["clientAuthenticationName"], auth, "clientAuthenticationName")
        eq(e["data"]["namespaceName"], NS, "namespaceName")


@test("a monitoring client with a Subscriber binding on $events/namespaces/{ns}/clients/+: SUBACK QoS 1")
def _():
    global monitor
    monitor = Paho(f"monitor-{RUN}", port_env=PORT, username="monitor")
    pahoutil._OPEN.remove(monitor)  # it stays for every case
    eq(monitor.subscribe(FILTER, qos=1), [1], "SUBACK")


@test("a client without the permission: SUBACK 0x87 (v5) and 0x80 (v3.1.1) for the same filter")
def _():
    eq(Paho(f"nosy5-{RUN}", port_env=PORT, username="nosy").subscribe(FILTER, qos=1), [0x87], "v5 SUBACK")
    eq(Paho(f"nosy3-{RUN}", version=V311, port_env=PORT, username="nosy").subscribe(FILTER, qos=1), [0x80],
       "v3.1.1 SUBACK")
    eq(Paho(f"nosy5b-{RUN}", port_env=PORT, username="nosy").subscribe("#", qos=1), [0x87],
       "v5 SUBACK for # (no binding at all)")


@test("connect, then DISCONNECT: SessionConnected, then SessionDisconnected (ClientInitiatedDisconnect)")
def _():
    Paho(f"d1-a-{RUN}", port_env=PORT, username="device1").disconnect()
    expect_sessions(session_events(f"d1-a-{RUN}", 2),
                    [(CONNECTED, None), (DISCONNECTED, "ClientInitiatedDisconnect")])


@test("the same session name twice: the old one's SessionDisconnected (SessionTakenOver) before the new Connected")
def _():
    name = f"d1-b-{RUN}"
    old = Paho(name, port_env=PORT, username="device1")
    new = Paho(name, version=V311, port_env=PORT, username="device1")
    old.wait_closed()
    eq(old.server_disconnect, 0x8E, "DISCONNECT reason to the old connection")
    new.disconnect()
    expect_sessions(session_events(name, 4),
                    [(CONNECTED, None), (DISCONNECTED, "SessionTakenOver"), (CONNECTED, None),
                     (DISCONNECTED, "ClientInitiatedDisconnect")])


@test("device1 disabled through the REST API while connected: SessionDisconnected (ClientAuthenticationError)"
      " and MQTTClientCreatedOrUpdated with state Disabled")
def _():
    name = f"d1-c-{RUN}"
    c = Paho(name, port_env=PORT, username="device1")
    eq(rest("PATCH", f"/namespaces/{NS}/clients/device1", {"properties": {"state": "Disabled"}}), 200, "PATCH")
    c.wait_closed(10)
    eq(c.server_disconnect, 0x98, "DISCONNECT reason (administrative action)")
    expect_sessions(session_events(name, 2), [(CONNECTED, None), (DISCONNECTED, "ClientAuthenticationError")])
    ev = wait_events(lambda e: e["type"] == UPSERTED and e["subject"] == "clients/device1", 1,
                     "CreatedOrUpdated of device1")[-1]
    eq(ev["data"]["state"], "Disabled", "state")
    eq(ev["data"]["clientName"], "device1", "clientName")
    eq(ev["data"]["clientAuthenticationName"], "device1", "clientAuthenticationName")


@test("a client created, then deleted through the REST API: MQTTClientCreatedOrUpdated, then MQTTClientDeleted")
def _():
    name = f"new-{RUN}"
    eq(rest("PUT", f"/namespaces/{NS}/clients/{name}",
            {"properties": {"authenticationName": f"{name}-auth", "attributes": {"floor": 3, "tags": ["a", "b"]}}}),
       201, "PUT")
    up = wait_events(lambda e: e["subject"] == f"clients/{name}", 1, f"events of client {name}")[0]
    eq(up["type"], UPSERTED, "type")
    eq(up["data"], {"clientName": name, "clientAuthenticationName": f"{name}-auth", "namespaceName": NS,
                    "state": "Enabled", "attributes": {"floor": 3, "tags": ["a", "b"]}}, "data")
    eq(rest("DELETE", f"/namespaces/{NS}/clients/{name}"), 204, "DELETE")
    evs = wait_events(lambda e: e["subject"] == f"clients/{name}", 2, f"events of client {name}")
    eq([e["type"] for e in evs], [UPSERTED, DELETED], "types in order")
    eq(evs[1]["data"], {"clientName": name, "clientAuthenticationName": f"{name}-auth", "namespaceName": NS},
       "Deleted data")


@test("every event received: a CloudEvent 1.0 (id, time, source, datacontenttype), QoS 1, not retained,"
      " Content Type application/cloudevents+json, on the topic of its client")
def _():
    got = received()
    check(got, "no event received")
    ids = set()
    with open(os.environ["EG_EVENTS_OUT"], "w") as out:
        for m, e in got:
            eq(e["specversion"], "1.0", "specversion")
            eq(e["source"], f"/namespaces/{NS}", "source")
            eq(e["datacontenttype"], "application/json", "datacontenttype")
            check(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", e["id"]),
                  f"id is a UUID v4: {e['id']}")
            check(e["id"] not in ids, f"id {e['id']} is unique")
            ids.add(e["id"])
            check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", e["time"]), f"time is RFC 3339 UTC: {e['time']}")
            who = e["data"]["clientAuthenticationName"] if "clientSessionName" in e["data"] else e["data"]["clientName"]
            eq(m.topic, f"$events/namespaces/{NS}/clients/{who}", "topic")
            eq((m.qos, m.retain), (1, False), "QoS and retain")
            eq(getattr(m.props, "ContentType", None), "application/cloudevents+json", "Content Type")
            out.write(json.dumps({"topic": m.topic, "qos": m.qos, "event": e}) + "\n")


try:
    run_tests()
finally:
    if monitor:
        monitor.close()
