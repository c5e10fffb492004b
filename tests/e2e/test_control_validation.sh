#!/usr/bin/env bash
# End-to-end: egcontrol's validation (api/README.md "Errors"): every error of the table that a
# request can provoke, with its status, code and target; quotas with the defaults and with a
# config of small quotas; body limits, bad query parameters.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/control/cp_lib.sh
e2e_init
cp_setup
cp_start cp --db "$E2E_TMP/control.db"

api PUT /namespaces/val '{}'
[ "$ST" = 201 ] || bail "cannot create the namespace: $ST $(cat "$CP_BODY")"
TC=properties.topicSpacesConfiguration

# ---------------------------------------------------------------- names
long51=$(printf 'n%.0s' $(seq 51)); long50=${long51:1}
c129=$(printf 'c%.0s' $(seq 129)); c128=${c129:1}
api PUT /namespaces/ab '{}'
expect_err "namespace name of 2 characters: 400 InvalidResourceName" 400 InvalidResourceName
api PUT "/namespaces/$long51" '{}'
expect_err "namespace name of 51 characters: 400 InvalidResourceName" 400 InvalidResourceName
api PUT /namespaces/bad_name '{}'
expect_err "namespace name with _: 400 InvalidResourceName" 400 InvalidResourceName
api PUT /namespaces/bad.name '{}'
expect_err "namespace name with .: 400 InvalidResourceName" 400 InvalidResourceName
api PUT /namespaces/bad%20name '{}'
expect_err "namespace name with a space (percent-encoded): 400 InvalidResourceName" 400 InvalidResourceName
api PUT /namespaces/caf%C3%A9 '{}'
expect_err "namespace name with a non-ASCII letter: 400 InvalidResourceName" 400 InvalidResourceName
api GET /namespaces/ab
expect_err "GET with a bad namespace name: 400 InvalidResourceName" 400 InvalidResourceName
api GET /namespaces/ab/clients
expect_err "list under a bad namespace name: 400 InvalidResourceName" 400 InvalidResourceName
api PUT /namespaces/a-9 '{}'
expect "namespace name of 3 characters with - and a digit: 201" 201 name=a-9
api PUT "/namespaces/$long50" '{}'
expect "namespace name of 50 characters: 201" 201 "name=$long50"
for kind in clientGroups topicSpaces permissionBindings caCertificates; do
  api PUT "/namespaces/val/$kind/ab" '{}'
  expect_err "$kind name of 2 characters: 400 InvalidResourceName" 400 InvalidResourceName
  api PUT "/namespaces/val/$kind/$long51" '{}'
  expect_err "$kind name of 51 characters: 400 InvalidResourceName" 400 InvalidResourceName
  api PUT "/namespaces/val/$kind/a_b" '{}'
  expect_err "$kind name with _: 400 InvalidResourceName" 400 InvalidResourceName
  api PUT "/namespaces/val/$kind/a:bc" '{}'
  expect_err "$kind name with : (allowed only for clients): 400 InvalidResourceName" 400 InvalidResourceName
done
api PUT '/namespaces/val/clientGroups/$mine' '{"properties": {"query": "attributes.a = 1"}}'
expect_err "client group name starting with \$ (other than \$all): 400 InvalidResourceName" 400 InvalidResourceName
api PUT /namespaces/val/clients/x '{}'
expect "client name of 1 character: 201" 201 name=x
api PUT "/namespaces/val/clients/$c128" '{}'
expect "client name of 128 characters: 201" 201 "name=$c128"
api PUT "/namespaces/val/clients/$c129" '{}'
expect_err "client name of 129 characters: 400 InvalidResourceName" 400 InvalidResourceName
api PUT /namespaces/val/clients/Dev_1:a.b-c '{}'
expect "client name with _ : . - and capitals: 201" 201 name=Dev_1:a.b-c
for bad in 'a$b' 'a@b' 'a%20b' 'a+b' 'a~b' 'caf%C3%A9'; do
  api PUT "/namespaces/val/clients/$bad" '{}'
  expect_err "client name '$bad': 400 InvalidResourceName" 400 InvalidResourceName
done

# ---------------------------------------------------------------- body format
api PUT /namespaces/val/clients/j1 '{"properties": {'
expect_err "malformed JSON: 400 InvalidJson" 400 InvalidJson
api PUT /namespaces/val/clients/j1 '[1, 2]'
expect_err "a JSON array body: 400 InvalidJson" 400 InvalidJson
api PUT /namespaces/val/clients/j1 '"text"'
expect_err "a JSON string body: 400 InvalidJson" 400 InvalidJson
api PUT /namespaces/val/clients/j1 'null'
expect_err "a JSON null body: 400 InvalidJson" 400 InvalidJson
api PUT /namespaces/val/clients/j1 '{} {}'
expect_err "two JSON documents: 400 InvalidJson" 400 InvalidJson
api PATCH /namespaces/val/clients/x '{"properties": '
expect_err "PATCH with malformed JSON: 400 InvalidJson" 400 InvalidJson
api PATCH /namespaces/val/clients/x '[]'
expect_err "PATCH with an array body: 400 InvalidJson" 400 InvalidJson
"$EG_PYTHON" -c 'import json; print(json.dumps({"properties": {"description": "x", "attributes": {"k%d" % i: "v" * 20 for i in range(12000)}}}))' >"$E2E_TMP/big.json"
api PUT /namespaces/val/clients/big "@$E2E_TMP/big.json"
expect_err "a body over 256 KiB: 413 PayloadTooLarge" 413 PayloadTooLarge
head -c 262144 /dev/zero | tr '\0' ' ' >"$E2E_TMP/limit.json"
printf '{}' >>"$E2E_TMP/limit.json"
api PUT /namespaces/val/clients/big "@$E2E_TMP/limit.json"
expect_err "a body of 256 KiB + 2 bytes (whitespace): 413 PayloadTooLarge" 413 PayloadTooLarge
head -c 262142 /dev/zero | tr '\0' ' ' >"$E2E_TMP/fits.json"
printf '{}' >>"$E2E_TMP/fits.json"
api PUT /namespaces/val/clients/fits "@$E2E_TMP/fits.json"
expect "a body of exactly 256 KiB: accepted (201)" 201 name=fits
api GET /namespaces/val/clients/big
expect_err "... and the refused one was not stored" 404 NotFound
"$EG_PYTHON" -c 'print("{\"properties\": {\"description\": \"" + "x" * 300000 + "\"}}")' >"$E2E_TMP/chunked.json"
api PUT /namespaces/val/clients/big "@$E2E_TMP/chunked.json" -H 'Transfer-Encoding: chunked'
expect_err "a chunked body over 256 KiB (no Content-Length): 413 PayloadTooLarge" 413 PayloadTooLarge
api PUT /namespaces/val/clients/chunked '{"properties": {"description": "sent chunked"}}' -H 'Transfer-Encoding: chunked'
expect "a small chunked body: 201" 201 "properties.description=sent chunked"
api PUT /namespaces/val/clients/nm1 '{"name": "other"}'
expect_err "name in the body different from the path: 400" 400 InvalidProperty name
api PUT /namespaces/val/clients/nm1 '{"name": "nm1"}'
expect "name in the body equal to the path: 201" 201 name=nm1
api PUT /namespaces/val '{"name": "val2"}'
expect_err "namespace: name in the body different from the path: 400" 400 InvalidProperty name

