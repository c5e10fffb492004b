"""Enforcement at CONNECT, PUBLISH and SUBSCRIBE with paho (3.1.1 and 5.0) over TLS with
client certificates, against the resources enf_lib.sh enf_tutorial creates. Run by
tests/e2e/test_enforcement_connect.sh; one `ok`/`not ok` line per test.

Who is who (SPEC sections 3-4): device1 (CA chain, CN device1, sensor, site s1) publishes
devices/device1/telemetry/#; everyone subscribes devices/+/telemetry/#, alerts/# and live/#,
publishes alerts/#, and publishes/subscribes sites/<its site attribute>/#; device2 (thumbprint,
actuator, no site) publishes alerts/# and, as an actuator (group query IN), acks/device2 and
acks/all/+. EG_PHASE=nosnapshot runs only the checks made before any snapshot was applied.
"""
import os
import time

from enfutil import (eq_no_subscribers, V5, V311, TlsPaho, TlsRaw, admin, check, eq, metrics, payloads, run_tests, subscribe_many,
                     test, uid)
from pahoutil import PUBREC, Raw

OK_PUB = (0x00, 0x10)  # accepted: Success, or No matching subscribers
BAD_USER, NOT_AUTH, QUOTA, TAKEN_OVER, BAD_AUTH_METHOD = 0x86, 0x87, 0x97, 0x8E, 0x8C
V3_BAD_USER, V3_NOT_AUTH = 4, 5

_metrics_before = {}
NOSNAPSHOT = os.environ.get("EG_PHASE") == "nosnapshot"


def refused(client_id, cert_name, username, version, want):
    p = TlsPaho(client_id, cert_name, username, version=version, expect_rc=None)
    eq(p.rc, want, f"{client_id} ({cert_name}, Username {username!r}, v{version}): CONNACK code")
    p.expect_refused()


@test("metrics: counters read before the MQTT tests (GET /metrics on the admin endpoint, with the token)")
def _():
    _metrics_before.update(metrics())
    check(any(k.startswith("egbroker_connect_denied_total") for k in _metrics_before),
          f"no egbroker_connect_denied_total series: {sorted(_metrics_before)[:20]}")


# ------------------------------------------------------------------------------- allowed


@test("paho v5 TLS: device1 (CA chain, CN) publishes its own telemetry QoS 1, device2 (thumbprint) receives it")
def _():
    sub = TlsPaho("d2-sub-" + uid(), "device2", "device2")
    eq(sub.subscribe("devices/+/telemetry/#", qos=1), [1], "device2 SUBACK")
    pub = TlsPaho("d1-pub-" + uid(), "device1", "device1")
    eq(pub.publish_rc("devices/device1/telemetry", b"21.5"), 0, "device1 PUBACK (one subscriber)")
    got = sub.wait_messages(1)
    eq([(m.topic, m.payload) for m in got], [("devices/device1/telemetry", b"21.5")], "delivered")


@test("paho v3.1.1 TLS: device1 publishes its own telemetry QoS 1, device2 receives it")
def _():
    sub = TlsPaho("d2-sub3-" + uid(), "device2", "device2", version=V311)
    eq(sub.subscribe("devices/+/telemetry/#", qos=1), [1], "device2 SUBACK")
    pub = TlsPaho("d1-pub3-" + uid(), "device1", "device1", version=V311)
    pub.publish("devices/device1/telemetry/temp", b"v3", qos=1)
    got = sub.wait_messages(1)
    eq([(m.topic, m.payload) for m in got], [("devices/device1/telemetry/temp", b"v3")], "delivered")


@test("shared topic space alerts/#: device2 publishes (v5 QoS 1), device1 (v3.1.1) receives")
def _():
    sub = TlsPaho("d1-alerts-" + uid(), "device1", "device1", version=V311)
    eq(sub.subscribe("alerts/#", qos=1), [1], "device1 SUBACK")
    pub = TlsPaho("d2-alerts-" + uid(), "device2", "device2")
    eq(pub.publish_rc("alerts/door", b"open"), 0, "device2 PUBACK")
    eq(payloads(sub.wait_messages(1)), [b"open"], "delivered")


