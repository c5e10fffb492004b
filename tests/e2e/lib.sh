# shellcheck shell=bash
# Shared helpers for the end-to-end tests. Source it from a test script:
#
#   . "$(dirname "$0")/lib.sh"
#   e2e_init                      # temp dir in $E2E_TMP, cleanup of started processes on exit
#   port=$(free_port)
#   start_bg probe "$EG_TOOLS/mqtt_wire_probe" --port "$port" --log "$E2E_TMP/probe.log"
#   wait_for_port "$port" || bail "probe did not start"
#   check "name" some-command args...       # ok if the command exits 0
#   ok "name" / not_ok "name" "reason"
#   e2e_finish                    # exits non-zero if any check failed
#
# Output follows the runner's convention: one `ok - NAME` or `not ok - NAME` line per check,
# reasons on the following lines, each starting with `#`.

E2E_PASS=0
E2E_FAIL=0
E2E_PIDS=()
E2E_NAMES=()
: "${EG_PYTHON:=/usr/bin/python3}"
: "${EG_BUILD:=build}"
: "${EG_TOOLS:=$EG_BUILD/asan/tools}"
: "${EG_BIN:=$EG_BUILD/asan/bin}"

ok() {
  E2E_PASS=$((E2E_PASS + 1))
  echo "ok - $1"
}

