#!/usr/bin/env bash
# End-to-end: the real broker (sanitizer build of egbroker) driven by the Debian
# mosquitto clients (mosquitto_pub / mosquitto_sub 2.0.x) in MQTT 3.1.1 and 5.0.
#
# Each check publishes real values and compares what the subscriber printed (mosquitto_sub
# -F "%t|..."), what the broker logged, or the broker's exit status with what MQTT 5.0 /
# 3.1.1 and docs SPEC.md sections 1, 3, 5, 6 require.
#
# Subscribers run in the background and also subscribe to sync/NAME: `sub_sync NAME`
# publishes there until the subscriber printed it (so it is subscribed), and `sub_mark NAME
# TAG` publishes a marker and waits for it. The broker handles one connection's packets
# in order and routes each PUBLISH before acknowledging it, so once a marker published
# after X arrived, X would have arrived before it: absence checks need no sleeps.
#
# Environment (set by tests/run.sh): EG_BIN (sanitizer build), EG_PYTHON.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
e2e_init

BROKER=$EG_BIN/egbroker
[ -x "$BROKER" ] || bail "$BROKER not built (make test-binaries)"
for tool in mosquitto_pub mosquitto_sub sha256sum; do
  command -v "$tool" >/dev/null || bail "$tool not installed (scripts/deps.sh test)"
done

PORT=$(free_port)
cat >"$E2E_TMP/broker.json" <<EOF
{"listeners": [{"type": "mqtt", "bind": "127.0.0.1", "port": $PORT}], "log_level": "debug"}
EOF
start_bg broker "$BROKER" --config "$E2E_TMP/broker.json"
BLOG=$E2E_TMP/broker.out
wait_for_port "$PORT" || bail "broker did not listen on $PORT: $(cat "$BLOG")"

# pub ARGS...: mosquitto_pub against the broker, bounded in time.
pub() { timeout 10 mosquitto_pub -h 127.0.0.1 -p "$PORT" "$@"; }

# sub_start NAME FORMAT ARGS...: background mosquitto_sub (output in $E2E_TMP/sub_NAME.out)
# on the given topics plus sync/NAME; FORMAT must start with "%t|". Waits until subscribed.
sub_start() {
  local name=$1 fmt=$2
  shift 2
  start_bg "sub_$name" timeout 60 mosquitto_sub -h 127.0.0.1 -p "$PORT" -F "$fmt" "$@" -t "sync/$name"
  sub_sync "$name"
}
sub_out() { echo "$E2E_TMP/sub_$1.out"; }
# sub_mark NAME TAG: publishes TAG on sync/NAME until the subscriber printed one more sync/NAME
# line than before (whatever its format prints for the payload).
sub_mark() {
  local f i before
  f=$(sub_out "$1")
  before=$(cat "$f" 2>/dev/null | grep -c "^sync/$1|")
  for i in $(seq 50); do
    pub -t "sync/$1" -m "$2" -q 1 >/dev/null 2>&1
    [ "$(cat "$f" 2>/dev/null | grep -c "^sync/$1|")" -gt "$before" ] && return 0
    sleep 0.1
  done
  echo "# sync/$1: subscriber did not print marker $2" >&2
  return 1
}
sub_sync() { sub_mark "$1" ready; }
# lines NAME: what the subscriber printed, without its sync/ lines, and without a last line it is
# still writing (a 400 KiB payload in hex takes several writes: grep would count it, then hash
# half of it).
lines() {
  local f
  f=$(sub_out "$1")
  if [ -n "$(tail -c1 "$f" 2>/dev/null)" ]; then head -n -1 "$f"; else cat "$f" 2>/dev/null; fi | grep -v "^sync/"
}
# wait_lines NAME COUNT [SECONDS]: until the subscriber printed COUNT non-sync lines.
wait_lines() {
  local i
  for i in $(seq $((${3:-10} * 10))); do
    [ "$(lines "$1" | wc -l)" -ge "$2" ] && return 0
    sleep 0.1
  done
  return 1
}
# expect_lines NAME CHECK EXPECTED: waits for the lines, then compares exactly.
expect_lines() {
  local n
  n=$(printf '%s\n' "$3" | wc -l)
  wait_lines "$1" "$n" 10
  local got
  got=$(lines "$1")
  if [ "$got" = "$3" ]; then ok "$2"; else not_ok "$2" "expected:" "$3" "got:" "$got"; fi
}
# kill9 NAME: kill -9 the mosquitto_sub that runs under `timeout` as NAME (a crash, as far as
# the broker can tell), and reap it quietly.
kill9() {
  local parent child
  parent=$(pid_of "$1")
  child=$(pgrep -P "$parent" -x mosquitto_sub) || return 1
  { kill -9 "$child"; wait "$parent"; } 2>/dev/null
  return 0
}

