/* Internal to the codec: bounds-checked reading and unchecked writing of MQTT
 * data types (section 1.5), and the property block routines decode/encode share. */
#ifndef EG_MQTT_WIRE_H
#define EG_MQTT_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqtt_codec.h"

/* A cursor over an immutable buffer. Failures record the first error in err. */
typedef struct wire_reader {
    const uint8_t *data;
    size_t len;
    size_t pos;
    mqtt_error *err;
} wire_reader;

/* Sets err (first error wins) and returns false, so callers can `return wire_fail(...)`. */
bool wire_fail(mqtt_error *err, uint8_t reason, const char *rule);

static inline size_t wire_left(const wire_reader *r)
{
    return r->len - r->pos;
}

bool wire_read_u8(wire_reader *r, uint8_t *out, const char *what);
bool wire_read_u16(wire_reader *r, uint16_t *out, const char *what);
bool wire_read_u32(wire_reader *r, uint32_t *out, const char *what);
bool wire_read_varint(wire_reader *r, uint32_t *out, const char *what);
bool wire_read_binary(wire_reader *r, mqtt_bytes *out, const char *what);
/* A length-prefixed string that must be valid MQTT UTF-8 (else 0x81). */
bool wire_read_utf8(wire_reader *r, mqtt_bytes *out, const char *what);

uint8_t *wire_write_u16(uint8_t *w, uint16_t v);
uint8_t *wire_write_u32(uint8_t *w, uint32_t v);
uint8_t *wire_write_varint(uint8_t *w, uint32_t v);
uint8_t *wire_write_bytes(uint8_t *w, mqtt_bytes b); /* 2-byte length + data */

/* Property "kinds": the packet types, plus one for Will Properties. */
#define MQTT_PROPS_WILL 16

/* Reads a property block (length + properties) for `kind`, validating
 * identifiers, types, duplicates, ranges and where each may appear. */
bool mqtt_props_decode(wire_reader *r, unsigned kind, mqtt_properties *out);

/* Encoded size of the property block including its length prefix, or 0 if a
 * property present is not allowed in `kind` or the block is too large. */
size_t mqtt_props_encoded_size(const mqtt_properties *p, unsigned kind);
uint8_t *mqtt_props_write(uint8_t *w, const mqtt_properties *p, unsigned kind);

#endif
