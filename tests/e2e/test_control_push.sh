#!/usr/bin/env bash
# End-to-end: egcontrol's snapshots and their push to brokers (api/README.md "Snapshots"), with
# fake broker endpoints (tests/e2e/control/fake_broker.py): snapshot shape and versions, the
# pushed content and token, coalescing of a burst, a broker that is down at first and one that
# refuses, per-broker namespace filters, deletion pushed as deleted:true, the push at start,
# GET /brokers and the push metrics.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/control/cp_lib.sh
e2e_init
cp_setup
SNAP=("$EG_PYTHON" "$CP_DIR/snaplog.py")
ISO='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$'

# fake_broker NAME TOKEN LOG [PORT]: starts one; its port in $FB_PORT.
fake_broker() {
  local pf=$E2E_TMP/$1.port
  rm -f "$pf"
  start_bg "$1" "$EG_PYTHON" "$CP_DIR/fake_broker.py" --token "$2" --log "$3" --port "${4:-0}" --port-file "$pf"
  wait_until 10 test -s "$pf" || bail "fake broker $1 did not start: $(cat "$E2E_TMP/$1.out")"
  FB_PORT=$(cat "$pf")
}
FLOG=$E2E_TMP/fake.log
LLOG=$E2E_TMP/late.log
F2LOG=$E2E_TMP/fake2.log
fake_broker fake broker-secret "$FLOG"
BPORT=$FB_PORT
printf 'filtered-secret-0123\n' >"$E2E_TMP/b2.token"
fake_broker fake2 filtered-secret-0123 "$F2LOG"
B2PORT=$FB_PORT
LPORT=$(free_port)
cat >"$E2E_TMP/cp.json" <<JSON
{"brokers": [
   {"name": "fake", "url": "http://127.0.0.1:$BPORT", "token": "broker-secret"},
   {"name": "late", "url": "http://127.0.0.1:$LPORT", "token": "late-secret"},
   {"name": "wrongtok", "url": "http://127.0.0.1:$BPORT", "token": "not-the-secret"},
   {"name": "filtered", "url": "http://127.0.0.1:$B2PORT", "tokenFile": "$E2E_TMP/b2.token", "namespaces": ["beta"]}],
 "push": {"initialBackoffMs": 100, "maxBackoffMs": 1000, "coalesceMs": 20, "timeoutMs": 2000}}
JSON
cp_start cp --db "$E2E_TMP/control.db" --config "$E2E_TMP/cp.json"

# latest_is LOG NS VERSION: the last snapshot of NS that LOG received has VERSION.
latest_is() {
  [ "$("${SNAP[@]}" "$1" latest "$2" | "$EG_PYTHON" -c 'import json,sys; print(json.load(sys.stdin).get("version"))')" = "$3" ]
}
# broker_pair BROKER NS: GET /brokers, then that pair's JSON into $E2E_TMP/pair.json
broker_pair() {
  api GET /brokers
  "$EG_PYTHON" - "$CP_BODY" "$1" "$2" >"$E2E_TMP/pair.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for b in doc.get("value", []):
    if b.get("name") == sys.argv[2]:
        for p in b.get("namespaces", []):
            if p.get("namespace") == sys.argv[3]:
                print(json.dumps(p)); sys.exit(0)
print("{}")
PY
}
pair_has() { # BROKER NS ASSERTION...
  local b=$1 n=$2
  shift 2
  broker_pair "$b" "$n"
  jc "$E2E_TMP/pair.json" "$@"
}
pair_get() { # FIELD of the pair that pair_has / broker_pair read last
  jc --get "$E2E_TMP/pair.json" "$1"
  printf '%s' "${JC_OUT%$'\n'}"
}
healthz_seq() { # (in $(...): it overwrites the last response)
  api GET /healthz
  jget changeSequence
}

