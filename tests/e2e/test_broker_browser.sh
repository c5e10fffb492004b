#!/usr/bin/env bash
# End-to-end: a web page in headless Chromium uses MQTT.js (its browser bundle) over wss to
# subscribe and publish through the broker; the test reads the result from the page.
# The listener does not request a client certificate: asked for one, a browser prompts the
# user, and headless Chromium, which cannot, aborts the handshake.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
e2e_init

[ -x /usr/bin/chromium ] || bail "chromium is not installed (scripts/deps.sh test installs it)"
tls_test_setup
WSS=$(free_port)
cat >"$E2E_TMP/wss.json" <<JSON
{"listeners": [{"type": "wss", "bind": "127.0.0.1", "port": $WSS, "cert": "$CERTS/server.pem", "key": "$CERTS/server.key",
                "request_client_certificate": false}],
 "log_level": "debug"}
JSON
start_bg broker "$BROKER" --config "$E2E_TMP/wss.json"
wait_for_port "$WSS" 10 || bail "broker did not listen: $(tail -5 "$E2E_TMP/broker.out")"

mkdir -p "$E2E_TMP/page"
cp tests/e2e/browser/wss_page.html tests/e2e/node_modules/mqtt/dist/mqtt.min.js "$E2E_TMP/page/"
out=$(timeout 60 node tests/e2e/browser/run_page.js "file://$E2E_TMP/page/wss_page.html?port=$WSS" 2>&1)
if [ "$out" = "received: hello from the browser" ]; then
  ok "MQTT.js in headless Chromium over wss: subscribe, publish, receive"
else
  not_ok "MQTT.js in headless Chromium over wss: subscribe, publish, receive" "$out"
fi
if grep -q "connected .*tls_sni=localhost" "$E2E_TMP/broker.out"; then ok "the browser's connection came over TLS with SNI localhost"
else not_ok "the browser's connection came over TLS with SNI localhost" "$(grep -E 'connected|ws:' "$E2E_TMP/broker.out" | tail -3)"; fi

stop_broker_checked broker "browser test broker"
e2e_finish
