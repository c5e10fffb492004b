#!/usr/bin/env bash
# End-to-end: our MQTT codec against real MQTT clients we did not write.
#
# tests/tools/mqtt_wire_probe speaks MQTT through shared/mqtt only (frame, decode, encode)
# and logs every packet it decodes, and every packet it sends decoded back, as JSON lines.
# Here mosquitto_pub/mosquitto_sub, Eclipse Paho (Python) and MQTT.js talk to it in
# MQTT 3.1.1 and 5.0, and each check compares the fields the probe decoded with exactly
# what the client was told to send, and what the client received with what the probe sent.
# Every decoded packet must also re-encode to the same fields (checked by logcheck.py).
# Raw malformed packets must get the connection closed with the right reason code.
#
# Environment (set by tests/run.sh): EG_TOOLS, EG_PYTHON (Debian python3 with paho-mqtt),
# NODE_PATH (tests/e2e/node_modules, with the npm package `mqtt`).
# shellcheck disable=SC2317  # the t_* functions are called through check
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.sh
e2e_init

C=tests/e2e/clients
PROBE=$EG_TOOLS/mqtt_wire_probe
LOG=$E2E_TMP/probe.log
export NODE_PATH="${NODE_PATH:-$PWD/tests/e2e/node_modules}"

[ -x "$PROBE" ] || bail "$PROBE not built (make test-binaries)"
for tool in mosquitto_pub mosquitto_sub node; do
  command -v "$tool" >/dev/null || bail "$tool not installed (scripts/deps.sh test)"
done
"$EG_PYTHON" -c 'import paho.mqtt' 2>/dev/null || bail "$EG_PYTHON has no paho-mqtt (python3-paho-mqtt)"
node -e 'require("mqtt")' 2>/dev/null || bail "MQTT.js not found via NODE_PATH=$NODE_PATH (cd tests/e2e && npm install)"

PORT=$(free_port)
start_bg probe "$PROBE" --port "$PORT" --log "$LOG" --publish-on-subscribe
wait_for_port "$PORT" || bail "probe did not listen on $PORT: $(cat "$E2E_TMP/probe.out")"

logcheck() { "$EG_PYTHON" "$C/logcheck.py" "$LOG" "$@"; }
# pub/sub run a mosquitto client against the probe; a failing exit status fails the check.
pub() {
  timeout 10 mosquitto_pub -h 127.0.0.1 -p "$PORT" "$@" || {
    echo "mosquitto_pub $* exited $?"
    return 1
  }
}
sub() {
  local out=$1
  shift
  timeout 15 mosquitto_sub -h 127.0.0.1 -p "$PORT" -W 10 "$@" >"$out" || {
    echo "mosquitto_sub $* exited $?; output: $(cat "$out")"
    return 1
  }
}
paho() { # paho ID VERSION [--connect-only]: output in $E2E_TMP/paho-VERSION[--connect-only].json
  local out="$E2E_TMP/paho-$2${3:-}.json"
  timeout 20 "$EG_PYTHON" "$C/paho_client.py" "$PORT" "$2" "$1" "${@:3}" >"$out" || {
    echo "paho_client.py exited $?: $(cat "$out")"
    return 1
  }
}
mqttjs() { # mqttjs ID VERSION: output in $E2E_TMP/ID.json
  timeout 20 node "$C/mqttjs_client.js" "$PORT" "$2" "$1" >"$E2E_TMP/$1.json" || {
    echo "mqttjs_client.js exited $?: $(cat "$E2E_TMP/$1.json")"
    return 1
  }
}
raw() { # raw NAME HEX...: what came back, in $E2E_TMP/NAME.json
  local name=$1
  shift
  timeout 10 "$EG_PYTHON" "$C/raw.py" "$PORT" "$@" >"$E2E_TMP/$name.json"
}

# ---------------------------------------------------------------- mosquitto_pub, MQTT 3.1.1
t_pub311_q0() {
  pub -V mqttv311 -i e2e-311-q0 -k 17 -t e2e/311/q0 -m 'hello 3.1.1' -q 0 -r &&
    logcheck --client e2e-311-q0 \
      'eq(connect["version"], 4)' 'eq(connect["keep_alive"], 17)' 'eq(connect["clean_start"], True)' \
      'eq(connect["will_flag"], False)' '"username" not in connect and "props" not in connect' \
      'eq([(p["topic"], p["payload"], p["qos"], p["retain"], p["flags"]) for p in pubs],
          [("e2e/311/q0", "hello 3.1.1", 0, True, 1)])' \
      'eq(first("DISCONNECT")["reason_code"], 0)'
}
check "mosquitto_pub 3.1.1: QoS 0 retained PUBLISH and CONNECT keep alive decoded" t_pub311_q0

