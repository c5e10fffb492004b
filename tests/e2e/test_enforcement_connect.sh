#!/usr/bin/env bash
# End-to-end enforcement, the Event Grid tutorial flow (issue 6, SPEC sections 3-4): egcontrol
# wired to egbroker, every resource created with curl through the REST API, then paho (3.1.1
# and 5.0), mosquitto_pub/sub and MQTT.js over TLS with client certificates: allowed and denied
# PUBLISH/SUBSCRIBE with their reason codes, CONNECT refusals, certificate schemes, session
# limits, session theft and take-over, topic templates, the admin endpoint's metrics.
# Live changes and restarts are in test_enforcement_live.sh.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/enforcement/enf_lib.sh
enf_init
enf_start broker control
enf_export
# Before any snapshot the broker serves nobody.
EG_PHASE=nosnapshot timeout 60 "$EG_PYTHON" -u "$ENF_DIR/connect_cases.py" >"$E2E_TMP/early.out" 2>&1
grep -E '^(ok|not ok|#)' "$E2E_TMP/early.out"
E2E_PASS=$((E2E_PASS + $(grep -c '^ok ' "$E2E_TMP/early.out")))
E2E_FAIL=$((E2E_FAIL + $(grep -c '^not ok ' "$E2E_TMP/early.out")))
grep -q '^ok \|^not ok ' "$E2E_TMP/early.out" || not_ok "no-snapshot cases ran" "$(tail -10 "$E2E_TMP/early.out")"
enf_tutorial
check_insync "after the tutorial flow"
admin GET /snapshots
if [ "$AST" = 200 ] && [ "$(jq -r .appliedVersion "$ADMIN_BODY")" = "$SYNC_VERSION" ] &&
  [ "$(jq -r .source "$ADMIN_BODY")" = push ]; then
  ok "broker admin GET /snapshots reports appliedVersion $SYNC_VERSION from a push"
else
  not_ok "broker admin GET /snapshots reports the applied version" "status $AST: $(cat "$ADMIN_BODY")"
fi

# ---- paho (3.1.1 and 5.0)
timeout 240 "$EG_PYTHON" -u "$ENF_DIR/connect_cases.py" 2>&1 | tee "$E2E_TMP/paho.out" | grep -E '^(ok|not ok|#)'
pass=$(grep -c '^ok ' "$E2E_TMP/paho.out")
fail=$(grep -c '^not ok ' "$E2E_TMP/paho.out")
E2E_PASS=$((E2E_PASS + pass))
E2E_FAIL=$((E2E_FAIL + fail))
grep -q '^# all cases ran' "$E2E_TMP/paho.out" || not_ok "paho cases ran to the end" "$(tail -20 "$E2E_TMP/paho.out")"

# ---- mosquitto_pub / mosquitto_sub over TLS with client certificates
TLS=(-h localhost -p "$TLS_PORT" --cafile "$CERTS/ca.pem")
D1=(--cert "$CERTS/device1.pem" --key "$CERTS/device1.key")
D2=(--cert "$CERTS/device2.pem" --key "$CERTS/device2.key")

# mosq_roundtrip NAME VERSION: device2 subscribes devices/+/telemetry/#, device1 publishes its own
# telemetry, the subscriber must get it.
mosq_roundtrip() {
  local name=$1 v=$2 msg="m-$RANDOM$RANDOM" sp
  timeout 10 stdbuf -oL mosquitto_sub "${TLS[@]}" "${D2[@]}" -u device2 -i "msub-$v-$RANDOM" -V "$v" \
    -t 'devices/+/telemetry/#' -q 1 -C 1 -W 8 -v -d >"$E2E_TMP/msub.out" 2>&1 &
  sp=$!
  for _ in $(seq 50); do grep -q "received SUBACK" "$E2E_TMP/msub.out" && break; sleep 0.1; done
  timeout 10 mosquitto_pub "${TLS[@]}" "${D1[@]}" -u device1 -i "mpub-$v-$RANDOM" -V "$v" \
    -t devices/device1/telemetry/mosq -m "$msg" -q 1 >"$E2E_TMP/mpub.out" 2>&1
  wait $sp
  if grep -qx "devices/device1/telemetry/mosq $msg" "$E2E_TMP/msub.out"; then ok "$name"
  else not_ok "$name" "subscriber: $(cat "$E2E_TMP/msub.out")" "publisher: $(cat "$E2E_TMP/mpub.out")"; fi
}
mosq_roundtrip "mosquitto v5 TLS: device1 publishes its telemetry, device2 receives it" mqttv5
mosq_roundtrip "mosquitto v3.1.1 TLS: device1 publishes its telemetry, device2 receives it" mqttv311

# Denied publish with v5: mosquitto_pub -d shows the PUBACK with reason 135 (0x87).
out=$(timeout 10 mosquitto_pub "${TLS[@]}" "${D2[@]}" -u device2 -i "mpub-deny-$RANDOM" -V mqttv5 \
  -t devices/device2/telemetry -m no -q 1 -d 2>&1)
