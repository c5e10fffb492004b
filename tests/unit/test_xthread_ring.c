/* Cross-thread ring and waker (dataplane/xthread_ring.c), and broker_msg
 * reference counts across threads:
 * - the ring on one thread: capacity rounding, full, empty, wrap-around,
 *   batch pops;
 * - two threads: 10 million sequence numbers through a small ring, checked for
 *   order and completeness (prints the throughput);
 * - messages handed over by reference, the last unref on either thread;
 * - a libevent consumer that sleeps in event_base_loop and must be woken for
 *   each of 100k bursts from two producers (a lost wake-up stalls a burst until
 *   the 20 s deadline fails the test);
 * - the waker's budget: a consumer that stops early is called again without a
 *   signal.
 *
 * Also built with ThreadSanitizer (build/tsan/test/test_xthread_ring), which
 * checks the release/acquire pairs: every item carries data the consumer reads
 * and no lock orders the two threads. Items are sequence numbers cast to
 * pointers, starting at 1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <event2/event.h>
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "message.h"
#include "xthread_ring.h"

#define ITEM(n) ((void *)(uintptr_t)(n))
#define SEQ(p) ((uintptr_t)(p))

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_us(long us)
{
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
}

/* ---- one thread */

static void test_capacity(void **state)
{
    (void)state;
    assert_null(xthread_ring_new(0));
    assert_null(xthread_ring_new(((size_t)1 << 30) + 1));
    static const size_t asked[] = {1, 2, 3, 5, 8, 1000, 1024};
    static const size_t got[] = {1, 2, 4, 8, 8, 1024, 1024};
    for (size_t i = 0; i < sizeof asked / sizeof asked[0]; i++) {
        xthread_ring *r = xthread_ring_new(asked[i]);
        assert_non_null(r);
        assert_int_equal(xthread_ring_capacity(r), got[i]);
        xthread_ring_free(r);
    }
    xthread_ring_free(NULL);
}

static void test_full_empty(void **state)
{
    (void)state;
    xthread_ring *r = xthread_ring_new(4);
    void *out[8];
    assert_int_equal(xthread_ring_pop_batch(r, out, 8), 0);
    assert_int_equal(xthread_ring_count(r), 0);
    for (uintptr_t i = 1; i <= 4; i++)
        assert_true(xthread_ring_push(r, ITEM(i)));
    assert_false(xthread_ring_push(r, ITEM(5))); /* full: unchanged */
    assert_int_equal(xthread_ring_count(r), 4);
    assert_int_equal(xthread_ring_pop_batch(r, out, 8), 4);
    for (uintptr_t i = 0; i < 4; i++)
        assert_int_equal(SEQ(out[i]), i + 1);
    assert_int_equal(xthread_ring_pop_batch(r, out, 8), 0);
    assert_int_equal(xthread_ring_count(r), 0);

    /* NULL is an item like any other. */
    assert_true(xthread_ring_push(r, NULL));
    out[0] = ITEM(99);
    assert_int_equal(xthread_ring_pop_batch(r, out, 8), 1);
    assert_null(out[0]);

    /* A ring of one. */
    xthread_ring *one = xthread_ring_new(1);
    assert_true(xthread_ring_push(one, ITEM(7)));
    assert_false(xthread_ring_push(one, ITEM(8)));
    assert_int_equal(xthread_ring_pop_batch(one, out, 8), 1);
    assert_int_equal(SEQ(out[0]), 7);
    assert_true(xthread_ring_push(one, ITEM(8)));
    xthread_ring_free(one);
    xthread_ring_free(r); /* an item left behind is not the ring's to free */
}

static void test_batch_pop(void **state)
{
    (void)state;
    xthread_ring *r = xthread_ring_new(8);
    void *out[8];
    for (uintptr_t i = 1; i <= 8; i++)
        assert_true(xthread_ring_push(r, ITEM(i)));
    assert_int_equal(xthread_ring_pop_batch(r, out, 0), 0);
    assert_int_equal(xthread_ring_pop_batch(r, out, 3), 3);
    assert_int_equal(SEQ(out[0]), 1);
    assert_int_equal(SEQ(out[2]), 3);
    /* The three slots freed take new items, which wrap to the start. */
    for (uintptr_t i = 9; i <= 11; i++)
        assert_true(xthread_ring_push(r, ITEM(i)));
    assert_false(xthread_ring_push(r, ITEM(12)));
    uintptr_t next = 4;
    size_t n;
    while ((n = xthread_ring_pop_batch(r, out, 3)) > 0)
        for (size_t i = 0; i < n; i++)
            assert_int_equal(SEQ(out[i]), next++);
    assert_int_equal(next, 12);
    xthread_ring_free(r);
}

