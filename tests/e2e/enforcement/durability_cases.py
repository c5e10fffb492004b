"""Durability under enforcement with two namespaces (tests/e2e/test_durability_enforced.sh), in
phases the shell runs around a SIGTERM restart of the broker (EG_PHASE, EG_TAG):

  setup   persistent sessions with the same ClientIds in ns1 and ns2 go away: "same-TAG"
          (ns1: device1 over TLS with its client certificate; ns2: dev, Username on ns2's plain
          listener) on t/q/#, "rd-TAG" (client reader, in the readers group) on t/r/# and s/#,
          "gn-TAG" (client gone) on t/g/#. Then N QoS 1 messages per namespace on each of those
          topics, interleaved between the namespaces, and a retained message on r/TAG in each.
  check   after the restart (meanwhile reader lost s/#: in ns1 it left the readers group, in
          ns2 the binding readers-sub-secret was deleted; gone was deleted in both; ns2 learns it
          from egcontrol's push after the restart, ns1 from the snapshot saved in data_dir): each namespace's sessions get exactly their own messages
          in order, retained messages stay per namespace, reader's restored s/# subscription
          and queued s/ messages are gone as after a live change, gone is refused at CONNECT
          and its restored session ended (nobody else can take it over).

Ports: EG_TLS_PORT (ns1, TLS), EG_PLAIN_PORT (ns1), EG_PLAIN2_PORT (ns2).
"""
import os

from enfutil import V5, V311, TlsPaho, check, eq, metrics, payloads, run_tests, test
from pahoutil import PacketTypes, props

TAG = os.environ["EG_TAG"]
N = 20
NAMESPACES = ("ns1", "ns2")
PLAIN_PORT_ENV = {"ns1": "EG_PLAIN_PORT", "ns2": "EG_PLAIN2_PORT"}
NOT_AUTH, BAD_USER = 0x87, 0x86
EXPIRY = 3600  # the namespace maximum (1 h by default)


def plain(ns, client_id, user="dev", version=V5, clean=True, persistent=False, **kw):
    """A paho client on namespace ns's plain listener, authenticated by its Username."""
    cp = props(PacketTypes.CONNECT, SessionExpiryInterval=EXPIRY) if persistent and version == V5 else None
    return TlsPaho(client_id, username=user, version=version, tls=False, clean=clean,
                   port_env=PLAIN_PORT_ENV[ns], connect_props=cp, **kw)


def same_session(ns, clean):
    """The "same-TAG" session: device1 over TLS with its certificate in ns1, dev in ns2."""
    cid = f"same-{TAG}"
    if ns == "ns1":
        return TlsPaho(cid, "device1", "device1", clean=clean,
                       connect_props=props(PacketTypes.CONNECT, SessionExpiryInterval=EXPIRY))
    return plain(ns, cid, clean=clean, persistent=True)


def reader(ns, clean):
    """reader's "rd-TAG" session: v5 in ns1, v3.1.1 in ns2 (always clean session 0: persistent)."""
    version = V5 if ns == "ns1" else V311
    return plain(ns, f"rd-{TAG}", "reader", version=version, clean=clean and version == V5, persistent=True)


def expected(ns, what):
    return [f"{ns}-{what}-{i:03d}".encode() for i in range(N)]


def how_applied(ns):
    return "egcontrol's push after the restart" if ns == "ns2" else "the snapshot saved in data_dir"


REVOKED = {"ns1": "reader left group readers", "ns2": "binding readers-sub-secret was deleted"}


if os.environ.get("EG_PHASE") == "setup":

    @test("setup: the same ClientId holds a persistent session in ns1 (device1, TLS certificate) and ns2 (dev), both subscribed to t/q/#, then away")
    def _():
        for ns in NAMESPACES:
            s = same_session(ns, clean=True)
            eq(s.subscribe("t/q/#"), [1], f"{ns} SUBACK for t/q/#")
            s.disconnect()

    @test("setup: reader's persistent sessions (ns1 v5, ns2 v3.1.1) subscribe t/r/# and s/# (readers may subscribe s/#), then away")
    def _():
        for ns in NAMESPACES:
            s = reader(ns, clean=True)
            eq(s.subscribe("t/r/#"), [1], f"{ns} SUBACK for t/r/#")
            eq(s.subscribe("s/#"), [1], f"{ns} SUBACK for s/# (binding readers-sub-secret)")
            s.disconnect()

    @test("setup: gone's persistent sessions subscribe t/g/#, then away")
    def _():
        for ns in NAMESPACES:
            s = plain(ns, f"gn-{TAG}", "gone", persistent=True)
            eq(s.subscribe("t/g/#"), [1], f"{ns} SUBACK for t/g/#")
            s.disconnect()

    @test(f"setup: {N} QoS 1 messages per namespace on t/q, s, t/r and t/g (interleaved ns1/ns2), a retained r/{TAG} in each")
    def _():
        pubs = {ns: plain(ns, f"pub-{ns}-{TAG}") for ns in NAMESPACES}
        for i in range(N):
            for ns in NAMESPACES:
                for topic, what in (("t/q/x", "q"), ("s/x", "s"), ("t/r/x", "r"), ("t/g/x", "g")):
                    pubs[ns].publish(topic, f"{ns}-{what}-{i:03d}".encode(), qos=1)
        for ns in NAMESPACES:
            pubs[ns].publish(f"r/{TAG}", f"retained-{ns}".encode(), qos=1, retain=True)
            pubs[ns].disconnect()

