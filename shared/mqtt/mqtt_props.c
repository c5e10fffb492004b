/* v5 properties (section 2.2.2): one table says, for every identifier, its data
 * type, where its value lives in mqtt_properties and which packets may carry it;
 * decoding, validation, encoding and the iterators are all driven by it. */
#include <stddef.h>
#include <string.h>

#include "mqtt_topic.h"
#include "mqtt_wire.h"

enum prop_type { PT_NONE = 0, PT_BYTE, PT_U16, PT_U32, PT_VARINT, PT_UTF8, PT_BINARY, PT_PAIR };

#define K(t) (1u << (t))
#define K_WILL (1u << MQTT_PROPS_WILL)
#define K_ALL_WITH_USER                                                                                      \
    (K(MQTT_CONNECT) | K(MQTT_CONNACK) | K(MQTT_PUBLISH) | K_WILL | K(MQTT_PUBACK) | K(MQTT_PUBREC) |        \
     K(MQTT_PUBREL) | K(MQTT_PUBCOMP) | K(MQTT_SUBSCRIBE) | K(MQTT_SUBACK) | K(MQTT_UNSUBSCRIBE) |           \
     K(MQTT_UNSUBACK) | K(MQTT_DISCONNECT) | K(MQTT_AUTH))
#define K_REASON_STRING                                                                                      \
    (K(MQTT_CONNACK) | K(MQTT_PUBACK) | K(MQTT_PUBREC) | K(MQTT_PUBREL) | K(MQTT_PUBCOMP) | K(MQTT_SUBACK) | \
     K(MQTT_UNSUBACK) | K(MQTT_DISCONNECT) | K(MQTT_AUTH))

typedef struct prop_info {
    uint8_t type;
    uint8_t boolean; /* value must be 0 or 1 */
    uint8_t nonzero; /* value 0 is an error */
    uint32_t kinds;  /* packets (and Will) allowed to carry it */
    size_t offset;   /* of the value in mqtt_properties (single-valued only) */
} prop_info;

#define F(field) offsetof(mqtt_properties, field)

static const prop_info prop_table[0x2B] = {
    [MQTT_PROP_PAYLOAD_FORMAT_INDICATOR] = {PT_BYTE, 1, 0, K(MQTT_PUBLISH) | K_WILL,
                                            F(payload_format_indicator)},
    [MQTT_PROP_MESSAGE_EXPIRY_INTERVAL] = {PT_U32, 0, 0, K(MQTT_PUBLISH) | K_WILL,
                                           F(message_expiry_interval)},
    [MQTT_PROP_CONTENT_TYPE] = {PT_UTF8, 0, 0, K(MQTT_PUBLISH) | K_WILL, F(content_type)},
    [MQTT_PROP_RESPONSE_TOPIC] = {PT_UTF8, 0, 0, K(MQTT_PUBLISH) | K_WILL, F(response_topic)},
    [MQTT_PROP_CORRELATION_DATA] = {PT_BINARY, 0, 0, K(MQTT_PUBLISH) | K_WILL, F(correlation_data)},
    [MQTT_PROP_SUBSCRIPTION_IDENTIFIER] = {PT_VARINT, 0, 1, K(MQTT_PUBLISH) | K(MQTT_SUBSCRIBE), 0},
    [MQTT_PROP_SESSION_EXPIRY_INTERVAL] = {PT_U32, 0, 0,
                                           K(MQTT_CONNECT) | K(MQTT_CONNACK) | K(MQTT_DISCONNECT),
                                           F(session_expiry_interval)},
    [MQTT_PROP_ASSIGNED_CLIENT_IDENTIFIER] = {PT_UTF8, 0, 0, K(MQTT_CONNACK), F(assigned_client_identifier)},
    [MQTT_PROP_SERVER_KEEP_ALIVE] = {PT_U16, 0, 0, K(MQTT_CONNACK), F(server_keep_alive)},
    [MQTT_PROP_AUTHENTICATION_METHOD] = {PT_UTF8, 0, 0, K(MQTT_CONNECT) | K(MQTT_CONNACK) | K(MQTT_AUTH),
                                         F(authentication_method)},
    [MQTT_PROP_AUTHENTICATION_DATA] = {PT_BINARY, 0, 0, K(MQTT_CONNECT) | K(MQTT_CONNACK) | K(MQTT_AUTH),
                                       F(authentication_data)},
    [MQTT_PROP_REQUEST_PROBLEM_INFORMATION] = {PT_BYTE, 1, 0, K(MQTT_CONNECT),
                                               F(request_problem_information)},
    [MQTT_PROP_WILL_DELAY_INTERVAL] = {PT_U32, 0, 0, K_WILL, F(will_delay_interval)},
    [MQTT_PROP_REQUEST_RESPONSE_INFORMATION] = {PT_BYTE, 1, 0, K(MQTT_CONNECT),
                                                F(request_response_information)},
    [MQTT_PROP_RESPONSE_INFORMATION] = {PT_UTF8, 0, 0, K(MQTT_CONNACK), F(response_information)},
    [MQTT_PROP_SERVER_REFERENCE] = {PT_UTF8, 0, 0, K(MQTT_CONNACK) | K(MQTT_DISCONNECT), F(server_reference)},
    [MQTT_PROP_REASON_STRING] = {PT_UTF8, 0, 0, K_REASON_STRING, F(reason_string)},
    [MQTT_PROP_RECEIVE_MAXIMUM] = {PT_U16, 0, 1, K(MQTT_CONNECT) | K(MQTT_CONNACK), F(receive_maximum)},
    [MQTT_PROP_TOPIC_ALIAS_MAXIMUM] = {PT_U16, 0, 0, K(MQTT_CONNECT) | K(MQTT_CONNACK),
                                       F(topic_alias_maximum)},
    [MQTT_PROP_TOPIC_ALIAS] = {PT_U16, 0, 0, K(MQTT_PUBLISH), F(topic_alias)},
    [MQTT_PROP_MAXIMUM_QOS] = {PT_BYTE, 1, 0, K(MQTT_CONNACK), F(maximum_qos)},
    [MQTT_PROP_RETAIN_AVAILABLE] = {PT_BYTE, 1, 0, K(MQTT_CONNACK), F(retain_available)},
    [MQTT_PROP_USER_PROPERTY] = {PT_PAIR, 0, 0, K_ALL_WITH_USER, 0},
    [MQTT_PROP_MAXIMUM_PACKET_SIZE] = {PT_U32, 0, 1, K(MQTT_CONNECT) | K(MQTT_CONNACK),
                                       F(maximum_packet_size)},
    [MQTT_PROP_WILDCARD_SUBSCRIPTION_AVAILABLE] = {PT_BYTE, 1, 0, K(MQTT_CONNACK),
                                                   F(wildcard_subscription_available)},
    [MQTT_PROP_SUBSCRIPTION_IDENTIFIER_AVAILABLE] = {PT_BYTE, 1, 0, K(MQTT_CONNACK),
                                                     F(subscription_identifier_available)},
    [MQTT_PROP_SHARED_SUBSCRIPTION_AVAILABLE] = {PT_BYTE, 1, 0, K(MQTT_CONNACK),
                                                 F(shared_subscription_available)},
};