t_pub311_will() {
  pub -V mqttv311 -i e2e-311-will -u alice -P 's3cret:pw' --will-topic e2e/will/311 \
    --will-payload 'gone 311' --will-qos 1 --will-retain -t e2e/311/q1 -m q1-payload -q 1 &&
    logcheck --client e2e-311-will \
      'eq((connect["username"], connect["password"]), ("alice", "s3cret:pw"))' \
      'eq((connect["will_flag"], connect["will_topic"], connect["will_payload"], connect["will_qos"],
           connect["will_retain"]), (True, "e2e/will/311", "gone 311", 1, True))' \
      'eq((pubs[0]["topic"], pubs[0]["payload"], pubs[0]["qos"], pubs[0]["flags"]), ("e2e/311/q1", "q1-payload", 1, 2))' \
      'pubs[0]["packet_id"] > 0' 'eq(first("PUBACK", outs)["packet_id"], pubs[0]["packet_id"])'
}
check "mosquitto_pub 3.1.1: will (topic, payload, QoS 1, retain) and username/password decoded" t_pub311_will

t_pub311_q2() {
  pub -V mqttv311 -i e2e-311-q2 -t e2e/311/q2 -m q2-payload -q 2 &&
    logcheck --client e2e-311-q2 \
      'eq((pubs[0]["qos"], pubs[0]["flags"], pubs[0]["payload"]), (2, 4, "q2-payload"))' \
      'eq([p["packet_id"] for p in of("PUBREC", outs) + of("PUBREL") + of("PUBCOMP", outs)], [pubs[0]["packet_id"]] * 3)' \
      'eq(first("PUBREL")["flags"], 2)'
}
check "mosquitto_pub 3.1.1: QoS 2 PUBLISH / PUBREC / PUBREL / PUBCOMP with matching packet ids" t_pub311_q2

# ---------------------------------------------------------------- mosquitto_pub, MQTT 5
t_pub5_connect() {
  pub -V mqttv5 -i e2e-5-conn -c -x 120 -k 33 -D connect receive-maximum 42 \
    -D connect maximum-packet-size 65536 -D connect request-problem-information 0 \
    -D connect request-response-information 1 -D connect topic-alias-maximum 7 \
    -D connect user-property ck1 cv1 -D connect user-property ck2 'cv 2' -t e2e/5/conn -m c -q 1 &&
    logcheck --client e2e-5-conn \
      'eq((connect["version"], connect["clean_start"], connect["keep_alive"]), (5, False, 33))' \
      'eq(connect["props"], {"session_expiry_interval": 120, "receive_maximum": 42, "maximum_packet_size": 65536,
          "request_problem_information": 0, "request_response_information": 1, "topic_alias_maximum": 7,
          "user_properties": [["ck1", "cv1"], ["ck2", "cv 2"]]})'
}
check "mosquitto_pub 5: CONNECT properties (session expiry, receive max, max packet size, user properties...)" t_pub5_connect

t_pub5_props() {
  pub -V mqttv5 -i e2e-5-props -t e2e/5/props -m '{"t":21.5}' -q 1 -r \
    -D publish user-property k1 v1 -D publish user-property k1 v2 \
    -D publish user-property 'key with space' 'välue ✓' -D publish content-type application/json \
    -D publish payload-format-indicator 1 -D publish message-expiry-interval 300 \
    -D publish response-topic e2e/reply -D publish correlation-data corr-xyz -D publish topic-alias 3 &&
    logcheck --client e2e-5-props \
      'eq((pubs[0]["topic"], pubs[0]["payload"], pubs[0]["qos"], pubs[0]["retain"]), ("e2e/5/props", "{\"t\":21.5}", 1, True))' \
      'eq(pubs[0]["props"], {"user_properties": [["k1", "v1"], ["k1", "v2"], ["key with space", "välue ✓"]],
          "content_type": "application/json", "payload_format_indicator": 1, "message_expiry_interval": 300,
          "response_topic": "e2e/reply", "correlation_data": "corr-xyz", "topic_alias": 3})' \
      'eq(first("PUBACK", outs)["packet_id"], pubs[0]["packet_id"])'
}
check "mosquitto_pub 5: PUBLISH properties (user properties in order, content type, expiry, alias...)" t_pub5_props

