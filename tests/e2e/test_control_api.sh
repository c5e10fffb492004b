#!/usr/bin/env bash
# End-to-end: egcontrol's REST API driven with curl (api/README.md): authentication, CRUD of
# every resource kind with its response shape and defaults, the built-in $all group, ETags with
# If-Match / If-None-Match, list shape, routes and methods, /healthz and /metrics, token file
# generation, and the refusal to listen beyond loopback without TLS.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/control/cp_lib.sh
e2e_init
cp_setup
cp_start cp --db "$E2E_TMP/control.db"

ISO='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$'

# ---------------------------------------------------------------- authentication
st=$(curl -sS -o "$CP_BODY" -D "$CP_HDRS" -w '%{http_code}' "$CP_URL/namespaces"); ST=$st
if expect "no token: 401 Unauthorized with a JSON error" 401 error.code=Unauthorized error.message:string; then :; fi
if hdr WWW-Authenticate | grep -q '^Bearer'; then ok "no token: WWW-Authenticate: Bearer"
else not_ok "no token: WWW-Authenticate: Bearer" "headers: $(cat "$CP_HDRS")"; fi
ST=$(curl -sS -o "$CP_BODY" -D "$CP_HDRS" -w '%{http_code}' -H "Authorization: Bearer wrong-token-0123456789" "$CP_URL/namespaces")
expect "wrong token: 401 Unauthorized" 401 error.code=Unauthorized
if hdr WWW-Authenticate | grep -q '^Bearer'; then ok "wrong token: WWW-Authenticate: Bearer"
else not_ok "wrong token: WWW-Authenticate: Bearer" "headers: $(cat "$CP_HDRS")"; fi
ST=$(curl -sS -o "$CP_BODY" -D "$CP_HDRS" -w '%{http_code}' -H "Authorization: Bearer ${CP_TOKEN%?}" "$CP_URL/namespaces")
expect "token missing its last character: 401" 401 error.code=Unauthorized
ST=$(curl -sS -o "$CP_BODY" -D "$CP_HDRS" -w '%{http_code}' -H "Authorization: Bearer ${CP_TOKEN}x" "$CP_URL/namespaces")
expect "token with an extra character: 401" 401 error.code=Unauthorized
ST=$(curl -sS -o "$CP_BODY" -D "$CP_HDRS" -w '%{http_code}' -H "Authorization: Basic $CP_TOKEN" "$CP_URL/namespaces")
expect "the token under the Basic scheme: 401" 401 error.code=Unauthorized
ST=$(curl -sS -o "$CP_BODY" -D "$CP_HDRS" -w '%{http_code}' -X PUT --data-binary '{}' "$CP_URL/namespaces/noauth")
expect "PUT without a token: 401, nothing created" 401 error.code=Unauthorized
ST=$(curl -sS -o "$CP_BODY" -D "$CP_HDRS" -w '%{http_code}' "$CP_URL/metrics")
expect "/metrics without a token: 401" 401
ST=$(curl -sS -o "$CP_BODY" -D "$CP_HDRS" -w '%{http_code}' "$CP_URL/healthz")
expect "/healthz without a token: 200 {status: ok, changeSequence: 0}" 200 status=ok changeSequence=0
api GET /namespaces/noauth
expect "the namespace PUT without a token does not exist" 404 error.code=NotFound
api GET '/namespaces?api-version=2023-12-15-preview'
expect "api-version query parameter accepted and ignored; empty list" 200 'value=[]' nextLink=\<absent\>

# ---------------------------------------------------------------- namespaces
api PUT /namespaces/ns1 '{}'
expect "namespace PUT {} creates: 201, id/name/type, Succeeded" 201 id=/namespaces/ns1 name=ns1 \
  type=Microsoft.EventGrid/namespaces properties.provisioningState=Succeeded \
  "systemData.createdAt~$ISO" "systemData.lastModifiedAt~$ISO"
expect "namespace defaults: Enabled, session expiry 1 h, 1 session per name, no alt sources, hostname ns1.localhost" 201 \
  properties.topicSpacesConfiguration.state=Enabled properties.topicSpacesConfiguration.maximumSessionExpiryInHours=1 \
  properties.topicSpacesConfiguration.maximumClientSessionsPerAuthenticationName=1 \
  'properties.topicSpacesConfiguration.clientAuthentication.alternativeAuthenticationNameSources=[]' \
  properties.topicSpacesConfiguration.hostname=ns1.localhost