# sub_until PORT TOPIC MSG ARGS...: runs mosquitto_sub ARGS (which should end by itself,
# e.g. with -C) and publishes MSG to TOPIC every 0.2 s until it exits; prints its output.
sub_until() {
  local port=$1 topic=$2 msg=$3 out sp i
  shift 3
  out=$(mktemp -p "$E2E_TMP")
  timeout 10 mosquitto_sub -h 127.0.0.1 -p "$port" "$@" >"$out" 2>&1 &
  sp=$!
  for i in $(seq 50); do
    kill -0 $sp 2>/dev/null || break
    timeout 5 mosquitto_pub -h 127.0.0.1 -p "$port" -q 1 -t "$topic" -m "$msg" >/dev/null 2>&1
    sleep 0.2
  done
  wait $sp
  cat "$out"
}

F='%t|%q|%r|%p'

# ---- QoS 0/1/2 in both versions; the delivered QoS is min(published, granted)
for v in mqttv311 mqttv5; do
  sub_start "qos_$v" "$F" -V "$v" -q 2 -t "qos/$v"
  for q in 0 1 2; do
    pub -V "$v" -q "$q" -t "qos/$v" -m "payload-q$q-$v"
  done
  wait_lines "qos_$v" 3
  for q in 0 1 2; do
    if lines "qos_$v" | grep -qx "qos/$v|$q|0|payload-q$q-$v"; then
      ok "$v QoS $q publish delivered at QoS $q"
    else
      not_ok "$v QoS $q publish delivered at QoS $q" "subscriber got: $(lines "qos_$v")"
    fi
  done
  stop_bg "sub_qos_$v"
done

sub_start downgrade "$F" -V mqttv5 -q 1 -t qos/down
pub -V mqttv5 -q 2 -t qos/down -m two
expect_lines downgrade "QoS 2 publish to a QoS 1 subscription arrives at QoS 1" "qos/down|1|0|two"

# ---- cross-version delivery (SPEC 5)
sub_start x311 "$F" -V mqttv311 -q 1 -t cross/to311
pub -V mqttv5 -q 1 -t cross/to311 -m from-v5 -D publish user-property k v -D publish content-type text/plain
expect_lines x311 "v5 publisher (with v5 properties) -> v3.1.1 subscriber" "cross/to311|1|0|from-v5"
sub_start x5 "$F" -V mqttv5 -q 2 -t cross/to5
pub -V mqttv311 -q 2 -t cross/to5 -m from-v311
expect_lines x5 "v3.1.1 publisher -> v5 subscriber" "cross/to5|2|0|from-v311"

# ---- ordering per topic per publisher: 100 QoS 1 messages from one connection
sub_start order "%t|%p" -V mqttv5 -q 1 -t order/t
seq 1 100 | pub -V mqttv5 -q 1 -t order/t -l
expected=$(seq 1 100 | sed 's/^/order\/t|/')
expect_lines order "100 QoS 1 messages from one publisher arrive complete and in order" "$expected"

