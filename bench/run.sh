#!/usr/bin/env bash
# Runs the same MQTT scenarios against egbroker and Debian's mosquitto, prints
# both figures and the ratio egbroker/mosquitto, and writes the tables into
# bench/RESULTS.md (between the run.sh markers; the rest of the file is kept).
#
#   bench/run.sh              # full run, about 25 minutes on 2 cores
#   QUICK=1 bench/run.sh      # 2 s per scenario, to check that everything works
#   ONLY=tls bench/run.sh     # only the TLS part (ONLY=plain: only the plain TCP part)
#   ONLY=conns bench/run.sh   # only the connections at scale (10,000 and 100,000 idle clients)
#
# Plain TCP part, phases: time to connect $CONNECTS clients; throughput (as
# fast as allowed) of every scenario; latency at 50% of the lower of the two
# maxima. TLS part (MQTT over TLS, both brokers on the same throwaway
# certificates from scripts/dev-certs.sh): time to connect $CONNECTS clients
# with full TLS 1.3 and 1.2 handshakes and with resumed ones; throughput of
# the $TLS_TOPOLOGIES scenarios. Connections at scale: $CONNS_COUNTS idle
# clients (TLS: $CONNS_TLS_COUNTS) connected and held, time to connect and the
# broker's memory per connection (RSS, and malloc's heap through gdb). Every run gets a freshly started broker,
# alone on a free port of 127.0.0.1; egbroker and mosquitto alternate,
# scenario by scenario. Connection and latency runs, short and sensitive to
# scheduling noise, are repeated ($REPEAT times); the tables show the median
# run. Each part writes its own section of RESULTS.md. Tunables (environment):
# DURATION WARMUP LAT_DURATION LAT_WARMUP REPEAT FAN PAIRS CONNECTS THREADS
# SIZES QOSES TOPOLOGIES TLS_TOPOLOGIES TLS_HANDSHAKES CONNS_COUNTS
# CONNS_TLS_COUNTS CONNS_MAX CONNS_CONCURRENCY CONNS_HOLD CONNS_REPEAT HEAP ONLY
# RESULTS (file to update, "-" for none) KEEP (keep the work dir).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

if [ "${QUICK:-0}" = 1 ]; then
    : "${DURATION:=2}" "${WARMUP:=1}" "${LAT_DURATION:=1}" "${LAT_WARMUP:=0.5}" "${CONNECTS:=200}" "${REPEAT:=1}"
    : "${CONNS_COUNTS:=1000 5000}" "${CONNS_TLS_COUNTS:=1000}" "${CONNS_HOLD:=1}" "${CONNS_REPEAT:=1}"
fi
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
LAT_DURATION=${LAT_DURATION:-2}
LAT_WARMUP=${LAT_WARMUP:-0.5}
REPEAT=${REPEAT:-3}
FAN=${FAN:-50}
PAIRS=${PAIRS:-25}
CONNECTS=${CONNECTS:-1000}
THREADS=${THREADS:-1}
SIZES=${SIZES:-"64 4096"}
QOSES=${QOSES:-"0 1"}
TOPOLOGIES=${TOPOLOGIES:-"fanin fanout pairs"}
# Empty: none of those TLS runs.
TLS_TOPOLOGIES=${TLS_TOPOLOGIES-"fanin pairs"}
# VERSION-KIND: full handshakes, and reconnects resuming the session of a first connection
TLS_HANDSHAKES=${TLS_HANDSHAKES-"1.3-full 1.3-resumed 1.2-full 1.2-resumed"}
# Connections at scale: idle clients connected at once, plain and over TLS.
# A count the file descriptor limit cannot hold (it needs CAP_SYS_RESOURCE to
# be raised) is recorded as skipped, and CONNS_MAX (default: the most the limit
# allows) is measured instead; 0: no substitute.
CONNS_COUNTS=${CONNS_COUNTS:-"10000 100000"}
CONNS_TLS_COUNTS=${CONNS_TLS_COUNTS-"10000 100000"}
CONNS_MAX=${CONNS_MAX:-auto}
CONNS_CONCURRENCY=${CONNS_CONCURRENCY:-200} # connections being set up at once, as in the connect phase
CONNS_HOLD=${CONNS_HOLD:-5}                 # seconds idle after the last CONNACK before the memory is read
CONNS_REPEAT=${CONNS_REPEAT:-3}
HEAP=${HEAP:-1} # 1: also the broker's malloc heap (glibc malloc_stats through gdb, if installed)
ONLY=${ONLY:-all}
case $ONLY in all | plain | tls | conns) ;; *) echo "run.sh: ONLY is all, plain, tls or conns" >&2; exit 2 ;; esac
RESULTS=${RESULTS:-bench/RESULTS.md}
BROKERS="egbroker mosquitto"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

