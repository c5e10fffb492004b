#!/usr/bin/env bash
# `make run`: the demo of SPEC section 1, as far as it exists. Creates the development
# certificates, then starts egcontrol (REST on 127.0.0.1:8080, token in var/control.token)
# and egbroker with MQTT over TLS on 8883, MQTT over WebSockets+TLS on 8443 (path /mqtt) and
# plain MQTT on 127.0.0.1:1883. Ctrl-C stops both.
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
"$BUILD/bin/egcontrol" --listen 127.0.0.1:8080 --db var/control.db --token-file var/control.token &
control_pid=$!
trap 'kill -TERM "$control_pid" 2>/dev/null; wait "$control_pid" 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s var/control.token ] && break; sleep 0.1; done
cat <<'TXT'
egcontrol: REST API on http://127.0.0.1:8080 (api/README.md), token in var/control.token:
  curl -s -H "Authorization: Bearer $(cat var/control.token)" http://127.0.0.1:8080/namespaces
  curl -s -X PUT -H "Authorization: Bearer $(cat var/control.token)" -d '{}' http://127.0.0.1:8080/namespaces/demo
egbroker in open mode (it enforces egcontrol's snapshots with the enforcement issue):
  mqtt  127.0.0.1:1883   mqtts localhost:8883   wss wss://localhost:8443/mqtt
Development certificates: var/certs (ca.pem, server.pem/.key, device1.pem/.key, device2.pem/.key)

Try, in another terminal:
  mosquitto_sub -h localhost -p 8883 --cafile var/certs/ca.pem --cert var/certs/device1.pem --key var/certs/device1.key -t 'devices/#' -v -V mqttv5
  mosquitto_pub -h localhost -p 8883 --cafile var/certs/ca.pem --cert var/certs/device2.pem --key var/certs/device2.key -t devices/device1/telemetry -m 21.5 -q 1
  mosquitto_pub -h 127.0.0.1 -p 1883 -t devices/device1/telemetry -m 22.0
Ctrl-C stops both.
TXT
"$BUILD/bin/egbroker" --config var/broker.json &
broker_pid=$!
trap 'kill -TERM "$broker_pid" "$control_pid" 2>/dev/null; wait "$broker_pid" "$control_pid" 2>/dev/null || true' EXIT INT TERM
wait "$broker_pid"