# ---------------------------------------------------------------- snapshot shape and content
cacert "$E2E_TMP/ca.pem" "push CA"
pem=$(pem_json "$E2E_TMP/ca.pem")
tpl=$(printf 'ab%.0s' $(seq 32))
api PUT /namespaces/alpha '{"properties": {"topicSpacesConfiguration": {"maximumSessionExpiryInHours": 2, "maximumClientSessionsPerAuthenticationName": 3, "clientAuthentication": {"alternativeAuthenticationNameSources": ["ClientCertificateUri"]}}}, "sku": {"name": "Standard", "capacity": 2}}'
api PUT /namespaces/alpha/clients/dev-b "{\"properties\": {\"authenticationName\": \"Dev-B-Auth\", \"state\": \"Disabled\", \"clientCertificateAuthentication\": {\"validationScheme\": \"ThumbprintMatch\", \"allowedThumbprints\": [\"$tpl\"]}}}"
api PUT /namespaces/alpha/clients/dev-a '{"properties": {"description": "not in the snapshot", "attributes": {"type": "sensor", "floor": 3, "zones": ["z1", "z2"]}}}'
api PUT /namespaces/alpha/clientGroups/sensors '{"properties": {"query": "attributes.type = '"'sensor'"'"}}'
api PUT /namespaces/alpha/topicSpaces/telemetry '{"properties": {"topicTemplates": ["t/${client.authenticationName}/#", "floors/+"]}}'
api PUT /namespaces/alpha/topicSpaces/alerts '{"properties": {"topicTemplates": ["alerts/#"]}}'
api PUT /namespaces/alpha/permissionBindings/sensors-pub '{"properties": {"clientGroupName": "sensors", "topicSpaceName": "telemetry", "permission": "Publisher"}}'
api PUT /namespaces/alpha/permissionBindings/all-sub '{"properties": {"clientGroupName": "$all", "topicSpaceName": "alerts", "permission": "Subscriber"}}'
api PUT /namespaces/alpha/caCertificates/dev-ca "{\"properties\": {\"encodedCertificate\": $pem}}"
expect "namespace alpha with every kind of resource" 201
v1=$(healthz_seq)
api GET /namespaces/alpha/snapshot
cp "$CP_BODY" "$E2E_TMP/alpha-snap.json"
expect "GET /namespaces/alpha/snapshot: schema 1, namespace, version = last change sequence, deleted false" 200 \
  schema=1 namespace=alpha "version=$v1" deleted=false \
  '.@=caCertificates,clientGroups,clients,deleted,namespace,permissionBindings,schema,settings,topicSpaces,version'
expect "snapshot settings: the namespace's values, hostname, throughputUnits" 200 settings.state=Enabled \
  settings.maximumSessionExpiryInHours=2 settings.maximumClientSessionsPerAuthenticationName=3 \
  'settings.alternativeAuthenticationNameSources=["ClientCertificateUri"]' settings.hostname=alpha.localhost \
  settings.throughputUnits=2
expect "snapshot clients: sorted by name, enforcement fields only, thumbprints upper-case" 200 'clients#=2' \
  clients[0].name=dev-a clients[0].authenticationName=dev-a clients[0].state=Enabled \
  clients[0].validationScheme=SubjectMatchesAuthenticationName 'clients[0].allowedThumbprints=[]' \
  'clients[0].attributes={"type":"sensor","floor":3,"zones":["z1","z2"]}' \
  'clients[0]@=allowedThumbprints,attributes,authenticationName,name,state,validationScheme' \
  clients[1].name=dev-b clients[1].authenticationName=Dev-B-Auth clients[1].state=Disabled \
  clients[1].validationScheme=ThumbprintMatch "clients[1].allowedThumbprints=[\"$(tr a-f A-F <<<"$tpl")\"]" 'clients[1].attributes={}'
expect "snapshot client groups: \$all with query null, then sensors" 200 'clientGroups#=2' 'clientGroups[0]={"name":"$all","query":null}' \
  "clientGroups[1]={\"name\":\"sensors\",\"query\":\"attributes.type = 'sensor'\"}"
