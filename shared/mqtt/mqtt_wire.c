/* MQTT data types on the wire (section 1.5): integers, Variable Byte Integers,
 * length-prefixed binary data and UTF-8 strings. */
#include <string.h>

#include "mqtt_wire.h"

bool wire_fail(mqtt_error *err, uint8_t reason, const char *rule)
{
    if (err && err->reason == 0) {
        err->reason = reason;
        err->rule = rule;
    }
    return false;
}

bool wire_read_u8(wire_reader *r, uint8_t *out, const char *what)
{
    if (wire_left(r) < 1)
        return wire_fail(r->err, MQTT_RC_MALFORMED_PACKET, what);
    *out = r->data[r->pos++];
    return true;
}

bool wire_read_u16(wire_reader *r, uint16_t *out, const char *what)
{
    if (wire_left(r) < 2)
        return wire_fail(r->err, MQTT_RC_MALFORMED_PACKET, what);
    *out = (uint16_t)(r->data[r->pos] << 8 | r->data[r->pos + 1]);
    r->pos += 2;
    return true;
}

bool wire_read_u32(wire_reader *r, uint32_t *out, const char *what)
{
    if (wire_left(r) < 4)
        return wire_fail(r->err, MQTT_RC_MALFORMED_PACKET, what);
    const uint8_t *p = r->data + r->pos;
    *out = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    r->pos += 4;
    return true;
}

/* At most 4 bytes, and in the fewest bytes possible [MQTT-1.5.5-1]: a
 * continuation followed by a final 0x00 is a non-minimal, malformed encoding. */
bool wire_read_varint(wire_reader *r, uint32_t *out, const char *what)
{
    uint32_t value = 0;
    for (unsigned i = 0; i < 4; i++) {
        if (wire_left(r) < 1)
            return wire_fail(r->err, MQTT_RC_MALFORMED_PACKET, what);
        uint8_t b = r->data[r->pos++];
        if (i > 0 && b == 0)
            return wire_fail(r->err, MQTT_RC_MALFORMED_PACKET,
                             "variable byte integer not in its shortest form");
        value |= (uint32_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            *out = value;
            return true;
        }
    }
    return wire_fail(r->err, MQTT_RC_MALFORMED_PACKET, "variable byte integer longer than 4 bytes");
}

bool wire_read_binary(wire_reader *r, mqtt_bytes *out, const char *what)
{
    uint16_t n;
    if (!wire_read_u16(r, &n, what))
        return false;
    if (wire_left(r) < n)
        return wire_fail(r->err, MQTT_RC_MALFORMED_PACKET, what);
    out->data = r->data + r->pos;
    out->len = n;
    r->pos += n;
    return true;
}

bool wire_read_utf8(wire_reader *r, mqtt_bytes *out, const char *what)
{
    if (!wire_read_binary(r, out, what))
        return false;
    if (!mqtt_utf8_valid(out->data, out->len))
        return wire_fail(r->err, MQTT_RC_MALFORMED_PACKET, "string is not valid UTF-8 or contains U+0000");
    return true;
}

uint8_t *wire_write_u16(uint8_t *w, uint16_t v)
{
    w[0] = (uint8_t)(v >> 8);
    w[1] = (uint8_t)v;
    return w + 2;
}

uint8_t *wire_write_u32(uint8_t *w, uint32_t v)
{
    w[0] = (uint8_t)(v >> 24);
    w[1] = (uint8_t)(v >> 16);
    w[2] = (uint8_t)(v >> 8);
    w[3] = (uint8_t)v;
    return w + 4;
}

size_t mqtt_varint_size(uint32_t value)
{
    if (value < 128u)
        return 1;
    if (value < 16384u)
        return 2;
    if (value < 2097152u)
        return 3;
    if (value <= MQTT_VARINT_MAX)
        return 4;
    return 0;
}

size_t mqtt_varint_write(uint8_t *buf, uint32_t value)
{
    size_t n = 0;
    do {
        uint8_t b = value & 0x7F;
        value >>= 7;
        buf[n++] = value ? (uint8_t)(b | 0x80) : b;
    } while (value && n < 4);
    return n;
}

uint8_t *wire_write_varint(uint8_t *w, uint32_t v)
{
    return w + mqtt_varint_write(w, v);
}

uint8_t *wire_write_bytes(uint8_t *w, mqtt_bytes b)
{
    w = wire_write_u16(w, (uint16_t)b.len);
    if (b.len)
        memcpy(w, b.data, b.len);
    return w + b.len;
}
