#!/usr/bin/env bash
# End-to-end: egcontrol under concurrency and across restarts: 8 writers doing read-modify-write
# with If-Match lose no update, concurrent creates all land, paging over 1,000 clients, data and
# ETags survive a SIGTERM restart, and every acknowledged write survives kill -9.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/control/cp_lib.sh
e2e_init
cp_setup
DB=$E2E_TMP/control.db
CLI=("$EG_PYTHON" "$CP_DIR/cpclient.py")
cp_start cp --db "$DB"

# ---------------------------------------------------------------- a namespace with every kind
cacert "$E2E_TMP/ca.pem" "durability CA"
pem=$(pem_json "$E2E_TMP/ca.pem")
api PUT /namespaces/dur '{"tags": {"k": "v"}, "properties": {"topicSpacesConfiguration": {"maximumSessionExpiryInHours": 3}}}'
api PUT /namespaces/dur/clients/dev-1 '{"properties": {"description": "d", "attributes": {"type": "sensor", "floor": 2}}}'
api PUT /namespaces/dur/clientGroups/sensors '{"properties": {"query": "attributes.type = '"'sensor'"'"}}'
api PUT /namespaces/dur/topicSpaces/telemetry '{"properties": {"topicTemplates": ["t/${client.authenticationName}/#"]}}'
api PUT /namespaces/dur/permissionBindings/pub '{"properties": {"clientGroupName": "sensors", "topicSpaceName": "telemetry", "permission": "Publisher"}}'
api PUT /namespaces/dur/caCertificates/dev-ca "{\"properties\": {\"encodedCertificate\": $pem}}"
expect "a namespace with a client, group, topic space, binding and CA certificate" 201
KEEP=(/namespaces/dur /namespaces/dur/clients/dev-1 /namespaces/dur/clientGroups/sensors /namespaces/dur/topicSpaces/telemetry
      /namespaces/dur/permissionBindings/pub /namespaces/dur/caCertificates/dev-ca '/namespaces/dur/clientGroups/$all')
snapshot_resources() { # FILE: each resource's ETag and body, one per line
  local p
  : >"$1"
  for p in "${KEEP[@]}"; do
    api GET "$p"
    printf '%s %s %s %s\n' "$p" "$ST" "$(hdr ETag)" "$(cat "$CP_BODY")" >>"$1"
  done
}
snapshot_resources "$E2E_TMP/before.txt"
jcout() { printf '%s\n' "$out" >"$E2E_TMP/out.json"; jc "$E2E_TMP/out.json" "$@"; }

# ---------------------------------------------------------------- concurrent writers
api PUT /namespaces/dur/clients/counter '{"properties": {"attributes": {"counter": 0}}}'
out=$("${CLI[@]}" rmw --port "$CP_PORT" --token-file "$E2E_TMP/token" --path /namespaces/dur/clients/counter --threads 8 --cycles 25 2>&1)
if jcout final=200 'errors=[]'; then
  ok "8 threads x 25 read-modify-write cycles with If-Match: counter = 200, no lost update ($out)"
else not_ok "8 threads x 25 read-modify-write cycles with If-Match: counter = 200, no lost update" "$out"; fi
if jcout 'retries412~^[1-9]'; then ok "... the writers did collide (412s were answered and retried)"
else not_ok "... the writers did collide (412s were answered and retried)" "$out"; fi
out=$("${CLI[@]}" create --port "$CP_PORT" --token-file "$E2E_TMP/token" --ns dur --prefix par- --count 200 --threads 8 --width 3 2>&1)
api GET '/namespaces/dur/clients?$top=1000'
n=$(jget 'value#')
if jcout acked=200 'failed=[]' && [ "$n" = 202 ]; then ok "8 threads PUT 200 distinct clients at once: all 201, all listed"
else not_ok "8 threads PUT 200 distinct clients at once: all 201, all listed" "$out" "listed $n (want 202)"; fi