# ---- wildcards
sub_start plus "$F" -t 'wc/+/c'
sub_start hash "$F" -t 'wc/#'
for t in wc/b/c wc/b/c/d wc/b wc wc/x/c; do pub -t "$t" -m "$t"; done
sub_mark plus after-wc
sub_mark hash after-wc
got=$(lines plus | cut -d'|' -f1 | tr '\n' ' ')
if [ "$got" = "wc/b/c wc/x/c " ]; then ok "'+' matches exactly one level (wc/+/c)"; else
  not_ok "'+' matches exactly one level (wc/+/c)" "expected wc/b/c wc/x/c, got: $got"; fi
got=$(lines hash | cut -d'|' -f1 | tr '\n' ' ')
if [ "$got" = "wc/b/c wc/b/c/d wc/b wc wc/x/c " ]; then ok "'#' matches the parent level and every level below (wc/#)"; else
  not_ok "'#' matches the parent level and every level below (wc/#)" "expected all five topics, got: $got"; fi

sub_start all "$F" -t '#'
sub_start plusbar "$F" -t '+/bar'
sub_start dollar "$F" -t '$foo/#'
pub -t '$foo/bar' -m dollar -q 1
pub -t 'foo/bar' -m plain -q 1
marked=yes
for n in all plusbar dollar; do sub_mark "$n" after-dollar || marked=no; done
if [ $marked = no ]; then not_ok "'#' does not deliver \$foo/bar" "a subscriber did not get its marker"
elif lines all | grep -q '^\$foo/' ; then not_ok "'#' does not deliver \$foo/bar" "got: $(lines all | grep '^\$')"
elif lines all | grep -qx 'foo/bar|0|0|plain'; then ok "'#' does not deliver \$foo/bar"
else not_ok "'#' does not deliver \$foo/bar" "'#' did not even get foo/bar: $(lines all)"; fi
got=$(lines plusbar | tr '\n' ' ')
if [ "$got" = "foo/bar|0|0|plain " ]; then ok "'+/bar' does not deliver \$foo/bar"; else
  not_ok "'+/bar' does not deliver \$foo/bar" "expected only foo/bar, got: $got"; fi
expect_lines dollar "'\$foo/#' delivers \$foo/bar" '$foo/bar|0|0|dollar'
pub -r -q 1 -t '$foo/kept' -m dollar-retained
pub -r -q 1 -t 'foo/kept' -m plain-retained
out=$(sub_until "$PORT" sync/hashret end -q 1 -t '#' -F "$F" -C 2 -W 5)
# (no other retained messages exist yet: the retained section comes later)
if [ "$out" = "$(printf 'foo/kept|1|1|plain-retained\nsync/hashret|1|0|end')" ]; then
  ok "'#' subscription gets retained foo/kept but not retained \$foo/kept"
else
  not_ok "'#' subscription gets retained foo/kept but not retained \$foo/kept" "got:" "$out"
fi
pub -r -n -t '$foo/kept'
pub -r -n -t 'foo/kept'
stop_bg sub_all

# ---- retained messages
pub -V mqttv311 -r -q 1 -t ret/a -m first
pub -V mqttv311 -r -q 1 -t ret/a -m second
out=$(timeout 10 mosquitto_sub -h 127.0.0.1 -p "$PORT" -V mqttv311 -q 1 -t ret/a -C 1 -W 5 -F "$F" 2>&1)
if [ "$out" = "ret/a|1|1|second" ]; then ok "v3.1.1 new subscriber gets the latest retained message with RETAIN=1"; else
  not_ok "v3.1.1 new subscriber gets the latest retained message with RETAIN=1" "expected ret/a|1|1|second, got: $out"; fi
out=$(timeout 10 mosquitto_sub -h 127.0.0.1 -p "$PORT" -V mqttv5 -q 2 -t 'ret/+' -C 1 -W 5 -F "$F" 2>&1)
if [ "$out" = "ret/a|1|1|second" ]; then ok "v5 wildcard subscriber gets the retained message"; else
  not_ok "v5 wildcard subscriber gets the retained message" "expected ret/a|1|1|second, got: $out"; fi
