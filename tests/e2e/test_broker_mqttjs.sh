#!/usr/bin/env bash
# End-to-end: the real broker (sanitizer build of egbroker) driven by MQTT.js (npm `mqtt`)
# with protocolVersion 4 and 5. The scenarios are in tests/e2e/broker/mqttjs_broker.js,
# which prints one ok / not ok line per check; this script relays them, then checks that
# the broker exits 0 on SIGTERM without a sanitizer report.
#
# Environment (set by tests/run.sh): EG_BIN (sanitizer build), EG_PYTHON, NODE_PATH.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
e2e_init
export NODE_PATH="${NODE_PATH:-$PWD/tests/e2e/node_modules}"

BROKER=$EG_BIN/egbroker
[ -x "$BROKER" ] || bail "$BROKER not built (make test-binaries)"
command -v node >/dev/null || bail "node not installed (scripts/deps.sh test)"
node -e 'require("mqtt")' 2>/dev/null || bail "MQTT.js not found via NODE_PATH=$NODE_PATH (cd tests/e2e && npm install)"

PORT=$(free_port)
cat >"$E2E_TMP/broker.json" <<EOF
{"listeners": [{"type": "mqtt", "bind": "127.0.0.1", "port": $PORT}], "log_level": "debug"}
EOF
start_bg broker "$BROKER" --config "$E2E_TMP/broker.json"
wait_for_port "$PORT" || bail "broker did not listen on $PORT: $(cat "$E2E_TMP/broker.out")"

done_seen=no
while IFS= read -r line; do
  case $line in
    "ok - "*) ok "${line#ok - }" ;;
    "not ok - "*) not_ok "${line#not ok - }" ;;
    "# done"*) done_seen=yes ;;
    *) echo "# $line" | sed 's/^# # /# /' ;;
  esac
done < <(timeout 75 node tests/e2e/broker/mqttjs_broker.js "$PORT" 2>&1)
[ $done_seen = yes ] || not_ok "MQTT.js scenarios ran to completion" "the harness stopped early (crash or 75 s timeout)"

stop_bg broker
rc=$?
if [ $rc -eq 0 ]; then ok "broker exits 0 on SIGTERM"; else not_ok "broker exits 0 on SIGTERM" "exit $rc" "$(tail -20 "$E2E_TMP/broker.out")"; fi
san=$(grep -E 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error' "$E2E_TMP/broker.out")
if [ -z "$san" ]; then ok "no sanitizer report from the broker"; else
  not_ok "no sanitizer report from the broker" "$(grep -A30 -E 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error' "$E2E_TMP/broker.out" | head -40)"; fi

e2e_finish
