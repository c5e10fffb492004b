#!/usr/bin/env bash
# End-to-end (issue 10): health and readiness of egbroker and egcontrol, then the broker's
# metrics after a scripted scenario. egbroker serves ns1 (mqtts and mqtt listeners) and ns2 (its
# own mqtt listener), with queue_max_messages 3; egcontrol pushes to it. Readiness: the broker
# is not ready before its first snapshot, nor with one namespace of two applied, then ready.
# The scenario (tests/e2e/ops/metrics_cases.py: paho and mosquitto_pub) checks exact counter
# deltas per namespace and reason.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
. tests/e2e/enforcement/enf_lib.sh
enf_init

# The broker of this test: ns1 and ns2 as enf_start_ns_broker serves them, without ns3.
ops_start_broker() {
  ENF_SNI_KEYS='' ENF_BROKER_KEYS='"limits": {"queue_max_messages": 3},' enf_start_ns_broker "$1"
}

# probe URL: GET without a token; status in $PST, body in $PBODY.
probe() {
  PBODY=$E2E_TMP/probe.body
  PST=$(curl -sS --max-time 5 -o "$PBODY" -w '%{http_code}' "$1" 2>"$E2E_TMP/curl.err")
  [ -n "$PST" ] || PST=000
}

# expect_ready WHAT URL STATUS MISSING_JSON [SECONDS]: polls /readyz until it answers STATUS with
# "missing" equal to MISSING_JSON (compact), for up to SECONDS (default 0: once).
expect_ready() {
  local what=$1 url=$2 want=$3 missing=$4 deadline got
  deadline=$(($(date +%s) + ${5:-0}))
  while :; do
    probe "$url"
    got=$(jq -c '[.status, .missing]' "$PBODY" 2>/dev/null)
    [ "$PST" = "$want" ] && [ "$got" = "[\"$([ "$want" = 200 ] && echo ready || echo not ready)\",$missing]" ] && break
    [ "$(date +%s)" -ge "$deadline" ] && break
    sleep 0.1
  done
  if [ "$PST" = "$want" ] && [ "$(jq -c .missing "$PBODY" 2>/dev/null)" = "$missing" ]; then
    ok "$what: $want $(jq -c . "$PBODY")"
  else not_ok "$what: $want with missing $missing" "status $PST: $(head -c 300 "$PBODY")"; fi
}

enf_start broker control ops_start_broker
enf_export

# ---- health and readiness
probe "$ADMIN_URL/healthz"
if [ "$PST" = 200 ] && [ "$(jq -c . "$PBODY")" = '{"status":"ok"}' ]; then ok "egbroker GET /healthz without a token: 200 {\"status\":\"ok\"}"
else not_ok "egbroker GET /healthz without a token" "status $PST: $(cat "$PBODY")"; fi
expect_ready "egbroker GET /readyz before any snapshot" "$ADMIN_URL/readyz" 503 \
  '["snapshot of namespace ns1","snapshot of namespace ns2"]'
probe "$CP_URL/healthz"
if [ "$PST" = 200 ] && [ "$(jq -r .status "$PBODY")" = ok ]; then ok "egcontrol GET /healthz without a token: 200"
else not_ok "egcontrol GET /healthz without a token" "status $PST: $(cat "$PBODY")"; fi
expect_ready "egcontrol GET /readyz without a token (database open, listener up)" "$CP_URL/readyz" 200 '[]'

NS=ns1 enf_open_ns ns1 || true
expect_ready "egbroker GET /readyz with ns1 applied, ns2 not yet" "$ADMIN_URL/readyz" 503 '["snapshot of namespace ns2"]' 10
NS=ns2 enf_open_ns ns2 || true
expect_ready "egbroker GET /readyz with both namespaces applied" "$ADMIN_URL/readyz" 200 '[]' 10
st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST "$ADMIN_URL/readyz")
if [ "$st" = 405 ]; then ok "egbroker POST /readyz: 405"; else not_ok "egbroker POST /readyz: 405" "status $st"; fi
st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$ADMIN_URL/metrics")
if [ "$st" = 401 ]; then ok "egbroker GET /metrics without the token: 401 (only the probes are open)"
else not_ok "egbroker GET /metrics without the token: 401" "status $st"; fi

# Requests evhttp refuses before our handlers (not HTTP, headers over 64 KiB): JSON errors too.
bad_http=$("$EG_PYTHON" - "$ADMIN_PORT" <<'EOF'
import json, socket, sys
port = int(sys.argv[1])
for raw in (b"NOT HTTP AT ALL\r\n\r\n", b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n"):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(raw)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = head.split(b" ")[1].decode()
    ctype = [h for h in head.split(b"\r\n") if h.lower().startswith(b"content-type:")]
    print(status, ctype[0].split(b":")[1].strip().decode() if ctype else "-", json.loads(body)["error"]["code"])
EOF
)
if [ "$bad_http" = "400 application/json BadRequest
400 application/json BadRequest" ]; then ok "egbroker admin: a request that is not HTTP, and one with 70 KB of headers: 400 with a JSON error"
else not_ok "egbroker admin: malformed requests get 400 with a JSON error" "$bad_http"; fi

# ---- the scenario
run_py metrics tests/e2e/ops/metrics_cases.py

stop_broker_checked control "egcontrol"
stop_broker_checked broker "egbroker"
e2e_finish