sub_start retlive "$F" -V mqttv5 -q 1 -t ret/live
pub -V mqttv5 -r -q 1 -t ret/live -m live
expect_lines retlive "a retained publish reaches an existing subscriber with RETAIN=0" "ret/live|1|0|live"
pub -V mqttv311 -r -n -t ret/a
sub_start retgone "$F" -V mqttv311 -q 1 -t ret/a
if sub_mark retgone after-delete && [ -z "$(lines retgone)" ]; then ok "-r -n (empty retained) deletes the retained message"; else
  not_ok "-r -n (empty retained) deletes the retained message" "new subscriber still got: $(lines retgone)"; fi

# Retained messages are kept up to 64 KB each (SPEC 6); bigger ones are delivered but not kept.
sub_start retbig "%t|%r|%l" -V mqttv5 -q 1 -t 'retsize/#'
head -c 60000 /dev/zero | tr '\0' 'k' >"$E2E_TMP/60000.txt"
head -c 70000 /dev/zero | tr '\0' 'n' >"$E2E_TMP/70000.txt"
pub -r -q 1 -t retsize/small -f "$E2E_TMP/60000.txt"
pub -r -q 1 -t retsize/big -f "$E2E_TMP/70000.txt"
sub_mark retbig after-retsize
got=$(lines retbig | sort | tr '\n' ' ')
if [ "$got" = "retsize/big|0|70000 retsize/small|0|60000 " ]; then ok "retained messages over 64 KB still reach live subscribers"; else
  not_ok "retained messages over 64 KB still reach live subscribers" "got: $got"; fi
out=$(sub_until "$PORT" sync/retsize end -V mqttv5 -q 1 -t 'retsize/#' -t sync/retsize -W 5 -F "%t|%r|%l" -C 2)
if [ "$(printf '%s\n' "$out" | sort | tr '\n' ' ')" = "retsize/small|1|60000 sync/retsize|0|3 " ]; then
  ok "a 60000-byte retained message is kept, a 70000-byte one is not (64 KB limit)"
else
  not_ok "a 60000-byte retained message is kept, a 70000-byte one is not (64 KB limit)" "new subscriber got: $out"
fi
pub -r -n -t retsize/small

# ---- v5 properties passed through unchanged
sub_start props '%t|%P|%C|%R|%D|%F|%E|%p' -V mqttv5 -q 1 -t props/t
pub -V mqttv5 -q 1 -t props/t -m 'hello props' \
  -D publish user-property colour blue -D publish user-property colour red -D publish user-property "key 2" "value 2" \
  -D publish content-type 'application/x-test; v=1' -D publish response-topic reply/to/me \
  -D publish correlation-data 'corr-123' -D publish payload-format-indicator 1 \
  -D publish message-expiry-interval 120
wait_lines props 1
line=$(lines props | head -1)
IFS='|' read -r p_topic p_user p_ct p_rt p_cd p_pfi p_exp p_payload <<<"$line"
if [ "$p_user" = "colour:blue colour:red key 2:value 2" ]; then ok "v5 user properties (repeated key, order) passed through"; else
  not_ok "v5 user properties (repeated key, order) passed through" "got: $p_user (line: $line)"; fi
if [ "$p_ct" = "application/x-test; v=1" ]; then ok "v5 content type passed through"; else
  not_ok "v5 content type passed through" "got: $p_ct"; fi
if [ "$p_rt" = "reply/to/me" ]; then ok "v5 response topic passed through"; else not_ok "v5 response topic passed through" "got: $p_rt"; fi
if [ "$p_cd" = "corr-123" ]; then ok "v5 correlation data passed through"; else not_ok "v5 correlation data passed through" "got: $p_cd"; fi
if [ "$p_pfi" = "1" ]; then ok "v5 payload format indicator passed through"; else
  not_ok "v5 payload format indicator passed through" "got: $p_pfi"; fi