# ---------------------------------------------------------------- paging over 1,000 clients
api PUT /namespaces/paging '{}'
t0=$SECONDS
out=$("${CLI[@]}" create --port "$CP_PORT" --token-file "$E2E_TMP/token" --ns paging --prefix c- --count 1000 --threads 4 --width 4 2>&1)
if jcout acked=1000 'failed=[]'; then ok "1,000 clients created ($((SECONDS - t0)) s)"
else not_ok "1,000 clients created" "$out"; fi
for i in $(seq 0 999); do printf 'c-%04d\n' "$i"; done >"$E2E_TMP/names1000"
page_check() { # NAME TOP EXPECTED_PAGES_JSON
  out=$("${CLI[@]}" page --port "$CP_PORT" --token-file "$E2E_TMP/token" --path /namespaces/paging/clients --top "$2" --names "$E2E_TMP/names1000" 2>&1)
  if jcout "pages=$3" names=1000 sorted=true 'problems=[]'; then ok "$1"
  else not_ok "$1" "$out"; fi
}
page_check "\$top=100: nextLink followed over 10 pages of 100, each name once, sorted, last page without nextLink" 100 \
  '[100,100,100,100,100,100,100,100,100,100]'
page_check "default \$top (100): 10 pages, each name once, sorted" 0 '[100,100,100,100,100,100,100,100,100,100]'
page_check "\$top=333: pages of 333, 333, 333, 1" 333 '[333,333,333,1]'
page_check "\$top=1000: one page of 1000, no nextLink" 1000 '[1000]'
page_check "\$top=999: pages of 999 and 1" 999 '[999,1]'
api GET '/namespaces/paging/clients?$top=100'
link=$(jget nextLink)
if [[ $link == "$CP_URL/namespaces/paging/clients?"* ]] && [[ $link == *'skipToken='* ]]; then ok "nextLink is the absolute URL of the next page with \$skipToken: $link"
else not_ok "nextLink is the absolute URL of the next page with \$skipToken" "$link"; fi
api GET "${link#"$CP_URL"}"
expect "the nextLink page starts after the first page" 200 'value#=100' value[0].name=c-0100 value[99].name=c-0199
api DELETE /namespaces/paging/clients/c-0100
api GET "${link#"$CP_URL"}"
expect "a nextLink still works after the first item of its page is deleted" 200 value[0].name=c-0101
api PUT /namespaces/paging/clients/c-0100 '{}'
out=$("${CLI[@]}" page --port "$CP_PORT" --token-file "$E2E_TMP/token" --path /namespaces --top 1 2>&1)
if jcout 'pages=[1,1]' names=2 sorted=true; then ok "namespaces page too (\$top=1: 2 pages)"
else not_ok "namespaces page too (\$top=1: 2 pages)" "$out"; fi
out=$("${CLI[@]}" page --port "$CP_PORT" --token-file "$E2E_TMP/token" --path /namespaces/dur/clientGroups --top 1 2>&1)
if jcout 'pages=[1,1]' names=2 sorted=true 'problems=[]'; then ok "client groups page with \$top=1 across \$all"
else not_ok "client groups page with \$top=1 across \$all" "$out"; fi

# ---------------------------------------------------------------- restart (SIGTERM)
api GET /healthz
seq_before=$(jget changeSequence)
stop_broker_checked cp "egcontrol (first run)"
cp_start cp2 --db "$DB"
snapshot_resources "$E2E_TMP/after.txt"
if diff "$E2E_TMP/before.txt" "$E2E_TMP/after.txt" >"$E2E_TMP/diff.txt"; then
  ok "after a restart every resource kind is there with the same body and ETag"
else not_ok "after a restart every resource kind is there with the same body and ETag" "$(cat "$E2E_TMP/diff.txt")"; fi
api GET /namespaces/dur/clients/counter
expect "after a restart the counter is still 200" 200 properties.attributes.counter=200
page_check "after a restart the 1,000 clients page the same" 100 '[100,100,100,100,100,100,100,100,100,100]'
api GET /healthz
expect "after a restart /healthz changeSequence is unchanged ($seq_before)" 200 "changeSequence=$seq_before"
api PUT /namespaces/dur/clients/after-restart '{}'
api GET /healthz
expect "the next write after a restart takes the next sequence number" 200 "changeSequence=$((seq_before + 1))"

# ---------------------------------------------------------------- kill -9
api PUT /namespaces/killed '{}'
api PUT /namespaces/killed/clients/last-before-kill '{"properties": {"description": "acknowledged"}}'
expect "a write acknowledged just before kill -9" 201
pid=$(pid_of cp2)
kill -9 "$pid"
forget_bg cp2
cp_start cp3 --db "$DB"
api GET /namespaces/killed/clients/last-before-kill
expect "... is there after the restart" 200 properties.description=acknowledged
: >"$E2E_TMP/acked"
"${CLI[@]}" create --port "$CP_PORT" --token-file "$E2E_TMP/token" --ns killed --prefix k- --count 20000 --threads 4 \
  --acked "$E2E_TMP/acked" >"$E2E_TMP/writer.out" 2>&1 &