command -v mosquitto >/dev/null 2>&1 || PATH=$PATH:/usr/sbin
command -v mosquitto >/dev/null 2>&1 || { echo "run.sh: mosquitto is not installed (apt-get install mosquitto)" >&2; exit 1; }

echo "== building (release flags): egbroker and bench/mqttload"
make --no-print-directory -C bench >/dev/null
EGBROKER=$ROOT/build/bin/egbroker
MQTTLOAD=$ROOT/build/bench/mqttload

. bench/lib.sh
bench_workdir egbench
chmod 755 "$WORK" # mosquitto started as root runs as user mosquitto and reads its config here
TLS=0 # 1 during the TLS part: brokers get a TLS listener, mqttload gets TLS_ARGS
TLS_ARGS=()

start_broker() { # name -> sets BROKER_PID, PORT
    PORT=$(free_port)
    case "$1" in
    egbroker)
        if [ "$TLS" = 1 ]; then
            # Its defaults otherwise, as in the plain part (so it also asks
            # clients for a certificate; mqttload sends none).
            cat >"$WORK/egbroker-tls.json" <<EOF
{"listeners": [{"type": "mqtts", "bind": "127.0.0.1", "port": $PORT,
                "cert": "$CERTS/server.pem", "key": "$CERTS/server.key"}]}
EOF
            "$EGBROKER" --config "$WORK/egbroker-tls.json" 2>>"$WORK/egbroker.log" &
        else
            "$EGBROKER" -p "$PORT" 2>>"$WORK/egbroker.log" &
        fi
        ;;
    mosquitto)
        # No persistence; TLS: the same certificate and key, no client certificate required.
        local tls_conf=""
        [ "$TLS" = 1 ] && tls_conf="cafile $CERTS/ca.pem
certfile $CERTS/server.pem
keyfile $CERTS/server.key
require_certificate false"
        start_mosquitto "$PORT" "persistence false
$tls_conf"
        ;;
    esac
    BROKER_PID=$!
    wait_port "$PORT" || { echo "run.sh: $1 did not start, see $WORK/$1.log" >&2; KEEP=1; exit 1; }
}

# Runs mqttload against the current broker and appends its JSON line, with
# the phase added. mqttload measures the CPU use of itself, of the broker and
# of everything else during the measurement window.
load() { # broker phase mqttload-args...
    local broker=$1 phase=$2 line
    shift 2
    line=$(timeout 180 "$MQTTLOAD" --port "$PORT" --broker-pid "$BROKER_PID" --threads "$THREADS" \
        --label "$broker" ${TLS_ARGS[@]+"${TLS_ARGS[@]}"} "$@" 2>>"$WORK/mqttload.log") || true
    record "$broker" "$phase" "$line" "$*"
}

# Appends a JSON line of mqttload (or, if there is none, an error naming the
# arguments) with the phase and extra fields added, and prints its progress line.
record() { # broker phase line args [key=json-value...]
    local broker=$1 phase=$2 line=$3 args=$4
    shift 4
    [ -n "$line" ] || line="{\"scenario\":\"?\",\"label\":\"$broker\",\"error\":\"mqttload failed: $args\"}"
    line=$("$PY" -c 'import json,sys
r = json.loads(sys.argv[1]); r["phase"] = sys.argv[2]
for kv in sys.argv[3:]:
    k, v = kv.split("=", 1)
    if v: r[k] = json.loads(v)
print(json.dumps(r))' "$line" "$phase" "$@")
    echo "$line" >>"$JSONL"
    "$PY" "$ROOT/bench/results_table.py" --progress "$line"
}

shape() { # topology -> publishers subscribers
    case "$1" in
    fanin) echo "$FAN 1" ;;
    fanout) echo "1 $FAN" ;;
    pairs) echo "$PAIRS $PAIRS" ;;
    esac
}