if [ -n "$p_exp" ] && [ "$p_exp" -ge 118 ] && [ "$p_exp" -le 120 ]; then ok "v5 message expiry forwarded as the remaining interval (<= 120)"; else
  not_ok "v5 message expiry forwarded as the remaining interval (<= 120)" "got: '$p_exp'"; fi
if [ "$p_topic|$p_payload" = "props/t|hello props" ]; then ok "v5 message with properties keeps topic and payload"; else
  not_ok "v5 message with properties keeps topic and payload" "got: $line"; fi

# ---- large payloads (server maximum packet size 512 KiB)
head -c 409600 /dev/urandom >"$E2E_TMP/400k.bin"
head -c 614400 /dev/urandom >"$E2E_TMP/600k.bin"
sub_start big '%t|%x' -V mqttv5 -q 1 -t big/t
pub -V mqttv311 -q 1 -t big/t -f "$E2E_TMP/400k.bin"
wait_lines big 1 15
want=$(sha256sum <"$E2E_TMP/400k.bin" | cut -d' ' -f1)
got=$(lines big | head -1 | cut -d'|' -f2 | "$EG_PYTHON" -c 'import sys,hashlib; print(hashlib.sha256(bytes.fromhex(sys.stdin.read().strip())).hexdigest())')
if [ "$got" = "$want" ]; then ok "400 KiB payload delivered intact (sha256)"; else
  not_ok "400 KiB payload delivered intact (sha256)" "want $want got $got ($(lines big | wc -c) bytes of output)"; fi

out=$(pub -V mqttv311 -q 1 -i big311 -t big/t -f "$E2E_TMP/600k.bin" 2>&1)
rc=$?
if [ $rc -ne 0 ] && wait_for_line "$BLOG" 'client=big311 reason=0x95'; then ok "v3.1.1 600 KiB PUBLISH: publisher disconnected (packet too large)"; else
  not_ok "v3.1.1 600 KiB PUBLISH: publisher disconnected (packet too large)" "mosquitto_pub exit $rc: $out" \
    "broker log: $(grep 'client=big311' "$BLOG")"; fi
out=$(pub -V mqttv5 -q 1 -i big5 -t big/t -f "$E2E_TMP/600k.bin" 2>&1)
# The broker logs the close after mosquitto_pub has gone (slower under ThreadSanitizer).
if wait_for_line "$BLOG" 'client=big5 reason=0x00 disconnection=ClientInitiatedDisconnect why="client disconnected"' &&
  ! grep -q 'client=big5 reason=0x95' "$BLOG"; then
  ok "v5 CONNACK Maximum Packet Size (512 KiB) makes mosquitto_pub withhold a 600 KiB PUBLISH"
else
  not_ok "v5 CONNACK Maximum Packet Size (512 KiB) makes mosquitto_pub withhold a 600 KiB PUBLISH" "mosquitto_pub: $out" \
    "broker log: $(grep 'client=big5 ' "$BLOG")"
fi
if sub_mark big after-600k && [ "$(lines big | wc -l)" -eq 1 ]; then ok "600 KiB message not delivered; broker keeps serving"; else
  not_ok "600 KiB message not delivered; broker keeps serving" "subscriber printed $(lines big | wc -l) messages"; fi

# ---- the client's Maximum Packet Size: too-large messages are skipped for that client only
sub_start mps "%t|%l" -V mqttv5 -q 1 -t mps/t -D connect maximum-packet-size 1000
head -c 5000 /dev/zero | tr '\0' 'x' >"$E2E_TMP/5000.txt"
pub -V mqttv5 -q 1 -t mps/t -f "$E2E_TMP/5000.txt"
pub -V mqttv5 -q 1 -t mps/t -m small-after
sub_mark mps after-mps
expect_lines mps "subscriber with Maximum Packet Size 1000 skips a 5000-byte message, gets the next small one" "mps/t|11"

