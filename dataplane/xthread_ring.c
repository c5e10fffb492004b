/* SPSC ring and consumer waker (see xthread_ring.h).
 *
 * The ring uses free-running head and tail counters (slot = counter & mask), so
 * "full" and "empty" need no spare slot: count = tail - head. Each side keeps a
 * private copy of the other side's counter and re-reads the shared one only
 * when the copy says full (producer) or empty (consumer), so in steady state a
 * push or a pop touches no cache line the other thread writes, except the
 * slots themselves.
 *
 * The waker avoids a system call per hand-over: producers write the eventfd
 * only when the consumer has announced that it may sleep (may_sleep). The
 * consumer announces it after finding its rings empty, then looks at them once
 * more. Both sides put a sequentially consistent fence between their store
 * (the push; the announcement) and their load (the announcement; the rings):
 * of the two fences, whichever comes second sees the other side's store, so
 * either the consumer's second look finds the item or the producer sees the
 * announcement and wakes it. Without the fences both loads could miss (a store
 * may wait in the store buffer past a later load), and the consumer would
 * sleep on an item. */
#include "xthread_ring.h"

#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

/* Fields written by different threads are kept this far apart, so one thread's
 * writes do not keep invalidating the line the other one reads. */
#define CACHE_LINE 64

#define RING_MAX_CAPACITY ((size_t)1 << 30)

struct xthread_ring {
    /* The producer's line. */
    alignas(CACHE_LINE) _Atomic size_t tail; /* items pushed so far; written by the producer */
    size_t head_seen;                        /* producer-only: head when last read */
    /* The consumer's line. */
    alignas(CACHE_LINE) _Atomic size_t head; /* items popped so far; written by the consumer */
    size_t tail_seen;                        /* consumer-only: tail when last read */
    /* Read-only after creation. */
    alignas(CACHE_LINE) size_t mask; /* capacity - 1 */
    void *slots[];
};

