"""Live changes (SPEC section 3, issue 6 "Live changes"): resources changed through egcontrol's
REST API (curl) while paho clients stay connected over TLS; each change is awaited until
GET /brokers shows the broker InSync at the new version, then its effect is checked without
reconnecting. Run by tests/e2e/test_enforcement_live.sh after enf_tutorial.

EG_PHASE=restart selects the checks made after the broker restarted from its saved snapshot
with egcontrol stopped.
"""
import os
import time

from enfutil import (eq_no_subscribers, NS, V5, V311, TlsPaho, TlsRaw, api, change, check, eq, metrics, payloads, run_tests,
                     subscribe_many, test, uid, wait_deleted, wait_insync)

OK_PUB = (0x00, 0x10)
BAD_USER, NOT_AUTH, ADMIN_ACTION, QUOTA = 0x86, 0x87, 0x98, 0x97
NSP = f"/namespaces/{NS}"


def binding(name, group, space, perm):
    return change("PUT", f"{NSP}/permissionBindings/{name}",
                  {"properties": {"clientGroupName": group, "topicSpaceName": space, "permission": perm}})


def refused(client_id, cert_name, username, version, want):
    p = TlsPaho(client_id, cert_name, username, version=version, expect_rc=None)
    eq(p.rc, want, f"{client_id} ({cert_name}, Username {username!r}, v{version}): CONNACK code")
    p.wait_closed()


def still_up(*clients):
    for c in clients:
        check(not c.closed.is_set(), f"{c.client_id} was disconnected (server DISCONNECT {c.server_disconnect})")


