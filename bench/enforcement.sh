#!/usr/bin/env bash
# The cost of authorization (issue 6): the same mqttload scenarios against
# egbroker in open mode and against egbroker enforcing a namespace whose
# snapshot has 1,000 clients, 6 client groups (+ $all), 10 topic spaces with
# templates (${client.authenticationName}, ${client.attributes.KEY}) and 10
# permission bindings. Prints, per scenario, the median delivered msg/s of
# each mode, the ratio enforced/open (target: >= 0.90, i.e. authorization
# costs under 10% of throughput) and the broker's CPU time per delivered
# message; then the one-time costs: applying the snapshot (the POST is
# answered once it is applied) and connecting 1,000 clients.
#
#   bench/enforcement.sh                 # about 5 minutes on 2 cores
#   QUICK=1 bench/enforcement.sh         # 2 s per run, 1 run each: checks that everything works
#   RESULTS=bench/RESULTS_ENFORCEMENT.md bench/enforcement.sh   # also write the tables there
#
# Every run gets a freshly started broker (and an empty data_dir), on free
# ports of 127.0.0.1. Open mode: {"listeners": [mqtt]}, nothing else.
# Enforced: the same listener plus "namespace": "bench" and an "admin"
# endpoint; the snapshot is POSTed to it before mqttload starts. mqttload
# sends the same CONNECTs to both (Username devNNNN, --username-prefix dev);
# open mode ignores the Username. The two modes alternate (ABBA) run by run.
# After each enforced run the broker's /metrics must show every PUBLISH
# allowed (egbroker_publish_denied_total 0).
#
# Tunables (environment): DURATION WARMUP REPEAT FAN PAIRS CONNECTS THREADS
# SCENARIOS ("TOPOLOGY-qQOS-SIZE ...") MQTTLOAD (a prebuilt mqttload: no
# build) RESULTS (a file: the tables go between its enforcement.sh markers,
# the rest is kept; default: none) KEEP (keep the work directory).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

. bench/lib.sh
bench_settings
CONNECTS=${CONNECTS:-1000}
THREADS=${THREADS:-1}
SCENARIOS=${SCENARIOS:-"fanin-q0-64 fanin-q1-64 pairs-q1-64"}
CLIENTS=1000 # in the snapshot: dev0000 .. dev0999
RESULTS=${RESULTS:-}
command -v curl >/dev/null || { echo "enforcement.sh: needs curl" >&2; exit 1; }
bench_tools
# Enforcement needs each connection to name its client: mqttload --username-prefix.
if ! "$MQTTLOAD" --help 2>&1 | grep -q -- --username-prefix; then
    echo "enforcement.sh: $MQTTLOAD has no --username-prefix (CONNECT Username = prefix + the" >&2
    echo "client's number, 4 digits); without a Username every enforced CONNECT is refused" >&2
    exit 1
fi
[ "$FAN" -le "$CLIENTS" ] && [ "$PAIRS" -le "$CLIENTS" ] && [ "$CONNECTS" -le "$CLIENTS" ] ||
    { echo "enforcement.sh: FAN, PAIRS and CONNECTS must be at most $CLIENTS" >&2; exit 2; }

bench_workdir egbench-enf

TOKEN=bench-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')

# ---- the namespace: schema 1 as in api/README.md "Snapshots"
#
# Clients dev0000..dev0999, attributes type (5 kinds, in turn), floor (N % 10)
# and slot (N: the number mqttload puts in its topics). Load-generator client
# i is devNNNN with NNNN = i (publisher i and subscriber i share a name in
# pairs and fan-in, hence 2 sessions per authentication name). Every client
# gets 10-20 expanded filters; the bench topics come from attribute templates
# (mqttload's topics end with the bare number), the rest from
# authenticationName and floor templates.
"$PY" - "$WORK/snapshot.json" "$CLIENTS" <<'EOF'
import json, sys
path, n = sys.argv[1], int(sys.argv[2])
kinds = ["sensor", "actuator", "gateway", "camera", "meter"]
clients = [{"name": f"dev{i:04d}", "authenticationName": f"dev{i:04d}", "state": "Enabled",
            "validationScheme": "SubjectMatchesAuthenticationName", "allowedThumbprints": [],
            "attributes": {"type": kinds[i % 5], "floor": i % 10, "slot": i}} for i in range(n)]
groups = {
    "$all": None,
    "sensors": "attributes.type = 'sensor'",
    "actuators": "attributes.type IN ['actuator', 'camera']",
    "gateways": "attributes.type = 'gateway' OR attributes.type = 'meter'",
    "lower-floors": "attributes.floor <= 4",
    "upper-floors": "attributes.floor >= 5 AND NOT attributes.type = 'meter'",
    "loadgen": "attributes.slot >= 0 AND attributes.slot < 100000",
}
A, F, T, S = ("${client.authenticationName}", "${client.attributes.floor}",
              "${client.attributes.type}", "${client.attributes.slot}")
