#!/usr/bin/env bash
# Client life-cycle events (issue 10, docs/events.md): egcontrol wired to egbroker (namespace ops,
# plain listener), both with an events audit file. A monitoring client whose binding covers
# "$events/namespaces/ops/clients/+" sees device1's sessions connect and disconnect (normally,
# taken over, disabled through the REST API) and clients created and deleted through the REST
# API, in order, with the right reasons (tests/e2e/events/events_cases.py, paho); a client
# without the binding is refused the subscription. Then both audit files hold the same events as
# valid JSON lines. Also: open mode publishes on "$events/clients/{client id}", a client cannot
# publish there, and bad "events" configurations are refused.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/enforcement/enf_lib.sh
e2e_init
[ -x "$EG_BIN/egbroker" ] && [ -x "$EG_BIN/egcontrol" ] || bail "$EG_BIN/egbroker or egcontrol not built (make test-binaries)"
NS=ops
BROKER_AUDIT=$E2E_TMP/broker-events.jsonl
CP_AUDIT=$E2E_TMP/cp/control-events.jsonl # its directory is made by egcontrol

start_broker() {
  [ -s "$E2E_TMP/btok" ] || { (umask 077 && openssl rand -hex 24 >"$E2E_TMP/btok"); }
  cat >"$E2E_TMP/broker.json" <<JSON
{"listeners": [{"type": "mqtt", "bind": "127.0.0.1", "port": $PLAIN_PORT}],
 "admin": {"bind": "127.0.0.1", "port": $ADMIN_PORT, "token_file": "$E2E_TMP/btok"},
 "namespace": "$NS", "data_dir": "$E2E_TMP/broker", "log_level": "debug",
 "events": {"audit_file": "$BROKER_AUDIT", "publish": true}}
JSON
  start_bg "$1" "$EG_BIN/egbroker" --config "$E2E_TMP/broker.json"
  started_and_listening "$1" "$ADMIN_PORT" && wait_for_port "$PLAIN_PORT" 10
}
# egcontrol as enf_start_control starts it, with an events audit file.
start_control() {
  enf_start_control "$1" || return 1
  stop_bg "$1"
  jq --arg f "$CP_AUDIT" '. + {events: {auditFile: $f}}' "$E2E_TMP/cp.json" >"$E2E_TMP/cp2.json"
  start_bg "$1" "$EG_BIN/egcontrol" --listen "127.0.0.1:$CP_PORT" --db "$E2E_TMP/c.db" \
    --token-file "$E2E_TMP/tok" --config "$E2E_TMP/cp2.json"
  started_and_listening "$1" "$CP_PORT"
}
enf_start broker control start_broker
stop_bg control
start_control control || bail "egcontrol did not start with an events audit file: $(tail -5 "$E2E_TMP/control.out")"

# The namespace; device1, nosy, and monitor (role=monitor); topic space "events" over the
# namespace's event topics; the monitors group subscribes to it.
n=0
put namespace "/namespaces/$NS" '{"properties": {"topicSpacesConfiguration": {"state": "Enabled",
    "maximumClientSessionsPerAuthenticationName": 4}}}' || n=$((n + 1))
for c in device1 nosy; do put "$c" "/namespaces/$NS/clients/$c" '{"properties": {}}' || n=$((n + 1)); done
put monitor "/namespaces/$NS/clients/monitor" '{"properties": {"attributes": {"role": "monitor"}}}' || n=$((n + 1))
put "group monitors" "/namespaces/$NS/clientGroups/monitors" \
  "{\"properties\": {\"query\": \"attributes.role = 'monitor'\"}}" || n=$((n + 1))
put "topic space events" "/namespaces/$NS/topicSpaces/events" \
  "{\"properties\": {\"topicTemplates\": [\"\$events/namespaces/$NS/clients/+\"]}}" || n=$((n + 1))
put "binding monitors-sub-events" "/namespaces/$NS/permissionBindings/monitors-sub-events" \
  '{"properties": {"clientGroupName": "monitors", "topicSpaceName": "events", "permission": "Subscriber"}}' || n=$((n + 1))