# ---------------------------------------------------------------- unknown fields and types
api PUT /namespaces/val/clients/u1 '{"bogus": 1}'
expect_err "unknown top-level field: 400 UnknownField, target bogus" 400 UnknownField bogus
api PUT /namespaces/val/clients/u1 '{"properties": {"colour": "red"}}'
expect_err "unknown field in properties: 400 UnknownField, target properties.colour" 400 UnknownField properties.colour
api PUT /namespaces/val/clients/u1 '{"properties": {"clientCertificateAuthentication": {"validationScheme": "ThumbprintMatch", "allowedThumbprints": ["'"$(printf 'A%.0s' $(seq 64))"'"], "extra": true}}}'
expect_err "unknown nested field: 400 UnknownField, target properties.clientCertificateAuthentication.extra" 400 UnknownField \
  properties.clientCertificateAuthentication.extra
api PUT /namespaces/val '{"properties": {"topicSpacesConfiguration": {"routeTopicResourceId": "x"}}}'
expect_err "namespace: unknown field in topicSpacesConfiguration: 400 UnknownField" 400 UnknownField "$TC.routeTopicResourceId"
api PUT /namespaces/val '{"properties": {"topicSpacesConfiguration": {"clientAuthentication": {"other": []}}}}'
expect_err "namespace: unknown field in clientAuthentication: 400 UnknownField" 400 UnknownField "$TC.clientAuthentication.other"
api PUT /namespaces/val/topicSpaces/ts-u '{"properties": {"topicTemplates": ["a"], "qos": 1}}'
expect_err "topic space: unknown field: 400 UnknownField" 400 UnknownField properties.qos
api PUT /namespaces/val/permissionBindings/pb-u '{"properties": {"clientGroupName": "$all", "topicSpaceName": "x", "permission": "Publisher", "retain": 1}}'
expect_err "permission binding: unknown field: 400 UnknownField" 400 UnknownField properties.retain
api PUT /namespaces/val/clients/u1 '{"properties": "x"}'
expect_err "properties not an object: 400 InvalidProperty" 400 InvalidProperty properties
api PUT /namespaces/val/clients/u1 '{"properties": {"state": 1}}'
expect_err "client state not a string: 400 InvalidProperty" 400 InvalidProperty properties.state
api PUT /namespaces/val/clients/u1 '{"properties": {"state": "On"}}'
expect_err "client state not in the enum: 400 InvalidProperty" 400 InvalidProperty properties.state
api PUT /namespaces/val/clients/u1 '{"properties": {"state": "enabled"}}'
expect_err "client state in the wrong case: 400 InvalidProperty" 400 InvalidProperty properties.state
api PUT /namespaces/val/clients/u1 '{"properties": {"description": 5}}'
expect_err "client description not a string: 400 InvalidProperty" 400 InvalidProperty properties.description
d257=$(printf 'd%.0s' $(seq 257))
api PUT /namespaces/val/clients/u1 "{\"properties\": {\"description\": \"$d257\"}}"
expect_err "client description of 257 characters: 400 InvalidProperty" 400 InvalidProperty properties.description
api PUT /namespaces/val/clients/u1 "{\"properties\": {\"description\": \"${d257:1}\"}}"
expect "client description of 256 characters: 201" 201
e256=$(printf 'é%.0s' $(seq 256))
api PUT /namespaces/val/clients/u3 "{\"properties\": {\"description\": \"$e256\"}}"
expect "client description of 256 two-byte characters (512 bytes): 201 (the limit is in characters)" 201
api PUT /namespaces/val/clients/u3 "{\"properties\": {\"description\": \"${e256}é\"}}"
expect_err "client description of 257 two-byte characters: 400 InvalidProperty" 400 InvalidProperty properties.description
api PUT /namespaces/val/clients/u4 "{\"properties\": {\"authenticationName\": \"${e256:0:64}\"}}"
expect "authenticationName of 64 two-byte characters (128 bytes): 201" 201
api PUT /namespaces/val/clients/u5 "{\"properties\": {\"authenticationName\": \"${e256:0:65}\"}}"
expect_err "authenticationName of 65 two-byte characters (130 bytes): 400 InvalidProperty" 400 InvalidProperty properties.authenticationName
api PUT /namespaces/val/clients/u2 '{"properties": {"attributes": ["a"]}}'
expect_err "client attributes not an object: 400 InvalidProperty" 400 InvalidProperty properties.attributes
api PUT /namespaces/val/clients/u2 '{"properties": {"attributes": {"f": 1.5}}}'
expect_err "client attribute value a float: 400 InvalidProperty" 400 InvalidProperty properties.attributes.f
api PUT /namespaces/val/clients/u2 '{"properties": {"attributes": {"b": true}}}'
expect_err "client attribute value a boolean: 400 InvalidProperty" 400 InvalidProperty properties.attributes.b
api PUT /namespaces/val/clients/u2 '{"properties": {"attributes": {"o": {"x": "y"}}}}'
expect_err "client attribute value an object: 400 InvalidProperty" 400 InvalidProperty properties.attributes.o
api PUT /namespaces/val/clients/u2 '{"properties": {"attributes": {"a": ["x", 1]}}}'
expect "client attribute value an array with an integer: 400 InvalidProperty" 400 error.code=InvalidProperty 'error.target~^properties\.attributes\.a(\[1\])?$'
api PUT /namespaces/val/clients/u2 '{"properties": {"attributes": {"bad-key": "v"}}}'
expect_err "client attribute key with -: 400 InvalidProperty" 400 InvalidProperty
"$EG_PYTHON" -c 'import json; print(json.dumps({"properties": {"attributes": {"k%d" % i: "v" * 40 for i in range(100)}}}))' >"$E2E_TMP/attr5k.json"
api PUT /namespaces/val/clients/u2 "@$E2E_TMP/attr5k.json"
expect_err "client attributes over 4 KiB: 400 InvalidProperty" 400 InvalidProperty properties.attributes
api PUT /namespaces/val/clients/u2 '{"properties": {"authenticationName": ""}}'
expect_err "client empty authenticationName: 400 InvalidProperty" 400 InvalidProperty properties.authenticationName
api PUT /namespaces/val/clients/u2 "{\"properties\": {\"authenticationName\": \"$c129\"}}"
expect_err "client authenticationName of 129 bytes: 400 InvalidProperty" 400 InvalidProperty properties.authenticationName
api PUT /namespaces/val/clients/u2 '{"properties": {"authenticationName": 7}}'
expect_err "client authenticationName not a string: 400 InvalidProperty" 400 InvalidProperty properties.authenticationName
api PUT /namespaces/val/clients/u2 '{"properties": {"clientCertificateAuthentication": {"validationScheme": "CertificateMatch"}}}'
expect_err "client validationScheme not in the enum: 400 InvalidProperty" 400 InvalidProperty properties.clientCertificateAuthentication.validationScheme