t_pub5_will() {
  pub -V mqttv5 -i e2e-5-will -u bob -P 'pässword' --will-topic e2e/will/5 --will-payload 'gone 5' \
    --will-qos 2 --will-retain -D will will-delay-interval 30 -D will content-type text/will \
    -D will user-property wk wv -D will message-expiry-interval 600 -D will payload-format-indicator 1 \
    -D will response-topic e2e/will/resp -D will correlation-data wcorr -t e2e/5/will -m w &&
    logcheck --client e2e-5-will \
      'eq((connect["username"], connect["password"]), ("bob", "pässword"))' \
      'eq((connect["will_topic"], connect["will_payload"], connect["will_qos"], connect["will_retain"]),
          ("e2e/will/5", "gone 5", 2, True))' \
      'eq(connect["will_props"], {"will_delay_interval": 30, "content_type": "text/will",
          "user_properties": [["wk", "wv"]], "message_expiry_interval": 600, "payload_format_indicator": 1,
          "response_topic": "e2e/will/resp", "correlation_data": "wcorr"})'
}
check "mosquitto_pub 5: will with will properties (delay, content type, ...) and username/password" t_pub5_will

t_pub5_q2() {
  pub -V mqttv5 -i e2e-5-q2 -x 60 -t e2e/5/q2 -m q2 -q 2 \
    -D disconnect session-expiry-interval 10 -D disconnect user-property dk dv &&
    logcheck --client e2e-5-q2 \
      'eq([p["packet_id"] for p in of("PUBREC", outs) + of("PUBREL") + of("PUBCOMP", outs)], [pubs[0]["packet_id"]] * 3)' \
      'eq((first("DISCONNECT")["reason_code"], first("DISCONNECT")["props"]),
          (0, {"session_expiry_interval": 10, "user_properties": [["dk", "dv"]]}))'
}
check "mosquitto_pub 5: QoS 2 flow, and DISCONNECT with properties" t_pub5_q2

head -c 307200 /dev/urandom >"$E2E_TMP/big.bin"
t_pub5_big() {
  pub -V mqttv5 -i e2e-5-big -t e2e/5/big -f "$E2E_TMP/big.bin" -q 1 &&
    logcheck --client e2e-5-big \
      'eq(pubs[0]["payload_len"], 307200)' \
      "eq(pubs[0][\"payload_sha256\"], sha256_file(\"$E2E_TMP/big.bin\"))" \
      'eq(first("PUBACK", outs)["packet_id"], pubs[0]["packet_id"])'
}
check "mosquitto_pub 5: 300 KiB binary payload arrives intact (SHA-256)" t_pub5_big

t_pub5_utf8() {
  pub -V mqttv5 -i e2e-5-utf8 -t 'e2e/café/温度' -n -r &&
    logcheck --client e2e-5-utf8 \
      'eq((pubs[0]["topic"], pubs[0]["payload_len"], pubs[0]["retain"], pubs[0]["props"]), ("e2e/café/温度", 0, True, {}))'
}
check "mosquitto_pub 5: empty retained payload on a non-ASCII UTF-8 topic" t_pub5_utf8

head -c 614400 /dev/zero >"$E2E_TMP/huge.bin"
t_pub5_toolarge() {
  # The CONNACK says Maximum Packet Size 524288: libmosquitto must not send a 600 KiB PUBLISH
  # (if it did, the probe would log a frame error 0x95, which logcheck reports).
  timeout 10 mosquitto_pub -h 127.0.0.1 -p "$PORT" -V mqttv5 -i e2e-5-huge -t e2e/5/huge \
    -f "$E2E_TMP/huge.bin" -q 1 >/dev/null 2>&1
  logcheck --client e2e-5-huge 'eq(len(pubs), 0)' 'eq(len(of("DISCONNECT")), 1)' \
    'eq(first("CONNACK", outs)["props"]["maximum_packet_size"], 524288)'
}
check "mosquitto_pub 5: honours the Maximum Packet Size of our CONNACK (600 KiB not sent)" t_pub5_toolarge