# -------------------------------------------------------------------------------- denied


@test("denied publish, v5 QoS 1: PUBACK 0x87, not delivered, the connection stays up")
def _():
    sub = TlsPaho("d1-watch-" + uid(), "device1", "device1")
    eq(sub.subscribe("devices/+/telemetry/#"), [1], "device1 SUBACK")
    pub = TlsPaho("d2-deny-" + uid(), "device2", "device2")
    eq(pub.publish_rc("devices/device2/telemetry", b"nope"), NOT_AUTH, "device2 PUBACK for telemetry")
    eq_no_subscribers(pub.publish_rc("alerts/after-denial", b"still-up"), "an allowed publish afterwards")
    eq(sub.quiet(0.5), [], "messages delivered to the telemetry subscriber")
    check(not pub.closed.is_set(), "device2's connection was closed")


@test("denied publish, v5 QoS 0: dropped (not delivered), the connection stays up")
def _():
    sub = TlsPaho("d1-watch0-" + uid(), "device1", "device1")
    eq(subscribe_many(sub, ["devices/+/telemetry/#", "alerts/#"]), [1, 1], "device1 SUBACK")
    pub = TlsPaho("d2-deny0-" + uid(), "device2", "device2")
    pub.publish("devices/device2/telemetry", b"dropped", qos=0)
    pub.publish("alerts/marker", b"marker", qos=1)  # ordered after the denied one
    sub.wait_messages(1)
    time.sleep(0.3)
    eq([(m.topic, m.payload) for m in sub.messages], [("alerts/marker", b"marker")], "delivered")
    check(not pub.closed.is_set(), "device2's connection was closed")


@test("denied publish, v3.1.1: the broker closes the connection, nothing delivered")
def _():
    sub = TlsPaho("d1-watch3-" + uid(), "device1", "device1")
    eq(sub.subscribe("devices/+/telemetry/#"), [1], "device1 SUBACK")
    pub = TlsPaho("d2-deny3-" + uid(), "device2", "device2", version=V311)
    pub.publish("devices/device2/telemetry", b"v3-denied", qos=1, wait=False)
    pub.wait_closed()
    check(not pub.c.pubacks, f"a PUBACK came back: {pub.c.pubacks}")
    eq(sub.quiet(0.3), [], "messages delivered")


@test("${client.authenticationName}: device1 may publish devices/device1/..., not devices/device2/... (v5 0x87)")
def _():
    pub = TlsPaho("d1-tmpl-" + uid(), "device1", "device1")
    check(pub.publish_rc("devices/device1/telemetry/a/b", b"x") in OK_PUB, "devices/device1/telemetry/a/b refused")
    eq(pub.publish_rc("devices/device2/telemetry", b"x"), NOT_AUTH, "devices/device2/telemetry")
    eq(pub.publish_rc("devices/device1/status", b"x"), NOT_AUTH, "devices/device1/status (outside the template)")
    # the other sensor: its own name in the same template
    sel = TlsPaho("selfie-tmpl-" + uid(), "selfsigned", "selfie")
    check(sel.publish_rc("devices/selfie/telemetry", b"x") in OK_PUB, "selfie's own telemetry refused")
    eq(sel.publish_rc("devices/device1/telemetry", b"x"), NOT_AUTH, "selfie publishing device1's telemetry")


@test("denied subscribe, v5: SUBACK 0x87 for that filter only, the others in the same SUBSCRIBE granted")
def _():
    p = TlsPaho("d2-subs-" + uid(), "device2", "device2")
    eq(subscribe_many(p, ["devices/+/telemetry/#", "secret/x", "alerts/#"]), [1, NOT_AUTH, 1], "SUBACK codes")
    pub = TlsPaho("d1-subs-" + uid(), "device1", "device1")
    pub.publish_rc("devices/device1/telemetry", b"granted-filter-works")
    eq(payloads(p.wait_messages(1)), [b"granted-filter-works"], "delivered on the granted filter")


