#!/usr/bin/env bash
# End-to-end: MQTT over TLS (mqtts listeners). A throwaway CA, server and client
# certificates are made with the openssl command for this run only.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
e2e_init

tls_test_setup
TLS_PORT=$(free_port)
PLAIN_PORT=$(free_port)
WSS_PORT=$(free_port) # only for the session resumption checks
cat >"$E2E_TMP/tls.json" <<JSON
{"listeners": [
   {"type": "mqtts", "bind": "127.0.0.1", "port": $TLS_PORT, "cert": "$CERTS/server.pem", "key": "$CERTS/server.key"},
   {"type": "mqtt", "bind": "127.0.0.1", "port": $PLAIN_PORT},
   {"type": "wss", "bind": "127.0.0.1", "port": $WSS_PORT, "cert": "$CERTS/server.pem", "key": "$CERTS/server.key"}],
 "limits": {"connect_timeout": 3}, "log_level": "debug"}
JSON
start_bg broker "$BROKER" --config "$E2E_TMP/tls.json"
wait_for_port "$TLS_PORT" 10 || bail "broker did not listen: $(tail -5 "$E2E_TMP/broker.out")"
BLOG=$E2E_TMP/broker.out
TLS=(-h localhost -p "$TLS_PORT" --cafile "$CERTS/ca.pem")