# ---------------------------------------------------------------- namespace ranges and enums
for v in 0 9 -1 '"2"' 2.5; do
  api PUT /namespaces/val "{\"properties\": {\"topicSpacesConfiguration\": {\"maximumSessionExpiryInHours\": $v}}}"
  expect_err "maximumSessionExpiryInHours $v: 400 InvalidProperty" 400 InvalidProperty "$TC.maximumSessionExpiryInHours"
done
for v in 0 101 true; do
  api PUT /namespaces/val "{\"properties\": {\"topicSpacesConfiguration\": {\"maximumClientSessionsPerAuthenticationName\": $v}}}"
  expect_err "maximumClientSessionsPerAuthenticationName $v: 400 InvalidProperty" 400 InvalidProperty "$TC.maximumClientSessionsPerAuthenticationName"
done
api PUT /namespaces/val '{"properties": {"topicSpacesConfiguration": {"maximumSessionExpiryInHours": 8, "maximumClientSessionsPerAuthenticationName": 100}}}'
expect "maximumSessionExpiryInHours 8 and maximumClientSessionsPerAuthenticationName 100: 200" 200 \
  "$TC.maximumSessionExpiryInHours=8" "$TC.maximumClientSessionsPerAuthenticationName=100"
api PATCH /namespaces/val '{"properties": {"topicSpacesConfiguration": {"maximumSessionExpiryInHours": 9}}}'
expect_err "PATCH maximumSessionExpiryInHours 9: 400 InvalidProperty" 400 InvalidProperty "$TC.maximumSessionExpiryInHours"
api GET /namespaces/val
expect "... and the refused PATCH changed nothing" 200 "$TC.maximumSessionExpiryInHours=8"
api PUT /namespaces/val '{"properties": {"topicSpacesConfiguration": {"state": "Paused"}}}'
expect_err "namespace state not in the enum: 400 InvalidProperty" 400 InvalidProperty "$TC.state"
api PUT /namespaces/val '{"properties": {"topicSpacesConfiguration": {"clientAuthentication": {"alternativeAuthenticationNameSources": ["ClientCertificateSubject", "Password"]}}}}'
expect_err "alternativeAuthenticationNameSources with an unknown value: 400 InvalidProperty" 400 InvalidProperty \
  "$TC.clientAuthentication.alternativeAuthenticationNameSources[1]"
api PUT /namespaces/val '{"properties": {"topicSpacesConfiguration": {"clientAuthentication": {"alternativeAuthenticationNameSources": ["ClientCertificateIp", "ClientCertificateIp"]}}}}'
expect_err "alternativeAuthenticationNameSources with a duplicate: 400 InvalidProperty" 400 InvalidProperty
api PUT /namespaces/val '{"properties": {"topicSpacesConfiguration": {"clientAuthentication": {"alternativeAuthenticationNameSources": "ClientCertificateIp"}}}}'
expect_err "alternativeAuthenticationNameSources not an array: 400 InvalidProperty" 400 InvalidProperty \
  "$TC.clientAuthentication.alternativeAuthenticationNameSources"