spaces = {
    "telemetry": [f"devices/{A}/telemetry", f"devices/{A}/telemetry/#", f"devices/{A}/events/+"],
    "commands": [f"devices/{A}/commands/#", f"devices/{A}/config"],
    "floors": [f"floors/{F}/{A}/#", f"floors/{F}/status"],
    "floor-monitor": [f"floors/{F}/+/#", f"alarms/{F}/+"],
    "types": [f"types/{T}/{A}", f"types/{T}/broadcast"],
    "alerts": [f"alerts/{F}/#", "alerts/global"],
    "fleet": [f"fleet/{T}/{F}/{A}", f"fleet/{A}/+/state"],
    "bench-pub": [f"bench/fanin/{S}", f"bench/pairs/{S}", f"bench/{A}/#", "bench/fanout"],
    "bench-fanin-sub": ["bench/fanin/+", "bench/fanout"],
    "bench-pairs-sub": [f"bench/pairs/{S}", f"bench/{A}/#"],
}
bindings = [
    ("telemetry-pub", "$all", "telemetry", "Publisher"),
    ("commands-sub", "$all", "commands", "Subscriber"),
    ("floors-pub", "lower-floors", "floors", "Publisher"),
    ("monitor-sub", "sensors", "floor-monitor", "Subscriber"),
    ("types-pub", "actuators", "types", "Publisher"),
    ("alerts-sub", "upper-floors", "alerts", "Subscriber"),
    ("fleet-pub", "gateways", "fleet", "Publisher"),
    ("bench-pub", "loadgen", "bench-pub", "Publisher"),
    ("bench-fanin-sub", "loadgen", "bench-fanin-sub", "Subscriber"),
    ("bench-pairs-sub", "loadgen", "bench-pairs-sub", "Subscriber"),
]
doc = {
    "schema": 1, "namespace": "bench", "version": 1, "deleted": False,
    "settings": {"state": "Enabled", "maximumSessionExpiryInHours": 1,
                 "maximumClientSessionsPerAuthenticationName": 2,
                 "alternativeAuthenticationNameSources": [], "hostname": "bench.localhost",
                 "throughputUnits": None},
    "caCertificates": [],
    "clients": clients,
    "clientGroups": [{"name": k, "query": v} for k, v in sorted(groups.items())],
    "topicSpaces": [{"name": k, "topicTemplates": v} for k, v in sorted(spaces.items())],
    "permissionBindings": sorted([{"name": b, "clientGroupName": g, "topicSpaceName": t, "permission": p}
                                  for b, g, t, p in bindings], key=lambda b: b["name"]),
}
json.dump(doc, open(path, "w"))
EOF
SNAPSHOT_BYTES=$(stat -c %s "$WORK/snapshot.json")

# mode (open | enforced) -> BROKER_PID, PORT, ADMIN, APPLY_MS (enforced: the POST's time)
start_broker() {
    PORT=$(free_port)
    ADMIN=""
    APPLY_MS=""
    rm -rf "$WORK/data"
    mkdir -p "$WORK/data"
    if [ "$1" = open ]; then
        cat >"$WORK/broker.json" <<EOF
{"listeners": [{"type": "mqtt", "bind": "127.0.0.1", "port": $PORT}]}
EOF
    else
        ADMIN=$(free_port)
        cat >"$WORK/broker.json" <<EOF
{"listeners": [{"type": "mqtt", "bind": "127.0.0.1", "port": $PORT}],
 "admin": {"bind": "127.0.0.1", "port": $ADMIN, "token": "$TOKEN"},
 "namespace": "bench", "data_dir": "$WORK/data"}
EOF
    fi
    "$EGBROKER" --config "$WORK/broker.json" 2>>"$WORK/egbroker-$1.log" &
    BROKER_PID=$!
    wait_port "$PORT" || { echo "enforcement.sh: egbroker ($1) did not start, see $WORK/egbroker-$1.log" >&2; KEEP=1; exit 1; }
    if [ "$1" = enforced ]; then
        wait_port "$ADMIN" || { echo "enforcement.sh: no admin endpoint, see $WORK/egbroker-$1.log" >&2; KEEP=1; exit 1; }
        local out code secs
        out=$(curl -sS -o "$WORK/post.out" -w '%{http_code} %{time_total}' -X POST \
            -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
            --data-binary @"$WORK/snapshot.json" "http://127.0.0.1:$ADMIN/snapshots")
        read -r code secs <<<"$out"
        case $code in 2??) ;; *)
            echo "enforcement.sh: snapshot refused (HTTP $code): $(cat "$WORK/post.out")" >&2; KEEP=1; exit 1 ;;
        esac
        APPLY_MS=$("$PY" -c "print(round(float('$secs') * 1000, 1))")
    fi
}

