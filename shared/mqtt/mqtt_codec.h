/* MQTT 3.1.1 / 5.0 wire codec: framing, decoding with strict validation, encoding.
 *
 * Reading from a socket:
 *   1. mqtt_frame_parse() on the bytes received so far: it reads the fixed header
 *      and checks the packet size against the caller's maximum *before* the body
 *      is buffered. INCOMPLETE means "read more".
 *   2. once frame.total_len bytes are available, mqtt_decode() them. The decoded
 *      packet points into that buffer (zero-copy).
 * Every violation yields the v5 reason code a broker must send for it and a
 * static description of the rule (for logs and tests). */
#ifndef EG_MQTT_CODEC_H
#define EG_MQTT_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqtt_packet.h"

typedef struct mqtt_error {
    uint8_t reason;   /* v5 reason code: 0x81, 0x82, 0x84, 0x85, 0x8F, 0x90, 0x94, 0x95, 0x99 ... */
    const char *rule; /* static text naming the rule that was broken */
    uint8_t version;  /* CONNECT only: protocol level read, 0 if not reached */
} mqtt_error;

enum mqtt_frame_status {
    MQTT_FRAME_OK = 0,
    MQTT_FRAME_INCOMPLETE = 1, /* need more bytes */
    MQTT_FRAME_ERROR = 2,      /* err set: 0x81 bad remaining length, 0x95 too large */
};

typedef struct mqtt_frame {
    uint8_t type;       /* high nibble of byte 1 */
    uint8_t flags;      /* low nibble of byte 1 */
    uint8_t header_len; /* 2..5 */
    uint32_t remaining_length;
    uint32_t total_len; /* header_len + remaining_length */
} mqtt_frame;

/* max_packet_size: largest total packet accepted (0 = protocol maximum). */
enum mqtt_frame_status mqtt_frame_parse(const uint8_t *buf, size_t len, uint32_t max_packet_size,
                                        mqtt_frame *frame, mqtt_error *err);

/* Who is decoding: a server rejects packets only a server sends, and the reverse. */
enum mqtt_role {
    MQTT_ROLE_SERVER = 0,
    MQTT_ROLE_CLIENT = 1,
};

/* Decodes one whole packet (exactly `len` bytes, as framed by mqtt_frame_parse).
 * `version` is the connection's protocol level (ignored for CONNECT, which
 * carries its own). Returns 0 on success, else the reason code also in err.
 * Exception: 0x99 (Payload format invalid) is returned for a PUBLISH (or the
 * will of a CONNECT) whose Payload Format Indicator is 1 and payload is not
 * UTF-8; the packet is then fully decoded and valid otherwise, so that a broker
 * can answer with PUBACK/PUBREC (or CONNACK) 0x99. */
int mqtt_decode(const uint8_t *pkt, size_t len, uint8_t version, enum mqtt_role role, mqtt_packet *out,
                mqtt_error *err);

/* Iterators over repeated fields, for decoded and for built packets alike.
 * *pos starts at 0; each returns false when there are no more. */
bool mqtt_props_user_next(const mqtt_properties *props, size_t *pos, mqtt_user_property *out);
bool mqtt_props_subscription_id_next(const mqtt_properties *props, size_t *pos, uint32_t *out);
bool mqtt_subscribe_next(const mqtt_subscribe *sub, size_t *pos, mqtt_subscription *out);
bool mqtt_unsubscribe_next(const mqtt_unsubscribe *unsub, size_t *pos, mqtt_bytes *out);

/* Exact encoded size of `p` for `version`, or 0 if it cannot be encoded
 * (e.g. AUTH in v3.1.1, a remaining length over the protocol maximum). */
size_t mqtt_encoded_length(const mqtt_packet *p, uint8_t version);

/* Encodes `p` into buf. A CONNECT gets `version` as its protocol level
 * (connect.protocol_version is not consulted). Fixed-header flags are computed from the packet
 * (PUBLISH dup/qos/retain; 0x2 for PUBREL, SUBSCRIBE, UNSUBSCRIBE). v5 acks and
 * DISCONNECT/AUTH use the shortest form the specification allows. In v3.1.1
 * properties and reason codes that v3.1.1 lacks are left out.
 * Returns the number of bytes written, or 0 if cap is too small or p cannot be encoded. */
size_t mqtt_encode(const mqtt_packet *p, uint8_t version, uint8_t *buf, size_t cap);

/* PUBLISH without its payload: writes everything before the payload (the
 * remaining length counts the payload) so that a caller can append the payload
 * by reference instead of copying it. Returns the bytes written, 0 on failure. */
size_t mqtt_encode_publish_head(const mqtt_packet *p, uint8_t version, uint8_t *buf, size_t cap);

/* Variable Byte Integer helpers (section 1.5.5). */
size_t mqtt_varint_size(uint32_t value); /* 1..4, 0 if value > MQTT_VARINT_MAX */
size_t mqtt_varint_write(uint8_t *buf, uint32_t value);

/* Names for logs: "PUBLISH", "Malformed Packet", ... ("unknown" otherwise). */
const char *mqtt_packet_type_name(uint8_t type);
const char *mqtt_reason_name(uint8_t reason);

/* The v3.1.1 CONNACK return code that best conveys a v5 CONNACK reason code. */
uint8_t mqtt_v311_connack_code(uint8_t v5_reason);

/* True if `len` bytes at `s` are well-formed UTF-8 without surrogates or
 * U+0000 (section 1.5.4). */
bool mqtt_utf8_valid(const uint8_t *s, size_t len);

#endif
