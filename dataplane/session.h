/* MQTT sessions: subscriptions, outbound in-flight and queued messages, inbound
 * QoS 2 state, the will, and expiry. A session outlives its connections when
 * its expiry interval is non-zero.
 *
 * Ownership: the broker's registry owns sessions; a session owns its
 * subscription list, queue entries and in-flight slots (each holding one
 * message reference) and its will message reference. `conn` is borrowed: the
 * connection and the session point at each other while attached. */
#ifndef EG_SESSION_H
#define EG_SESSION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker.h"
#include "mqtt_packet.h"

struct event;

typedef struct session_sub {
    char *filter; /* owned, NUL-terminated */
    uint32_t filter_len;
    uint8_t options; /* v5 Subscription Options byte */
    uint32_t subscription_id;
} session_sub;

/* A message on its way to this session's client. */
typedef struct delivery {
    struct delivery *next;
    broker_msg *msg; /* one reference */
    uint8_t qos;     /* min(published, granted) */
    bool retain;     /* retain flag to send */
    uint8_t state;   /* DELIVERY_* */
    bool resend;     /* in flight before a reconnect, not yet re-sent (Receive Maximum) */
    uint16_t packet_id;
    uint64_t seq; /* broker-wide creation order: the session store's key and restore order */
    uint16_t sub_id_count;
    uint32_t *sub_ids; /* owned, NULL when none */
    char *share_group; /* owned; set when it came through a shared subscription only */
    /* The session store's bookkeeping, touched by it only (session_store_sqlite.c): */
    uint32_t store_slot; /* 1 + its index in the store's writes waiting for the commit; 0: none */
    bool store_written;  /* its row was written (the store deletes it when the delivery ends) */
    bool store_inline;   /* that row holds the message itself (no messages row to collect) */
} delivery;

/* How one message goes to one session (merged over its matching subscriptions). */
typedef struct delivery_spec {
    uint8_t qos; /* min(published, granted) */
    bool retain; /* retain flag to send */
    const uint32_t *sub_ids;
    uint16_t sub_id_count;
    mqtt_bytes share_group; /* non-empty: chosen as one member of this shared subscription group */
} delivery_spec;

enum delivery_state { DELIVERY_QUEUED, DELIVERY_AWAIT_ACK, DELIVERY_AWAIT_PUBCOMP };

/* A session as its realm's shared-subscription tree knows it. Any worker matches that tree
 * (under realm->shared_mu) and picks a member; the message then goes to the member's home
 * worker, which alone touches the session.
 *
 * Ownership: reference counted (shared_member_unref): the session holds one while it lives,
 * each message on its way to the member one more. The tree's entries borrow the session's:
 * it removes them before letting go. */
typedef struct shared_member {
    struct session *session; /* NULL once the session is gone; its home worker's only */
    struct worker *home;
    _Atomic int refs;
    _Atomic bool connected; /* written by the home worker, read by any (a pick's hint) */
    uint64_t match_gen;     /* routing scratch, under the realm's shared_mu */
    uint32_t match_index;
} shared_member;

shared_member *shared_member_ref(shared_member *m);
void shared_member_unref(shared_member *m);

typedef struct session {
    broker *broker;
    struct realm *realm;   /* the namespace it belongs to */
    struct worker *worker; /* its home (broker_home): registry, subscription tree, timers */
    char *client_id;       /* owned */
    uint32_t client_id_len;
    uint64_t id; /* unique per session instance (No Local, logs) */
    struct conn *conn;
    uint32_t expiry_interval;   /* seconds after disconnect */
    bool stored;                /* the session store has heard of it (it was persistent once) */
    bool overflowed;            /* terminated by SessionOverflow, destroyed on the next loop turn */
    bool congested;             /* queue past the high-water mark while connected (flow_control.h) */
    bool stalled;               /* congested and not reading: it holds no publisher (flow_control.h) */
    struct flow_state *flow;    /* owned while congested (flow_control.c) */
    uint32_t completed;         /* deliveries acknowledged so far: its progress, for flow control */
    struct event *expiry_timer; /* armed while disconnected with expiry > 0 */

    session_sub *subs;     /* owned array */
    shared_member *member; /* one reference, made at its first shared subscription; NULL before */
    uint32_t sub_count, sub_cap;

    delivery *inflight, *inflight_tail; /* sent, awaiting ack, in send order */
    uint32_t inflight_count;
    uint32_t resend_count;        /* in-flight messages still to re-send on this connection */
    delivery *queue, *queue_tail; /* waiting for the connection or the window */
    uint32_t queue_count;
    uint64_t queue_bytes;
    uint16_t next_packet_id;

    /* Inbound QoS 2 ids awaiting PUBREL (owned). restored: read back from the store and not
     * yet seen again (session_qos2_add). */
    struct qos2_id {
        uint16_t id;
        bool restored;
    } * qos2_pending;
    uint32_t qos2_count, qos2_cap;

    uint64_t match_gen; /* routing scratch: broker_publish merges overlapping matches */
    uint32_t match_index;

    char *auth_name;  /* owned: the authentication name that holds this session ("" in open mode) */
    void *auth_perms; /* the authorizer's permissions for it (released through broker->auth) */

    broker_msg *will; /* owned reference, NULL when none; it does not expire while it waits */
    uint32_t will_delay;
    uint32_t will_expiry; /* its Message Expiry Interval (s), counted from its publication; 0: none */
    struct event *will_timer;
} session;