etag1=$(hdr ETag)
created=$(jget systemData.createdAt)
if [[ $etag1 =~ ^\"[0-9]+\"$ ]]; then ok "namespace PUT returns an ETag (a quoted number): $etag1"
else not_ok "namespace PUT returns an ETag (a quoted number)" "ETag: '$etag1'"; fi
sleep 0.01
api PUT /namespaces/ns1 '{"location": "westeurope", "tags": {"env": "test", "team": "iot"},
  "properties": {"topicSpacesConfiguration": {"maximumSessionExpiryInHours": 4, "state": "Disabled",
  "clientAuthentication": {"alternativeAuthenticationNameSources": ["ClientCertificateDns", "ClientCertificateEmail"]}}}}'
expect "namespace PUT again replaces: 200 with the new values" 200 properties.topicSpacesConfiguration.maximumSessionExpiryInHours=4 \
  properties.topicSpacesConfiguration.state=Disabled location=westeurope tags.env=test \
  'properties.topicSpacesConfiguration.clientAuthentication.alternativeAuthenticationNameSources=["ClientCertificateDns","ClientCertificateEmail"]' \
  properties.topicSpacesConfiguration.maximumClientSessionsPerAuthenticationName=1
etag2=$(hdr ETag)
expect "namespace replace keeps createdAt" 200 "systemData.createdAt=$created"
lm=$(jget systemData.lastModifiedAt)
if [ -n "$etag2" ] && [ "$etag2" != "$etag1" ] && [[ "$lm" > "$created" || "$lm" == "$created" ]]; then
  ok "namespace replace: new ETag, lastModifiedAt >= createdAt"
else not_ok "namespace replace: new ETag, lastModifiedAt >= createdAt" "etags $etag1 -> $etag2, created $created, modified $lm"; fi
api GET /namespaces/ns1
expect "namespace GET: 200 with the stored values" 200 id=/namespaces/ns1 properties.topicSpacesConfiguration.maximumSessionExpiryInHours=4 \
  properties.topicSpacesConfiguration.hostname=ns1.localhost properties.provisioningState=Succeeded
if [ "$(hdr ETag)" = "$etag2" ]; then ok "namespace GET: same ETag as the PUT"; else not_ok "namespace GET: same ETag as the PUT" "GET $(hdr ETag), PUT $etag2"; fi
cp "$CP_BODY" "$E2E_TMP/ns1.json"
api PUT /namespaces/ns1 "@$E2E_TMP/ns1.json"
expect "a GET result sent back as is (read-only id, type, systemData, hostname, provisioningState): 200" 200 \
  properties.topicSpacesConfiguration.maximumSessionExpiryInHours=4 name=ns1
api PATCH /namespaces/ns1 '{"properties": {"topicSpacesConfiguration": {"maximumClientSessionsPerAuthenticationName": 5}}}'
expect "namespace PATCH changes one nested field and keeps the others" 200 \
  properties.topicSpacesConfiguration.maximumClientSessionsPerAuthenticationName=5 \
  properties.topicSpacesConfiguration.maximumSessionExpiryInHours=4 properties.topicSpacesConfiguration.state=Disabled \
  location=westeurope tags.team=iot
api PATCH /namespaces/ns1 '{"tags": {"env": null}}'
expect "namespace PATCH {tags: {env: null}} removes one tag, keeps the other" 200 tags.env=\<absent\> tags.team=iot
api PATCH /namespaces/ns1 '{"tags": null, "location": null}'
expect "namespace PATCH null removes optional tags and location" 200 tags=\<absent\> location=\<absent\> \
  properties.topicSpacesConfiguration.maximumSessionExpiryInHours=4
api PATCH /namespaces/ns1 '{"sku": {"name": "Standard", "capacity": 3}}'
expect "namespace PATCH adds sku {Standard, 3}" 200 sku.name=Standard sku.capacity=3
api PUT /namespaces/ns1 '{"properties": {"topicSpacesConfiguration": {"maximumSessionExpiryInHours": 4, "maximumClientSessionsPerAuthenticationName": 5, "state": "Disabled"}}, "tags": {"team": "iot"}}'
expect "namespace PUT without sku replaces: sku gone, the rest as given" 200 sku=\<absent\> tags.team=iot \
  properties.topicSpacesConfiguration.maximumClientSessionsPerAuthenticationName=5
api PATCH /namespaces/ns1 '{"id": "/namespaces/other", "type": "Other/type", "properties": {"provisioningState": "Failed", "topicSpacesConfiguration": {"hostname": "evil.example"}}}'
expect "namespace PATCH with read-only id, type, provisioningState, hostname: ignored" 200 id=/namespaces/ns1 \
  type=Microsoft.EventGrid/namespaces properties.provisioningState=Succeeded properties.topicSpacesConfiguration.hostname=ns1.localhost
api PATCH /namespaces/ns1 '{"name": "ns9"}'
expect_err "namespace PATCH with another name in the body: 400" 400 InvalidProperty name
api PATCH /namespaces/absent1 '{}'
expect_err "PATCH of an absent namespace: 404 NotFound" 404 NotFound
api GET /namespaces/absent1
expect_err "GET of an absent namespace: 404 NotFound" 404 NotFound
api PUT /namespaces/ns2 '{"properties": {"topicSpacesConfiguration": {"state": "Enabled"}}}'
expect "second namespace created" 201 properties.topicSpacesConfiguration.hostname=ns2.localhost
api GET /namespaces
expect "namespace list: value sorted by name, items in resource shape, no nextLink" 200 'value#=2' value[0].name=ns1 \
  value[1].name=ns2 value[0].id=/namespaces/ns1 value[1].type=Microsoft.EventGrid/namespaces \
  value[1].properties.provisioningState=Succeeded nextLink=\<absent\>

# ---------------------------------------------------------------- built-in $all
api GET '/namespaces/ns2/clientGroups'
expect "a new namespace lists the built-in \$all client group" 200 'value#=1' 'value[0].name=$all' \
  'value[0].id=/namespaces/ns2/clientGroups/$all' value[0].type=Microsoft.EventGrid/namespaces/clientGroups
api GET '/namespaces/ns2/clientGroups/$all'
expect "GET \$all: 200" 200 'name=$all' properties.provisioningState=Succeeded
api PUT '/namespaces/ns2/clientGroups/$all' '{"properties": {"query": "attributes.a = 1"}}'
expect_err "PUT \$all: 400 ReadOnlyResource" 400 ReadOnlyResource
api PATCH '/namespaces/ns2/clientGroups/$all' '{"properties": {"description": "x"}}'
expect_err "PATCH \$all: 400 ReadOnlyResource" 400 ReadOnlyResource
api DELETE '/namespaces/ns2/clientGroups/$all'
expect_err "DELETE \$all: 400 ReadOnlyResource" 400 ReadOnlyResource
api GET '/namespaces/ns2/clientGroups/$all'
expect "\$all still there after the refused writes" 200 'name=$all'

# ---------------------------------------------------------------- clients
api PUT /namespaces/ns1/clients/device1 '{}'
expect "client PUT {} creates: 201, resource shape" 201 id=/namespaces/ns1/clients/device1 name=device1 \
  type=Microsoft.EventGrid/namespaces/clients properties.provisioningState=Succeeded "systemData.createdAt~$ISO"
expect "client defaults: authenticationName = name, Enabled, SubjectMatchesAuthenticationName" 201 \
  properties.authenticationName=device1 properties.state=Enabled \
  properties.clientCertificateAuthentication.validationScheme=SubjectMatchesAuthenticationName
cet1=$(hdr ETag)
api PUT /namespaces/ns1/clients/device1 '{"properties": {"description": "first sensor", "state": "Enabled",
  "attributes": {"type": "sensor", "floor": 3, "tags": ["a", "b"]}}}'