/* Many rounds of uneven pushes and pops, so the indices wrap around the slots
 * at every offset, checked against a counter. */
static void test_wrap_around(void **state)
{
    (void)state;
    xthread_ring *r = xthread_ring_new(8);
    uintptr_t pushed = 0, popped = 0;
    void *out[8];
    for (unsigned round = 0; round < 10000; round++) {
        unsigned want = round % 7 + 1;
        for (unsigned i = 0; i < want; i++) {
            bool room = pushed - popped < 8;
            assert_int_equal(xthread_ring_push(r, ITEM(pushed + 1)), room);
            if (room)
                pushed++;
        }
        assert_int_equal(xthread_ring_count(r), pushed - popped);
        size_t n = xthread_ring_pop_batch(r, out, round % 5 + 1);
        assert_int_equal(n, pushed - popped < round % 5 + 1 ? pushed - popped : round % 5 + 1);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(SEQ(out[i]), ++popped);
    }
    assert_true(pushed > 20000);
    xthread_ring_free(r);
}

/* ---- two threads: order and completeness */

#define STRESS_ITEMS 10000000u
#define STRESS_CAPACITY 1024

typedef struct stress {
    xthread_ring *ring;
    unsigned long full; /* producer-only: pushes refused */
} stress;

static void *stress_produce(void *arg)
{
    stress *s = arg;
    for (uintptr_t i = 1; i <= STRESS_ITEMS; i++)
        while (!xthread_ring_push(s->ring, ITEM(i))) {
            s->full++;
            sched_yield();
        }
    return NULL;
}

static void test_two_threads(void **state)
{
    (void)state;
    stress s = {xthread_ring_new(STRESS_CAPACITY), 0};
    assert_non_null(s.ring);
    double start = mono_s();
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, stress_produce, &s), 0);
    uintptr_t expected = 1, bad = 0;
    unsigned long empty = 0;
    void *out[64];
    while (expected <= STRESS_ITEMS && !bad) {
        size_t n = xthread_ring_pop_batch(s.ring, out, 64);
        if (!n) {
            empty++;
            sched_yield();
            continue;
        }
        for (size_t i = 0; i < n; i++, expected++)
            if (SEQ(out[i]) != expected) {
                bad = SEQ(out[i]);
                break;
            }
    }
    pthread_join(t, NULL);
    double secs = mono_s() - start;
    assert_int_equal(bad, 0);
    assert_int_equal(expected, STRESS_ITEMS + 1);
    assert_int_equal(xthread_ring_pop_batch(s.ring, out, 64), 0);
    print_message("  %u items in %.2f s: %.1f M items/s (ring full %lu times, empty %lu times)\n",
                  STRESS_ITEMS, secs, STRESS_ITEMS / secs / 1e6, s.full, empty);
    xthread_ring_free(s.ring);
}

/* ---- messages by reference */

#define MSG_COUNT 200000u
#define MSG_KEPT 64 /* the producer drops its own reference this many messages later */

/* Whether m is message number seq, reading all of it (for the sanitizers). */
static bool msg_ok(const broker_msg *m, uintptr_t seq)
{
    char want[32];
    int len = snprintf(want, sizeof want, "payload %lu", (unsigned long)seq);
    return m->origin == seq && m->payload.len == (uint32_t)len &&
           !memcmp(m->payload.data, want, (size_t)len) && m->topic.len == 3 &&
           !memcmp(m->topic.data, "t/x", 3);
}

typedef struct msg_test {
    xthread_ring *ring;
    unsigned long failures; /* producer-only (cmocka asserts belong to the test's thread) */
} msg_test;

static void *msg_produce(void *arg)
{
    msg_test *mt = arg;
    broker_msg *kept[MSG_KEPT] = {0};
    for (uintptr_t i = 1; i <= MSG_COUNT; i++) {
        char payload[32];
        int len = snprintf(payload, sizeof payload, "payload %lu", (unsigned long)i);
        mqtt_bytes topic = {(const uint8_t *)"t/x", 3};
        mqtt_bytes body = {(const uint8_t *)payload, (uint32_t)len};
        broker_msg *m = broker_msg_new_raw(topic, body, 1, false, NULL, i, 0);
        if (!m) {
            mt->failures++;
            break;
        }
        /* One reference travels, one stays here for a while: the last unref
         * falls on either thread, depending on who gets there last. */
        broker_msg_ref(m);
        while (!xthread_ring_push(mt->ring, m))
            sched_yield();
        broker_msg *old = kept[i % MSG_KEPT];
        if (old) {
            mt->failures += !msg_ok(old, i - MSG_KEPT);
            broker_msg_unref(old);
        }
        kept[i % MSG_KEPT] = m;
    }
    for (size_t i = 0; i < MSG_KEPT; i++)
        broker_msg_unref(kept[i]);
    return NULL;
}

