# shellcheck shell=bash
# Helpers for the enforcement end-to-end tests (egcontrol wired to egbroker, the Event Grid
# tutorial flow), on top of tests/e2e/lib.sh (source that first).
#
#   enf_pki                 throwaway PKI in $CERTS: dev-certs.sh (ca, server, device1, device2)
#                           plus the extra certificates listed at enf_pki
#   enf_start_broker NAME   egbroker with mqtts + mqtt listeners and the admin endpoint on the
#                           ports in $TLS_PORT $PLAIN_PORT $ADMIN_PORT (picked by enf_ports),
#                           data_dir $E2E_TMP/broker, namespace ns1, sni_domain example.test
#   enf_start_control NAME  egcontrol on $CP_PORT pushing to the broker (fast push settings)
#   enf_start BROKER CONTROL [START_FN]  enf_ports, then both (retried on new ports when one was
#                           taken); START_FN starts the broker (default enf_start_broker)
#   enf_start_ns_broker NAME  the several-namespaces broker: ns1 (mqtts + mqtt listeners), ns2
#                           (its own mqtt listener on $PLAIN2_PORT), ns3 (TLS SNI only)
#   enf_open_ns NS          namespace NS with client dev and $all publishing/subscribing t/# and r/#
#   api METHOD PATH [BODY]  one REST call to egcontrol with curl: status in $ST, body in $BODY_FILE
#   put NAME PATH BODY      PUT that must answer 200/201 (a not ok line otherwise)
#   wait_insync [SECONDS]   until GET /brokers shows InSync at the namespace's current version
#   admin METHOD PATH [CURL_ARGS...]   the broker's admin endpoint with its token
#   enf_tutorial [LABEL]    the resources of the tutorial flow (see the function), one check line
#   enf_export              the environment of enforcement/*.py and mqttjs_enf.js
#   run_py NAME SCRIPT [ENV...]  a Python driver; its ok/not ok lines count as the caller's

NS=ns1
ENF_DIR=tests/e2e/enforcement

enf_ports() {
  TLS_PORT=$(free_port)
  PLAIN_PORT=$(free_port)
  ADMIN_PORT=$(free_port)
  PLAIN2_PORT=$(free_port) # the ns2 listener of enf_start_ns_broker
  CP_PORT=$(free_port)
  CP_URL=http://127.0.0.1:$CP_PORT
  ADMIN_URL=http://127.0.0.1:$ADMIN_PORT
}

# A key and a certificate: leaf NAME SUBJECT SIGNER|self EXTENSIONS [DAYS]
leaf() {
  local name=$1 subj=$2 signer=$3 ext=$4 days=${5:-30}
  (
    cd "$CERTS" || exit 1
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$subj" \
      -keyout "$name.key" -out "$name.csr" 2>/dev/null || exit 1
    printf '%s\n' "$ext" >"$name.ext"
    if [ "$signer" = self ]; then
      openssl x509 -req -in "$name.csr" -signkey "$name.key" -days "$days" -extfile "$name.ext" \
        -out "$name.pem" 2>/dev/null
    else
      openssl x509 -req -in "$name.csr" -CA "$signer.pem" -CAkey "$signer.key" -CAcreateserial \
        -days "$days" -extfile "$name.ext" -out "$name.pem" 2>/dev/null
    fi
    rc=$?
    rm -f "$name.csr" "$name.ext"
    exit $rc
  )
}

thumbprint() {
  openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g'
}

# dev-certs.sh: ca, server, device1 (CN device1), device2 (CN device2). Then:
#   device3      CN device3, signed by the CA (a client that is Disabled)
#   selfsigned   CN selfie, self-signed (ThumbprintMatch)
#   otherca      a second CA; rogue1: CN device1 signed by it (chain schemes must refuse it)
#   dnsdev       CN not-the-name, DNS SAN dnsdev.example.com, signed by the CA
#   expired      CN device1, signed by the CA, expired (notAfter a day before notBefore)
#   site2        CN site2 (attribute template tests), signed by the CA
# enf_init: what every enforcement suite starts with: the temp dir and traps (e2e_init),
# the binaries it needs, and its test PKI (enf_pki).
enf_init() {
  e2e_init
  [ -x "$EG_BIN/egbroker" ] && [ -x "$EG_BIN/egcontrol" ] ||
    bail "$EG_BIN/egbroker or egcontrol not built (make test-binaries)"
  enf_pki
}

