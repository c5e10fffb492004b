#!/usr/bin/env bash
# The cost of durability (issue 8): QoS 1 traffic to persistent sessions with
# egbroker's session store in each mode, against egbroker in memory and
# against Mosquitto (in memory, and with its persistence on) in the same run.
# Subscribers connect with Clean Session 0 (mqttload --persistent), so every
# message they get is a queued/in-flight delivery the store writes and then
# deletes at PUBACK.
#
#   memory     egbroker, "persistence": "off": the baseline
#   periodic   egbroker, the store commits every persistence_interval_ms (100)
#   sync       egbroker, a PUBACK leaves only after the commit of what its
#              PUBLISH queued (group commit: one commit per loop turn serves
#              every connection's acks), synchronous=FULL
#   mosquitto-memory      persistence false (run.sh's configuration)
#   mosquitto-persistent  persistence true, its default autosave_interval:
#              Mosquitto writes its whole database at intervals and at exit,
#              so it is closest to periodic with a 30 min window
#
# egbroker runs with its default limits in every mode; Mosquitto with run.sh's
# configuration (a queue large enough never to drop a QoS 1 message).
#
# Per scenario it prints the median delivered msg/s of each mode, and the
# ratio to egbroker in memory (target: sync >= 0.50). egbroker logs its
# store's commit count at exit: messages per commit shows the grouping.
#
#   bench/persistence.sh               # about 9 minutes on 2 cores
#   QUICK=1 bench/persistence.sh       # 2 s per run, 1 run each
#   RESULTS=bench/RESULTS.md bench/persistence.sh   # also write the table there
#
# Tunables (environment): DURATION WARMUP REPEAT FAN PAIRS SCENARIOS MODES
# MQTTLOAD RESULTS KEEP.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

. bench/lib.sh
bench_settings
# topology-qQOS-SIZE[-wWINDOW]: WINDOW, each publisher's QoS 1 messages in flight (mqttload's
# --window, 16 by default). In sync mode a PUBACK waits for a commit, so a publisher's rate is
# its window over the commit latency: pairs (one publisher per subscriber) shows it most.
SCENARIOS=${SCENARIOS:-"fanin-q1-64 fanin-q1-4096 pairs-q1-64 pairs-q1-64-w64"}
MODES=${MODES:-"memory periodic sync mosquitto-memory mosquitto-persistent"}
RESULTS=${RESULTS:-}
command -v mosquitto >/dev/null 2>&1 || PATH=$PATH:/usr/sbin
bench_tools
"$MQTTLOAD" --help 2>&1 | grep -q -- --persistent ||
    { echo "persistence.sh: $MQTTLOAD has no --persistent" >&2; exit 1; }

bench_workdir egbench-persist
chmod 755 "$WORK" # mosquitto started as root runs as user mosquitto and reads its files here

start_broker() { # mode -> BROKER_PID, PORT (a fresh, empty data directory each time)
    PORT=$(free_port)
    rm -rf "$WORK/data"
    mkdir -p "$WORK/data"
    chmod 777 "$WORK/data"
    case "$1" in
    memory | periodic | sync)
        local persistence=$1
        [ "$1" = memory ] && persistence=off
        # egbroker's default limits (Event Grid's: 100 messages / 1 MiB per session queue),
        # where a subscriber that falls behind pauses its publishers. With queues made huge
        # instead, its backlog grows without bound and every message waits past a commit.
        cat >"$WORK/egbroker.json" <<EOF
{"listeners": [{"type": "mqtt", "bind": "127.0.0.1", "port": $PORT}],
 "data_dir": "$WORK/data", "persistence": "$persistence"}
EOF
        "$EGBROKER" --config "$WORK/egbroker.json" 2>"$WORK/egbroker-last.log" &
        ;;
    mosquitto-*)
        local persist=false
        [ "$1" = mosquitto-persistent ] && persist=true
        start_mosquitto "$PORT" "persistence $persist
persistence_location $WORK/data/"
        ;;
    esac
    BROKER_PID=$!
    wait_port "$PORT" || { echo "persistence.sh: $1 did not start" >&2; KEEP=1; exit 1; }
}