# tls_roundtrip NAME SUB_ARGS... -- PUB_ARGS...: a subscriber and a publisher; the message must arrive.
tls_roundtrip() {
  local name=$1 sub=() pub=() out
  shift
  while [ $# -gt 0 ] && [ "$1" != -- ]; do sub+=("$1"); shift; done
  shift
  pub=("$@")
  local topic="tls/$RANDOM$RANDOM" msg="m-$RANDOM"
  timeout 10 mosquitto_sub "${sub[@]}" -t "$topic" -C 1 -W 8 >"$E2E_TMP/sub.out" 2>&1 &
  local sp=$!
  sleep 0.5
  timeout 10 mosquitto_pub "${pub[@]}" -t "$topic" -m "$msg" -q 1 >"$E2E_TMP/pub.out" 2>&1
  wait $sp
  out=$(cat "$E2E_TMP/sub.out")
  if [ "$out" = "$msg" ]; then ok "$name"; else not_ok "$name" "subscriber got: $out" "publisher: $(cat "$E2E_TMP/pub.out")"; fi
}

tls_roundtrip "mosquitto v5 over TLS: publish and receive" "${TLS[@]}" -V mqttv5 -q 1 -- "${TLS[@]}" -V mqttv5
tls_roundtrip "mosquitto v3.1.1 over TLS: publish and receive" "${TLS[@]}" -V mqttv311 -q 1 -- "${TLS[@]}" -V mqttv311
tls_roundtrip "client certificate presented over TLS: accepted, message delivered" "${TLS[@]}" -q 1 -- \
  "${TLS[@]}" --cert "$CERTS/device1.pem" --key "$CERTS/device1.key"
# The identity CONNECT sees: SNI and the client certificate's SHA-256 thumbprint and CN.
want=$(openssl x509 -in "$CERTS/device1.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g')
line=$(grep "connected .*cert_cn=\"device1\"" "$BLOG" | tail -1)
if grep -q "tls_sni=localhost cert_thumbprint=$want cert_cn=\"device1\"" <<<"$line"; then
  ok "client certificate thumbprint (SHA-256, as openssl prints it), CN and SNI reach CONNECT"
else
  not_ok "client certificate thumbprint (SHA-256, as openssl prints it), CN and SNI reach CONNECT" \
    "want thumbprint $want" "log: ${line:-$(grep connected "$BLOG" | tail -3)}"
fi
tls_roundtrip "cross-transport: plain TCP publisher, TLS subscriber" "${TLS[@]}" -q 1 -- -h 127.0.0.1 -p "$PLAIN_PORT"
tls_roundtrip "cross-transport: TLS publisher, plain TCP subscriber" -h 127.0.0.1 -p "$PLAIN_PORT" -q 1 -- "${TLS[@]}"

# Paho over TLS (tls_set with the CA), v5.
out=$(timeout 20 "$EG_PYTHON" - "$TLS_PORT" "$CERTS/ca.pem" <<'PY' 2>&1
import sys, threading, paho.mqtt.client as mqtt
port, ca = int(sys.argv[1]), sys.argv[2]
got, done = [], threading.Event()
def on_message(c, u, m):
    got.append(m.payload); done.set()
sub = mqtt.Client("tls-paho-sub", protocol=mqtt.MQTTv5)
sub.tls_set(ca_certs=ca)
sub.on_message = on_message
sub.connect("localhost", port)
sub.loop_start()
sub.subscribe("tls/paho", qos=1)[1]
import time; time.sleep(0.5)
pub = mqtt.Client("tls-paho-pub", protocol=mqtt.MQTTv5)
pub.tls_set(ca_certs=ca)
pub.connect("localhost", port)
pub.loop_start()
pub.publish("tls/paho", b"paho-over-tls", qos=1).wait_for_publish(5)
done.wait(5)
print(got)
PY
)
if [ "$out" = "[b'paho-over-tls']" ]; then ok "paho v5 over TLS (tls_set): publish and receive"; else
  not_ok "paho v5 over TLS (tls_set): publish and receive" "$out"; fi

# Protocol versions: TLS 1.1 refused at the handshake, 1.2 and 1.3 accepted, ALPN mqtt selected.
s_client() { echo | timeout 10 openssl s_client -connect "127.0.0.1:$TLS_PORT" -servername localhost "$@" 2>&1; }
# -cipher @SECLEVEL=0 lets this client offer TLS 1.1 at all; the refusal must be the server's alert.
out=$(s_client -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0')
if grep -qi "alert protocol version" <<<"$out"; then
  ok "TLS 1.1 refused at the handshake"; else not_ok "TLS 1.1 refused at the handshake" "$(head -20 <<<"$out")"; fi
out=$(s_client -tls1_2)
if grep -q "^New, TLSv1.2" <<<"$out"; then ok "TLS 1.2 accepted"; else not_ok "TLS 1.2 accepted" "$(head -20 <<<"$out")"; fi
out=$(s_client -tls1_3 -alpn mqtt)
if grep -q "^New, TLSv1.3" <<<"$out" && grep -q "ALPN protocol: mqtt" <<<"$out"; then ok "TLS 1.3 accepted, ALPN mqtt selected"
else not_ok "TLS 1.3 accepted, ALPN mqtt selected" "$(head -20 <<<"$out")"; fi
out=$(s_client -tls1_3 -alpn h2)
if grep -q "^New, TLSv1.3" <<<"$out" && grep -q "No ALPN negotiated" <<<"$out"; then ok "ALPN is not required (a client offering only h2 is served)"
else not_ok "ALPN is not required (a client offering only h2 is served)" "$(head -20 <<<"$out")"; fi

# Session resumption, on the mqtts and the wss listener: a client presenting the session of
# an earlier connection gets an abbreviated handshake. TLS 1.3 sends the ticket after the
# handshake, so the first s_client stays a moment (its input ends after 1 s) to receive it.
for listener in "mqtts $TLS_PORT" "wss $WSS_PORT"; do
  read -r kind port <<<"$listener"
  for v in 1.2 1.3; do
    sess=$E2E_TMP/session-$kind-$v.pem
    first=$( (sleep 1) | timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername localhost \
      -CAfile "$CERTS/ca.pem" -verify_return_error "-tls${v/./_}" -sess_out "$sess" 2>&1)
    second=$(echo | timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername localhost \
      -CAfile "$CERTS/ca.pem" -verify_return_error "-tls${v/./_}" -sess_in "$sess" 2>&1)
    if grep -q "^New, TLSv$v" <<<"$first" && grep -q "^Reused, TLSv$v" <<<"$second" &&
      grep -q "Verify return code: 0 (ok)" <<<"$second"; then
      ok "$kind: TLS $v session resumption, the second connection reports Reused"
    else
      not_ok "$kind: TLS $v session resumption, the second connection reports Reused" \
        "first: $(grep -E '^(New|Reused)|session|error' <<<"$first" | head -5)" \
        "second: $(grep -E '^(New|Reused)|session|error' <<<"$second" | head -5)"
    fi
  done
done
# The same over MQTT with a client certificate (Python ssl, session reuse): the resumed
# connection is accepted and its client's identity (CN, thumbprint) still reaches CONNECT.
for v in 1.2 1.3; do
  out=$(timeout 20 "$EG_PYTHON" - "$TLS_PORT" "$CERTS" "$v" <<'PY' 2>&1
import socket, ssl, sys
port, certs, v = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=certs + "/ca.pem")
ctx.load_cert_chain(certs + "/device1.pem", certs + "/device1.key")
ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2 if v == "1.2" else ssl.TLSVersion.TLSv1_3
def mqtt_connect(client_id, session=None):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5),
                        server_hostname="localhost", session=session)
    cid = client_id.encode()
    body = b"\x00\x04MQTT\x04\x02\x00\x3c" + len(cid).to_bytes(2, "big") + cid
    s.sendall(bytes([0x10, len(body)]) + body)
    return s, s.recv(4)  # CONNACK; for TLS 1.3 the ticket came before it
first, ack1 = mqtt_connect("resume-first-" + v)
session = first.session
first.sendall(b"\xe0\x00")  # DISCONNECT
first.unwrap()  # close_notify: OpenSSL keeps a session resumable only after a clean close
first.close()
second, ack2 = mqtt_connect("resume-second-" + v, session)
print("reused" if second.session_reused else "not reused", second.version(), ack1.hex(), ack2.hex())
second.sendall(b"\xe0\x00")
second.close()
PY
)
  want=$(openssl x509 -in "$CERTS/device1.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g')
  sleep 0.2
  line=$(grep "connected .*client=resume-second-$v " "$BLOG" | tail -1)
  if [ "$out" = "reused TLSv$v 20020000 20020000" ] && grep -q "cert_thumbprint=$want cert_cn=\"device1\"" <<<"$line"; then
    ok "mqtts: TLS $v resumed MQTT connection with a client certificate: CONNACK, and CN and thumbprint reach CONNECT"
  else
    not_ok "mqtts: TLS $v resumed MQTT connection with a client certificate: CONNACK, and CN and thumbprint reach CONNECT" \
      "client: $out" "log: ${line:-$(grep "connected .*resume-" "$BLOG" | tail -2)}"
  fi
done

# Plain MQTT on the TLS port: closed, logged with the reason, and the broker keeps serving.
out=$(timeout 10 "$EG_PYTHON" - "$TLS_PORT" <<'PY' 2>&1
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00")
try:
    data = s.recv(100)
    print("closed" if data == b"" or not data.startswith(b"\x20") else "answered %r" % data)
except (ConnectionResetError, socket.timeout) as e:
    print("closed" if isinstance(e, ConnectionResetError) else "timeout")
PY
)
if [ "$out" = closed ] && grep -q "wrong version number" "$BLOG"; then ok "plain MQTT on the TLS port: closed and logged"
else not_ok "plain MQTT on the TLS port: closed and logged" "client: $out" "$(grep closing "$BLOG" | tail -3)"; fi
# A client that stops in the middle of the TLS handshake is closed at connect_timeout (3 s).
out=$(timeout 15 "$EG_PYTHON" - "$TLS_PORT" <<'PY' 2>&1
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # the start of a ClientHello, then nothing
start = time.time()
try:
    data = s.recv(100)
except ConnectionResetError:
    data = b""
except socket.timeout:
    data = b"still open"
print("closed after %.0f s" % (time.time() - start) if data == b"" else "got %r" % data)
PY
)
case $out in
  "closed after 3 s" | "closed after 4 s") ok "TLS handshake stalled by the client: closed at connect_timeout ($out)" ;;
  *) not_ok "TLS handshake stalled by the client: closed at connect_timeout" "$out" ;;
