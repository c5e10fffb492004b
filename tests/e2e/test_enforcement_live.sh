#!/usr/bin/env bash
# End-to-end enforcement of live changes (issue 6, SPEC section 3): egcontrol wired to egbroker,
# the tutorial resources created with curl, then changes made through the REST API while paho
# clients (3.1.1 and 5.0, TLS with client certificates) stay connected: bindings added and
# removed, clients disabled and deleted, a group query changed, namespace settings changed, the
# namespace disabled. Then bad snapshots POSTed straight to the broker's admin endpoint (refused,
# the old one kept), and the broker restarted with egcontrol stopped (it serves its saved snapshot).
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/enforcement/enf_lib.sh
enf_init
enf_start broker control
enf_tutorial
check_insync "after the tutorial flow"
enf_export
export EG_SELFIE_THUMBPRINT
EG_SELFIE_THUMBPRINT=$(thumbprint "$CERTS/selfsigned.pem")

run_py live "$ENF_DIR/live_cases.py"
# The last live case deleted the namespace: the same flow creates it again, with the binding
# the live cases added (the restart checks below look for it).
enf_tutorial " again after the namespace was deleted"
put "binding all-pub-live" "/namespaces/$NS/permissionBindings/all-pub-live" \
  '{"properties": {"clientGroupName": "$all", "topicSpaceName": "live", "permission": "Publisher"}}'
check_insync "the namespace created again"
LAST=$SYNC_VERSION

# ---- bad snapshots POSTed straight to the broker's admin endpoint
TLS=(-h localhost -p "$TLS_PORT" --cafile "$CERTS/ca.pem")
D1=(--cert "$CERTS/device1.pem" --key "$CERTS/device1.key")
D2=(--cert "$CERTS/device2.pem" --key "$CERTS/device2.key")
# still_serving WHAT: the applied version is unchanged, device1 may publish its telemetry,
# device2 may not (PUBACK 0x87).
still_serving() {
  local out1 out2 v
  admin GET /snapshots
  v=$(jq -r .appliedVersion "$ADMIN_BODY" 2>/dev/null)
  out1=$(timeout 10 mosquitto_pub "${TLS[@]}" "${D1[@]}" -u device1 -i "ss1-$RANDOM" -V mqttv5 \
    -t devices/device1/telemetry -m ok -q 1 -d 2>&1)
  out2=$(timeout 10 mosquitto_pub "${TLS[@]}" "${D2[@]}" -u device2 -i "ss2-$RANDOM" -V mqttv5 \
    -t devices/device2/telemetry -m no -q 1 -d 2>&1)
  if [ "$v" = "$LAST" ] && grep -q "received PUBACK (Mid: 1, RC:16)\|received PUBACK (Mid: 1, RC:0)" <<<"$out1" &&
    grep -q "received PUBACK (Mid: 1, RC:135)" <<<"$out2"; then
    ok "$1: the broker keeps version $LAST and keeps enforcing it"
  else
    not_ok "$1: the broker keeps version $LAST and keeps enforcing it" "admin GET /snapshots: $(cat "$ADMIN_BODY")" \
      "device1: $(grep -i 'puback\|error\|refused' <<<"$out1")" "device2: $(grep -i 'puback\|error\|refused' <<<"$out2")"
  fi
}

api GET "/namespaces/$NS/snapshot"
cp "$BODY_FILE" "$E2E_TMP/good-snapshot.json"
refused_before=$(admin GET /metrics && grep "^egbroker_snapshots_total{namespace=\"$NS\",result=\"refused\"}" "$ADMIN_BODY" | awk '{print $2}')
# bad_snapshot NAME JQ_FILTER|@TEXT: POST with the token; must be 400 InvalidSnapshot.
nbad=0
bad_snapshot() {
  local name=$1 body
  if [[ $2 == @* ]]; then body=${2#@}; else body=$(jq -c "$2" "$E2E_TMP/good-snapshot.json"); fi
  admin POST /snapshots --data-binary "$body" -H 'Content-Type: application/json'
  nbad=$((nbad + 1))
  if [ "$AST" = 400 ] && [ "$(jq -r .error.code "$ADMIN_BODY" 2>/dev/null)" = InvalidSnapshot ]; then
    ok "admin POST /snapshots, $name: 400 InvalidSnapshot ($(jq -r .error.message "$ADMIN_BODY" | head -c 100))"
  else
    not_ok "admin POST /snapshots, $name: 400 InvalidSnapshot" "status $AST: $(head -c 400 "$ADMIN_BODY")"
  fi
}
bad_snapshot "not JSON" '@{"schema": 1, "namespace": "ns1", "version": '
bad_snapshot "empty body" '@'
bad_snapshot "another namespace" '.namespace = "other" | .version += 1000'
bad_snapshot "unknown schema" '.schema = 99 | .version += 1000'
bad_snapshot "a binding naming a missing client group" \
  '.version += 1000 | .permissionBindings += [{"name": "zz-bad", "clientGroupName": "nosuch", "topicSpaceName": "live", "permission": "Publisher"}]'
bad_snapshot "device1 disabled together with an invalid topic template (nothing of it applied)" \
  '.version += 1000 | .clients |= map(if .name == "device1" then .state = "Disabled" else . end) | .topicSpaces[0].topicTemplates = ["a/#/b"]'
bad_snapshot "a client group query that does not parse" \
  '.version += 1000 | .clientGroups |= map(if .name == "sensors" then .query = "attributes.type = = (" else . end)'
still_serving "after $nbad refused snapshots"
admin GET /snapshots
if [ -n "$(jq -r '.lastError // empty' "$ADMIN_BODY")" ]; then ok "admin GET /snapshots shows the last refusal as lastError"
else not_ok "admin GET /snapshots shows the last refusal as lastError" "$(cat "$ADMIN_BODY")"; fi
refused_after=$(admin GET /metrics && grep "^egbroker_snapshots_total{namespace=\"$NS\",result=\"refused\"}" "$ADMIN_BODY" | awk '{print $2}')
if [ -n "$refused_after" ] && [ $((refused_after - ${refused_before:-0})) -eq $nbad ]; then
  ok "metrics: egbroker_snapshots_total{result=\"refused\"} counts the $nbad refused snapshots"
else not_ok "metrics: egbroker_snapshots_total{result=\"refused\"} counts the refused snapshots" "before ${refused_before:-?} after ${refused_after:-?}, posted $nbad"; fi

# Without the token, or with a wrong one: 401, nothing applied (even a valid newer snapshot).
newer=$(jq -c '.version += 1000 | .clients |= map(if .name == "device1" then .state = "Disabled" else . end)' "$E2E_TMP/good-snapshot.json")
st=$(curl -s -o "$E2E_TMP/noauth.body" -w '%{http_code}' --max-time 5 -X POST --data-binary "$newer" "$ADMIN_URL/snapshots")
st2=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST -H "Authorization: Bearer wrong-$RANDOM" \
  --data-binary "$newer" "$ADMIN_URL/snapshots")