# ---------------------------------------------------------------- mosquitto_sub
SUB5_OUT=$E2E_TMP/sub5.txt
# (mosquitto_sub 2.0 has no option for no-local or retain handling: paho and MQTT.js cover them.)
sub "$SUB5_OUT" -V 5 -i e2e-sub5 -t 'e2e/sub5/+/temp' -t 'e2e/sub5/#' -t e2e/sub5/exact -q 2 \
  --retain-as-published -D subscribe subscription-identifier 7 -D subscribe user-property sk sv \
  -C 3 -F '%t|%p|%q|%P|%C|%F|%R|%E|%S|%D|%r' >"$E2E_TMP/sub5.err" 2>&1
SUB5_RC=$?
check "mosquitto_sub 5: SUBSCRIBE with several filters, options and subscription identifier decoded" \
  logcheck --client e2e-sub5 \
  'eq(first("SUBSCRIBE")["subscriptions"], [{"filter": f, "qos": 2, "no_local": False, "retain_as_published": True,
      "retain_handling": 0} for f in ("e2e/sub5/+/temp", "e2e/sub5/#", "e2e/sub5/exact")])' \
  'eq(first("SUBSCRIBE")["props"], {"subscription_ids": [7], "user_properties": [["sk", "sv"]]})' \
  'eq(first("SUBACK", outs)["reason_codes"], [2, 2, 2])'

t_sub5_received() {
  [ "$SUB5_RC" -eq 0 ] || {
    echo "mosquitto_sub exited $SUB5_RC: $(cat "$E2E_TMP/sub5.err")"
    return 1
  }
  logcheck --client e2e-sub5 --file out="$SUB5_OUT" \
    'eq(out, [t + "|probe-message|2|k1:v1 k2:v2|text/plain|1|resp/topic|3600|7|corr-1|0"
              for t in ("e2e/sub5/probe/temp", "e2e/sub5/probe", "e2e/sub5/exact")])'
}
check "mosquitto_sub 5: receives our PUBLISHes with topic, payload, QoS 2 and all properties" t_sub5_received

check "mosquitto_sub 5: QoS 2 deliveries acknowledged (PUBREC, our PUBREL, PUBCOMP per packet id)" \
  logcheck --client e2e-sub5 \
  'len(out_pubs) == 3 and all(p["flags"] == 4 for p in out_pubs)' \
  'eq(sorted(p["packet_id"] for p in of("PUBREC")), sorted(p["packet_id"] for p in out_pubs))' \
  'eq(sorted(p["packet_id"] for p in of("PUBREL", outs)), sorted(p["packet_id"] for p in out_pubs))' \
  'eq(sorted(p["packet_id"] for p in of("PUBCOMP")), sorted(p["packet_id"] for p in out_pubs))'

SUB311_OUT=$E2E_TMP/sub311.txt
t_sub311() {
  sub "$SUB311_OUT" -V 311 -i e2e-sub311 -t e2e/sub311/a -t 'e2e/sub311/+/b' -q 1 -C 2 -F '%t|%p|%q|%r' &&
    logcheck --client e2e-sub311 --file out="$SUB311_OUT" \
      'eq(connect["version"], 4)' \
      'eq([(s["filter"], s["qos"]) for s in first("SUBSCRIBE")["subscriptions"]], [("e2e/sub311/a", 1), ("e2e/sub311/+/b", 1)])' \
      'eq(first("SUBACK", outs)["reason_codes"], [1, 1])' \
      'eq(out, ["e2e/sub311/a|probe-message|1|0", "e2e/sub311/probe/b|probe-message|1|0"])' \
      'all("props" not in p for p in out_pubs)' \
      'eq(sorted(p["packet_id"] for p in of("PUBACK")), sorted(p["packet_id"] for p in out_pubs))'
}
check "mosquitto_sub 3.1.1: SUBSCRIBE decoded, our QoS 1 PUBLISHes received and PUBACKed" t_sub311

t_sub_unsub() {
  sub "$E2E_TMP/unsub.txt" -V 5 -i e2e-unsub -t e2e/unsub/x -U e2e/unsub/old -U 'e2e/unsub/+/older' -C 1 &&
    logcheck --client e2e-unsub \
      'eq([u["filters"] for u in of("UNSUBSCRIBE")], [["e2e/unsub/old"], ["e2e/unsub/+/older"]])' \
      'eq([u["flags"] for u in of("UNSUBSCRIBE")], [2, 2])'
}
check "mosquitto_sub 5: UNSUBSCRIBE (-U) filters decoded" t_sub_unsub