# ---- persistent sessions
sub_persist() { # VERSION ID [extra args]: subscribe and disconnect (session kept)
  local v=$1 id=$2
  shift 2
  timeout 10 mosquitto_sub -h 127.0.0.1 -p "$PORT" -V "$v" -c -i "$id" -q 1 -t "persist/$id" -E "$@" >/dev/null 2>&1
}
for v in mqttv311 mqttv5; do
  id=pers-$v
  extra=()
  [ $v = mqttv5 ] && extra=(-x 300)
  if ! sub_persist $v $id "${extra[@]}"; then not_ok "$v persistent session gets QoS 1 messages published while offline" "first subscribe failed"; continue; fi
  for m in m1 m2 m3; do pub -V mqttv311 -q 1 -t "persist/$id" -m "$m"; done
  out=$(timeout 10 mosquitto_sub -h 127.0.0.1 -p "$PORT" -V $v -c -i $id -q 1 -t "persist/$id" "${extra[@]}" -C 3 -W 5 -F "$F" 2>&1)
  exp=$(printf 'persist/%s|1|0|m1\npersist/%s|1|0|m2\npersist/%s|1|0|m3' $id $id $id)
  if [ "$out" = "$exp" ]; then ok "$v persistent session gets QoS 1 messages published while offline"; else
    not_ok "$v persistent session gets QoS 1 messages published while offline" "expected:" "$exp" "got:" "$out"; fi
done
# A clean-start reconnect discards the stored session and its queue.
pub -q 1 -t persist/pers-mqttv311 -m dropped
out=$(timeout 10 mosquitto_sub -h 127.0.0.1 -p "$PORT" -V mqttv311 -i pers-mqttv311 -q 1 -t persist/pers-mqttv311 -W 2 -F "$F" 2>&1)
if [ "$out" = "Timed out" ] || [ -z "$out" ]; then ok "clean session reconnect discards the stored session's queue"; else
  not_ok "clean session reconnect discards the stored session's queue" "got: $out"; fi
# v5 session expiry: a session with -x 1 is gone after 1 s.
sub_persist mqttv5 pers-exp -x 1
sleep 2.2
pub -q 1 -t persist/pers-exp -m too-late
out=$(timeout 10 mosquitto_sub -h 127.0.0.1 -p "$PORT" -V mqttv5 -c -i pers-exp -x 1 -q 1 -t persist/pers-exp -W 2 -F "$F" 2>&1)
if { [ "$out" = "Timed out" ] || [ -z "$out" ]; } && grep -q 'session expired client=pers-exp' "$BLOG"; then
  ok "v5 session with Session Expiry 1 s expires and keeps no messages"
else
  not_ok "v5 session with Session Expiry 1 s expires and keeps no messages" "got: $out" "$(grep 'client=pers-exp' "$BLOG")"
fi

# ---- wills
sub_start watcher '%t|%q|%r|%P|%p' -V mqttv5 -q 1 -t 'will/#'
start_bg sub_willer timeout 60 mosquitto_sub -h 127.0.0.1 -p "$PORT" -V mqttv311 -i willer311 -t sync/willer \
  -F '%t|%p' --will-topic will/v311 --will-payload 'gone 311' --will-qos 1 --will-retain
sub_sync willer
kill9 sub_willer
wait_lines watcher 1 5
if lines watcher | grep -qx 'will/v311|1|0||gone 311'; then ok "v3.1.1 will published when the client is killed"; else
  not_ok "v3.1.1 will published when the client is killed" "watcher got: $(lines watcher)"; fi
out=$(timeout 10 mosquitto_sub -h 127.0.0.1 -p "$PORT" -V mqttv311 -q 1 -t will/v311 -C 1 -W 5 -F "$F" 2>&1)
if [ "$out" = "will/v311|1|1|gone 311" ]; then ok "will with --will-retain is kept as the retained message"; else
  not_ok "will with --will-retain is kept as the retained message" "new subscriber got: $out"; fi