metric() { # name: the sum of its samples on the enforced broker's /metrics (every label), null if none
    curl -sS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$ADMIN/metrics" 2>/dev/null |
        awk -v m="$1" '$1 == m || index($1, m "{") == 1 { v += $2; n++ } END { print n ? v : "null" }'
}

# One run on a fresh broker; appends mqttload's JSON line with the mode, the
# snapshot apply time and (enforced) the PUBLISH decisions.
run() { # mode mqttload-args...
    local mode=$1 line extra="{}"
    shift
    start_broker "$mode"
    line=$(timeout 180 "$MQTTLOAD" --port "$PORT" --broker-pid "$BROKER_PID" --threads "$THREADS" \
        --username-prefix dev --label "$mode" "$@" 2>>"$WORK/mqttload.log") || true
    [ -n "$line" ] || line="{\"scenario\":\"?\",\"error\":\"mqttload failed: $*\"}"
    if [ "$mode" = enforced ]; then
        extra="{\"apply_ms\": $APPLY_MS, \"publish_in\": $(metric egbroker_publish_in_total),
                \"publish_denied\": $(metric egbroker_publish_denied_total),
                \"connect_denied\": $(curl -sS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$ADMIN/metrics" |
                    awk '/^egbroker_connect_denied_total/ {n += $2} END {print n + 0}')}"
    fi
    stop_broker
    "$PY" - "$line" "$mode" "$extra" >>"$JSONL" <<'EOF'
import json, sys
r = json.loads(sys.argv[1]); r["mode"] = sys.argv[2]; r.update(json.loads(sys.argv[3]))
print(json.dumps(r))
EOF
    "$PY" - "$(tail -1 "$JSONL")" <<'EOF'
import json, sys
r = json.loads(sys.argv[1])
if "connect_only" in r or r.get("scenario") == "connect":
    what = f"connect {r.get('connect_ms', '?')} ms broker_cpu {r.get('broker_cpu_ms', '?')} ms"
else:
    what = f"{r.get('delivered_per_s', 0):>9.0f} msg/s lost {r.get('lost', '?')} broker_cpu {r.get('broker_cpu_pct', '?')}%"
extra = f" apply {r['apply_ms']} ms denied pub {r['publish_denied']} conn {r['connect_denied']}" if "apply_ms" in r else ""
print(f"  {r.get('scenario', '?'):<12} {r['mode']:<8} {what} gen {r.get('gen_cpu_pct', '?')}% other {r.get('other_cpu_pct', '?')}%{extra}"
      + (f"  ERROR {r['error']}" if r.get("error") else ""))
EOF
}


modes_for() { # repeat number -> the two modes, ABBA
    if [ $(($1 % 2)) = 1 ]; then echo "open enforced"; else echo "enforced open"; fi
}

MACHINE="$(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), Linux $(uname -r)"
VERSION="egbroker $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- dataplane shared 2>/dev/null || echo '+changes') (release build)"
IDLE_BEFORE=$(idle_pct)
[ "$IDLE_BEFORE" -ge 90 ] || echo "enforcement.sh: warning: the machine is only ${IDLE_BEFORE}% idle before the run" >&2
START=$(date +%s)

echo "== snapshot: $CLIENTS clients, $SNAPSHOT_BYTES bytes; connections: $CONNECTS clients, 200 at once, $REPEAT runs"
for r in $(seq "$REPEAT"); do
    for m in $(modes_for "$r"); do
        run "$m" --connect-only "$CONNECTS" --connect-timeout 60
    done
done

echo "== throughput: as fast as allowed, ${WARMUP}s warm-up + ${DURATION}s, $REPEAT runs per mode"
for sc in $SCENARIOS; do
    IFS=- read -r topo q size <<<"$sc"
    q=${q#q}
    case $topo in
    fanin) shape=(--publishers "$FAN" --subscribers 1) ;;
    pairs) shape=(--publishers "$PAIRS" --subscribers "$PAIRS") ;;
    fanout) shape=(--publishers 1 --subscribers "$FAN") ;;
    *) echo "enforcement.sh: unknown scenario $sc" >&2; exit 2 ;;
    esac
    for r in $(seq "$REPEAT"); do
        for m in $(modes_for "$r"); do
            run "$m" --name "$sc" --topology "$topo" "${shape[@]}" --qos "$q" --size "$size" \
                --warmup "$WARMUP" --duration "$DURATION"
        done
    done