scenarios() { # topologies
    for t in $1; do for q in $QOSES; do for s in $SIZES; do echo "$t $q $s"; done; done; done
}

# Background load would distort everything: measure and record it.
# A fresh broker for every run: what a run leaves behind (QoS 0 backlog still in
# the broker's socket buffers, queues) must not cost the next one CPU.
run_fresh() { # broker phase mqttload-args...
    start_broker "$1"
    load "$@"
    stop_broker
}

MACHINE="$(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), Linux $(uname -r)"
MACHINE="$MACHINE, $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2 / 1048576}' /proc/meminfo)"
DIRTY=$(git -C "$ROOT" status --porcelain -- dataplane shared 2>/dev/null | head -1)
VERSIONS="egbroker $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')${DIRTY:+ + uncommitted changes in dataplane/ or shared/} (release build), $(mosquitto -h 2>/dev/null | head -1 | sed 's/ (build.*//'), libevent $(pkg-config --modversion libevent)"

# A part starts with the idle check and the clock, and ends writing its section.
begin_part() {
    : >"$JSONL"
    IDLE_BEFORE=$(idle_pct)
    [ "$IDLE_BEFORE" -ge 90 ] || echo "run.sh: warning: the machine is only ${IDLE_BEFORE}% idle before the run" >&2
    START=$(date +%s)
}
report_part() { # section versions params
    local idle_after elapsed
    idle_after=$(idle_pct)
    elapsed=$(($(date +%s) - START))
    "$PY" "$ROOT/bench/results_table.py" --report "$JSONL" --section "$1" --machine "$MACHINE" \
        --versions "$2" --date "$(date -u '+%Y-%m-%d %H:%M UTC')" --elapsed "$elapsed" \
        --idle "$IDLE_BEFORE/$idle_after" --params "$3" --results "$RESULTS"
}

plain_part() {
    begin_part
    echo "== connections: $CONNECTS clients, 200 connecting at once, $REPEAT runs"
    for _ in $(seq "$REPEAT"); do
        for b in $BROKERS; do
            run_fresh "$b" connect --connect-only "$CONNECTS" --connect-timeout 60
        done
    done

    echo "== throughput: as fast as allowed, ${WARMUP}s warm-up + ${DURATION}s per scenario"
    while read -r t q s; do
        read -r p n <<<"$(shape "$t")"
        for b in $BROKERS; do
            run_fresh "$b" max --name "$t-q$q-${s}B" --topology "$t" --publishers "$p" --subscribers "$n" \
                --qos "$q" --size "$s" --warmup "$WARMUP" --duration "$DURATION"
        done
    done < <(scenarios "$TOPOLOGIES")

    echo "== latency: at 50% of the lower of the two maxima, ${LAT_WARMUP}s warm-up + ${LAT_DURATION}s, $REPEAT runs"
    while read -r t q s; do
        read -r p n <<<"$(shape "$t")"
        rate=$("$PY" "$ROOT/bench/results_table.py" --latency-rate "$JSONL" "$t-q$q-${s}B")
        for _ in $(seq "$REPEAT"); do
            for b in $BROKERS; do
                run_fresh "$b" latency --name "$t-q$q-${s}B" --topology "$t" --publishers "$p" \
                    --subscribers "$n" --qos "$q" --size "$s" --warmup "$LAT_WARMUP" --duration "$LAT_DURATION" \
                    --rate "$rate"
            done
        done
    done < <(scenarios "$TOPOLOGIES")
    report_part plain "$VERSIONS" \
        "threads=$THREADS warmup=${WARMUP}s duration=${DURATION}s latency: warmup=${LAT_WARMUP}s duration=${LAT_DURATION}s repeat=$REPEAT fan=$FAN pairs=$PAIRS connects=$CONNECTS"
}