api PUT /namespaces/val '{"sku": {"name": "Standard", "capacity": 41}}'
expect_err "sku capacity 41: 400 InvalidProperty" 400 InvalidProperty sku.capacity
api PUT /namespaces/val '{"sku": {"name": "Standard", "capacity": 0}}'
expect_err "sku capacity 0: 400 InvalidProperty" 400 InvalidProperty sku.capacity
api PUT /namespaces/val '{"sku": {"name": "Standard", "capacity": 40}}'
expect "sku capacity 40: 200" 200 sku.capacity=40
api PUT /namespaces/val '{"tags": {"a": 1}}'
expect_err "a tag value not a string: 400 InvalidProperty" 400 InvalidProperty tags.a
api PUT /namespaces/val '{"location": 5}'
expect_err "location not a string: 400 InvalidProperty" 400 InvalidProperty location

# ---------------------------------------------------------------- thumbprints
T=properties.clientCertificateAuthentication
tpa=$(printf 'A%.0s' $(seq 64)); tpb=$(printf 'b%.0s' $(seq 64)); tpc=$(printf 'C%.0s' $(seq 64))
api PUT /namespaces/val/clients/t1 '{"properties": {"clientCertificateAuthentication": {"validationScheme": "ThumbprintMatch", "allowedThumbprints": ["abc"]}}}'
expect_err "thumbprint of 3 hex digits: 400 InvalidThumbprint" 400 InvalidThumbprint "$T.allowedThumbprints[0]"
api PUT /namespaces/val/clients/t1 "{\"properties\": {\"clientCertificateAuthentication\": {\"validationScheme\": \"ThumbprintMatch\", \"allowedThumbprints\": [\"$tpa\", \"${tpb:1}G\"]}}}"
expect_err "thumbprint of 64 characters with a G: 400 InvalidThumbprint at [1]" 400 InvalidThumbprint "$T.allowedThumbprints[1]"
api PUT /namespaces/val/clients/t1 "{\"properties\": {\"clientCertificateAuthentication\": {\"validationScheme\": \"ThumbprintMatch\", \"allowedThumbprints\": [\"${tpa}A\"]}}}"
expect_err "thumbprint of 65 hex digits: 400 InvalidThumbprint" 400 InvalidThumbprint "$T.allowedThumbprints[0]"
api PUT /namespaces/val/clients/t1 "{\"properties\": {\"clientCertificateAuthentication\": {\"validationScheme\": \"ThumbprintMatch\", \"allowedThumbprints\": [\"$tpa\", \"$tpb\", \"$tpc\"]}}}"
if [ "$ST" = 400 ] && jc "$CP_BODY" 'error.code~^(InvalidProperty|InvalidThumbprint)$' "error.target~^$T.allowedThumbprints"; then
  ok "3 thumbprints: 400 ($(jget error.code), target $(jget error.target))"
else not_ok "3 thumbprints: 400 InvalidProperty" "status $ST $(head -c 300 "$CP_BODY")"; fi
api PUT /namespaces/val/clients/t1 "{\"properties\": {\"clientCertificateAuthentication\": {\"validationScheme\": \"SubjectMatchesAuthenticationName\", \"allowedThumbprints\": [\"$tpa\"]}}}"
expect_err "thumbprints with SubjectMatchesAuthenticationName: 400 InvalidProperty" 400 InvalidProperty "$T.allowedThumbprints"
api PUT /namespaces/val/clients/t1 "{\"properties\": {\"clientCertificateAuthentication\": {\"allowedThumbprints\": [\"$tpa\"]}}}"
expect_err "thumbprints with the default scheme: 400 InvalidProperty" 400 InvalidProperty "$T.allowedThumbprints"
api PUT /namespaces/val/clients/t1 '{"properties": {"clientCertificateAuthentication": {"validationScheme": "ThumbprintMatch"}}}'
expect_err "ThumbprintMatch without thumbprints: 400 InvalidProperty" 400 InvalidProperty "$T.allowedThumbprints"
api PUT /namespaces/val/clients/t1 '{"properties": {"clientCertificateAuthentication": {"validationScheme": "ThumbprintMatch", "allowedThumbprints": []}}}'
expect_err "ThumbprintMatch with an empty thumbprint list: 400 InvalidProperty" 400 InvalidProperty "$T.allowedThumbprints"
api PUT /namespaces/val/clients/t1 "{\"properties\": {\"clientCertificateAuthentication\": {\"validationScheme\": \"ThumbprintMatch\", \"allowedThumbprints\": [\"$tpb\"]}}}"
expect "ThumbprintMatch with one thumbprint: 201, stored upper-case" 201 "$T.allowedThumbprints=[\"$(tr a-f A-F <<<"$tpb")\"]"
api PATCH /namespaces/val/clients/t1 '{"properties": {"clientCertificateAuthentication": {"validationScheme": "SubjectMatchesAuthenticationName"}}}'
expect_err "PATCH scheme away from ThumbprintMatch keeping the thumbprints: 400 InvalidProperty" 400 InvalidProperty "$T.allowedThumbprints"
api PATCH /namespaces/val/clients/t1 '{"properties": {"clientCertificateAuthentication": {"validationScheme": "SubjectMatchesAuthenticationName", "allowedThumbprints": null}}}'
expect "PATCH scheme away with allowedThumbprints: null: 200" 200 "$T.validationScheme=SubjectMatchesAuthenticationName" "$T.allowedThumbprints=<absent>"