@test("denied subscribe, v3.1.1: SUBACK 0x80 for that filter only")
def _():
    p = TlsPaho("d2-subs3-" + uid(), "device2", "device2", version=V311)
    eq(subscribe_many(p, ["alerts/#", "secret/x", "devices/+/telemetry/#"]), [1, 0x80, 1], "SUBACK codes")
    check(not p.closed.is_set(), "connection closed after the denied filter")


@test("subscribe wider than the template (devices/#, +/+/telemetry/#) refused, narrower ones granted")
def _():
    p = TlsPaho("d2-wide-" + uid(), "device2", "device2")
    filters = ["devices/#", "+/+/telemetry/#", "devices/+/+", "devices/device1/telemetry/temp",
               "devices/+/telemetry/+", "devices/device9/telemetry/#"]
    eq(subscribe_many(p, filters), [NOT_AUTH, NOT_AUTH, NOT_AUTH, 1, 1, 1], f"SUBACK codes for {filters}")
    p3 = TlsPaho("d2-wide3-" + uid(), "device2", "device2", version=V311)
    eq(subscribe_many(p3, ["devices/#", "devices/device1/telemetry/temp"]), [0x80, 1], "v3.1.1 SUBACK codes")


@test("${client.attributes.site}: device1 (site s1) publishes and subscribes sites/s1/#, not sites/s2/#")
def _():
    p = TlsPaho("d1-site-" + uid(), "device1", "device1")
    eq(subscribe_many(p, ["sites/s1/#", "sites/s2/#", "sites/#", "sites/+/x"]), [1, NOT_AUTH, NOT_AUTH, NOT_AUTH],
       "device1 SUBACK codes")
    eq(p.publish_rc("sites/s1/temp", b"s1"), 0, "device1 publishing sites/s1/temp (it is subscribed)")
    eq(p.publish_rc("sites/s2/temp", b"s2"), NOT_AUTH, "device1 publishing sites/s2/temp")
    eq([(m.topic, m.payload) for m in p.wait_messages(1)], [("sites/s1/temp", b"s1")], "delivered")
    s2 = TlsPaho("site2-site-" + uid(), "site2", "site2")
    eq(subscribe_many(s2, ["sites/s2/#", "sites/s1/#"]), [1, NOT_AUTH], "site2 SUBACK codes")
    check(s2.publish_rc("sites/s2/x", b"x") in OK_PUB, "site2 publishing sites/s2/x refused")


@test("${client.attributes.site}: a client without the attribute (device2) gets nothing from the template")
def _():
    p = TlsPaho("d2-site-" + uid(), "device2", "device2")
    eq(subscribe_many(p, ["sites/s1/#", "sites/+/#", "sites//#", "sites/${client.attributes.site}/#"]),
       [NOT_AUTH] * 4, "device2 SUBACK codes")
    for topic in ("sites/s1/t", "sites//t", "sites/${client.attributes.site}/t", "sites/"):
        eq(p.publish_rc(topic, b"x"), NOT_AUTH, f"device2 publishing {topic}")


# ----------------------------------------------------------------------------- CONNECT


@test("CONNECT: unknown authentication name refused (v5 0x86, v3.1.1 return code 4)")
def _():
    refused("nobody-" + uid(), "device1", "nobody", V5, BAD_USER)
    refused("nobody3-" + uid(), "device1", "nobody", V311, V3_BAD_USER)


@test("CONNECT: certificate of another CA with CN device1 refused for the chain scheme (0x86, v3.1.1 4)")
def _():
    refused("rogue-u-" + uid(), "rogue1", "device1", V5, BAD_USER)
    refused("rogue-cn-" + uid(), "rogue1", None, V5, BAD_USER)  # CN names device1, the chain fails
    refused("rogue3-" + uid(), "rogue1", "device1", V311, V3_BAD_USER)