# From here on the brokers listen over TLS and mqttload speaks it (tls_off: back).
tls_on() {
    # Throwaway certificates (development CA; server certificate for localhost
    # and 127.0.0.1), removed with the work directory. mosquitto started as root
    # reads its key after becoming user mosquitto: the key must be readable.
    CERTS=$WORK/certs
    if [ ! -f "$CERTS/server.pem" ]; then
        scripts/dev-certs.sh "$CERTS" >/dev/null
        chmod 644 "$CERTS/server.key"
    fi
    TLS=1
    # Every client verifies the broker's certificate against the CA and the
    # name localhost, which it also sends as SNI.
    TLS_ARGS=(--tls --cafile "$CERTS/ca.pem" --servername localhost)
}
tls_off() {
    TLS=0
    TLS_ARGS=()
}

tls_part() {
    tls_on
    begin_part

    echo "== TLS handshakes: $CONNECTS clients, 200 connecting at once, $REPEAT runs"
    local h version extra
    for _ in $(seq "$REPEAT"); do
        for h in $TLS_HANDSHAKES; do
            version=${h%-*}
            extra=()
            if [ "${h#*-}" = resumed ]; then extra=(--tls-resume); fi
            for b in $BROKERS; do
                run_fresh "$b" tls-connect --name "tls$h" --connect-only "$CONNECTS" --connect-timeout 60 \
                    --tls-version "$version" ${extra[@]+"${extra[@]}"}
            done
        done
    done

    echo "== TLS throughput: as fast as allowed, ${WARMUP}s warm-up + ${DURATION}s per scenario"
    while read -r t q s; do
        read -r p n <<<"$(shape "$t")"
        for b in $BROKERS; do
            run_fresh "$b" tls-max --name "$t-q$q-${s}B" --topology "$t" --publishers "$p" --subscribers "$n" \
                --qos "$q" --size "$s" --warmup "$WARMUP" --duration "$DURATION"
        done
    done < <(scenarios "$TLS_TOPOLOGIES")

    report_part tls "$VERSIONS, $(openssl version | awk '{print $1, $2}') (both brokers and mqttload)" \
        "threads=$THREADS warmup=${WARMUP}s duration=${DURATION}s repeat=$REPEAT fan=$FAN pairs=$PAIRS connects=$CONNECTS; mqttload --tls --cafile ca.pem --servername localhost"
    tls_off
}

# One broker, N idle clients: connected (CONNS_CONCURRENCY at once), held
# CONNS_HOLD s, then mqttload reads the broker's RSS and waits (pause file)
# while the broker's heap is read; the broker's heap is also read before any
# client. Bounded: mqttload by its connect timeout and a timeout around it.
conns_run() { # broker transport clients
    local broker=$1 transport=$2 n=$3 line heap0="" heap1="" pause=$WORK/pause
    local args=(--connect-only "$n" --name "$transport-$n" --connect-concurrency "$CONNS_CONCURRENCY"
        --connect-timeout 300 --hold "$CONNS_HOLD" --pause-file "$pause")
    start_broker "$broker"
    sleep 0.5
    [ "$HEAP" = 1 ] && heap0=$(malloc_in_use "$BROKER_PID" "$WORK/$broker.log")
    rm -f "$pause" "$WORK/conns.json"
    timeout 600 "$MQTTLOAD" --port "$PORT" --broker-pid "$BROKER_PID" --threads "$THREADS" --label "$broker" \
        ${TLS_ARGS[@]+"${TLS_ARGS[@]}"} "${args[@]}" >"$WORK/conns.json" 2>>"$WORK/mqttload.log" &
    GEN_PID=$!
    while [ ! -e "$pause" ] && kill -0 "$GEN_PID" 2>/dev/null; do sleep 0.1; done
    if [ -e "$pause" ]; then
        [ "$HEAP" = 1 ] && heap1=$(malloc_in_use "$BROKER_PID" "$WORK/$broker.log")
        rm -f "$pause"
    fi
    wait "$GEN_PID" || true
    GEN_PID=""
    line=$(cat "$WORK/conns.json")
    # Still there after the clients left (a crash shows here, and in the log).
    local alive=true
    kill -0 "$BROKER_PID" 2>/dev/null || alive=false
    record "$broker" conns "$line" "${args[*]}" transport="\"$transport\"" broker_heap_before="$heap0" \
        broker_heap="$heap1" broker_alive="$alive"
    stop_broker
}