# ---------------------------------------------------------------- Eclipse Paho (Python)
P311=$E2E_TMP/paho-311.json
t_paho311_decoded() {
  paho e2e-paho311 311 &&
    logcheck --client e2e-paho311 \
      'eq((connect["version"], connect["keep_alive"], connect["username"], connect["password"]),
          (4, 25, "paho311-user", "paho311-pass"))' \
      'eq((connect["will_topic"], connect["will_payload"], connect["will_qos"]), ("paho311/will", "paho-gone", 1))' \
      'eq([(s["filter"], s["qos"]) for s in first("SUBSCRIBE")["subscriptions"]], [("paho311/a", 1), ("paho311/+/c", 2)])' \
      'eq([(p["topic"], p["qos"], p["retain"]) for p in pubs],
          [("paho311/pub/q0", 0, True), ("paho311/pub/q1", 1, False), ("paho311/pub/q2", 2, False)])' \
      'eq((pubs[0]["payload"], pubs[1]["payload_hex"], pubs[2]["payload"]), ("zero", bytes(range(256)).hex(), "two é温"))' \
      'eq(first("UNSUBSCRIBE")["filters"], ["paho311/a", "paho311/+/c"])'
}
check "paho 3.1.1: CONNECT, SUBSCRIBE, QoS 0/1/2 PUBLISH (binary, UTF-8) and UNSUBSCRIBE decoded" t_paho311_decoded

check "paho 3.1.1: receives our QoS 1 and 2 PUBLISHes and acknowledges them" \
  logcheck --client e2e-paho311 --file cl="$P311" \
  'eq(cl["connack"], {"session_present": 0, "rc": 0, "props": None})' \
  'eq(cl["granted"], [1, 2])' \
  'eq(sorted((m["topic"], m["payload"], m["qos"]) for m in cl["messages"]),
      [("paho311/a", "probe-message", 1), ("paho311/probe/c", "probe-message", 2)])' \
  'eq([p["packet_id"] for p in of("PUBACK")], [p["packet_id"] for p in out_pubs if p["qos"] == 1])' \
  'eq([p["packet_id"] for p in of("PUBCOMP")], [p["packet_id"] for p in out_pubs if p["qos"] == 2])'

P5=$E2E_TMP/paho-5.json
t_paho5_connect() {
  paho e2e-paho5 5 &&
    logcheck --client e2e-paho5 \
      'eq(connect["props"], {"session_expiry_interval": 45, "receive_maximum": 33, "maximum_packet_size": 200000,
          "user_properties": [["c1", "x"], ["c1", "y"]]})' \
      'eq(connect["will_props"], {"will_delay_interval": 15, "user_properties": [["will-k", "will-v"]]})'
}
check "paho 5: CONNECT and will properties decoded (repeated user property key kept in order)" t_paho5_connect

check "paho 5: paho decodes our CONNACK properties" \
  logcheck --client e2e-paho5 --file cl="$P5" \
  'eq(cl["connack"], {"session_present": 0, "rc": 0, "props": {"ServerKeepAlive": 25, "ReceiveMaximum": 1000,
      "TopicAliasMaximum": 10, "MaximumPacketSize": 524288}})'

check "paho 5: SUBSCRIBE per-filter options and subscription identifier decoded; SUBACK codes received" \
  logcheck --client e2e-paho5 --file cl="$P5" \
  'eq(first("SUBSCRIBE")["subscriptions"], [
      {"filter": "paho5/a", "qos": 1, "no_local": True, "retain_as_published": False, "retain_handling": 1},
      {"filter": "paho5/+/c", "qos": 2, "no_local": False, "retain_as_published": True, "retain_handling": 2},
      {"filter": "paho5/#", "qos": 0, "no_local": False, "retain_as_published": False, "retain_handling": 0}])' \
  'eq(first("SUBSCRIBE")["props"], {"subscription_ids": [42], "user_properties": [["sub-k", "sub-v"]]})' \
  'eq(cl["granted"], [1, 2, 0])'

