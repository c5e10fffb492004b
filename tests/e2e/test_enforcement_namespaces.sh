#!/usr/bin/env bash
# One egbroker serving several namespaces, isolated from each other: ns1 (top-level: a TLS and a
# plain listener), ns2 (its own plain listener), ns3 (reachable by TLS SNI only, "namespaces").
# egcontrol pushes all three. Same ClientId in two namespaces, publish and retained isolation,
# SNI selection ({ns}.example.test), an unserved SNI namespace (0x87), a snapshot for a
# namespace the broker does not serve (400), GET /snapshots and /metrics per namespace.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/enforcement/enf_lib.sh
enf_init
enf_start broker control enf_start_ns_broker
enf_export

# Every namespace: client dev (plain listeners), topic space t/# and r/#, $all may publish and
# subscribe; ns2 and ns3 also have device1 (ThumbprintMatch of device1.pem).
n=0
for ns in ns1 ns2 ns3; do
  enf_open_ns $ns || n=$((n + $?))
  [ $ns = ns1 ] && continue
  put "$ns device1" "/namespaces/$ns/clients/device1" "{\"properties\": {
      \"clientCertificateAuthentication\": {\"validationScheme\": \"ThumbprintMatch\",
        \"allowedThumbprints\": [\"$(thumbprint "$CERTS/device1.pem")\"]}}}" || n=$((n + 1))
done
if [ $n -eq 0 ]; then ok "namespaces ns1, ns2, ns3 with their clients, topic space and bindings created with curl"
else not_ok "every resource created with curl" "$n request(s) failed"; fi
for ns in ns1 ns2 ns3; do
  NS=$ns
  if wait_insync 10; then ok "egcontrol reports the broker InSync for $ns at version $SYNC_VERSION"
  else not_ok "egcontrol reports the broker InSync for $ns" "$SYNC_ERROR"; fi
done
NS=ns1

admin GET /snapshots
if [ "$AST" = 200 ] && [ "$(jq -r .namespace "$ADMIN_BODY")" = ns1 ] &&
  [ "$(jq -r '[.namespaces[] | select(.appliedVersion > 0 and .source == "push") | .namespace] | join(",")' "$ADMIN_BODY")" = ns1,ns2,ns3 ]; then
  ok "GET /snapshots: the top-level fields are ns1's, \"namespaces\" lists ns1, ns2, ns3 applied from a push"
else not_ok "GET /snapshots per namespace" "status $AST: $(cat "$ADMIN_BODY")"; fi

# A snapshot for a namespace this broker does not serve: 400, nothing changes.
api GET /namespaces/ns1/snapshot
jq -c '.namespace = "elsewhere"' "$BODY_FILE" >"$E2E_TMP/foreign.json"
admin POST /snapshots -H 'Content-Type: application/json' --data-binary "@$E2E_TMP/foreign.json"
if [ "$AST" = 400 ] && grep -q 'elsewhere' "$ADMIN_BODY" && grep -q 'ns3' "$ADMIN_BODY"; then
  ok "POST /snapshots for a namespace not served: 400 ($(jq -r .error.message "$ADMIN_BODY"))"
else not_ok "POST /snapshots for a namespace not served: 400" "status $AST: $(cat "$ADMIN_BODY")"; fi

timeout 120 "$EG_PYTHON" -u "$ENF_DIR/namespace_cases.py" 2>&1 | tee "$E2E_TMP/cases.out" | grep -E '^(ok|not ok|#)'
pass=$(grep -c '^ok ' "$E2E_TMP/cases.out")
fail=$(grep -c '^not ok ' "$E2E_TMP/cases.out")
E2E_PASS=$((E2E_PASS + pass))
E2E_FAIL=$((E2E_FAIL + fail))
grep -q '^# all cases ran' "$E2E_TMP/cases.out" || not_ok "namespace cases ran to the end" "$(tail -20 "$E2E_TMP/cases.out")"

admin GET /metrics
if [ "$AST" = 200 ] && grep -q 'egbroker_snapshot_version{namespace="ns2"} [1-9]' "$ADMIN_BODY" &&
  grep -q 'egbroker_connect_denied_total{namespace="ns1",reason="wrong_namespace"} [1-9]' "$ADMIN_BODY" &&
  grep -q 'egbroker_connect_denied_total{namespace="ns1",reason="unknown_client"} [1-9]' "$ADMIN_BODY" &&
  [ "$(grep -c '^# TYPE egbroker_snapshot_version ' "$ADMIN_BODY")" = 1 ]; then
  ok "GET /metrics: per-namespace series (snapshot version of ns2, ns1's refusals), one TYPE line per family"
else not_ok "GET /metrics per namespace" "status $AST: $(grep -E 'snapshot_version|connect_denied' "$ADMIN_BODY" | head -20)"; fi

# Saved per namespace: a restart with egcontrol stopped serves all three.
stop_bg control
stop_broker_checked broker "egbroker serving three namespaces"
if [ -s "$E2E_TMP/broker/snapshot-ns1.json" ] && [ -s "$E2E_TMP/broker/snapshot-ns2.json" ] &&
  [ -s "$E2E_TMP/broker/snapshot-ns3.json" ]; then ok "the last snapshot of each namespace is saved in data_dir"
else not_ok "snapshots saved per namespace" "$(ls -l "$E2E_TMP/broker")"; fi
if enf_start_ns_broker broker; then
  admin GET /snapshots
  if [ "$(jq -r '[.namespaces[] | select(.appliedVersion > 0 and .source == "file") | .namespace] | join(",")' "$ADMIN_BODY")" = ns1,ns2,ns3 ]; then
    ok "restarted with egcontrol stopped: the three namespaces are served from their saved snapshots"
  else not_ok "restart serves the saved snapshots" "$(cat "$ADMIN_BODY")"; fi
  timeout 60 "$EG_PYTHON" -u "$ENF_DIR/namespace_cases.py" "same ClientId" "SNI picks" 2>&1 | tee "$E2E_TMP/cases2.out" | grep -E '^(ok|not ok|#)' | sed 's/^\(not \)\?ok - /&after restart: /'
  E2E_PASS=$((E2E_PASS + $(grep -c '^ok ' "$E2E_TMP/cases2.out")))
  E2E_FAIL=$((E2E_FAIL + $(grep -c '^not ok ' "$E2E_TMP/cases2.out")))
  stop_broker_checked broker "egbroker restarted from the saved snapshots"
else
  not_ok "the broker restarts" "$(tail -5 "$E2E_TMP/broker.out")"
fi
e2e_finish