expect "client PUT again: 200 replace with description and attributes (string, integer, array)" 200 \
  "properties.description=first sensor" properties.attributes.type=sensor properties.attributes.floor=3 \
  'properties.attributes.tags=["a","b"]' properties.authenticationName=device1
cet2=$(hdr ETag)
[ -n "$cet2" ] && [ "$cet2" != "$cet1" ] && ok "client replace changes the ETag" || not_ok "client replace changes the ETag" "$cet1 -> $cet2"
api PATCH /namespaces/ns1/clients/device1 '{"properties": {"state": "Disabled"}}'
expect "client PATCH state: changes state, keeps description and attributes" 200 properties.state=Disabled \
  "properties.description=first sensor" properties.attributes.floor=3 properties.authenticationName=device1
api PATCH /namespaces/ns1/clients/device1 '{"properties": {"attributes": {"floor": 4, "type": null, "room": "r1"}}}'
expect "client PATCH attributes merges: changes floor, removes type (null), adds room, keeps tags" 200 \
  properties.attributes.floor=4 properties.attributes.type=\<absent\> properties.attributes.room=r1 'properties.attributes.tags=["a","b"]'
api PATCH /namespaces/ns1/clients/device1 '{"properties": {"description": null}}'
expect "client PATCH description: null removes it" 200 properties.description=\<absent\> properties.state=Disabled
api PUT /namespaces/ns1/clients/tmp-c '{"properties": {"attributes": {"a": "b"}}}'
api PATCH /namespaces/ns1/clients/tmp-c '{"properties": {"attributes": null}}'
expect "client PATCH attributes: null removes them all" 200 'properties.attributes~^(<absent>|\{\})$'
api DELETE /namespaces/ns1/clients/tmp-c
api GET /namespaces/ns1/clients/device1
expect "client GET after the PATCHes" 200 properties.description=\<absent\> properties.state=Disabled properties.attributes.room=r1
api PUT /namespaces/ns1/clients/device1 '{"properties": {"attributes": {"type": "gw"}}}'
expect "client PUT replaces the whole resource: description gone, state back to Enabled, attributes replaced" 200 \
  properties.state=Enabled properties.description=\<absent\> 'properties.attributes={"type":"gw"}'
tp_lower=$(printf 'a%.0s' $(seq 64))
tp2=0123456789abcdef0123456789abcdef0123456789abcdef0123456789ABCDEF
api PUT /namespaces/ns1/clients/dev-2:a.b_c "{\"properties\": {\"authenticationName\": \"Device-Two\",
  \"clientCertificateAuthentication\": {\"validationScheme\": \"ThumbprintMatch\", \"allowedThumbprints\": [\"$tp_lower\", \"$tp2\"]}}}"
tpu=$(tr a-f A-F <<<"$tp_lower"); tp2u=$(tr a-f A-F <<<"$tp2")
expect "client named with : . _ -, explicit authenticationName, ThumbprintMatch: thumbprints stored upper-case" 201 \
  name=dev-2:a.b_c properties.authenticationName=Device-Two \
  properties.clientCertificateAuthentication.validationScheme=ThumbprintMatch \
  "properties.clientCertificateAuthentication.allowedThumbprints=[\"$tpu\",\"$tp2u\"]"
for scheme in DnsMatchesAuthenticationName UriMatchesAuthenticationName IpMatchesAuthenticationName EmailMatchesAuthenticationName; do
  api PUT "/namespaces/ns1/clients/c-$scheme" "{\"properties\": {\"clientCertificateAuthentication\": {\"validationScheme\": \"$scheme\"}}}"
  expect "client with validationScheme $scheme: 201" 201 "properties.clientCertificateAuthentication.validationScheme=$scheme"
done
api GET /namespaces/ns1/clients
expect "client list: sorted by name, resource shape" 200 'value#=6' value[0].name=c-DnsMatchesAuthenticationName \
  value[5].name=device1 value[4].name=dev-2:a.b_c value[5].type=Microsoft.EventGrid/namespaces/clients nextLink=\<absent\>
