#!/usr/bin/env bash
# Logs (issue 10, SPEC section 7): egcontrol and egbroker, in each log format (text, json) and
# writing to a log file, run a scenario with known secrets: egcontrol's generated API token, the
# broker's admin token, an MQTT password, a wrong bearer token sent to both, a CA certificate.
# No secret may appear in either log; every line must have the format's shape (JSON: parses,
# with ts, level, component, msg); connect and close lines carry conn, client and namespace;
# SIGHUP makes both reopen their log file (rotation); an unknown format is refused (exit 2).
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
e2e_init
EGCTL=$EG_BIN/egctl

# An unknown format is refused before anything starts, by flag and by configuration key.
"$EG_BIN/egbroker" --log-format xml >"$E2E_TMP/bad.out" 2>&1
rc=$?
if [ $rc -eq 2 ] && grep -q "bad log format: xml" "$E2E_TMP/bad.out"; then ok "egbroker --log-format xml: exit 2 with a message"
else not_ok "egbroker --log-format xml: exit 2 with a message" "exit $rc: $(cat "$E2E_TMP/bad.out")"; fi
echo '{"log_format": "yaml"}' >"$E2E_TMP/bad.json"
"$EG_BIN/egbroker" --config "$E2E_TMP/bad.json" >"$E2E_TMP/bad.out" 2>&1
rc=$?
if [ $rc -eq 2 ] && grep -q "bad log format: yaml" "$E2E_TMP/bad.out"; then ok "egbroker config log_format yaml: exit 2 with a message"
else not_ok "egbroker config log_format yaml: exit 2 with a message" "exit $rc: $(cat "$E2E_TMP/bad.out")"; fi
echo '{"logFormat": "yaml"}' >"$E2E_TMP/badcp.json"
"$EG_BIN/egcontrol" --config "$E2E_TMP/badcp.json" --db "$E2E_TMP/bad.db" >"$E2E_TMP/bad.out" 2>&1
rc=$?
if [ $rc -eq 2 ] && grep -q "unknown log format yaml" "$E2E_TMP/bad.out"; then ok "egcontrol config logFormat yaml: exit 2 with a message"
else not_ok "egcontrol config logFormat yaml: exit 2 with a message" "exit $rc: $(cat "$E2E_TMP/bad.out")"; fi