if grep -q "Client .* received PUBACK (Mid: 1, RC:135)" <<<"$out"; then ok "mosquitto_pub v5: denied publish gets PUBACK 0x87 (RC:135)"
else not_ok "mosquitto_pub v5: denied publish gets PUBACK 0x87 (RC:135)" "$out"; fi

# Denied subscribe: v5 SUBACK 0x87 for the denied filter only.
out=$(timeout 10 mosquitto_sub "${TLS[@]}" "${D2[@]}" -u device2 -i "msub-deny-$RANDOM" -V mqttv5 \
  -t 'devices/#' -t 'alerts/#' -q 1 -d -E 2>&1)
if grep -q "received SUBACK" <<<"$out" && grep -q "Subscribed (mid: 1): 135, 1" <<<"$out"; then
  ok "mosquitto_sub v5: SUBACK 135 (0x87) for devices/#, 1 for alerts/#"
else not_ok "mosquitto_sub v5: SUBACK 135 (0x87) for devices/#, 1 for alerts/#" "$out"; fi
out=$(timeout 10 mosquitto_sub "${TLS[@]}" "${D2[@]}" -u device2 -i "msub-deny3-$RANDOM" -V mqttv311 \
  -t 'devices/#' -t 'alerts/#' -q 1 -d -E 2>&1)
if grep -q "Subscribed (mid: 1): 128, 1" <<<"$out"; then ok "mosquitto_sub v3.1.1: SUBACK 128 (0x80) for devices/#, 1 for alerts/#"
else not_ok "mosquitto_sub v3.1.1: SUBACK 128 (0x80) for devices/#, 1 for alerts/#" "$out"; fi

# CONNECT refusals as mosquitto reports them.
mosq_refused() { # NAME WANT_TEXT ARGS...
  local name=$1 want=$2 out
  shift 2
  out=$(timeout 10 mosquitto_pub "${TLS[@]}" -i "mref-$RANDOM" -t alerts/x -m x "$@" 2>&1)
  if grep -qi "$want" <<<"$out"; then ok "$name"; else not_ok "$name" "want: $want" "$out"; fi
}
mosq_refused "mosquitto v5: unknown Username refused (bad user name or password)" "bad user name or password" \
  "${D1[@]}" -u nobody -V mqttv5
mosq_refused "mosquitto v3.1.1: certificate of another CA refused (bad user name or password, rc 4)" \
  "bad user name or password" --cert "$CERTS/rogue1.pem" --key "$CERTS/rogue1.key" -u device1 -V mqttv311
mosq_refused "mosquitto v5: disabled client refused (not authorized)" "not authori[sz]ed" \
  --cert "$CERTS/device3.pem" --key "$CERTS/device3.key" -u device3 -V mqttv5
mosq_refused "mosquitto v3.1.1: disabled client refused (not authorised, rc 5)" "not authori[sz]ed" \
  --cert "$CERTS/device3.pem" --key "$CERTS/device3.key" -u device3 -V mqttv311
out=$(timeout 10 mosquitto_pub "${TLS[@]}" "${D1[@]}" -i "mcn-$RANDOM" -V mqttv5 -t devices/device1/telemetry -m cn -q 1 2>&1)
rc=$?
if [ $rc -eq 0 ]; then ok "mosquitto v5 without Username: the certificate CN names device1, its publish accepted"
else not_ok "mosquitto v5 without Username: the certificate CN names device1, its publish accepted" "exit $rc: $out"; fi

# ---- MQTT.js over mqtts with a client certificate
out=$(NODE_PATH=${NODE_PATH:-$PWD/tests/e2e/node_modules} timeout 30 node "$ENF_DIR/mqttjs_enf.js" 2>&1)
echo "$out" | grep -E '^(ok|not ok|#)'
E2E_PASS=$((E2E_PASS + $(grep -c '^ok ' <<<"$out")))
E2E_FAIL=$((E2E_FAIL + $(grep -c '^not ok ' <<<"$out")))
grep -q '^# done' <<<"$out" || not_ok "MQTT.js cases ran to the end" "$(tail -10 <<<"$out")"

# ---- the admin endpoint: metrics need the token
st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$ADMIN_URL/metrics")
if [ "$st" = 401 ]; then ok "admin GET /metrics without the token: 401"; else not_ok "admin GET /metrics without the token: 401" "status $st"; fi
# Every decision is logged with client and reason.
if grep -q 'connect denied namespace=ns1 .*auth_name="nobody" reason=unknown_client' "$E2E_TMP/broker.out" &&
  grep -q 'publish denied client=.* topic=devices/device2/telemetry' "$E2E_TMP/broker.out" &&
  grep -q 'subscribe denied client=.* filter=devices/#' "$E2E_TMP/broker.out"; then
  ok "broker log: connect, publish and subscribe denials logged with client, topic/filter and reason"
else
  not_ok "broker log: connect, publish and subscribe denials logged with client, topic/filter and reason" \
    "$(grep -E 'denied' "$E2E_TMP/broker.out" | tail -5)"
fi

stop_broker_checked control "egcontrol"
stop_broker_checked broker "egbroker"
e2e_finish