api DELETE /namespaces/ns1/clients/device1
expect "client DELETE: 204" 204
if [ ! -s "$CP_BODY" ]; then ok "204 has no body"; else not_ok "204 has no body" "$(head -c 200 "$CP_BODY")"; fi
api GET /namespaces/ns1/clients/device1
expect_err "client GET after DELETE: 404 NotFound" 404 NotFound
api DELETE /namespaces/ns1/clients/device1
expect_err "client DELETE again: 404 NotFound" 404 NotFound
api PATCH /namespaces/ns1/clients/device1 '{"properties": {"state": "Enabled"}}'
expect_err "client PATCH of an absent client: 404" 404 NotFound
api PUT /namespaces/ns1/clients/device1 '{}'
expect "client PUT after DELETE creates again: 201" 201 properties.authenticationName=device1

# ---------------------------------------------------------------- client groups
api PUT /namespaces/ns1/clientGroups/sensors '{"properties": {"query": "attributes.type IN [\"sensor\", \"gateway\"] AND attributes.floor <= 3", "description": "sensors"}}'
expect "client group PUT: 201, query and description, resource shape" 201 id=/namespaces/ns1/clientGroups/sensors \
  type=Microsoft.EventGrid/namespaces/clientGroups 'properties.query~^attributes.type IN' properties.description=sensors \
  properties.provisioningState=Succeeded "systemData.lastModifiedAt~$ISO"
api PUT /namespaces/ns1/clientGroups/sensors '{"properties": {"query": "attributes.type = '"'"'sensor'"'"'"}}'
expect "client group PUT again: 200, description gone" 200 "properties.query=attributes.type = 'sensor'" properties.description=\<absent\>
api PATCH /namespaces/ns1/clientGroups/sensors '{"properties": {"description": "all sensors"}}'
expect "client group PATCH description keeps the query" 200 "properties.query=attributes.type = 'sensor'" "properties.description=all sensors"
api PATCH /namespaces/ns1/clientGroups/sensors '{"properties": {"description": null}}'
expect "client group PATCH description null removes it" 200 properties.description=\<absent\> "properties.query=attributes.type = 'sensor'"
api PUT /namespaces/ns1/clientGroups/everyone-else '{"properties": {"query": "NOT (authenticationName = \"x\" OR attributes.floor > 2) AND attributes.k NOT IN [\"a\"] AND attributes.z <> \"q\" AND attributes.y != \"r\" AND attributes.f >= 1 AND attributes.g < 9"}}'
expect "client group with NOT, OR, parentheses, NOT IN, <>, !=, >=, <: 201" 201 name=everyone-else
api GET /namespaces/ns1/clientGroups/sensors
expect "client group GET" 200 name=sensors "properties.query=attributes.type = 'sensor'"
api GET /namespaces/ns1/clientGroups
expect "client group list: \$all first, then by name" 200 'value#=3' 'value[0].name=$all' value[1].name=everyone-else value[2].name=sensors
api DELETE /namespaces/ns1/clientGroups/everyone-else
expect "client group DELETE: 204" 204
api GET /namespaces/ns1/clientGroups/everyone-else
expect_err "client group GET after DELETE: 404" 404 NotFound
api DELETE /namespaces/ns1/clientGroups/everyone-else
expect_err "client group DELETE again: 404" 404 NotFound
api PATCH /namespaces/ns1/clientGroups/everyone-else '{"properties": {"description": "x"}}'
expect_err "client group PATCH of an absent group: 404" 404 NotFound

# ---------------------------------------------------------------- topic spaces
api PUT /namespaces/ns1/topicSpaces/telemetry '{"properties": {"topicTemplates": ["devices/${client.authenticationName}/telemetry/#", "floors/${client.attributes.floor}/+", "all/x-${client.authenticationName}-y"], "description": "telemetry"}}'
expect "topic space PUT: 201 with templates (variables as a level and part of one)" 201 \
  id=/namespaces/ns1/topicSpaces/telemetry type=Microsoft.EventGrid/namespaces/topicSpaces 'properties.topicTemplates#=3' \
  'properties.topicTemplates[0]=devices/${client.authenticationName}/telemetry/#' properties.description=telemetry \
  properties.provisioningState=Succeeded
api PUT /namespaces/ns1/topicSpaces/telemetry '{"properties": {"topicTemplates": ["devices/+/telemetry"]}}'
expect "topic space PUT again: 200, templates replaced, description gone" 200 'properties.topicTemplates=["devices/+/telemetry"]' \
  properties.description=\<absent\>
api PATCH /namespaces/ns1/topicSpaces/telemetry '{"properties": {"description": "d"}}'
expect "topic space PATCH description keeps templates" 200 'properties.topicTemplates=["devices/+/telemetry"]' properties.description=d
api PATCH /namespaces/ns1/topicSpaces/telemetry '{"properties": {"topicTemplates": ["a/#", "b/+"]}}'
expect "topic space PATCH replaces the templates array (merge patch replaces arrays)" 200 'properties.topicTemplates=["a/#","b/+"]' properties.description=d
api PUT /namespaces/ns1/topicSpaces/alerts '{"properties": {"topicTemplates": ["alerts/#"]}}'
expect "second topic space" 201 name=alerts
api GET /namespaces/ns1/topicSpaces
expect "topic space list sorted" 200 'value#=2' value[0].name=alerts value[1].name=telemetry
api PUT /namespaces/ns1/topicSpaces/scratch '{"properties": {"topicTemplates": ["s/#"]}}'
api DELETE /namespaces/ns1/topicSpaces/scratch
expect "topic space DELETE: 204" 204
api GET /namespaces/ns1/topicSpaces/scratch
expect_err "topic space GET after DELETE: 404" 404 NotFound
api DELETE /namespaces/ns1/topicSpaces/scratch
expect_err "topic space DELETE again: 404" 404 NotFound
api PATCH /namespaces/ns1/topicSpaces/scratch '{"properties": {"description": "x"}}'
expect_err "topic space PATCH of an absent one: 404" 404 NotFound

