# shellcheck shell=bash
# Shared by bench/run.sh and bench/enforcement.sh: the work directory and its
# cleanup, ports, the broker under test, and the machine's idle CPU.
# Needs PY (a python3) to be set.

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
