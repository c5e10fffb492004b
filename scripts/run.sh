#!/usr/bin/env bash
# `make run`: the demo of SPEC section 1. Creates the development certificates under var/certs,
# starts egcontrol (REST on 127.0.0.1:8080, token in var/control.token) and an egbroker wired to
# it (admin endpoint 127.0.0.1:9090; MQTT over TLS on 8883, MQTT over WebSockets+TLS on 8443 path
# /mqtt, plain MQTT on 127.0.0.1:1883), applies the `demo` namespace from examples/demo through the
# REST API, and prints client lines that work. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
# EG_VAR moves the demo's state elsewhere (the end-to-end test of this script uses it).
VAR=${EG_VAR:-var}
mkdir -p "$VAR/broker"
scripts/dev-certs.sh "$VAR/certs"
[ -s "$VAR/broker.token" ] || (umask 077 && openssl rand -hex 32 >"$VAR/broker.token")
cat >"$VAR/broker.json" <<JSON
{"listeners": [
   {"type": "mqtt", "bind": "127.0.0.1", "port": 1883},
   {"type": "mqtts", "bind": "127.0.0.1", "port": 8883, "cert": "$VAR/certs/server.pem", "key": "$VAR/certs/server.key"},
   {"type": "wss", "bind": "127.0.0.1", "port": 8443, "cert": "$VAR/certs/server.pem", "key": "$VAR/certs/server.key",
    "path": "/mqtt", "request_client_certificate": false}],
 "admin": {"bind": "127.0.0.1", "port": 9090, "token_file": "$VAR/broker.token"},
 "namespace": "demo",
 "data_dir": "$VAR/broker"}
JSON

pids=()
stop_all() {
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop_all EXIT INT TERM

wait_port() { # port what
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "run: $2 did not start listening on port $1" >&2
  exit 1
}

"$BUILD/bin/egbroker" --config "$VAR/broker.json" &
pids+=($!)
wait_port 9090 egbroker
"$BUILD/bin/egcontrol" --listen 127.0.0.1:8080 --db "$VAR/control.db" --token-file "$VAR/control.token" \
  --broker "local=http://127.0.0.1:9090,$VAR/broker.token" &
pids+=($!)
wait_port 8080 egcontrol

echo "run: applying the demo namespace (examples/demo) through the REST API"
scripts/apply-namespace.sh http://127.0.0.1:8080 "$VAR/control.token" demo examples/demo \
  --ca "$VAR/certs/ca.pem" --thumbprint-of "$VAR/certs/device2.pem"
# The broker has the namespace once egcontrol's push is acknowledged.
for _ in $(seq 100); do
  curl -s -H "Authorization: Bearer $(cat "$VAR/control.token")" http://127.0.0.1:8080/brokers | grep -q '"state":"InSync"' && break
  sleep 0.1
done

cat <<TXT

egcontrol  REST API http://127.0.0.1:8080 (api/README.md), token in $VAR/control.token
egbroker   mqtts localhost:8883, wss wss://localhost:8443/mqtt, mqtt 127.0.0.1:1883; admin 127.0.0.1:9090
namespace  demo (examples/demo): device1 publishes its own telemetry, device2 reads it, both share alerts/#

Try, in other terminals:
  # device2 reads every device's telemetry (allowed: \$all subscribes devices/+/telemetry/#)
  mosquitto_sub -h localhost -p 8883 --cafile $VAR/certs/ca.pem --cert $VAR/certs/device2.pem --key $VAR/certs/device2.key -i device2 -t 'devices/+/telemetry/#' -v
  # device1 publishes its own telemetry (allowed: sensors publish devices/\${client.authenticationName}/telemetry/#)
  mosquitto_pub -h localhost -p 8883 --cafile $VAR/certs/ca.pem --cert $VAR/certs/device1.pem --key $VAR/certs/device1.key -i device1 -t devices/device1/telemetry -m 21.5 -q 1
  # device2 may not publish telemetry: with MQTT v5 the PUBACK says 0x87 Not authorized
  mosquitto_pub -h localhost -p 8883 --cafile $VAR/certs/ca.pem --cert $VAR/certs/device2.pem --key $VAR/certs/device2.key -i device2-pub -t devices/device2/telemetry -m 1 -q 1 -V mqttv5 -d
  # both share alerts
  mosquitto_pub -h localhost -p 8883 --cafile $VAR/certs/ca.pem --cert $VAR/certs/device2.pem --key $VAR/certs/device2.key -i device2-alert -t alerts/door -m open
  # plain MQTT on loopback (development): the Username is the authentication name, no credential
  mosquitto_pub -h 127.0.0.1 -p 1883 -u device1 -i device1-plain -t devices/device1/telemetry -m 22.0
  # the resources
  curl -s -H "Authorization: Bearer \$(cat $VAR/control.token)" http://127.0.0.1:8080/namespaces/demo/clients
  curl -s -H "Authorization: Bearer \$(cat $VAR/control.token)" http://127.0.0.1:8080/brokers
Ctrl-C stops both.
TXT
wait -n "${pids[@]}"