start_bg sub_willer5 timeout 60 mosquitto_sub -h 127.0.0.1 -p "$PORT" -V mqttv5 -i willer5 -x 30 -t sync/willer5 -F '%t|%p' \
  --will-topic will/v5 --will-payload 'gone 5' --will-qos 1 \
  -D will will-delay-interval 2 -D will user-property why crash -D will content-type text/plain
sub_sync willer5
kill9 sub_willer5
killed_at=$(date +%s.%N)
sleep 1
if ! sub_mark watcher after-1s || lines watcher | grep -q '^will/v5'; then
  not_ok "v5 will waits for its Will Delay Interval (2 s)" "arrived within 1 s (or no marker): $(lines watcher)"
else
  ok "v5 will waits for its Will Delay Interval (2 s)"; fi
wait_lines watcher 2 6
arrived=$(date +%s.%N)
if lines watcher | grep -qx 'will/v5|1|0|why:crash|gone 5'; then
  ok "v5 will published after the delay with its user property ($(awk "BEGIN{printf \"%.1f\", $arrived - $killed_at}") s after the kill)"
else
  not_ok "v5 will published after the delay with its user property" "watcher got: $(lines watcher)"
fi

# A normal DISCONNECT discards the will: willer-clean exits after one message (-C 1).
start_bg sub_willerc timeout 20 mosquitto_sub -h 127.0.0.1 -p "$PORT" -V mqttv5 -i willer-clean -t sync/willerc -C 1 \
  --will-topic will/clean --will-payload should-not-appear
for i in $(seq 50); do
  pub -t sync/willerc -m go
  kill -0 "$(pid_of sub_willerc)" 2>/dev/null || break
  sleep 0.1
done
stop_bg sub_willerc
if ! sub_mark watcher after-clean || lines watcher | grep -q '^will/clean'; then not_ok "no will after a normal DISCONNECT" "got: $(lines watcher | grep will/clean)"; else
  ok "no will after a normal DISCONNECT"; fi

# ---- egbroker -p PORT, SIGTERM
PPORT=$(free_port)
start_bg pbroker "$BROKER" -p "$PPORT"
if wait_for_port "$PPORT"; then
  out=$(sub_until "$PPORT" p/t via-p -V mqttv5 -t p/t -C 1 -W 5 -F "$F")
  if [ "$out" = "p/t|0|0|via-p" ]; then ok "egbroker -p PORT serves plain MQTT on 127.0.0.1:PORT"; else
    not_ok "egbroker -p PORT serves plain MQTT on 127.0.0.1:PORT" "got: $out"; fi
else
  not_ok "egbroker -p PORT serves plain MQTT on 127.0.0.1:PORT" "did not listen: $(cat "$E2E_TMP/pbroker.out")"
fi
# SIGTERM with clients connected: a persistent v5 mosquitto_sub, and a raw v5 client that
# must see DISCONNECT 0x8B (Server shutting down) before the close.
start_bg psub timeout 20 mosquitto_sub -h 127.0.0.1 -p "$PPORT" -V mqttv5 -q 1 -t 'p/#' -c -i psub -x 600
start_bg praw timeout 30 "$EG_PYTHON" tests/e2e/broker/raw_cases.py "$PPORT" shutdown_disconnect
for i in $(seq 50); do
  grep -q 'client=psub ' "$E2E_TMP/pbroker.out" && grep -q '^ready' "$E2E_TMP/praw.out" && break
  sleep 0.1
done
stop_bg pbroker
rc=$?
if [ $rc -eq 0 ]; then ok "egbroker exits 0 on SIGTERM (with clients connected)"; else
  not_ok "egbroker exits 0 on SIGTERM (with clients connected)" "exit $rc" "$(tail -5 "$E2E_TMP/pbroker.out")"; fi
for i in $(seq 50); do kill -0 "$(pid_of praw)" 2>/dev/null || break; sleep 0.1; done
stop_bg praw
rc=$?
if [ $rc -eq 0 ]; then ok "SIGTERM: v5 clients get DISCONNECT 0x8B (Server shutting down)"; else
  not_ok "SIGTERM: v5 clients get DISCONNECT 0x8B (Server shutting down)" "$(cat "$E2E_TMP/praw.out")"; fi
