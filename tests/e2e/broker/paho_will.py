"""Will messages: published on abrupt close and keep-alive timeout, not on a normal
DISCONNECT, published on DISCONNECT 0x04, Will Delay Interval (cancelled by a reconnect,
sent after the delay, sent at session end when that comes first), will Message Expiry
counted from the publication.
EG_PORT: broker with default limits.
"""
import time

from pahoutil import (P_CONTENT_TYPE, P_MESSAGE_EXPIRY, P_SESSION_EXPIRY, P_USER, P_WILL_DELAY, V311, V5, Paho, PacketTypes, Raw, check,
                      disconnect_with_will, eq, payloads, prop, props, run_tests, test, uid)


def watcher(topic):
    w = Paho("ww-" + uid(), V5)
    w.subscribe(topic, qos=1)
    return w


def raw_with_will(topic, version=V5, will_props=None, connect_props=None, cid=None, keepalive=60, retain=False):
    r = Raw(version=version)
    r.connect(cid or "wr-" + uid(), keepalive=keepalive, props=connect_props,
              will={"topic": topic, "payload": b"gone", "qos": 1, "retain": retain, "props": will_props})
    return r


@test("v5 will published when the socket closes without DISCONNECT, with its properties")
def t_will_abrupt_v5():
    topic = f"w/{uid()}"
    w = watcher(topic)
    r = raw_with_will(topic, will_props=[(P_USER, ("why", "crash")), (P_CONTENT_TYPE, "text/plain")])
    r.close()
    got = w.wait_messages(1, timeout=3)
    m = got[0]
    eq((m.topic, m.payload, m.qos, m.retain), (topic, b"gone", 1, False), "will (topic, payload, qos, retain)")
    eq(prop(m.props, "UserProperty"), [("why", "crash")], "will User Property")
    eq(prop(m.props, "ContentType"), "text/plain", "will Content Type")
    eq(len(w.quiet(0.3)), 1, "number of will deliveries")


@test("v3.1.1 will published when the socket closes without DISCONNECT")
def t_will_abrupt_v311():
    topic = f"w311/{uid()}"
    w = watcher(topic)
    r = raw_with_will(topic, version=V311)
    r.close()
    eq([(m.payload, m.qos) for m in w.wait_messages(1, timeout=3)], [(b"gone", 1)], "will (payload, qos)")


@test("v5 will with the retain flag is retained")
def t_will_retained():
    topic = f"wret/{uid()}"
    r = raw_with_will(topic, retain=True)
    r.close()
    time.sleep(0.5)
    late = Paho("wl-" + uid(), V5)
    late.subscribe(topic, qos=1)
    eq([(m.payload, m.retain) for m in late.wait_messages(1, timeout=3)], [(b"gone", True)],
       "retained will delivered to a later subscriber (payload, retain)")


@test("v5 will not published after DISCONNECT 0x00")
def t_no_will_normal_v5():
    topic = f"wn/{uid()}"
    w = watcher(topic)
    r = raw_with_will(topic)
    r.disconnect(0)
    time.sleep(0.1)
    r.close()
    eq(w.quiet(1.5), [], "messages on the will topic")


@test("v3.1.1 will not published after DISCONNECT")
def t_no_will_normal_v311():
    topic = f"wn311/{uid()}"
    w = watcher(topic)
    r = raw_with_will(topic, version=V311)
    r.disconnect()
    time.sleep(0.1)
    r.close()
    eq(w.quiet(1.5), [], "messages on the will topic")


@test("v5 will published after DISCONNECT 0x04 (Disconnect with Will Message), paho client")
def t_will_0x04():
    topic = f"w4/{uid()}"
    w = watcher(topic)
    c = Paho("w4-" + uid(), V5, will={"topic": topic, "payload": b"on purpose", "qos": 1})
    c.disconnect(reasoncode=disconnect_with_will())
    eq([(m.topic, m.payload) for m in w.wait_messages(1, timeout=3)], [(topic, b"on purpose")], "will delivered")


@test("v5 will published when the server closes the connection for keep alive timeout")
def t_will_keep_alive():
    topic = f"wka/{uid()}"
    w = watcher(topic)
    r = raw_with_will(topic, keepalive=1)
    got = w.wait_messages(1, timeout=4)
    eq(payloads(got), [b"gone"], "will delivered")
    r.close()


@test("v5 Will Delay 2 s: a reconnect (Clean Start 0) within the delay cancels the will")
def t_will_delay_cancelled():
    topic, cid = f"wdc/{uid()}", "wdc-" + uid()
    w = watcher(topic)
    r = raw_with_will(topic, cid=cid, will_props=[(P_WILL_DELAY, 2)], connect_props=[(P_SESSION_EXPIRY, 30)])
    r.close()
    time.sleep(0.3)
    again = Paho(cid, V5, clean=False, connect_props=props(PacketTypes.CONNECT, SessionExpiryInterval=30))
    eq(again.session_present, 1, "CONNACK session present on the reconnect")
    eq(w.quiet(3.0), [], "messages on the will topic (2 s delay passed after the reconnect)")


@test("v5 Will Delay 1 s: the will is published after the delay, not before")
def t_will_delay_sent():
    topic = f"wds/{uid()}"
    w = watcher(topic)
    r = raw_with_will(topic, will_props=[(P_WILL_DELAY, 1)], connect_props=[(P_SESSION_EXPIRY, 30)])
    closed_at = time.time()
    r.close()
    got = w.wait_messages(1, timeout=4)
    after = got[0].at - closed_at
    eq(payloads(got), [b"gone"], "will delivered")
    check(0.8 <= after <= 3.0, f"will arrived {after:.2f} s after the close, expected about 1 s")


@test("v5 Will Delay 30 s with Session Expiry 1 s: the will is published when the session ends")
def t_will_delay_session_end():
    topic = f"wde/{uid()}"
    w = watcher(topic)
    r = raw_with_will(topic, will_props=[(P_WILL_DELAY, 30)], connect_props=[(P_SESSION_EXPIRY, 1)])
    closed_at = time.time()
    r.close()
    got = w.wait_messages(1, timeout=4)
    after = got[0].at - closed_at
    check(0.8 <= after <= 3.0, f"will arrived {after:.2f} s after the close, expected about 1 s (session end)")


@test("v5 will Message Expiry 5 s with Will Delay 2 s: the expiry counts from the publication")
def t_will_expiry_from_publication():
    topic = f"wme/{uid()}"
    w = watcher(topic)
    r = raw_with_will(topic, will_props=[(P_WILL_DELAY, 2), (P_MESSAGE_EXPIRY, 5)],
                      connect_props=[(P_SESSION_EXPIRY, 30)])
    r.close()
    got = w.wait_messages(1, timeout=6)
    eq(payloads(got), [b"gone"], "will delivered after its 2 s delay")
    left = prop(got[0].props, "MessageExpiryInterval")
    check(left in (4, 5), f"Message Expiry Interval forwarded {left} s, expected 5 s less the time in flight "
                          "(3 s would mean it counted from CONNECT)")


if __name__ == "__main__":
    run_tests()
