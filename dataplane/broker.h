/* The broker instance: the event loop, the realms (one per served namespace:
 * session registry, subscription tree, retained messages), and routing of
 * messages to subscribers within a realm.
 *
 * Ownership: the broker owns its realms and its workers (which own the
 * connections and the sessions, worker.h). */
#ifndef EG_BROKER_H
#define EG_BROKER_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "message.h"

struct event_base;
struct conn;
struct session;
struct realm;
struct authorizer;
struct session_store;
struct enforcer;
struct worker;

typedef struct broker_stats {
    uint64_t connections_opened, connections_closed;
    uint64_t publish_in, publish_out, bytes_in, bytes_out;
    uint64_t sessions_expired, sessions_dropped_overflow;
    uint64_t qos0_dropped, queue_full_dropped, messages_too_large_dropped, messages_expired;
    uint64_t publish_denied, subscribe_denied, connect_refused;
    uint64_t congestion_events, subscribers_stalled;
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
    bool shutting_down;
} broker;

/* The counters of every worker, summed. */
void broker_stats_total(const broker *b, broker_stats *out);
/* The session store committed batch `seq` (session_store.h): acks held for it go out. */
void broker_store_committed(broker *b, uint64_t seq);
/* Whether any worker still has a connection (shutdown drains them). */
bool broker_has_connections(const broker *b);

/* Monotonic milliseconds. */
int64_t broker_now_ms(void);

broker *broker_new(struct event_base *base, const broker_config *cfg);
/* Stops serving: every connection is closed (v5: DISCONNECT 0x8B first) and
 * goes away once its output is written (bounded in time); `conns` is then empty. */
void broker_shutdown(broker *b);
/* Frees everything, dropping connections still flushing. */
void broker_free(broker *b);

/* Routes a message to every matching subscription of realm `r` (and stores it
 * as retained there when its retain flag is set). Returns the number of
 * sessions it went to; *congested (may be NULL) tells whether one of them is congested. */
int broker_publish(struct realm *r, broker_msg *m, bool *congested);

/* Offers a message that a disconnected member of shared subscription group
 * `group` did not acknowledge to another connected member (not `from`) of its realm. */
void broker_redeliver_shared(struct realm *r, broker_msg *m, mqtt_bytes group, struct session *from);

#endif
