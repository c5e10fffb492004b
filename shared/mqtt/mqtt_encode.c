/* Encoding of MQTT 3.1.1 / 5.0 packets. Every packet is sized exactly first
 * (one pass over its fields), then written in a second pass straight into the
 * caller's buffer, so no intermediate copy is made. */
#include <string.h>

#include "mqtt_wire.h"

#define TOO_BIG SIZE_MAX

static size_t str_size(mqtt_bytes b)
{
    return b.len > UINT16_MAX ? TOO_BIG : 2u + b.len;
}

/* Adds sizes, keeping TOO_BIG sticky. */
static size_t add(size_t a, size_t b)
{
    return (a == TOO_BIG || b == TOO_BIG) ? TOO_BIG : a + b;
}

static size_t props_size(const mqtt_properties *p, uint8_t version, unsigned kind)
{
    if (version != MQTT_V5)
        return 0;
    size_t n = mqtt_props_encoded_size(p, kind);
    return n ? n : TOO_BIG;
}

static uint8_t *props_write(uint8_t *w, const mqtt_properties *p, uint8_t version, unsigned kind)
{
    return version == MQTT_V5 ? mqtt_props_write(w, p, kind) : w;
}

static bool props_empty(const mqtt_properties *p)
{
    return p->present == 0 && p->user_property_count == 0 && p->subscription_id_count == 0;
}

static size_t connect_size(const mqtt_connect *c, uint8_t version)
{
    size_t n = 2 + 4 + 1 + 1 + 2; /* "MQTT", level, flags, keep alive */
    n = add(n, props_size(&c->props, version, MQTT_CONNECT));
    n = add(n, str_size(c->client_id));
    if (c->will_flag) {
        n = add(n, props_size(&c->will_props, version, MQTT_PROPS_WILL));
        n = add(n, add(str_size(c->will_topic), str_size(c->will_payload)));
    }
    if (c->has_username)
        n = add(n, str_size(c->username));
    if (c->has_password)
        n = add(n, str_size(c->password));
    return n;
}

static uint8_t *connect_write(uint8_t *w, const mqtt_connect *c, uint8_t version)
{
    w = wire_write_bytes(w, (mqtt_bytes){(const uint8_t *)"MQTT", 4});
    *w++ = version;
    *w++ =
        (uint8_t)((c->has_username ? 0x80 : 0) | (c->has_password ? 0x40 : 0) |
                  (c->will_flag && c->will_retain ? 0x20 : 0) | (c->will_flag ? (c->will_qos & 3) << 3 : 0) |
                  (c->will_flag ? 0x04 : 0) | (c->clean_start ? 0x02 : 0));
    w = wire_write_u16(w, c->keep_alive);
    w = props_write(w, &c->props, version, MQTT_CONNECT);
    w = wire_write_bytes(w, c->client_id);
    if (c->will_flag) {
        w = props_write(w, &c->will_props, version, MQTT_PROPS_WILL);
        w = wire_write_bytes(w, c->will_topic);
        w = wire_write_bytes(w, c->will_payload);
    }
    if (c->has_username)
        w = wire_write_bytes(w, c->username);
    if (c->has_password)
        w = wire_write_bytes(w, c->password);
    return w;
}

static size_t publish_size(const mqtt_publish *p, uint8_t version)
{
    size_t n = add(str_size(p->topic), p->qos ? 2 : 0);
    n = add(n, props_size(&p->props, version, MQTT_PUBLISH));
    return add(n, p->payload.len);
}

static uint8_t *publish_head_write(uint8_t *w, const mqtt_publish *p, uint8_t version)
{
    w = wire_write_bytes(w, p->topic);
    if (p->qos)
        w = wire_write_u16(w, p->packet_id);
    return props_write(w, &p->props, version, MQTT_PUBLISH);
}

static uint8_t *publish_write(uint8_t *w, const mqtt_publish *p, uint8_t version)
{
    w = publish_head_write(w, p, version);
    if (p->payload.len)
        memcpy(w, p->payload.data, p->payload.len);
    return w + p->payload.len;
}

/* v5 acks, DISCONNECT and AUTH drop trailing fields that hold their defaults. */
enum short_form { FORM_EMPTY, FORM_REASON, FORM_FULL };

static enum short_form reason_form(uint8_t reason, const mqtt_properties *p, uint8_t version)
{
    if (version != MQTT_V5)
        return FORM_EMPTY;
    if (!props_empty(p))
        return FORM_FULL;
    return reason ? FORM_REASON : FORM_EMPTY;
}

