/* Latency histogram: log-linear buckets over nanoseconds, mergeable across
 * threads. Exact below 128 ns, then 64 buckets per power of two (a reported
 * percentile is within 1.6% of the true value). Values above ~18 minutes are
 * clamped. */
#ifndef LG_HIST_H
#define LG_HIST_H

#include <stdint.h>

typedef struct lg_hist lg_hist;

lg_hist *lg_hist_new(void);
void lg_hist_free(lg_hist *h);

void lg_hist_record(lg_hist *h, uint64_t ns);
/* Adds every sample of `from` to `into`. */
void lg_hist_merge(lg_hist *into, const lg_hist *from);

uint64_t lg_hist_count(const lg_hist *h);
uint64_t lg_hist_max(const lg_hist *h);
/* Smallest recorded value v (to bucket precision) with at least q of the
 * samples <= v; q in (0, 1]. 0 when empty. */
uint64_t lg_hist_percentile(const lg_hist *h, double q);

#endif
