/* The one-line JSON report of a run. */
#ifndef LG_REPORT_H
#define LG_REPORT_H

#include <stdio.h>

#include "loadgen_hist.h"
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
    const char *error;                    /* NULL when the run completed */
} lg_result;

/* Fields: scenario, label, topology, qos, size, mqtt, publishers, subscribers,
 * threads, window, rate, warmup_s, duration_s, connect_ms, connects_per_s,
 * connect_us {p50,p99,p999}, sent, sent_per_s, delivered, delivered_per_s,
 * expected, received, lost, duplicates, foreign, disconnects,
 * latency_us {p50,p99,p999,max}, gen_cpu_pct, broker_cpu_pct, other_cpu_pct,
 * steal_pct (--connect-only: also broker_cpu_ms, gen_cpu_ms, over the
 * connecting), error; with --tls also tls_version, tls_cipher, tls_resume
 * (asked for) and tls_resumed (measured handshakes that resumed a session). */
void lg_report_json(FILE *out, const lg_opts *o, const lg_result *r);

#endif
