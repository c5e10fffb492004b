/* The counters of one namespace (realm) on one worker: each worker keeps one set per realm
 * (worker_realm.stats) and is the only thread that writes it, so the hot path takes no lock
 * and no atomic. The admin endpoint sums every worker's set with the workers parked
 * (broker_world_stop) and writes them (broker_ns_stats_total, broker_metrics.h). */
#ifndef EG_NS_STATS_H
#define EG_NS_STATS_H

#include <stdint.h>

#include "disconnect_reason.h"

/* Why a message meant for a subscriber was not delivered. */
enum drop_reason {
    DROP_QOS0_CONGESTED, /* QoS 0 to an offline client or one far behind its output */
    DROP_QUEUE_FULL,     /* QoS 1/2 past the queue limits of a connected subscriber */
    DROP_EXPIRED,        /* its Message Expiry Interval ran out before delivery */
    DROP_TOO_LARGE,      /* larger than the subscriber's Maximum Packet Size */
    DROP_COUNT
};

/* Flow-control (flow_control.h) and quota events. */
enum throttle_kind {
    THROTTLE_PUBLISHERS_PAUSED,     /* a subscriber became congested: its publishers pause */
    THROTTLE_SUBSCRIBER_STALLED,    /* a subscriber stopped reading: its publishers resume */
    THROTTLE_SUBSCRIBER_DISCONNECT, /* a slow or stopped subscriber disconnected (0x97) */
    /* Quotas of a namespace with throughputUnits (SPEC section 6): */
    THROTTLE_PUBLISH_RATE,            /* a PUBLISH over its session's rate refused (0x97 or dropped) */
    THROTTLE_PUBLISH_RATE_DISCONNECT, /* a session over its rate for too long disconnected (0x96) */
    THROTTLE_NAMESPACE_SESSION_LIMIT, /* a CONNECT refused: the namespace has its sessions (0x97) */
    THROTTLE_RETAINED_LIMIT,          /* a retained PUBLISH refused: the namespace has its retained (0x97) */
    THROTTLE_COUNT
};

/* SUBSCRIBE and UNSUBSCRIBE, counted per topic filter (like Event Grid). */
enum subscription_op { SUB_OP_SUBSCRIBE, SUB_OP_UNSUBSCRIBE, SUB_OP_COUNT };

/* Failed publishes are counted by their reason code, 0x80 to 0xFF. */
#define NS_STATS_FAILURE_CODES 128

/* Every member is a uint64_t counter (broker_ns_stats_total sums them as an array). */
typedef struct ns_stats {
    uint64_t connections_opened;                     /* CONNECTs accepted (CONNACK 0x00) */
    uint64_t connections_closed[DISC_COUNT];         /* accepted connections closed, by reason */
    uint64_t publish_in[3], publish_in_bytes[3];     /* PUBLISH received, by QoS; payload bytes */
    uint64_t publish_out[3], publish_out_bytes[3];   /* PUBLISH sent to subscribers, by QoS */
    uint64_t publish_succeeded[3];                   /* accepted and routed (acked < 0x80), by QoS */
    uint64_t publish_failed[NS_STATS_FAILURE_CODES]; /* refused, by reason code - 0x80 */
    uint64_t bytes_in, bytes_out;                    /* MQTT packet bytes, every packet type */
    uint64_t sessions_expired, sessions_dropped_overflow;
    uint64_t dropped[DROP_COUNT];
    uint64_t throttled[THROTTLE_COUNT];
    uint64_t subscription_ops[SUB_OP_COUNT][2]; /* [operation][0: succeeded, 1: failed (code >= 0x80)] */
} ns_stats;

#endif