# ---------------------------------------------------------------- authentication names
api PUT /namespaces/val/clients/a1 '{"properties": {"authenticationName": "Sensor-One"}}'
expect "client with authenticationName Sensor-One: 201" 201 properties.authenticationName=Sensor-One
api PUT /namespaces/val/clients/a2 '{"properties": {"authenticationName": "sensor-one"}}'
expect_err "another client with authenticationName sensor-one (case-insensitive duplicate): 409 AuthenticationNameInUse" 409 AuthenticationNameInUse
api PUT /namespaces/val/clients/SENSOR-ONE '{}'
expect_err "a client named SENSOR-ONE (default authenticationName = its name): 409 AuthenticationNameInUse" 409 AuthenticationNameInUse
api PUT /namespaces/val/clients/a3 '{"properties": {"authenticationName": "X"}}'
expect_err "authenticationName X taken by client x's default authenticationName: 409 AuthenticationNameInUse" 409 AuthenticationNameInUse
api PUT /namespaces/a-9/clients/a2 '{"properties": {"authenticationName": "sensor-one"}}'
expect "the same authenticationName in another namespace: 201" 201
api PUT /namespaces/val/clients/a1 '{"properties": {"authenticationName": "Sensor-Two"}}'
expect_err "PUT changing authenticationName: 400 InvalidProperty" 400 InvalidProperty properties.authenticationName
api PATCH /namespaces/val/clients/a1 '{"properties": {"authenticationName": "Sensor-Two"}}'
expect_err "PATCH changing authenticationName: 400 InvalidProperty" 400 InvalidProperty properties.authenticationName
api PUT /namespaces/val/clients/a1 '{"properties": {"authenticationName": "Sensor-One", "state": "Disabled"}}'
expect "PUT keeping the same authenticationName: 200" 200 properties.state=Disabled
api DELETE /namespaces/val/clients/a1
api PUT /namespaces/val/clients/a2 '{"properties": {"authenticationName": "sensor-ONE"}}'
expect "the authenticationName is free again once its client is deleted: 201" 201 properties.authenticationName=sensor-ONE

# ---------------------------------------------------------------- client groups and queries
api PUT /namespaces/val/clientGroups/grp-a '{"properties": {"query": "attributes.type = "}}'
expect_err "query 'attributes.type = ': 400 InvalidQuery" 400 InvalidQuery properties.query
if jc "$CP_BODY" 'error.message~[0-9]'; then ok "InvalidQuery message names the offset: $(jget error.message)"
else not_ok "InvalidQuery message names the offset" "$(cat "$CP_BODY")"; fi
for q in "attributes.type == 'x'" "attributes.type = 'x' AND" "(attributes.a = 1" "attributes.a IN ['x'" "color = 'red'" \
         "attributes.a < 'x'" "attributes.a = 'x' OR OR attributes.b = 'y'" "attributes.a = 'unterminated" ""; do
  api PUT /namespaces/val/clientGroups/grp-a "$("$EG_PYTHON" -c 'import json,sys; print(json.dumps({"properties": {"query": sys.argv[1]}}))' "$q")"
  expect_err "query \"$q\": 400 InvalidQuery" 400 InvalidQuery properties.query
done
api PUT /namespaces/val/clientGroups/grp-a '{"properties": {}}'
expect_err "client group without query: 400 InvalidProperty" 400 InvalidProperty properties.query
api PUT /namespaces/val/clientGroups/grp-a '{"properties": {"query": 3}}'
expect_err "client group query not a string: 400 InvalidProperty" 400 InvalidProperty properties.query
q2049=$("$EG_PYTHON" -c 'print("attributes.a IN [" + ", ".join(["\x27%04d\x27" % i for i in range(300)]) + "]")')
api PUT /namespaces/val/clientGroups/grp-a "{\"properties\": {\"query\": \"$q2049\"}}"
if [ "$ST" = 400 ] && jc "$CP_BODY" 'error.code~^(InvalidProperty|InvalidQuery)$' error.target=properties.query; then ok "query over 2048 bytes (${#q2049}): 400"
else not_ok "query over 2048 bytes: 400 InvalidProperty" "status $ST $(head -c 300 "$CP_BODY")"; fi
api PUT /namespaces/val/clientGroups/grp-a '{"properties": {"query": "attributes.floor >= 3 AND authenticationName IN [\"a\", '"'b'"']"}}'
expect "a valid query with both quote styles: 201" 201
api PATCH /namespaces/val/clientGroups/grp-a '{"properties": {"query": null}}'
expect_err "PATCH query: null (a required property): 400 InvalidProperty" 400 InvalidProperty properties.query
api PATCH /namespaces/val/clientGroups/grp-a '{"properties": null}'
expect_err "PATCH properties: null (removing every required property): 400 InvalidProperty" 400 InvalidProperty