# ---------------------------------------------------------------- permission bindings
api PUT /namespaces/ns1/permissionBindings/sensors-pub '{"properties": {"clientGroupName": "sensors", "topicSpaceName": "telemetry", "permission": "Publisher", "description": "d"}}'
expect "permission binding PUT: 201" 201 id=/namespaces/ns1/permissionBindings/sensors-pub \
  type=Microsoft.EventGrid/namespaces/permissionBindings properties.clientGroupName=sensors properties.topicSpaceName=telemetry \
  properties.permission=Publisher properties.description=d properties.provisioningState=Succeeded
api PUT /namespaces/ns1/permissionBindings/sensors-pub '{"properties": {"clientGroupName": "sensors", "topicSpaceName": "alerts", "permission": "Subscriber"}}'
expect "permission binding PUT again: 200 replaced" 200 properties.topicSpaceName=alerts properties.permission=Subscriber properties.description=\<absent\>
api PATCH /namespaces/ns1/permissionBindings/sensors-pub '{"properties": {"permission": "Publisher"}}'
expect "permission binding PATCH permission keeps the rest" 200 properties.permission=Publisher properties.topicSpaceName=alerts properties.clientGroupName=sensors
api PUT '/namespaces/ns1/permissionBindings/all-sub' '{"properties": {"clientGroupName": "$all", "topicSpaceName": "telemetry", "permission": "Subscriber"}}'
expect "permission binding to \$all: 201" 201 'properties.clientGroupName=$all'
api GET /namespaces/ns1/permissionBindings
expect "permission binding list sorted" 200 'value#=2' value[0].name=all-sub value[1].name=sensors-pub
api GET /namespaces/ns1/permissionBindings/all-sub
expect "permission binding GET" 200 properties.permission=Subscriber
api DELETE /namespaces/ns1/permissionBindings/all-sub
expect "permission binding DELETE 204" 204
api GET /namespaces/ns1/permissionBindings/all-sub
expect_err "permission binding GET after DELETE: 404" 404 NotFound
api DELETE /namespaces/ns1/permissionBindings/all-sub
expect_err "permission binding DELETE again: 404" 404 NotFound
api PATCH /namespaces/ns1/permissionBindings/all-sub '{"properties": {"permission": "Publisher"}}'
expect_err "permission binding PATCH of an absent one: 404" 404 NotFound

# ---------------------------------------------------------------- CA certificates
cacert "$E2E_TMP/ca1.pem" "e2e test CA" 30
pem=$(pem_json "$E2E_TMP/ca1.pem")
want_times=$("$EG_PYTHON" - "$E2E_TMP/ca1.pem" <<'PY'
import subprocess, sys, datetime
out = subprocess.run(["openssl", "x509", "-in", sys.argv[1], "-noout", "-startdate", "-enddate"], capture_output=True, text=True).stdout
d = dict(l.split("=", 1) for l in out.split("\n") if "=" in l)
fmt = lambda s: datetime.datetime.strptime(s.strip(), "%b %d %H:%M:%S %Y %Z").strftime("%Y-%m-%dT%H:%M:%S")
print(fmt(d["notBefore"]), fmt(d["notAfter"]))
PY
)
read -r nb na <<<"$want_times"
api PUT /namespaces/ns1/caCertificates/dev-ca "{\"properties\": {\"encodedCertificate\": $pem, \"description\": \"test CA\"}}"
expect "CA certificate PUT: 201 with issueTimeInUtc/expiryTimeInUtc from the certificate" 201 \
  id=/namespaces/ns1/caCertificates/dev-ca type=Microsoft.EventGrid/namespaces/caCertificates \
  "properties.issueTimeInUtc~^$nb" "properties.expiryTimeInUtc~^$na" 'properties.encodedCertificate~BEGIN CERTIFICATE' \
  "properties.description=test CA" properties.provisioningState=Succeeded
cacert "$E2E_TMP/ca2.pem" "e2e second CA" 400
pem2=$(pem_json "$E2E_TMP/ca2.pem")
api PUT /namespaces/ns1/caCertificates/dev-ca "{\"properties\": {\"encodedCertificate\": $pem2}}"
na2=$(openssl x509 -in "$E2E_TMP/ca2.pem" -noout -enddate | cut -d= -f2)
na2=$("$EG_PYTHON" -c 'import datetime,sys; print(datetime.datetime.strptime(sys.argv[1], "%b %d %H:%M:%S %Y %Z").strftime("%Y-%m-%dT%H:%M:%S"))' "$na2")
expect "CA certificate PUT again with another certificate: 200, new expiry time, description gone" 200 \
  "properties.expiryTimeInUtc~^$na2" properties.description=\<absent\>
api PATCH /namespaces/ns1/caCertificates/dev-ca '{"properties": {"description": "rotated", "expiryTimeInUtc": "2000-01-01T00:00:00Z"}}'
expect "CA certificate PATCH description keeps the certificate; read-only expiryTimeInUtc ignored" 200 \
  properties.description=rotated "properties.expiryTimeInUtc~^$na2"