check "paho 5: receives our PUBLISHes with every property intact (QoS 0/1/2, subscription id 42)" \
  logcheck --client e2e-paho5 --file cl="$P5" \
  'eq(sorted((m["topic"], m["payload"], m["qos"]) for m in cl["messages"]),
      [("paho5/a", "probe-message", 1), ("paho5/probe", "probe-message", 0), ("paho5/probe/c", "probe-message", 2)])' \
  'all(eq(m["props"], {"PayloadFormatIndicator": 1, "MessageExpiryInterval": 3600, "ContentType": "text/plain",
      "ResponseTopic": "resp/topic", "CorrelationData": b"corr-1".hex(), "SubscriptionIdentifier": [42],
      "UserProperty": [["k1", "v1"], ["k2", "v2"]]}) for m in cl["messages"])' \
  'eq(len(of("PUBACK")) + len(of("PUBCOMP")), 2)'

check "paho 5: PUBLISH properties decoded (binary correlation data, repeated user keys, topic alias)" \
  logcheck --client e2e-paho5 \
  'eq(pubs[0]["props"], {"user_properties": [["u1", "a"], ["u2", "b"], ["u1", "c"]],
      "content_type": "text/plain; charset=utf-8", "payload_format_indicator": 1, "message_expiry_interval": 99,
      "response_topic": "paho5/reply", "correlation_data_hex": "0001feff"})' \
  'eq((pubs[1]["topic"], pubs[1]["props"], pubs[1]["payload_hex"]), ("paho5/pub/q1", {"topic_alias": 2}, bytes(range(256)).hex()))' \
  'eq((pubs[2]["qos"], pubs[2]["payload"], pubs[2]["props"]), (2, "two é温", {"user_properties": [["q", "2"]]}))'

check "paho 5: UNSUBSCRIBE and DISCONNECT (reason 0x04, properties) decoded; UNSUBACK codes received" \
  logcheck --client e2e-paho5 --file cl="$P5" \
  'eq((first("UNSUBSCRIBE")["filters"], first("UNSUBSCRIBE")["props"]),
      (["paho5/a", "paho5/+/c"], {"user_properties": [["unsub-k", "unsub-v"]]}))' \
  'eq(cl["unsuback"], [0, 0])' \
  'eq((first("DISCONNECT")["reason_code"], first("DISCONNECT")["props"]),
      (4, {"reason_string": "paho says bye", "user_properties": [["disc-k", "disc-v"]]}))'

t_paho5_assigned() {
  paho "" 5 --connect-only &&
    logcheck --client "" --file cl="$E2E_TMP/paho-5--connect-only.json" \
      'eq(connect["client_id"], "")' \
      'eq(cl["connack"]["props"]["AssignedClientIdentifier"], first("CONNACK", outs)["props"]["assigned_client_identifier"])' \
      're.fullmatch(r"probe-\d+", cl["connack"]["props"]["AssignedClientIdentifier"])'
}
check "paho 5: empty client id; paho reads our Assigned Client Identifier" t_paho5_assigned

# ---------------------------------------------------------------- MQTT.js
J4=$E2E_TMP/e2e-js4.json
t_js4_decoded() {
  mqttjs e2e-js4 4 &&
    logcheck --client e2e-js4 \
      'eq((connect["version"], connect["keep_alive"], connect["username"], connect["password"]), (4, 40, "js4-user", "js4-pass"))' \
      'eq((connect["will_topic"], connect["will_payload"], connect["will_qos"], connect["will_retain"]), ("js4/will", "js-gone", 2, True))' \
      'eq([(s["filter"], s["qos"]) for s in first("SUBSCRIBE")["subscriptions"]], [("js4/a", 1), ("js4/+/b", 2)])' \
      'eq([(p["topic"], p["qos"], p["retain"], p.get("payload", p.get("payload_hex"))) for p in pubs],
          [("js4/pub/q0", 0, True, "zero"), ("js4/pub/q1", 1, False, "000102ff"), ("js4/pub/q2", 2, False, "two")])' \
      'eq(first("UNSUBSCRIBE")["filters"], ["js4/a"])'
}
check "MQTT.js 3.1.1: CONNECT with will, SUBSCRIBE, QoS 0/1/2 PUBLISH, UNSUBSCRIBE decoded" t_js4_decoded

