/* A load generator thread: one libevent loop driving its share of the clients.
 *
 * Clients are numbered over the whole run, subscribers first, then
 * publishers (or N plain clients with --connect-only); worker i of T owns
 * clients i, i+T, i+2T... The main thread steers all workers through the
 * phases of a run and polls their progress; the results are read after
 * lg_worker_join(). */
#ifndef LG_WORKER_H
#define LG_WORKER_H

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "loadgen_hist.h"
#include "loadgen_opts.h"

enum lg_phase {
    LG_PHASE_CONNECT, /* connect every client, subscribe the subscribers (--tls-resume: connect every
                         client once, keep its TLS session, disconnect, then connect again with it) */
    LG_PHASE_RUN,     /* publish from t0 for warm-up + duration, then keep receiving */
    LG_PHASE_CLOSE,   /* DISCONNECT everything and stop */
};

/* Shared by the main thread and the workers. t0_ns is written before phase
 * becomes RUN (release), and read after seeing it (acquire). */
typedef struct lg_run {
    const lg_opts *opts;
    uint32_t id; /* stamped into every message: see loadgen_track.h */
    struct sockaddr_in addr;
    /* Source addresses the clients bind to, client k to sources[k % source_count]
     * (none: the kernel picks, 127.0.0.1). */
    const struct sockaddr_in *sources;
    uint32_t source_count;
    SSL_CTX *tls_ctx; /* NULL: plain TCP */
    _Atomic int phase;
    _Atomic int64_t t0_ns;
} lg_run;

/* What a worker has done so far, as polled by the main thread. */
typedef struct lg_snapshot {
    uint64_t connected, failed, subscribed, disconnects;
    uint64_t sent, unique;
    int64_t last_connected_ns;
    int64_t measure_start_ns; /* when the measured connections started (--tls-resume: the reconnects); 0: not
                                 yet */
    bool publishing_done;
} lg_snapshot;

/* Final counts of a worker. The window is [t0 + warm-up, t0 + warm-up + duration). */
typedef struct lg_counts {
    uint64_t clients, connected, failed, subscribed, disconnects;
    uint64_t sent_total, sent_window;
    uint64_t received_total, unique_total, delivered_window;
    uint64_t duplicates, foreign, unexpected_acks;
    uint64_t tls_resumed; /* measured TLS handshakes that resumed a session */
} lg_counts;

typedef struct lg_worker lg_worker;

lg_worker *lg_worker_new(lg_run *run, uint32_t index);
int lg_worker_start(lg_worker *w);
void lg_worker_join(lg_worker *w);
void lg_worker_free(lg_worker *w);

void lg_worker_poll(const lg_worker *w, lg_snapshot *out);

/* After lg_worker_join(). Latency: send to receipt of messages received in
 * the window; connect: TCP connect to CONNACK of every client. */
const lg_counts *lg_worker_counts(const lg_worker *w);
const lg_hist *lg_worker_latency(const lg_worker *w);
const lg_hist *lg_worker_connect_latency(const lg_worker *w);
/* TLS version and cipher of the worker's first measured connection (NULL: none). */
void lg_worker_tls_info(const lg_worker *w, const char **version, const char **cipher);

#endif
