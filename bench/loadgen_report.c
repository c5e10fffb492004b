/* JSON report of a run. Names and labels were checked for quotes and
 * backslashes at parse time, so they are printed as they are. */
#include "loadgen_report.h"

#include <inttypes.h>

static double us(uint64_t ns)
{
    return (double)ns / 1000.0;
}

static void percentiles(FILE *out, const char *key, const lg_hist *h, int with_max)
{
    fprintf(out, "\"%s\":{\"p50\":%.1f,\"p99\":%.1f,\"p999\":%.1f", key, us(lg_hist_percentile(h, 0.50)),
            us(lg_hist_percentile(h, 0.99)), us(lg_hist_percentile(h, 0.999)));
    if (with_max)
        fprintf(out, ",\"max\":%.1f", us(lg_hist_max(h)));
    fputs("}", out);
}

static double per_s(uint64_t n, double s)
{
    return s > 0 ? (double)n / s : 0;
}

void lg_report_json(FILE *out, const lg_opts *o, const lg_result *r)
{
    const lg_counts *n = &r->n;
    uint64_t lost = r->expected > n->unique_total ? r->expected - n->unique_total : 0;
    const char *scenario = o->name[0] ? o->name : "connect"; /* --connect-only: "connect" unless named */
    fprintf(out, "{\"scenario\":\"%s\",\"label\":\"%s\"", scenario, o->label);
    if (o->connect_only) {
        fprintf(out, ",\"clients\":%u", o->connect_only);
    } else {
        fprintf(out,
                ",\"topology\":\"%s\",\"qos\":%u,\"size\":%u,\"mqtt\":\"%s\",\"publishers\":%u,"
                "\"subscribers\":%u,\"window\":%u,\"rate\":%.0f,\"warmup_s\":%g,\"duration_s\":%g",
                lg_topology_name(o->topology), o->qos, o->size, o->version == 5 ? "5" : "3.1.1",
                o->publishers, o->subscribers, o->window, o->rate, o->warmup, o->duration);
    }
    fprintf(out, ",\"threads\":%u,\"connected\":%" PRIu64 ",\"connect_ms\":%.1f,\"connects_per_s\":%.0f,",
            o->threads, n->connected, r->connect_s * 1000, per_s(n->connected, r->connect_s));
    percentiles(out, "connect_us", r->connect_latency, 0);
    if (!o->connect_only) {
        fprintf(out,
                ",\"sent\":%" PRIu64 ",\"sent_per_s\":%.0f,\"delivered\":%" PRIu64 ",\"delivered_per_s\":%.0f"
                ",\"expected\":%" PRIu64 ",\"received\":%" PRIu64 ",\"lost\":%" PRIu64
                ",\"duplicates\":%" PRIu64 ",\"foreign\":%" PRIu64 ",\"disconnects\":%" PRIu64 ",",
                n->sent_window, per_s(n->sent_window, r->window_s), n->delivered_window,
                per_s(n->delivered_window, r->window_s), r->expected, n->unique_total, lost, n->duplicates,
                n->foreign, n->disconnects);
        percentiles(out, "latency_us", r->latency, 1);
    }
    /* Over the measurement window; with --connect-only, while connecting, also in ms of CPU. */
    const char *keys[] = {"gen_cpu_pct", "broker_cpu_pct", "other_cpu_pct", "steal_pct"};
    double values[] = {r->gen_cpu_pct, r->broker_cpu_pct, r->other_cpu_pct, r->steal_pct};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        if (values[i] >= 0)
            fprintf(out, ",\"%s\":%.0f", keys[i], values[i]);
    if (o->connect_only && r->window_s > 0) {
        if (r->broker_cpu_pct >= 0)
            fprintf(out, ",\"broker_cpu_ms\":%.0f", r->broker_cpu_pct * r->window_s * 10);
        if (r->gen_cpu_pct >= 0)
            fprintf(out, ",\"gen_cpu_ms\":%.0f", r->gen_cpu_pct * r->window_s * 10);
    }
    if (o->connect_only)
        fprintf(out, ",\"failed\":%" PRIu64 ",\"source_addrs\":%u", n->failed, r->source_addrs);
    if (o->hold > 0 && r->hold_s > 0) {
        fprintf(out, ",\"hold_s\":%.1f,\"keep_alive\":%u", r->hold_s, o->keep_alive);
        const char *names[] = {"hold_broker_cpu_pct",   "hold_other_cpu_pct", "broker_rss_kb_before",
                               "broker_anon_kb_before", "broker_rss_kb",      "broker_anon_kb",
                               "broker_hwm_kb",         "gen_rss_kb"};
        double v[] = {r->hold_broker_cpu_pct,   r->hold_other_cpu_pct, r->broker_before.rss_kb,
                      r->broker_before.anon_kb, r->broker_held.rss_kb, r->broker_held.anon_kb,
                      r->broker_held.hwm_kb,    r->gen_held.rss_kb};
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
            if (v[i] >= 0)
                fprintf(out, i < 2 ? ",\"%s\":%.1f" : ",\"%s\":%.0f", names[i], v[i]);
    }
    if (o->tls)
        fprintf(out,
                ",\"tls_version\":\"%s\",\"tls_cipher\":\"%s\",\"tls_resume\":%s,\"tls_resumed\":%" PRIu64,
                r->tls_version ? r->tls_version : "?", r->tls_cipher ? r->tls_cipher : "?",
                o->tls_resume ? "true" : "false", n->tls_resumed);
    if (r->error)
        fprintf(out, ",\"error\":\"%s\"", r->error);
    fputs("}\n", out);
    fflush(out);
}