check "MQTT.js 3.1.1: receives our QoS 1 and 2 PUBLISHes and acknowledges them" \
  logcheck --client e2e-js4 --file cl="$J4" \
  'eq((cl["connack"]["code"], cl["granted"]), (0, [1, 2]))' \
  'eq([(m["topic"], m["payload"], m["qos"]) for m in cl["messages"]], [("js4/a", "probe-message", 1), ("js4/probe/b", "probe-message", 2)])' \
  'eq([p["packet_id"] for p in of("PUBACK") + of("PUBCOMP")], [p["packet_id"] for p in out_pubs])'

J5=$E2E_TMP/e2e-js5.json
t_js5_connect() {
  mqttjs e2e-js5 5 &&
    logcheck --client e2e-js5 --file cl="$J5" \
      'eq(connect["props"], {"session_expiry_interval": 300, "receive_maximum": 64, "maximum_packet_size": 100000,
          "topic_alias_maximum": 4, "request_response_information": 1, "request_problem_information": 0,
          "user_properties": [["app", "mqttjs"], ["tags", "t1"], ["tags", "t2"]]})' \
      'eq(connect["will_props"], {"will_delay_interval": 7, "content_type": "text/will", "user_properties": [["wk", "wv"]]})' \
      'eq(cl["connack"]["properties"], {"serverKeepAlive": 40, "receiveMaximum": 1000, "topicAliasMaximum": 10,
          "maximumPacketSize": 524288})'
}
check "MQTT.js 5: CONNECT/will properties decoded; MQTT.js decodes our CONNACK properties" t_js5_connect

check "MQTT.js 5: SUBSCRIBE options (nl, rap, rh) and subscription identifier decoded" \
  logcheck --client e2e-js5 \
  'eq(first("SUBSCRIBE")["subscriptions"], [
      {"filter": "js5/a", "qos": 1, "no_local": True, "retain_as_published": True, "retain_handling": 1},
      {"filter": "js5/+/b", "qos": 2, "no_local": False, "retain_as_published": False, "retain_handling": 2}])' \
  'eq(first("SUBSCRIBE")["props"], {"subscription_ids": [5], "user_properties": [["s", "sv"]]})'

check "MQTT.js 5: PUBLISH properties decoded (array user property value becomes repeated pairs)" \
  logcheck --client e2e-js5 \
  'eq([p["topic"] for p in pubs[:3]], ["js5/pub/q0", "js5/pub/q1", "js5/pub/q2"])' \
  'eq(pubs[2]["props"], {"user_properties": [["a", "1"], ["multi", "x"], ["multi", "y"]],
      "content_type": "application/octet-stream", "response_topic": "js5/reply", "correlation_data": "js-corr",
      "message_expiry_interval": 120, "payload_format_indicator": 1})'

check "MQTT.js 5: topic alias from the client (topic+alias, then alias only) decoded; alias 11 > our maximum refused by MQTT.js" \
  logcheck --client e2e-js5 --file cl="$J5" \
  'eq([(p["topic"], p["payload"], p["props"]) for p in pubs[3:]],
      [("js5/alias/topic", "aliased-1", {"topic_alias": 3}), ("", "aliased-2", {"topic_alias": 3})])' \
  'eq(cl["aliasError"], "Sending Topic Alias out of range")'

check "MQTT.js 5: receives our PUBLISHes with properties, and our topic alias (alias-only copy resolved)" \
  logcheck --client e2e-js5 --file cl="$J5" \
  'all(eq(m["properties"], {"payloadFormatIndicator": True, "messageExpiryInterval": 3600, "contentType": "text/plain",
      "responseTopic": "resp/topic", "correlationData": "corr-1", "subscriptionIdentifier": 5, "topicAlias": 1,
      "userProperties": {"k1": "v1", "k2": "v2"}}) for m in cl["messages"])' \
  'eq([(m["topic"], m["wireTopic"], m["qos"]) for m in cl["messages"] if m["qos"] == 1], [("js5/a", "js5/a", 1), ("js5/a", "", 1)])' \
  'eq([p["topic"] for p in out_pubs], ["js5/a", "", "js5/probe/b", ""])' \
  'eq(sorted(p["packet_id"] for p in of("PUBACK") + of("PUBCOMP")), sorted(p["packet_id"] for p in out_pubs))'