static const prop_info *prop_lookup(uint32_t id)
{
    if (id >= sizeof prop_table / sizeof prop_table[0] || prop_table[id].type == PT_NONE)
        return NULL;
    return &prop_table[id];
}

static void *field_at(mqtt_properties *p, const prop_info *info)
{
    return (char *)p + info->offset;
}

static const void *field_at_const(const mqtt_properties *p, const prop_info *info)
{
    return (const char *)p + info->offset;
}

/* Reads one value of `type`; numeric values come back in *num, strings in a and b. */
static bool read_value(wire_reader *r, uint8_t type, uint32_t *num, mqtt_bytes *a, mqtt_bytes *b)
{
    static const char trunc[] = "property value runs past the property length";
    uint8_t u8;
    uint16_t u16;
    switch (type) {
    case PT_BYTE:
        if (!wire_read_u8(r, &u8, trunc))
            return false;
        *num = u8;
        return true;
    case PT_U16:
        if (!wire_read_u16(r, &u16, trunc))
            return false;
        *num = u16;
        return true;
    case PT_U32: return wire_read_u32(r, num, trunc);
    case PT_VARINT: return wire_read_varint(r, num, trunc);
    case PT_UTF8: return wire_read_utf8(r, a, trunc);
    case PT_BINARY: return wire_read_binary(r, a, trunc);
    case PT_PAIR: return wire_read_utf8(r, a, trunc) && wire_read_utf8(r, b, trunc);
    default: return false;
    }
}

static void store_value(mqtt_properties *out, const prop_info *info, uint32_t num, mqtt_bytes a)
{
    void *field = field_at(out, info);
    switch (info->type) {
    case PT_BYTE: *(uint8_t *)field = (uint8_t)num; break;
    case PT_U16: *(uint16_t *)field = (uint16_t)num; break;
    case PT_U32: *(uint32_t *)field = num; break;
    default: *(mqtt_bytes *)field = a; break;
    }
}

