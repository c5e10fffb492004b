/* Topic layout of the fanin, fanout and pairs topologies. */
#include "loadgen_scenario.h"

#include <stdio.h>

static size_t fit(int n, size_t cap)
{
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

size_t lg_publisher_topic(const lg_opts *o, uint32_t publisher, char *buf, size_t cap)
{
    const char *kind = lg_topology_name(o->topology);
    if (o->topology == LG_FANOUT)
        return fit(snprintf(buf, cap, "%s/%s", o->topic_prefix, kind), cap);
    return fit(snprintf(buf, cap, "%s/%s/%u", o->topic_prefix, kind, publisher), cap);
}

size_t lg_subscriber_filter(const lg_opts *o, uint32_t subscriber, char *buf, size_t cap)
{
    switch (o->topology) {
    case LG_FANIN: return fit(snprintf(buf, cap, "%s/fanin/+", o->topic_prefix), cap);
    case LG_FANOUT: return lg_publisher_topic(o, 0, buf, cap);
    case LG_PAIRS: return lg_publisher_topic(o, subscriber, buf, cap);
    }
    return 0;
}

uint32_t lg_receivers_per_publisher(const lg_opts *o)
{
    return o->topology == LG_PAIRS ? 1 : o->subscribers;
}

uint32_t lg_streams_per_subscriber(const lg_opts *o)
{
    return o->topology == LG_PAIRS ? 1 : o->publishers;
}

int64_t lg_stream_slot(const lg_opts *o, uint32_t subscriber, uint32_t publisher)
{
    if (publisher >= o->publishers)
        return -1;
    if (o->topology == LG_PAIRS)
        return publisher == subscriber ? 0 : -1;
    return publisher;
}
