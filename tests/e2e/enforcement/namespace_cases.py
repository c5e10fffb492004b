"""Several namespaces on one broker (test_enforcement_namespaces.sh): the same ClientId in two
namespaces, publish and retained isolation, namespace selection by TLS SNI.

Namespaces: ns1 (the top-level one: EG_PLAIN_PORT and the TLS listener), ns2 (its own plain
listener, EG_PLAIN2_PORT), ns3 (reachable by SNI only). Every namespace has the client "dev"
(Username at its word on plain listeners) allowed to publish and subscribe t/# and r/#; ns2 and
ns3 also have "device1" (ThumbprintMatch of device1.pem), ns1 does not.
"""

from enfutil import TlsPaho, TlsRaw, check, eq, payloads, run_tests, test, uid
import pahoutil  # noqa: E402 (enfutil puts tests/e2e/broker on the path)
from pahoutil import PUBLISH  # noqa: E402

PORT_ENV = {"ns1": "EG_PLAIN_PORT", "ns2": "EG_PLAIN2_PORT"}


def plain(ns, client_id, **kw):
    """A paho v5 client on the plain listener of namespace ns, as "dev"."""
    return TlsPaho(client_id, username="dev", tls=False, port_env=PORT_ENV[ns], **kw)


@test("the same ClientId in ns1 and ns2: two sessions, neither takes the other over")
def same_client_id():
    cid = "same-" + uid()
    a = plain("ns1", cid)
    eq(a.subscribe("t/a/#"), [1], "ns1 SUBACK")
    b = plain("ns2", cid)
    eq(b.subscribe("t/b/#"), [1], "ns2 SUBACK")
    check(not a.closed.wait(0.5), "the ns1 session was closed when ns2's connected")
    a.publish("t/a/1", b"to-a", qos=1)
    b.publish("t/b/1", b"to-b", qos=1)
    eq(payloads(a.wait_messages(1)), [b"to-a"], "ns1 session received")
    eq(payloads(b.wait_messages(1)), [b"to-b"], "ns2 session received")


@test("a take-over within one namespace still happens (ns2)")
def takeover_same_namespace():
    cid = "tk-" + uid()
    a = plain("ns2", cid)
    plain("ns2", cid)
    eq(a.wait_server_disconnect(), 0x8E, "DISCONNECT reason of the first connection")


@test("a publish in ns1 reaches ns1's subscriber, not ns2's on the same topic")
def publish_isolated():
    s1 = plain("ns1", "s1-" + uid())
    s2 = plain("ns2", "s2-" + uid())
    eq(s1.subscribe("t/iso/#"), [1], "ns1 SUBACK")
    eq(s2.subscribe("t/iso/#"), [1], "ns2 SUBACK")
    p = plain("ns1", "p1-" + uid())
    p.publish("t/iso/x", b"from-ns1", qos=1)
    eq(payloads(s1.wait_messages(1)), [b"from-ns1"], "ns1 subscriber")
    eq(payloads(s2.quiet(0.7)), [], "ns2 subscriber")


@test("retained messages are per namespace")
def retained_isolated():
    topic = "r/" + uid()
    p = plain("ns1", "rp-" + uid())
    p.publish(topic, b"kept-in-ns1", qos=1, retain=True)
    s2 = plain("ns2", "rs2-" + uid())
    eq(s2.subscribe("r/#"), [1], "ns2 SUBACK")
    got2 = [m for m in s2.quiet(0.7) if m.topic == topic]
    eq(got2, [], "retained messages ns2's subscriber got for ns1's topic")
    s1 = plain("ns1", "rs1-" + uid())
    eq(s1.subscribe(topic), [1], "ns1 SUBACK")
    eq(payloads(s1.wait_messages(1)), [b"kept-in-ns1"], "ns1 subscriber's retained message")
    p.publish(topic, b"", qos=1, retain=True)  # clean up


@test("a will goes to its own namespace's subscribers only")
def will_isolated():
    s1 = plain("ns1", "w1-" + uid())
    s2 = plain("ns2", "w2-" + uid())
    eq(s1.subscribe("t/will/#"), [1], "ns1 SUBACK")
    eq(s2.subscribe("t/will/#"), [1], "ns2 SUBACK")
    r = pahoutil.Raw(port_env="EG_PLAIN_PORT")  # ns1's plain listener
    TlsRaw.connect_as(r, "wc-" + uid(), username="dev", will={"topic": "t/will/x", "payload": "gone"})
    r.close()  # no DISCONNECT: the will is published
    eq(payloads(s1.wait_messages(1)), [b"gone"], "ns1 subscriber")
    eq(payloads(s2.quiet(0.5)), [], "ns2 subscriber")


def sni_connect(sni, expect_rc):
    r = TlsRaw("device1", sni=sni)
    return r.connect_as("sni-" + uid(), username="device1", expect_rc=expect_rc)


@test("TLS SNI picks the namespace: ns2.example.test and ns3.example.test accept device1")
def sni_selects():
    sni_connect("ns2.example.test", 0)
    sni_connect("NS3.Example.Test", 0)


@test("without a namespace SNI the TLS listener's namespace (ns1, no device1) applies: 0x86")
def sni_default():
    sni_connect("localhost", 0x86)
    sni_connect("ns1.example.test", 0x86)


@test("SNI naming a namespace this broker does not serve: 0x87")
def sni_unserved():
    sni_connect("ns9.example.test", 0x87)


@test("a device1 session reached by SNI ns2 receives ns2's publishes")
def sni_session_in_ns2():
    r = TlsRaw("device1", sni="ns2.example.test")
    r.connect_as("sni-sub-" + uid(), username="device1")
    eq(r.subscribe(1, [("t/sni/#", 0)]), [0], "SUBACK")
    plain("ns1", "snip1-" + uid()).publish("t/sni/x", b"from-ns1", qos=1)
    plain("ns2", "snip2-" + uid()).publish("t/sni/x", b"from-ns2", qos=1)
    got = [r.parse_publish(f, b)["payload"] for t, f, b in r.collect(1.0) if t == PUBLISH]
    eq(got, [b"from-ns2"], "what the SNI-ns2 subscriber received")


if __name__ == "__main__":
    run_tests()