if [ $n -eq 0 ]; then ok "REST: namespace, 3 clients, group monitors, topic space \$events/namespaces/$NS/clients/+, Subscriber binding"
else not_ok "REST: every resource created" "$n request(s) failed (see above)"; fi
check_insync "the events resources"

export EG_PLAIN_PORT=$PLAIN_PORT EG_NS=$NS EG_CP_URL=$CP_URL EG_CP_TOKEN_FILE=$E2E_TMP/tok
export EG_EVENTS_OUT=$E2E_TMP/received.jsonl
run_py events tests/e2e/events/events_cases.py

# ---- the audit files: valid JSON lines holding the events the monitor received
audit_check() {
  "$EG_PYTHON" - "$@" <<'PY'
import json, sys
what, path, received, ns = sys.argv[1:5]
lines = open(path).read().splitlines()
events = [json.loads(l) for l in lines]  # every line is one JSON document
for e in events:
    assert e["specversion"] == "1.0" and e["source"] == f"/namespaces/{ns}", e
ids = [e["id"] for e in events]
assert len(set(ids)) == len(ids), "duplicate ids"
if what == "broker":
    got = [json.loads(l)["event"] for l in open(received)]
    by_id = {e["id"]: e for e in events}
    missing = [e["id"] for e in got if by_id.get(e["id"]) != e]
    assert not missing, f"{len(missing)} received events not in the audit file as received: {missing[:3]}"
    # The audit file orders each session's events as the monitor received them.
    for s in {e["data"].get("clientSessionName") for e in got} - {None}:
        a = [e["id"] for e in events if e["data"].get("clientSessionName") == s]
        b = [e["id"] for e in got if e["data"].get("clientSessionName") == s]
        assert a[-len(b):] == b, f"session {s}: audit {a} received {b}"
    print(f"{len(events)} lines, the {len(got)} received events among them")
else:
    kinds = [(e["type"].split(".")[-1], e["subject"], e["data"].get("state")) for e in events]
    new = [k for k in kinds if k[1].startswith("clients/new-")]
    assert [k[0] for k in new] == ["MQTTClientCreatedOrUpdated", "MQTTClientDeleted"], new
    assert ("MQTTClientCreatedOrUpdated", "clients/device1", "Disabled") in kinds, kinds
    for c in ("device1", "nosy", "monitor"):
        assert ("MQTTClientCreatedOrUpdated", f"clients/{c}", "Enabled") in kinds, (c, kinds)
    up = [e for e in events if e["type"].endswith("CreatedOrUpdated")]
    assert all(e["data"]["createdOn"] and e["data"]["updatedOn"] for e in up), up
    print(f"{len(events)} lines: {kinds}")
PY
}
if out=$(audit_check broker "$BROKER_AUDIT" "$EG_EVENTS_OUT" "$NS" 2>&1); then
  ok "broker audit file: valid JSON lines, the events received among them in the same order ($out)"
else not_ok "broker audit file: valid JSON lines holding the received events" "$out"; fi
if out=$(audit_check control "$CP_AUDIT" "" "$NS" 2>&1); then
  ok "egcontrol audit file: CreatedOrUpdated of each client written (createdOn, updatedOn), Deleted after it ($(head -c 200 <<<"$out"))"
else not_ok "egcontrol audit file: the client events of the REST calls" "$out"; fi

# ---- rotation: SIGHUP makes both open their audit file again; later events go to the new file
mv "$BROKER_AUDIT" "$BROKER_AUDIT.1"
mv "$CP_AUDIT" "$CP_AUDIT.1"
kill -HUP "$(pid_of broker)" "$(pid_of control)"
sleep 0.3
timeout 10 mosquitto_pub -p "$PLAIN_PORT" -V mqttv5 -u nosy -i nosy-after-hup -t x -m y >/dev/null 2>&1
put "client after-hup" "/namespaces/$NS/clients/after-hup" '{"properties": {}}' >/dev/null
sleep 0.3
if grep -q '"clientSessionName":"nosy-after-hup"' "$BROKER_AUDIT" 2>/dev/null &&
  ! grep -q nosy-after-hup "$BROKER_AUDIT.1" && grep -q '"subject":"clients/after-hup"' "$CP_AUDIT" 2>/dev/null &&
  ! grep -q after-hup "$CP_AUDIT.1"; then
  ok "SIGHUP: both reopen their audit file after a rotation (new events in the new files only)"
