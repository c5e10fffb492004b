#include "mqtt_evbuffer.h"

#include "mqtt_codec.h"

size_t mqtt_encode_evbuffer(struct evbuffer *out, const mqtt_packet *p, uint8_t version)
{
    size_t len = mqtt_encoded_length(p, version);
    if (len == 0)
        return 0;
    struct evbuffer_iovec vec;
    /* One extent, so the encoder sees a contiguous buffer. */
    if (evbuffer_reserve_space(out, (ev_ssize_t)len, &vec, 1) != 1 || vec.iov_len < len)
        return 0;
    size_t written = mqtt_encode(p, version, vec.iov_base, len);
    if (written != len)
        return 0; /* nothing committed: the reservation is simply dropped */
    vec.iov_len = len;
    if (evbuffer_commit_space(out, &vec, 1) != 0)
        return 0;
    return len;
}