# not_ok NAME [REASON...]: the reason may span lines; each is printed as a `#` comment.
not_ok() {
  local name=$1
  shift
  E2E_FAIL=$((E2E_FAIL + 1))
  echo "not ok - $name"
  if [ $# -gt 0 ]; then
    printf '%s\n' "$*" | head -n 40 | sed 's/^/# /'
  fi
}

# check NAME CMD [ARGS...]: runs the command; ok if it exits 0, else not ok with its output.
check() {
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then
    ok "$name"
  else
    not_ok "$name" "command failed (exit $?): $*" "$out"
  fi
}

bail() {
  not_ok "${2:-setup}" "$1"
  exit 1
}

# A TCP port that is free right now (the kernel picks it).
free_port() {
  "$EG_PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# wait_for_port PORT [SECONDS]: until something accepts on 127.0.0.1:PORT.
wait_for_port() {
  "$EG_PYTHON" - "$1" "${2:-10}" <<'EOF'
import socket, sys, time
port, deadline = int(sys.argv[1]), time.time() + float(sys.argv[2])
while time.time() < deadline:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
EOF
}

# start_bg NAME CMD [ARGS...]: starts a background process, tracked for cleanup. Its
# stdout/stderr go to $E2E_TMP/NAME.out.
start_bg() {
  local name=$1
  shift
  "$@" >"$E2E_TMP/$name.out" 2>&1 &
  E2E_PIDS+=($!)
  E2E_NAMES+=("$name")
}

# demo_ports_free WHO: bails unless make run's fixed demo ports are free (WHO needs them).
demo_ports_free() {
  local port
  for port in 1883 8883 8443 8080 9090; do
    if "$EG_PYTHON" -c "import socket,sys; s=socket.socket(); s.settimeout(0.3); sys.exit(1 if s.connect_ex(('127.0.0.1',$port)) else 0)"; then
      bail "port $port is in use: $1 needs 1883, 8883, 8443, 8080 and 9090" "demo ports are free"
    fi
  done
  ok "demo ports 1883, 8883, 8443, 8080, 9090 are free"
}

# start_demo WHAT: make run's script (scripts/run.sh) with the sanitizer binaries and its state in
# $EG_VAR, as process "demo" (output in $E2E_TMP/demo.out); WHAT passes once it is up, within
# 60 s, else the test bails.
start_demo() {
  start_bg demo scripts/run.sh "$EG_BUILD/asan"
  local _
  for _ in $(seq 600); do
    grep -q "Ctrl-C stops both" "$E2E_TMP/demo.out" 2>/dev/null && break
    sleep 0.1
  done
  if grep -q "Ctrl-C stops both" "$E2E_TMP/demo.out"; then ok "$1"
  else bail "the demo did not come up: $(tail -20 "$E2E_TMP/demo.out")" "$1"; fi
}

# wait_for_line FILE PATTERN [SECONDS]: true once a line of FILE matches the grep PATTERN, within
# SECONDS (default 5): a log line a process writes after its client has already exited.
wait_for_line() {
  local _
  for _ in $(seq $((${3:-5} * 10))); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# pid_of NAME: the pid of the latest process started with start_bg as NAME.
pid_of() {
  local i
  for i in "${!E2E_NAMES[@]}"; do
    [ "${E2E_NAMES[$i]}" = "$1" ] && [ -n "${E2E_PIDS[$i]}" ] && echo "${E2E_PIDS[$i]}"
  done | tail -1
}

# stop_bg NAME: SIGTERM, then SIGKILL after 5 s. Returns the process's exit status.
stop_bg() {
  local i pid rc=0
  for i in "${!E2E_NAMES[@]}"; do
    [ "${E2E_NAMES[$i]}" = "$1" ] || continue
    pid=${E2E_PIDS[$i]}
    [ -n "$pid" ] || continue
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null
      for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    rc=$?
    E2E_PIDS[i]=""
  done
  return $rc
}

e2e_cleanup() {
  local i
  for i in "${!E2E_NAMES[@]}"; do
    [ -n "${E2E_PIDS[$i]}" ] && stop_bg "${E2E_NAMES[$i]}"
  done
  if [ -n "${E2E_TMP:-}" ] && [ -d "$E2E_TMP" ]; then
    if [ -n "${E2E_KEEP:-}" ]; then
      echo "# temp files kept in $E2E_TMP"
    else
      rm -rf "$E2E_TMP"
    fi
  fi
}

# e2e_init: temp dir and cleanup on exit (set E2E_KEEP=1 to keep the temp dir).
e2e_init() {
  E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/eg-e2e.XXXXXX")
  trap e2e_cleanup EXIT
  trap 'exit 130' INT TERM
}

# e2e_finish: summary comment, then exit non-zero if any check failed.
e2e_finish() {
  echo "# $E2E_PASS passed, $E2E_FAIL failed"
  [ "$E2E_FAIL" -eq 0 ] && exit 0
  exit 1
}

# tls_test_setup: the sanitizer-built broker in $BROKER, and a throwaway CA with server and
# client certificates (scripts/dev-certs.sh) in $CERTS, for this run only.
tls_test_setup() {
  BROKER=$EG_BIN/egbroker
  [ -x "$BROKER" ] || bail "$BROKER not built (make test-binaries)"
  CERTS=$E2E_TMP/certs
  scripts/dev-certs.sh "$CERTS" >/dev/null || bail "cannot create test certificates"
}

# stop_broker_checked NAME DESCRIPTION: SIGTERM the broker started as NAME; it must exit 0
# with no sanitizer report in its output.
stop_broker_checked() {
  local log=$E2E_TMP/$1.out rc san
  stop_bg "$1"
  rc=$?
  san=$(grep -E -A20 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error' "$log" | head -30)
  if [ $rc -eq 0 ] && [ -z "$san" ]; then ok "$2 exits 0 on SIGTERM, no sanitizer report"
  else not_ok "$2 exits 0 on SIGTERM, no sanitizer report" "exit $rc" "$san"; fi
}

# started_and_listening NAME PORT: the process started as NAME listens on PORT and is
# still alive (a port picked by free_port can be taken by someone else before the
# process binds it: then the process exits and the caller should try another port).
started_and_listening() {
  local i pid=""
  for i in "${!E2E_NAMES[@]}"; do [ "${E2E_NAMES[$i]}" = "$1" ] && pid=${E2E_PIDS[$i]}; done
  wait_for_port "$2" 10 && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}
