/* The persistence seam. The broker keeps its state in memory and tells the
 * store what changed: persistent sessions (expiry > 0), their QoS 1/2
 * deliveries, inbound QoS 2 state and will, and retained messages. Clean
 * sessions and QoS 0 traffic never reach it. The durability issue backs it
 * with disk; the default keeps nothing.
 *
 * Ownership: hooks receive borrowed pointers, valid for the call only. */
#ifndef EG_SESSION_STORE_H
#define EG_SESSION_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "message.h"
#include "mqtt_packet.h"

struct session;
struct delivery;
struct realm;

typedef struct session_store {
    void *ctx;
    bool acks_wait_for_commit; /* `sync` mode: QoS 1/2 acks wait for the writes they cover */
    /* Created, resumed, or its expiry or subscriptions changed. */
    void (*session_saved)(void *ctx, const struct session *s);
    void (*session_deleted)(void *ctx, const struct session *s);
    /* About to be freed (ended, or the broker stops): writes waiting for it are made now. */
    void (*session_closing)(void *ctx, const struct session *s);
    /* Queued, sent (packet id assigned) or moved to awaiting PUBCOMP. */
    void (*delivery_saved)(void *ctx, const struct session *s, const struct delivery *d);
    /* Acknowledged, expired, refused or handed to another session. */
    void (*delivery_deleted)(void *ctx, const struct session *s, const struct delivery *d);
    /* Inbound QoS 2: `packet_id` received and PUBREC sent (pending), or released by PUBREL. */
    void (*qos2_saved)(void *ctx, const struct session *s, uint16_t packet_id, bool pending);
    /* The will: set at CONNECT (s->will), or gone (s->will == NULL: cleared or published). A
     * broker stopping does not clear it: the next start publishes what the stop left pending. */
    void (*will_saved)(void *ctx, const struct session *s);
    /* m == NULL: the retained message of `topic` in realm `r` was deleted. */
    void (*retained_saved)(void *ctx, const struct realm *r, mqtt_bytes topic, const broker_msg *m);
    /* `sync` mode: true while writes of worker `worker` (its index) are not yet committed, so
     * an ack of a QoS 1/2 PUBLISH it read must wait for the next commit (other modes: false). */
    bool (*ack_must_wait)(void *ctx, int worker);
    /* The group commit of worker `worker`: once per loop turn in which acks were held, covering
     * every one of its connections' PUBLISHes of that turn (conn_hold_output). Returns the
     * number that `committed` reaches once every write made so far by that worker is on disk;
     * the store then calls broker_store_committed. */
    uint64_t (*commit)(void *ctx, int worker);
    uint64_t (*committed)(void *ctx);
    /* The broker stops: write what is pending and release the store. */
    void (*close)(void *ctx);
} session_store;

/* Keeps nothing: state lives as long as the process. */
const session_store *session_store_none(void);

#endif
