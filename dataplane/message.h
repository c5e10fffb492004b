/* An application message as the broker keeps it: built once from the PUBLISH
 * that brought it, immutable afterwards, and shared by every queue, in-flight
 * slot and retained-store entry that holds it.
 *
 * Ownership: reference counted. Whoever stores a pointer owns one reference
 * (broker_msg_ref when storing, broker_msg_unref when dropping).
 *
 * Threads: a message may be shared by several worker threads (a PUBLISH read on
 * one worker is handed by reference to the others), so the counter is atomic and
 * ref/unref may be called from any thread that owns a reference. Every field but
 * `refs` and `store_id` is written only before the message is first shared; the
 * hand-over between threads (xthread_ring) publishes those writes. `store_id` is
 * the exception: see there. */
#ifndef EG_MESSAGE_H
#define EG_MESSAGE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "mqtt_packet.h"

/* How a congested subscriber on another worker slows a publisher down: the publisher's
 * connection holds one reference, each message it published one more (broker_msg.brake). The
 * worker that delivers a message to a congested subscriber pulls it; the publisher's worker
 * stops reading the connection at its next PUBLISH (flow_control.h), as it does for its own
 * subscribers. Its own worker also pulls it when its mail to another worker has to wait. */
typedef struct publisher_brake {
    _Atomic int refs;
    /* 1 + broker->resume_gen when last pulled, 0: not pulled. A pull that a resume (any
     * subscriber un-congesting) followed no longer pauses: the resume may have gone by already. */
    _Atomic uint64_t pulled;
} publisher_brake;

publisher_brake *publisher_brake_new(void);
publisher_brake *publisher_brake_ref(publisher_brake *b);
void publisher_brake_unref(publisher_brake *b);
/* Pulls the brake: `resume_gen` is the broker's current one. NULL is fine. */
void publisher_brake_pull(publisher_brake *b, uint64_t resume_gen);

typedef struct broker_msg {
    _Atomic uint32_t refs;  /* use broker_msg_ref/unref; a plain read is an atomic load */
    uint8_t qos;            /* as published */
    bool retain;            /* as published */
    int64_t expires_at_ms;  /* monotonic clock; 0: never expires */
    uint64_t origin;        /* session instance that published it, for No Local; 0: none */
    publisher_brake *brake; /* its publisher connection's (one reference), NULL for wills */
    uint16_t realm_index;   /* the realm it is routed in (set by broker_publish, before sharing) */
    /* The session store's row id; 0: none. Written after the message is shared (when
     * the store first saves it), and not atomic: read and written only inside the
     * session store's hooks, under its lock (session_store_sqlite_int.h, loop_mu). */
    uint64_t store_id;
    mqtt_bytes topic;   /* points into data[] */
    mqtt_bytes payload; /* points into data[] */
    /* Forwardable v5 properties: payload format indicator, content type, response
     * topic, correlation data, and user properties (as a property block of
     * 0x26 entries, walked by mqtt_props_user_next). All point into data[]. */
    mqtt_properties props;
    uint8_t data[];
} broker_msg;

/* Builds a message from a decoded PUBLISH (topic already resolved from any
 * Topic Alias). Copies what it keeps; the PUBLISH buffer may be freed after.
 * Returns NULL on allocation failure. */
broker_msg *broker_msg_new(const mqtt_publish *pub, mqtt_bytes topic, uint64_t origin, int64_t now_ms);

/* Builds a message from parts (wills, retained messages restored, events). */
broker_msg *broker_msg_new_raw(mqtt_bytes topic, mqtt_bytes payload, uint8_t qos, bool retain,
                               const mqtt_properties *props, uint64_t origin, int64_t now_ms);

broker_msg *broker_msg_ref(broker_msg *m);
void broker_msg_unref(broker_msg *m);

/* Seconds left before expiry (at least 1 while not expired), UINT32_MAX when it
 * never expires, 0 when expired. */
uint32_t broker_msg_remaining_expiry(const broker_msg *m, int64_t now_ms);

/* Bytes the message accounts for in queue limits (topic + payload + properties). */
uint32_t broker_msg_size(const broker_msg *m);

#endif
