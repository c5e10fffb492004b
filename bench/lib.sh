# shellcheck shell=bash
# Shared by bench/run.sh, bench/enforcement.sh and bench/persistence.sh: the work
# directory and its cleanup, ports, the broker under test, the machine's idle CPU,
# run settings, the tools, and the sections they write into results files.
# Needs PY (a python3), which bench_settings sets.

# bench_workdir PREFIX: WORK and its results file JSONL; removed at exit (KEEP=1 keeps it),
# killing the broker under test if one still runs.
bench_workdir() {
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
    JSONL=$WORK/results.jsonl
    : >"$JSONL"
    BROKER_PID=""
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
    # Brokers and generator may need many descriptors for the connection tests.
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
}

bench_cleanup() {
    [ -n "${GEN_PID:-}" ] && kill "$GEN_PID" 2>/dev/null
    [ -n "$BROKER_PID" ] && stop_broker
    if [ "${KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}

free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() { # port: until it accepts a TCP connection, at most 5 s
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    return 1
}

stop_broker() {
    kill "$BROKER_PID" 2>/dev/null || true
    wait "$BROKER_PID" 2>/dev/null || true
    BROKER_PID=""
}

idle_pct() { # percent of the CPU idle over one second
    local a b
    read -ra a </proc/stat
    sleep 1
    read -ra b </proc/stat
    local busy=$(((b[1] + b[2] + b[3] + b[6] + b[7]) - (a[1] + a[2] + a[3] + a[6] + a[7])))
    local idle=$(((b[4] + b[5]) - (a[4] + a[5])))
    echo $((100 * idle / (busy + idle)))
}

# raise_fd_limit N: the soft and hard limits on open files up to N if this
# shell may (raising the hard one needs CAP_SYS_RESOURCE); sets FD_LIMIT to the
# limit now in force, inherited by the brokers and generators started after.
raise_fd_limit() {
    if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$1" ]; then
        ulimit -Hn "$1" 2>/dev/null || true
    fi
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    FD_LIMIT=$(ulimit -n)
    [ "$FD_LIMIT" = unlimited ] && FD_LIMIT=$(cat /proc/sys/fs/nr_open)
    return 0
}

# proc_kb PID FIELD: a field of /proc/PID/status in kB (VmRSS, RssAnon...), empty if gone.
proc_kb() {
    awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status" 2>/dev/null
}

# malloc_in_use PID LOG: bytes the process has allocated with malloc and not
# freed (glibc's malloc_stats, "Total (incl. mmap)", all arenas), called in the
# process through gdb; it prints to the process's stderr, which must go to LOG.
# Empty without gdb or if the call fails. The process stops for about a second.
malloc_in_use() {
    command -v gdb >/dev/null 2>&1 || return 0
    local offset
    offset=$(stat -c %s "$2")
    timeout 60 gdb -p "$1" -batch -nx -ex 'call (void) malloc_stats()' >/dev/null 2>&1 || return 0
    sleep 0.1
    tail -c +"$((offset + 1))" "$2" | awk '/^Total \(incl. mmap\):/ {t = 1} t && /^in use bytes/ {print $NF; exit}'
}

# bench_settings: PY, and the run lengths shared by the comparisons (QUICK=1: short
# runs that only check everything works): DURATION WARMUP REPEAT FAN PAIRS.
bench_settings() {
    PY=/usr/bin/python3
    [ -x "$PY" ] || PY=python3
    if [ "${QUICK:-0}" = 1 ]; then
        : "${DURATION:=2}" "${WARMUP:=1}" "${REPEAT:=1}"
    fi
    DURATION=${DURATION:-10}
    WARMUP=${WARMUP:-2}
    REPEAT=${REPEAT:-3}
    FAN=${FAN:-50}
    PAIRS=${PAIRS:-25}
}

# bench_tools: MQTTLOAD (built with egbroker, release flags, unless given) and EGBROKER.
bench_tools() {
    if [ -z "${MQTTLOAD:-}" ]; then
        echo "== building (release flags): egbroker and bench/mqttload"
        make --no-print-directory -C bench >/dev/null
        MQTTLOAD=$ROOT/build/bench/mqttload
    fi
    EGBROKER=${EGBROKER:-$ROOT/build/bin/egbroker}
}

# bench_write_section FILE NAME TEXT [TITLE]: TEXT between FILE's "<!-- NAME: begin -->"
# and "<!-- NAME: end -->" markers, the rest of the file kept; when the markers are not
# there yet they are appended (under "## TITLE" when given).
bench_write_section() {
    "$PY" - "$@" <<'EOF'
import sys
path, name, text = sys.argv[1:4]
title = sys.argv[4] if len(sys.argv) > 4 else ""
begin, end = f"<!-- {name}: begin -->", f"<!-- {name}: end -->"
try:
    doc = open(path).read()
except FileNotFoundError:
    doc = ""
if begin not in doc or end not in doc:
    doc = doc.rstrip("\n") + ("\n\n## " + title if title else "") + f"\n\n{begin}\n{end}\n"
head, rest = doc.split(begin, 1)
tail = rest.split(end, 1)[1]
open(path, "w").write(f"{head}{begin}\n{text.rstrip()}\n{end}{tail}")
print(f"tables written to {path}")
EOF
}

# start_mosquitto PORT [LINES]: mosquitto on 127.0.0.1:PORT in the background (its pid in $!),
# on the same ground as egbroker: a QoS 1 window of 100 per subscriber (egbroker's
# max_inflight_out), no Nagle delay, a queue large enough that no QoS 1 message is dropped, no
# connection limit. LINES: more configuration (TLS, persistence). Log: $WORK/mosquitto.log.
start_mosquitto() {
    cat >"$WORK/mosquitto.conf" <<EOF
listener $1 127.0.0.1
${2:-}
allow_anonymous true
max_connections -1
max_queued_messages 1000000
max_inflight_messages 100
set_tcp_nodelay true
log_dest stderr
EOF
    mosquitto -c "$WORK/mosquitto.conf" 2>>"$WORK/mosquitto.log" &
}