# ---------------------------------------------------------------- topic spaces and templates
tt() { "$EG_PYTHON" -c 'import json,sys; print(json.dumps({"properties": {"topicTemplates": sys.argv[1:]}}))' "$@"; }
api PUT /namespaces/val/topicSpaces/ts1 "$(tt 'a/${client.foo}/b')"
expect_err "template with unknown variable \${client.foo}: 400 InvalidTopicTemplate" 400 InvalidTopicTemplate 'properties.topicTemplates[0]'
api PUT /namespaces/val/topicSpaces/ts1 "$(tt 'ok/1' 'ok/2' 'a/${device.id}')"
expect_err "template with unknown variable \${device.id} at [2]: 400 InvalidTopicTemplate target [2]" 400 InvalidTopicTemplate 'properties.topicTemplates[2]'
api PUT /namespaces/val/topicSpaces/ts1 "$(tt 'a/#/b')"
expect_err "template a/#/b (# not last): 400 InvalidTopicTemplate" 400 InvalidTopicTemplate 'properties.topicTemplates[0]'
api PUT /namespaces/val/topicSpaces/ts1 "$(tt 'ok' 'a/b+/c')"
expect_err "template a/b+/c (+ inside a level): 400 InvalidTopicTemplate at [1]" 400 InvalidTopicTemplate 'properties.topicTemplates[1]'
api PUT /namespaces/val/topicSpaces/ts1 "$(tt 'a/${client.authenticationName')"
expect_err "template with an unclosed variable: 400 InvalidTopicTemplate" 400 InvalidTopicTemplate 'properties.topicTemplates[0]'
api PUT /namespaces/val/topicSpaces/ts1 "$(tt 'a/${client.attributes.}')"
expect_err "template \${client.attributes.} without a key: 400 InvalidTopicTemplate" 400 InvalidTopicTemplate 'properties.topicTemplates[0]'
api PUT /namespaces/val/topicSpaces/ts1 "$(tt 'a/${client.authenticationName}+')"
expect_err "template with + sharing a level with a variable: 400 InvalidTopicTemplate" 400 InvalidTopicTemplate 'properties.topicTemplates[0]'
api PUT /namespaces/val/topicSpaces/ts1 "$(tt 'a/${client.attributes.a-b}')"
expect_err "template with an attribute key that is not letters, digits, _: 400 InvalidTopicTemplate" 400 InvalidTopicTemplate 'properties.topicTemplates[0]'
api PUT /namespaces/val/topicSpaces/ts1 "$(tt 'a/${CLIENT.authenticationName}')"
expect_err "template variable in the wrong case: 400 InvalidTopicTemplate" 400 InvalidTopicTemplate 'properties.topicTemplates[0]'
api PUT /namespaces/val/topicSpaces/ts1 "$(tt '')"
expect_err "empty template: 400 InvalidTopicTemplate" 400 InvalidTopicTemplate 'properties.topicTemplates[0]'
api PUT /namespaces/val/topicSpaces/ts1 "$(tt 'a/b' 'a/b')"
expect_err "duplicate templates: 400 InvalidProperty" 400 InvalidProperty
api PUT /namespaces/val/topicSpaces/ts1 '{"properties": {"topicTemplates": []}}'
expect_err "no templates: 400 InvalidProperty" 400 InvalidProperty properties.topicTemplates
api PUT /namespaces/val/topicSpaces/ts1 '{"properties": {}}'
expect_err "topicTemplates missing: 400 InvalidProperty" 400 InvalidProperty properties.topicTemplates
api PUT /namespaces/val/topicSpaces/ts1 '{"properties": {"topicTemplates": "a/b"}}'
expect_err "topicTemplates not an array: 400 InvalidProperty" 400 InvalidProperty properties.topicTemplates
api PUT /namespaces/val/topicSpaces/ts1 '{"properties": {"topicTemplates": ["a", 5]}}'
expect_err "a template not a string: 400 InvalidProperty" 400 InvalidProperty 'properties.topicTemplates[1]'
api PUT /namespaces/val/topicSpaces/ts1 "$(tt t/1 t/2 t/3 t/4 t/5 t/6 t/7 t/8 t/9 t/10 t/11)"
if [ "$ST" = 400 ] && jc "$CP_BODY" error.code=InvalidProperty error.target=properties.topicTemplates ||
   { [ "$ST" = 409 ] && jc "$CP_BODY" error.code=QuotaExceeded; }; then ok "11 templates: refused ($ST $(jget error.code))"
else not_ok "11 templates: refused (400 InvalidProperty or 409 QuotaExceeded)" "status $ST $(head -c 300 "$CP_BODY")"; fi
api PUT /namespaces/val/topicSpaces/ts1 "$(tt t/1 t/2 t/3 t/4 t/5 t/6 t/7 't/+/8' 't/${client.attributes.floor}/#' 'x-${client.authenticationName}-y/#')"
expect "10 templates, with + and # and variables in part of a level: 201" 201 'properties.topicTemplates#=10'
api PATCH /namespaces/val/topicSpaces/ts1 '{"properties": {"topicTemplates": null}}'
expect_err "PATCH topicTemplates: null: 400 InvalidProperty" 400 InvalidProperty properties.topicTemplates
api PATCH /namespaces/val/topicSpaces/ts1 "$(tt 'a/#/b')"
expect_err "PATCH with an invalid template: 400 InvalidTopicTemplate" 400 InvalidTopicTemplate 'properties.topicTemplates[0]'
api PUT /namespaces/val/topicSpaces/ts2 "$(tt '#')"
expect "template '#': 201" 201
api PUT /namespaces/val/topicSpaces/ts3 "$(tt '+/+/+')"
expect "template '+/+/+': 201" 201

# ---------------------------------------------------------------- permission bindings
pb() { echo "{\"properties\": {\"clientGroupName\": \"$1\", \"topicSpaceName\": \"$2\", \"permission\": \"$3\"}}"; }
api PUT /namespaces/val/permissionBindings/pb1 "$(pb nogroup ts1 Publisher)"
expect_err "binding to a missing client group: 400 ReferenceNotFound" 400 ReferenceNotFound properties.clientGroupName
api PUT /namespaces/val/permissionBindings/pb1 "$(pb grp-a nospace Publisher)"
expect_err "binding to a missing topic space: 400 ReferenceNotFound" 400 ReferenceNotFound properties.topicSpaceName
api PUT /namespaces/val/permissionBindings/pb1 "$(pb grp-a ts1 Admin)"
expect_err "binding permission not in the enum: 400 InvalidProperty" 400 InvalidProperty properties.permission
api PUT /namespaces/val/permissionBindings/pb1 '{"properties": {"clientGroupName": "grp-a", "topicSpaceName": "ts1"}}'
expect_err "binding without permission: 400 InvalidProperty" 400 InvalidProperty properties.permission
api PUT /namespaces/val/permissionBindings/pb1 '{"properties": {"topicSpaceName": "ts1", "permission": "Publisher"}}'
expect_err "binding without clientGroupName: 400 InvalidProperty" 400 InvalidProperty properties.clientGroupName
api PUT /namespaces/val/permissionBindings/pb1 "$(pb grp-a ts1 Publisher)"
expect "binding to grp-a and ts1: 201" 201
api PUT /namespaces/val/permissionBindings/pb2 "$(pb grp-a ts2 Subscriber)"
api PUT /namespaces/a-9/topicSpaces/ts1 "$(tt 'x')"
api PUT /namespaces/a-9/permissionBindings/pb1 "$(pb grp-a ts1 Publisher)"
expect_err "binding to a group that exists only in another namespace: 400 ReferenceNotFound" 400 ReferenceNotFound properties.clientGroupName
api DELETE /namespaces/val/clientGroups/grp-a
expect_err "DELETE a client group used by a binding: 409 ResourceInUse" 409 ResourceInUse
api DELETE /namespaces/val/topicSpaces/ts1
expect_err "DELETE a topic space used by a binding: 409 ResourceInUse" 409 ResourceInUse
api GET /namespaces/val/clientGroups/grp-a
expect "... and the group is still there" 200 name=grp-a
api PATCH /namespaces/val/permissionBindings/pb1 '{"properties": {"topicSpaceName": "gone"}}'
expect_err "PATCH a binding to a missing topic space: 400 ReferenceNotFound" 400 ReferenceNotFound properties.topicSpaceName
api PATCH /namespaces/val/permissionBindings/pb1 '{"properties": {"permission": null}}'
expect_err "PATCH permission: null: 400 InvalidProperty" 400 InvalidProperty properties.permission
api DELETE /namespaces/val/permissionBindings/pb1
api DELETE /namespaces/val/topicSpaces/ts1
expect "DELETE the topic space once no binding uses it: 204" 204
api DELETE /namespaces/val/clientGroups/grp-a
expect_err "the group is still used by the other binding: 409 ResourceInUse" 409 ResourceInUse
api DELETE /namespaces/val/permissionBindings/pb2
api DELETE /namespaces/val/clientGroups/grp-a
expect "DELETE the group once no binding uses it: 204" 204

