#!/usr/bin/env bash
# End-to-end: malformed and hostile input against the real broker (sanitizer build of
# egbroker), over raw sockets. Each check is one case of tests/e2e/broker/raw_cases.py,
# which sends exact bytes and compares the broker's answer (CONNACK / DISCONNECT reason
# codes, SUBACK codes, closing or not, timing) with MQTT 5.0 / 3.1.1 and SPEC.md 3, 5, 6.
# At the end the brokers must exit 0 on SIGTERM with no sanitizer report.
#
# Environment (set by tests/run.sh): EG_BIN (sanitizer build), EG_PYTHON.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
e2e_init

BROKER=$EG_BIN/egbroker
CASES=tests/e2e/broker/raw_cases.py
[ -x "$BROKER" ] || bail "$BROKER not built (make test-binaries)"

# Main broker: default limits (512 KiB packets, Receive Maximum 1000, Topic Alias Maximum 10,
# connect_timeout 10 s). Second broker: connect_timeout 2 s, max_session_expiry 1 s.
PORT=$(free_port)
TPORT=$(free_port)
cat >"$E2E_TMP/main.json" <<EOF
{"listeners": [{"type": "mqtt", "bind": "127.0.0.1", "port": $PORT}], "log_level": "debug"}
EOF
cat >"$E2E_TMP/timeout.json" <<EOF
{"listeners": [{"type": "mqtt", "bind": "127.0.0.1", "port": $TPORT}], "limits": {"connect_timeout": 2, "max_session_expiry": 1}, "log_level": "debug"}
EOF
start_bg broker "$BROKER" --config "$E2E_TMP/main.json"
start_bg tbroker "$BROKER" --config "$E2E_TMP/timeout.json"
wait_for_port "$PORT" || bail "broker did not listen on $PORT: $(cat "$E2E_TMP/broker.out")"
wait_for_port "$TPORT" || bail "broker did not listen on $TPORT: $(cat "$E2E_TMP/tbroker.out")"

raw() { # raw NAME PORT CASE
  check "$1" timeout 30 "$EG_PYTHON" "$CASES" "$2" "$3"
}

# Before and at CONNECT
raw "reserved packet type 0 as first packet: closed without CONNACK" "$PORT" garbage_reserved_type
raw "HTTP request instead of CONNECT: closed at once without CONNACK" "$PORT" garbage_http
raw "PUBLISH before CONNECT: closed, nothing sent" "$PORT" publish_before_connect
raw "PINGREQ before CONNECT: closed, nothing sent" "$PORT" pingreq_before_connect
raw "v5 CONNECT reserved flag: CONNACK 0x81 then close" "$PORT" connect_reserved_flag_v5
raw "v3.1.1 CONNECT reserved flag: closed without CONNACK" "$PORT" connect_reserved_flag_v311
raw "protocol level 6: v5-format CONNACK 0x84 then close" "$PORT" protocol_level_6
raw "MQIsdp level 3: v3.1.1-format CONNACK return code 1 then close" "$PORT" mqisdp_level_3
raw "v5 second CONNECT: DISCONNECT 0x82 then close" "$PORT" second_connect_v5
raw "v3.1.1 second CONNECT: closed" "$PORT" second_connect_v311
raw "5-byte remaining length: DISCONNECT 0x81 then close" "$PORT" remaining_length_5_bytes
raw "5-byte remaining length as first packet: closed without CONNACK" "$PORT" remaining_length_5_bytes_first
raw "1 MiB CONNECT header: closed without waiting for the body" "$PORT" oversize_connect