@test("CONNECT: expired certificate signed by the namespace CA (CN device1) refused 0x86")
def _():
    refused("expired-" + uid(), "expired", "device1", V5, BAD_USER)
    refused("expired-cn-" + uid(), "expired", None, V5, BAD_USER)


@test("CONNECT: ThumbprintMatch with the wrong certificate refused 0x86 (device2 with device1's and a self-signed one)")
def _():
    refused("d2-wrongcert-" + uid(), "device1", "device2", V5, BAD_USER)
    refused("d2-selfsigned-" + uid(), "selfsigned", "device2", V5, BAD_USER)
    refused("d2-wrongcert3-" + uid(), "device1", "device2", V311, V3_BAD_USER)


@test("CONNECT: ThumbprintMatch with a self-signed certificate accepted (Username selfie, and CN selfie with no Username)")
def _():
    TlsPaho("selfie-u-" + uid(), "selfsigned", "selfie")
    TlsPaho("selfie-cn-" + uid(), "selfsigned", None, version=V311)


@test("CONNECT: disabled client with a valid certificate refused (v5 0x87, v3.1.1 return code 5)")
def _():
    refused("device3-" + uid(), "device3", "device3", V5, NOT_AUTH)
    refused("device3-cn-" + uid(), "device3", None, V5, NOT_AUTH)
    refused("device3-v3-" + uid(), "device3", "device3", V311, V3_NOT_AUTH)


@test("CONNECT: no client certificate on the TLS port refused 0x86 for chain and thumbprint clients (v3.1.1 4)")
def _():
    refused("nocert-d1-" + uid(), None, "device1", V5, BAD_USER)
    refused("nocert-d2-" + uid(), None, "device2", V5, BAD_USER)
    refused("nocert-d1v3-" + uid(), None, "device1", V311, V3_BAD_USER)
    refused("nocert-anon-" + uid(), None, None, V5, BAD_USER)  # no Username, no certificate: no name at all


@test("CONNECT: the Username picks the client, the certificate must still pass its scheme (device1 + device2's cert: 0x86)")
def _():
    refused("u1-c2-" + uid(), "device2", "device1", V5, BAD_USER)  # CN device2 is not device1
    refused("u1-c2v3-" + uid(), "device2", "device1", V311, V3_BAD_USER)
    # device2's certificate named by Username: thumbprint scheme, accepted, and it acts as device2
    p = TlsPaho("u2-c2-" + uid(), "device2", "device2")
    eq(p.publish_rc("devices/device2/telemetry", b"x"), NOT_AUTH, "device2's rights apply")


@test("CONNECT: DnsMatchesAuthenticationName: Username dnsdev.example.com with the DNS SAN certificate accepted, others 0x86")
def _():
    p = TlsPaho("dns-ok-" + uid(), "dnsdev", "dnsdev.example.com")
    check(p.publish_rc("devices/dnsdev.example.com/telemetry", b"x") in OK_PUB, "own telemetry refused")
    refused("dns-bad-" + uid(), "device1", "dnsdev.example.com", V5, BAD_USER)  # no DNS SAN
    refused("dns-cn-" + uid(), "dnsdev", None, V5, BAD_USER)  # CN not-the-name is no client


@test("alternativeAuthenticationNameSources ClientCertificateSubject: empty Username, the CN names the client (v5, v3.1.1)")
def _():
    p = TlsPaho("cn-d1-" + uid(), "device1", None)
    check(p.publish_rc("devices/device1/telemetry", b"by-cn") in OK_PUB, "device1's own telemetry refused")
    eq(p.publish_rc("devices/device2/telemetry", b"x"), NOT_AUTH, "device2's telemetry")
    p3 = TlsPaho("cn-d1v3-" + uid(), "device1", None, version=V311)
    p3.publish("devices/device1/telemetry", b"by-cn-v3", qos=1)
    check(not p3.closed.is_set(), "v3.1.1 connection closed after its own telemetry")
    # An empty Username string counts as no Username.
    TlsPaho("cn-empty-" + uid(), "device2", "")