/* aligned_alloc wants a size that is a multiple of the alignment. */
static void *alloc_lines(size_t size)
{
    return aligned_alloc(CACHE_LINE, (size + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE);
}

xthread_ring *xthread_ring_new(size_t capacity)
{
    if (capacity == 0 || capacity > RING_MAX_CAPACITY)
        return NULL;
    size_t cap = 1;
    while (cap < capacity)
        cap <<= 1;
    xthread_ring *r = alloc_lines(sizeof *r + cap * sizeof r->slots[0]);
    if (!r)
        return NULL;
    atomic_init(&r->tail, 0);
    atomic_init(&r->head, 0);
    r->head_seen = 0;
    r->tail_seen = 0;
    r->mask = cap - 1;
    return r;
}

void xthread_ring_free(xthread_ring *r)
{
    free(r);
}

size_t xthread_ring_capacity(const xthread_ring *r)
{
    return r->mask + 1;
}

bool xthread_ring_push(xthread_ring *r, void *item)
{
    /* Relaxed: only this thread writes tail. */
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    if (tail - r->head_seen > r->mask) {
        /* Acquire: the consumer's reads of the slots it freed happen before
         * this thread overwrites them. */
        r->head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
        if (tail - r->head_seen > r->mask)
            return false;
    }
    r->slots[tail & r->mask] = item;
    /* Release: publishes the slot, and whatever the item points to. */
    atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
    return true;
}

size_t xthread_ring_pop_batch(xthread_ring *r, void **out, size_t max)
{
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t avail = r->tail_seen - head;
    if (avail < max) {
        /* Acquire: pairs with the release in push. */
        r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
        avail = r->tail_seen - head;
    }
    size_t n = avail < max ? avail : max;
    for (size_t i = 0; i < n; i++)
        out[i] = r->slots[(head + i) & r->mask];
    if (n)
        /* Release: the reads above happen before the producer reuses the slots. */
        atomic_store_explicit(&r->head, head + n, memory_order_release);
    return n;
}

size_t xthread_ring_count(const xthread_ring *r)
{
    /* head first: both only grow, so the tail read after it is not behind it.
     * The difference can still pass the capacity if both moved in between. */
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    size_t n = tail - head;
    return n > r->mask ? r->mask + 1 : n;
}

/* ---- waker */

struct xthread_waker {
    /* Written by the consumer and by the producer that wakes it; read by every
     * producer on every signal. fd, on the same line, is read-only. */
    alignas(CACHE_LINE) _Atomic bool may_sleep;
    int fd; /* the eventfd */
    /* Consumer-only. */
    alignas(CACHE_LINE) struct event *ev_fd; /* persistent EV_READ on fd */
    struct event *ev_again;                  /* zero-timeout timer: fn left items behind */
    xthread_waker_fn fn;
    void *arg;
};

static void wake_fd(int fd)
{
    uint64_t one = 1;
    ssize_t n;
    /* EAGAIN would mean the counter is near 2^64, i.e. already readable. */
    do
        n = write(fd, &one, sizeof one);
    while (n < 0 && errno == EINTR);
}

/* fn stopped on its budget: run it again on the next loop turn, after the
 * sockets have been polled. A zero timeout rather than event_active: libevent
 * runs an event activated from a callback in the same pass, before polling. */
static void come_back(xthread_waker *w)
{
    static const struct timeval now = {0, 0};
    if (event_add(w->ev_again, &now) != 0)
        wake_fd(w->fd); /* dearer, but cannot fail */
}

/* Calls fn until it has seen the rings empty after the announcement, or has
 * used its budget. */
static void waker_run(xthread_waker *w)
{
    /* Awake: producers need not signal until the next announcement. */
    atomic_store_explicit(&w->may_sleep, false, memory_order_relaxed);
    if (w->fn(w->arg)) {
        come_back(w);
        return;
    }
    atomic_store_explicit(&w->may_sleep, true, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst); /* pairs with the one in signal */
    if (w->fn(w->arg)) {
        atomic_store_explicit(&w->may_sleep, false, memory_order_relaxed);
        come_back(w);
    }
    /* fn returned false after the announcement: what was pushed before a
     * producer's fence has been taken, and later pushes see may_sleep (or a
     * later false that comes with an eventfd write or with this code running). */
}

static void on_eventfd(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    /* Resets the counter (not a semaphore eventfd): one read takes every write
     * so far. EAGAIN (nothing to take) is harmless. */
    uint64_t count;
    ssize_t n;
    do
        n = read(fd, &count, sizeof count);
    while (n < 0 && errno == EINTR);
    waker_run(arg);
}

static void on_again(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    waker_run(arg);
}

xthread_waker *xthread_waker_new(struct event_base *base, xthread_waker_fn fn, void *arg)
{
    xthread_waker *w = alloc_lines(sizeof *w);
    if (!w)
        return NULL;
    atomic_init(&w->may_sleep, true);
    w->fn = fn;
    w->arg = arg;
    w->ev_fd = w->ev_again = NULL;
    w->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->fd < 0) {
        free(w);
        return NULL;
    }
    w->ev_fd = event_new(base, w->fd, EV_READ | EV_PERSIST, on_eventfd, w);
    w->ev_again = evtimer_new(base, on_again, w);
    if (!w->ev_fd || !w->ev_again || event_add(w->ev_fd, NULL) != 0) {
        xthread_waker_free(w);
        errno = ENOMEM;
        return NULL;
    }
    return w;
}

void xthread_waker_free(xthread_waker *w)
{
    if (!w)
        return;
    if (w->ev_fd)
        event_free(w->ev_fd);
    if (w->ev_again)
        event_free(w->ev_again);
    close(w->fd);
    free(w);
}

void xthread_waker_signal(xthread_waker *w)
{
    /* Orders this thread's pushes before the load below (see the top). */
    atomic_thread_fence(memory_order_seq_cst);
    if (!atomic_load_explicit(&w->may_sleep, memory_order_relaxed))
        return;
    /* Only the producer that turns the flag off writes: one wake-up is enough. */
    if (!atomic_exchange_explicit(&w->may_sleep, false, memory_order_relaxed))
        return;
    wake_fd(w->fd);
}