enf_pki() {
  CERTS=$E2E_TMP/certs
  scripts/dev-certs.sh "$CERTS" >/dev/null || bail "cannot create test certificates"
  local client="extendedKeyUsage=clientAuth"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=another CA" -keyout "$CERTS/otherca.key" -out "$CERTS/otherca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null ||
    bail "cannot create the second CA"
  leaf device3 /CN=device3 ca "$client" &&
    leaf selfsigned /CN=selfie self "$client" &&
    leaf rogue1 /CN=device1 otherca "$client" &&
    leaf dnsdev /CN=not-the-name ca "$client
subjectAltName=DNS:dnsdev.example.com" &&
    leaf expired /CN=device1 ca "$client" -1 &&
    leaf site2 /CN=site2 ca "$client" || bail "cannot create the extra test certificates"
  chmod 644 "$CERTS"/*.pem "$CERTS"/*.key
}

# enf_start_broker NAME [LOG_LEVEL]: also waits for its ports.
enf_start_broker() {
  [ -s "$E2E_TMP/btok" ] || { (umask 077 && openssl rand -hex 24 >"$E2E_TMP/btok"); }
  cat >"$E2E_TMP/broker.json" <<JSON
{"listeners": [
   {"type": "mqtts", "bind": "127.0.0.1", "port": $TLS_PORT, "cert": "$CERTS/server.pem", "key": "$CERTS/server.key"},
   {"type": "mqtt", "bind": "127.0.0.1", "port": $PLAIN_PORT}],
 "admin": {"bind": "127.0.0.1", "port": $ADMIN_PORT, "token_file": "$E2E_TMP/btok"},
 "namespace": "$NS",
 "sni_domain": "example.test",
 "data_dir": "$E2E_TMP/broker",
 "log_level": "${2:-debug}"}
JSON
  start_bg "$1" "$EG_BIN/egbroker" --config "$E2E_TMP/broker.json"
  started_and_listening "$1" "$ADMIN_PORT" && wait_for_port "$TLS_PORT" 10 && wait_for_port "$PLAIN_PORT" 10
}

enf_start_control() {
  [ -s "$E2E_TMP/tok" ] || { (umask 077 && echo "cp-$RANDOM$RANDOM-0123456789abcdef" >"$E2E_TMP/tok"); }
  cat >"$E2E_TMP/cp.json" <<JSON
{"brokers": [{"name": "b1", "url": "$ADMIN_URL", "tokenFile": "$E2E_TMP/btok"}],
 "push": {"initialBackoffMs": 100, "maxBackoffMs": 500, "coalesceMs": 10, "timeoutMs": 2000}}
JSON
  start_bg "$1" "$EG_BIN/egcontrol" --listen "127.0.0.1:$CP_PORT" --db "$E2E_TMP/c.db" \
    --token-file "$E2E_TMP/tok" --config "$E2E_TMP/cp.json"
  started_and_listening "$1" "$CP_PORT"
}

# enf_start_ns_broker NAME: egbroker serving several namespaces, isolated from each other: ns1
# (top-level: the mqtts listener on $TLS_PORT and the mqtt one on $PLAIN_PORT), ns2 (its own
# mqtt listener on $PLAIN2_PORT), ns3 (reachable by TLS SNI only, "namespaces"). Admin endpoint
# and data_dir as enf_start_broker's; $ENF_BROKER_KEYS adds top-level configuration keys, each
# followed by a comma (e.g. '"persistence": "periodic",'); ENF_SNI_KEYS='' leaves ns3 and the SNI
# domain out. Also waits for its ports.
enf_start_ns_broker() {
  [ -s "$E2E_TMP/btok" ] || { (umask 077 && openssl rand -hex 24 >"$E2E_TMP/btok"); }
  local sni=${ENF_SNI_KEYS-'"namespaces": ["ns3"], "sni_domain": "example.test",'}
  cat >"$E2E_TMP/broker.json" <<JSON
{"listeners": [
   {"type": "mqtts", "bind": "127.0.0.1", "port": $TLS_PORT, "cert": "$CERTS/server.pem", "key": "$CERTS/server.key"},
   {"type": "mqtt", "bind": "127.0.0.1", "port": $PLAIN_PORT},
   {"type": "mqtt", "bind": "127.0.0.1", "port": $PLAIN2_PORT, "namespace": "ns2"}],
 "admin": {"bind": "127.0.0.1", "port": $ADMIN_PORT, "token_file": "$E2E_TMP/btok"},
 "namespace": "ns1", $sni
 "data_dir": "$E2E_TMP/broker", ${ENF_BROKER_KEYS:-}
 "log_level": "debug"}
JSON
  start_bg "$1" "$EG_BIN/egbroker" --config "$E2E_TMP/broker.json"
  started_and_listening "$1" "$ADMIN_PORT" && wait_for_port "$TLS_PORT" 10 &&
    wait_for_port "$PLAIN_PORT" 10 && wait_for_port "$PLAIN2_PORT" 10
}

# enf_start NAME_BROKER NAME_CONTROL [START_FN]: both, retrying with new ports when one was taken.
enf_start() {
  for _ in 1 2 3; do
    enf_ports
    if "${3:-enf_start_broker}" "$1"; then
      enf_start_control "$2" && return 0
      stop_bg "$2"
    fi
    stop_bg "$1"
  done
  bail "cannot start egbroker and egcontrol: $(tail -5 "$E2E_TMP/$1.out") $(tail -5 "$E2E_TMP/$2.out")"
}

api() {
  local m=$1 p=$2 body=${3-} data=()
  BODY_FILE=$E2E_TMP/api.body
  [ -n "$body" ] && data=(--data-binary "$body" -H 'Content-Type: application/json')
  ST=$(curl -sS --max-time 10 -o "$BODY_FILE" -w '%{http_code}' -X "$m" \
    -H "Authorization: Bearer $(cat "$E2E_TMP/tok")" "${data[@]}" "$CP_URL$p" 2>"$E2E_TMP/curl.err")
  [ -n "$ST" ] || ST=000
}

# put WHAT PATH BODY: PUT (or PATCH with METHOD=PATCH) that must succeed; the failure is a not ok.
put() {
  api "${METHOD:-PUT}" "$2" "$3"
  case $ST in
    200 | 201 | 204) return 0 ;;
    *)
      not_ok "REST: ${METHOD:-PUT} $2 ($1)" "status $ST: $(head -c 400 "$BODY_FILE") $(cat "$E2E_TMP/curl.err")"
      return 1
      ;;
  esac
}

# The version of the namespace's snapshot now (GET /namespaces/ns1/snapshot).
ns_version() {
  api GET "/namespaces/$NS/snapshot"
  jq -r .version "$BODY_FILE" 2>/dev/null
}

# wait_insync [SECONDS] [VERSION]: until GET /brokers shows broker b1 InSync with
# appliedVersion = VERSION (default: the namespace's current snapshot version). Sets $SYNC_VERSION.
wait_insync() {
  local secs=${1:-10} want=${2:-$(ns_version)} deadline state
  SYNC_VERSION=$want
  deadline=$(($(date +%s%N) / 1000000 + secs * 1000))
  while :; do
    api GET /brokers
    state=$(jq -r --arg ns "$NS" '.value[] | select(.name=="b1") | .namespaces[] | select(.namespace==$ns) |
      "\(.state) \(.appliedVersion)"' "$BODY_FILE" 2>/dev/null)
    [ "$state" = "InSync $want" ] && return 0
    [ $(($(date +%s%N) / 1000000)) -ge "$deadline" ] && {
      SYNC_ERROR="GET /brokers: $(head -c 600 "$BODY_FILE") (want InSync $want)"
      return 1
    }
    sleep 0.05
  done
}

# check_insync WHAT: a check line for the wait.
check_insync() {
  if wait_insync 10; then ok "egcontrol reports the broker InSync at version $SYNC_VERSION ($1)"
  else not_ok "egcontrol reports the broker InSync ($1)" "$SYNC_ERROR"; fi
}

admin() {
  local m=$1 p=$2
  shift 2
  ADMIN_BODY=$E2E_TMP/admin.body
  AST=$(curl -sS --max-time 10 -o "$ADMIN_BODY" -w '%{http_code}' -X "$m" \
    -H "Authorization: Bearer $(cat "$E2E_TMP/btok")" "$@" "$ADMIN_URL$p" 2>"$E2E_TMP/curl.err")
  [ -n "$AST" ] || AST=000
}

json_str() {
  jq -Rs . <"$1"
}

# enf_open_ns NS: namespace NS (8 sessions per authentication name), its client dev (a Username
# taken at its word on the plain listeners), topic space "all" (t/# and r/#), and bindings
# $all Publisher and Subscriber on it. Returns the number of requests that failed (each one
# also printed as a not ok line).
enf_open_ns() {
  local ns=$1 n=0 perm
  put "$ns" "/namespaces/$ns" '{"properties": {"topicSpacesConfiguration": {"state": "Enabled", "maximumClientSessionsPerAuthenticationName": 8}}}' || n=$((n + 1))
  put "$ns dev" "/namespaces/$ns/clients/dev" '{"properties": {}}' || n=$((n + 1))
  put "$ns space" "/namespaces/$ns/topicSpaces/all" '{"properties": {"topicTemplates": ["t/#", "r/#"]}}' || n=$((n + 1))
  for perm in Publisher Subscriber; do
    put "$ns $perm" "/namespaces/$ns/permissionBindings/all-$perm" \
      "{\"properties\": {\"clientGroupName\": \"\$all\", \"topicSpaceName\": \"all\", \"permission\": \"$perm\"}}" ||
      n=$((n + 1))
  done
  return $n
}

# The resources of the tutorial flow, all through the REST API:
#   namespace ns1: maximumClientSessionsPerAuthenticationName 2, alternative source
#     ClientCertificateSubject
#   CA certificate test-ca (the dev-certs CA)
#   clients device1 (Subject scheme, type=sensor, site=s1), device2 (ThumbprintMatch of
#     device2.pem, type=actuator), device3 (Subject, Disabled), selfie (ThumbprintMatch of the
#     self-signed certificate, given in lower case), dnsdev (authenticationName dnsdev.example.com, Dns scheme),
#     site2 (Subject, type=sensor, site=s2), wild (authenticationName "+", site "#") and wild2
#     (authenticationName "a/b", site "s1/x"): values that must not widen a template
#   client groups sensors (attributes.type = 'sensor'), actuators (attributes.type IN ['actuator'])
#   topic spaces own-telemetry devices/${client.authenticationName}/telemetry/#,
#     all-telemetry devices/+/telemetry/#, alerts alerts/#, sites sites/${client.attributes.site}/#,
#     live live/#, acks acks/${client.authenticationName} and acks/all/+
#   bindings sensors Publisher own-telemetry; $all Subscriber all-telemetry; $all Publisher and
#     Subscriber alerts; $all Publisher and Subscriber sites; $all Subscriber live; actuators
#     Publisher acks
enf_tutorial() {
  local n=0 ca label=${1:-}
  ca=$(json_str "$CERTS/ca.pem")
  put namespace "/namespaces/$NS" '{"properties": {"topicSpacesConfiguration": {"state": "Enabled",
      "maximumClientSessionsPerAuthenticationName": 2,
      "clientAuthentication": {"alternativeAuthenticationNameSources": ["ClientCertificateSubject"]}}}}' || n=$((n + 1))
  put "CA certificate" "/namespaces/$NS/caCertificates/test-ca" "{\"properties\": {\"encodedCertificate\": $ca}}" || n=$((n + 1))
  put device1 "/namespaces/$NS/clients/device1" '{"properties": {"authenticationName": "device1",
      "clientCertificateAuthentication": {"validationScheme": "SubjectMatchesAuthenticationName"},
      "attributes": {"type": "sensor", "site": "s1"}}}' || n=$((n + 1))
  put device2 "/namespaces/$NS/clients/device2" "{\"properties\": {
      \"clientCertificateAuthentication\": {\"validationScheme\": \"ThumbprintMatch\",
        \"allowedThumbprints\": [\"$(thumbprint "$CERTS/device2.pem")\"]},
      \"attributes\": {\"type\": \"actuator\"}}}" || n=$((n + 1))
  put device3 "/namespaces/$NS/clients/device3" '{"properties": {"state": "Disabled",
      "attributes": {"type": "sensor"}}}' || n=$((n + 1))
  put selfie "/namespaces/$NS/clients/selfie" "{\"properties\": {
      \"clientCertificateAuthentication\": {\"validationScheme\": \"ThumbprintMatch\",
        \"allowedThumbprints\": [\"$(thumbprint "$CERTS/selfsigned.pem" | tr A-F a-f)\"]},
      \"attributes\": {\"type\": \"sensor\"}}}" || n=$((n + 1))
  put dnsdev "/namespaces/$NS/clients/dnsdev" '{"properties": {"authenticationName": "dnsdev.example.com",
      "clientCertificateAuthentication": {"validationScheme": "DnsMatchesAuthenticationName"},
      "attributes": {"type": "sensor"}}}' || n=$((n + 1))
  put site2 "/namespaces/$NS/clients/site2" '{"properties": {"attributes": {"type": "sensor", "site": "s2"}}}' || n=$((n + 1))
  # names and attributes that are wildcards or span levels: they must expand to nothing
  put wild "/namespaces/$NS/clients/wild" '{"properties": {"authenticationName": "+", "attributes": {"type": "sensor", "site": "#"}}}' || n=$((n + 1))
  put wild2 "/namespaces/$NS/clients/wild2" '{"properties": {"authenticationName": "a/b", "attributes": {"type": "sensor", "site": "s1/x"}}}' || n=$((n + 1))
  put "group sensors" "/namespaces/$NS/clientGroups/sensors" \
    "{\"properties\": {\"query\": \"attributes.type = 'sensor'\"}}" || n=$((n + 1))
  put "group actuators" "/namespaces/$NS/clientGroups/actuators" \
    "{\"properties\": {\"query\": \"attributes.type IN ['actuator']\"}}" || n=$((n + 1))
  put "topic space own-telemetry" "/namespaces/$NS/topicSpaces/own-telemetry" \
    '{"properties": {"topicTemplates": ["devices/${client.authenticationName}/telemetry/#"]}}' || n=$((n + 1))
  put "topic space all-telemetry" "/namespaces/$NS/topicSpaces/all-telemetry" \
    '{"properties": {"topicTemplates": ["devices/+/telemetry/#"]}}' || n=$((n + 1))
  put "topic space alerts" "/namespaces/$NS/topicSpaces/alerts" '{"properties": {"topicTemplates": ["alerts/#"]}}' || n=$((n + 1))
  put "topic space sites" "/namespaces/$NS/topicSpaces/sites" \
    '{"properties": {"topicTemplates": ["sites/${client.attributes.site}/#"]}}' || n=$((n + 1))
  put "topic space live" "/namespaces/$NS/topicSpaces/live" '{"properties": {"topicTemplates": ["live/#"]}}' || n=$((n + 1))
  put "topic space acks" "/namespaces/$NS/topicSpaces/acks" '{"properties": {"topicTemplates": ["acks/${client.authenticationName}", "acks/all/+"]}}' || n=$((n + 1))
  local b
  for b in "sensors-pub-own:sensors:own-telemetry:Publisher" "all-sub-telemetry:\$all:all-telemetry:Subscriber" \
    "all-pub-alerts:\$all:alerts:Publisher" "all-sub-alerts:\$all:alerts:Subscriber" \
    "all-pub-sites:\$all:sites:Publisher" "all-sub-sites:\$all:sites:Subscriber" "all-sub-live:\$all:live:Subscriber" \
    "actuators-pub-acks:actuators:acks:Publisher"; do
    IFS=: read -r name group space perm <<<"$b"
    put "binding $name" "/namespaces/$NS/permissionBindings/$name" \
      "{\"properties\": {\"clientGroupName\": \"$group\", \"topicSpaceName\": \"$space\", \"permission\": \"$perm\"}}" ||
      n=$((n + 1))
  done
  if [ $n -eq 0 ]; then ok "tutorial flow${label}: namespace, CA certificate, 8 clients, 2 groups, 6 topic spaces, 8 bindings created with curl"
  else not_ok "tutorial flow${label}: every resource created with curl" "$n request(s) failed (see above)"; fi
}

# Environment of the Python and node clients.
enf_export() {
  export EG_TLS_PORT=$TLS_PORT EG_PLAIN_PORT=$PLAIN_PORT EG_CERTS=$CERTS EG_CP_URL=$CP_URL
  export EG_CP_TOKEN_FILE=$E2E_TMP/tok EG_ADMIN_URL=$ADMIN_URL EG_ADMIN_TOKEN_FILE=$E2E_TMP/btok EG_NS=$NS
  export EG_PLAIN2_PORT=$PLAIN2_PORT
}

# run_py NAME SCRIPT [ENV...]: runs a Python driver (bounded); its ok/not ok lines count as
# ours, and a driver that did not reach its '# all cases ran' line is a failure.
run_py() {
  local name=$1 script=$2 pass fail
  shift 2
  env "$@" timeout 240 "$EG_PYTHON" -u "$script" >"$E2E_TMP/$name.py.out" 2>&1
  grep -E '^(ok|not ok|#)' "$E2E_TMP/$name.py.out"
  pass=$(grep -c '^ok ' "$E2E_TMP/$name.py.out")
  fail=$(grep -c '^not ok ' "$E2E_TMP/$name.py.out")
  E2E_PASS=$((E2E_PASS + pass))
  E2E_FAIL=$((E2E_FAIL + fail))
  grep -q '^# all cases ran' "$E2E_TMP/$name.py.out" ||
    not_ok "$name: Python cases ran to the end" "$(tail -20 "$E2E_TMP/$name.py.out")"
}
