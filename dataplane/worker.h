/* A worker: one event loop and the state only it touches. Its connections
 * (and their output batching lists), the sessions whose home it is (per realm:
 * the registry and the subscription tree), and its counters. With one worker it
 * runs on the main loop; with several, each runs its own base on its own thread
 * (docs/design-threads.md), and a session is only ever touched by its home
 * worker (or by the main thread while the workers are parked, broker_world_stop).
 *
 * Ownership: the broker owns its workers. A worker owns its connections
 * (list), and per realm its sessions (registry) and subscription tree; its
 * event base when it has its own (own_base), else it borrows the main one. */
#ifndef EG_WORKER_H
#define EG_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "broker.h"
#include "mqtt_packet.h"
#include "ns_stats.h"
#include "realm.h"

struct event;
struct event_base;
struct conn;
struct strmap;
struct sub_tree;
struct conn_move;
struct xthread_waker;

/* What a worker holds of one realm. */
typedef struct worker_realm {
    struct strmap *sessions; /* client id -> struct session* (owned) */
    struct sub_tree *subs;   /* subscriptions of these sessions */
    /* Subscriptions in `subs`: written by this worker, read by any that routes in the realm
     * (a worker with none gets no broadcast). */
    _Atomic uint32_t plain_subs;
    ns_stats stats; /* the realm's counters on this worker: written by this worker only */
} worker_realm;

typedef struct worker {
    broker *broker;
    int index;
    struct event_base *base; /* the main loop's, or its own (owned) when on its own thread */
    bool own_base;
    pthread_t thread;
    bool thread_started;
    worker_realm *realms;       /* [broker->realm_count], by realm->index */
    struct conn *conns;         /* doubly linked list of live connections (owned) */
    struct conn *written;       /* connections with output to flush at the end of the current read */
    struct conn *held;          /* connections whose output waits for the group commit (sync mode) */
    struct event *group_commit; /* runs after the loop turn's reads: commit, then release `held` */
    uint64_t next_conn_id, next_session_id;
    uint64_t next_delivery_seq;  /* counter of delivery.seq (worker_next_id); past the restored ones */
    uint64_t route_gen;          /* stamps sessions while one message is routed */
    uint32_t congested_sessions; /* connected sessions holding their publishers (congested, reading) */
    broker_stats stats;          /* written by this worker only; per realm: realms[i].stats */
    /* Its inbox, under moving_mu, looked at when moving_waker wakes it (also to park it,
     * broker_world_stop): connections handed over to it at CONNECT (conn_move_to), and sockets
     * the main thread accepted for it (listener.c). FIFOs, owned. */
    pthread_mutex_t moving_mu;
    struct conn_move *moving, **moving_tail;
    struct accepted_socket *accepted, **accepted_tail;
    bool stop_asked; /* the thread leaves its loop (broker_join_workers) */
    struct xthread_waker *moving_waker;
    /* Mail from and to other workers (worker_mail.h). */
    struct xthread_ring **inbox;      /* [worker_count]: the ring from each other worker, by its index */
    struct xthread_waker *mail_waker; /* drains the inbox, then looks at the held acks */
    struct mail_overflow *overflow;   /* [worker_count], by receiver: mail its ring had no room for (owned) */
    struct event *overflow_retry;
    struct ack_gate **gates;       /* carried by mail handled here: answered at the next group commit */
    _Atomic bool resume_requested; /* a subscriber elsewhere stopped holding publishers (flow_control.h) */
    uint32_t gate_count, gate_cap;
} worker;

/* NULL on allocation failure. `base`: the main loop's, or NULL for a base of its own. */
worker *worker_new(broker *b, int index, struct event_base *base);
/* Destroys the sessions (their wills are not published) of every realm. */
void worker_destroy_sessions(worker *w);
/* Frees the worker; its connections and sessions must be gone. */
void worker_free(worker *w);

/* What worker `w` holds of realm index `realm_index`. */
worker_realm *worker_realm_of(worker *w, int realm_index);

/* Worker `w`'s counters of realm `r` (hot path: inline). */
static inline ns_stats *worker_ns_stats(worker *w, const realm *r)
{
    return &w->realms[r->index].stats;
}

/* Room for the worker index in ids (worker_next_id); the all-ones index is no worker's
 * (the realm's shared-subscription pass of routing). */
#define WORKER_ID_BITS 8
#define WORKER_SHARED_PASS 0xff
#define WORKER_MAX ((1 << WORKER_ID_BITS) - 1)

/* Unique across workers: the worker's index in the low bits (No Local, logs). */
uint64_t worker_next_id(const worker *w, uint64_t *counter);

/* The home worker of a client id in a realm: where its session lives and its
 * connection is served. */
worker *broker_home(const broker *b, const struct realm *r, mqtt_bytes client_id);

#endif