api GET /namespaces/ns1/caCertificates/dev-ca
expect "CA certificate GET" 200 "properties.issueTimeInUtc~$ISO" "properties.expiryTimeInUtc~$ISO" properties.description=rotated
api GET /namespaces/ns1/caCertificates
expect "CA certificate list" 200 'value#=1' value[0].name=dev-ca
api DELETE /namespaces/ns1/caCertificates/dev-ca
expect "CA certificate DELETE: 204" 204
api GET /namespaces/ns1/caCertificates/dev-ca
expect_err "CA certificate GET after DELETE: 404" 404 NotFound
api DELETE /namespaces/ns1/caCertificates/dev-ca
expect_err "CA certificate DELETE again: 404" 404 NotFound
api PATCH /namespaces/ns1/caCertificates/dev-ca '{"properties": {"description": "x"}}'
expect_err "CA certificate PATCH of an absent one: 404" 404 NotFound

# ---------------------------------------------------------------- ETags
api PUT /namespaces/ns1/clients/etag-c '{}'
e0=$(hdr ETag)
api PUT /namespaces/ns1/clients/etag-c '{"properties": {"description": "v2"}}' -H "If-Match: $e0"
expect "PUT with If-Match = the current ETag: 200" 200 properties.description=v2
e1=$(hdr ETag)
api PUT /namespaces/ns1/clients/etag-c '{"properties": {"description": "v3"}}' -H "If-Match: $e0"
expect_err "PUT with a stale If-Match: 412 PreconditionFailed" 412 PreconditionFailed
api GET /namespaces/ns1/clients/etag-c
expect "the stale PUT changed nothing" 200 properties.description=v2
[ "$(hdr ETag)" = "$e1" ] && ok "ETag unchanged by the refused write" || not_ok "ETag unchanged by the refused write" "$(hdr ETag) vs $e1"
api PATCH /namespaces/ns1/clients/etag-c '{"properties": {"description": "p"}}' -H "If-Match: $e0"
expect_err "PATCH with a stale If-Match: 412" 412 PreconditionFailed
api PATCH /namespaces/ns1/clients/etag-c '{"properties": {"description": "p"}}' -H "If-Match: $e1"
expect "PATCH with the current If-Match: 200" 200 properties.description=p
e2=$(hdr ETag)
api PUT /namespaces/ns1/clients/etag-c '{}' -H 'If-Match: *'
expect "PUT with If-Match: * on an existing resource: 200" 200
e3=$(hdr ETag)
api PUT /namespaces/ns1/clients/etag-c '{}' -H 'If-None-Match: *'
expect_err "PUT with If-None-Match: * on an existing resource: 412" 412 PreconditionFailed
api PUT /namespaces/ns1/clients/etag-new '{}' -H 'If-None-Match: *'
expect "PUT with If-None-Match: * on a new resource: 201" 201 name=etag-new
api PUT /namespaces/ns1/clients/etag-missing '{}' -H "If-Match: $e3"
expect_err "PUT with If-Match on a missing resource: 412" 412 PreconditionFailed
api PUT /namespaces/ns1/clients/etag-missing '{}' -H 'If-Match: *'
expect_err "PUT with If-Match: * on a missing resource: 412" 412 PreconditionFailed
api GET /namespaces/ns1/clients/etag-missing
expect_err "... and the resource was not created" 404 NotFound
api DELETE /namespaces/ns1/clients/etag-c '' -H "If-Match: $e2"
expect_err "DELETE with a stale If-Match: 412" 412 PreconditionFailed
api PATCH /namespaces/ns1/clients/etag-missing '{}' -H "If-Match: $e3"
expect_err "PATCH with If-Match on a missing resource: 412" 412 PreconditionFailed
api DELETE /namespaces/ns1/clients/etag-missing '' -H 'If-Match: *'
expect_err "DELETE with If-Match: * on a missing resource: 412" 412 PreconditionFailed
api DELETE /namespaces/ns1/clients/etag-c '' -H "If-Match: $e3"
expect "DELETE with the current If-Match: 204" 204
api GET /namespaces/ns2
ens=$(hdr ETag)
api PUT /namespaces/ns2 '{}' -H "If-Match: \"999999\""
expect_err "namespace PUT with a wrong If-Match: 412" 412 PreconditionFailed
api PUT /namespaces/ns2 '{}' -H "If-Match: $ens"
expect "namespace PUT with the current If-Match: 200" 200
api PUT /namespaces/ns2 '{}' -H 'If-None-Match: *'
expect_err "namespace PUT with If-None-Match: * on an existing one: 412" 412 PreconditionFailed
api DELETE /namespaces/ns2 '' -H "If-Match: $ens"
expect_err "namespace DELETE with a stale If-Match: 412, nothing deleted" 412 PreconditionFailed
api GET /healthz
hs1=$(jget changeSequence)
api PUT /namespaces/ns2/clients/x '{}' -H 'If-Match: "1"'
api PUT /namespaces/ns2 '{"properties": {"topicSpacesConfiguration": {"state": "Wrong"}}}'
api GET /healthz
expect "refused writes (412, 400) do not take a change sequence number" 200 "changeSequence=$hs1"

