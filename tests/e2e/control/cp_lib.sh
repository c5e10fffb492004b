# shellcheck shell=bash
# Helpers for the egcontrol end-to-end tests, on top of tests/e2e/lib.sh (source that first).
#
#   cp_setup                          token in $CP_TOKEN (file $E2E_TMP/token), $CP_BIN, and the
#                                     JSON checker (jcheck.py --serve behind two FIFOs)
#   cp_start NAME [ARGS...]           starts egcontrol on a free port (--listen/--token-file added;
#                                     give --db yourself); sets $CP_PORT, $CP_URL; retries a port lost
#   api METHOD PATH [BODY [CURL_ARGS...]]
#                                     one request with the token: $ST status, body in $CP_BODY,
#                                     headers in $CP_HDRS; BODY "" sends none, @FILE sends a file
#   expect NAME STATUS [ASSERTION...] ok if $ST = STATUS and the JSON assertions on the body hold
#                                     (jcheck.py syntax: path=value, path~regex, path#=len, ...)
#   expect_err NAME STATUS CODE [TARGET]
#   hdr NAME                          a response header's value
#   jget PATH...                      values from the last body (PATH# = length)
#   jc FILE ASSERTION... / jc --get FILE PATH...
#                                     jcheck.py on any file; output in $JC_OUT
#   pid_of NAME / forget_bg NAME      a start_bg process's pid / forget one the test killed itself
#   wait_until SECONDS CMD...         polls CMD every 0.1 s
#   cacert FILE CN [DAYS], pem_json FILE
#                                     a self-signed CA certificate (key in FILE.key); a PEM as a
#                                     JSON string

CP_DIR=tests/e2e/control
JCHECK=$CP_DIR/jcheck.py

cp_setup() {
  CP_BIN=$EG_BIN/egcontrol
  [ -x "$CP_BIN" ] || bail "$CP_BIN not built (make build/asan/bin/egcontrol)"
  CP_TOKEN="e2e-token-$RANDOM$RANDOM-0123456789"
  printf '%s\n' "$CP_TOKEN" >"$E2E_TMP/token"
  chmod 600 "$E2E_TMP/token"
  CP_BODY=$E2E_TMP/resp.body
  CP_HDRS=$E2E_TMP/resp.hdrs
  # One jcheck.py process answers every JSON check through two FIFOs (a Python start per check
  # would cost more than the requests); it ends when this shell closes the FIFOs at exit.
  mkfifo "$E2E_TMP/jc.in" "$E2E_TMP/jc.out"
  "$EG_PYTHON" "$JCHECK" --serve <"$E2E_TMP/jc.in" >"$E2E_TMP/jc.out" &
  exec {JCW}>"$E2E_TMP/jc.in" {JCR}<"$E2E_TMP/jc.out"
}

# jc ARGS...: jcheck.py ARGS through the server; output in $JC_OUT, jcheck's exit status.
jc() {
  local line a args=() IFS=$'\t'
  for a in "$@"; do
    a=${a//\\/\\\\}
    a=${a//$'\n'/\\n}
    args+=("${a//$'\t'/\\t}")
  done
  JC_OUT=""
  printf '%s\n' "${args[*]}" >&"$JCW" || return 3
  while IFS= read -r -t 60 line <&"$JCR"; do
    if [[ $line == "__END__ "* ]]; then return "${line#__END__ }"; fi
    JC_OUT+="$line"$'\n'
  done
  return 3
}

# Forgets a process that the test killed itself (kill -9), after reaping it.
forget_bg() {
  local i
  for i in "${!E2E_NAMES[@]}"; do
    if [ "${E2E_NAMES[$i]}" = "$1" ] && [ -n "${E2E_PIDS[$i]}" ]; then
      wait "${E2E_PIDS[$i]}" 2>/dev/null
      E2E_PIDS[i]=""
    fi
  done
}

cp_start() {
  local name=$1
  shift
  for _ in 1 2 3; do
    CP_PORT=$(free_port)
    start_bg "$name" "$CP_BIN" --listen "127.0.0.1:$CP_PORT" --token-file "$E2E_TMP/token" "$@"
    if started_and_listening "$name" "$CP_PORT"; then
      # shellcheck disable=SC2034 # used by the test files
      CP_URL=http://127.0.0.1:$CP_PORT
      return 0
    fi
    stop_bg "$name"
    grep -qi 'address already in use\|cannot bind\|bind' "$E2E_TMP/$name.out" || break
  done
  bail "egcontrol did not start: $(tail -5 "$E2E_TMP/$name.out")"
}

api() {
  local m=$1 p=$2 body=${3-} data=()
  shift 2
  [ $# -gt 0 ] && shift
  if [ -n "$body" ]; then
    data=(--data-binary "$body")
  fi
  : >"$CP_BODY"
  : >"$CP_HDRS"
  ST=$(curl -sS -g --max-time 20 -o "$CP_BODY" -D "$CP_HDRS" -w '%{http_code}' -X "$m" \
    -H "Authorization: Bearer $CP_TOKEN" "${data[@]}" "$@" "http://127.0.0.1:$CP_PORT$p" 2>"$E2E_TMP/curl.err")
  [ -n "$ST" ] || ST=000
}

hdr() {
  grep -i "^$1:" "$CP_HDRS" | head -1 | sed 's/^[^:]*:[[:space:]]*//; s/\r$//'
}

jget() {
  jc --get "$CP_BODY" "$@"
  printf '%s' "$JC_OUT"
}

# jcheck FILE ASSERTION...: like jcheck.py, printing the failures.
jcheck() {
  jc "$@"
  local rc=$?
  printf '%s' "$JC_OUT"
  return $rc
}

expect() {
  local name=$1 want=$2
  shift 2
  if [ "$ST" != "$want" ]; then
    not_ok "$name" "status $ST, want $want" "body: $(head -c 400 "$CP_BODY")" "$(cat "$E2E_TMP/curl.err" 2>/dev/null)"
    return 1
  fi
  if [ $# -gt 0 ] && ! jc "$CP_BODY" "$@"; then
    not_ok "$name" "$JC_OUT"
    return 1
  fi
  ok "$name"
}

expect_err() {
  local name=$1 status=$2 code=$3 target=${4-}
  local a=("error.code=$code" "error.message:string")
  [ -n "$target" ] && a+=("error.target=$target")
  expect "$name" "$status" "${a[@]}"
}

# wait_until SECONDS CMD...: runs CMD every 0.1 s until it succeeds or the time is up.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  while ! "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.1
  done
}

# A self-signed CA certificate: cacert FILE CN [DAYS]
cacert() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1" \
    -subj "/CN=$2" -days "${3:-30}" >/dev/null 2>&1
}

# The PEM as a JSON string: pem_json FILE
pem_json() {
  "$EG_PYTHON" -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$1"
}
