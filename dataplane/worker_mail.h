/* Mail between workers (docs/design-threads.md): a message published on one
 * worker reaches the subscribers of another through a single-producer ring from
 * the first to the second (FIFO, so one publisher's order is kept), and the
 * receiving worker's waker drains its rings. Also carried: a message for one
 * chosen member of a shared subscription group, and the gates that hold a sync
 * mode acknowledgement until every worker's writes for it are committed.
 *
 * The common case, a broadcast without a gate, travels as the message pointer
 * itself (tagged, worker_mail_post_message): no allocation per message.
 *
 * Threads: worker_mail_post runs on the sending worker, the drain on the
 * receiving one. A ring without room does not block the sender: its mail waits
 * in the sender's overflow list, in order, and a timer retries.
 *
 * Ownership: a mail owns one reference to its message, gate and member; the
 * receiver frees it. */
#ifndef EG_WORKER_MAIL_H
#define EG_WORKER_MAIL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "message.h"

struct worker;
struct broker;
struct mail_overflow;
struct shared_member;

/* A sync mode acknowledgement waiting on other workers: each mail that carries the gate is
 * one pending answer; the receiving worker answers after the group commit that covers what
 * it wrote for the message, with that batch's number. The owner (the publisher's worker)
 * releases the ack when no answer is pending and the highest batch named is committed.
 * Reference counted: the connection holds one, each mail carrying it one. */
typedef struct ack_gate {
    struct worker *owner;
    _Atomic int refs;
    _Atomic int pending;       /* answers still to come */
    _Atomic uint64_t need_seq; /* the highest batch an answer named */
} ack_gate;

ack_gate *ack_gate_new(struct worker *owner);
/* One more answer to come, for a mail: returns a reference to the gate for it. */
ack_gate *ack_gate_expect(ack_gate *g);
void ack_gate_unref(ack_gate *g);
/* Whether everything the gate waits for is in, with batches up to `committed` on disk. */
bool ack_gate_open(ack_gate *g, uint64_t committed);
/* The receiving worker, once batch `seq` holds its writes for the message: one answer. */
void ack_gate_answer(ack_gate *g, uint64_t seq);

enum worker_mail_kind {
    MAIL_BROADCAST, /* route to the receiver's own subscriptions in the realm */
    MAIL_SHARED,    /* deliver to `member`, picked from a shared group */
};

typedef struct worker_mail {
    uint8_t kind;
    uint8_t qos, retain; /* MAIL_SHARED: the delivery's QoS and retain flag */
    uint16_t sub_id_count;
    int realm_index;
    broker_msg *msg;              /* one reference */
    ack_gate *gate;               /* one reference, NULL when none */
    publisher_brake *brake;       /* the publisher's: one reference, NULL when none */
    struct shared_member *member; /* MAIL_SHARED: one reference */
    uint32_t sub_ids[8];          /* MAIL_SHARED: the subscription identifiers */
    char group[];                 /* MAIL_SHARED: the group's name, NUL-terminated */
} worker_mail;

/* A mail for `msg` (a reference is taken) with room for a group name of `group_len`
 * bytes. NULL on allocation failure. */
worker_mail *worker_mail_new(uint8_t kind, int realm_index, broker_msg *msg, size_t group_len);
/* Frees a mail and its references. */
void worker_mail_free(worker_mail *m);

/* Sets up the rings and wakers of every worker of `b` (after they are all made). -1 on failure. */
int worker_mail_setup(struct broker *b);
/* Frees what worker_mail_setup made for `w`, mail still queued included. */
void worker_mail_teardown(struct worker *w);

/* From worker `from` to worker `to` (not `from`): takes the mail. If it carries a gate,
 * the gate's pending count must already include it. */
void worker_mail_post(struct worker *from, struct worker *to, worker_mail *m);
/* A MAIL_BROADCAST of `msg` without a gate: takes the caller's reference. */
void worker_mail_post_message(struct worker *from, struct worker *to, broker_msg *msg);

/* Wakes worker `w` to look at its held acknowledgements (a gate it owns was answered, or
 * the store committed a batch) and at w->resume_requested. Any thread. */
void worker_mail_poke(struct worker *w);

#endif