expect "snapshot topic spaces sorted, with their templates" 200 'topicSpaces#=2' 'topicSpaces[0]={"name":"alerts","topicTemplates":["alerts/#"]}' \
  'topicSpaces[1]={"name":"telemetry","topicTemplates":["t/${client.authenticationName}/#","floors/+"]}'
expect "snapshot permission bindings sorted" 200 'permissionBindings#=2' \
  'permissionBindings[0]={"name":"all-sub","clientGroupName":"$all","topicSpaceName":"alerts","permission":"Subscriber"}' \
  'permissionBindings[1]={"name":"sensors-pub","clientGroupName":"sensors","topicSpaceName":"telemetry","permission":"Publisher"}'
expect "snapshot CA certificates: name and the PEM as given" 200 'caCertificates#=1' caCertificates[0].name=dev-ca \
  "caCertificates[0].encodedCertificate=$(cat "$E2E_TMP/ca.pem")"$'\n' 'caCertificates[0]@=encodedCertificate,name'

# ---------------------------------------------------------------- versions
api PATCH /namespaces/alpha/clients/dev-a '{"properties": {"attributes": {"floor": 4}}}'
api GET /namespaces/alpha/snapshot
v2=$(jget version)
if [ "$v2" -gt "$v1" ] && [ "$v2" = "$(healthz_seq)" ]; then ok "a change raises the snapshot version to the new change sequence ($v1 -> $v2)"
else not_ok "a change raises the snapshot version to the new change sequence" "$v1 -> $v2"; fi
api GET /namespaces/alpha/snapshot
expect "... and the snapshot shows the change" 200 clients[0].attributes.floor=4
api PUT /namespaces/beta '{}'
api PUT /namespaces/beta/clients/b1 '{}'
bv=$(healthz_seq)
api GET /namespaces/alpha/snapshot
expect "a change in another namespace leaves alpha's version alone" 200 "version=$v2"
api PUT /namespaces/alpha/clients/dev-a '{"properties": {"description": "not in the snapshot", "attributes": {"type": "sensor", "floor": 4, "zones": ["z1", "z2"]}}}' -H 'If-Match: "1"'
api GET /namespaces/alpha/snapshot
expect "a refused write (412) leaves the version alone" 200 "version=$v2"

# ---------------------------------------------------------------- push
if wait_until 10 latest_is "$FLOG" alpha "$v2"; then ok "the fake broker received alpha's latest snapshot (version $v2)"
else not_ok "the fake broker received alpha's latest snapshot (version $v2)" "received versions $("${SNAP[@]}" "$FLOG" versions alpha)"; fi
"${SNAP[@]}" "$FLOG" latest alpha >"$E2E_TMP/pushed.json"
api GET /namespaces/alpha/snapshot
if "$EG_PYTHON" -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); sys.exit(a != b)' "$E2E_TMP/pushed.json" "$CP_BODY"; then
  ok "the pushed snapshot is exactly GET /namespaces/alpha/snapshot"
else not_ok "the pushed snapshot is exactly GET /namespaces/alpha/snapshot" "pushed: $(head -c 300 "$E2E_TMP/pushed.json")" "GET: $(head -c 300 "$CP_BODY")"; fi
if jc "$E2E_TMP/pushed.json" "caCertificates[0].encodedCertificate~BEGIN CERTIFICATE" clients[1].authenticationName=Dev-B-Auth \
     'clientGroups[1].name=sensors' 'topicSpaces[1].topicTemplates#=2' 'permissionBindings#=2'; then
  ok "the pushed snapshot holds the CA certificate, clients, groups, templates and bindings created"
else not_ok "the pushed snapshot holds the CA certificate, clients, groups, templates and bindings created" "$JC_OUT"; fi
ct=$("${SNAP[@]}" "$FLOG" content-types)
if [[ $ct == '["application/json"]' ]]; then ok "pushes carry Content-Type: application/json"; else not_ok "pushes carry Content-Type: application/json" "$ct"; fi
if wait_until 10 pair_has fake alpha "desiredVersion=$v2" "appliedVersion=$v2" state=InSync lastError=null; then
  ok "GET /brokers: fake/alpha InSync, appliedVersion = desiredVersion = $v2, lastError null"
