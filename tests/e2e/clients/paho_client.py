#!/usr/bin/env python3
"""Eclipse Paho (paho-mqtt 1.x) session against an MQTT server, for the codec tests.

usage: paho_client.py PORT VERSION(311|5) CLIENT_ID [--connect-only]

Connects (username, will, v5 CONNECT and Will properties), subscribes to several filters
with per-filter options (v5: subscription identifier 42), waits for one message per filter
(the probe publishes on subscribe), publishes at QoS 0, 1 and 2 (v5: with properties),
unsubscribes and disconnects (v5: reason code 0x04 with properties). Prints one JSON object
with what the client saw: CONNACK properties, granted QoS, messages with their properties,
UNSUBACK reason codes. Exits 1 if a step times out. Run it with Debian's python3.
"""
import json
import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCodes
from paho.mqtt.subscribeoptions import SubscribeOptions

port, version, client_id = int(sys.argv[1]), sys.argv[2], sys.argv[3]
connect_only = "--connect-only" in sys.argv
v5 = version == "5"
prefix = "paho5" if v5 else "paho311"
seen = {"connack": None, "granted": None, "messages": [], "unsuback": None, "published": []}
cond = threading.Condition()


def props_json(props):
    return props.json() if props is not None else None


def codes(rcs):
    rcs = list(rcs) if isinstance(rcs, (list, tuple)) else [rcs]
    return [rc.value if hasattr(rc, "value") else rc for rc in rcs]


def on_connect(client, userdata, flags, rc, properties=None):
    with cond:
        seen["connack"] = {"session_present": flags.get("session present"),
                           "rc": rc.value if hasattr(rc, "value") else rc,
                           "props": props_json(properties)}
        cond.notify_all()


def on_subscribe(client, userdata, mid, granted, properties=None):
    with cond:
        seen["granted"] = codes(granted)
        cond.notify_all()


def on_message(client, userdata, msg):
    with cond:
        seen["messages"].append({"topic": msg.topic, "payload": msg.payload.decode("utf-8", "replace"),
                                 "qos": msg.qos, "retain": bool(msg.retain),
                                 "props": props_json(getattr(msg, "properties", None))})
        cond.notify_all()


def on_unsubscribe(client, userdata, mid, properties=None, rcs=None):
    with cond:
        seen["unsuback"] = codes(rcs) if rcs is not None else []
        cond.notify_all()


def wait_for(what, pred, seconds=5):
    with cond:
        if not cond.wait_for(pred, timeout=seconds):
            print(json.dumps(dict(seen, timeout=what)))
            sys.exit(1)


client = mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
                     **({} if v5 else {"clean_session": True}))
client.on_connect, client.on_subscribe = on_connect, on_subscribe
client.on_message, client.on_unsubscribe = on_message, on_unsubscribe
client.username_pw_set(prefix + "-user", prefix + "-pass")
will_props = None
if v5:
    will_props = Properties(PacketTypes.WILLMESSAGE)
    will_props.WillDelayInterval = 15
    will_props.UserProperty = ("will-k", "will-v")
client.will_set(prefix + "/will", b"paho-gone", qos=1, retain=False, properties=will_props)

connect_props = None
if v5:
    connect_props = Properties(PacketTypes.CONNECT)
    connect_props.SessionExpiryInterval = 45
    connect_props.ReceiveMaximum = 33
    connect_props.MaximumPacketSize = 200000
    connect_props.UserProperty = [("c1", "x"), ("c1", "y")]
    client.connect("127.0.0.1", port, keepalive=25, clean_start=True, properties=connect_props)
else:
    client.connect("127.0.0.1", port, keepalive=25)
client.loop_start()
wait_for("connack", lambda: seen["connack"] is not None)

if not connect_only:
    if v5:
        sub_props = Properties(PacketTypes.SUBSCRIBE)
        sub_props.SubscriptionIdentifier = 42
        sub_props.UserProperty = ("sub-k", "sub-v")
        filters = [(prefix + "/a", SubscribeOptions(qos=1, noLocal=True, retainAsPublished=False,
                                                    retainHandling=1)),
                   (prefix + "/+/c", SubscribeOptions(qos=2, noLocal=False, retainAsPublished=True,
                                                      retainHandling=2)),
                   (prefix + "/#", SubscribeOptions(qos=0))]
        client.subscribe(filters, properties=sub_props)
    else:
        filters = [(prefix + "/a", 1), (prefix + "/+/c", 2)]
        client.subscribe(filters)
    wait_for("suback", lambda: seen["granted"] is not None)
    wait_for("messages", lambda: len(seen["messages"]) >= len(filters))

    pubs = [(prefix + "/pub/q0", b"zero", 0, True), (prefix + "/pub/q1", bytes(range(256)), 1, False),
            (prefix + "/pub/q2", "two \u00e9\u6e29".encode(), 2, False)]
    for i, (topic, payload, qos, retain) in enumerate(pubs):
        props = None
        if v5:
            props = Properties(PacketTypes.PUBLISH)
            if i == 0:
                props.UserProperty = [("u1", "a"), ("u2", "b"), ("u1", "c")]
                props.ContentType = "text/plain; charset=utf-8"
                props.PayloadFormatIndicator = 1
                props.MessageExpiryInterval = 99
                props.ResponseTopic = prefix + "/reply"
                props.CorrelationData = b"\x00\x01\xfe\xff"
            elif i == 1:
                props.TopicAlias = 2
            else:
                props.UserProperty = ("q", "2")
        info = client.publish(topic, payload, qos=qos, retain=retain, properties=props)
        info.wait_for_publish(timeout=5)
        if not info.is_published():
            print(json.dumps(dict(seen, timeout="publish " + topic)))
            sys.exit(1)
        seen["published"].append(topic)

    unsub_props = None
    if v5:
        unsub_props = Properties(PacketTypes.UNSUBSCRIBE)
        unsub_props.UserProperty = ("unsub-k", "unsub-v")
    client.unsubscribe([prefix + "/a", prefix + "/+/c"], properties=unsub_props)
    wait_for("unsuback", lambda: seen["unsuback"] is not None)

if v5:
    disc_props = Properties(PacketTypes.DISCONNECT)
    disc_props.ReasonString = "paho says bye"
    disc_props.UserProperty = ("disc-k", "disc-v")
    client.disconnect(reasoncode=ReasonCodes(PacketTypes.DISCONNECT, "Disconnect with will message"),
                      properties=disc_props)
else:
    client.disconnect()
time.sleep(0.2)
client.loop_stop()
print(json.dumps(seen))