# After CONNECT
raw "PUBLISH header announcing 600 KiB: DISCONNECT 0x95 before the body" "$PORT" oversize_announced
raw "PUBLISH QoS 3: DISCONNECT 0x81" "$PORT" publish_qos3
raw "v3.1.1 PUBLISH QoS 3: closed" "$PORT" publish_qos3_v311
raw "PUBLISH topic with '+': DISCONNECT 0x90" "$PORT" publish_wildcard_plus
raw "PUBLISH topic with '#': DISCONNECT 0x90" "$PORT" publish_wildcard_hash
raw "Topic Alias 11 (maximum 10 in CONNACK): DISCONNECT 0x94" "$PORT" topic_alias_11
raw "Topic Alias 0: DISCONNECT 0x94" "$PORT" topic_alias_0
raw "unset Topic Alias with empty topic: DISCONNECT 0x82" "$PORT" topic_alias_unknown
raw "Topic Alias set then used: messages arrive on the aliased topic" "$PORT" topic_alias_used
raw "v5 SUBSCRIBE a/#/b + valid filter: SUBACK [0x8F, 0x01], valid one delivers" "$PORT" subscribe_invalid_filter_v5
raw "v3.1.1 SUBSCRIBE a/#/b + valid filter: SUBACK [0x80, 0x01], valid one delivers" "$PORT" subscribe_invalid_filter_v311
raw "1001 QoS 2 PUBLISHes without PUBREL: 1000 PUBRECs then DISCONNECT 0x93" "$PORT" qos2_receive_maximum
raw "1500 completed QoS 2 flows free their Receive Maximum slots" "$PORT" qos2_pubrel_frees_slots
raw "payload format indicator 1 with invalid UTF-8: PUBACK 0x99, connection kept" "$PORT" payload_format_invalid
raw "PUBLISH of exactly 512 KiB accepted, 512 KiB + 1 byte: DISCONNECT 0x95" "$PORT" packet_size_boundary
raw "client Receive Maximum 2: at most 2 unacknowledged QoS 1 PUBLISHes out" "$PORT" receive_maximum_outbound
raw "QoS 2 PUBLISH re-sent with DUP before PUBREL is routed once" "$PORT" qos2_exactly_once
raw "PUBREL for an unknown packet id: PUBCOMP 0x92" "$PORT" pubrel_unknown_id
raw "unacknowledged QoS 1 re-sent with DUP=1, same id, on session resume" "$PORT" redelivery_qos1
raw "unacknowledged QoS 2 re-sent with DUP=1, same id, on session resume" "$PORT" redelivery_qos2
raw "UNSUBSCRIBE of a filter never subscribed: UNSUBACK 0x11 for it only" "$PORT" unsubscribe_nonexistent
raw "v3.1.1 empty ClientId with CleanSession=0: CONNACK return code 2" "$PORT" v311_empty_id_persistent
raw "session take-over: the old connection gets DISCONNECT 0x8E" "$PORT" takeover_v5
raw "will published when the server closes a connection for a protocol error" "$PORT" will_on_protocol_error
raw "Keep Alive 2 s and silence: DISCONNECT 0x8D after 3 s" "$PORT" keepalive_timeout

# Time and concurrency
raw "no CONNECT within connect_timeout (2 s): closed" "$TPORT" connect_timeout
raw "CONNECT trickled past connect_timeout (2 s), never complete: closed" "$TPORT" connect_timeout_trickle
raw "max_session_expiry 1 s: v3.1.1 persistent session gone 2 s after disconnect" "$TPORT" session_expiry_max_v311
raw "max_session_expiry 1 s: v5 CONNACK reports 1 s for 100 s asked, session then gone" "$TPORT" session_expiry_capped_v5
raw "slowloris CONNECT (one byte per 200 ms) still connects" "$PORT" slowloris_connect
raw "half a packet then a stall does not block other clients" "$PORT" stalled_half_packet
raw "200 connections opened and closed rapidly: broker keeps serving" "$PORT" churn_200

for b in broker tbroker; do
  stop_bg "$b"
  rc=$?
  if [ $rc -eq 0 ]; then ok "$b exits 0 on SIGTERM"; else not_ok "$b exits 0 on SIGTERM" "exit $rc" "$(tail -20 "$E2E_TMP/$b.out")"; fi
done
san=$(grep -hE 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error' "$E2E_TMP/broker.out" "$E2E_TMP/tbroker.out")
if [ -z "$san" ]; then ok "no sanitizer report from the brokers"; else
  not_ok "no sanitizer report from the brokers" "$(grep -hA30 -E 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error' "$E2E_TMP/broker.out" "$E2E_TMP/tbroker.out" | head -40)"; fi

e2e_finish