bool mqtt_props_decode(wire_reader *r, unsigned kind, mqtt_properties *out)
{
    memset(out, 0, sizeof *out);
    uint32_t block_len;
    if (!wire_read_varint(r, &block_len, "property length"))
        return false;
    if (block_len > wire_left(r))
        return wire_fail(r->err, MQTT_RC_MALFORMED_PACKET, "property length runs past the packet");
    wire_reader pr = {r->data + r->pos, block_len, 0, r->err};
    out->block.data = pr.data;
    out->block.len = block_len;
    r->pos += block_len;

    while (wire_left(&pr) > 0) {
        uint32_t id;
        if (!wire_read_varint(&pr, &id, "property identifier"))
            return false;
        const prop_info *info = prop_lookup(id);
        if (!info)
            return wire_fail(r->err, MQTT_RC_MALFORMED_PACKET, "unknown property identifier");
        /* An identifier not valid for the packet type makes it malformed (2.2.2.2). */
        if (!(info->kinds & (1u << kind)))
            return wire_fail(r->err, MQTT_RC_MALFORMED_PACKET, "property not allowed in this packet");
        uint32_t num = 0;
        mqtt_bytes a = {0}, b = {0};
        if (!read_value(&pr, info->type, &num, &a, &b))
            return false;
        if (info->boolean && num > 1)
            return wire_fail(r->err, MQTT_RC_PROTOCOL_ERROR, "property value must be 0 or 1");
        if (info->nonzero && num == 0)
            return wire_fail(r->err, MQTT_RC_PROTOCOL_ERROR, "property value must not be 0");
        if (id == MQTT_PROP_USER_PROPERTY) {
            out->user_property_count++;
            continue;
        }
        if (id == MQTT_PROP_SUBSCRIPTION_IDENTIFIER) {
            if (kind == MQTT_SUBSCRIBE && out->subscription_id_count > 0)
                return wire_fail(r->err, MQTT_RC_PROTOCOL_ERROR,
                                 "Subscription Identifier more than once in SUBSCRIBE");
            out->subscription_id_count++;
            continue;
        }
        if (out->present & MQTT_PROP_BIT(id))
            return wire_fail(r->err, MQTT_RC_PROTOCOL_ERROR, "property included more than once");
        if (id == MQTT_PROP_TOPIC_ALIAS && num == 0)
            return wire_fail(r->err, MQTT_RC_TOPIC_ALIAS_INVALID, "Topic Alias 0 is not permitted");
        if (id == MQTT_PROP_RESPONSE_TOPIC && mqtt_topic_name_check(a) != 0)
            return wire_fail(r->err, MQTT_RC_PROTOCOL_ERROR, "Response Topic must be a topic name");
        out->present |= MQTT_PROP_BIT(id);
        store_value(out, info, num, a);
    }
    if (mqtt_prop_has(out, MQTT_PROP_AUTHENTICATION_DATA) &&
        !mqtt_prop_has(out, MQTT_PROP_AUTHENTICATION_METHOD))
        return wire_fail(r->err, MQTT_RC_PROTOCOL_ERROR, "Authentication Data without Authentication Method");
    return true;
}

/* Walks the raw block of a decoded packet to the next property `want`. */
static bool block_next(const mqtt_properties *props, size_t *pos, uint32_t want, uint32_t *num, mqtt_bytes *a,
                       mqtt_bytes *b)
{
    mqtt_error ignored = {0};
    wire_reader r = {props->block.data, props->block.len, *pos, &ignored};
    while (wire_left(&r) > 0) {
        uint32_t id;
        if (!wire_read_varint(&r, &id, "property identifier"))
            return false;
        const prop_info *info = prop_lookup(id);
        if (!info || !read_value(&r, info->type, num, a, b))
            return false;
        if (id == want) {
            *pos = r.pos;
            return true;
        }
    }
    *pos = r.pos;
    return false;
}

bool mqtt_props_user_next(const mqtt_properties *props, size_t *pos, mqtt_user_property *out)
{
    if (props->user_properties) {
        if (*pos >= props->user_property_count)
            return false;
        *out = props->user_properties[(*pos)++];
        return true;
    }
    if (!props->block.data || props->user_property_count == 0)
        return false;
    uint32_t num;
    return block_next(props, pos, MQTT_PROP_USER_PROPERTY, &num, &out->key, &out->value);
}

bool mqtt_props_subscription_id_next(const mqtt_properties *props, size_t *pos, uint32_t *out)
{
    if (props->subscription_ids) {
        if (*pos >= props->subscription_id_count)
            return false;
        *out = props->subscription_ids[(*pos)++];
        return true;
    }
    if (!props->block.data || props->subscription_id_count == 0)
        return false;
    mqtt_bytes a, b;
    return block_next(props, pos, MQTT_PROP_SUBSCRIPTION_IDENTIFIER, out, &a, &b);
}

