#!/usr/bin/env bash
# Event Grid compatibility ("compatibility": "eventgrid", docs/configuration.md): what Event
# Grid does not support is refused with its reason codes; the same operations are accepted in
# the default "mqtt" mode, so each case shows the switch at work.
#
#   1. two open-mode brokers, one "eventgrid", one default: broker/compat_cases.py (paho v5 and
#      v3.1.1, a raw client for a failed PUBACK), mosquitto_pub/sub -d (which also read the
#      CONNACK: mosquitto_pub refuses QoS 2 itself), and the disconnection reason in the log
#   2. the configuration: unknown modes and namespaces refused (exit 2, a clear message)
#   3. one broker serving ns1 (mqtt) and ns2 ("namespace_compatibility": eventgrid), enforced
#      by egcontrol: compat_cases.py again, ns2 refusing and ns1 accepting, client "dev"
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/enforcement/enf_lib.sh
e2e_init
tls_test_setup
command -v mosquitto_pub >/dev/null || bail "mosquitto_pub not installed (mosquitto-clients)"
CASES=tests/e2e/broker/compat_cases.py

# start_open NAME EXTRA_KEYS: an open-mode broker on a free port ($OPEN_PORT).
start_open() {
  local port
  for _ in 1 2 3; do
    port=$(free_port)
    echo "{\"listeners\": [{\"type\": \"mqtt\", \"bind\": \"127.0.0.1\", \"port\": $port}], $2 \"log_level\": \"debug\"}" \
      >"$E2E_TMP/$1.json"
    start_bg "$1" "$BROKER" --config "$E2E_TMP/$1.json"
    if started_and_listening "$1" "$port"; then
      OPEN_PORT=$port
      return 0
    fi
    stop_bg "$1"
  done
  bail "broker $1 did not listen: $(tail -5 "$E2E_TMP/$1.out")"
}

# --- 1. open mode
start_open eg '"compatibility": "eventgrid",'
EG_PORT=$OPEN_PORT
start_open mq ''
MQ_PORT=$OPEN_PORT
run_py open "$CASES" EG_PORT="$EG_PORT" EG_PORT_MQTT="$MQ_PORT" EG_OPEN_MODE=1

# mosq NAME EXPECTED_PATTERN CLIENT ARGS...: the client's -d output (and errors) must match.
mosq() {
  local name=$1 want=$2 out
  shift 2
  out=$(timeout 10 "$@" -d 2>&1)
  if grep -qE "$want" <<<"$out"; then ok "$name"
  else not_ok "$name" "expected /$want/ in the output of: $*" "$out"; fi
}
mosq "eventgrid: mosquitto_sub v5 \$share/g/t/x and t/y: SUBACK 158 (0x9E), 1" 'Subscribed \(mid: 1\): 158, 1' \
  mosquitto_sub -V mqttv5 -p "$EG_PORT" -i ms-eg -q 1 -t '$share/g/t/x' -t t/y -W 1
mosq "mqtt: mosquitto_sub v5 \$share/g/t/x and t/y: SUBACK 1, 1" 'Subscribed \(mid: 1\): 1, 1' \
  mosquitto_sub -V mqttv5 -p "$MQ_PORT" -i ms-mq -q 1 -t '$share/g/t/x' -t t/y -W 1
mosq "eventgrid: mosquitto_pub v5 with a will: CONNACK 131 (0x83)" 'received CONNACK \(131\)' \
  mosquitto_pub -V mqttv5 -p "$EG_PORT" -i mw-eg -t t/x -m hi --will-topic t/w --will-payload gone
mosq "mqtt: mosquitto_pub v5 with a will: CONNACK 0" 'received CONNACK \(0\)' \
  mosquitto_pub -V mqttv5 -p "$MQ_PORT" -i mw-mq -t t/x -m hi --will-topic t/w --will-payload gone