st3=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$ADMIN_URL/snapshots")
if [ "$st" = 401 ] && [ "$st2" = 401 ] && [ "$st3" = 401 ]; then
  ok "admin /snapshots without the token or with a wrong one: 401 (POST and GET)"
else not_ok "admin /snapshots without the token or with a wrong one: 401 (POST and GET)" "no token: $st, wrong token: $st2, GET: $st3"; fi
still_serving "after unauthenticated POSTs of a newer snapshot"
# A valid snapshot older than the applied one (a late retry) is acknowledged, not applied.
stale=$(jq -c '.version -= 1 | .clients |= map(if .name == "device1" then .state = "Disabled" else . end)' "$E2E_TMP/good-snapshot.json")
admin POST /snapshots --data-binary "$stale" -H 'Content-Type: application/json'
if [ "$AST" = 200 ] && [ "$(jq -r .appliedVersion "$ADMIN_BODY")" = "$LAST" ]; then
  ok "admin POST /snapshots with an older version: 200 appliedVersion $LAST (the newer one kept)"
else not_ok "admin POST /snapshots with an older version: 200 appliedVersion $LAST" "status $AST: $(cat "$ADMIN_BODY")"; fi
still_serving "after an older snapshot"

# ---- restart with the control plane stopped
stop_broker_checked control "egcontrol"
saved=$E2E_TMP/broker/snapshot-$NS.json
if [ -f "$saved" ] && [ "$(jq -r .version "$saved")" = "$LAST" ]; then ok "the broker saved the last good snapshot (version $LAST) in its data_dir"
else not_ok "the broker saved the last good snapshot (version $LAST) in its data_dir" "$(ls -l "$E2E_TMP/broker" 2>&1)"; fi
stop_broker_checked broker "egbroker (before the restart)"
if curl -s -o /dev/null --max-time 2 "$CP_URL/healthz"; then not_ok "egcontrol is down during the restart" "it still answers"; fi
enf_start_broker broker2 || bail "egbroker did not restart on the same ports: $(tail -5 "$E2E_TMP/broker2.out")"
admin GET /snapshots
if [ "$AST" = 200 ] && [ "$(jq -r .appliedVersion "$ADMIN_BODY")" = "$LAST" ] && [ "$(jq -r .source "$ADMIN_BODY")" = file ]; then
  ok "restarted egbroker serves the saved snapshot: appliedVersion $LAST, source file (egcontrol down)"
else not_ok "restarted egbroker serves the saved snapshot: appliedVersion $LAST, source file" "status $AST: $(cat "$ADMIN_BODY")"; fi
run_py restart "$ENF_DIR/live_cases.py" EG_PHASE=restart

# egcontrol comes back (same database): it pushes again, and a new change reaches the broker.
enf_start_control control2 || bail "egcontrol did not restart: $(tail -5 "$E2E_TMP/control2.out")"
check_insync "egcontrol restarted, the broker already had version $LAST"
METHOD=PATCH put "device3 enabled" "/namespaces/$NS/clients/device3" '{"properties": {"state": "Enabled"}}'
check_insync "after enabling device3"
out=$(timeout 10 mosquitto_pub -h localhost -p "$TLS_PORT" --cafile "$CERTS/ca.pem" --cert "$CERTS/device3.pem" \
  --key "$CERTS/device3.key" -i "d3-$RANDOM" -V mqttv5 -t devices/device3/telemetry -m 1 -q 1 2>&1)
rc=$?
if [ $rc -eq 0 ]; then ok "a change made after egcontrol came back applies (device3 enabled: it connects and publishes)"
else not_ok "a change made after egcontrol came back applies (device3 enabled: it connects and publishes)" "exit $rc: $out"; fi
stop_broker_checked control2 "egcontrol (restarted)"
stop_broker_checked broker2 "egbroker (after the restart)"
e2e_finish
