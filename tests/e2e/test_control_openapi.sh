#!/usr/bin/env bash
# End-to-end: api/openapi.yaml is true. egcontrol runs on a free port with a temporary database,
# small quotas and two brokers (a fake one in the checker, and one that is down); the checker
# (tests/e2e/control/openapi_check.py) validates the document, drives every documented
# (path, method, status) but 500 with real requests, checks each response against the document,
# then compares egcontrol's own request counters (GET /metrics) with the document, both ways.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
e2e_init

EGCONTROL=$EG_BIN/egcontrol
[ -x "$EGCONTROL" ] || bail "$EGCONTROL not built (make test-binaries)"
"$EG_PYTHON" -c 'import yaml' 2>/dev/null || bail "$EG_PYTHON has no yaml module (python3-yaml)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
  -subj /CN=openapi-test-ca -keyout "$E2E_TMP/ca.key" -out "$E2E_TMP/ca.pem" >/dev/null 2>&1 ||
  bail "cannot create a test certificate with openssl"
printf 'openapi-test-token-%s%s-0123456789\n' "$RANDOM" "$RANDOM" >"$E2E_TMP/token"
chmod 600 "$E2E_TMP/token"
FAKE_PORT=$(free_port)
DOWN_PORT=$(free_port)
while [ "$DOWN_PORT" = "$FAKE_PORT" ]; do DOWN_PORT=$(free_port); done
FAKE_TOKEN=fake-broker-token-$RANDOM
cat >"$E2E_TMP/control.json" <<JSON
{"quotas": {"namespaces": 10, "clients": 4, "clientGroups": 3, "topicSpaces": 3,
            "permissionBindings": 3, "caCertificates": 2},
 "brokers": [{"name": "fake", "url": "http://127.0.0.1:$FAKE_PORT", "token": "$FAKE_TOKEN"},
             {"name": "down", "url": "http://127.0.0.1:$DOWN_PORT", "token": "down-token"}],
 "push": {"initialBackoffMs": 50, "maxBackoffMs": 1000, "coalesceMs": 20, "timeoutMs": 2000}}
JSON

# A port picked by free_port can be taken before egcontrol binds it: try another.
PORT=""
for _ in 1 2 3; do
  p=$(free_port)
  # free_port binds nothing: it may hand out a broker's port again, and egcontrol would then
  # push snapshots to itself (counted as requests the checker never sent).
  while [ "$p" = "$FAKE_PORT" ] || [ "$p" = "$DOWN_PORT" ]; do p=$(free_port); done
  start_bg egcontrol "$EGCONTROL" --config "$E2E_TMP/control.json" --listen "127.0.0.1:$p" \
    --db "$E2E_TMP/control.db" --token-file "$E2E_TMP/token"
  if started_and_listening egcontrol "$p"; then PORT=$p; break; fi
  stop_bg egcontrol
done
[ -n "$PORT" ] || bail "egcontrol did not start: $(tail -5 "$E2E_TMP/egcontrol.out")"

"$EG_PYTHON" tests/e2e/control/openapi_check.py --spec api/openapi.yaml --readme api/README.md \
  --port "$PORT" --token-file "$E2E_TMP/token" --config "$E2E_TMP/control.json" --ca-pem "$E2E_TMP/ca.pem" \
  --fake-broker-port "$FAKE_PORT" --fake-broker-token "$FAKE_TOKEN" >"$E2E_TMP/check.out" 2>&1
rc=$?
cat "$E2E_TMP/check.out"
E2E_PASS=$((E2E_PASS + $(grep -c '^ok ' "$E2E_TMP/check.out")))
E2E_FAIL=$((E2E_FAIL + $(grep -c '^not ok ' "$E2E_TMP/check.out")))
if [ $rc -ne 0 ] && ! grep -q '^not ok ' "$E2E_TMP/check.out"; then
  not_ok "openapi_check.py ran to the end" "exit $rc" "$(tail -20 "$E2E_TMP/check.out")"
fi

stop_broker_checked egcontrol "egcontrol"
e2e_finish