# run_scenario FORMAT: both processes with --log-format FORMAT and a log file, the scenario,
# then the checks.
run_scenario() {
  local fmt=$1 dir=$E2E_TMP/$1
  mkdir -p "$dir"
  local mqtt_port admin_port cp_port
  mqtt_port=$(free_port)
  admin_port=$(free_port)
  cp_port=$(free_port)
  local admin_token="admin-secret-$fmt-$RANDOM$RANDOM$RANDOM"
  local mqtt_password="mqtt-password-$fmt-$RANDOM$RANDOM"
  local bad_token="wrong-token-$fmt-$RANDOM$RANDOM$RANDOM"
  # The broker takes log_file from its configuration, egcontrol from its flag.
  cat >"$dir/broker.json" <<JSON
{"listeners": [{"type": "mqtt", "bind": "127.0.0.1", "port": $mqtt_port}],
 "admin": {"bind": "127.0.0.1", "port": $admin_port, "token": "$admin_token"},
 "namespace": "ops", "log_level": "debug", "log_file": "$dir/broker.log"}
JSON
  echo "$admin_token" >"$dir/admin.token"
  start_bg "broker-$fmt" "$EG_BIN/egbroker" --config "$dir/broker.json" --log-format "$fmt"
  started_and_listening "broker-$fmt" "$admin_port" || bail "egbroker ($fmt) did not start: $(cat "$E2E_TMP/broker-$fmt.out")"
  # egcontrol generates its token (the line that said so used to print it).
  start_bg "control-$fmt" "$EG_BIN/egcontrol" --listen "127.0.0.1:$cp_port" --db "$dir/control.db" \
    --token-file "$dir/control.token" --broker "local=http://127.0.0.1:$admin_port,$dir/admin.token" \
    --log-level debug --log-format "$fmt" --log-file "$dir/control.log"
  started_and_listening "control-$fmt" "$cp_port" || bail "egcontrol ($fmt) did not start: $(cat "$E2E_TMP/control-$fmt.out")"
  local control_token
  control_token=$(cat "$dir/control.token")
  local ctl=("$EGCTL" --endpoint "http://127.0.0.1:$cp_port" --token-file "$dir/control.token")

  scripts/dev-certs.sh "$dir/certs" >/dev/null || bail "cannot create test certificates"
  local setup_ok=1
  "${ctl[@]}" namespace create ops >/dev/null &&
    "${ctl[@]}" ca-certificate create -n ops ops-ca --certificate "$dir/certs/ca.pem" >/dev/null &&
    "${ctl[@]}" client create -n ops device1 --attribute type=sensor >/dev/null &&
    "${ctl[@]}" topic-space create -n ops telemetry --template 'devices/${client.authenticationName}/#' >/dev/null &&
    "${ctl[@]}" permission-binding create -n ops pub --client-group '$all' --topic-space telemetry \
      --permission Publisher >/dev/null || setup_ok=0
  for _ in $(seq 100); do
    "${ctl[@]}" -o json status 2>/dev/null | grep -q '"state": "InSync"' && break
    sleep 0.1
  done
  if [ $setup_ok = 1 ] && "${ctl[@]}" -o json status | grep -q '"state": "InSync"'; then ok "$fmt: namespace set up with egctl and pushed to the broker"
  else not_ok "$fmt: namespace set up with egctl and pushed to the broker" "$("${ctl[@]}" status 2>&1)"; fi

  # MQTT: an allowed publish with a password, a denied one, an unknown client with a password.
  out=$(timeout 10 mosquitto_pub -p "$mqtt_port" -u device1 -P "$mqtt_password" -i device1 -V mqttv5 \
    -t devices/device1/t -m 1 -q 1 2>&1)
  [ $? -eq 0 ] || not_ok "$fmt: device1 publishes" "$out"
  timeout 10 mosquitto_pub -p "$mqtt_port" -u device1 -P "$mqtt_password" -i device1-deny -V mqttv5 \
    -t devices/other/t -m 1 -q 1 >/dev/null 2>&1
  timeout 10 mosquitto_pub -p "$mqtt_port" -u ghost -P "$mqtt_password" -i ghost -V mqttv5 -t x -m 1 >/dev/null 2>&1
  # Wrong and right bearer tokens, to both HTTP endpoints, and through egctl.
  curl -s -o /dev/null -H "Authorization: Bearer $bad_token" "http://127.0.0.1:$cp_port/namespaces"
  curl -s -o /dev/null -H "Authorization: Bearer $bad_token" "http://127.0.0.1:$admin_port/metrics"
  curl -s -o /dev/null -H "Authorization: Bearer $admin_token" "http://127.0.0.1:$admin_port/metrics"
  "$EGCTL" --endpoint "http://127.0.0.1:$cp_port" --token "$bad_token" namespace list >/dev/null 2>&1
  sleep 0.3

  # The secrets: none in the log files nor in what the processes wrote to stdout/stderr.
  local logs=("$dir/broker.log" "$dir/control.log" "$E2E_TMP/broker-$fmt.out" "$E2E_TMP/control-$fmt.out")
  local secret found=""
  for secret in "$control_token" "$admin_token" "$mqtt_password" "$bad_token" "BEGIN CERTIFICATE" "PRIVATE KEY" \
    "Authorization" "Bearer $bad_token"; do
    grep -lF -- "$secret" "${logs[@]}" >/dev/null 2>&1 && found="$found ${secret:0:20}...($(grep -lF -- "$secret" "${logs[@]}" | xargs -n1 basename | tr '\n' ' '))"
  done
  if [ -z "$found" ]; then ok "$fmt: no token, password, Authorization header or PEM in either log"
  else not_ok "$fmt: no token, password, Authorization header or PEM in either log" "found:$found"; fi
  if [ -s "$dir/broker.log" ] && [ -s "$dir/control.log" ] &&
    ! grep -q "level=" "$E2E_TMP/broker-$fmt.out" "$E2E_TMP/control-$fmt.out"; then
    ok "$fmt: both write their lines to the log file, none to stderr"
  else not_ok "$fmt: both write their lines to the log file, none to stderr" "$(head -5 "$E2E_TMP/broker-$fmt.out")"; fi

  # Rotation: rename the files, SIGHUP, and the next lines go to new files of the same names.
  mv "$dir/broker.log" "$dir/broker.log.1"
  mv "$dir/control.log" "$dir/control.log.1"
  kill -HUP "$(pid_of "broker-$fmt")" "$(pid_of "control-$fmt")"
  sleep 0.3
  timeout 10 mosquitto_pub -p "$mqtt_port" -u device1 -i after-hup -V mqttv311 -t devices/device1/t -m 2 >/dev/null 2>&1
  curl -s -o /dev/null -H "Authorization: Bearer $control_token" "http://127.0.0.1:$cp_port/namespaces"
  sleep 0.3
  if grep -q "after-hup" "$dir/broker.log" 2>/dev/null && ! grep -q "after-hup" "$dir/broker.log.1" &&
    grep -q "/namespaces" "$dir/control.log" 2>/dev/null && grep -q "reopened" "$dir/control.log"; then
    ok "$fmt: SIGHUP reopens both log files after a rotation"
  else not_ok "$fmt: SIGHUP reopens both log files after a rotation" "broker: $(cat "$dir/broker.log" 2>&1 | tail -3)" \
    "control: $(cat "$dir/control.log" 2>&1 | tail -3)"; fi
  cat "$dir/broker.log.1" "$dir/broker.log" >"$dir/broker.all"
  cat "$dir/control.log.1" "$dir/control.log" >"$dir/control.all"

  # Every line has the format's shape; the life-cycle lines carry what identifies them.
  out=$("$EG_PYTHON" - "$fmt" "$dir/broker.all" "$dir/control.all" <<'EOF'
import json, re, sys
fmt, files = sys.argv[1], sys.argv[2:]
bad, lines = [], {}
for path in files:
    lines[path] = []
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        if fmt == "json":
            try:
                obj = json.loads(line)
            except ValueError as e:
                bad.append(f"{path}:{n}: not JSON ({e}): {line!r}")
                continue
            missing = [k for k in ("ts", "level", "component", "msg") if not isinstance(obj.get(k), str)]
            if missing or obj["level"] not in ("debug", "info", "warn", "error"):
                bad.append(f"{path}:{n}: missing {missing}: {line!r}")
        else:
            m = re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=(debug|info|warn|error) [a-z_]+: (.*)$", line)
            if not m:
                bad.append(f"{path}:{n}: not a text line: {line!r}")
                continue
            obj = {"msg": m.group(2)}
            for k, v in re.findall(r'(\w+)=("[^"]*"|\S+)', m.group(2)):
                obj.setdefault(k, v.strip('"').rstrip(":"))
            obj["msg"] = m.group(2).split(" ")[0]
        lines[path].append(obj)
broker = lines[files[0]]
def find(word, client):
    return [o for o in broker if o["msg"].startswith(word) and o.get("client") == client]
for word, client, keys in (("connected", "device1", ("conn", "client", "namespace", "auth_name", "version", "transport")),
                           ("closing", "device1", ("conn", "client", "namespace", "disconnection"))):
    got = find(word, client)
    if not got:
        bad.append(f"no {word} line for {client}")
    elif any(k not in got[0] for k in keys) or got[0]["namespace"] != "ops":
        bad.append(f"{word} line lacks one of {keys}: {got[0]}")
conn = find("connected", "device1")
if conn and (conn[0].get("transport") != "mqtt" or conn[0].get("version") != "5" or conn[0].get("auth_name") != "device1"):
    bad.append(f"connect line: transport mqtt, version 5, auth_name device1 expected: {conn[0]}")
close = find("closing", "device1")
if close and close[0].get("disconnection") != "ClientInitiatedDisconnect":
    bad.append(f"close line: disconnection ClientInitiatedDisconnect expected: {close[0]}")
if not any(o.get("auth_name") == "ghost" for o in broker):
    bad.append("no connect-denied line for ghost")
print("\n".join(bad) if bad else "fine", f"({sum(len(v) for v in lines.values())} lines)")
sys.exit(1 if bad else 0)
EOF
)
  if [ $? -eq 0 ]; then ok "$fmt: every line of both logs has the $fmt shape; connect and close lines carry conn, client, namespace $out"
  else not_ok "$fmt: every line of both logs has the $fmt shape; connect and close lines carry conn, client, namespace" "$out"; fi

  stop_broker_checked "broker-$fmt" "egbroker ($fmt logs)"
  stop_broker_checked "control-$fmt" "egcontrol ($fmt logs)"
}

run_scenario text
run_scenario json
e2e_finish
