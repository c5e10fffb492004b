/* What each benchmark message carries, and how a subscriber checks the
 * messages of one publisher for loss, duplicates and reordering.
 *
 * Payload layout (native byte order): run id u32, publisher u32, sequence
 * u64, send time u64 (CLOCK_MONOTONIC ns), then filler up to the payload size.
 * The run id is random per mqttload process: a broker still delivering
 * messages of an earlier run (say, left in its socket buffers) must not be
 * taken for one of ours. */
#ifndef LG_TRACK_H
#define LG_TRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LG_STAMP_SIZE 24

/* CLOCK_MONOTONIC in nanoseconds: comparable across the threads and processes of one machine. */
int64_t lg_now_ns(void);

/* A random non-zero run id. */
uint32_t lg_new_run_id(void);

void lg_stamp(uint8_t *payload, uint32_t run, uint32_t publisher, uint64_t seq, int64_t sent_ns);
/* False if the payload is not one of this run's. */
bool lg_unstamp(const uint8_t *payload, size_t len, uint32_t run, uint32_t *publisher, uint64_t *seq,
                int64_t *sent_ns);

/* Sequence numbers received from one publisher. Brokers keep the order of one
 * publisher's messages, so anything at or behind `next` is a duplicate, except
 * a late arrival within the last 64 numbers that was never seen (reordering). */
typedef struct lg_stream {
    uint64_t next;   /* one past the highest sequence number seen */
    uint64_t recent; /* bit i: next - 1 - i was seen */
} lg_stream;

/* True when seq is seen for the first time. */
bool lg_stream_accept(lg_stream *s, uint64_t seq);

#endif