/* Finds a session of realm `r` by client id (in its home worker's registry). */
session *session_find(struct realm *r, mqtt_bytes client_id);
/* Creates and registers an empty session in realm `r`, at its home worker. NULL on allocation failure.
 * The caller counted it in the realm first (realm_take_session), and gives the place back if NULL. */
session *session_create(struct realm *r, mqtt_bytes client_id);
/* Removes every subscription, drops queued/in-flight messages, unregisters and frees; its realm
 * counts one session fewer. */
void session_destroy(session *s);

/* Tells the session store about a persistent session (created, resumed,
 * expiry changed); nothing for a session with expiry 0. */
void session_save(session *s);

/* Subscriptions. Returns 1 if new, 0 if it replaced one, -1 on allocation failure. */
int session_subscribe(session *s, mqtt_bytes filter, uint8_t options, uint32_t subscription_id);
/* Returns true if a subscription existed. */
bool session_unsubscribe(session *s, mqtt_bytes filter);
/* Ends every subscription, out of the trees too (session_destroy). */
void session_drop_subscriptions(session *s);

/* Offers a message for delivery: sends now when connected and the window
 * allows, else queues QoS 1/2 (a disconnected session past its queue limits is
 * terminated: SessionOverflow). QoS 0 to a disconnected session is dropped. */
/* Returns true when the session is congested (its publishers should pause). */
bool session_deliver(session *s, broker_msg *m, const delivery_spec *spec);

/* Outbound acknowledgements from the client. */
void session_on_puback(session *s, uint16_t packet_id);
void session_on_pubcomp(session *s, uint16_t packet_id);
/* PUBREC: 1 = answer PUBREL, 0 = the client refused it and the flow ends, -1 = unknown id (PUBREL 0x92). */
int session_on_pubrec(session *s, uint16_t packet_id, uint8_t reason);

/* A connection takes the session: stops its expiry and cancels a will waiting for its delay. */
void session_attach(session *s, struct conn *c);

/* After (re)connecting: re-sends in-flight messages with DUP, within the
 * client's Receive Maximum (the rest as acknowledgements free room), then the queue. */
void session_resume(session *s);
/* Sends queued messages while the client's window allows. */
void session_flush_queue(session *s);

/* Inbound QoS 2 PUBLISH with `packet_id` and DUP flag `dup`: 1 if it is a new message (the id
 * recorded), 0 if it re-sends one already pending, -1 when out of memory. An id restored from
 * the store that comes back with DUP 0 is a new message: periodic mode may have lost its
 * release (the PUBCOMP went out, the crash came before the commit), and a client sets DUP on
 * every re-send [MQTT-3.3.1-1]. */
int session_qos2_add(session *s, uint16_t packet_id, bool dup);
/* Restoring from the session store: an id pending before the stop. */
int session_qos2_restore(session *s, uint16_t packet_id);
bool session_qos2_remove(session *s, uint16_t packet_id);

/* The will: set at CONNECT, cleared by DISCONNECT 0x00, published (after its
 * delay) when the connection ends otherwise, cancelled by a reconnect. `expiry`: its Message
 * Expiry Interval, which starts when it is published (`will` itself carries none). */
void session_set_will(session *s, broker_msg *will, uint32_t delay, uint32_t expiry);
void session_clear_will(session *s);
void session_trigger_will(session *s);

/* The connection went away: hands unacknowledged shared-subscription messages
 * to other members, then arms expiry, or destroys a session with expiry 0. */
void session_detach(session *s);

/* Restoring from the session store (before any listener starts): appends a
 * delivery, to the in-flight list when `state` is not DELIVERY_QUEUED (re-sent
 * with DUP on reconnect), else to the queue. Takes its own reference to `m`.
 * `seq` and `inline_msg`: its row in the store (delivery.seq, delivery.store_inline). */
bool session_restore_delivery(session *s, broker_msg *m, const delivery_spec *spec, uint8_t state,
                              uint16_t packet_id, uint64_t seq, bool inline_msg);
/* Restoring: arms the expiry of a disconnected session for the time it has left. */
bool session_arm_expiry(session *s, uint32_t seconds);
/* Restoring: the will a stopped broker left pending, published in `due_in_ms` (at once, on
 * the loop's first turn, when <= 0) unless the client reconnects first. Takes its own
 * reference to `will`. False on allocation failure. */
bool session_restore_will(session *s, broker_msg *will, uint32_t delay, uint32_t expiry, int64_t due_in_ms);

/* Drops the queued (not yet sent) deliveries whose message `keep` refuses, e.g.
 * after a permission was revoked. Returns how many were dropped. */
uint32_t session_drop_queued(session *s, bool (*keep)(void *ctx, const broker_msg *m), void *ctx);

/* Hands the session the grant of the CONNECT that attached it (the previous
 * permissions are released). False on allocation failure (grant released). */
struct auth_grant;
bool session_set_auth(session *s, struct auth_grant *grant);

#endif