# ---------------------------------------------------------------- CA certificates
cacert "$E2E_TMP/ca.pem" "val CA"
pem=$(pem_json "$E2E_TMP/ca.pem")
api PUT /namespaces/val/caCertificates/ca1 '{"properties": {"encodedCertificate": "not a certificate"}}'
expect_err "encodedCertificate not PEM: 400 InvalidCertificate" 400 InvalidCertificate properties.encodedCertificate
api PUT /namespaces/val/caCertificates/ca1 '{"properties": {"encodedCertificate": "-----BEGIN CERTIFICATE-----\nMIIBroken==\n-----END CERTIFICATE-----\n"}}'
expect_err "a PEM block that is not a certificate: 400 InvalidCertificate" 400 InvalidCertificate properties.encodedCertificate
pemkey=$(pem_json "$E2E_TMP/ca.pem.key")
api PUT /namespaces/val/caCertificates/ca1 "{\"properties\": {\"encodedCertificate\": $pemkey}}"
expect_err "a PEM private key instead of a certificate: 400 InvalidCertificate" 400 InvalidCertificate properties.encodedCertificate
cat "$E2E_TMP/ca.pem" "$E2E_TMP/ca.pem" >"$E2E_TMP/two.pem"
api PUT /namespaces/val/caCertificates/ca1 "{\"properties\": {\"encodedCertificate\": $(pem_json "$E2E_TMP/two.pem")}}"
expect_err "two certificates in encodedCertificate: 400 InvalidCertificate" 400 InvalidCertificate properties.encodedCertificate
api PUT /namespaces/val/caCertificates/ca1 '{"properties": {}}'
expect_err "encodedCertificate missing: 400 InvalidProperty" 400 InvalidProperty properties.encodedCertificate
api PUT /namespaces/val/caCertificates/ca1 "{\"properties\": {\"encodedCertificate\": $pem, \"issueTimeInUtc\": \"1999-01-01T00:00:00Z\"}}"
expect "a valid certificate (read-only issueTimeInUtc in the body ignored): 201" 201 'properties.issueTimeInUtc~^20[0-9]{2}-'

# ---------------------------------------------------------------- quotas (defaults)
for i in $(seq 1 10); do api PUT "/namespaces/val/clientGroups/grp-$i" '{"properties": {"query": "attributes.a = 1"}}'; done
expect "10 client groups (plus \$all): the 10th is created" 201
api PUT /namespaces/val/clientGroups/grp-11 '{"properties": {"query": "attributes.a = 1"}}'
expect_err "11th client group: 409 QuotaExceeded" 409 QuotaExceeded
api PUT /namespaces/val/clientGroups/grp-5 '{"properties": {"query": "attributes.a = 2"}}'
expect "replacing a group at the quota: 200" 200
api GET /namespaces/val/topicSpaces
have=$(jget 'value#')
for i in $(seq $((have + 1)) 10); do api PUT "/namespaces/val/topicSpaces/ts-$i" "$(tt "t/$i")"; done
expect "10 topic spaces: the 10th is created (there were $have)" 201
api PUT /namespaces/val/topicSpaces/ts-11 "$(tt t/11)"
expect_err "11th topic space: 409 QuotaExceeded" 409 QuotaExceeded
api PUT /namespaces/val/caCertificates/ca2 "{\"properties\": {\"encodedCertificate\": $pem}}"
expect "2nd CA certificate: 201" 201
api PUT /namespaces/val/caCertificates/ca3 "{\"properties\": {\"encodedCertificate\": $pem}}"
expect_err "3rd CA certificate: 409 QuotaExceeded" 409 QuotaExceeded

# ---------------------------------------------------------------- query parameters
for top in 0 1001 x -1 1.5; do
  api GET "/namespaces/val/clients?\$top=$top"
  expect_err "\$top=$top: 400 InvalidQueryParameter" 400 InvalidQueryParameter
done
api GET '/namespaces/val/clients?$skipToken=garbage!'
expect_err "a \$skipToken that egcontrol did not make: 400 InvalidQueryParameter" 400 InvalidQueryParameter
api GET '/namespaces/val/clients?$top=1000'
expect "\$top=1000: 200" 200
api GET '/namespaces/val/clients?$top=1'
expect "\$top=1: one item and a nextLink" 200 'value#=1' 'nextLink~^http://127\.0\.0\.1:[0-9]+/namespaces/val/clients\?'