writer=$!
wait_until 20 sh -c "[ \$(wc -l <'$E2E_TMP/acked') -ge 300 ]"
kill -9 "$(pid_of cp3)"
forget_bg cp3
wait_until 20 sh -c "! kill -0 $writer"
wait $writer 2>/dev/null
nacked=$(wc -l <"$E2E_TMP/acked")
if [ "$nacked" -ge 300 ] && [ "$nacked" -lt 20000 ]; then ok "kill -9 in the middle of a writer: $nacked writes were acknowledged before it"
else not_ok "kill -9 in the middle of a writer" "acknowledged $nacked" "$(cat "$E2E_TMP/writer.out")"; fi
if [ "$(sqlite3 "$DB" 'PRAGMA integrity_check;' 2>&1)" = ok ]; then ok "the database passes PRAGMA integrity_check after kill -9"
else not_ok "the database passes PRAGMA integrity_check after kill -9" "$(sqlite3 "$DB" 'PRAGMA integrity_check;' 2>&1 | head)"; fi
cp_start cp4 --db "$DB"
echo last-before-kill >>"$E2E_TMP/acked"
"${CLI[@]}" page --port "$CP_PORT" --token-file "$E2E_TMP/token" --path /namespaces/killed/clients --top 1000 --names "$E2E_TMP/acked" >"$E2E_TMP/kpage.out" 2>&1
# Every acknowledged name must be there; at most the writes in flight (4 threads) may be extra.
if jc "$E2E_TMP/kpage.out" missing_count=0 'duplicates=[]' sorted=true 'unexpected#=0' ||
   jc "$E2E_TMP/kpage.out" missing_count=0 'duplicates=[]' sorted=true 'unexpected~^\["k-[0-9]+"(,"k-[0-9]+"){0,3}\]$'; then
  ok "after kill -9 and restart every acknowledged write is there ($nacked clients, plus last-before-kill)"
else not_ok "after kill -9 and restart every acknowledged write is there" "$(cat "$E2E_TMP/kpage.out")"; fi
api GET /namespaces/dur/clients/counter
expect "... and the data from before is intact" 200 properties.attributes.counter=200
api PUT /namespaces/killed/clients/after-kill '{}'
expect "writes work after the kill -9 restart" 201

# kill -9 during a namespace DELETE that removes 1,000 clients: all or nothing after the restart.
# (The DELETE takes some 40 ms with the sanitizers: the kill comes 15 ms after the request is sent.)
"$EG_PYTHON" - "$CP_PORT" "$CP_TOKEN" "$(pid_of cp4)" <<'PY'
import os, signal, socket, sys, time
port, token, pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
s = socket.create_connection(("127.0.0.1", port))
s.sendall(("DELETE /namespaces/paging HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" % token).encode())
time.sleep(0.015)
os.kill(pid, signal.SIGKILL)
PY
forget_bg cp4
cp_start cp5 --db "$DB"
api GET /namespaces/paging
if [ "$ST" = 200 ]; then
  out=$("${CLI[@]}" page --port "$CP_PORT" --token-file "$E2E_TMP/token" --path /namespaces/paging/clients --top 1000 2>&1)
  if jcout names=1000; then ok "kill -9 during a namespace DELETE: the namespace is whole (the delete did not commit)"
  else not_ok "kill -9 during a namespace DELETE: all or nothing" "namespace there, but: $out"; fi
else
  api GET '/namespaces/paging/clients/c-0500'
  st1=$ST
  api PUT /namespaces/paging '{}'
  api GET /namespaces/paging/clients
  if [ "$st1" = 404 ] && [ "$ST" = 200 ] && jc "$CP_BODY" 'value=[]'; then ok "kill -9 during a namespace DELETE: it is wholly gone (created again it is empty)"
  else not_ok "kill -9 during a namespace DELETE: all or nothing" "namespace gone, but clients: $ST $(head -c 200 "$CP_BODY")"; fi
fi
stop_broker_checked cp5 "egcontrol (after the second kill -9)"
e2e_finish