/* SIZE_MAX for a string or binary value too long for its 2-byte length. */
static size_t value_size(uint8_t type, uint32_t num, mqtt_bytes a, mqtt_bytes b)
{
    if (a.len > UINT16_MAX || b.len > UINT16_MAX)
        return SIZE_MAX;
    switch (type) {
    case PT_BYTE: return 1;
    case PT_U16: return 2;
    case PT_U32: return 4;
    case PT_VARINT: return mqtt_varint_size(num);
    case PT_UTF8:
    case PT_BINARY: return 2 + (size_t)a.len;
    case PT_PAIR: return 4 + (size_t)a.len + b.len;
    default: return 0;
    }
}

static uint8_t *write_value(uint8_t *w, uint8_t id, uint8_t type, uint32_t num, mqtt_bytes a, mqtt_bytes b)
{
    *w++ = id;
    switch (type) {
    case PT_BYTE: *w++ = (uint8_t)num; return w;
    case PT_U16: return wire_write_u16(w, (uint16_t)num);
    case PT_U32: return wire_write_u32(w, num);
    case PT_VARINT: return wire_write_varint(w, num);
    case PT_UTF8:
    case PT_BINARY: return wire_write_bytes(w, a);
    case PT_PAIR: return wire_write_bytes(wire_write_bytes(w, a), b);
    default: return w;
    }
}

static uint32_t single_value(const mqtt_properties *p, const prop_info *info, mqtt_bytes *a)
{
    const void *field = field_at_const(p, info);
    switch (info->type) {
    case PT_BYTE: return *(const uint8_t *)field;
    case PT_U16: return *(const uint16_t *)field;
    case PT_U32: return *(const uint32_t *)field;
    default: *a = *(const mqtt_bytes *)field; return 0;
    }
}

/* Visits every property in identifier order: sizes it (w == NULL) or writes it.
 * Returns the body size, or SIZE_MAX when a property is not allowed in `kind`. */
static size_t props_walk(const mqtt_properties *p, unsigned kind, uint8_t *w)
{
    size_t total = 0;
    for (uint8_t id = 1; id < sizeof prop_table / sizeof prop_table[0]; id++) {
        const prop_info *info = prop_lookup(id);
        if (!info)
            continue;
        bool repeated = id == MQTT_PROP_USER_PROPERTY || id == MQTT_PROP_SUBSCRIPTION_IDENTIFIER;
        bool present =
            repeated ? (id == MQTT_PROP_USER_PROPERTY ? p->user_property_count : p->subscription_id_count)
                     : (p->present & MQTT_PROP_BIT(id)) != 0;
        if (!present)
            continue;
        if (!(info->kinds & (1u << kind)))
            return SIZE_MAX;
        mqtt_bytes a = {0}, b = {0};
        uint32_t num = 0;
        size_t pos = 0;
        if (id == MQTT_PROP_USER_PROPERTY) {
            mqtt_user_property up;
            while (mqtt_props_user_next(p, &pos, &up)) {
                size_t n = value_size(PT_PAIR, 0, up.key, up.value);
                if (n == SIZE_MAX)
                    return SIZE_MAX;
                total += 1 + n;
                if (w)
                    w = write_value(w, id, PT_PAIR, 0, up.key, up.value);
            }
            continue;
        }
        if (id == MQTT_PROP_SUBSCRIPTION_IDENTIFIER) {
            while (mqtt_props_subscription_id_next(p, &pos, &num)) {
                if (num == 0 || num > MQTT_VARINT_MAX)
                    return SIZE_MAX;
                total += 1 + value_size(PT_VARINT, num, a, b);
                if (w)
                    w = write_value(w, id, PT_VARINT, num, a, b);
            }
            continue;
        }
        num = single_value(p, info, &a);
        size_t n = value_size(info->type, num, a, b);
        if (n == SIZE_MAX)
            return SIZE_MAX;
        total += 1 + n;
        if (w)
            w = write_value(w, id, info->type, num, a, b);
    }
    return total;
}

size_t mqtt_props_encoded_size(const mqtt_properties *p, unsigned kind)
{
    size_t body = props_walk(p, kind, NULL);
    if (body == SIZE_MAX || body > MQTT_VARINT_MAX)
        return 0;
    return mqtt_varint_size((uint32_t)body) + body;
}

uint8_t *mqtt_props_write(uint8_t *w, const mqtt_properties *p, unsigned kind)
{
    size_t body = props_walk(p, kind, NULL);
    w = wire_write_varint(w, (uint32_t)body);
    props_walk(p, kind, w);
    return w + body;
}