else:

    @test(f"after the restart: the same ClientId in ns1 (TLS) and ns2 resumes two sessions (present 1), each gets exactly its own namespace's {N} messages, in order")
    def _():
        subs = {ns: same_session(ns, clean=False) for ns in NAMESPACES}
        for ns, s in subs.items():
            eq(s.session_present, 1, f"{ns} CONNACK session present")
        for ns, s in subs.items():
            s.wait_messages(N, timeout=10)
        for ns, s in subs.items():
            got = s.quiet(0.5)
            eq(payloads(got), expected(ns, "q"), f"{ns} messages received")
            eq(sorted({m.topic for m in got}), ["t/q/x"], f"{ns} topics received")

    @test("after the restart: retained messages are restored per namespace (each namespace's subscriber gets only its own)")
    def _():
        for ns in NAMESPACES:
            s = plain(ns, f"ret-{ns}-{TAG}")
            eq(s.subscribe("r/#"), [1], f"{ns} SUBACK for r/#")
            s.wait_messages(1)
            got = [m for m in s.quiet(0.5) if m.topic == f"r/{TAG}"]
            eq([(m.payload, m.retain) for m in got], [(f"retained-{ns}".encode(), True)], f"{ns} retained r/{TAG}")

    for ns in ("ns2", "ns1"):

        @test(f"{ns}: {REVOKED[ns]} while the broker was down, applied from {how_applied(ns)}: reader's "
              "restored session resumes with its t/r messages, none of the queued s/ ones, the restored s/# "
              "subscription is removed (counted as revoked) and SUBSCRIBE s/# is refused")
        def _(ns=ns):
            key = f'egbroker_subscriptions_revoked_total{{namespace="{ns}"}}'
            before = metrics().get(key, 0)
            s = reader(ns, clean=False)
            eq(s.session_present, 1, "CONNACK session present")
            s.wait_messages(N, timeout=10)
            eq(payloads(s.quiet(0.5)), expected(ns, "r"), "messages received (t/r only)")
            # Published now: s/x must not reach it (its s/# subscription is gone), t/r/x still does.
            pub = plain(ns, f"pub2-{ns}-{TAG}")
            pub.publish("s/x", b"after-secret", qos=1)
            pub.publish("t/r/x", b"after-r", qos=1)
            s.wait_messages(N + 1)
            eq(payloads(s.quiet(0.5))[N:], [b"after-r"], "messages published after the reconnect")
            eq(s.subscribe("s/#"), [NOT_AUTH if ns == "ns1" else 0x80], "SUBACK for s/# now")
            check(before >= 1, f"{key} = {before} before the reconnect: the restored subscription was not revoked")
            eq(metrics().get(key, 0), before, f"{key} after the reconnect (nothing more to revoke)")

    for ns in NAMESPACES:

        @test(f"{ns}: gone was deleted while the broker was down ({how_applied(ns)}): its CONNECT is refused "
              "(0x86), and its restored session was ended as by a live deletion: another client presenting its "
              "ClientId with Clean Start 0 gets a new session (present 0) and none of gone's messages")
        def _(ns=ns):
            g = plain(ns, f"gn-{TAG}", "gone", clean=False, persistent=True, expect_rc=None)
            eq(g.rc, BAD_USER, "gone's CONNACK reason code")
            g.expect_refused()
            other = plain(ns, f"gn-{TAG}", clean=False)
            eq(other.session_present, 0, "CONNACK session present for dev with gone's ClientId")
            eq(payloads(other.quiet(0.7)), [], "messages dev received")

if __name__ == "__main__":
    run_tests()