check "MQTT.js 5: UNSUBSCRIBE and DISCONNECT properties decoded" \
  logcheck --client e2e-js5 \
  'eq((first("UNSUBSCRIBE")["filters"], first("UNSUBSCRIBE")["props"]), (["js5/a"], {"user_properties": [["u", "uv"]]}))' \
  'eq((first("DISCONNECT")["reason_code"], first("DISCONNECT")["props"]), (0, {"reason_string": "js bye", "session_expiry_interval": 0}))'

# ---------------------------------------------------------------- raw packets
# A broker must close the connection on a malformed packet; in v5 it first sends CONNACK
# (during CONNECT) or DISCONNECT with the reason code. raw.py reports what came back.
# After a good CONNECT the answer starts with our CONNACK: 20 LEN 00 00 (success) props...
# and a v5 DISCONNECT with a reason and no properties is e0 01 RC.
CONNECT5=101000044d5154540502003c000003726177 # v5, clean start, keep alive 60, client id "raw"
t_raw() { # t_raw NAME EXPR HEX...: EXPR over r (raw.py's answer) and the probe's log
  local name=$1 expr=$2
  shift 2
  raw "$name" "$@" &&
    logcheck --last --allow-errors --file r="$E2E_TMP/$name.json" 'eq(r["closed"], True, "connection closed")' "$expr"
}
# The v5 CONNACK is 20 03 00 81 00: no session present, reason 0x81, empty properties.
check "raw: v5 CONNECT with the reserved flag set gets CONNACK 0x81, then close" \
  t_raw reserved5 'eq(r["received_hex"], "2003008100") and eq((errs[0]["type"], errs[0]["error"]["reason"],
    errs[0]["error"]["version"]), ("CONNECT", 0x81, 5))' 101000044d5154540503003c000003726177
check "raw: v3.1.1 CONNECT with the reserved flag set is closed without CONNACK" \
  t_raw reserved311 'eq(r["received_hex"], "") and eq((errs[0]["error"]["reason"], errs[0]["error"]["version"]),
    (0x81, 4))' 100f00044d5154540403003c0003726177
check "raw: CONNECT with protocol level 6 gets the 3.1.1 CONNACK 0x01 (0x84 logged), then close" \
  t_raw level6 'eq(r["received_hex"], "20020001") and eq(errs[0]["error"]["reason"], 0x84)' \
  101000044d5154540602003c000003726177
check "raw: v5 PUBLISH with QoS 3 gets DISCONNECT 0x81, then close" \
  t_raw qos3 'eq(r["received_hex"][:2] + r["received_hex"][4:8] + r["received_hex"][-6:], "200000e00181") and
    eq((errs[0]["type"], errs[0]["error"]["reason"]), ("PUBLISH", 0x81))' "$CONNECT5" 36090003612f6200010078
check "raw: v5 PUBLISH announcing 600 KiB (> 512 KiB) gets DISCONNECT 0x95 before its body" \
  t_raw toolarge 'r["received_hex"].endswith("e00195") and eq(errs[0]["error"]["reason"], 0x95)' \
  "$CONNECT5" 3080c0250003612f62
check "raw: v5 remaining length of 5 bytes gets DISCONNECT 0x81, then close" \
  t_raw badlength 'r["received_hex"].endswith("e00181") and eq(errs[0]["error"]["reason"], 0x81)' \
  "$CONNECT5" 30ffffffff7f
check "raw: v5 PUBLISH with payload format 1 and invalid UTF-8 is decoded and gets PUBACK 0x99" \
  t_raw badutf8 'r["received_hex"].endswith("4003000199") and eq(errs, []) and
    eq((pubs[0]["decode_rc"], pubs[0]["payload_hex"], pubs[0]["reencode"]), (0x99, "fffe", "ok"))' \
  "$CONNECT5" 320c0003612f620001020101fffe e000

# ---------------------------------------------------------------- the probe itself
stop_bg probe # here, not in check's subshell: the probe is this shell's child
PROBE_RC=$?
t_probe_exit() {
  [ "$PROBE_RC" -eq 0 ] || {
    echo "probe exited $PROBE_RC on SIGTERM"
    cat "$E2E_TMP/probe.out"
    return 1
  }
  if grep -E 'runtime error|AddressSanitizer|LeakSanitizer' "$E2E_TMP/probe.out"; then
    return 1
  fi
}
check "probe: exits 0 on SIGTERM with no sanitizer report from the codec" t_probe_exit

e2e_finish
