#!/usr/bin/env bash
# End-to-end: the real broker (the sanitizer build of egbroker) driven by Eclipse Paho
# (Python paho-mqtt 1.6.1) and small raw-socket clients, MQTT 3.1.1 and 5.0.
#
# Each tests/e2e/broker/paho_*.py file gets brokers of its own (so a broker crash shows up
# in that file only) and they run in parallel; each prints `ok`/`not ok` lines. After the
# tests, every broker is stopped with SIGTERM and must exit 0 with no sanitizer report.
#
#   paho_connect.py  CONNACK properties, assigned client id, keep alive, take-over
#   paho_pubsub.py   QoS 0/1/2 across versions, ordering, downgrade, overlapping
#                    subscriptions, no-local, UNSUBSCRIBE, shared subscriptions, Receive
#                    Maximum, Maximum Packet Size
#   paho_retain.py   retained messages, Retain As Published, Retain Handling, expiry
#   paho_props.py    v5 property pass-through, message expiry, topic aliases, UTF-8 payloads
#   paho_session.py  persistent sessions, clean start, session expiry, overflow, re-sending
#   paho_will.py     will messages and Will Delay
#   paho_sigterm.py  SIGTERM (DISCONNECT 0x8B, exit status checked here)
#   paho_flow.py     flow control: slow subscribers pause publishers; stuck ones are dropped
#
# Environment (set by tests/run.sh): EG_BIN (sanitizer binaries), EG_PYTHON (Debian python3
# with paho-mqtt). E2E_KEEP=1 keeps the temp dir with the broker logs.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
e2e_init

BROKER=$EG_BIN/egbroker
DIR=tests/e2e/broker
[ -x "$BROKER" ] || bail "$BROKER not built (make binaries)"
"$EG_PYTHON" -c 'import paho.mqtt.client' 2>/dev/null || bail "$EG_PYTHON has no paho-mqtt (python3-paho-mqtt)"

SMALL_LIMITS='{"max_session_expiry": 60, "queue_max_messages": 5}'
FLOW_LIMITS='{"queue_max_messages": 20, "slow_subscriber_timeout": 5}'

# start_broker NAME [LIMITS_JSON]: starts a broker on a free port; the port is in $BROKER_PORT.
start_broker() {
  local name=$1 limits=${2:-"{}"} port attempt
  mkdir -p "$E2E_TMP/$name-data"
  for attempt in 1 2 3; do
    port=$(free_port)
    cat >"$E2E_TMP/$name.json" <<EOF
{"listeners": [{"type": "mqtt", "bind": "127.0.0.1", "port": $port}],
 "limits": $limits, "data_dir": "$E2E_TMP/$name-data", "log_level": "debug"}
EOF
    start_bg "$name" "$BROKER" --config "$E2E_TMP/$name.json"
    if started_and_listening "$name" "$port"; then
      BROKER_PORT=$port
      return 0
    fi
    stop_bg "$name" # lost the port to another process: try another
  done
  bail "broker $name did not listen: $(tail -5 "$E2E_TMP/$name.out")"
}

bg_pid() { # bg_pid NAME: pid of a process started with start_bg
  local i
  for i in "${!E2E_NAMES[@]}"; do
    [ "${E2E_NAMES[$i]}" = "$1" ] && echo "${E2E_PIDS[$i]}"
  done
}

BROKERS=()  # "name file" pairs, to check after the tests
FILES=()
declare -A PIDS

# run_file FILE VAR=BROKER...: starts the brokers named, then the python file in the background.
run_file() {
  local file=$1 env=() spec var name
  shift
  for spec in "$@"; do
    var=${spec%%=*}
    name=${spec#*=}
    name=${name%%:*}
    case $spec in
      *:small) start_broker "$name" "$SMALL_LIMITS" ;;
      *:flow) start_broker "$name" "$FLOW_LIMITS" ;;
      *) start_broker "$name" ;;
    esac
    env+=("$var=$BROKER_PORT")
    [ "$var" = EG_PORT ] && env+=("EG_BROKER_PID=$(bg_pid "$name")")
    BROKERS+=("$name $file")
  done
  env "${env[@]}" timeout 80 "$EG_PYTHON" "$DIR/$file" >"$E2E_TMP/$file.log" 2>&1 &
  PIDS[$file]=$!
  FILES+=("$file")
}

run_file paho_connect.py EG_PORT=connect EG_PORT_SMALL=connect-small:small
run_file paho_pubsub.py EG_PORT=pubsub
run_file paho_retain.py EG_PORT=retain
run_file paho_props.py EG_PORT=props
run_file paho_session.py EG_PORT=session EG_PORT_SMALL=session-small:small EG_PORT_B=session-b
run_file paho_will.py EG_PORT=will
run_file paho_sigterm.py EG_PORT=sigterm
run_file paho_flow.py EG_PORT=flow:flow

for file in "${FILES[@]}"; do
  wait "${PIDS[$file]}"
  rc=$?
  echo "# --- $file"
  cat "$E2E_TMP/$file.log"
  if [ "$rc" -ne 0 ] && ! grep -q '^not ok ' "$E2E_TMP/$file.log"; then
    not_ok "$file ran to completion" "exit status $rc (124: timed out)" "$(tail -20 "$E2E_TMP/$file.log")"
  fi
done
# Count the python files' lines too, so that e2e_finish's summary and exit status cover them.
E2E_PASS=$((E2E_PASS + $(cat "$E2E_TMP"/*.py.log | grep -c '^ok ')))
E2E_FAIL=$((E2E_FAIL + $(cat "$E2E_TMP"/*.py.log | grep -c '^not ok ')))

echo "# --- brokers"
# The SIGTERM test's broker must already have exited, by itself, on the signal the test sent.
sig_pid=$(bg_pid sigterm)
for _ in $(seq 50); do
  kill -0 "$sig_pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$sig_pid" 2>/dev/null; then
  not_ok "SIGTERM: the broker exits by itself" "still running 5 s after the test's SIGTERM"
else
  ok "SIGTERM: the broker exits by itself"
fi

for entry in "${BROKERS[@]}"; do
  name=${entry%% *}
  file=${entry#* }
  stop_bg "$name"
  rc=$?
  log=$E2E_TMP/$name.out
  report=$(grep -E -A 12 'ERROR: (AddressSanitizer|LeakSanitizer)|WARNING: ThreadSanitizer|runtime error:' "$log" | head -30)
  what="broker $name ($file): exit status 0 on SIGTERM, no sanitizer report"
  [ "$name" = sigterm ] && what="broker $name ($file): exit status 0 after the test's SIGTERM, no sanitizer report"
  if [ "$rc" -eq 0 ] && [ -z "$report" ]; then
    ok "$what"
  else
    not_ok "$what" "exit status $rc" "${report:-$(tail -5 "$log")}"
  fi
done

e2e_finish
