#!/usr/bin/env bash
# `make run`: the demo of SPEC section 1, as far as it exists. Creates the development
# certificates, then starts egbroker with MQTT over TLS on 8883, MQTT over WebSockets+TLS
# on 8443 (path /mqtt) and plain MQTT on 127.0.0.1:1883. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
mkdir -p var/broker
scripts/dev-certs.sh var/certs
cat >var/broker.json <<JSON
{"listeners": [
   {"type": "mqtt", "bind": "127.0.0.1", "port": 1883},
   {"type": "mqtts", "bind": "127.0.0.1", "port": 8883, "cert": "var/certs/server.pem", "key": "var/certs/server.key"},
   {"type": "wss", "bind": "127.0.0.1", "port": 8443, "cert": "var/certs/server.pem", "key": "var/certs/server.key",
    "path": "/mqtt", "request_client_certificate": false}],
 "data_dir": "var/broker"}
JSON
cat <<'TXT'
egbroker in open mode (the control plane, egcontrol, joins this demo with its issue):
  mqtt  127.0.0.1:1883   mqtts localhost:8883   wss wss://localhost:8443/mqtt
Development certificates: var/certs (ca.pem, server.pem/.key, device1.pem/.key, device2.pem/.key)

Try, in another terminal:
  mosquitto_sub -h localhost -p 8883 --cafile var/certs/ca.pem --cert var/certs/device1.pem --key var/certs/device1.key -t 'devices/#' -v -V mqttv5
  mosquitto_pub -h localhost -p 8883 --cafile var/certs/ca.pem --cert var/certs/device2.pem --key var/certs/device2.key -t devices/device1/telemetry -m 21.5 -q 1
  mosquitto_pub -h 127.0.0.1 -p 1883 -t devices/device1/telemetry -m 22.0
Ctrl-C stops the broker.
TXT
exec "$BUILD/bin/egbroker" --config var/broker.json
