#!/usr/bin/env bash
# End-to-end: egctl against real egcontrol instances (free ports, temporary databases and
# tokens). Every verb of every resource with table and -o json output (parsed back), --file
# bodies, API errors (412, 404, 409, 400 with code/message/target), usage errors (exit 2),
# egcontrol down, paging past 100 clients, apply/export round trips between two egcontrols,
# --prune, cert create-ca/issue/thumbprint checked with the openssl command and accepted by
# egbroker in a TLS connection, status, and endpoint/token resolution from flags, environment,
# ~/.config/egctl/config and var/control.token.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
. tests/e2e/lib.sh
e2e_init

EGCTL=$ROOT/$EG_BIN/egctl
[[ $EG_BIN == /* ]] && EGCTL=$EG_BIN/egctl
EGCONTROL=$(dirname "$EGCTL")/egcontrol
BROKER=$(dirname "$EGCTL")/egbroker
for b in "$EGCTL" "$EGCONTROL" "$BROKER"; do [ -x "$b" ] || bail "$b not built (make test-binaries)"; done
command -v mosquitto_pub >/dev/null || bail "mosquitto_pub missing (mosquitto-clients)"
T=$E2E_TMP

# ---- two egcontrol instances; A also knows a broker that is down (for status)
DOWN_PORT=$(free_port)
cat >"$T/a.json" <<JSON
{"brokers": [{"name": "down", "url": "http://127.0.0.1:$DOWN_PORT", "token": "down-token"}],
 "push": {"initialBackoffMs": 50, "maxBackoffMs": 500, "coalesceMs": 10, "timeoutMs": 1000}}
JSON
echo '{}' >"$T/b.json"
# start_control NAME: egcontrol on a free port (another one if the port is taken meanwhile);
# sets URL_NAME and TOKEN_NAME (the token file).
start_control() {
  local name=$1 p
  printf 'egctl-test-%s-%s%s-0123456789\n' "$name" "$RANDOM" "$RANDOM" >"$T/$name.token"
  chmod 600 "$T/$name.token"
  for _ in 1 2 3; do
    p=$(free_port)
    start_bg "control_$name" "$EGCONTROL" --config "$T/$name.json" --listen "127.0.0.1:$p" --db "$T/$name.db" \
      --token-file "$T/$name.token"
    if started_and_listening "control_$name" "$p"; then
      printf -v "URL_$name" '%s' "http://127.0.0.1:$p"
      printf -v "TOKEN_$name" '%s' "$T/$name.token"
      return 0
    fi
    stop_bg "control_$name"
  done
  bail "egcontrol $name did not start: $(tail -5 "$T/control_$name.out")"
}
start_control a
start_control b

# ---- helpers
# run CMD...: runs it with stdout in $OUT/$T/out, stderr in $ERR, exit status in $RC. A
# sanitizer report in stderr is a failure of its own.
run() {
  LAST="$*"
  "$@" >"$T/out" 2>"$T/err"
  RC=$?
  OUT=$(cat "$T/out")
  ERR=$(cat "$T/err")
  if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' "$T/err"; then
    not_ok "no sanitizer report: ${LAST:0:200}" "$(head -30 "$T/err")"
  fi
}
ega() { "$EGCTL" --endpoint "$URL_a" --token-file "$TOKEN_a" "$@"; }
egb() { "$EGCTL" --endpoint "$URL_b" --token-file "$TOKEN_b" "$@"; }
fail_detail() { printf '%s\n' "command: ${LAST:0:300}" "exit $RC" "stdout: ${OUT:0:1500}" "stderr: ${ERR:0:1500}"; }
# pyok EXPR: a Python expression over d (the last stdout as JSON) holds.
pyok() {
  "$EG_PYTHON" -c 'import json, sys
d = json.load(open(sys.argv[2]))
sys.exit(0 if eval(sys.argv[1]) else 1)' "$1" "$T/out" 2>>"$T/pyerr"
}
# want NAME RC [PYEXPR]: the last command exited RC and (if given) its JSON output satisfies PYEXPR.
want() {
  if [ "$RC" = "$2" ] && { [ $# -lt 3 ] || pyok "$3"; }; then ok "$1"; else
    not_ok "$1" "$(fail_detail)" "${3:+check: $3}" "$(tail -3 "$T/pyerr" 2>/dev/null)"
  fi
}
# want_out NAME RC REGEX / want_err NAME RC REGEX: exit status and a line of stdout / stderr.
want_out() {
  if [ "$RC" = "$2" ] && grep -qE -- "$3" "$T/out"; then ok "$1"; else not_ok "$1" "$(fail_detail)" "want stdout /$3/"; fi
}
want_err() {
  if [ "$RC" = "$2" ] && grep -qE -- "$3" "$T/err"; then ok "$1"; else not_ok "$1" "$(fail_detail)" "want stderr /$3/"; fi
}
# want_usage NAME: exit 2, a one-line "egctl: ..." error, then the command's usage, on stderr only.
want_usage() {
  if [ "$RC" = 2 ] && [ -z "$OUT" ] && head -1 "$T/err" | grep -q '^egctl: ' && sed -n 2p "$T/err" | grep -q '^usage: egctl '; then
    ok "$1"
  else not_ok "$1" "$(fail_detail)"; fi
}

# ---- help
run "$EGCTL" --help
want_out "egctl --help: exit 0, lists every resource and command" 0 'permission-binding'
for w in namespace ca-certificate client client-group topic-space apply export 'cert create-ca' status EGCTL_ENDPOINT; do
  grep -q -- "$w" "$T/out" || not_ok "egctl --help mentions $w" "$OUT"
done
run "$EGCTL" client --help
want_out "egctl client --help: every verb and property flag" 0 'egctl client delete -n NS NAME'
for w in create update show list '--auth-name' '--validation-scheme' '--thumbprint' '--state' '--attribute' '--description' '--file'; do
  grep -q -- "$w" "$T/out" || not_ok "egctl client --help mentions $w" "$OUT"
done
run "$EGCTL" namespace create --help
want_out "egctl namespace create --help: the namespace flags" 0 '--max-sessions-per-auth-name'
run "$EGCTL" cert --help
want_out "egctl cert --help: the three sub-commands" 0 'cert thumbprint'

# ---- certificates (also used below)
PKI=$T/pki
run "$EGCTL" cert create-ca --out "$PKI" --subject "egctl test CA"
want_out "cert create-ca: ca.pem and ca.key" 0 'thumbprint +[0-9A-F]{64}$'
run "$EGCTL" -o json cert issue --ca "$PKI/ca.pem" --ca-key "$PKI/ca.key" --subject device1 --dns device1.example \
  --ip 10.0.0.7 --ip ::1 --uri spiffe://egctl/device1 --email device1@example.com --out "$PKI"
want "cert issue -o json: device1.pem, device1.key and the thumbprint" 0 \
  'd["certificate"].endswith("/device1.pem") and d["key"].endswith("/device1.key") and len(d["thumbprint"]) == 64'
ISSUE_TP=$("$EG_PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["thumbprint"])' "$T/out")
run "$EGCTL" cert issue --ca "$PKI/ca.pem" --ca-key "$PKI/ca.key" --subject localhost --dns localhost \
  --ip 127.0.0.1 --server --name server --out "$PKI"
want "cert issue --server --name server" 0
run "$EGCTL" cert issue --ca "$PKI/ca.pem" --ca-key "$PKI/ca.key" --subject device2 --out "$PKI"
want "cert issue device2" 0
run "$EGCTL" cert issue --ca "$PKI/ca.pem" --ca-key "$PKI/ca.key" --subject device2 --out "$PKI"
want_err "cert issue refuses to overwrite without --force (exit 1)" 1 'exists \(--force'
run "$EGCTL" cert thumbprint "$PKI/device1.pem"
want_tp=$(openssl x509 -in "$PKI/device1.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g')
if [ "$RC" = 0 ] && [ "$OUT" = "$want_tp" ] && [ "$OUT" = "$ISSUE_TP" ]; then
  ok "cert thumbprint = openssl x509 -fingerprint -sha256 (upper-case hex, no colons) = issue's"
else not_ok "cert thumbprint = openssl x509 -fingerprint -sha256" "openssl: $want_tp, issue: $ISSUE_TP" "$(fail_detail)"; fi
DEVICE1_TP=$OUT
run "$EGCTL" cert thumbprint "$PKI/device2.pem"
DEVICE2_TP=$OUT
if openssl verify -CAfile "$PKI/ca.pem" -purpose sslclient "$PKI/device1.pem" >/dev/null 2>&1 &&
  openssl verify -CAfile "$PKI/ca.pem" -purpose sslserver "$PKI/server.pem" >/dev/null 2>&1 &&
  ! openssl verify -CAfile "$PKI/ca.pem" -purpose sslserver "$PKI/device1.pem" >/dev/null 2>&1; then
  ok "openssl verify: the client certificate chains for clientAuth, the server one for serverAuth"
else not_ok "openssl verify of egctl's certificates" "$(openssl verify -CAfile "$PKI/ca.pem" "$PKI/device1.pem" 2>&1)"; fi
text=$(openssl x509 -in "$PKI/device1.pem" -noout -text)
days=$("$EG_PYTHON" - "$PKI/device1.pem" <<'EOF'
import subprocess, sys, datetime
out = subprocess.run(["openssl", "x509", "-in", sys.argv[1], "-noout", "-startdate", "-enddate"],
                     capture_output=True, text=True).stdout.split("\n")
f = lambda s: datetime.datetime.strptime(s.split("=", 1)[1], "%b %d %H:%M:%S %Y GMT")
print(round((f(out[1]) - f(out[0])).total_seconds() / 86400))
EOF
)
if grep -q 'Subject: CN *= *device1' <<<"$text" && grep -q 'ASN1 OID: prime256v1' <<<"$text" &&
  grep -q 'TLS Web Client Authentication' <<<"$text" && grep -q 'CA:FALSE' <<<"$text" &&
  grep -q 'DNS:device1.example, IP Address:10.0.0.7, IP Address:0:0:0:0:0:0:0:1, URI:spiffe://egctl/device1, email:device1@example.com' <<<"$text" &&
  [ "$days" = 825 ] && [ "$(stat -c %a "$PKI/device1.key")" = 600 ]; then
  ok "issued certificate: CN, EC P-256, clientAuth, CA:FALSE, every SAN, 825 days, key mode 0600"
else not_ok "issued certificate contents" "days=$days" "$text"; fi
serial1=$(openssl x509 -in "$PKI/device1.pem" -noout -serial)
serial2=$(openssl x509 -in "$PKI/device2.pem" -noout -serial)
if [ "$serial1" != "$serial2" ] && [ ${#serial1} -gt 30 ]; then ok "serials are random (and differ)"; else
  not_ok "serials are random" "$serial1 $serial2"; fi
run "$EGCTL" cert issue --ca "$PKI/ca.pem" --ca-key "$PKI/ca.key" --subject x --ip 300.1.1.1 --out "$PKI"
want_usage "cert issue --ip 300.1.1.1: usage error"
run "$EGCTL" cert issue --ca "$PKI/ca.pem" --ca-key "$PKI/server.key" --subject x --out "$PKI"
want_err "cert issue with a key that is not the CA's: exit 1" 1 'is not the key of'

# ---- egbroker (open mode) over TLS with egctl's certificates
TLS_PORT=$(free_port)
cat >"$T/broker.json" <<JSON
{"listeners": [{"type": "mqtts", "bind": "127.0.0.1", "port": $TLS_PORT, "cert": "$PKI/server.pem", "key": "$PKI/server.key"}],
 "log_level": "debug", "data_dir": "$T/broker-data"}
JSON
start_bg broker "$BROKER" --config "$T/broker.json"
if started_and_listening broker "$TLS_PORT"; then
  TLS=(-h localhost -p "$TLS_PORT" --cafile "$PKI/ca.pem")
  timeout 10 mosquitto_sub "${TLS[@]}" --cert "$PKI/device2.pem" --key "$PKI/device2.key" -t egctl/tls -C 1 -W 8 \
    >"$T/sub.out" 2>&1 &
  sp=$!
  sleep 0.5
  timeout 10 mosquitto_pub "${TLS[@]}" --cert "$PKI/device1.pem" --key "$PKI/device1.key" -i device1 -t egctl/tls \
    -m hello-tls -q 1 >"$T/pub.out" 2>&1
  wait $sp
  if [ "$(cat "$T/sub.out")" = hello-tls ]; then
    ok "egbroker serves egctl's server certificate; egctl-issued clients publish and receive over TLS"
  else not_ok "TLS with egctl's certificates" "sub: $(cat "$T/sub.out")" "pub: $(cat "$T/pub.out")" "$(tail -5 "$T/broker.out")"; fi
  if grep -q "cert_thumbprint=$DEVICE1_TP cert_cn=\"device1\"" "$T/broker.out"; then
    ok "the broker sees the client certificate's thumbprint exactly as egctl cert thumbprint prints it"
  else not_ok "broker thumbprint = egctl thumbprint" "want $DEVICE1_TP" "$(grep connected "$T/broker.out" | tail -3)"; fi
  stop_broker_checked broker "egbroker"
else
  not_ok "egbroker started with egctl's server certificate" "$(tail -5 "$T/broker.out")"
fi

# ---- namespace: every verb
run ega namespace create ns1 --state Enabled --max-session-expiry-hours 2 --max-sessions-per-auth-name 3 \
  --alt-auth-source ClientCertificateSubject --alt-auth-source ClientCertificateDns --throughput-units 2 \
  --location here --tag env=test
want_out "namespace create with every flag" 0 '^namespace "ns1" created$'
run ega -o json namespace show ns1
want "namespace show -o json: every flag reached its property" 0 \
  '(p := d["properties"]["topicSpacesConfiguration"])["state"] == "Enabled" and p["maximumSessionExpiryInHours"] == 2 and p["maximumClientSessionsPerAuthenticationName"] == 3 and p["clientAuthentication"]["alternativeAuthenticationNameSources"] == ["ClientCertificateSubject", "ClientCertificateDns"] and d["sku"] == {"name": "Standard", "capacity": 2} and d["location"] == "here" and d["tags"] == {"env": "test"}'
run ega namespace update ns1 --max-session-expiry-hours 4 --alt-auth-source ''
run ega -o json namespace show ns1
want "namespace update: the flags given change, the rest stays" 0 \
  '(p := d["properties"]["topicSpacesConfiguration"])["maximumSessionExpiryInHours"] == 4 and p["maximumClientSessionsPerAuthenticationName"] == 3 and p["clientAuthentication"]["alternativeAuthenticationNameSources"] == [] and d["sku"]["capacity"] == 2'
run ega namespace show ns1
want_out "namespace show (table): an indented tree of the fields" 0 '^    maximumSessionExpiryInHours: 4$'
grep -q '^  topicSpacesConfiguration:$' "$T/out" || not_ok "namespace show nests topicSpacesConfiguration" "$OUT"
run ega namespace create ns-gone
run ega namespace list
want_out "namespace list (table): header and rows" 0 '^NAME +STATE +HOSTNAME +MAX-EXPIRY-HOURS +MAX-SESSIONS +ALT-AUTH-SOURCES +TU$'
grep -qE '^ns1 +Enabled +ns1\.localhost +4 +3 +2$' "$T/out" || not_ok "namespace list row of ns1" "$OUT"
run ega -o json namespace list
want "namespace list -o json: an array of both" 0 'sorted(x["name"] for x in d) == ["ns-gone", "ns1"]'
run ega namespace delete ns-gone
want_out "namespace delete" 0 '^namespace "ns-gone" deleted$'
run ega namespace show ns-gone
want_err "namespace show of a deleted namespace: 404 with the server's message" 1 '^egctl: 404 NotFound: '

# ---- ca-certificate
run ega ca-certificate create -n ns1 test-ca --certificate "$PKI/ca.pem" --description "the test CA"
want_out "ca-certificate create --certificate FILE.pem" 0 'CA certificate "test-ca" created'
run ega -o json ca-certificate show -n ns1 test-ca
want "ca-certificate show -o json: the PEM as sent, issue and expiry times" 0 \
  "d['properties']['encodedCertificate'] == open('$PKI/ca.pem').read() and d['properties']['expiryTimeInUtc'] > d['properties']['issueTimeInUtc'] and d['properties']['description'] == 'the test CA'"
run ega ca-certificate update -n ns1 test-ca --description changed
run ega ca-certificate list -n ns1
want_out "ca-certificate update, list (table)" 0 '^test-ca +20[0-9-]+T[0-9:.]+Z +20[0-9-]+T[0-9:.]+Z +changed$'
run ega ca-certificate create -n ns1 bad-ca --certificate "$PKI/device1.key"
want_err "ca-certificate create with a key file: 400 InvalidCertificate shown" 1 '^egctl: 400 InvalidCertificate: .*\(target properties.encodedCertificate\)$'

# ---- client
run ega client create -n ns1 dev1 --auth-name dev1-auth --attribute type=sensor --attribute floor=3 \
  --attribute 'rooms=[a, b]' --attribute 'code="007"' --attribute zip=01234 --description "first device"
want_out "client create with attributes" 0 '^client "dev1" created$'
run ega -o json client show -n ns1 dev1
want "client show -o json: integers, arrays of strings and quoted strings typed right" 0 \
  'd["properties"]["attributes"] == {"type": "sensor", "floor": 3, "rooms": ["a", "b"], "code": "007", "zip": "01234"} and d["properties"]["authenticationName"] == "dev1-auth" and d["properties"]["description"] == "first device"'
run ega client create -n ns1 dev2 --thumbprint "$DEVICE2_TP" --thumbprint "$(echo "$DEVICE1_TP" | tr A-F a-f)"
run ega -o json client show -n ns1 dev2
want "client create --thumbprint: ThumbprintMatch implied, thumbprints stored upper-case" 0 \
  "d['properties']['clientCertificateAuthentication'] == {'validationScheme': 'ThumbprintMatch', 'allowedThumbprints': ['$DEVICE2_TP', '$DEVICE1_TP']}"
run ega client update -n ns1 dev1 --attribute floor=4 --remove-attribute rooms --state Disabled
want_out "client update" 0 '^client "dev1" updated$'
run ega -o json client show -n ns1 dev1
want "client update: a merge (floor changed, rooms removed, the rest kept)" 0 \
  'd["properties"]["attributes"] == {"type": "sensor", "floor": 4, "code": "007", "zip": "01234"} and d["properties"]["state"] == "Disabled" and d["properties"]["description"] == "first device"'
run ega client update -n ns1 dev1 --validation-scheme DnsMatchesAuthenticationName
run ega client list -n ns1
want_out "client list (table): NAME AUTH-NAME SCHEME STATE ATTRIBUTES" 0 '^NAME +AUTH-NAME +SCHEME +STATE +ATTRIBUTES$'
grep -qE '^dev1 +dev1-auth +DnsMatchesAuthenticationName +Disabled +type=sensor,floor=4,code=007,zip=01234$' "$T/out" ||
  not_ok "client list row of dev1" "$OUT"
grep -qE '^dev2 +dev2 +ThumbprintMatch +Enabled$' "$T/out" || not_ok "client list row of dev2" "$OUT"
cat >"$T/client.json" <<'JSON'
{"name": "dev3", "properties": {"state": "Disabled", "attributes": {"a": 1}, "description": "from the file"}}
JSON
run ega client create -n ns1 --file "$T/client.json" --state Enabled --attribute b=x
run ega -o json client show -n ns1 dev3
want "client create --file: name from the file, flags override and merge" 0 \
  '(p := d["properties"])["state"] == "Enabled" and p["attributes"] == {"a": 1, "b": "x"} and p["description"] == "from the file"'
echo '{"properties": {"description": "patched from stdin"}}' >"$T/patch.json"
run ega client update -n ns1 dev3 -f - <"$T/patch.json"
run ega -o json client show -n ns1 dev3
want "client update --file - (a merge patch on stdin)" 0 'd["properties"]["description"] == "patched from stdin" and d["properties"]["attributes"] == {"a": 1, "b": "x"}'
run ega -o json client list -n ns1
want "client list -o json" 0 '[x["name"] for x in d] == ["dev1", "dev2", "dev3"]'
run ega client delete -n ns1 dev3
want_out "client delete" 0 '^client "dev3" deleted$'
run ega client show -n ns1 dev3
want_err "client show of a missing client: 404 NotFound and the server's message" 1 '^egctl: 404 NotFound: .*dev3'
run ega client create -n ns1 dev1
want_err "client create of an existing client: exit 1 with the 412" 1 '^egctl: 412 PreconditionFailed: '
run ega client create -n ns1 dev9 --thumbprint 1234
want_err "client create with a bad thumbprint: 400 InvalidThumbprint with its target" 1 '^egctl: 400 InvalidThumbprint: .*\(target properties\.clientCertificateAuthentication\.allowedThumbprints\[0\]\)$'
run ega client create -n ns1 dev9 --auth-name DEV1-AUTH
want_err "client create with a taken authentication name: 409" 1 '^egctl: 409 AuthenticationNameInUse: '

# ---- client-group
run ega client-group create -n ns1 sensors --query "attributes.type = 'sensor'" --description "the sensors"
want_out "client-group create" 0 '^client group "sensors" created$'
run ega client-group update -n ns1 sensors --query "attributes.type IN ['sensor', 'gateway'] AND attributes.floor <= 3"
run ega -o json client-group show -n ns1 sensors
want "client-group update/show -o json" 0 \
  'd["properties"]["query"] == "attributes.type IN [\x27sensor\x27, \x27gateway\x27] AND attributes.floor <= 3" and d["properties"]["description"] == "the sensors"'
run ega client-group list -n ns1
want_out "client-group list (table): \$all and sensors" 0 '^sensors +attributes\.type IN'
grep -qE '^\$all +Every client' "$T/out" || not_ok "client-group list shows \$all" "$OUT"
run ega client-group create -n ns1 broken --query "attributes.x = "
want_err "client-group with a query that does not parse: 400 InvalidQuery, message and target" 1 \
  "^egctl: 400 InvalidQuery: properties\.query does not parse: .* \(target properties\.query\)$"
run ega client-group create -n ns1 tmp-group --query "attributes.a = 1"
run ega client-group delete -n ns1 tmp-group
want_out "client-group delete" 0 'client group "tmp-group" deleted'

# ---- topic-space
run ega topic-space create -n ns1 telemetry --template 'devices/${client.authenticationName}/telemetry/#' --template 'x/+'
want_out "topic-space create with two templates" 0 'topic space "telemetry" created'
run ega topic-space update -n ns1 telemetry --template 'devices/+/telemetry/#' --description "all telemetry"
run ega -o json topic-space show -n ns1 telemetry
want "topic-space update: --template replaces the list" 0 'd["properties"]["topicTemplates"] == ["devices/+/telemetry/#"] and d["properties"]["description"] == "all telemetry"'
run ega topic-space list -n ns1
want_out "topic-space list (table)" 0 '^telemetry +devices/\+/telemetry/# +all telemetry$'
run ega topic-space create -n ns1 bad-space --template 'a/#/b'
want_err "topic-space with a bad template: 400 InvalidTopicTemplate with target" 1 '^egctl: 400 InvalidTopicTemplate: .*\(target properties\.topicTemplates\[0\]\)$'
run ega topic-space create -n ns1 tmp-space --template t/1
run ega topic-space delete -n ns1 tmp-space
want_out "topic-space delete" 0 'topic space "tmp-space" deleted'

# ---- permission-binding
run ega permission-binding create -n ns1 sensors-pub --client-group sensors --topic-space telemetry --permission Publisher
want_out "permission-binding create" 0 'permission binding "sensors-pub" created'
run ega permission-binding update -n ns1 sensors-pub --permission Subscriber --description "read telemetry"
run ega -o json permission-binding show -n ns1 sensors-pub
want "permission-binding update/show -o json" 0 \
  'all(d["properties"][k] == v for k, v in {"clientGroupName": "sensors", "topicSpaceName": "telemetry", "permission": "Subscriber", "description": "read telemetry"}.items())'
run ega permission-binding list -n ns1
want_out "permission-binding list (table)" 0 '^sensors-pub +sensors +telemetry +Subscriber$'
run ega permission-binding create -n ns1 dangling --client-group nope --topic-space telemetry --permission Publisher
want_err "permission-binding naming a missing group: 400 ReferenceNotFound" 1 '^egctl: 400 ReferenceNotFound: '
run ega topic-space delete -n ns1 telemetry
want_err "deleting a topic space a binding uses: 409 ResourceInUse with the server's message" 1 \
  '^egctl: 409 ResourceInUse: .*telemetry.*sensors-pub'
run ega permission-binding create -n ns1 tmp-binding --client-group '$all' --topic-space telemetry --permission Publisher
run ega permission-binding delete -n ns1 tmp-binding
want_out "permission-binding delete" 0 'permission binding "tmp-binding" deleted'
run ega namespace create ns2 --max-session-expiry-hours 99
want_err "namespace with an out-of-range property: 400 InvalidProperty with target" 1 \
  '^egctl: 400 InvalidProperty: .*\(target properties\.topicSpacesConfiguration\.maximumSessionExpiryInHours\)$'

# ---- usage errors: exit 2, one line, then the usage
run ega client create -n ns1 x --bogus
want_usage "unknown flag: exit 2, the error and the usage"
run ega client list
want_usage "missing --namespace: exit 2"
run ega client show -n ns1
want_usage "missing NAME: exit 2"
run ega client show -n ns1 a b
want_usage "extra argument: exit 2"
run ega client frobnicate
want_usage "unknown verb: exit 2"
run ega gadget list
want_usage "unknown resource: exit 2"
run ega namespace update ns1 --max-session-expiry-hours two
want_usage "non-integer value for an integer flag: exit 2"
run ega client create -n ns1 x --attribute novalue
want_usage "--attribute without =: exit 2"
run ega client update -n ns1 dev1
want_usage "update with nothing to change: exit 2"
run ega -o yaml namespace list
want_err "unknown output format: exit 2" 2 'unknown output format'
run ega client create -n ns1 x --description
want_usage "flag without its value: exit 2"
run "$EGCTL"
want_usage "no command: exit 2"

# ---- egcontrol down, token refused
run "$EGCTL" --endpoint "http://127.0.0.1:$DOWN_PORT" --token x namespace list
want_err "egcontrol down: exit 1, 'cannot reach egcontrol at URL'" 1 "^egctl: cannot reach egcontrol at http://127.0.0.1:$DOWN_PORT: "
run "$EGCTL" --endpoint "$URL_a" --token wrong namespace list
want_err "wrong token: exit 1 with the 401" 1 '^egctl: 401 Unauthorized: '

# ---- paging: 130 clients through one apply (FILE form), listed across two pages
"$EG_PYTHON" - "$T/many.json" <<'EOF'
import json, sys
doc = {"name": "many", "properties": {},
       "clients": [{"name": "c%03d" % i, "properties": {"attributes": {"n": i}}} for i in range(130)]}
json.dump(doc, open(sys.argv[1], "w"))
EOF
pages() { curl -s -H "Authorization: Bearer $(cat "$TOKEN_a")" "$URL_a/metrics" |
  sed -n 's|^egcontrol_http_requests_total{method="GET",route="/namespaces/{ns}/clients",status="200"} ||p'; }
run ega apply -f "$T/many.json"
want_out "apply -f FILE with 130 clients" 0 '^client "c129" created$'
before=$(pages)
run ega -o json client list -n many
after=$(pages)
want "client list -o json across pages: all 130 in order" 0 '[x["name"] for x in d] == ["c%03d" % i for i in range(130)]'
if [ $((${after:-0} - ${before:-0})) = 2 ]; then ok "client list followed nextLink (2 GETs of 100 + 30)"; else
  not_ok "client list followed nextLink" "GETs: ${before:-?} -> ${after:-?}"; fi
run ega client list -n many
if [ "$RC" = 0 ] && [ "$(grep -c '^c[0-9][0-9][0-9] ' "$T/out")" = 130 ]; then ok "client list (table): 130 rows"; else
  not_ok "client list (table): 130 rows" "$(fail_detail)"; fi

# ---- apply / export round trip
DEMO=$T/demo
cp -r examples/demo "$DEMO"
"$EG_PYTHON" - "$DEMO" "$PKI/ca.pem" "$DEVICE2_TP" <<'EOF'
import json, sys
d, ca, tp = sys.argv[1:]
for f, ph, val in [("caCertificates/dev-ca.json", "@CA_PEM@", open(ca).read()),
                   ("clients/device2.json", "@DEVICE2_THUMBPRINT@", tp)]:
    p = d + "/" + f
    s = open(p).read().replace('"' + ph + '"', json.dumps(val))
    open(p, "w").write(s)
EOF
run ega apply -f "$DEMO"
want_out "apply -f DIR (examples/demo): namespace named after the directory" 0 '^namespace "demo" created$'
head -1 "$T/out" | grep -q '^namespace "demo" created$' && sed -n 2p "$T/out" | grep -q '^CA certificate ' &&
  tail -1 "$T/out" | grep -q '^permission binding ' || not_ok "apply order: namespace, CA certificates, ..., bindings" "$OUT"
run ega -o json apply -f "$DEMO"
want "apply again: idempotent, every resource 'configured'" 0 'len(d) == 12 and all(x["result"] == "configured" for x in d)'
run ega -o json client-group show -n demo sensors
want "applied resources are there" 0 'd["properties"]["query"] == "attributes.type = \x27sensor\x27"'
# everything of a namespace as GET shows it, minus ids and timestamps
snapshot_of() { # egctl-function namespace outfile
  local eg=$1 ns=$2 out=$3 k
  {
    $eg -o json namespace show "$ns"
    for k in ca-certificate client client-group topic-space permission-binding; do $eg -o json "$k" list -n "$ns"; done
  } >"$T/raw.json" 2>"$T/raw.err" || { cat "$T/raw.err"; return 1; }
  "$EG_PYTHON" - "$T/raw.json" "$ns" >"$out" <<'EOF'
import json, sys
text, ns = open(sys.argv[1]).read(), sys.argv[2]
dec, docs, i = json.JSONDecoder(), [], 0
while i < len(text):
    if text[i].isspace():
        i += 1
        continue
    doc, i = dec.raw_decode(text, i)
    docs.append(doc)
def strip(r):
    r = dict(r)
    r.pop("id", None); r.pop("systemData", None)
    if r.get("type") == "Microsoft.EventGrid/namespaces":
        r.pop("name", None)
        r["properties"]["topicSpacesConfiguration"].pop("hostname", None)
    return r
out = [strip(docs[0])] + [[strip(r) for r in lst] for lst in docs[1:]]
print(json.dumps(out, indent=1, sort_keys=True))
EOF
}
run ega export demo -d "$T/export1"
want_out "export -d DIR" 0 '^namespace "demo" exported to '
if [ -f "$T/export1/namespace.json" ] && [ -f "$T/export1/clients/device2.json" ] &&
  [ -f "$T/export1/permissionBindings/sensors-publish-own-telemetry.json" ] && [ ! -e "$T/export1/clientGroups/\$all.json" ] &&
  "$EG_PYTHON" - "$T/export1" <<'EOF' &&
import glob, json, sys
for f in glob.glob(sys.argv[1] + "/**/*.json", recursive=True):
    d = json.load(open(f))
    p = d.get("properties", {})
    bad = {"id", "type", "systemData"} & d.keys() or {"provisioningState", "issueTimeInUtc", "expiryTimeInUtc"} & p.keys() \
        or "hostname" in p.get("topicSpacesConfiguration", {})
    if bad:
        sys.exit(f + ": read-only field left")
EOF
  ! grep -q '"name"' "$T/export1/clients/device1.json" && grep -q '"name": "demo"' "$T/export1/namespace.json"; then
  ok "export layout: examples/demo's, read-only fields and \$all left out"
else not_ok "export layout" "$(find "$T/export1" -type f | sort)" "$(cat "$T/export1/clients/device1.json" 2>&1)"; fi
run ega export demo -d "$T/export1"
want_err "export into a non-empty directory without --force: exit 1" 1 'is not empty'
run egb apply -f "$T/export1"
want_out "apply the export to another egcontrol" 0 '^namespace "demo" created$'
snapshot_of ega demo "$T/a-demo.json" && snapshot_of egb demo "$T/b-demo.json"
if cmp -s "$T/a-demo.json" "$T/b-demo.json" && [ "$(wc -c <"$T/a-demo.json")" -gt 1000 ]; then
  ok "exported and applied elsewhere: identical (GET outputs minus ids and timestamps)"
else not_ok "export/apply round trip identical" "$(diff "$T/a-demo.json" "$T/b-demo.json" | head -30)"; fi
run egb export demo -d "$T/export2"
if diff -r "$T/export1" "$T/export2" >"$T/diff" 2>&1; then ok "export of the copy: byte-identical files"; else
  not_ok "export of the copy: byte-identical files" "$(head -20 "$T/diff")"; fi
# the single-document form, applied under another name
run ega export ns1
want "export to stdout: one JSON document with every collection" 0 \
  'd["name"] == "ns1" and [c["name"] for c in d["clients"]] == ["dev1", "dev2"] and [g["name"] for g in d["clientGroups"]] == ["sensors"] and "systemData" not in d["clients"][0] and len(d["caCertificates"]) == 1 and len(d["permissionBindings"]) == 1'
cp "$T/out" "$T/ns1.json"
run egb apply -f - -n ns1-copy <"$T/ns1.json"
want_out "apply -f - -n NS: the document under another name" 0 '^namespace "ns1-copy" created$'
snapshot_of ega ns1 "$T/a-ns1.json" && snapshot_of egb ns1-copy "$T/b-ns1.json"
if cmp -s "$T/a-ns1.json" "$T/b-ns1.json"; then ok "single-document export applied elsewhere: identical"; else
  not_ok "single-document round trip identical" "$(diff "$T/a-ns1.json" "$T/b-ns1.json" | head -30)"; fi
# --prune
run egb client create -n demo extra-client
run egb topic-space create -n demo extra-space --template extra/#
run egb permission-binding create -n demo extra-binding --client-group '$all' --topic-space extra-space --permission Publisher
run egb apply -f "$T/export1" --prune
want_out "apply --prune deletes what the definition lacks (bindings first)" 0 '^permission binding "extra-binding" deleted$'
grep -q '^topic space "extra-space" deleted$' "$T/out" && grep -q '^client "extra-client" deleted$' "$T/out" ||
  not_ok "apply --prune deleted the topic space and the client" "$OUT"
snapshot_of egb demo "$T/b-demo2.json"
cmp -s "$T/a-demo.json" "$T/b-demo2.json" || not_ok "after --prune the copy is identical again" "$(diff "$T/a-demo.json" "$T/b-demo2.json" | head)"
run ega export demo -d "$T/export1" --force
want "export --force rewrites the directory" 0
# apply errors: the failing resource is named
mkdir -p "$T/broken/topicSpaces"
echo '{}' >"$T/broken/namespace.json"
echo '{"properties": {"topicTemplates": ["a/#/b"]}}' >"$T/broken/topicSpaces/bad.json"
run ega apply -f "$T/broken"
want_err "apply stops at an invalid resource with the API error and the file" 1 "stopped at topic space \"bad\" from .*topicSpaces/bad.json"
grep -q '^egctl: 400 InvalidTopicTemplate' "$T/err" || not_ok "apply shows the API error" "$ERR"
echo '{not json' >"$T/broken/topicSpaces/bad.json"
run ega apply -f "$T/broken"
want_err "apply with a file that is not JSON: exit 1, file and position" 1 'bad.json:1:'

# ---- status
run ega status
seq=$(curl -s "$URL_a/healthz" | "$EG_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["changeSequence"])')
want_out "status (table): health and change sequence" 0 "^egcontrol $URL_a: ok, change sequence $seq$"
grep -qE '^down +http://127.0.0.1:[0-9]+ +demo ' "$T/out" || not_ok "status lists the broker per namespace" "$OUT"
run ega -o json status
want "status -o json: status, changeSequence and each broker's versions" 0 \
  "d['status'] == 'ok' and d['changeSequence'] == $seq and d['brokers'][0]['name'] == 'down' and any(n['namespace'] == 'demo' and n['desiredVersion'] > 0 and n['state'] in ('Failing', 'Pending') for n in d['brokers'][0]['namespaces'])"
run egb status
want_out "status with no brokers configured" 0 '^no brokers configured$'

# ---- endpoint and token resolution
HOMEDIR=$T/home
mkdir -p "$HOMEDIR/.config/egctl"
printf '# egctl test\nendpoint = %s\ntoken_file = %s\n' "$URL_a" "$TOKEN_a" >"$HOMEDIR/.config/egctl/config"
run env -u EGCTL_ENDPOINT -u EGCTL_TOKEN -u EGCTL_TOKEN_FILE HOME="$HOMEDIR" "$EGCTL" -o json namespace list
want "config file: endpoint and token_file" 0 '"ns1" in [x["name"] for x in d]'
printf 'endpoint=http://127.0.0.1:%s\ntoken=%s\noutput=json\n' "$DOWN_PORT" "$(cat "$TOKEN_b")" >"$HOMEDIR/.config/egctl/config"
run env -u EGCTL_TOKEN -u EGCTL_TOKEN_FILE HOME="$HOMEDIR" EGCTL_ENDPOINT="$URL_b" "$EGCTL" namespace list
want "EGCTL_ENDPOINT overrides the config file; token and output from the file" 0 '"ns1-copy" in [x["name"] for x in d]'
run env HOME="$HOMEDIR" EGCTL_ENDPOINT="$URL_a" EGCTL_TOKEN="$(cat "$TOKEN_a")" "$EGCTL" namespace list
want "EGCTL_ENDPOINT and EGCTL_TOKEN" 0 '"many" in [x["name"] for x in d]'
run env HOME="$HOMEDIR" EGCTL_ENDPOINT="http://127.0.0.1:$DOWN_PORT" EGCTL_TOKEN=wrong "$EGCTL" \
  --endpoint "$URL_a" --token "$(cat "$TOKEN_a")" -o table namespace list
want_out "flags override the environment and the config file" 0 '^many +Enabled'
run env HOME="$HOMEDIR" EGCTL_ENDPOINT="http://127.0.0.1:$DOWN_PORT" "$EGCTL" namespace list
want_err "the endpoint in the error is the one resolved" 1 "cannot reach egcontrol at http://127.0.0.1:$DOWN_PORT"
printf 'endpoint=%s\nbogus=1\n' "$URL_a" >"$HOMEDIR/.config/egctl/config"
run env -u EGCTL_ENDPOINT HOME="$HOMEDIR" "$EGCTL" namespace list
want_err "a config file with an unknown key: exit 1 naming file and line" 1 'config:2: unknown key'
# default token file var/control.token (relative to the working directory)
rm "$HOMEDIR/.config/egctl/config"
mkdir -p "$T/cwd/var"
cp "$TOKEN_a" "$T/cwd/var/control.token"
run env -u EGCTL_TOKEN -u EGCTL_TOKEN_FILE HOME="$HOMEDIR" EGCTL_ENDPOINT="$URL_a" sh -c 'cd "$1" && "$2" -o json namespace list' sh "$T/cwd" "$EGCTL"
want "default token file var/control.token" 0 '"ns1" in [x["name"] for x in d]'
run env -u EGCTL_TOKEN -u EGCTL_TOKEN_FILE HOME="$HOMEDIR" EGCTL_ENDPOINT="$URL_a" sh -c 'cd "$1" && "$2" namespace list' sh "$T" "$EGCTL"
want_err "no token anywhere: 401 and a hint" 1 'no token found'

stop_broker_checked control_a "egcontrol a"
stop_broker_checked control_b "egcontrol b"
e2e_finish
