#!/usr/bin/env bash
# The demo of `make run` (SPEC section 1) as users see it: scripts/run.sh starts egcontrol and
# egbroker on the demo ports, applies examples/demo, and prints client lines; every printed
# mosquitto line is run exactly as printed (the subscriber with -C/-W added to bound it) and must
# behave as its comment says. Uses the sanitizer binaries and a temporary state directory.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
e2e_init

demo_ports_free "the demo of make run"

export EG_VAR=$E2E_TMP/var
start_demo "make run starts egcontrol and egbroker, applies the demo namespace, prints how to connect"
log=$E2E_TMP/demo.out

line() { # the printed line that contains $1
  grep -E "^  (mosquitto_|curl)" "$log" | grep -F -- "$1" | head -1 | sed 's/^  //'
}

sub_line=$(line "mosquitto_sub")
bash -c "$sub_line -C 2 -W 15" >"$E2E_TMP/sub.txt" 2>&1 &
sub_pid=$!
sleep 1.5

out=$(bash -c "$(line '-i device1 -t devices/device1/telemetry')" 2>&1)
if [ $? -eq 0 ]; then ok "device1 publishes its own telemetry over mqtts (printed line)"
else not_ok "device1 publishes its own telemetry over mqtts (printed line)" "$out"; fi

out=$(bash -c "$(line '-i device2-pub')" 2>&1)
if printf '%s' "$out" | grep -q "RC:135"; then ok "device2 may not publish telemetry: PUBACK 0x87 (printed line)"
else not_ok "device2 may not publish telemetry: PUBACK 0x87 (printed line)" "$out"; fi

out=$(bash -c "$(line '-t alerts/door')" 2>&1)
if [ $? -eq 0 ]; then ok "device2 publishes an alert (printed line)"
else not_ok "device2 publishes an alert (printed line)" "$out"; fi

out=$(bash -c "$(line '-p 1883')" 2>&1)
if [ $? -eq 0 ]; then ok "plain MQTT on loopback with the Username as authentication name (printed line)"
else not_ok "plain MQTT on loopback with the Username as authentication name (printed line)" "$out"; fi

wait "$sub_pid"
got=$(cat "$E2E_TMP/sub.txt")
expected=$'devices/device1/telemetry 21.5\ndevices/device1/telemetry 22.0'
if [ "$got" = "$expected" ]; then ok "device2's subscription (printed line) receives device1's telemetry and nothing else"
else not_ok "device2's subscription (printed line) receives device1's telemetry and nothing else" "got: $got"; fi

out=$(bash -c "$(line '/namespaces/demo/clients')" 2>&1)
if printf '%s' "$out" | grep -q '"name":"device1"' && printf '%s' "$out" | grep -q '"name":"device2"'; then
  ok "the printed curl line lists the demo clients"
else not_ok "the printed curl line lists the demo clients" "$out"; fi
out=$(bash -c "$(line '/brokers')" 2>&1)
if printf '%s' "$out" | grep -q '"state":"InSync"'; then ok "the printed curl line shows the broker in sync"
else not_ok "the printed curl line shows the broker in sync" "$out"; fi

stop_bg demo
sleep 0.5
if "$EG_PYTHON" -c "import socket,sys; busy=[p for p in (8080, 9090, 8883) if socket.socket().connect_ex(('127.0.0.1',p)) == 0]; sys.exit(1 if busy else 0)"; then
  ok "stopping make run stops both processes"
else not_ok "stopping make run stops both processes"; fi
san=$(grep -E -A20 'ERROR: (Address|Leak)Sanitizer|runtime error' "$log" | head -30)
if [ -z "$san" ]; then ok "no sanitizer report from egcontrol or egbroker"
else not_ok "no sanitizer report from egcontrol or egbroker" "$san"; fi
e2e_finish
