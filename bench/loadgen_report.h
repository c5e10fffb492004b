/* The one-line JSON report of a run. */
#ifndef LG_REPORT_H
#define LG_REPORT_H

#include <stdio.h>

#include "loadgen_hist.h"
#include "loadgen_mem.h"
#include "loadgen_opts.h"
#include "loadgen_worker.h"

typedef struct lg_result {
    lg_counts n;                    /* summed over the workers */
    const lg_hist *latency;         /* send to receipt, messages received in the window */
    const lg_hist *connect_latency; /* TCP connect to CONNACK, per client */
    double connect_s;               /* start to the last CONNACK */
    double window_s;                /* measured publishing time; --connect-only: connecting time */
    uint64_t expected;              /* deliveries owed over the whole run: sent x receivers */
    /* CPU use during the window, 100 = one core; negative when unknown.
     * other: every other process of the machine; steal: the hypervisor's. */
    double gen_cpu_pct, broker_cpu_pct, other_cpu_pct, steal_pct;
    const char *tls_version, *tls_cipher; /* of the first connection, with --tls */
    uint32_t source_addrs;                /* source addresses bound to (0: none, the kernel picked) */
    /* --hold: how long the clients were held idle, the CPU use then (negative
     * when unknown), and the memory of the broker before any client connected
     * and at the end of the hold, and of mqttload then (-1: unknown). */
    double hold_s, hold_broker_cpu_pct, hold_other_cpu_pct;
    lg_mem broker_before, broker_held, gen_held;
    const char *error; /* NULL when the run completed */
} lg_result;

/* Fields: scenario, label, topology, qos, size, mqtt, publishers, subscribers,
 * threads, window, rate, warmup_s, duration_s, connect_ms, connects_per_s,
 * connect_us {p50,p99,p999}, sent, sent_per_s, delivered, delivered_per_s,
 * expected, received, lost, duplicates, foreign, disconnects,
 * latency_us {p50,p99,p999,max}, gen_cpu_pct, broker_cpu_pct, other_cpu_pct,
 * steal_pct (--connect-only: also broker_cpu_ms, gen_cpu_ms, over the
 * connecting), error; with --tls also tls_version, tls_cipher, tls_resume
 * (asked for) and tls_resumed (measured handshakes that resumed a session);
 * --connect-only also failed and source_addrs, and after a --hold: hold_s,
 * keep_alive, hold_broker_cpu_pct, hold_other_cpu_pct, broker_rss_kb_before,
 * broker_anon_kb_before, broker_rss_kb, broker_anon_kb, broker_hwm_kb and
 * gen_rss_kb (those known). */
void lg_report_json(FILE *out, const lg_opts *o, const lg_result *r);

#endif
