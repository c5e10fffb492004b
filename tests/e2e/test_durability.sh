#!/usr/bin/env bash
# End-to-end: durability (issue 8). Persistent sessions, their queued QoS 1 messages, inbound
# QoS 2 state, pending wills and retained messages survive a SIGTERM restart (periodic mode)
# and a kill -9 (sync mode); a session whose expiry ran out while the broker was down is gone,
# also when it was connected at a crash (dated by the store's heartbeat); wills are judged by
# the saved snapshot under enforcement; sessions of a namespace no longer served are kept
# until they expire; a second broker on the same data_dir is refused; the store keeps no rows
# once everything is delivered. Phases in tests/e2e/broker/paho_durability.py.
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

LIMITS='{"queue_max_messages": 100000, "queue_max_bytes": 100000000}'

# start_durable NAME MODE DATA_DIR [LIMITS] [NAMESPACE]: a broker on a free port (in $EG_PORT)
# over DATA_DIR, enforcing NAMESPACE (from its snapshot saved in DATA_DIR) when given.
start_durable() {
  local name=$1 mode=$2 data=$3 limits=${4:-$LIMITS} ns=${5:+"\"namespace\": \"$5\","}
  local port attempt
  mkdir -p "$data"
  for attempt in 1 2 3; do
    port=$(free_port)
    cat >"$E2E_TMP/$name.json" <<JSON
{"listeners": [{"type": "mqtt", "bind": "127.0.0.1", "port": $port}],
 "limits": $limits, $ns
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

# hold SET: the clients of SET connect in the background (paho_durability.py hold) and stay
# connected until the broker goes away; returns once they are connected ($HOLDER: its pid).
hold() {
  local ready=$E2E_TMP/hold-$1.ready
  "$EG_PYTHON" $PY hold "$TAG" "$ready" "$1" >"$E2E_TMP/hold-$1.out" 2>&1 &
  HOLDER=$!
  for _ in $(seq 150); do
    [ -s "$ready" ] && return 0
    kill -0 "$HOLDER" 2>/dev/null || break
    sleep 0.1
  done
  not_ok "the clients of set $1 connect and stay" "$(cat "$E2E_TMP/hold-$1.out")"
}

# logged NAME DESCRIPTION PATTERN: ok when the output of the process NAME has a line matching PATTERN.
logged() {
  if grep -q -- "$3" "$E2E_TMP/$1.out"; then ok "$2"
  else not_ok "$2" "no line matching: $3" "$(grep store: "$E2E_TMP/$1.out" | tail -20)"; fi
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
hold stop # connected with their wills while the broker stops
stop_broker_checked b1 "periodic broker (before restart)"
wait "$HOLDER"
sleep 3.5 # the 3 s session expires while the broker is down (and a 2 s message)
start_durable b2 periodic "$D1"
phase check "$TAG" $N
stop_broker_checked b2 "periodic broker (after restart)"
deliveries=$(rows "$D1/sessions.db" "SELECT count(*) FROM deliveries")
messages=$(rows "$D1/sessions.db" "SELECT count(*) FROM messages")
pending=$(rows "$D1/sessions.db" "SELECT (SELECT count(*) FROM wills) || ' ' || (SELECT count(*) FROM qos2_in)")
if [ "$deliveries" = 0 ] && [ "$messages" = 1 ] && [ "$pending" = "0 0" ]; then
  ok "the store keeps no delivered messages, published wills or released QoS 2 ids (messages 1: the retained one)"
else
  not_ok "the store keeps no delivered messages, published wills or released QoS 2 ids" \
    "deliveries=$deliveries messages=$messages wills, qos2_in=$pending (want 0, 1, 0 0)"
fi
if grep -q "session expired while down client=short-$TAG" "$E2E_TMP/b2.out"; then
  ok "the restart deleted the session that expired while the broker was down"
else
  not_ok "the restart deleted the session that expired while the broker was down" "$(grep store: "$E2E_TMP/b2.out")"
fi

# --- kill -9 in sync mode while a QoS 1 publisher is mid-stream, and the "crash" set connected
D2=$E2E_TMP/sync
start_durable c1 sync "$D2"
hold crash
ACKED=$E2E_TMP/acked.txt
: >"$ACKED"
"$EG_PYTHON" $PY pubstream "$TAG" "$ACKED" &
PUB=$!
for _ in $(seq 100); do [ "$(wc -l <"$ACKED")" -ge 100 ] && break; sleep 0.05; done
C1=$(bg_pid c1)
kill -KILL "$C1"
KILLED_AT=$(date +%s%3N) # after: a killed process commits nothing later
wait "$C1" 2>/dev/null # bash would report it "Killed": expected here
wait "$PUB"
wait "$HOLDER"
stop_bg c1
# What the crash left: connected sessions still marked connected, a heartbeat from just before.
left=$(rows "$D2/sessions.db" "SELECT count(*) FROM sessions WHERE disconnected_at = 0
  AND client_id IN (CAST('cexp-$TAG' AS BLOB), CAST('ckeep-$TAG' AS BLOB), CAST('cwill-$TAG' AS BLOB))")
age=$(rows "$D2/sessions.db" "SELECT $KILLED_AT - alive_at FROM meta")
if [ "$left" = 3 ] && [ "$age" -ge 0 ] && [ "$age" -lt 1500 ]; then
  ok "kill -9 leaves the connected sessions marked connected and a heartbeat from ${age} ms before the kill"
else
  not_ok "kill -9 leaves the connected sessions marked connected and a heartbeat from just before the kill" \
    "sessions marked connected: $left (want 3), heartbeat $age ms before the kill (want 0 to 1500)"
fi
sleep 4 # the 3 s session, connected at the crash, expires while the broker is down
start_durable c2 sync "$D2"
phase acked "$TAG" "$ACKED"
phase crashcheck "$TAG"
logged c2 "the restart dates the sessions connected at the crash from the heartbeat" \
  "the broker stopped without closing the store (crash): [0-9]* sessions"
logged c2 "the session connected at the crash expired while the broker was down" \
  "session expired while down client=cexp-$TAG"

# --- a second broker on the same data_dir is refused while the first runs
port=$(free_port)
printf '{"listeners": [{"type": "mqtt", "bind": "127.0.0.1", "port": %s}], "data_dir": "%s"}\n' "$port" "$D2" >"$E2E_TMP/second.json"
out=$(timeout 20 "$BROKER" --config "$E2E_TMP/second.json" 2>&1)
rc=$?
if [ $rc -eq 1 ] && printf '%s' "$out" | grep -q "data_dir $D2 is in use by another egbroker (pid $(bg_pid c2)"; then
  ok "a second broker on the same data_dir exits 1 naming the directory and the first broker's pid"
else
  not_ok "a second broker on the same data_dir exits 1 naming the directory and the first broker's pid" \
    "exit $rc" "$out"
fi
stop_broker_checked c2 "sync broker (after kill -9)"

# --- session overflow deletes the session's rows: the store does not grow without bound
D4=$E2E_TMP/overflow
start_durable o1 periodic "$D4" '{"queue_max_messages": 5}'
phase overflow "$TAG" 30
stop_broker_checked o1 "overflow broker"
counts=$(rows "$D4/sessions.db" "SELECT (SELECT count(*) FROM sessions) || ' ' || (SELECT count(*) FROM deliveries) || ' ' || (SELECT count(*) FROM messages)")
[ "$counts" = "0 0 0" ] && ok "an overflowed session leaves no rows (sessions, deliveries, messages: 0 0 0)" ||
  not_ok "an overflowed session leaves no rows" "sessions, deliveries, messages: $counts"

# --- enforcement: restored sessions get their permissions from the saved snapshot, so a will
# is published only if its client may publish it; a namespace no longer served keeps its
# sessions until they expire, and serving it again brings them back
D5=$E2E_TMP/enforced
mkdir -p "$D5"
cat >"$D5/snapshot-durns.json" <<'JSON'
{"schema": 1, "namespace": "durns", "version": 1, "deleted": false,
 "settings": {"state": "Enabled", "maximumSessionExpiryInHours": 1, "maximumClientSessionsPerAuthenticationName": 8,
   "alternativeAuthenticationNameSources": [], "hostname": "durns.localhost", "throughputUnits": null},
 "caCertificates": [],
 "clients": [{"name": "dev", "authenticationName": "dev", "state": "Enabled",
   "validationScheme": "SubjectMatchesAuthenticationName", "allowedThumbprints": [], "attributes": {}}],
 "clientGroups": [{"name": "$all", "query": null}],
 "topicSpaces": [{"name": "tspace", "topicTemplates": ["t/#"]}],
 "permissionBindings": [
   {"name": "pubs", "clientGroupName": "$all", "topicSpaceName": "tspace", "permission": "Publisher"},
   {"name": "subs", "clientGroupName": "$all", "topicSpaceName": "tspace", "permission": "Subscriber"}]}
JSON
start_durable e1 periodic "$D5" "$LIMITS" durns
hold enf
stop_broker_checked e1 "enforcing broker (before restart)"
wait "$HOLDER"
sleep 3.5 # the 3 s session expires while its namespace is not served
start_durable e2 periodic "$D5" "$LIMITS" othername
logged e2 "sessions of a namespace not served: one warning with the counts (3 kept, the expired one deleted)" \
  "sessions of namespace=durns not restored: the namespace is not served (kept=3, deleted=1 "
stop_broker_checked e2 "broker serving another namespace"
counts=$(rows "$D5/sessions.db" "SELECT (SELECT count(*) FROM sessions WHERE realm = 'durns') || ' ' || (SELECT count(*) FROM wills)")
[ "$counts" = "3 2" ] && ok "the unexpired sessions of the namespace not served are kept, with their wills (3 2)" ||
  not_ok "the unexpired sessions of the namespace not served are kept, with their wills" "sessions, wills: $counts (want 3 2)"
start_durable e3 periodic "$D5" "$LIMITS" durns
phase enfcheck "$TAG"
logged e3 "the permitted will is published at the restart" "publishing will client=ewill-$TAG"
logged e3 "the will outside the client's permissions is denied at the restart" "will denied client=edeny-$TAG"
stop_broker_checked e3 "enforcing broker (after restart)"

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