@test("CONNECT: v5 Authentication Method refused 0x8C")
def _():
    r = Raw("EG_PLAIN_PORT")
    r.connect("authm-" + uid(), props=[(0x15, "SCRAM-SHA-1")], expect_rc=BAD_AUTH_METHOD)


@test("plain listener (development): Username is the authentication name without a credential; unknown 0x86, disabled 0x87")
def _():
    p = TlsPaho("plain-d1-" + uid(), None, "device1", tls=False)
    check(p.publish_rc("devices/device1/telemetry", b"plain") in OK_PUB, "device1's own telemetry refused")
    eq(p.publish_rc("devices/device2/telemetry", b"x"), NOT_AUTH, "device2's telemetry")
    refused_plain = TlsPaho("plain-nobody-" + uid(), None, "nobody", tls=False, expect_rc=None)
    eq(refused_plain.rc, BAD_USER, "unknown Username")
    refused_plain = TlsPaho("plain-d3-" + uid(), None, "device3", tls=False, expect_rc=None)
    eq(refused_plain.rc, NOT_AUTH, "disabled client")


# ------------------------------------------------------------------------------ sessions


@test("sessions: limit 2 per authentication name: a third ClientId refused 0x97 (v3.1.1: 5), accepted once one left")
def _():
    a = TlsPaho("lim-a-" + uid(), "device1", "device1")
    TlsPaho("lim-b-" + uid(), "device1", None, version=V311)
    third = "lim-c-" + uid()
    refused(third, "device1", "device1", V5, QUOTA)
    refused(third, "device1", "device1", V311, V3_NOT_AUTH)
    # other authentication names are not affected
    TlsPaho("lim-other-" + uid(), "device2", "device2")
    a.disconnect()
    TlsPaho(third, "device1", "device1")


@test("sessions: a ClientId held by another authentication name refused 0x87 (v3.1.1: 5), the holder keeps it")
def _():
    cid = "theft-" + uid()
    holder = TlsPaho(cid, "device1", "device1")
    holder.subscribe("alerts/theft")
    refused(cid, "device2", "device2", V5, NOT_AUTH)
    refused(cid, "device2", "device2", V311, V3_NOT_AUTH)
    time.sleep(0.2)
    check(not holder.closed.is_set(), "the holder was disconnected")
    other = TlsPaho("theft-pub-" + uid(), "device2", "device2")
    other.publish_rc("alerts/theft", b"holder-alive")
    eq(payloads(holder.wait_messages(1)), [b"holder-alive"], "delivered to the holder")


@test("sessions: same authentication name + same ClientId takes over (old v5 connection gets DISCONNECT 0x8E), even at the limit")
def _():
    cid = "takeover-" + uid()
    old = TlsPaho(cid, "device1", "device1")
    TlsPaho("takeover-2nd-" + uid(), "device1", "device1")  # the limit (2) is reached
    new = TlsPaho(cid, "device1", None)  # CN names device1 too: same authentication name
    eq(old.wait_server_disconnect(), TAKEN_OVER, "DISCONNECT reason to the old connection")
    check(new.publish_rc("devices/device1/telemetry", b"x") in OK_PUB, "the new connection cannot publish")

# ----------------------------------------------------------------- more publish rules


@test("denied publish, v5 QoS 2: PUBREC 0x87; an allowed QoS 2 publish gets PUBREC 0x10")
def _():
    r = TlsRaw("device2")
    r.connect_as("d2-q2-" + uid(), "device2")
    r.publish("devices/device2/telemetry", b"x", qos=2, pid=7)
    eq(r.expect(PUBREC)[2], bytes([0, 7, NOT_AUTH]), "PUBREC for the denied topic")
    r.publish("alerts/q2", b"x", qos=2, pid=8)
    eq(r.expect(PUBREC)[2], bytes([0, 8, 0x10]), "PUBREC for the allowed topic")


