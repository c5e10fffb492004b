/* Message stamps and per-publisher sequence tracking. */
#include "loadgen_track.h"

#include <string.h>
#include <time.h>

#define STAMP_MAGIC 0x4d51424cu /* "LBQM" */

int64_t lg_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Both ends run on this machine, so native byte order is enough; memcpy keeps
 * the unaligned accesses defined. */
void lg_stamp(uint8_t *payload, uint32_t publisher, uint64_t seq, int64_t sent_ns)
{
    uint32_t magic = STAMP_MAGIC;
    memcpy(payload, &magic, 4);
    memcpy(payload + 4, &publisher, 4);
    memcpy(payload + 8, &seq, 8);
    memcpy(payload + 16, &sent_ns, 8);
}

bool lg_unstamp(const uint8_t *payload, size_t len, uint32_t *publisher, uint64_t *seq, int64_t *sent_ns)
{
    uint32_t magic;
    if (len < LG_STAMP_SIZE)
        return false;
    memcpy(&magic, payload, 4);
    if (magic != STAMP_MAGIC)
        return false;
    memcpy(publisher, payload + 4, 4);
    memcpy(seq, payload + 8, 8);
    memcpy(sent_ns, payload + 16, 8);
    return true;
}

bool lg_stream_accept(lg_stream *s, uint64_t seq)
{
    if (seq >= s->next) {
        uint64_t shift = seq - s->next + 1;
        s->recent = shift >= 64 ? 0 : s->recent << shift;
        s->recent |= 1;
        s->next = seq + 1;
        return true;
    }
    uint64_t back = s->next - 1 - seq;
    if (back >= 64 || (s->recent & (UINT64_C(1) << back)))
        return false;
    s->recent |= UINT64_C(1) << back;
    return true;
}