# ---------------------------------------------------------------- routes, methods, lists
api GET /namespaces/nope/clients
expect_err "list under a missing namespace: 404" 404 NotFound
api PUT /namespaces/nope/clients/c1 '{}'
expect_err "PUT under a missing namespace: 404" 404 NotFound
api GET /namespaces/nope/clients/c1
expect_err "GET under a missing namespace: 404" 404 NotFound
api GET /namespaces/nope/snapshot
expect_err "snapshot of a missing namespace: 404" 404 NotFound
api GET /nothing/here
expect_err "unknown route: 404 NotFound" 404 NotFound
api GET /namespaces/ns1/widgets
expect_err "unknown collection: 404 NotFound" 404 NotFound
api GET /namespaces/ns1/clients/device1/extra
expect_err "path too deep: 404 NotFound" 404 NotFound
check_405() { # NAME METHOD PATH ALLOW_MUST_CONTAIN...
  local name=$1 m=$2 p=$3 allow
  shift 3
  api "$m" "$p" '{}'
  allow=$(hdr Allow)
  local miss=""
  for w in "$@"; do grep -qw "$w" <<<"$allow" || miss+=" $w"; done
  if [ "$ST" = 405 ] && [ -z "$miss" ] && jc "$CP_BODY" error.code=MethodNotAllowed; then ok "$name"
  else not_ok "$name" "status $ST, Allow '$allow' (missing:$miss)" "$(head -c 300 "$CP_BODY")"; fi
}
check_405 "POST on a resource: 405 MethodNotAllowed, Allow lists PUT PATCH GET DELETE" POST /namespaces/ns1/clients/device1 PUT PATCH GET DELETE
check_405 "POST on a namespace: 405 with Allow" POST /namespaces/ns1 PUT PATCH GET DELETE
check_405 "PUT on a collection: 405 with Allow: GET" PUT /namespaces/ns1/clients GET
check_405 "DELETE on /namespaces: 405 with Allow: GET" DELETE /namespaces GET
check_405 "POST /healthz: 405 with Allow: GET" POST /healthz GET
check_405 "PUT /namespaces/{ns}/snapshot: 405 with Allow: GET" PUT /namespaces/ns1/snapshot GET
check_405 "DELETE /brokers: 405 with Allow: GET" DELETE /brokers GET
api GET /brokers
expect "GET /brokers without brokers configured: {value: []}" 200 'value=[]'

# ---------------------------------------------------------------- namespace delete cascades
api DELETE /namespaces/ns1
expect "namespace DELETE (with clients, groups, topic spaces, a binding): 204" 204
api GET /namespaces/ns1
expect_err "namespace GET after DELETE: 404" 404 NotFound
api GET /namespaces/ns1/clients
expect_err "its clients are gone with it (404 on the list)" 404 NotFound
api DELETE /namespaces/ns1
expect_err "namespace DELETE again: 404" 404 NotFound
api PUT /namespaces/ns1 '{}'
expect "namespace created again under the same name: 201" 201
api GET /namespaces/ns1/clients
expect "... with no clients left from before" 200 'value=[]'
api GET /namespaces/ns1/clientGroups
expect "... and only \$all as client group" 200 'value#=1' 'value[0].name=$all'

# ---------------------------------------------------------------- healthz and metrics
api GET /healthz
seq=$(jget changeSequence)
api PUT /namespaces/ns2/clients/seq-c '{}'
seqc_bytes=$(wc -c <"$CP_BODY")
api GET /healthz
seq2=$(jget changeSequence)
if [[ $seq =~ ^[0-9]+$ ]] && [ "$seq2" = $((seq + 1)) ]; then ok "/healthz changeSequence grows by one per write ($seq -> $seq2)"
else not_ok "/healthz changeSequence grows by one per write" "$seq -> $seq2"; fi
api GET /metrics
m=$(cat "$CP_BODY")
if hdr Content-Type | grep -q '^text/plain'; then ok "/metrics is served as text/plain"
else not_ok "/metrics is served as text/plain" "Content-Type: $(hdr Content-Type)"; fi
if grep -q '^egcontrol_http_requests_total{' <<<"$m" &&
   grep -E '^egcontrol_http_requests_total\{' <<<"$m" | grep 'method="PUT"' | grep 'route="/namespaces/{ns}/clients/{name}"' | grep -q 'status="201"'; then
  ok "/metrics: egcontrol_http_requests_total{method=PUT, route=/namespaces/{ns}/clients/{name}, status=201}"
else not_ok "/metrics: egcontrol_http_requests_total{method=PUT, route=/namespaces/{ns}/clients/{name}, status=201}" "$(grep requests_total <<<"$m" | head -20)"; fi
for want in 'route="/namespaces/{ns}/clientGroups/{name}".*status="400"' 'route="/namespaces".*status="401"' \
            'route="/namespaces/{ns}/clients/{name}".*status="412"' 'route="/namespaces/{ns}".*status="204"' \
            'route="/namespaces/{ns}/caCertificates".*status="200"'; do
  if grep -E '^egcontrol_http_requests_total\{' <<<"$m" | grep -Eq "$want"; then ok "/metrics has a request count for $want"
  else not_ok "/metrics has a request count for $want" "$(grep requests_total <<<"$m" | head -30)"; fi
done
if grep -E '^egcontrol_http_requests_total\{' <<<"$m" | grep -Eq 'route="/namespaces/(ns1|ns2|nope)'; then
  not_ok "/metrics routes are templates, never concrete names" "$(grep -E 'route="/namespaces/(ns1|ns2)' <<<"$m" | head)"
