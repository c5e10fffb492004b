#!/usr/bin/env bash
# End-to-end: durability under enforcement with two namespaces (issue 8 with issue 6's snapshots).
# One egbroker with the session store (periodic) serves ns1 (TLS and plain listeners) and ns2
# (its own plain listener); egcontrol pushes both. Persistent sessions with the same ClientIds in
# both namespaces go away, messages and retained messages are published in each, the broker is
# SIGTERM-restarted. Meanwhile client reader loses the right to subscribe s/# (ns1: it leaves
# the group; ns2: the binding is deleted) and client gone is deleted, in both namespaces: ns2
# learns it from egcontrol's push after the restart, ns1 from the snapshot in data_dir (written there while the broker is down, as after
# a kill -9 between a push, saved at once, and the group commit of the sessions it changed).
# Either way the restored sessions must go through what a live change does: subscriptions no
# longer covered removed, queued messages no longer receivable dropped, a deleted client's
# session ended. Phases in tests/e2e/enforcement/durability_cases.py.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/enforcement/enf_lib.sh
enf_init
ENF_BROKER_KEYS='"persistence": "periodic", "persistence_interval_ms": 100,'
enf_start broker control enf_start_ns_broker
enf_export
export EG_TAG=$$
PY=$ENF_DIR/durability_cases.py

# Both namespaces: dev ($all publishes and subscribes t/# and r/#, enf_open_ns), reader (in
# group readers, which may subscribe s/#), gone; anyone may publish s/#. ns1 also has device1
# (ThumbprintMatch of device1.pem), which connects over TLS.
n=0
for ns in ns1 ns2; do
  enf_open_ns $ns || n=$((n + $?))
  put "$ns reader" "/namespaces/$ns/clients/reader" '{"properties": {"attributes": {"type": "reader"}}}' || n=$((n + 1))
  put "$ns gone" "/namespaces/$ns/clients/gone" '{"properties": {}}' || n=$((n + 1))
  put "$ns readers" "/namespaces/$ns/clientGroups/readers" "{\"properties\": {\"query\": \"attributes.type = 'reader'\"}}" || n=$((n + 1))
  put "$ns secret" "/namespaces/$ns/topicSpaces/secret" '{"properties": {"topicTemplates": ["s/#"]}}' || n=$((n + 1))
  for b in "readers-sub-secret:readers:Subscriber" "all-pub-secret:\$all:Publisher"; do
    IFS=: read -r name group perm <<<"$b"
    put "$ns $name" "/namespaces/$ns/permissionBindings/$name" \
      "{\"properties\": {\"clientGroupName\": \"$group\", \"topicSpaceName\": \"secret\", \"permission\": \"$perm\"}}" ||
      n=$((n + 1))
  done
done
put "ns1 device1" "/namespaces/ns1/clients/device1" "{\"properties\": {
    \"clientCertificateAuthentication\": {\"validationScheme\": \"ThumbprintMatch\",
      \"allowedThumbprints\": [\"$(thumbprint "$CERTS/device1.pem")\"]}}}" || n=$((n + 1))
if [ $n -eq 0 ]; then ok "namespaces ns1 and ns2 with clients, group readers, topic spaces and bindings created with curl"
else not_ok "every resource created with curl" "$n request(s) failed"; fi
for ns in ns1 ns2; do
  NS=$ns
  if wait_insync 10; then ok "egcontrol reports the broker InSync for $ns at version $SYNC_VERSION"
  else not_ok "egcontrol reports the broker InSync for $ns" "$SYNC_ERROR"; fi
done

run_py setup "$PY" EG_PHASE=setup
stop_broker_checked broker "egbroker (before the restart)"

# rows SQL: one value from the store, read while the broker is down.
rows() {
  "$EG_PYTHON" -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' \
    "$E2E_TMP/broker/sessions.db" "$1" 2>&1
}
# per_ns TABLE: its rows in ns1 and in ns2.
per_ns() {
  echo "$(rows "SELECT count(*) FROM $1 WHERE realm = 'ns1'") $(rows "SELECT count(*) FROM $1 WHERE realm = 'ns2'")"
}
got="$(per_ns sessions) / $(per_ns deliveries) / $(per_ns retained)"
if [ "$got" = "3 3 / 80 80 / 1 1" ]; then
  ok "the store keeps each namespace's sessions apart under the same ClientIds (sessions 3+3, queued 80+80, retained 1+1)"