stop_bg psub

# ---- configuration errors: exit code 2 and a message naming the problem
bad_config() { # NAME JSON MESSAGE-REGEX
  printf '%s\n' "$2" >"$E2E_TMP/bad.json"
  local out rc
  out=$(timeout 10 "$BROKER" --config "$E2E_TMP/bad.json" 2>&1)
  rc=$?
  if [ $rc -eq 2 ] && grep -Eq "$3" <<<"$out"; then ok "$1"; else not_ok "$1" "exit $rc, output: $out"; fi
}
BP=$(free_port)
bad_config "unknown config key: exit 2 with a message" \
  "{\"listeners\": [{\"type\": \"mqtt\", \"port\": $BP}], \"bogus\": 1}" 'unknown key "bogus"'
bad_config "config that is not JSON: exit 2 with a message" '{"listeners": [' 'bad configuration: .*bad.json'
bad_config "out-of-range limit: exit 2 with a message" \
  "{\"listeners\": [{\"type\": \"mqtt\", \"port\": $BP}], \"limits\": {\"max_packet_size\": 1}}" '"max_packet_size" must be'
bad_config "plain listener on a non-loopback address without \"insecure\": refused (exit 2)" \
  "{\"listeners\": [{\"type\": \"mqtt\", \"bind\": \"0.0.0.0\", \"port\": $BP}]}" 'needs "insecure": true'
out=$(timeout 10 "$BROKER" --config /nonexistent/eg.json 2>&1)
rc=$?
if [ $rc -eq 2 ] && grep -q 'nonexistent' <<<"$out"; then ok "missing config file: exit 2 with a message"; else
  not_ok "missing config file: exit 2 with a message" "exit $rc: $out"; fi

# With "insecure": true it starts, and says so with a warning (SPEC 1).
IP=$(free_port)
printf '{"listeners": [{"type": "mqtt", "bind": "0.0.0.0", "port": %s, "insecure": true}]}\n' "$IP" >"$E2E_TMP/insecure.json"
start_bg insecure "$BROKER" --config "$E2E_TMP/insecure.json"
if wait_for_port "$IP"; then ok "plain listener on 0.0.0.0 with \"insecure\": true starts"; else
  not_ok "plain listener on 0.0.0.0 with \"insecure\": true starts" "$(cat "$E2E_TMP/insecure.out")"; fi
if grep -Ei 'level=warn' "$E2E_TMP/insecure.out" | grep -qiE 'insecure|plain|0\.0\.0\.0'; then
  ok "plain non-loopback listener logs a warning"
else
  not_ok "plain non-loopback listener logs a warning" "broker output:" "$(cat "$E2E_TMP/insecure.out")"
fi
stop_bg insecure

# ---- the main broker: clean SIGTERM and no sanitizer report in any broker we ran
for n in sub_downgrade sub_x311 sub_x5 sub_order sub_plus sub_hash sub_plusbar sub_dollar sub_retlive sub_retgone sub_retbig \
  sub_props sub_big sub_mps sub_watcher sub_willer sub_willer5; do stop_bg "$n"; done
stop_bg broker
rc=$?
if [ $rc -eq 0 ]; then ok "main broker exits 0 on SIGTERM"; else not_ok "main broker exits 0 on SIGTERM" "exit $rc" "$(tail -20 "$BLOG")"; fi
san=$(grep -hE 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error' "$BLOG" "$E2E_TMP"/{pbroker,insecure}.out 2>/dev/null)
if [ -z "$san" ]; then ok "no sanitizer report from the brokers"; else
  not_ok "no sanitizer report from the brokers" "$(grep -hA30 -E 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error' "$BLOG" "$E2E_TMP"/{pbroker,insecure}.out 2>/dev/null | head -40)"; fi

e2e_finish