else ok "/metrics routes are templates, never concrete names"; fi
line=$(grep -E '^egcontrol_http_requests_total\{.*method="GET".*route="/healthz".*status="200"' <<<"$m" | head -1)
if [[ $line =~ \ ([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" -ge 3 ]; then ok "/metrics counts: GET /healthz 200 counted ($line)"
else not_ok "/metrics counts: GET /healthz 200 counted" "line: $line"; fi
api GET /healthz
hseq=$(jget changeSequence)
if grep -Eq "^egcontrol_change_sequence $hseq\$" <<<"$m"; then ok "/metrics: egcontrol_change_sequence = /healthz changeSequence ($hseq)"
else not_ok "/metrics: egcontrol_change_sequence = /healthz changeSequence" "healthz $hseq; $(grep change_sequence <<<"$m")"; fi
if grep -Eq '^egcontrol_http_requests_total\{.*\} [0-9]+$' <<<"$m" && ! grep -Ev '^(#|$|[a-z_]+(\{.*\})? [0-9.e+-]+$)' <<<"$m" | grep -q .; then
  ok "/metrics is well-formed Prometheus text"
else not_ok "/metrics is well-formed Prometheus text" "$(grep -Ev '^(#|$|[a-z_]+(\{.*\})? [0-9.e+-]+$)' <<<"$m" | head)"; fi
if grep -Eq "PUT /namespaces/ns2/clients/seq-c .*201.*[^0-9]${seqc_bytes}[^0-9].*[0-9]" "$E2E_TMP/cp.out"; then ok "access log: one line per request with method, path, status, bytes, duration"
else not_ok "access log: one line per request with method, path, status, bytes, duration" "$(tail -3 "$E2E_TMP/cp.out")"; fi

stop_broker_checked cp "egcontrol"

# ---------------------------------------------------------------- token file, listen address
scripts/dev-certs.sh "$E2E_TMP/certs" >/dev/null 2>&1 || bail "cannot create test certificates"
for _ in 1 2 3; do
  TPORT=$(free_port)
  start_bg cptls "$CP_BIN" --listen "0.0.0.0:$TPORT" --tls-cert "$E2E_TMP/certs/server.pem" --tls-key "$E2E_TMP/certs/server.key" \
    --token-file "$E2E_TMP/token" --db "$E2E_TMP/tls.db"
  started_and_listening cptls "$TPORT" && break
  stop_bg cptls
done
ST=$(curl -sS -o "$CP_BODY" -w '%{http_code}' --cacert "$E2E_TMP/certs/ca.pem" -H "Authorization: Bearer $CP_TOKEN" "https://localhost:$TPORT/namespaces")
expect "--listen 0.0.0.0 with --tls-cert/--tls-key: serves HTTPS (GET /namespaces over TLS: 200)" 200 'value=[]'
ST=$(curl -sS -o "$CP_BODY" -w '%{http_code}' --cacert "$E2E_TMP/certs/ca.pem" -X PUT --data-binary '{}' -H "Authorization: Bearer $CP_TOKEN" "https://localhost:$TPORT/namespaces/tls-ns")
expect "... PUT over TLS: 201" 201 name=tls-ns
ST=$(curl -sS -o "$CP_BODY" -w '%{http_code}' --cacert "$E2E_TMP/certs/ca.pem" -X PUT --data-binary '{}' -H "Authorization: Bearer $CP_TOKEN" "https://localhost:$TPORT/namespaces/tls-ns2")
ST=$(curl -sS -o "$CP_BODY" -w '%{http_code}' --cacert "$E2E_TMP/certs/ca.pem" -H "Authorization: Bearer $CP_TOKEN" "https://localhost:$TPORT/namespaces?\$top=1")
expect "... nextLink over TLS is an https URL" 200 "nextLink~^https://localhost:$TPORT/namespaces\\?"
api_plain=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$TPORT/healthz" 2>/dev/null)
if [ "$api_plain" != 200 ]; then ok "... plain HTTP on the TLS port is not served ($api_plain)"
else not_ok "... plain HTTP on the TLS port is not served" "got $api_plain"; fi
stop_broker_checked cptls "egcontrol with TLS"
gen=$E2E_TMP/gen/sub/control.token
start_bg cpgen "$CP_BIN" --listen "127.0.0.1:$(free_port)" --token-file "$gen" --db "$E2E_TMP/gen.db"
wait_until 10 test -s "$gen"
tok=$(head -1 "$gen" 2>/dev/null)
mode=$(stat -c %a "$gen" 2>/dev/null)
if [ ${#tok} -ge 16 ] && [ "$mode" = 600 ] && grep -q "$gen" "$E2E_TMP/cpgen.out"; then
  ok "no token file: a token is generated (${#tok} chars) into a new 0600 file, and its path printed"
else not_ok "no token file: a token is generated into a new 0600 file, and its path printed" "token '${tok}' mode $mode" "$(cat "$E2E_TMP/cpgen.out")"; fi
stop_broker_checked cpgen "egcontrol with a generated token"
printf 'short\n' >"$E2E_TMP/short.token"
timeout 20 "$CP_BIN" --listen "127.0.0.1:$(free_port)" --token-file "$E2E_TMP/short.token" --db "$E2E_TMP/short.db" >"$E2E_TMP/short.out" 2>&1
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 124 ]; then ok "a token file with a token under 16 characters: exits non-zero ($rc)"
else not_ok "a token file with a token under 16 characters: exits non-zero" "rc $rc" "$(cat "$E2E_TMP/short.out")"; fi
for addr in 0.0.0.0 '[::]'; do
  timeout 20 "$CP_BIN" --listen "$addr:$(free_port)" --token-file "$E2E_TMP/token" --db "$E2E_TMP/nl.db" >"$E2E_TMP/nl.out" 2>&1
  rc=$?
  if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -qi 'tls' "$E2E_TMP/nl.out"; then
    ok "--listen $addr without TLS: exits non-zero ($rc) with a message naming TLS"
  else not_ok "--listen $addr without TLS: exits non-zero with a message naming TLS" "rc $rc" "$(cat "$E2E_TMP/nl.out")"; fi
done
e2e_finish
