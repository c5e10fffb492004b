/* Reference counts of objects shared between worker threads (ack gates, publisher brakes,
 * shared-group members): taking a reference needs no ordering (the taker already holds
 * one); dropping the last one must see every other holder's writes before the free. */
#ifndef EG_REFCOUNT_H
#define EG_REFCOUNT_H

#include <stdatomic.h>
#include <stdbool.h>

static inline void refcount_init(_Atomic int *refs)
{
    atomic_init(refs, 1);
}

static inline void refcount_take(_Atomic int *refs)
{
    atomic_fetch_add_explicit(refs, 1, memory_order_relaxed);
}

/* True when that was the last reference: the caller frees the object. */
static inline bool refcount_drop(_Atomic int *refs)
{
    return atomic_fetch_sub_explicit(refs, 1, memory_order_acq_rel) == 1;
}

#endif
