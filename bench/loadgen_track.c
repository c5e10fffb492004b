/* Message stamps and per-publisher sequence tracking. */
#include "loadgen_track.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

int64_t lg_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

uint32_t lg_new_run_id(void)
{
    uint32_t id = 0;
    if (getrandom(&id, sizeof id, 0) != sizeof id)
        id = (uint32_t)lg_now_ns() ^ ((uint32_t)getpid() << 16);
    return id ? id : 1;
}

/* Both ends run on this machine, so native byte order is enough; memcpy keeps
 * the unaligned accesses defined. */
void lg_stamp(uint8_t *payload, uint32_t run, uint32_t publisher, uint64_t seq, int64_t sent_ns)
{
    memcpy(payload, &run, 4);
    memcpy(payload + 4, &publisher, 4);
    memcpy(payload + 8, &seq, 8);
    memcpy(payload + 16, &sent_ns, 8);
}

bool lg_unstamp(const uint8_t *payload, size_t len, uint32_t run, uint32_t *publisher, uint64_t *seq,
                int64_t *sent_ns)
{
    uint32_t stamped_run;
    if (len < LG_STAMP_SIZE)
        return false;
    memcpy(&stamped_run, payload, 4);
    if (stamped_run != run)
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
