#!/usr/bin/env bash
# `make run`: the demo of SPEC section 1, as far as it exists. Creates the
# development certificates, then starts the processes that are built.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
mkdir -p var
scripts/dev-certs.sh var/certs
echo "Development certificates: var/certs (ca.pem, server.pem/.key, device1.pem/.key, device2.pem/.key)"
echo "egcontrol (control plane) joins this demo with its issue; egbroker runs in open mode."
echo
echo "Try, in another terminal:"
echo "  mosquitto_sub -h 127.0.0.1 -p 1883 -t 'devices/#' -v -V mqttv5"
echo "  mosquitto_pub -h 127.0.0.1 -p 1883 -t devices/device1/telemetry -m 21.5 -q 1"
echo "Ctrl-C stops the broker."
exec "$BUILD/bin/egbroker"