done
IDLE_AFTER=$(idle_pct)

set +e
"$PY" - "$JSONL" "$WORK/tables.md" "$MACHINE" "$VERSION" "$(date -u '+%Y-%m-%d %H:%M UTC')" \
    "$(($(date +%s) - START))" "$IDLE_BEFORE/$IDLE_AFTER" "$SNAPSHOT_BYTES" \
    "threads=$THREADS warmup=${WARMUP}s duration=${DURATION}s repeat=$REPEAT fan=$FAN pairs=$PAIRS connects=$CONNECTS" <<'EOF'
import json, statistics, sys
jsonl, tables, machine, version, date, elapsed, idle, snap_bytes, params = sys.argv[1:]
rows = [json.loads(l) for l in open(jsonl)]
med = lambda xs: statistics.median(xs) if xs else float("nan")
out = []
p = out.append
p(f"Run {date}, {elapsed} s; {machine}; {version}; idle CPU before/after {idle}%; {params}.")
p("")
errors = [r for r in rows if r.get("error")]
denied = [r for r in rows if r.get("publish_denied") or r.get("connect_denied")]
for r in errors:
    p(f"- **error** {r.get('scenario')} {r.get('mode')}: {r['error']}")
for r in denied:
    p(f"- **denials** {r.get('scenario')}: publish {r.get('publish_denied')}, connect {r.get('connect_denied')}")
ok = [r for r in rows if not r.get("error")]
p("| scenario | open msg/s | enforced msg/s | enforced/open | broker µs CPU/msg open | enforced | runs open | runs enforced | other CPU % |")
p("| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |")
verdict = []
for sc in dict.fromkeys(r["scenario"] for r in ok if r.get("scenario") != "connect"):
    by = {m: [r for r in ok if r["scenario"] == sc and r["mode"] == m] for m in ("open", "enforced")}
    rate = {m: med([r["delivered_per_s"] for r in by[m]]) for m in by}
    cpu = {m: med([r["broker_cpu_pct"] / 100 * r["duration_s"] * 1e6 / r["delivered"]
                   for r in by[m] if r.get("delivered")]) for m in by}
    ratio = rate["enforced"] / rate["open"] if rate["open"] else float("nan")
    verdict.append((sc, ratio))
    runs = {m: " / ".join(f"{r['delivered_per_s']:.0f}" for r in by[m]) for m in by}
    other = " / ".join(str(r.get("other_cpu_pct", "?")) for r in by["open"] + by["enforced"])
    p(f"| {sc} | {rate['open']:.0f} | {rate['enforced']:.0f} | {ratio:.3f} | {cpu['open']:.2f} | {cpu['enforced']:.2f} "
      f"| {runs['open']} | {runs['enforced']} | {other} |")
p("")
con = {m: [r for r in ok if r.get("scenario") == "connect" and r["mode"] == m] for m in ("open", "enforced")}
if con["open"] or con["enforced"]:
    p("| connect | median ms (runs) | connects/s | broker CPU ms |")
    p("| --- | --- | ---: | ---: |")
    for m in ("open", "enforced"):
        rs = con[m]
        p(f"| {m} | {med([r['connect_ms'] for r in rs]):.0f} ({' / '.join(str(round(r['connect_ms'])) for r in rs)}) "
          f"| {med([r.get('connects_per_s', 0) for r in rs]):.0f} | {med([r.get('broker_cpu_ms', 0) for r in rs]):.0f} |")
    p("")
applies = [r["apply_ms"] for r in rows if "apply_ms" in r]
if applies:
    p(f"Snapshot apply ({int(snap_bytes) // 1024} KiB, 1,000 clients, on a fresh broker; the POST /snapshots round trip): "
      f"median {med(applies):.1f} ms, min {min(applies):.1f}, max {max(applies):.1f} over {len(applies)} applies.")
    p("")
worst = min((r for _, r in verdict), default=float("nan"))
holds = worst >= 0.9 and not errors and not denied
p(f"Target (authorization costs < 10% of throughput, ratio >= 0.90): **{'holds' if holds else 'NOT met'}** "
  f"(lowest ratio {worst:.3f}).")
text = "\n".join(out) + "\n"
print()
print(text)
open(tables, "w").write(text)
sys.exit(0 if holds else 3)
EOF
verdict=$?
set -e
[ -z "$RESULTS" ] || bench_write_section "$RESULTS" enforcement.sh "$(cat "$WORK/tables.md")" "Enforcement cost"
exit $verdict
