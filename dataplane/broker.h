/* The broker instance: the event loop, the realms (one per served namespace:
 * session registry, subscription tree, retained messages), and routing of
 * messages to subscribers within a realm.
 *
 * Ownership: the broker owns its realms and its workers (which own the
 * connections and the sessions, worker.h). */
#ifndef EG_BROKER_H
#define EG_BROKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "message.h"
#include "ns_stats.h"

struct event_base;
struct conn;
struct session;
struct realm;
struct authorizer;
struct session_store;
struct enforcer;
struct worker;
struct worker_mail;
struct shared_member;
struct lifecycle_events;

/* A worker's counters of what belongs to no namespace yet (sockets, TLS handshakes); the
 * per-namespace ones are in ns_stats.h. */
typedef struct broker_stats {
    uint64_t connections_opened, connections_closed; /* network connections (TCP, TLS, WebSocket) */
    uint64_t tls_handshake_failures;
} broker_stats;

typedef struct broker {
    struct event_base *base; /* the main loop: listeners, admin endpoint, session store */
    broker_config config;
    struct realm **realms; /* owned; realms[0]: the top-level namespace (or "" in open mode) */
    int realm_count;
    struct worker **workers; /* owned; the connections and sessions (worker.h) */
    int worker_count;
    const struct authorizer *auth;
    struct enforcer *enforcer; /* owned; NULL in open mode (then auth is authorizer_open()) */
    const struct session_store *store;
    struct lifecycle_events *events; /* owned; NULL: none configured (lifecycle_events.h) */
    bool shutting_down;
    /* Workers on their own threads (more than one worker). The main thread parks them to
     * touch their state (broker_world_stop): world_* under world_mu. */
    bool threaded;
    pthread_mutex_t world_mu;
    pthread_cond_t world_cv;
    bool world_stopped;
    int parked;
    /* Incremented each time a subscriber stops holding publishers (flow_control.c): tells a
     * brake pulled before it from one pulled after (worker_mail.h). */
    _Atomic uint64_t resume_gen;
} broker;

/* The counters of every worker, summed (the workers parked, or not threaded). */
void broker_stats_total(const broker *b, broker_stats *out);
/* The same for the namespace of realm index `realm_index`. */
void broker_ns_stats_total(const broker *b, int realm_index, ns_stats *out);
/* The session store committed batch `seq` (session_store.h): acks held for it go out. */
void broker_store_committed(broker *b, uint64_t seq);
/* Whether any worker still has a connection (shutdown drains them). */
bool broker_has_connections(broker *b);

/* Starts the worker threads (with more than one worker); before that, and with one worker,
 * the workers run on the main loop. Call once the broker is set up (store restored,
 * enforcement started). -1 on failure (logged). */
int broker_start_workers(broker *b);
/* Stops and joins the worker threads (main thread, the world not stopped). */
void broker_join_workers(broker *b);
/* Main thread: parks every worker thread at a point between two callbacks, so that the caller
 * may touch any worker's connections and sessions (as that worker) until broker_world_resume.
 * Nothing to do without threads. */
void broker_world_stop(broker *b);
void broker_world_resume(broker *b);

/* Monotonic milliseconds. */
int64_t broker_now_ms(void);

broker *broker_new(struct event_base *base, const broker_config *cfg);
/* Stops serving: every connection is closed (v5: DISCONNECT 0x8B first) and
 * goes away once its output is written (bounded in time); `conns` is then empty. */
void broker_shutdown(broker *b);
/* Frees everything, dropping connections still flushing. */
void broker_free(broker *b);

/* Routes a message published on worker `w` to every matching subscription of realm `r` (and
 * stores it as retained there when its retain flag is set): this worker's sessions at once,
 * the other workers' by mail (worker_mail.h). `publisher`: the connection it came from (NULL
 * for a will): congested subscribers elsewhere slow it down, and in sync persistence its ack
 * waits for every worker's writes for the message (conn_gate). Returns the
 * number of recipients known (other workers count one each); *congested (may be NULL) tells
 * whether one of this worker's recipients is congested. A retained message that would go
 * beyond the namespace's quota of them is neither kept nor routed:
 * BROKER_RETAINED_QUOTA_EXCEEDED. */
#define BROKER_RETAINED_QUOTA_EXCEEDED (-1)
int broker_publish(struct worker *w, struct realm *r, broker_msg *m, struct conn *publisher, bool *congested);

/* Offers a message that a member of shared subscription group `group` did not take (its
 * session disconnected or ended) to another member of realm `r` (not `from`). On worker `w`. */
void broker_redeliver_shared(struct worker *w, struct realm *r, broker_msg *m, mqtt_bytes group,
                             const struct shared_member *from);

/* Worker `w` handles mail another worker sent it (worker_mail.h); the mail stays the caller's. */
void broker_deliver_mail(struct worker *w, struct worker_mail *mail);
/* The same for a message broadcast without a gate (the reference stays the caller's). */
void broker_deliver_message(struct worker *w, broker_msg *m);

#endif