static size_t reason_tail_size(uint8_t reason, const mqtt_properties *p, uint8_t version, unsigned kind)
{
    switch (reason_form(reason, p, version)) {
    case FORM_EMPTY: return 0;
    case FORM_REASON: return 1;
    default: return add(1, props_size(p, version, kind));
    }
}

static uint8_t *reason_tail_write(uint8_t *w, uint8_t reason, const mqtt_properties *p, uint8_t version,
                                  unsigned kind)
{
    enum short_form form = reason_form(reason, p, version);
    if (form == FORM_EMPTY)
        return w;
    *w++ = reason;
    return form == FORM_FULL ? props_write(w, p, version, kind) : w;
}

static size_t subscribe_size(const mqtt_subscribe *s, uint8_t version)
{
    size_t n = add(2, props_size(&s->props, version, MQTT_SUBSCRIBE));
    size_t pos = 0, count = 0;
    mqtt_subscription e;
    while (mqtt_subscribe_next(s, &pos, &e)) {
        n = add(n, str_size(e.filter) + 1);
        count++;
    }
    return count ? n : TOO_BIG;
}

static uint8_t *subscribe_write(uint8_t *w, const mqtt_subscribe *s, uint8_t version)
{
    w = wire_write_u16(w, s->packet_id);
    w = props_write(w, &s->props, version, MQTT_SUBSCRIBE);
    size_t pos = 0;
    mqtt_subscription e;
    while (mqtt_subscribe_next(s, &pos, &e)) {
        w = wire_write_bytes(w, e.filter);
        uint8_t opts = e.qos & 3;
        if (version == MQTT_V5)
            opts |= (uint8_t)((e.no_local ? 0x04 : 0) | (e.retain_as_published ? 0x08 : 0) |
                              (e.retain_handling & 3) << 4);
        *w++ = opts;
    }
    return w;
}

static size_t unsubscribe_size(const mqtt_unsubscribe *u, uint8_t version)
{
    size_t n = add(2, props_size(&u->props, version, MQTT_UNSUBSCRIBE));
    size_t pos = 0, count = 0;
    mqtt_bytes f;
    while (mqtt_unsubscribe_next(u, &pos, &f)) {
        n = add(n, str_size(f));
        count++;
    }
    return count ? n : TOO_BIG;
}

static uint8_t *unsubscribe_write(uint8_t *w, const mqtt_unsubscribe *u, uint8_t version)
{
    w = wire_write_u16(w, u->packet_id);
    w = props_write(w, &u->props, version, MQTT_UNSUBSCRIBE);
    size_t pos = 0;
    mqtt_bytes f;
    while (mqtt_unsubscribe_next(u, &pos, &f))
        w = wire_write_bytes(w, f);
    return w;
}

/* SUBACK, and UNSUBACK, which has no reason codes in v3.1.1. */
static size_t suback_size(const mqtt_suback *s, uint8_t version, uint8_t type)
{
    size_t n = add(2, props_size(&s->props, version, type));
    if (type == MQTT_UNSUBACK && version != MQTT_V5)
        return n;
    return s->reason_codes.len ? add(n, s->reason_codes.len) : TOO_BIG;
}

static uint8_t *suback_write(uint8_t *w, const mqtt_suback *s, uint8_t version, uint8_t type)
{
    w = wire_write_u16(w, s->packet_id);
    w = props_write(w, &s->props, version, type);
    if (type == MQTT_UNSUBACK && version != MQTT_V5)
        return w;
    memcpy(w, s->reason_codes.data, s->reason_codes.len);
    return w + s->reason_codes.len;
}