esac
tls_roundtrip "broker still serves TLS after the bad clients" "${TLS[@]}" -q 1 -- "${TLS[@]}"

# SIGHUP: new connections get the re-issued certificate, existing ones stay up.
served_fp() {
  echo | timeout 10 openssl s_client -connect "127.0.0.1:$TLS_PORT" -servername localhost 2>/dev/null |
    openssl x509 -noout -fingerprint -sha256 2>/dev/null | sed 's/.*=//'
}
file_fp() { openssl x509 -in "$CERTS/server.pem" -noout -fingerprint -sha256 | sed 's/.*=//'; }
broker_pid=""
for i in "${!E2E_NAMES[@]}"; do [ "${E2E_NAMES[$i]}" = broker ] && broker_pid=${E2E_PIDS[$i]}; done
timeout 20 mosquitto_sub "${TLS[@]}" -t reload/t -q 1 -C 1 -W 15 >"$E2E_TMP/reload-sub.out" 2>&1 &
reload_sub=$!
sleep 0.5
before=$(served_fp)
rm -f "$CERTS/server.pem" "$CERTS/server.key"
scripts/dev-certs.sh "$CERTS" >/dev/null
kill -HUP "$broker_pid"
sleep 0.5
after=$(served_fp)
if [ -n "$before" ] && [ "$after" = "$(file_fp)" ] && [ "$after" != "$before" ]; then
  ok "SIGHUP: new TLS connections get the re-issued server certificate"
