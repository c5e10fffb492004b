/* Mail between workers (worker_mail.h). */
#include "worker_mail.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "flow_control.h"
#include "log.h"
#include "refcount.h"
#include "session.h"
#include "session_store.h"
#include "worker.h"
#include "xthread_ring.h"

/* Slots per ring (one ring per ordered pair of workers). Past it mail waits in the sender's
 * overflow list: memory grows only while a whole worker falls behind. */
#define MAIL_RING_SLOTS 4096
/* Mail one drain takes from one ring before the worker's sockets get their turn. */
#define MAIL_BATCH 128
#define OVERFLOW_RETRY_US 500

ack_gate *ack_gate_new(worker *owner)
{
    ack_gate *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->owner = owner;
    refcount_init(&g->refs);
    return g;
}

ack_gate *ack_gate_expect(ack_gate *g)
{
    refcount_take(&g->refs);
    atomic_fetch_add_explicit(&g->pending, 1, memory_order_relaxed);
    return g;
}

void ack_gate_unref(ack_gate *g)
{
    if (g && refcount_drop(&g->refs))
        free(g);
}

bool ack_gate_open(ack_gate *g, uint64_t committed)
{
    /* need_seq is raised before pending drops (release), so an answered gate shows its batch. */
    return atomic_load_explicit(&g->pending, memory_order_acquire) == 0 &&
           atomic_load_explicit(&g->need_seq, memory_order_relaxed) <= committed;
}

void ack_gate_answer(ack_gate *g, uint64_t seq)
{
    uint64_t had = atomic_load_explicit(&g->need_seq, memory_order_relaxed);
    while (had < seq && !atomic_compare_exchange_weak_explicit(&g->need_seq, &had, seq, memory_order_relaxed,
                                                               memory_order_relaxed))
        ;
    worker *owner = g->owner;
    if (atomic_fetch_sub_explicit(&g->pending, 1, memory_order_acq_rel) == 1)
        worker_mail_poke(owner);
    ack_gate_unref(g);
}

worker_mail *worker_mail_new(uint8_t kind, int realm_index, broker_msg *msg, size_t group_len)
{
    worker_mail *m = malloc(sizeof *m + group_len + 1);
    if (!m)
        return NULL;
    memset(m, 0, sizeof *m);
    m->kind = kind;
    m->realm_index = realm_index;
    m->msg = broker_msg_ref(msg);
    m->group[0] = '\0';
    return m;
}

void worker_mail_free(worker_mail *m)
{
    if (!m)
        return;
    broker_msg_unref(m->msg);
    if (m->gate) /* never delivered: nothing of it will be written, so it asks for no batch */
        ack_gate_answer(m->gate, 0);
    shared_member_unref(m->member);
    free(m);
}

/* A ring item is a worker_mail, or a broker_msg with the low bit set (a broadcast without a
 * gate): allocations are aligned, so the bit is free. */
static void *tag_message(broker_msg *m)
{
    return (void *)((uintptr_t)m | 1);
}

static broker_msg *tagged_message(void *item)
{
    return (uintptr_t)item & 1 ? (broker_msg *)((uintptr_t)item & ~(uintptr_t)1) : NULL;
}

static broker_msg *item_message(void *item)
{
    broker_msg *m = tagged_message(item);
    return m ? m : ((worker_mail *)item)->msg;
}

static void item_free(void *item)
{
    broker_msg *m = tagged_message(item);
    if (m)
        broker_msg_unref(m);
    else
        worker_mail_free(item);
}

/* ---- the receiving side */

/* A gate carried by mail this worker handled: answered at its next group commit. */
static void keep_gate(worker *w, ack_gate *g)
{
    if (w->gate_count == w->gate_cap) {
        uint32_t cap = w->gate_cap ? w->gate_cap * 2 : 64;
        ack_gate **grown = realloc(w->gates, cap * sizeof *grown);
        if (!grown) { /* answered now, naming the batch being built: the next one covers it */
            log_msg(LOG_ERROR, "mail", "out of memory keeping an ack gate: answered early");
            const session_store *st = w->broker->store;
            ack_gate_answer(g, st->commit(st->ctx, w->index));
            return;
        }
        w->gates = grown;
        w->gate_cap = cap;
    }
    w->gates[w->gate_count++] = g;
    conn_group_commit_soon(w);
}

static bool mail_drain(void *arg)
{
    worker *w = arg;
    bool more = false;
    if (atomic_exchange_explicit(&w->resume_requested, false, memory_order_relaxed))
        flow_resume_publishers(w);
    for (int i = 0; i < w->broker->worker_count; i++) {
        if (!w->inbox[i])
            continue;
        void *batch[MAIL_BATCH];
        size_t n = xthread_ring_pop_batch(w->inbox[i], batch, MAIL_BATCH);
        more |= n == MAIL_BATCH;
        for (size_t j = 0; j < n; j++) {
            broker_msg *msg = tagged_message(batch[j]);
            if (msg) {
                broker_deliver_message(w, msg);
                broker_msg_unref(msg);
                continue;
            }
            worker_mail *m = batch[j];
            broker_deliver_mail(w, m);
            if (m->gate) {
                keep_gate(w, m->gate);
                m->gate = NULL;
            }
            worker_mail_free(m);
        }
    }
    if (w->held) {
        const session_store *st = w->broker->store;
        conn_release_committed(w, st->committed(st->ctx));
    } else {
        conn_flush_written(w);
    }
    return more;
}

/* ---- the sending side */