@test("retained: a denied retained publish is not stored; an allowed one is delivered to a later subscriber")
def _():
    p = TlsPaho("d2-ret-" + uid(), "device2", "device2")
    tag = uid()
    eq(p.publish_rc(f"devices/device2/telemetry/{tag}", b"denied", retain=True), NOT_AUTH, "denied retained publish")
    q = TlsPaho("d1-ret-" + uid(), "device1", "device1")
    check(q.publish_rc(f"devices/device1/telemetry/{tag}", b"kept", retain=True) in OK_PUB, "allowed retained publish refused")
    s = TlsPaho("d2-retsub-" + uid(), "device2", "device2")
    eq(s.subscribe(f"devices/+/telemetry/{tag}"), [1], "SUBACK")
    got = s.quiet(0.5)
    eq([(m.topic, m.payload, m.retain) for m in got], [(f"devices/device1/telemetry/{tag}", b"kept", True)],
       "retained messages delivered")
    q.publish_rc(f"devices/device1/telemetry/{tag}", b"", retain=True)  # clears it


@test("will: a will on a topic the client may not publish is dropped; an allowed one is delivered")
def _():
    s = TlsPaho("d1-willsub-" + uid(), "device1", "device1")
    eq(subscribe_many(s, ["devices/+/telemetry/#", "alerts/#"]), [1, 1], "SUBACK")
    denied = TlsRaw("device2")
    denied.connect_as("d2-will-no-" + uid(), "device2",
                      will={"topic": "devices/device2/telemetry", "payload": "denied-will", "qos": 1})
    allowed = TlsRaw("device2")
    allowed.connect_as("d2-will-ok-" + uid(), "device2", will={"topic": "alerts/will", "payload": "allowed-will", "qos": 1})
    denied.close()  # no DISCONNECT: the will is due
    allowed.close()
    s.wait_messages(1)
    time.sleep(0.3)
    eq([(m.topic, m.payload) for m in s.messages], [("alerts/will", b"allowed-will")], "wills delivered")


@test("shared subscriptions are judged by the filter they share: $share/g/devices/+/telemetry/# granted, $share/g/devices/# 0x87")
def _():
    p = TlsPaho("d2-share-" + uid(), "device2", "device2")
    eq(subscribe_many(p, ["$share/g1/devices/+/telemetry/#", "$share/g1/devices/#", "$share/g1/secret/x"]),
       [1, NOT_AUTH, NOT_AUTH], "SUBACK codes")
    pub = TlsPaho("d1-share-" + uid(), "device1", "device1")
    eq(pub.publish_rc("devices/device1/telemetry/shared", b"to-the-group"), 0, "PUBACK")
    eq(payloads(p.wait_messages(1)), [b"to-the-group"], "delivered through the shared subscription")


@test("client group query IN [...]: actuators (device2) publish acks/device2 and acks/all/x; sensors (device1) may not")
def _():
    d2 = TlsPaho("d2-acks-" + uid(), "device2", "device2")
    eq([d2.publish_rc(t, b"x") for t in ("acks/device2", "acks/all/x", "acks/device1", "acks/all/x/y")],
       [0x10, 0x10, NOT_AUTH, NOT_AUTH], "device2 PUBACK codes")
    d1 = TlsPaho("d1-acks-" + uid(), "device1", "device1")
    eq(d1.publish_rc("acks/device1", b"x"), NOT_AUTH, "device1 PUBACK")


