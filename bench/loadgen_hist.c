/* Log-linear latency histogram. */
#include "loadgen_hist.h"

#include <math.h>
#include <stdlib.h>

/* Values below 2^LINEAR_BITS get a bucket each; each power of two above is
 * split into 2^(LINEAR_BITS - 1) buckets, so the bucket width is at most 1/64
 * of the value. */
#define LINEAR_BITS 7
#define LINEAR_COUNT (1u << LINEAR_BITS)
#define SUB_BITS (LINEAR_BITS - 1)
#define SUB_COUNT (1u << SUB_BITS)
#define TOP_BIT 40 /* 2^41 ns, about 36 minutes: larger values are clamped */
#define BUCKETS (LINEAR_COUNT + (TOP_BIT - LINEAR_BITS + 1) * SUB_COUNT)

struct lg_hist {
    uint64_t count;
    uint64_t max;
    uint64_t buckets[BUCKETS];
};

lg_hist *lg_hist_new(void)
{
    return calloc(1, sizeof(lg_hist));
}

void lg_hist_free(lg_hist *h)
{
    free(h);
}

static unsigned bucket_of(uint64_t v)
{
    if (v < LINEAR_COUNT)
        return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    if (msb > TOP_BIT)
        return BUCKETS - 1;
    unsigned sub = (unsigned)(v >> (msb - SUB_BITS)) & (SUB_COUNT - 1);
    return LINEAR_COUNT + (msb - LINEAR_BITS) * SUB_COUNT + sub;
}

/* Largest value that falls into bucket b: percentiles err on the high side. */
static uint64_t bucket_top(unsigned b)
{
    if (b < LINEAR_COUNT)
        return b;
    unsigned msb = (b - LINEAR_COUNT) / SUB_COUNT + LINEAR_BITS;
    uint64_t sub = (b - LINEAR_COUNT) % SUB_COUNT;
    uint64_t width = UINT64_C(1) << (msb - SUB_BITS);
    return (UINT64_C(1) << msb) + (sub + 1) * width - 1;
}

void lg_hist_record(lg_hist *h, uint64_t ns)
{
    h->buckets[bucket_of(ns)]++;
    h->count++;
    if (ns > h->max)
        h->max = ns;
}

void lg_hist_merge(lg_hist *into, const lg_hist *from)
{
    for (unsigned i = 0; i < BUCKETS; i++)
        into->buckets[i] += from->buckets[i];
    into->count += from->count;
    if (from->max > into->max)
        into->max = from->max;
}

uint64_t lg_hist_count(const lg_hist *h)
{
    return h->count;
}

uint64_t lg_hist_max(const lg_hist *h)
{
    return h->max;
}

uint64_t lg_hist_percentile(const lg_hist *h, double q)
{
    if (h->count == 0)
        return 0;
    uint64_t rank = (uint64_t)ceil(q * (double)h->count);
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            uint64_t top = bucket_top(i);
            return top < h->max ? top : h->max;
        }
    }
    return h->max;
}
