/* Cross-thread hand-over between workers (docs/design-threads.md): a bounded
 * single-producer/single-consumer ring of pointers, and a waker that lets a
 * consumer sleep in its libevent loop until a producer has pushed something.
 *
 * Topology: one ring per (producer thread, consumer thread) pair, one waker per
 * consumer thread, shared by all the producers that feed it. A producer pushes
 * any number of items into its ring, then calls xthread_waker_signal once (per
 * loop turn, not per item). The consumer's callback drains its rings.
 *
 * Ownership: a ring holds pointers, not references: whatever an item stands for
 * (e.g. one broker_msg reference) passes from the producer to the consumer with
 * it. The ring publishes the producer's writes before the push to the consumer
 * after the pop (release/acquire), so the item's contents need no further
 * synchronisation. xthread_ring_free does not free items left in the ring.
 *
 * Threads, per function: see each one. "Producer" is the one thread that pushes
 * into a ring, "consumer" the one that pops it (and runs the waker's event
 * base). Creating and freeing happen while no other thread uses the object
 * (e.g. before the threads start and after they are joined). */
#ifndef EG_XTHREAD_RING_H
#define EG_XTHREAD_RING_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;

/* ---- the ring */

typedef struct xthread_ring xthread_ring;

/* A ring holding up to `capacity` items, rounded up to a power of two.
 * Returns NULL if capacity is 0 or above 2^30, or on allocation failure. */
xthread_ring *xthread_ring_new(size_t capacity);
/* NULL is fine. Items still in the ring are dropped, not freed. */
void xthread_ring_free(xthread_ring *r);

/* The capacity after rounding. Any thread. */
size_t xthread_ring_capacity(const xthread_ring *r);

/* Producer only. Appends `item` (any value, NULL included). Returns false,
 * leaving the ring unchanged, when it is full. */
bool xthread_ring_push(xthread_ring *r, void *item);

/* Consumer only. Moves up to `max` items, oldest first, into out[] and returns
 * how many (0 when empty). */
size_t xthread_ring_pop_batch(xthread_ring *r, void **out, size_t max);

/* Items in the ring. Exact on neither side while the other one runs: the
 * producer may see more than there are (the consumer popped since), the
 * consumer fewer (the producer pushed since). Any thread. */
size_t xthread_ring_count(const xthread_ring *r);

/* ---- the consumer's wake-up */

typedef struct xthread_waker xthread_waker;

/* Runs on the consumer's thread, from its event loop, after a signal. It
 * drains the consumer's rings. Returns true if it may have left items behind
 * (it keeps to a budget so that the thread's sockets get their turn): it is
 * then called again on the next loop turn, without waiting for a signal.
 * Returns false once it has seen every ring empty: the waker then announces
 * that the consumer may sleep and calls it once more, for what was pushed in
 * between. Calls that find nothing are therefore normal. */
typedef bool (*xthread_waker_fn)(void *arg);

/* Consumer's thread (or before the producers start). Registers an eventfd on
 * `base`, the consumer's event base, which must outlive the waker. Returns
 * NULL on failure (errno set). The waker starts out allowing the consumer to
 * sleep, so the first signal calls `fn`. */
xthread_waker *xthread_waker_new(struct event_base *base, xthread_waker_fn fn, void *arg);
/* Consumer's thread, once no producer may signal any more. NULL is fine. */
void xthread_waker_free(xthread_waker *w);

/* Any producer thread, after its pushes for this loop turn (one call covers
 * them all). Cheap while the consumer is awake, from the start of its `fn` call
 * until `fn` has found the rings empty: a fence and a load, no system call.
 * After that, the first producer to signal writes the eventfd (one system
 * call) and the others skip it. */
void xthread_waker_signal(xthread_waker *w);

#endif