# mosquitto_pub reads the CONNACK: it refuses QoS 2 itself, and drops the retain flag
mosq "eventgrid: mosquitto_pub v5 -q 2 refuses itself (Maximum QoS 1 in the CONNACK)" 'Message QoS not supported' \
  mosquitto_pub -V mqttv5 -p "$EG_PORT" -i mq-eg -t t/x -m hi -q 2
mosq "mqtt: mosquitto_pub v5 -q 2: PUBCOMP" 'received PUBCOMP' \
  mosquitto_pub -V mqttv5 -p "$MQ_PORT" -i mq-mq -t t/x -m hi -q 2
mosq "eventgrid: mosquitto_pub v5 -r publishes without retain (Retain Available 0 in the CONNACK)" \
  'sending PUBLISH \(d0, q1, r0' mosquitto_pub -V mqttv5 -p "$EG_PORT" -i mr5-eg -t t/x -m hi -q 1 -r
mosq "eventgrid: mosquitto_pub v3.1.1 -q 1 -r: the connection is lost" 'connection was lost|protocol error' \
  mosquitto_pub -V mqttv311 -p "$EG_PORT" -i mr3-eg -t t/x -m hi -q 1 -r
mosq "mqtt: mosquitto_pub v3.1.1 -q 1 -r: PUBACK" 'received PUBACK' \
  mosquitto_pub -V mqttv311 -p "$MQ_PORT" -i mr3-mq -t t/x -m hi -q 1 -r

n=$(grep -c 'disconnection=ClientError' "$E2E_TMP/eg.out")
if [ "$n" -ge 10 ]; then ok "eventgrid: the refusals are logged with disconnection=ClientError ($n)"
else not_ok "eventgrid: refusals logged with disconnection=ClientError" "$n lines: $(grep -E 'closed|refused' "$E2E_TMP/eg.out" | tail -5)"; fi
stop_broker_checked eg "open-mode broker in eventgrid mode"
stop_broker_checked mq "open-mode broker in mqtt mode"

# --- 2. configuration
bad_config() { # NAME JSON MESSAGE_PART
  echo "$2" >"$E2E_TMP/bad.json"
  local out rc
  out=$(timeout 10 "$BROKER" --config "$E2E_TMP/bad.json" 2>&1)
  rc=$?
  if [ $rc -eq 2 ] && grep -qF "$3" <<<"$out"; then ok "configuration $1: exit 2 ($3)"
  else not_ok "configuration $1: exit 2 mentioning \"$3\"" "exit $rc: $out"; fi
}
bad_config "compatibility \"strict\"" '{"compatibility": "strict"}' '"compatibility" must be "mqtt" or "eventgrid"'
bad_config "namespace_compatibility for a namespace not served" \
  '{"namespace": "ns1", "namespace_compatibility": {"ns9": "eventgrid"}}' 'names "ns9", which this broker does not serve'
bad_config "namespace_compatibility value" \
  '{"namespace": "ns1", "namespace_compatibility": {"ns1": "EventGrid"}}' 'a "namespace_compatibility" value must be'

# --- 3. per namespace, enforced
ENF_BROKER_KEYS='"namespace_compatibility": {"ns2": "eventgrid"},'
enf_start broker control enf_start_ns_broker
n=0
for ns in ns1 ns2; do enf_open_ns $ns || n=$((n + $?)); done
[ $n -eq 0 ] && ok "namespaces ns1 and ns2 with client dev created with curl" || not_ok "resources created" "$n failed"
for ns in ns1 ns2; do
  NS=$ns
  if wait_insync 10; then ok "the broker is InSync for $ns"
  else not_ok "the broker is InSync for $ns" "$SYNC_ERROR"; fi
done
run_py namespaces "$CASES" EG_PORT="$PLAIN2_PORT" EG_PORT_MQTT="$PLAIN_PORT" EG_USERNAME=dev
stop_bg control
stop_broker_checked broker "broker serving ns1 (mqtt) and ns2 (eventgrid)"

e2e_finish