else not_ok "GET /brokers: fake/alpha InSync, appliedVersion = desiredVersion" "$(cat "$E2E_TMP/pair.json")"; fi
if jc "$E2E_TMP/pair.json" 'attempts~^[1-9]' "lastAttemptAt~$ISO" "lastSuccessAt~$ISO"; then ok "GET /brokers: attempts, lastAttemptAt, lastSuccessAt"
else not_ok "GET /brokers: attempts, lastAttemptAt, lastSuccessAt" "$JC_OUT"; fi
api GET /brokers
expect "GET /brokers lists the 4 brokers with name and url" 200 'value#=4' value[0].name=fake "value[0].url=http://127.0.0.1:$BPORT" \
  'value[0].namespaces:array'

# wrong token: the fake broker answers 401
if wait_until 10 pair_has wrongtok alpha state=Failing 'lastError:string'; then
  ok "a broker configured with the wrong token: the fake broker refuses (401), GET /brokers shows Failing with lastError ($(pair_get lastError | head -c 80))"
else not_ok "a broker configured with the wrong token: Failing with lastError" "$(cat "$E2E_TMP/pair.json")"; fi
bad=$("${SNAP[@]}" "$FLOG" badauth)
if [ "$bad" -ge 1 ]; then ok "the fake broker saw the wrong token ($bad refused requests) and nothing else was accepted with it"
else not_ok "the fake broker saw the wrong token" "badauth $bad"; fi

# filtered broker: only beta
if wait_until 10 latest_is "$F2LOG" beta "$bv"; then ok "a broker limited to namespace beta receives beta (version $bv)"
else not_ok "a broker limited to namespace beta receives beta" "$("${SNAP[@]}" "$F2LOG" versions beta)"; fi
if [ "$("${SNAP[@]}" "$F2LOG" count alpha)" = 0 ] && pair_has filtered alpha '.={}'; then ok "... and never alpha (nor lists it in GET /brokers)"
else not_ok "... and never alpha (nor lists it in GET /brokers)" "$("${SNAP[@]}" "$F2LOG" versions alpha)" "$(cat "$E2E_TMP/pair.json")"; fi

# ---------------------------------------------------------------- a broker down at first
if wait_until 10 pair_has late alpha state=Failing 'lastError:string' "desiredVersion=$v2"; then
  ok "a broker that is down: GET /brokers shows Failing with lastError ($(pair_get lastError | head -c 80))"
else not_ok "a broker that is down: GET /brokers shows Failing with lastError" "$(cat "$E2E_TMP/pair.json")"; fi
api PATCH /namespaces/alpha/clients/dev-b '{"properties": {"state": "Enabled"}}'
v3=$(healthz_seq)
sleep 1.2
fake_broker late late-secret "$LLOG" "$LPORT"
if wait_until 10 latest_is "$LLOG" alpha "$v3"; then ok "the broker comes back: it receives alpha's latest version ($v3) within the backoff"
else not_ok "the broker comes back: it receives alpha's latest version ($v3)" "received $("${SNAP[@]}" "$LLOG" versions alpha)"; fi
if [ "$("${SNAP[@]}" "$LLOG" versions alpha)" = "[$v3]" ]; then ok "... and only that version (none of the older ones)"
else not_ok "... and only that version (none of the older ones)" "received $("${SNAP[@]}" "$LLOG" versions alpha)"; fi
if wait_until 10 pair_has late alpha state=InSync "appliedVersion=$v3" "desiredVersion=$v3" lastError=null; then
  ok "GET /brokers: late/alpha InSync with appliedVersion = desiredVersion = $v3"
else not_ok "GET /brokers: late/alpha InSync with appliedVersion = desiredVersion" "$(cat "$E2E_TMP/pair.json")"; fi
if wait_until 10 latest_is "$LLOG" beta "$bv"; then ok "the broker that came back also receives beta"
else not_ok "the broker that came back also receives beta" "$("${SNAP[@]}" "$LLOG" versions beta)"; fi