# A count this machine cannot hold: recorded as skipped, with the reason.
conns_skip() { # transport clients why
    local b
    for b in $BROKERS; do
        record "$b" conns "{\"scenario\":\"$1-$2\",\"label\":\"$b\",\"clients\":$2,\"connected\":0,\"error\":\"skipped: $3\"}" \
            "" transport="\"$1\""
    done
}

# Why this machine cannot run N clients (empty if it can): a descriptor per
# client in the broker and in mqttload (plus a margin), and memory, at most
# ~100 KiB per client over TLS, ~20 KiB in plain, both sides together.
conns_unfit() { # transport clients
    local need=$(($2 + 100)) per=20 avail
    [ "$1" = tls ] && per=100
    avail=$(awk '/MemAvailable/ {print $2}' /proc/meminfo)
    if [ "$FD_LIMIT" -lt "$need" ]; then
        echo "$2 connections need $need file descriptors in the broker and in mqttload, the limit is $FD_LIMIT (ulimit -Hn; raising it needs CAP_SYS_RESOURCE)"
    elif [ "$avail" -lt $(($2 * per)) ]; then
        echo "$2 connections may need $(($2 * per / 1024)) MiB, $((avail / 1024)) MiB available"
    fi
}

conns_part() {
    local transport counts n why max tried
    local most=0
    for n in $CONNS_COUNTS $CONNS_TLS_COUNTS; do [ "$n" -gt "$most" ] && most=$n; done
    raise_fd_limit $((most + 1000))
    max=$CONNS_MAX
    [ "$max" = auto ] && max=$(((FD_LIMIT - 100) / 100 * 100))
    begin_part
    echo "== connections at scale: idle clients ($CONNS_CONCURRENCY connecting at once), held ${CONNS_HOLD}s; file descriptor limit $FD_LIMIT"
    for transport in plain tls; do
        counts=$CONNS_COUNTS
        if [ "$transport" = tls ]; then
            counts=$CONNS_TLS_COUNTS
            [ -n "$counts" ] || continue
            tls_on
        fi
        tried=""
        for n in $counts; do
            why=$(conns_unfit "$transport" "$n")
            if [ -n "$why" ]; then
                echo "  $transport $n: skipped: $why"
                conns_skip "$transport" "$n" "$why"
                # The most this machine allows instead, once.
                if [ "$max" -le 0 ] || [ "$max" -ge "$n" ] || [ -n "$(conns_unfit "$transport" "$max")" ]; then
                    continue
                fi
                n=$max
            fi
            case " $tried " in *" $n "*) continue ;; esac
            tried="$tried $n"
            for _ in $(seq "$CONNS_REPEAT"); do
                for b in $BROKERS; do conns_run "$b" "$transport" "$n"; done
            done
        done
        tls_off
    done
    report_part conns "$VERSIONS, $(openssl version | awk '{print $1, $2}')" \
        "threads=$THREADS connect-concurrency=$CONNS_CONCURRENCY hold=${CONNS_HOLD}s repeat=$CONNS_REPEAT fd-limit=$FD_LIMIT ip_local_port_range=$(tr '\t' - </proc/sys/net/ipv4/ip_local_port_range); TLS: mqttload --tls --cafile ca.pem --servername localhost"
}

case $ONLY in all | plain) plain_part ;; esac
case $ONLY in all | tls) tls_part ;; esac
case $ONLY in all | conns) conns_part ;; esac
[ "$RESULTS" = - ] || echo "tables written to $RESULTS"