/* Remaining length of `p`, or TOO_BIG when it cannot be encoded. */
static size_t body_size(const mqtt_packet *p, uint8_t version)
{
    switch (p->type) {
    case MQTT_CONNECT: return connect_size(&p->u.connect, version);
    case MQTT_CONNACK: return add(2, props_size(&p->u.connack.props, version, MQTT_CONNACK));
    case MQTT_PUBLISH: return p->u.publish.qos > 2 ? TOO_BIG : publish_size(&p->u.publish, version);
    case MQTT_PUBACK:
    case MQTT_PUBREC:
    case MQTT_PUBREL:
    case MQTT_PUBCOMP:
        return add(2, reason_tail_size(p->u.ack.reason_code, &p->u.ack.props, version, p->type));
    case MQTT_SUBSCRIBE: return subscribe_size(&p->u.subscribe, version);
    case MQTT_SUBACK:
    case MQTT_UNSUBACK: return suback_size(&p->u.suback, version, p->type);
    case MQTT_UNSUBSCRIBE: return unsubscribe_size(&p->u.unsubscribe, version);
    case MQTT_PINGREQ:
    case MQTT_PINGRESP: return 0;
    case MQTT_DISCONNECT:
        return reason_tail_size(p->u.disconnect.reason_code, &p->u.disconnect.props, version, p->type);
    case MQTT_AUTH:
        return version == MQTT_V5
                   ? reason_tail_size(p->u.auth.reason_code, &p->u.auth.props, version, p->type)
                   : TOO_BIG;
    default: return TOO_BIG;
    }
}

static uint8_t first_byte(const mqtt_packet *p)
{
    uint8_t flags = 0;
    if (p->type == MQTT_PUBLISH)
        flags = (uint8_t)((p->u.publish.dup ? 0x08 : 0) | (p->u.publish.qos & 3) << 1 |
                          (p->u.publish.retain ? 1 : 0));
    else if (p->type == MQTT_PUBREL || p->type == MQTT_SUBSCRIBE || p->type == MQTT_UNSUBSCRIBE)
        flags = 0x02;
    return (uint8_t)(p->type << 4 | flags);
}

/* Total encoded size, and the remaining length in *body; 0 if not encodable. */
static size_t layout(const mqtt_packet *p, uint8_t version, size_t *body)
{
    if (version != MQTT_V311 && version != MQTT_V5)
        return 0;
    *body = body_size(p, version);
    if (*body == TOO_BIG || *body > MQTT_VARINT_MAX)
        return 0;
    return 1 + mqtt_varint_size((uint32_t)*body) + *body;
}

size_t mqtt_encoded_length(const mqtt_packet *p, uint8_t version)
{
    size_t body;
    return layout(p, version, &body);
}

size_t mqtt_encode(const mqtt_packet *p, uint8_t version, uint8_t *buf, size_t cap)
{
    size_t body;
    size_t total = layout(p, version, &body);
    if (total == 0 || total > cap)
        return 0;
    uint8_t *w = buf;
    *w++ = first_byte(p);
    w = wire_write_varint(w, (uint32_t)body);
    switch (p->type) {
    case MQTT_CONNECT: w = connect_write(w, &p->u.connect, version); break;
    case MQTT_CONNACK:
        *w++ = p->u.connack.session_present ? 1 : 0;
        *w++ = p->u.connack.reason_code;
        w = props_write(w, &p->u.connack.props, version, MQTT_CONNACK);
        break;
    case MQTT_PUBLISH: w = publish_write(w, &p->u.publish, version); break;
    case MQTT_PUBACK:
    case MQTT_PUBREC:
    case MQTT_PUBREL:
    case MQTT_PUBCOMP:
        w = wire_write_u16(w, p->u.ack.packet_id);
        w = reason_tail_write(w, p->u.ack.reason_code, &p->u.ack.props, version, p->type);
        break;
    case MQTT_SUBSCRIBE: w = subscribe_write(w, &p->u.subscribe, version); break;
    case MQTT_SUBACK:
    case MQTT_UNSUBACK: w = suback_write(w, &p->u.suback, version, p->type); break;
    case MQTT_UNSUBSCRIBE: w = unsubscribe_write(w, &p->u.unsubscribe, version); break;
    case MQTT_DISCONNECT:
        w = reason_tail_write(w, p->u.disconnect.reason_code, &p->u.disconnect.props, version, p->type);
        break;
    case MQTT_AUTH:
        w = reason_tail_write(w, p->u.auth.reason_code, &p->u.auth.props, version, p->type);
        break;
    default: break;
    }
    return (size_t)(w - buf) == total ? total : 0;
}

size_t mqtt_encode_publish_head(const mqtt_packet *p, uint8_t version, uint8_t *buf, size_t cap)
{
    size_t body;
    size_t total = p->type == MQTT_PUBLISH ? layout(p, version, &body) : 0;
    if (total == 0 || total - p->u.publish.payload.len > cap)
        return 0;
    uint8_t *w = buf;
    *w++ = first_byte(p);
    w = wire_write_varint(w, (uint32_t)body);
    w = publish_head_write(w, &p->u.publish, version);
    return (size_t)(w - buf);
}