@test("wildcards in names and attributes do not widen templates: authenticationName '+' / 'a/b', site '#' / 's1/x' grant nothing")
def _():
    w = TlsPaho("wild-" + uid(), None, "+", tls=False)
    eq([w.publish_rc(t, b"x") for t in ("devices/device1/telemetry", "devices/wild/telemetry", "sites/s1/x")],
       [NOT_AUTH] * 3, "'+' PUBACK codes")
    eq(subscribe_many(w, ["devices/device1/telemetry/#", "sites/#", "sites/s1/#"]), [1, NOT_AUTH, NOT_AUTH],
       "'+' SUBACK codes (devices/device1/telemetry/# is the $all Subscriber binding)")
    w2 = TlsPaho("wild2-" + uid(), None, "a/b", tls=False)
    eq([w2.publish_rc(t, b"x") for t in ("devices/a/b/telemetry", "sites/s1/x/y", "sites/s1/x")],
       [NOT_AUTH] * 3, "'a/b' PUBACK codes")


@test("sessions: a persistent offline session's ClientId is still refused to another authentication name (v3.1.1 5, v5 0x87)")
def _():
    cid = "offline-" + uid()
    p = TlsPaho(cid, "device1", "device1", version=V311, clean=False)
    p.disconnect()
    refused(cid, "device2", "device2", V311, V3_NOT_AUTH)
    refused(cid, "device2", "device2", V5, NOT_AUTH)
    back = TlsPaho(cid, "device1", "device1", version=V311, clean=False)
    eq(back.session_present, 1, "the owner's session is still there")
    back.disconnect()
    TlsPaho(cid, "device1", "device1", version=V311, clean=True)  # ends it


@test("SNI {namespace}.{sni_domain}: ns1.example.test accepted, other.example.test refused 0x87 (v3.1.1 5), others fall back to the listener's namespace")
def _():
    r = TlsRaw("device1", sni="ns1.example.test")
    r.connect_as("sni-ok-" + uid(), "device1")
    r.close()
    r = TlsRaw("device1", sni="other.example.test")
    r.connect_as("sni-other-" + uid(), "device1", expect_rc=NOT_AUTH)
    r.close()
    r = TlsRaw("device1", sni="other.example.test", version=V311)
    r.connect_as("sni-other3-" + uid(), "device1", expect_rc=V3_NOT_AUTH)
    r.close()
    r = TlsRaw("device1", sni="broker.elsewhere.test")
    r.connect_as("sni-elsewhere-" + uid(), "device1")
    r.close()


# ------------------------------------------------------------------------------- metrics


@test("metrics: denial counters increased (connect per reason, publish, subscribe)")
def _():
    time.sleep(0.2)
    after = metrics()

    def grew(series):
        return after.get(series, 0) > _metrics_before.get(series, 0)

    ns = 'namespace="ns1"'
    want = [f'egbroker_publish_denied_total{{{ns}}}', f'egbroker_subscribe_denied_total{{{ns}}}'] + [
        f'egbroker_connect_denied_total{{{ns},reason="{r}"}}'
        for r in ("unknown_client", "client_disabled", "certificate", "session_name_taken", "session_limit",
                  "no_authentication_name")]
    missing = [s for s in want if not grew(s)]
    check(not missing, "not increased: " + ", ".join(f"{s} {_metrics_before.get(s)} -> {after.get(s)}"
                                                     for s in missing))


# ------------------------------------------------------------------ before any snapshot

_NOSNAPSHOT_TESTS = []


def nosnapshot_test(name):
    def deco(fn):
        _NOSNAPSHOT_TESTS.append((name, fn))
        return fn
    return deco


@nosnapshot_test("before any snapshot: CONNECT refused as server unavailable (v5 0x88, v3.1.1 return code 3)")
def _():
    refused("early-" + uid(), "device1", "device1", V5, 0x88)
    refused("early3-" + uid(), "device1", "device1", V311, 3)
    status, doc = admin("GET", "/snapshots")
    eq((status, doc.get("appliedVersion"), doc.get("source")), (200, 0, "none"), "admin GET /snapshots")


if __name__ == "__main__":
    import pahoutil
    if NOSNAPSHOT:
        pahoutil._TESTS[:] = _NOSNAPSHOT_TESTS
    run_tests()
