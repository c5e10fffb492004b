/* Topic layout of each topology, and who receives what.
 *
 *   fanin   publisher i -> PREFIX/fanin/i      every subscriber: PREFIX/fanin/+
 *   fanout  every publisher -> PREFIX/fanout   every subscriber: PREFIX/fanout
 *   pairs   publisher i -> PREFIX/pairs/i      subscriber i: PREFIX/pairs/i
 */
#ifndef LG_SCENARIO_H
#define LG_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include "loadgen_opts.h"

/* Writes the NUL-terminated topic or filter; returns its length, 0 if cap is too small. */
size_t lg_publisher_topic(const lg_opts *o, uint32_t publisher, char *buf, size_t cap);
size_t lg_subscriber_filter(const lg_opts *o, uint32_t subscriber, char *buf, size_t cap);

/* Subscribers that receive each message of a publisher. */
uint32_t lg_receivers_per_publisher(const lg_opts *o);

/* Publishers a subscriber hears from, and the slot (0..count-1) of one of
 * them in that subscriber's table; -1 if it should not hear from it. */
uint32_t lg_streams_per_subscriber(const lg_opts *o);
int64_t lg_stream_slot(const lg_opts *o, uint32_t subscriber, uint32_t publisher);

#endif