static void test_messages_by_reference(void **state)
{
    (void)state;
    msg_test mt = {xthread_ring_new(32), 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, msg_produce, &mt), 0);
    uintptr_t expected = 1;
    unsigned long bad = 0;
    void *out[16];
    while (expected <= MSG_COUNT) {
        size_t n = xthread_ring_pop_batch(mt.ring, out, 16);
        if (!n)
            sched_yield();
        for (size_t i = 0; i < n; i++) {
            bad += !msg_ok(out[i], expected++);
            broker_msg_unref(out[i]);
        }
    }
    pthread_join(t, NULL);
    assert_int_equal(bad, 0);
    assert_int_equal(mt.failures, 0);
    xthread_ring_free(mt.ring);
}

/* ---- a sleeping libevent consumer */

#define WAKE_PRODUCERS 2
#define WAKE_BURSTS 50000 /* per producer */
#define WAKE_MAX_BURST 8
#define WAKE_BUDGET 5 /* items per call: some bursts take two calls */
#define WAKE_DEADLINE_S 20

typedef struct wake_test wake_test;

typedef struct wake_producer {
    wake_test *t;
    xthread_ring *ring;
    pthread_t thread;
    unsigned seed;
    _Atomic uintptr_t taken; /* the consumer's acknowledgement: last sequence number taken */
    uintptr_t next;          /* consumer-only: the sequence number expected next */
    bool finished;           /* consumer-only: the end marker (NULL) arrived */
    uintptr_t bad;           /* consumer-only: an item out of order */
    unsigned bursts;         /* producer-only: bursts fully taken */
    bool push_failed;        /* producer-only: the ring was full (it never should be) */
} wake_producer;

struct wake_test {
    struct event_base *base;
    xthread_waker *waker;
    _Atomic bool stop; /* the deadline passed */
    bool timed_out;
    unsigned long calls;
    wake_producer p[WAKE_PRODUCERS];
};

/* The waker's callback: takes up to WAKE_BUDGET items over all rings. */
static bool wake_drain(void *arg)
{
    wake_test *t = arg;
    t->calls++;
    size_t budget = WAKE_BUDGET;
    unsigned finished = 0;
    for (size_t k = 0; k < WAKE_PRODUCERS; k++) {
        wake_producer *p = &t->p[k];
        void *out[WAKE_BUDGET];
        size_t n = budget ? xthread_ring_pop_batch(p->ring, out, budget) : 0;
        budget -= n;
        for (size_t i = 0; i < n; i++) {
            if (!out[i]) {
                p->finished = true;
            } else if (SEQ(out[i]) == p->next) {
                p->next++;
            } else if (!p->bad) {
                p->bad = SEQ(out[i]); /* the producer would wait for it forever: give up */
                atomic_store(&t->stop, true);
                event_base_loopbreak(t->base);
            }
        }
        if (n)
            atomic_store_explicit(&p->taken, p->next - 1, memory_order_release);
        finished += p->finished;
    }
    if (finished == WAKE_PRODUCERS)
        event_base_loopbreak(t->base);
    /* The budget ran out: there may be more (or not: then the next call finds
     * nothing, which is allowed). */
    return budget == 0;
}

static void *wake_produce(void *arg)
{
    wake_producer *p = arg;
    uintptr_t pushed = 0;
    /* Sleeps of a few microseconds, not the default 50 us of slack: more bursts
     * per second, well inside the deadline. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    for (unsigned b = 0; b < WAKE_BURSTS && !atomic_load(&p->t->stop); b++) {
        unsigned r = (unsigned)rand_r(&p->seed);
        unsigned size = r % WAKE_MAX_BURST + 1;
        bool each = (r >> 8) % 4 == 0; /* signal after every item, not once per burst */
        for (unsigned i = 0; i < size; i++) {
            /* Never full: the ring holds a burst, and the previous one was taken. */
            if (!xthread_ring_push(p->ring, ITEM(++pushed)))
                p->push_failed = true;
            if (each)
                xthread_waker_signal(p->t->waker);
        }
        xthread_waker_signal(p->t->waker);
        /* The consumer must take the whole burst with no further signal. */
        while (atomic_load_explicit(&p->taken, memory_order_acquire) != pushed && !atomic_load(&p->t->stop))
            sched_yield();
        if (atomic_load(&p->t->stop))
            break;
        p->bursts++;
        /* Half the time straight on (the consumer may still be in its callback,
         * the race the announcement closes), else give it time to fall asleep. */
        if ((r >> 12) % 2)
            sleep_us((long)((r >> 16) % 20));
    }
    if (!xthread_ring_push(p->ring, NULL)) /* the end marker */
        p->push_failed = true;
    xthread_waker_signal(p->t->waker);
    return NULL;
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    wake_test *t = arg;
    t->timed_out = true;
    atomic_store(&t->stop, true);
    event_base_loopbreak(t->base);
}