# ---------------------------------------------------------------- a broker that refuses (500), then accepts
curl -sS "http://127.0.0.1:$BPORT/_ctl?status=500" >/dev/null
api PATCH /namespaces/beta/clients/b1 '{"properties": {"state": "Disabled"}}'
bv2=$(healthz_seq)
if wait_until 10 pair_has fake beta state=Failing 'lastError~500'; then ok "a broker answering 500: Failing, lastError names the status"
else not_ok "a broker answering 500: Failing, lastError names the status" "$(cat "$E2E_TMP/pair.json")"; fi
curl -sS "http://127.0.0.1:$BPORT/_ctl?status=200" >/dev/null
if wait_until 10 pair_has fake beta state=InSync "appliedVersion=$bv2" lastError=null && latest_is "$FLOG" beta "$bv2"; then
  ok "... it accepts again: retried, InSync at version $bv2"
else not_ok "... it accepts again: retried, InSync" "$(cat "$E2E_TMP/pair.json")"; fi

# ---------------------------------------------------------------- coalescing
curl -sS "http://127.0.0.1:$BPORT/_ctl?delay=0.3" >/dev/null
api PATCH /namespaces/alpha/clients/dev-a '{"properties": {"attributes": {"burst": 0}}}'
out=$("$EG_PYTHON" "$CP_DIR/cpclient.py" burst --port "$CP_PORT" --token-file "$E2E_TMP/token" --path /namespaces/alpha/clients/dev-a --count 20 2>&1)
[ "$out" = '{"statuses": [200]}' ] || not_ok "a burst of 20 PATCHes" "$out"
vb=$(healthz_seq)
if wait_until 15 latest_is "$FLOG" alpha "$vb"; then ok "after a burst of 20 changes the broker has the final version ($vb)"
else not_ok "after a burst of 20 changes the broker has the final version ($vb)" "$("${SNAP[@]}" "$FLOG" versions alpha)"; fi
n=$("${SNAP[@]}" "$FLOG" count alpha "$v3")
if [ "$n" -le 10 ]; then ok "the burst of 20 (+1) changes was coalesced into $n pushes"
else not_ok "the burst of 20 (+1) changes was coalesced into far fewer pushes" "$n pushes: $("${SNAP[@]}" "$FLOG" versions alpha)"; fi
"${SNAP[@]}" "$FLOG" latest alpha >"$E2E_TMP/pushed.json"
if jc "$E2E_TMP/pushed.json" clients[0].attributes.burst=20; then ok "the final pushed snapshot has the last value (burst = 20)"
else not_ok "the final pushed snapshot has the last value (burst = 20)" "$JC_OUT"; fi
vs=$("${SNAP[@]}" "$FLOG" versions alpha)
if "$EG_PYTHON" -c 'import json,sys; v=json.loads(sys.argv[1]); sys.exit(v != sorted(v))' "$vs"; then ok "the versions a broker receives never go back"
else not_ok "the versions a broker receives never go back" "$vs"; fi
curl -sS "http://127.0.0.1:$BPORT/_ctl?delay=0" >/dev/null

# ---------------------------------------------------------------- metrics
wait_until 10 pair_has fake alpha state=InSync
api GET /metrics
m=$(cat "$CP_BODY")
if grep -E '^egcontrol_snapshot_pushes_total\{' <<<"$m" | grep 'broker="fake"' | grep -q 'result="ok"'; then ok "/metrics: egcontrol_snapshot_pushes_total{broker=fake, result=ok}"
else not_ok "/metrics: egcontrol_snapshot_pushes_total{broker=fake, result=ok}" "$(grep snapshot_pushes <<<"$m")"; fi
if grep -E '^egcontrol_snapshot_pushes_total\{' <<<"$m" | grep 'broker="wrongtok"' | grep 'result="error"' | grep -Eq ' [1-9][0-9]*$'; then ok "/metrics: egcontrol_snapshot_pushes_total{broker=wrongtok, result=error} > 0"
else not_ok "/metrics: egcontrol_snapshot_pushes_total{broker=wrongtok, result=error} > 0" "$(grep snapshot_pushes <<<"$m")"; fi
if grep -E '^egcontrol_broker_applied_version\{' <<<"$m" | grep 'broker="fake"' | grep 'namespace="alpha"' | grep -Eq " $vb\$"; then
  ok "/metrics: egcontrol_broker_applied_version{broker=fake, namespace=alpha} = $vb"