run() { # mode scenario topology qos size [window]
    local mode=$1 scenario=$2 topo=$3 qos=$4 size=$5 window=${6:-} pubs subs line commits=null
    case $topo in
    fanin) pubs=$FAN subs=1 ;;
    pairs) pubs=$PAIRS subs=$PAIRS ;;
    *) pubs=1 subs=$FAN ;;
    esac
    start_broker "$mode"
    line=$(timeout 180 "$MQTTLOAD" --port "$PORT" --broker-pid "$BROKER_PID" --persistent \
        --topology "$topo" --publishers "$pubs" --subscribers "$subs" --qos "$qos" --size "$size" \
        ${window:+--window "$window"} \
        --warmup "$WARMUP" --duration "$DURATION" --label "$mode" 2>>"$WORK/mqttload.log") || true
    stop_broker
    case $mode in memory | periodic | sync)
        commits=$(sed -n 's/.*session store closed commits=\([0-9]*\).*/\1/p' "$WORK/egbroker-last.log" | tail -1)
        [ -n "$commits" ] || commits=null
        ;;
    esac
    [ -n "$line" ] || line="{\"scenario\":\"$topo-q$qos-$size\",\"error\":\"mqttload failed\"}"
    "$PY" -c 'import json,sys; r=json.loads(sys.argv[1]); r["mode"]=sys.argv[2]; r["commits"]=json.loads(sys.argv[3]); r["scenario"]=sys.argv[4]; print(json.dumps(r))' \
        "$line" "$mode" "$commits" "$scenario" >>"$JSONL"
    "$PY" -c 'import json,sys; r=json.loads(sys.argv[1]); print("  %-22s %-16s %10s msg/s  lost %s  commits %s  %s" % (r.get("mode"), r.get("scenario"), r.get("delivered_per_s", "?"), r.get("lost", "?"), r.get("commits"), r.get("error", "")))' \
        "$(tail -1 "$JSONL")"
}

IDLE_BEFORE=$(idle_pct)
for scenario in $SCENARIOS; do
    IFS=- read -r topo q size win <<<"$scenario"
    echo "== $scenario"
    for _ in $(seq "$REPEAT"); do
        for mode in $MODES; do run "$mode" "$scenario" "$topo" "${q#q}" "$size" "${win#w}"; done
    done
done
IDLE_AFTER=$(idle_pct)

TABLE=$("$PY" - "$JSONL" "$MODES" "$IDLE_BEFORE" "$IDLE_AFTER" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
modes = sys.argv[2].split()
def rate(r):
    return r.get("delivered_per_s")
out = ["| scenario | " + " | ".join(modes) + " | sync / memory | periodic / memory | messages per sync commit |",
       "| --- |" + " ---: |" * (len(modes) + 3)]
for sc in dict.fromkeys(r.get("scenario") for r in rows):
    med = {}
    per_commit = None
    for m in modes:
        runs = [r for r in rows if r.get("scenario") == sc and r.get("mode") == m and rate(r) is not None]
        if runs:
            med[m] = statistics.median(rate(r) for r in runs)
        if m == "sync":
            pc = [r["received"] / r["commits"] for r in runs if r.get("commits") and r.get("received")]
            per_commit = statistics.median(pc) if pc else None
    cells = ["%.0f" % med[m] if m in med else "-" for m in modes]
    ratio = lambda a: "%.2f" % (med[a] / med["memory"]) if a in med and med.get("memory") else "-"
    out.append("| %s | %s | %s | %s | %s |" % (sc, " | ".join(cells), ratio("sync"), ratio("periodic"),
                                              "%.0f" % per_commit if per_commit else "-"))
out.append("")
out.append("Idle CPU before/after: %s%% / %s%%." % (sys.argv[3], sys.argv[4]))
print("\n".join(out))
EOF
)
echo
echo "$TABLE"
if [ -n "$RESULTS" ]; then
    META="$(date -u +%Y-%m-%d), $(nproc) CPUs, Linux $(uname -r), egbroker $(git rev-parse --short HEAD), DURATION=$DURATION REPEAT=$REPEAT"
    bench_write_section "$RESULTS" persistence.sh "$META

$TABLE" "Durability: QoS 1 to persistent sessions (bench/persistence.sh)"
fi
