#!/usr/bin/env bash
# End-to-end: durability (issue 8). Persistent sessions, their queued QoS 1 messages and
# retained messages survive a SIGTERM restart (periodic mode) and a kill -9 (sync mode);
# a session whose expiry ran out while the broker was down is gone; the store keeps no
# rows once everything is delivered. Phases in tests/e2e/broker/paho_durability.py.
#
# Environment (set by tests/run.sh): EG_BIN, EG_PYTHON. E2E_KEEP=1 keeps the temp dir.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
e2e_init

BROKER=$EG_BIN/egbroker
PY=tests/e2e/broker/paho_durability.py
[ -x "$BROKER" ] || bail "$BROKER not built (make test-binaries)"
"$EG_PYTHON" -c 'import paho.mqtt.client' 2>/dev/null || bail "$EG_PYTHON has no paho-mqtt (python3-paho-mqtt)"
export PYTHONPATH=tests/e2e/broker

# start_durable NAME MODE DATA_DIR [LIMITS]: a broker on a free port (in $EG_PORT) over DATA_DIR.
start_durable() {
  local name=$1 mode=$2 data=$3 limits=${4:-'{"queue_max_messages": 100000, "queue_max_bytes": 100000000}'}
  local port attempt
  mkdir -p "$data"
  for attempt in 1 2 3; do
    port=$(free_port)
    cat >"$E2E_TMP/$name.json" <<JSON
{"listeners": [{"type": "mqtt", "bind": "127.0.0.1", "port": $port}],
 "limits": $limits,
 "data_dir": "$data", "persistence": "$mode", "log_level": "debug"}
JSON
    start_bg "$name" "$BROKER" --config "$E2E_TMP/$name.json"
    if started_and_listening "$name" "$port"; then
      export EG_PORT=$port
      return 0
    fi
    stop_bg "$name"
  done
  bail "broker $name did not listen: $(tail -5 "$E2E_TMP/$name.out")"
}

bg_pid() { # bg_pid NAME: pid of a process started with start_bg
  local i
  for i in "${!E2E_NAMES[@]}"; do
    [ "${E2E_NAMES[$i]}" = "$1" ] && echo "${E2E_PIDS[$i]}"
  done
}

# phase ARGS...: runs a phase of paho_durability.py; its ok/not ok lines count here.
phase() {
  local out
  out=$("$EG_PYTHON" $PY "$@" 2>&1)
  printf '%s\n' "$out"
  E2E_PASS=$((E2E_PASS + $(printf '%s\n' "$out" | grep -c '^ok - ')))
  E2E_FAIL=$((E2E_FAIL + $(printf '%s\n' "$out" | grep -c '^not ok - ')))
  printf '%s\n' "$out" | grep -q '^ok - ' || printf '%s\n' "$out" | grep -q '^not ok - ' ||
    not_ok "phase $1" "no result: $out"
}

# rows DB SQL: one number from the store (read with Python's sqlite3 while the broker is down).
rows() {
  "$EG_PYTHON" -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$1" "$2"
}

N=200
TAG=$$

# --- SIGTERM restart, periodic mode
D1=$E2E_TMP/periodic
start_durable b1 periodic "$D1"
phase setup "$TAG" $N
stop_broker_checked b1 "periodic broker (before restart)"
sleep 3.5 # the 3 s session expires while the broker is down (and a 2 s message)
start_durable b2 periodic "$D1"
phase check "$TAG" $N
stop_broker_checked b2 "periodic broker (after restart)"
deliveries=$(rows "$D1/sessions.db" "SELECT count(*) FROM deliveries")
messages=$(rows "$D1/sessions.db" "SELECT count(*) FROM messages")
if [ "$deliveries" = 0 ] && [ "$messages" = 1 ]; then
  ok "the store keeps no delivered messages (deliveries 0, messages 1: the retained one)"
else
  not_ok "the store keeps no delivered messages" "deliveries=$deliveries messages=$messages (want 0 and 1)"
fi
if grep -q "session expired while down client=short-$TAG" "$E2E_TMP/b2.out"; then
  ok "the restart deleted the session that expired while the broker was down"
else
  not_ok "the restart deleted the session that expired while the broker was down" "$(grep store: "$E2E_TMP/b2.out")"
fi

# --- kill -9 in sync mode while a QoS 1 publisher is mid-stream
D2=$E2E_TMP/sync
start_durable c1 sync "$D2"
ACKED=$E2E_TMP/acked.txt
: >"$ACKED"
"$EG_PYTHON" $PY pubstream "$TAG" "$ACKED" &
PUB=$!
for _ in $(seq 100); do [ "$(wc -l <"$ACKED")" -ge 100 ] && break; sleep 0.05; done
C1=$(bg_pid c1)
kill -KILL "$C1"
wait "$C1" 2>/dev/null # bash would report it "Killed": expected here
wait "$PUB"
stop_bg c1
start_durable c2 sync "$D2"
phase acked "$TAG" "$ACKED"
stop_broker_checked c2 "sync broker (after kill -9)"

# --- session overflow deletes the session's rows: the store does not grow without bound
D4=$E2E_TMP/overflow
start_durable o1 periodic "$D4" '{"queue_max_messages": 5}'
phase overflow "$TAG" 30
stop_broker_checked o1 "overflow broker"
counts=$(rows "$D4/sessions.db" "SELECT (SELECT count(*) FROM sessions) || ' ' || (SELECT count(*) FROM deliveries) || ' ' || (SELECT count(*) FROM messages)")
[ "$counts" = "0 0 0" ] && ok "an overflowed session leaves no rows (sessions, deliveries, messages: 0 0 0)" ||
  not_ok "an overflowed session leaves no rows" "sessions, deliveries, messages: $counts"

# --- a store that cannot be read stops the broker
D3=$E2E_TMP/corrupt
mkdir -p "$D3"
head -c 8192 /dev/urandom >"$D3/sessions.db"
port=$(free_port)
printf '{"listeners": [{"type": "mqtt", "bind": "127.0.0.1", "port": %s}], "data_dir": "%s"}\n' "$port" "$D3" >"$E2E_TMP/corrupt.json"
out=$("$BROKER" --config "$E2E_TMP/corrupt.json" 2>&1)
rc=$?
if [ $rc -eq 1 ] && printf '%s' "$out" | grep -q "session store"; then
  ok "a corrupt store stops the broker (exit 1, says why)"
else
  not_ok "a corrupt store stops the broker (exit 1, says why)" "exit $rc" "$out"
fi

e2e_finish