if os.environ.get("EG_PHASE") != "restart":

    @test("live: adding a Publisher binding lets the next PUBLISH through without reconnecting (v5 and v3.1.1)")
    def _():
        sub = TlsPaho("live-sub-" + uid(), "device1", "device1")
        eq(sub.subscribe("live/#"), [1], "device1 SUBACK for live/# (Subscriber binding all-sub-live)")
        pub = TlsPaho("live-pub-" + uid(), "device2", "device2")
        pub3 = TlsPaho("live-pub3-" + uid(), "site2", "site2", version=V311)
        eq(pub.publish_rc("live/before", b"before"), NOT_AUTH, "device2 publishing live/before (no Publisher binding yet)")
        version = binding("all-pub-live", "$all", "live", "Publisher")
        eq(pub.publish_rc("live/after", b"after"), 0, f"the same connection publishing live/after at version {version}")
        pub3.publish("live/after3", b"after-v3", qos=1)
        got = sub.wait_messages(2)
        eq(sorted((m.topic, m.payload) for m in got), [("live/after", b"after"), ("live/after3", b"after-v3")],
           "delivered")
        still_up(sub, pub, pub3)

    @test("live: deleting a Subscriber binding stops delivery at once without reconnecting; unrelated clients stay connected")
    def _():
        before = metrics()
        sub = TlsPaho("live-rsub-" + uid(), "device1", "device1")
        eq(sub.subscribe("live/#"), [1], "device1 SUBACK for live/#")
        sub3 = TlsPaho("live-rsub3-" + uid(), "device2", "device2", version=V311)
        eq(sub3.subscribe("live/#"), [1], "device2 (v3.1.1) SUBACK for live/#")
        bystander = TlsPaho("live-bystander-" + uid(), "site2", "site2")
        eq(bystander.subscribe("alerts/#"), [1], "site2 SUBACK for alerts/#")
        pub = TlsPaho("live-rpub-" + uid(), "selfsigned", "selfie")
        eq(pub.publish_rc("live/one", b"one"), 0, "publish before the change")
        sub.wait_messages(1)
        sub3.wait_messages(1)
        change("DELETE", f"{NSP}/permissionBindings/all-sub-live")
        eq_no_subscribers(pub.publish_rc("live/two", b"two"), "PUBACK after the change (the subscriptions were removed)")
        eq(payloads(sub.quiet(0.5)), [b"one"], "device1 (v5) received")
        eq(payloads(sub3.messages), [b"one"], "device2 (v3.1.1) received")
        still_up(sub, sub3, bystander, pub)
        eq(sub.subscribe("live/#"), [NOT_AUTH], "device1 subscribing live/# again")
        eq(pub.publish_rc("alerts/bystander", b"alert"), 0, "publish to the bystander's alerts/#")
        eq(payloads(bystander.wait_messages(1)), [b"alert"], "the bystander still receives")
        after = metrics()
        key = f'egbroker_subscriptions_revoked_total{{namespace="{NS}"}}'
        check(after.get(key, 0) >= before.get(key, 0) + 2, f"{key}: {before.get(key)} -> {after.get(key)}")

    @test("live: adding a Subscriber binding back: the next SUBSCRIBE is granted without reconnecting")
    def _():
        sub = TlsPaho("live-asub-" + uid(), "device1", "device1")
        eq(sub.subscribe("live/#"), [NOT_AUTH], "SUBACK before the change")
        binding("all-sub-live", "$all", "live", "Subscriber")
        eq(sub.subscribe("live/#"), [1], "SUBACK after the change")
        pub = TlsPaho("live-apub-" + uid(), "device2", "device2")
        eq(pub.publish_rc("live/back", b"back"), 0, "publish")
        eq(payloads(sub.wait_messages(1)), [b"back"], "delivered")

    @test("live: disabling a client (PATCH state Disabled) sends its v5 connection DISCONNECT 0x98 within 3 s, closes its v3.1.1 one; others stay")
    def _():
        v5 = TlsPaho("live-dis5-" + uid(), "device1", "device1")
        v3 = TlsPaho("live-dis3-" + uid(), "device1", None, version=V311)
        other = TlsPaho("live-dis-other-" + uid(), "device2", "device2")
        started = time.time()
        change("PATCH", f"{NSP}/clients/device1", {"properties": {"state": "Disabled"}})
        eq(v5.wait_server_disconnect(3), ADMIN_ACTION, "DISCONNECT reason to device1 (v5)")
        v3.wait_closed(3)
        took = time.time() - started
        check(took < 3, f"took {took:.1f} s")
        still_up(other)
        eq_no_subscribers(other.publish_rc("alerts/x", b"x"), "device2 still publishes")
        refused("live-dis-again-" + uid(), "device1", "device1", V5, NOT_AUTH)
        refused("live-dis-again3-" + uid(), "device1", "device1", V311, 5)
        change("PATCH", f"{NSP}/clients/device1", {"properties": {"state": "Enabled"}})
        p = TlsPaho("live-reenabled-" + uid(), "device1", "device1")
        check(p.publish_rc("devices/device1/telemetry", b"back") in OK_PUB, "device1 publishing after re-enabling")

    @test("live: deleting a client sends its connection DISCONNECT 0x98; the name is then unknown (0x86)")
    def _():
        tmp = "tmpdev"
        api("PUT", f"{NSP}/clients/{tmp}", {"properties": {
            "authenticationName": "selfie2",
            "clientCertificateAuthentication": {"validationScheme": "ThumbprintMatch",
                                                "allowedThumbprints": [os.environ["EG_SELFIE_THUMBPRINT"]]}}})
        wait_insync()
        p = TlsPaho("live-del-" + uid(), "selfsigned", "selfie2")
        other = TlsPaho("live-del-other-" + uid(), "selfsigned", "selfie")  # same certificate, another client
        change("DELETE", f"{NSP}/clients/{tmp}")
        eq(p.wait_server_disconnect(3), ADMIN_ACTION, "DISCONNECT reason")
        still_up(other)
        refused("live-del-again-" + uid(), "selfsigned", "selfie2", V5, BAD_USER)

    @test("live: changing a client's allowedThumbprints so its certificate no longer passes ends its connection (0x98)")
    def _():
        p = TlsPaho("live-thumb-" + uid(), "device2", "device2")
        other = TlsPaho("live-thumb-other-" + uid(), "device1", "device1")
        orig = api("GET", f"{NSP}/clients/device2")[1]["properties"]["clientCertificateAuthentication"]
        change("PATCH", f"{NSP}/clients/device2", {"properties": {"clientCertificateAuthentication": {
            "validationScheme": "ThumbprintMatch", "allowedThumbprints": [os.environ["EG_SELFIE_THUMBPRINT"]]}}})
        try:
            eq(p.wait_server_disconnect(3), ADMIN_ACTION, "DISCONNECT reason")
            still_up(other)
            refused("live-thumb-again-" + uid(), "device2", "device2", V5, BAD_USER)
        finally:
            change("PATCH", f"{NSP}/clients/device2", {"properties": {"clientCertificateAuthentication": orig}})
        TlsPaho("live-thumb-back-" + uid(), "device2", "device2")

    @test("live: a client group query change moves a connected client out of a Publisher binding (next PUBLISH 0x87)")
    def _():
        p = TlsPaho("live-group-" + uid(), "device1", "device1")
        check(p.publish_rc("devices/device1/telemetry", b"x") in OK_PUB, "sensor publishing before")
        change("PUT", f"{NSP}/clientGroups/sensors", {"properties": {"query": "attributes.type = 'nothing'"}})
        try:
            eq(p.publish_rc("devices/device1/telemetry", b"x"), NOT_AUTH, "device1 publishing after the query change")
            still_up(p)
        finally:
            change("PUT", f"{NSP}/clientGroups/sensors", {"properties": {"query": "attributes.type = 'sensor'"}})
        check(p.publish_rc("devices/device1/telemetry", b"x") in OK_PUB, "sensor publishing after the query is back")

    @test("live: maximumClientSessionsPerAuthenticationName lowered to 1: a second session is refused 0x97")
    def _():
        TlsPaho("live-lim-a-" + uid(), "device2", "device2")
        TlsPaho("live-lim-b-" + uid(), "device2", "device2")  # 2 allowed now
        change("PATCH", NSP, {"properties": {"topicSpacesConfiguration": {"maximumClientSessionsPerAuthenticationName": 1}}})
        try:
            refused("live-lim-c-" + uid(), "device2", "device2", V5, QUOTA)
        finally:
            change("PATCH", NSP, {"properties": {"topicSpacesConfiguration": {"maximumClientSessionsPerAuthenticationName": 2}}})

    @test("live: maximumSessionExpiryInHours caps the v5 Session Expiry (CONNACK reports 3600 at 1 h, 7200 at 2 h)")
    def _():
        def granted():
            r = TlsRaw("device2")
            r.connect_as("live-exp-" + uid(), "device2", props=[(0x11, 100000)])
            r.disconnect()
            return r.connack_props.get(0x11)
        eq(granted(), 3600, "Session Expiry Interval in CONNACK at the default maximum (1 h)")
        change("PATCH", NSP, {"properties": {"topicSpacesConfiguration": {"maximumSessionExpiryInHours": 2}}})
        try:
            eq(granted(), 7200, "Session Expiry Interval in CONNACK with maximumSessionExpiryInHours 2")
        finally:
            change("PATCH", NSP, {"properties": {"topicSpacesConfiguration": {"maximumSessionExpiryInHours": 1}}})

    @test("live: without alternativeAuthenticationNameSources an empty Username is refused 0x86; the Username still works")
    def _():
        change("PATCH", NSP, {"properties": {"topicSpacesConfiguration": {
            "clientAuthentication": {"alternativeAuthenticationNameSources": []}}}})
        try:
            refused("live-nocn-" + uid(), "device1", None, V5, BAD_USER)
            refused("live-nocn3-" + uid(), "device1", None, V311, 4)
            TlsPaho("live-nocn-u-" + uid(), "device1", "device1")
        finally:
            change("PATCH", NSP, {"properties": {"topicSpacesConfiguration": {
                "clientAuthentication": {"alternativeAuthenticationNameSources": ["ClientCertificateSubject"]}}}})
        TlsPaho("live-cn-back-" + uid(), "device1", None)

    @test("live: the will of a client disabled or deleted by the control plane is not published (it no longer may publish)")
    def _():
        watcher = TlsPaho("live-willwatch-" + uid(), "site2", "site2")
        eq(subscribe_many(watcher, ["devices/+/telemetry/#", "alerts/#"]), [1, 1], "SUBACK")
        d1 = TlsRaw("device1")
        d1.connect_as("live-will-d1-" + uid(), "device1",
                      will={"topic": "devices/device1/telemetry/will", "payload": "disabled-will", "qos": 1})
        api("PUT", f"{NSP}/clients/tmpwill", {"properties": {
            "authenticationName": "willy",
            "clientCertificateAuthentication": {"validationScheme": "ThumbprintMatch",
                                                "allowedThumbprints": [os.environ["EG_SELFIE_THUMBPRINT"]]}}})
        wait_insync()
        tmp = TlsRaw("selfsigned")
        tmp.connect_as("live-will-tmp-" + uid(), "willy", will={"topic": "alerts/will", "payload": "deleted-will", "qos": 1})
        change("PATCH", f"{NSP}/clients/device1", {"properties": {"state": "Disabled"}})
        try:
            d1.expect_server_disconnect(bytes([ADMIN_ACTION]))
            change("DELETE", f"{NSP}/clients/tmpwill")
            tmp.expect_server_disconnect(bytes([ADMIN_ACTION]))
            got = watcher.quiet(0.5)
            eq([(m.topic, m.payload) for m in got], [], "wills delivered")
        finally:
            change("PATCH", f"{NSP}/clients/device1", {"properties": {"state": "Enabled"}})

    @test("live: namespace topicSpacesConfiguration.state Disabled: connections ended (v5 DISCONNECT 0x98), new ones refused; Enabled again: accepted")
    def _():
        a = TlsPaho("live-nsd-a-" + uid(), "device1", "device1")
        b = TlsPaho("live-nsd-b-" + uid(), "device2", "device2", version=V311)
        change("PATCH", NSP, {"properties": {"topicSpacesConfiguration": {"state": "Disabled"}}})
        try:
            eq(a.wait_server_disconnect(3), ADMIN_ACTION, "DISCONNECT reason (v5)")
            b.wait_closed(3)
            p = TlsPaho("live-nsd-new-" + uid(), "device1", "device1", expect_rc=None)
            check(p.rc >= 0x80, f"CONNACK code {p.rc:#x} is not a refusal")
            p.wait_closed()
            p3 = TlsPaho("live-nsd-new3-" + uid(), "device2", "device2", version=V311, expect_rc=None)
            check(p3.rc != 0, "v3.1.1 accepted")
        finally:
            change("PATCH", NSP, {"properties": {"topicSpacesConfiguration": {"state": "Enabled"}}})
        p = TlsPaho("live-nsd-back-" + uid(), "device1", "device1")
        check(p.publish_rc("devices/device1/telemetry", b"x") in OK_PUB, "publish after re-enabling")

    @test("live: CA certificate deleted: new connections of chain-scheme clients refused 0x86, thumbprint clients unaffected; added back: accepted")
    def _():
        _, ca = api("GET", f"{NSP}/caCertificates/test-ca")
        change("DELETE", f"{NSP}/caCertificates/test-ca")
        try:
            refused("live-noca-" + uid(), "device1", "device1", V5, BAD_USER)
            refused("live-noca-cn-" + uid(), "device1", None, V311, 4)
            TlsPaho("live-noca-d2-" + uid(), "device2", "device2")
        finally:
            change("PUT", f"{NSP}/caCertificates/test-ca",
                   {"properties": {"encodedCertificate": ca["properties"]["encodedCertificate"]}})
        TlsPaho("live-ca-back-" + uid(), "device1", "device1")

    @test("live: deleting the namespace ends every connection (v5 DISCONNECT 0x98) and refuses new ones (0x88)")
    def _():
        a = TlsPaho("live-nsdel-" + uid(), "device1", "device1")
        b = TlsPaho("live-nsdel3-" + uid(), "device2", "device2", version=V311)
        before = wait_insync()
        api("DELETE", NSP)
        wait_deleted(before)
        eq(a.wait_server_disconnect(3), ADMIN_ACTION, "DISCONNECT reason (v5)")
        b.wait_closed(3)
        refused("live-nsdel-new-" + uid(), "device1", "device1", V5, 0x88)
        refused("live-nsdel-new3-" + uid(), "device1", "device1", V311, 3)