static void test_sleeping_consumer(void **state)
{
    (void)state;
    static wake_test t; /* large: not on the stack */
    memset(&t, 0, sizeof t);
    t.base = event_base_new();
    assert_non_null(t.base);
    t.waker = xthread_waker_new(t.base, wake_drain, &t);
    assert_non_null(t.waker);
    struct event *deadline = evtimer_new(t.base, on_deadline, &t);
    struct timeval limit = {WAKE_DEADLINE_S, 0};
    evtimer_add(deadline, &limit);
    unsigned seed = (unsigned)time(NULL);
    print_message("  seed %u\n", seed);
    for (size_t k = 0; k < WAKE_PRODUCERS; k++) {
        t.p[k].t = &t;
        t.p[k].ring = xthread_ring_new(WAKE_MAX_BURST + 1); /* +1: the end marker */
        t.p[k].seed = seed + (unsigned)k;
        t.p[k].next = 1;
        assert_non_null(t.p[k].ring);
    }
    double start = mono_s();
    for (size_t k = 0; k < WAKE_PRODUCERS; k++)
        assert_int_equal(pthread_create(&t.p[k].thread, NULL, wake_produce, &t.p[k]), 0);
    event_base_loop(t.base, 0);
    atomic_store(&t.stop, true); /* on failure, the producers give up too */
    for (size_t k = 0; k < WAKE_PRODUCERS; k++)
        pthread_join(t.p[k].thread, NULL);
    double secs = mono_s() - start;
    print_message("  %d bursts in %.2f s, %lu callback calls%s\n", WAKE_PRODUCERS * WAKE_BURSTS, secs,
                  t.calls, t.timed_out ? ", TIMED OUT (a lost wake-up?)" : "");
    assert_false(t.timed_out);
    for (size_t k = 0; k < WAKE_PRODUCERS; k++) {
        assert_int_equal(t.p[k].bad, 0);
        assert_false(t.p[k].push_failed);
        assert_int_equal(t.p[k].bursts, WAKE_BURSTS);
        assert_true(t.p[k].finished);
        xthread_ring_free(t.p[k].ring);
    }
    event_free(deadline);
    xthread_waker_free(t.waker);
    event_base_free(t.base);
}

/* ---- the budget, on one thread */

typedef struct budget_test {
    xthread_ring *ring;
    unsigned calls;
    unsigned taken;
} budget_test;

static bool budget_drain(void *arg)
{
    budget_test *b = arg;
    void *out[3];
    b->calls++;
    size_t n = xthread_ring_pop_batch(b->ring, out, 3);
    b->taken += (unsigned)n;
    return n == 3;
}

static void test_budget(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    budget_test b = {xthread_ring_new(16), 0, 0};
    xthread_waker *w = xthread_waker_new(base, budget_drain, &b);
    assert_non_null(w);

    /* No signal, no call. */
    assert_int_equal(event_base_loop(base, EVLOOP_NONBLOCK), 0);
    assert_int_equal(b.calls, 0);

    for (uintptr_t i = 1; i <= 10; i++)
        assert_true(xthread_ring_push(b.ring, ITEM(i)));
    xthread_waker_signal(w);
    xthread_waker_signal(w);
    /* 3 + 3 + 3 + 1: the first three calls used their budget and came back
     * through the loop on their own, the last one found the ring empty, and so
     * did the look after the announcement. */
    for (int turn = 0; turn < 20 && b.taken < 10; turn++)
        event_base_loop(base, EVLOOP_ONCE);
    assert_int_equal(b.taken, 10);
    assert_int_equal(b.calls, 5);

    /* Asleep again: nothing runs until the next signal. */
    assert_int_equal(event_base_loop(base, EVLOOP_NONBLOCK), 0);
    assert_int_equal(b.calls, 5);
    assert_true(xthread_ring_push(b.ring, ITEM(11)));
    xthread_waker_signal(w);
    event_base_loop(base, EVLOOP_ONCE);
    assert_int_equal(b.taken, 11);

    xthread_waker_free(w);
    xthread_ring_free(b.ring);
    event_base_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capacity),          cmocka_unit_test(test_full_empty),
        cmocka_unit_test(test_batch_pop),         cmocka_unit_test(test_wrap_around),
        cmocka_unit_test(test_two_threads),       cmocka_unit_test(test_messages_by_reference),
        cmocka_unit_test(test_sleeping_consumer), cmocka_unit_test(test_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
