/* Encoding an MQTT packet straight into a libevent output buffer. */
#ifndef EG_MQTT_EVBUFFER_H
#define EG_MQTT_EVBUFFER_H

#include <event2/buffer.h>

#include "mqtt_packet.h"

/* Appends `p` encoded for `version` to `out`, reserving the exact size and
 * writing in place (no intermediate copy). Returns the bytes added, 0 on failure. */
size_t mqtt_encode_evbuffer(struct evbuffer *out, const mqtt_packet *p, uint8_t version);

#endif