else
  not_ok "SIGHUP: new TLS connections get the re-issued server certificate" "before $before after $after file $(file_fp)"
fi
timeout 10 mosquitto_pub "${TLS[@]}" -t reload/t -m after-reload -q 1
wait $reload_sub
if [ "$(cat "$E2E_TMP/reload-sub.out")" = after-reload ]; then ok "SIGHUP: a TLS connection opened before the reload keeps working"
else not_ok "SIGHUP: a TLS connection opened before the reload keeps working" "$(cat "$E2E_TMP/reload-sub.out")"; fi
cp "$CERTS/server.pem" "$E2E_TMP/good-server.pem"
echo "not a certificate" >"$CERTS/server.pem"
kill -HUP "$broker_pid"
sleep 0.5
if [ "$(served_fp)" = "$after" ] && grep -q "not reloaded: keeping the current ones" "$BLOG"; then
  ok "SIGHUP with a broken certificate file: refused, logged, the previous certificate still served"
else
  not_ok "SIGHUP with a broken certificate file: refused, logged, the previous certificate still served" \
    "$(grep -i reload "$BLOG" | tail -3)"
fi
cp "$E2E_TMP/good-server.pem" "$CERTS/server.pem"

# Configuration errors: a TLS listener without cert/key, and an unreadable certificate.
printf '{"listeners": [{"type": "mqtts", "port": %s}]}\n' "$(free_port)" >"$E2E_TMP/nocert.json"
out=$(timeout 10 "$BROKER" --config "$E2E_TMP/nocert.json" 2>&1); rc=$?
if [ $rc -eq 2 ] && grep -q 'needs "cert" and "key"' <<<"$out"; then ok "mqtts listener without cert/key: exit 2 with a message"
else not_ok "mqtts listener without cert/key: exit 2 with a message" "exit $rc: $out"; fi
printf '{"listeners": [{"type": "mqtts", "port": %s, "cert": "%s", "key": "%s"}]}\n' "$(free_port)" \
  "$E2E_TMP/missing.pem" "$CERTS/server.key" >"$E2E_TMP/badcert.json"
out=$(timeout 10 "$BROKER" --config "$E2E_TMP/badcert.json" 2>&1); rc=$?
if [ $rc -ne 0 ] && grep -q "cannot load certificate chain .*missing.pem" <<<"$out"; then ok "unreadable certificate: refused with a message"
else not_ok "unreadable certificate: refused with a message" "exit $rc: $out"; fi

stop_broker_checked broker "TLS broker"
e2e_finish