else not_ok "/metrics: egcontrol_broker_applied_version{broker=fake, namespace=alpha} = $vb" "$(grep applied_version <<<"$m")"; fi

# ---------------------------------------------------------------- deletion
api DELETE /namespaces/alpha
vd=$(healthz_seq)
if [ "$vd" -gt "$vb" ] && wait_until 10 latest_is "$FLOG" alpha "$vd"; then ok "namespace deletion is pushed with the next version ($vd)"
else not_ok "namespace deletion is pushed with the next version ($vd)" "$("${SNAP[@]}" "$FLOG" versions alpha)"; fi
"${SNAP[@]}" "$FLOG" latest alpha >"$E2E_TMP/pushed.json"
if jc "$E2E_TMP/pushed.json" '.@=deleted,namespace,schema,version' deleted=true schema=1 namespace=alpha "version=$vd"; then
  ok "the deletion snapshot is {schema: 1, namespace, version, deleted: true}"
else not_ok "the deletion snapshot is {schema: 1, namespace, version, deleted: true}" "$JC_OUT"; fi
if wait_until 10 latest_is "$LLOG" alpha "$vd"; then ok "every broker gets the deletion (late too)"
else not_ok "every broker gets the deletion (late too)" "$("${SNAP[@]}" "$LLOG" versions alpha)"; fi
api GET /namespaces/alpha/snapshot
expect_err "GET the snapshot of the deleted namespace: 404" 404 NotFound
api PUT /namespaces/alpha '{}'
api GET /namespaces/alpha/snapshot
va=$(jget version)
expect "the namespace created again: version above the deletion's, nothing left from before" 200 deleted=false 'clients=[]' \
  'clientGroups=[{"name":"$all","query":null}]' 'topicSpaces=[]' 'permissionBindings=[]' 'caCertificates=[]' 'version~^[0-9]+$'
if [ "$va" -gt "$vd" ] && wait_until 10 latest_is "$FLOG" alpha "$va"; then ok "... pushed as version $va > $vd"
else not_ok "... pushed as a version above the deletion's" "$va vs $vd; $("${SNAP[@]}" "$FLOG" versions alpha)"; fi

# ---------------------------------------------------------------- restart: push at start
stop_broker_checked cp "egcontrol (with brokers, one failing)"
nb=$("${SNAP[@]}" "$F2LOG" count beta)
na=$("${SNAP[@]}" "$FLOG" count alpha)
cp_start cp2 --db "$E2E_TMP/control.db" --config "$E2E_TMP/cp.json"
if wait_until 10 sh -c "[ \$('$EG_PYTHON' $CP_DIR/snaplog.py '$F2LOG' count beta) -gt $nb ] && [ \$('$EG_PYTHON' $CP_DIR/snaplog.py '$FLOG' count alpha) -gt $na ]"; then
  ok "at start egcontrol pushes every namespace to every broker again"
else not_ok "at start egcontrol pushes every namespace to every broker again" "beta $nb -> $("${SNAP[@]}" "$F2LOG" count beta), alpha $na -> $("${SNAP[@]}" "$FLOG" count alpha)"; fi
if wait_until 10 pair_has fake alpha state=InSync "appliedVersion=$va"; then ok "after the restart GET /brokers: fake/alpha InSync at $va"
else not_ok "after the restart GET /brokers: fake/alpha InSync at $va" "$(cat "$E2E_TMP/pair.json")"; fi
stop_bg late
stop_broker_checked cp2 "egcontrol (second run)"
e2e_finish