api GET '/namespaces?$top=1000'
have=$(jget 'value#')
curl -sS -o /dev/null -X PUT -H "Authorization: Bearer $CP_TOKEN" --data-binary '{}' "$CP_URL/namespaces/bulk-[$((have + 1))-100]"
api GET '/namespaces?$top=1000'
expect "100 namespaces (the default quota)" 200 'value#=100'
api PUT /namespaces/bulk-101 '{}'
expect_err "the 101st namespace: 409 QuotaExceeded" 409 QuotaExceeded
api PUT /namespaces/val '{"properties": {"topicSpacesConfiguration": {"maximumSessionExpiryInHours": 2}}}'
expect "replacing a namespace at the namespace quota: 200" 200

stop_broker_checked cp "egcontrol"

# ---------------------------------------------------------------- configured quotas
cat >"$E2E_TMP/quota.json" <<JSON
{"quotas": {"clients": 3, "clientGroups": 1, "topicSpaces": 1, "topicTemplatesPerTopicSpace": 2,
            "permissionBindings": 1, "caCertificates": 1, "namespaces": 2}}
JSON
cp_start cpq --db "$E2E_TMP/quota.db" --config "$E2E_TMP/quota.json"
api PUT /namespaces/qa1 '{}'
api PUT /namespaces/qa2 '{}'
expect "quota namespaces 2: the 2nd namespace is created" 201
api PUT /namespaces/qa3 '{}'
expect_err "quota namespaces 2: the 3rd: 409 QuotaExceeded" 409 QuotaExceeded
api PUT /namespaces/qa2 '{"properties": {"topicSpacesConfiguration": {"maximumSessionExpiryInHours": 2}}}'
expect "replacing a namespace at the quota: 200" 200
for c in c1 c2 c3; do api PUT "/namespaces/qa1/clients/$c" '{}'; done
expect "quota clients 3: the 3rd client is created" 201
api PUT /namespaces/qa1/clients/c4 '{}'
expect_err "quota clients 3: the 4th: 409 QuotaExceeded" 409 QuotaExceeded
api PUT /namespaces/qa1/clients/c3 '{"properties": {"state": "Disabled"}}'
expect "replacing a client at the quota: 200" 200
api PUT /namespaces/qa2/clients/c4 '{}'
expect "the quota is per namespace: a client in the other namespace: 201" 201
api DELETE /namespaces/qa1/clients/c1
api PUT /namespaces/qa1/clients/c4 '{}'
expect "after a DELETE the quota has room again: 201" 201
api PUT /namespaces/qa1/clientGroups/grp '{"properties": {"query": "attributes.a = 1"}}'
api PUT /namespaces/qa1/clientGroups/grp2 '{"properties": {"query": "attributes.a = 1"}}'
expect_err "quota clientGroups 1 (not counting \$all): the 2nd: 409 QuotaExceeded" 409 QuotaExceeded
api PUT /namespaces/qa1/topicSpaces/tsa "$(tt a/1 a/2 a/3)"
if [ "$ST" = 409 ] && jc "$CP_BODY" error.code=QuotaExceeded || { [ "$ST" = 400 ] && jc "$CP_BODY" error.target=properties.topicTemplates; }; then
  ok "quota topicTemplatesPerTopicSpace 2: 3 templates refused ($ST $(jget error.code))"
else not_ok "quota topicTemplatesPerTopicSpace 2: 3 templates refused" "status $ST $(head -c 300 "$CP_BODY")"; fi
api PUT /namespaces/qa1/topicSpaces/tsa "$(tt a/1 a/2)"
expect "quota topicTemplatesPerTopicSpace 2: 2 templates: 201" 201
api PUT /namespaces/qa1/topicSpaces/tsb "$(tt a/1)"
expect_err "quota topicSpaces 1: the 2nd: 409 QuotaExceeded" 409 QuotaExceeded
api PUT /namespaces/qa1/permissionBindings/pb1 "$(pb grp tsa Publisher)"
api PUT /namespaces/qa1/permissionBindings/pb2 "$(pb grp tsa Subscriber)"
expect_err "quota permissionBindings 1: the 2nd: 409 QuotaExceeded" 409 QuotaExceeded
api PUT /namespaces/qa1/caCertificates/ca1 "{\"properties\": {\"encodedCertificate\": $pem}}"
api PUT /namespaces/qa1/caCertificates/ca2 "{\"properties\": {\"encodedCertificate\": $pem}}"
expect_err "quota caCertificates 1: the 2nd: 409 QuotaExceeded" 409 QuotaExceeded
stop_broker_checked cpq "egcontrol with configured quotas"

printf '{"quotas": {"clients": "many"}}' >"$E2E_TMP/badq.json"
timeout 20 "$CP_BIN" --listen "127.0.0.1:$(free_port)" --token-file "$E2E_TMP/token" --db "$E2E_TMP/badq.db" --config "$E2E_TMP/badq.json" >"$E2E_TMP/badq.out" 2>&1
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q clients "$E2E_TMP/badq.out"; then ok "a config with a bad quota value: exits non-zero naming the key"
else not_ok "a config with a bad quota value: exits non-zero naming the key" "rc $rc" "$(cat "$E2E_TMP/badq.out")"; fi
printf '{"quotas": {"clientz": 5}}' >"$E2E_TMP/badq.json"
timeout 20 "$CP_BIN" --listen "127.0.0.1:$(free_port)" --token-file "$E2E_TMP/token" --db "$E2E_TMP/badq.db" --config "$E2E_TMP/badq.json" >"$E2E_TMP/badq.out" 2>&1
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q clientz "$E2E_TMP/badq.out"; then ok "a config with an unknown quota key: exits non-zero naming it"
else not_ok "a config with an unknown quota key: exits non-zero naming it" "rc $rc" "$(cat "$E2E_TMP/badq.out")"; fi
e2e_finish
