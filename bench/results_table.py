#!/usr/bin/env python3
"""Tables for bench/run.sh, from the JSON lines of mqttload (standard library only).

  results_table.py --progress LINE              one line of progress for a result
  results_table.py --latency-rate JSONL NAME    PUBLISH/s for the latency run of NAME
  results_table.py --report JSONL [--section plain|tls|conns] --machine M --versions V --date D
                   --elapsed S --idle B/A --params P --results FILE
                                                print the tables, write them into FILE
                                                (each section between its own markers)
"""
import argparse
import json
import sys

BROKERS = ("egbroker", "mosquitto")
BEGIN = "<!-- run.sh:begin (generated, do not edit by hand) -->"
END = "<!-- run.sh:end -->"
TLS_BEGIN = "<!-- run.sh:tls:begin (generated, do not edit by hand) -->"
TLS_END = "<!-- run.sh:tls:end -->"
CONNS_BEGIN = "<!-- run.sh:conns:begin (generated, do not edit by hand) -->"
CONNS_END = "<!-- run.sh:conns:end -->"


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def receivers(r):
    """Deliveries per PUBLISH: every subscriber in fanin/fanout, one in pairs."""
    return 1 if r.get("topology") == "pairs" else r.get("subscribers", 1)


def median_run(runs, key):
    """The run whose `key` is the median of the successful runs (the lower
    middle one for an even count), or a failed run if none succeeded."""
    good = sorted((r for r in runs if not failed(r)), key=key)
    return good[(len(good) - 1) // 2] if good else (runs[-1] if runs else None)


def index(results):
    """(phase, scenario, broker) -> the representative run: the median by
    connect time or p99 latency when a run was repeated."""
    groups = {}
    for r in results:
        groups.setdefault((r.get("phase"), r.get("scenario"), r.get("label")), []).append(r)
    by = {}
    for k, runs in groups.items():
        if k[0] in ("connect", "tls-connect", "conns"):
            by[k] = median_run(runs, lambda r: r["connect_ms"])
        elif k[0] == "latency":
            by[k] = median_run(runs, lambda r: r["latency_us"]["p99"])
        else:
            by[k] = median_run(runs, lambda r: r["delivered_per_s"])
    return by, {k: len(v) for k, v in groups.items()}


def ordered_scenarios(results, phase):
    seen = []
    for r in results:
        if r.get("phase") == phase and r.get("scenario") not in seen:
            seen.append(r["scenario"])
    return seen


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "n/a"


def num(v):
    return f"{v:,.0f}" if isinstance(v, (int, float)) else "n/a"


def lost_pct(r):
    if not r or "expected" not in r or not r["expected"]:
        return "n/a"
    return f"{100.0 * r['lost'] / r['expected']:.1f}%"


def lat(r, key="latency_us"):
    if not r or key not in r:
        return "n/a"
    p = r[key]
    return f"{p['p50']:,.0f} / {p['p99']:,.0f} / {p['p999']:,.0f}"


def cpu(r):
    """broker / generator / everything else, % of one core during the window."""
    if not r or failed(r):
        return "n/a"
    return " / ".join(f"{r[k]:.0f}" if k in r else "?"
                      for k in ("broker_cpu_pct", "gen_cpu_pct", "other_cpu_pct"))


def failed(r):
    return r is None or "error" in r


def progress(line):
    r = json.loads(line)
    name = f"{r.get('label', '?'):9} {r.get('phase', ''):7} {r.get('scenario', '?'):18}"
    if "error" in r:
        print(f"  {name} ERROR: {r['error']}")
    elif "clients" in r:  # --connect-only
        extra = ""
        if r.get("failed"):
            extra += f"  {r['failed']} failed"
        if "broker_cpu_ms" in r:
            extra += f"  broker CPU {r['broker_cpu_ms']:.0f} ms"
        if "tls_version" in r:
            extra += f"  {r['tls_version']} {r['tls_cipher']}, {r['tls_resumed']} resumed"
        rss, heap = per_conn(r, "rss"), per_conn(r, "heap")
        if rss is not None:
            extra += f"  broker RSS {r['broker_rss_kb'] / 1024:,.1f} MiB, {rss:,.0f} B per connection"
        if heap is not None:
            extra += f", heap {heap:,.0f} B per connection"
        print(f"  {name} {r['connected']} clients in {r['connect_ms']:.0f} ms{extra}")
    else:
        p = r["latency_us"]
        print(f"  {name} {r['delivered_per_s']:>10,.0f} msg/s  lost {lost_pct(r):>6}  "
              f"p50/p99/p999 {p['p50']:,.0f}/{p['p99']:,.0f}/{p['p999']:,.0f} us  "
              f"CPU% broker/gen/other {cpu(r)}")


def latency_rate(path, name):
    """50% of the lower maximum of the two brokers, as PUBLISH/s over all publishers."""
    by, _ = index(load(path))
    runs = [by.get(("max", name, b)) for b in BROKERS]
    rates = [r["delivered_per_s"] for r in runs if not failed(r) and r.get("delivered_per_s")]
    if not rates:
        print(1000)
        return
    ref = next(r for r in runs if not failed(r))
    print(max(1, int(0.5 * min(rates) / receivers(ref))))


def throughput_table(by, names, phase="max"):
    rows = ["| scenario | clients | egbroker msg/s | mosquitto msg/s | egbroker/mosquitto | lost eg / mosq "
            "| CPU % egbroker run: broker / mqttload / other | CPU % mosquitto run |",
            "|---|---|---:|---:|---:|---:|---:|---:|"]
    for n in names:
        eg, mq = (by.get((phase, n, b)) for b in BROKERS)
        ref = eg or mq
        shape = f"{ref.get('publishers', '?')} pub → {ref.get('subscribers', '?')} sub" if ref else "?"
        e = None if failed(eg) else eg["delivered_per_s"]
        m = None if failed(mq) else mq["delivered_per_s"]
        rows.append(f"| {n} | {shape} | {num(e)} | {num(m)} | **{ratio(e, m)}** | "
                    f"{lost_pct(eg)} / {lost_pct(mq)} | {cpu(eg)} | {cpu(mq)} |")
    return rows


def latency_table(by, names):
    rows = ["| scenario | offered msg/s (delivered) | egbroker p50 / p99 / p999 µs | "
            "mosquitto p50 / p99 / p999 µs | egbroker/mosquitto p50 / p99 / p999 | lost eg / mosq "
            "| CPU % eg run: broker / mqttload / other | CPU % mosq run |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for n in names:
        eg, mq = (by.get(("latency", n, b)) for b in BROKERS)
        ref = eg or mq
        offered = ref["rate"] * receivers(ref) if ref and "rate" in ref else None
        ratios = "n/a"
        if not failed(eg) and not failed(mq):
            ratios = " / ".join(ratio(eg["latency_us"][k], mq["latency_us"][k]) for k in ("p50", "p99", "p999"))
        rows.append(f"| {n} | {num(offered)} | {lat(eg)} | {lat(mq)} | **{ratios}** | "
                    f"{lost_pct(eg)} / {lost_pct(mq)} | {cpu(eg)} | {cpu(mq)} |")
    return rows


def connect_table(by):
    eg, mq = (by.get(("connect", "connect", b)) for b in BROKERS)
    if not eg and not mq:
        return []
    e = None if failed(eg) else eg["connect_ms"]
    m = None if failed(mq) else mq["connect_ms"]
    clients = (eg or mq).get("clients", "?")
    return ["| clients | egbroker ms | mosquitto ms | egbroker/mosquitto (time) | "
            "each, p50 / p99 / p999 µs: egbroker | mosquitto |",
            "|---:|---:|---:|---:|---:|---:|",
            f"| {clients} | {num(e)} | {num(m)} | **{ratio(e, m)}** | "
            f"{lat(eg, 'connect_us')} | {lat(mq, 'connect_us')} |"]


def handshake_table(by, names):
    rows = ["| handshake | clients | egbroker ms | mosquitto ms | egbroker/mosquitto (time) "
            "| handshakes/s egbroker / mosquitto | broker CPU per handshake µs: egbroker / mosquitto "
            "| resumed egbroker / mosquitto | each, p50 / p99 / p999 µs: egbroker | mosquitto "
            "| CPU % egbroker run: broker / mqttload / other | CPU % mosquitto run |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n in names:
        eg, mq = (by.get(("tls-connect", n, b)) for b in BROKERS)
        e = None if failed(eg) else eg["connect_ms"]
        m = None if failed(mq) else mq["connect_ms"]
        clients = (eg or mq).get("clients", "?")

        def per_handshake(r):
            if failed(r) or "broker_cpu_ms" not in r or not r.get("connected"):
                return "n/a"
            return f"{1000.0 * r['broker_cpu_ms'] / r['connected']:,.0f}"

        def resumed(r):
            return "n/a" if failed(r) else f"{r.get('tls_resumed', 0)}"

        def rate(r):
            return "n/a" if failed(r) else num(r.get("connects_per_s"))

        rows.append(f"| {n} | {clients} | {num(e)} | {num(m)} | **{ratio(e, m)}** | {rate(eg)} / {rate(mq)} "
                    f"| {per_handshake(eg)} / {per_handshake(mq)} | {resumed(eg)} / {resumed(mq)} "
                    f"| {lat(eg, 'connect_us')} | {lat(mq, 'connect_us')} | {cpu(eg)} | {cpu(mq)} |")
    return rows


def per_conn(r, what):
    """Broker memory per connected client, bytes: rss (VmRSS), anon (RssAnon) or
    heap (malloc in use), loaded minus before any client; None if unknown."""
    if not r or not r.get("connected"):
        return None
    keys = {"rss": ("broker_rss_kb", "broker_rss_kb_before", 1024),
            "anon": ("broker_anon_kb", "broker_anon_kb_before", 1024),
            "heap": ("broker_heap", "broker_heap_before", 1)}[what]
    if keys[0] not in r or keys[1] not in r:
        return None
    return (r[keys[0]] - r[keys[1]]) * keys[2] / r["connected"]


def conns_tables(by, names):
    """Connections at scale: time to connect, and the broker's memory per connection."""
    time_rows = ["| transport | clients | egbroker s | mosquitto s | egbroker/mosquitto (time) "
                 "| connects/s egbroker / mosquitto | broker CPU per connection µs: egbroker / mosquitto "
                 "| failed egbroker / mosquitto | CPU % egbroker run: broker / mqttload / other "
                 "| CPU % mosquitto run |",
                 "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    mem_rows = ["| transport | clients | broker RSS MiB, idle → loaded: egbroker | mosquitto "
                "| RSS per connection, bytes: egbroker | mosquitto | egbroker/mosquitto "
                "| heap per connection, bytes: egbroker | mosquitto | egbroker/mosquitto "
                "| broker CPU % while idle: egbroker / mosquitto |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    notes = []
    for n in names:
        eg, mq = (by.get(("conns", n, b)) for b in BROKERS)
        ref = eg or mq
        transport, clients = ref.get("transport", n.split("-")[0]), ref.get("clients", "?")
        for b, r in zip(BROKERS, (eg, mq)):
            if r and "error" in r:
                notes.append(f"- {transport} {num(clients)}, {b}: {r['error']}"
                             + ("" if r.get("broker_alive", True) else " (the broker had exited)"))
        if all(r and r.get("error", "").startswith("skipped") for r in (eg, mq)):
            continue

        def secs(r):
            # The time is meaningful when every client connected.
            ok = r and r.get("connected") and r.get("connected") == r.get("clients")
            return r["connect_ms"] / 1000 if ok else None

        def rate(r):
            return num(r.get("connects_per_s")) if secs(r) else "n/a"

        def cpu_per(r):
            if not r or "broker_cpu_ms" not in r or not r.get("connected"):
                return "n/a"
            return f"{1000.0 * r['broker_cpu_ms'] / r['connected']:,.0f}"

        def failed_count(r):
            return "n/a" if not r or "failed" not in r else f"{r['failed']:,}"

        def mib(r):
            if not r or "broker_rss_kb" not in r:
                return "n/a"
            return f"{r['broker_rss_kb_before'] / 1024:,.1f} → {r['broker_rss_kb'] / 1024:,.1f}"

        def idle_cpu(r):
            return f"{r['hold_broker_cpu_pct']:.1f}" if r and "hold_broker_cpu_pct" in r else "n/a"

        e, m = secs(eg), secs(mq)
        time_rows.append(
            f"| {transport} | {num(clients)} | {'n/a' if e is None else f'{e:,.2f}'} "
            f"| {'n/a' if m is None else f'{m:,.2f}'} | **{ratio(e, m)}** | {rate(eg)} / {rate(mq)} "
            f"| {cpu_per(eg)} / {cpu_per(mq)} | {failed_count(eg)} / {failed_count(mq)} "
            f"| {cpu(eg) if secs(eg) else 'n/a'} | {cpu(mq) if secs(mq) else 'n/a'} |")
        re_, rm = per_conn(eg, "rss"), per_conn(mq, "rss")
        he, hm = per_conn(eg, "heap"), per_conn(mq, "heap")
        mem_rows.append(
            f"| {transport} | {num(clients)} | {mib(eg)} | {mib(mq)} | {num(re_)} | {num(rm)} "
            f"| **{ratio(re_, rm)}** | {num(he)} | {num(hm)} | **{ratio(he, hm)}** "
            f"| {idle_cpu(eg)} / {idle_cpu(mq)} |")
    return time_rows, mem_rows, notes


def conns_lines(a, results):
    by, counts = index(results)
    repeats = max([n for (phase, _, _), n in counts.items() if phase == "conns"] or [1])
    time_rows, mem_rows, notes = conns_tables(by, ordered_scenarios(results, "conns"))
    lines = [f"### Connections at scale: run of {a.date}",
             "",
             f"- machine: {a.machine}",
             f"- software: {a.versions}",
             f"- parameters: {a.params}; whole run {a.elapsed} s",
             f"- CPU idle before / after the run: {a.idle} %; CPU columns as in the other tables "
             "(broker / generator / every other process, 100 = one core), while the clients connected",
             f"- negotiated over TLS: {negotiated(results)}",
             "",
             "Time until every client has its CONNACK (lower is better), the clients then staying "
             f"connected and idle; of {repeats} run(s) per broker, the median. Broker CPU per connection: "
             "its CPU time while the clients connected, divided by the clients.",
             "",
             *time_rows,
             "",
             "Broker memory with every client connected and idle: RSS (VmRSS) before any client and "
             "after the hold; per connection = (RSS loaded − RSS idle) / clients. Heap per connection: "
             "the same difference of glibc malloc's bytes in use (malloc_stats, all arenas, through "
             "gdb), which leaves out what the kernel keeps for each socket. Lower is better.",
             "",
             *mem_rows,
             ""]
    if notes:
        lines += ["Not measured, or not as asked:", "", *notes, ""]
    return lines


def negotiated(results):
    """What each broker negotiated with mqttload, e.g. 'egbroker: TLSv1.3 TLS_AES_256_GCM_SHA384, ...'."""
    seen = {}
    for r in results:
        if "tls_version" in r and not failed(r):
            pair = f"{r['tls_version']} {r['tls_cipher']}"
            seen.setdefault(r.get("label"), [])
            if pair not in seen[r.get("label")]:
                seen[r.get("label")].append(pair)
    return "; ".join(f"{b}: {', '.join(seen.get(b, ['?']))}" for b in BROKERS)


def raw_block(results):
    return ["<details><summary>raw mqttload results (JSON lines)</summary>",
            "",
            "```",
            *(json.dumps(r) for r in results),
            "```",
            "</details>"]


def tls_lines(a, results):
    by, counts = index(results)
    repeats = max([n for (phase, _, _), n in counts.items() if phase == "tls-connect"] or [1])
    lines = [f"### TLS run of {a.date}",
             "",
             f"- machine: {a.machine}",
             f"- software: {a.versions}",
             f"- parameters: {a.params}; whole run {a.elapsed} s",
             f"- CPU idle before / after the run: {a.idle} %; CPU columns as in the plain TCP tables "
             "(broker / generator / every other process, 100 = one core)",
             f"- negotiated: {negotiated(results)}",
             ""]
    handshakes = ordered_scenarios(results, "tls-connect")
    if handshakes:
        lines += ["TLS handshakes: time until every client has its CONNACK over TLS (lower is better), "
                  f"200 connecting at once; of {repeats} runs per broker, the median. \"resumed\": every "
                  "client first connects once, keeps its session and disconnects; the reconnects, which "
                  "resume it, are measured. Broker CPU per handshake: the broker's CPU time while the "
                  "clients connected, divided by the clients; the CPU columns cover the same time.",
                  "",
                  *handshake_table(by, handshakes),
                  ""]
    throughput = ordered_scenarios(results, "tls-max")
    if throughput:
        lines += ["TLS throughput: delivered messages per second, as fast as allowed (higher is better).",
                  "",
                  *throughput_table(by, throughput, "tls-max"),
                  ""]
    return lines


def report(a):
    results = load(a.report)
    if a.section == "tls":
        out = [TLS_BEGIN, *tls_lines(a, results), *raw_block(results), TLS_END]
        write_section(a, out, TLS_BEGIN, TLS_END, "## TLS\n\n")
        return
    if a.section == "conns":
        out = [CONNS_BEGIN, *conns_lines(a, results), *raw_block(results), CONNS_END]
        write_section(a, out, CONNS_BEGIN, CONNS_END, "## Connections at scale\n\n")
        return
    by, counts = index(results)
    repeats = max([n for (phase, _, _), n in counts.items() if phase == "latency"] or [1])
    out = [BEGIN,
           f"### Run of {a.date}",
           "",
           f"- machine: {a.machine}",
           f"- software: {a.versions}",
           f"- parameters: {a.params}; whole run {a.elapsed} s",
           f"- CPU idle before / after the run: {a.idle} %; the CPU columns show, for each measurement window, "
           "the broker, the generator and every other process (100 = one core; 'other' above a few % "
           "means the figure was disturbed)",
           "",
           "Throughput: delivered messages per second, as fast as allowed (higher is better).",
           "",
           *throughput_table(by, ordered_scenarios(results, "max")),
           "",
           "Latency: PUBLISH sent to received, at 50% of the lower of the two maxima above "
           f"(lower is better); of {repeats} runs per broker, the one with the median p99.",
           "",
           *latency_table(by, ordered_scenarios(results, "latency")),
           "",
           "Connections: time until every client has its CONNACK (lower is better); of "
           f"{repeats} runs per broker, the median.",
           "",
           *connect_table(by),
           "",
           *raw_block(results),
           END]
    write_section(a, out, BEGIN, END, "")


def write_section(a, out, begin, end, heading):
    """Prints the tables; replaces the text between begin and end in the
    results file (appended, after `heading`, when the markers are absent)."""
    text = "\n".join(out) + "\n"
    print("\n".join(line for line in out if not line.startswith(("<", "```", "{"))))
    if a.results == "-":
        return
    try:
        with open(a.results) as f:
            old = f.read()
    except FileNotFoundError:
        old = "# Benchmark results\n\n"
    if begin in old and end in old:
        new = old[:old.index(begin)] + text.rstrip("\n") + old[old.index(end) + len(end):]
    else:
        new = old.rstrip("\n") + "\n\n" + heading + text
    with open(a.results, "w") as f:
        f.write(new)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--progress")
    p.add_argument("--latency-rate", nargs=2, metavar=("JSONL", "NAME"))
    p.add_argument("--report")
    p.add_argument("--section", choices=("plain", "tls", "conns"), default="plain")
    for opt in ("machine", "versions", "date", "elapsed", "idle", "params", "results"):
        p.add_argument("--" + opt, default="?")
    a = p.parse_args()
    if a.progress:
        progress(a.progress)
    elif a.latency_rate:
        latency_rate(*a.latency_rate)
    elif a.report:
        report(a)
    else:
        p.print_help()
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