/* The items a ring had no room for, oldest first: a growing circular array per receiver. */
struct mail_overflow {
    void **items;
    size_t head, count, cap;
};

static bool overflow_push(struct mail_overflow *o, void *item)
{
    if (o->count == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 256;
        void **grown = malloc(cap * sizeof *grown);
        if (!grown)
            return false;
        for (size_t i = 0; i < o->count; i++)
            grown[i] = o->items[(o->head + i) % o->cap];
        free(o->items);
        o->items = grown;
        o->head = 0;
        o->cap = cap;
    }
    o->items[(o->head + o->count++) % o->cap] = item;
    return true;
}

/* Moves what `from` holds for worker `to` into their ring. True when all of it went. */
static bool flush_overflow(worker *from, int to)
{
    struct mail_overflow *o = &from->overflow[to];
    worker *dest = from->broker->workers[to];
    xthread_ring *ring = dest->inbox[from->index];
    size_t moved = 0;
    while (o->count && xthread_ring_push(ring, o->items[o->head])) {
        o->head = (o->head + 1) % o->cap;
        o->count--;
        moved++;
    }
    if (moved)
        xthread_waker_signal(dest->mail_waker);
    return o->count == 0;
}

static void overflow_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    worker *w = arg;
    bool left = false;
    for (int i = 0; i < w->broker->worker_count; i++)
        if (w->overflow[i].count && !flush_overflow(w, i))
            left = true;
    if (left) {
        struct timeval tv = {0, OVERFLOW_RETRY_US};
        evtimer_add(w->overflow_retry, &tv);
        return;
    }
    /* The receivers caught up: the publishers paused for them go on (those still feeding a
     * congested subscriber pause again at their next message to it). Everywhere: a message
     * another worker handed on (a shared group's) may have pulled a publisher's brake there. */
    flow_resume_everywhere(w);
}

static void post_item(worker *from, worker *to, void *item)
{
    struct mail_overflow *o = &from->overflow[to->index];
    if (!o->count && xthread_ring_push(to->inbox[from->index], item)) {
        xthread_waker_signal(to->mail_waker);
        return;
    }
    /* Behind what is already waiting, so the receiver still sees the sender's order; and the
     * publisher stops being read until the receiver catches up (memory stays bounded). */
    broker_msg *m = item_message(item);
    publisher_brake_pull(m->brake, atomic_load_explicit(&from->broker->resume_gen, memory_order_relaxed));
    if (!overflow_push(o, item)) {
        log_msg(LOG_ERROR, "mail", "out of memory: a message for worker %d is dropped topic=%.*s", to->index,
                (int)m->topic.len, (const char *)m->topic.data);
        item_free(item);
        return;
    }
    if (!evtimer_pending(from->overflow_retry, NULL)) {
        struct timeval tv = {0, OVERFLOW_RETRY_US};
        evtimer_add(from->overflow_retry, &tv);
    }
}

void worker_mail_post(worker *from, worker *to, worker_mail *m)
{
    post_item(from, to, m);
}

void worker_mail_post_message(worker *from, worker *to, broker_msg *msg)
{
    post_item(from, to, tag_message(msg));
}

void worker_mail_poke(worker *w)
{
    xthread_waker_signal(w->mail_waker);
}

/* ---- set up and tear down */

int worker_mail_setup(broker *b)
{
    int n = b->worker_count;
    for (int i = 0; i < n; i++) {
        worker *w = b->workers[i];
        w->inbox = calloc((size_t)n, sizeof *w->inbox);
        w->overflow = calloc((size_t)n, sizeof *w->overflow);
        if (!w->inbox || !w->overflow || !(w->mail_waker = xthread_waker_new(w->base, mail_drain, w)) ||
            !(w->overflow_retry = evtimer_new(w->base, overflow_retry_cb, w)))
            return -1;
        for (int j = 0; j < n; j++)
            if (j != i && !(w->inbox[j] = xthread_ring_new(MAIL_RING_SLOTS)))
                return -1;
    }
    return 0;
}

/* Mail left at shutdown: its gate's owner may be gone already, so it is not answered. */
static void discard(void *item)
{
    if (!tagged_message(item)) {
        worker_mail *m = item;
        ack_gate_unref(m->gate);
        m->gate = NULL;
    }
    item_free(item);
}

void worker_mail_teardown(worker *w)
{
    int n = w->broker->worker_count;
    for (int i = 0; w->inbox && i < n; i++) {
        void *left[MAIL_BATCH];
        size_t got;
        while (w->inbox[i] && (got = xthread_ring_pop_batch(w->inbox[i], left, MAIL_BATCH)) > 0)
            for (size_t j = 0; j < got; j++)
                discard(left[j]);
        xthread_ring_free(w->inbox[i]);
    }
    for (int i = 0; w->overflow && i < n; i++) {
        struct mail_overflow *o = &w->overflow[i];
        for (size_t j = 0; j < o->count; j++)
            discard(o->items[(o->head + j) % o->cap]);
        free(o->items);
    }
    for (uint32_t i = 0; i < w->gate_count; i++)
        ack_gate_unref(w->gates[i]);
    free(w->gates);
    free(w->inbox);
    free(w->overflow);
    xthread_waker_free(w->mail_waker);
    if (w->overflow_retry)
        event_free(w->overflow_retry);
    w->inbox = NULL;
    w->overflow = NULL;
    w->gates = NULL;
    w->mail_waker = NULL;
    w->overflow_retry = NULL;
}