else not_ok "the store keeps each namespace's sessions apart" "sessions / deliveries / retained, ns1 ns2: $got (want 3 3 / 80 80 / 1 1)"; fi

# While the broker is down, reader loses s/# (ns1: it leaves group readers; ns2: the binding
# readers-sub-secret is deleted) and gone is deleted, in both namespaces.
n=0
METHOD=PATCH put "ns1 reader leaves readers" "/namespaces/ns1/clients/reader" '{"properties": {"attributes": {"type": "former-reader"}}}' || n=$((n + 1))
for path in /namespaces/ns2/permissionBindings/readers-sub-secret /namespaces/ns1/clients/gone /namespaces/ns2/clients/gone; do
  api DELETE "$path"
  case $ST in 200 | 204) ;; *) n=$((n + 1)) && not_ok "REST: DELETE $path" "status $ST: $(head -c 300 "$BODY_FILE")" ;; esac
done
# ns1's newer snapshot is in data_dir before the restart; egcontrol's push of the same version
# after it changes nothing. ns2 starts from its older saved snapshot and gets the push.
api GET /namespaces/ns1/snapshot
if [ "$ST" = 200 ] && cp "$BODY_FILE" "$E2E_TMP/broker/snapshot-ns1.json"; then NS1_VERSION=$(jq -r .version "$BODY_FILE")
else n=$((n + 1)) && NS1_VERSION=none && not_ok "GET /namespaces/ns1/snapshot" "status $ST"; fi
if [ $n -eq 0 ]; then ok "while the broker is down: reader left group readers in ns1, readers-sub-secret deleted in ns2, gone deleted in both (ns1's snapshot, version $NS1_VERSION, written to data_dir)"
else not_ok "changes while the broker is down" "$n failed"; fi

enf_start_ns_broker broker2 || bail "egbroker did not restart on the same ports: $(tail -5 "$E2E_TMP/broker2.out")"
for ns in ns1 ns2; do
  NS=$ns
  if wait_insync 10; then ok "after the restart egcontrol reports the broker InSync for $ns at version $SYNC_VERSION"
  else not_ok "after the restart egcontrol reports the broker InSync for $ns" "$SYNC_ERROR"; fi
done
NS=ns1
admin GET /snapshots
sources=$(jq -r '[.namespaces[] | select(.namespace != "ns3") | "\(.namespace):\(.source)"] | join(" ")' "$ADMIN_BODY" 2>/dev/null)
if [ "$sources" = "ns1:file ns2:push" ] && [ "$(jq -r .appliedVersion "$ADMIN_BODY")" = "$NS1_VERSION" ]; then
  ok "ns1 is enforced from the snapshot saved in data_dir (version $NS1_VERSION, source file), ns2 from egcontrol's push"
else not_ok "ns1 from the saved snapshot, ns2 from the push" "status $AST: $(cat "$ADMIN_BODY")"; fi

run_py check "$PY" EG_PHASE=check
stop_bg control
stop_broker_checked broker2 "egbroker (after the restart)"

# What the store keeps now: the sessions of same and rd in both namespaces, nothing of gone's,
# no s/# subscription, no delivery left.
got="$(per_ns sessions) / $(rows "SELECT count(*) FROM sessions WHERE CAST(client_id AS TEXT) = 'gn-$EG_TAG'") / $(rows "SELECT count(*) FROM subs WHERE CAST(filter AS TEXT) = 's/#'") / $(rows "SELECT count(*) FROM deliveries")"
if [ "$got" = "2 2 / 0 / 0 / 0" ]; then
  ok "the store follows: ns1 and ns2 keep 2 sessions each, none of gone's, no s/# subscription, no queued delivery"
else not_ok "the store follows the enforcement" "sessions ns1 ns2 / gone's sessions / s/# subscriptions / deliveries: $got (want 2 2 / 0 / 0 / 0)"; fi
e2e_finish