else:

    @test("after restart with egcontrol stopped: device1 connects and publishes its telemetry, device2 receives it")
    def _():
        sub = TlsPaho("rs-sub-" + uid(), "device2", "device2")
        eq(sub.subscribe("devices/+/telemetry/#"), [1], "device2 SUBACK")
        pub = TlsPaho("rs-pub-" + uid(), "device1", "device1")
        eq(pub.publish_rc("devices/device1/telemetry", b"after-restart"), 0, "device1 PUBACK")
        eq(payloads(sub.wait_messages(1)), [b"after-restart"], "delivered")

    @test("after restart: the saved snapshot is the latest (the live-added Publisher binding on live/# still applies)")
    def _():
        pub = TlsPaho("rs-live-" + uid(), "device2", "device2")
        check(pub.publish_rc("live/after-restart", b"x") in OK_PUB, "device2 publishing live/after-restart refused")

    @test("after restart: denials still apply (device2 telemetry PUBACK 0x87, devices/# SUBACK 0x87, v3.1.1 0x80)")
    def _():
        p = TlsPaho("rs-deny-" + uid(), "device2", "device2")
        eq(p.publish_rc("devices/device2/telemetry", b"x"), NOT_AUTH, "device2 publishing telemetry")
        eq(p.subscribe("devices/#"), [NOT_AUTH], "device2 subscribing devices/#")
        p3 = TlsPaho("rs-deny3-" + uid(), "device2", "device2", version=V311)
        eq(p3.subscribe("devices/#"), [0x80], "v3.1.1 SUBACK")

    @test("after restart: CONNECT refusals still apply (unknown 0x86, disabled 0x87, another CA 0x86)")
    def _():
        refused("rs-nobody-" + uid(), "device1", "nobody", V5, BAD_USER)
        refused("rs-device3-" + uid(), "device3", "device3", V5, NOT_AUTH)
        refused("rs-rogue-" + uid(), "rogue1", "device1", V5, BAD_USER)


if __name__ == "__main__":
    run_tests()