else not_ok "SIGHUP: both reopen their audit file after a rotation" "broker: $(tail -2 "$BROKER_AUDIT" 2>&1)"   "control: $(tail -2 "$CP_AUDIT" 2>&1)"; fi
stop_broker_checked broker "egbroker"
stop_broker_checked control "egcontrol"

# ---- open mode: "$events/clients/{client id}", seen by any client
OPEN_PORT=$(free_port)
printf '{"listeners": [{"type": "mqtt", "bind": "127.0.0.1", "port": %s}]}\n' "$OPEN_PORT" >"$E2E_TMP/open.json"
start_bg open "$EG_BIN/egbroker" --config "$E2E_TMP/open.json"
wait_for_port "$OPEN_PORT" 10 || bail "open-mode egbroker did not start: $(tail -5 "$E2E_TMP/open.out")"
timeout 10 mosquitto_sub -p "$OPEN_PORT" -V mqttv5 -t '$events/clients/+' -W 3 -v >"$E2E_TMP/open-sub.txt" 2>&1 &
sub=$!
sleep 0.5
mosquitto_pub -p "$OPEN_PORT" -i "open-dev" -t x -m y
forge=$(timeout 10 mosquitto_pub -p "$OPEN_PORT" -V mqttv5 -i forger -q 1 -t '$events/clients/open-dev' -m forged -d 2>&1)
wait $sub
if grep -q '^\$events/clients/open-dev {.*"type":"Microsoft.EventGrid.MQTTClientSessionConnected".*"subject":"clients/open-dev/sessions/open-dev"' "$E2E_TMP/open-sub.txt" &&
  grep -q '^\$events/clients/open-dev {.*"disconnectionReason":"ClientInitiatedDisconnect"' "$E2E_TMP/open-sub.txt"; then
  ok "open mode: mosquitto_sub on \$events/clients/+ sees open-dev's SessionConnected and SessionDisconnected"
else not_ok "open mode: events on \$events/clients/{client id}" "$(cat "$E2E_TMP/open-sub.txt")"; fi
if grep -q "received PUBACK (Mid: 1, RC:135)" <<<"$forge" && ! grep -q forged "$E2E_TMP/open-sub.txt"; then
  ok "a client PUBLISH to \$events/... is refused (PUBACK 0x87) and reaches no subscriber"
else not_ok "a client PUBLISH to \$events/... is refused" "$forge" "$(cat "$E2E_TMP/open-sub.txt")"; fi
stop_broker_checked open "open-mode egbroker"

# ---- bad configurations are refused, with a message
bad_config() { # WHAT PROGRAM CONFIG EXPECTED_TEXT
  printf '%s\n' "$3" >"$E2E_TMP/bad.json"
  local out rc
  if [ "$2" = egbroker ]; then
    out=$(timeout 10 "$EG_BIN/egbroker" --config "$E2E_TMP/bad.json" 2>&1)
  else
    out=$(timeout 10 "$EG_BIN/egcontrol" --listen 127.0.0.1:0 --db "$E2E_TMP/bad.db" --token-file "$E2E_TMP/tok" \
      --config "$E2E_TMP/bad.json" 2>&1)
  fi
  rc=$?
  if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "$4" <<<"$out"; then ok "$2 refuses $1 ($(grep -m1 "$4" <<<"$out" | head -c 120))"
  else not_ok "$2 refuses $1" "exit $rc: $out"; fi
}
bad_config "an unknown key in \"events\"" egbroker '{"events": {"audit": "x"}}' 'unknown key "audit" in events'
bad_config "a non-boolean events.publish" egbroker '{"events": {"publish": "yes"}}' 'events.publish'
bad_config "an audit file it cannot open" egbroker '{"events": {"audit_file": "/nonexistent/dir/e.jsonl"}}' 'cannot open the events audit file'
bad_config "an unknown key in \"events\"" egcontrol '{"events": {"file": "x"}}' 'unknown key'
bad_config "a non-string events.auditFile" egcontrol '{"events": {"auditFile": 3}}' 'auditFile'
e2e_finish
