"""paho-mqtt over WebSockets: `ws_clients.py WS_PORT WSS_PORT TCP_PORT CA_FILE`.
Prints ok/not ok lines: v5 over ws, v3.1.1 over wss, and cross-transport delivery."""
import subprocess
import sys
import threading
import time

import paho.mqtt.client as mqtt

WS, WSS, TCP, CA = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
failed = 0


def client(name, version, port, tls):
    c = mqtt.Client(name, protocol=version, transport="websockets")
    c.ws_set_options(path="/mqtt")
    if tls:
        c.tls_set(ca_certs=CA)
    c.got, c.event = [], threading.Event()

    def on_message(cl, userdata, m):
        c.got.append((m.topic, m.payload))
        c.event.set()
    c.on_message = on_message
    c.connect("localhost", port)
    c.loop_start()
    return c


def report(name, cond, detail):
    global failed
    print(("ok - " if cond else "not ok - ") + name)
    if not cond:
        failed += 1
        print(f"# {detail}")


sub = client("ws-sub", mqtt.MQTTv5, WS, False)
sub.subscribe("ws/#", qos=1)
time.sleep(0.5)
pub = client("wss-pub", mqtt.MQTTv311, WSS, True)
big = bytes(range(256)) * 400  # 100 KiB: many frames' worth for the broker's framing
pub.publish("ws/big", big, qos=1).wait_for_publish(5)
sub.event.wait(5)
report("paho v3.1.1 over wss publishes, paho v5 over ws receives 100 KiB intact",
       sub.got[:1] == [("ws/big", big)], [(t, len(p)) for t, p in sub.got])
sub.got.clear()
sub.event.clear()
subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(TCP), "-t", "ws/from-tcp", "-m", "tcp", "-q", "1"],
               timeout=10, check=False)
sub.event.wait(5)
report("cross-transport: a plain TCP publisher reaches a WebSocket subscriber", sub.got == [("ws/from-tcp", b"tcp")],
       sub.got)
for c in (sub, pub):
    c.disconnect()
    c.loop_stop()
sys.exit(1 if failed else 0)
