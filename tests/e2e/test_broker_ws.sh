#!/usr/bin/env bash
# End-to-end: MQTT over WebSockets (ws and wss listeners, path /mqtt) with paho-mqtt,
# MQTT.js and a raw WebSocket client for framing edge cases and bad upgrades.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
e2e_init

tls_test_setup
WS=$(free_port)
WSS=$(free_port)
TCP=$(free_port)
cat >"$E2E_TMP/ws.json" <<JSON
{"listeners": [
   {"type": "ws", "bind": "127.0.0.1", "port": $WS},
   {"type": "wss", "bind": "127.0.0.1", "port": $WSS, "cert": "$CERTS/server.pem", "key": "$CERTS/server.key"},
   {"type": "mqtt", "bind": "127.0.0.1", "port": $TCP}],
 "limits": {"connect_timeout": 2}, "log_level": "debug"}
JSON
start_bg broker "$BROKER" --config "$E2E_TMP/ws.json"
wait_for_port "$WS" 10 || bail "broker did not listen: $(tail -5 "$E2E_TMP/broker.out")"
BLOG=$E2E_TMP/broker.out

timeout 60 "$EG_PYTHON" tests/e2e/broker/ws_clients.py "$WS" "$WSS" "$TCP" "$CERTS/ca.pem" >"$E2E_TMP/paho.log" 2>&1
cat "$E2E_TMP/paho.log"
E2E_PASS=$((E2E_PASS + $(grep -c '^ok ' "$E2E_TMP/paho.log")))
E2E_FAIL=$((E2E_FAIL + $(grep -c '^not ok ' "$E2E_TMP/paho.log")))
grep -q '^ok \|^not ok ' "$E2E_TMP/paho.log" || not_ok "paho over WebSockets ran" "$(tail -10 "$E2E_TMP/paho.log")"

timeout 60 node tests/e2e/broker/ws_mqttjs.js "$WS" "$WSS" "$CERTS/ca.pem" >"$E2E_TMP/js.log" 2>&1
cat "$E2E_TMP/js.log"
E2E_PASS=$((E2E_PASS + $(grep -c '^ok ' "$E2E_TMP/js.log")))
E2E_FAIL=$((E2E_FAIL + $(grep -c '^not ok ' "$E2E_TMP/js.log")))
grep -q '^ok \|^not ok ' "$E2E_TMP/js.log" || not_ok "MQTT.js over WebSockets ran" "$(tail -10 "$E2E_TMP/js.log")"

raw() { # NAME CASE
  local out
  out=$(timeout 20 "$EG_PYTHON" tests/e2e/broker/ws_cases.py "$WS" "$2" 2>&1)
  if [ "$out" = ok ]; then ok "$1"; else not_ok "$1" "$out"; fi
}
raw "upgrade: 101 with the RFC 6455 accept key and subprotocol mqtt" upgrade_headers
raw "MQTT packets split across frames and joined in one frame (subprotocol mqttv3.1)" split_and_joined
raw "ping answered with pong" ping_pong
raw "server-side close: MQTT DISCONNECT 0x82 delivered, then a close frame 1000" server_disconnect
raw "text frame: closed with 1003" text_frame
raw "unmasked client frame: closed with 1002" unmasked
raw "message over the size limit: closed with 1009" oversize
raw "upgrade on another path: 404" wrong_path_404
raw "plain HTTP request (no upgrade): 426" plain_http_426
raw "WebSocket version 8: 426" version_8_426
raw "malformed Sec-WebSocket-Key: 400" bad_key_400
raw "unknown subprotocol only: 400" bad_subprotocol_400
raw "POST instead of GET: 400" post_400

# A client that connects and never finishes the upgrade is closed at connect_timeout (2 s).
out=$(timeout 10 "$EG_PYTHON" - "$WS" <<'PY' 2>&1
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=6)
s.sendall(b"GET /mqtt HTTP/1.1\r\n")
start = time.time()
try:
    data = s.recv(100)
except (socket.timeout, ConnectionResetError):
    data = b"timeout"
print("closed after %.1f s" % (time.time() - start) if data == b"" else "got %r" % data)
PY
)
case $out in
  "closed after 1."* | "closed after 2."* | "closed after 3."*) ok "stalled upgrade closed at connect_timeout ($out)" ;;
  *) not_ok "stalled upgrade closed at connect_timeout" "$out" ;;
esac

stop_broker_checked broker "WebSocket broker"
e2e_finish
