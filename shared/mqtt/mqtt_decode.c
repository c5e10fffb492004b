/* Framing and decoding of MQTT 3.1.1 / 5.0 packets with the validation the
 * specifications require. Each failure names the rule and the v5 reason code a
 * broker sends for it: 0x81 for bytes that cannot be parsed as the packet
 * (Malformed Packet), 0x82 for well-formed packets that break a rule
 * (Protocol Error), and the specific codes where the specification names one.
 * Topic Filter syntax inside SUBSCRIBE/UNSUBSCRIBE is not judged here: a broker
 * answers a bad filter per filter (SUBACK 0x8F), see mqtt_topic_filter_check(). */
#include <string.h>

#include "mqtt_topic.h"
#include "mqtt_wire.h"

enum mqtt_frame_status mqtt_frame_parse(const uint8_t *buf, size_t len, uint32_t max_packet_size,
                                        mqtt_frame *frame, mqtt_error *err)
{
    if (len < 2)
        return MQTT_FRAME_INCOMPLETE;
    uint32_t remaining = 0;
    size_t i = 1;
    for (;;) {
        if (i >= len)
            return MQTT_FRAME_INCOMPLETE;
        uint8_t b = buf[i];
        if (i > 1 && b == 0) {
            wire_fail(err, MQTT_RC_MALFORMED_PACKET, "remaining length not in its shortest form");
            return MQTT_FRAME_ERROR;
        }
        remaining |= (uint32_t)(b & 0x7F) << (7 * (i - 1));
        i++;
        if (!(b & 0x80))
            break;
        if (i == 5) {
            wire_fail(err, MQTT_RC_MALFORMED_PACKET, "remaining length longer than 4 bytes");
            return MQTT_FRAME_ERROR;
        }
    }
    uint64_t total = (uint64_t)i + remaining;
    if (max_packet_size && total > max_packet_size) {
        wire_fail(err, MQTT_RC_PACKET_TOO_LARGE, "packet larger than the maximum packet size");
        return MQTT_FRAME_ERROR;
    }
    frame->type = buf[0] >> 4;
    frame->flags = buf[0] & 0x0F;
    frame->header_len = (uint8_t)i;
    frame->remaining_length = remaining;
    frame->total_len = (uint32_t)total;
    return MQTT_FRAME_OK;
}

static bool in_set(uint8_t code, const uint8_t *set, size_t n)
{
    return memchr(set, code, n) != NULL;
}
#define IN_SET(code, ...)                                                                                    \
    in_set((code), (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))

static bool no_trailing_bytes(wire_reader *r, const char *rule)
{
    return wire_left(r) == 0 || wire_fail(r->err, MQTT_RC_MALFORMED_PACKET, rule);
}

static bool read_props(wire_reader *r, uint8_t version, unsigned kind, mqtt_properties *props)
{
    if (version != MQTT_V5) {
        memset(props, 0, sizeof *props);
        return true;
    }
    return mqtt_props_decode(r, kind, props);
}

static bool read_packet_id(wire_reader *r, uint16_t *id)
{
    if (!wire_read_u16(r, id, "packet identifier missing"))
        return false;
    return *id != 0 || wire_fail(r->err, MQTT_RC_PROTOCOL_ERROR, "packet identifier must not be 0");
}

static bool payload_format_ok(const mqtt_properties *props, mqtt_bytes payload)
{
    return !mqtt_prop_has(props, MQTT_PROP_PAYLOAD_FORMAT_INDICATOR) ||
           props->payload_format_indicator == 0 || mqtt_utf8_valid(payload.data, payload.len);
}

/* Protocol name and level: (MQTT, 4) and (MQTT, 5) are spoken; any other name
 * (MQTT 3.1's "MQIsdp" included) or level is refused as an unsupported version. */
static bool decode_protocol(wire_reader *r, mqtt_connect *c)
{
    mqtt_bytes name;
    uint8_t level;
    if (!wire_read_binary(r, &name, "protocol name missing") ||
        !wire_read_u8(r, &level, "protocol level missing"))
        return false;
    r->err->version = level;
    c->protocol_version = level;
    bool is_mqtt = name.len == 4 && memcmp(name.data, "MQTT", 4) == 0;
    bool is_mqisdp = name.len == 6 && memcmp(name.data, "MQIsdp", 6) == 0;
    if (!is_mqtt && !is_mqisdp)
        return wire_fail(r->err, MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION, "protocol name is not MQTT");
    if (!is_mqtt || (level != MQTT_V311 && level != MQTT_V5))
        return wire_fail(r->err, MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION, "unsupported protocol name or level");
    return true;
}

static bool decode_will(wire_reader *r, mqtt_connect *c)
{
    uint8_t v = c->protocol_version;
    if (!read_props(r, v, MQTT_PROPS_WILL, &c->will_props) ||
        !wire_read_utf8(r, &c->will_topic, "will topic missing") ||
        !wire_read_binary(r, &c->will_payload, "will payload missing"))
        return false;
    if (mqtt_topic_name_check(c->will_topic) != 0)
        return wire_fail(r->err, MQTT_RC_TOPIC_NAME_INVALID, "will topic must be a topic name");
    return true;
}

static bool decode_connect(wire_reader *r, uint8_t flags, mqtt_connect *c)
{
    (void)flags;
    uint8_t cflags;
    if (!decode_protocol(r, c) || !wire_read_u8(r, &cflags, "connect flags missing") ||
        !wire_read_u16(r, &c->keep_alive, "keep alive missing"))
        return false;
    if (cflags & 0x01)
        return wire_fail(r->err, MQTT_RC_MALFORMED_PACKET, "CONNECT reserved flag must be 0");
    c->clean_start = cflags & 0x02;
    c->will_flag = cflags & 0x04;
    c->will_qos = (cflags >> 3) & 0x03;
    c->will_retain = cflags & 0x20;
    c->has_password = cflags & 0x40;
    c->has_username = cflags & 0x80;
    if (c->will_qos == 3)
        return wire_fail(r->err, MQTT_RC_MALFORMED_PACKET, "will QoS must not be 3");
    if (!c->will_flag && (c->will_qos || c->will_retain))
        return wire_fail(r->err, MQTT_RC_MALFORMED_PACKET, "will QoS and retain must be 0 without a will");
    if (c->protocol_version == MQTT_V311 && c->has_password && !c->has_username)
        return wire_fail(r->err, MQTT_RC_MALFORMED_PACKET, "password flag without user name flag (v3.1.1)");
    if (!read_props(r, c->protocol_version, MQTT_CONNECT, &c->props) ||
        !wire_read_utf8(r, &c->client_id, "client identifier missing"))
        return false;
    if (c->will_flag && !decode_will(r, c))
        return false;
    if (c->has_username && !wire_read_utf8(r, &c->username, "user name missing"))
        return false;
    if (c->has_password && !wire_read_binary(r, &c->password, "password missing"))
        return false;
    if (!no_trailing_bytes(r, "bytes after the end of CONNECT"))
        return false;
    /* Checked last, so that 0x99 means "well-formed apart from the will payload". */
    if (c->will_flag && !payload_format_ok(&c->will_props, c->will_payload))
        return wire_fail(r->err, MQTT_RC_PAYLOAD_FORMAT_INVALID,
                         "will payload is not UTF-8 as its format says");
    if (c->protocol_version == MQTT_V311 && c->client_id.len == 0 && !c->clean_start)
        return wire_fail(r->err, MQTT_RC_CLIENT_IDENTIFIER_NOT_VALID,
                         "empty client identifier needs clean session (v3.1.1)");
    return true;
}

static bool decode_connack(wire_reader *r, uint8_t version, mqtt_connack *c)
{
    uint8_t ack_flags;
    if (!wire_read_u8(r, &ack_flags, "CONNACK flags missing") ||
        !wire_read_u8(r, &c->reason_code, "CONNACK reason code missing"))
        return false;
    if (ack_flags & 0xFE)
        return wire_fail(r->err, MQTT_RC_MALFORMED_PACKET, "CONNACK reserved flags must be 0");
    c->session_present = ack_flags & 1;
    bool valid = version == MQTT_V5
                     ? IN_SET(c->reason_code, 0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88,
                              0x89, 0x8A, 0x8C, 0x90, 0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F)
                     : c->reason_code <= MQTT_V311_CONNACK_NOT_AUTHORIZED;
    if (!valid)
        return wire_fail(r->err, MQTT_RC_PROTOCOL_ERROR, "reason code not valid in CONNACK");
    if (c->session_present && c->reason_code != 0)
        return wire_fail(r->err, MQTT_RC_PROTOCOL_ERROR, "session present with a refusal");
    return read_props(r, version, MQTT_CONNACK, &c->props) &&
           no_trailing_bytes(r, "bytes after the end of CONNACK");
}

/* Returns 0x99 (packet fully decoded) for a payload that breaks its format indicator. */
static bool decode_publish(wire_reader *r, uint8_t version, enum mqtt_role role, uint8_t flags,
                           mqtt_publish *p)
{
    p->dup = flags & 0x08;
    p->qos = (flags >> 1) & 0x03;
    p->retain = flags & 0x01;
    if (p->qos == 3)
        return wire_fail(r->err, MQTT_RC_MALFORMED_PACKET, "PUBLISH QoS must not be 3");
    if (p->qos == 0 && p->dup)
        return wire_fail(r->err, MQTT_RC_MALFORMED_PACKET, "DUP must be 0 for QoS 0");
    if (!wire_read_utf8(r, &p->topic, "topic name missing"))
        return false;
    if (p->topic.len && mqtt_topic_name_check(p->topic) != 0)
        return wire_fail(r->err, MQTT_RC_TOPIC_NAME_INVALID, "topic name contains a wildcard");
    if (p->qos > 0 && !read_packet_id(r, &p->packet_id))
        return false;
    if (!read_props(r, version, MQTT_PUBLISH, &p->props))
        return false;
    if (p->topic.len == 0) {
        if (version != MQTT_V5)
            return wire_fail(r->err, MQTT_RC_TOPIC_NAME_INVALID, "topic name must not be empty (v3.1.1)");
        if (!mqtt_prop_has(&p->props, MQTT_PROP_TOPIC_ALIAS))
            return wire_fail(r->err, MQTT_RC_PROTOCOL_ERROR, "empty topic name without a Topic Alias");
    }
    if (role == MQTT_ROLE_SERVER && p->props.subscription_id_count)
        return wire_fail(r->err, MQTT_RC_PROTOCOL_ERROR,
                         "Subscription Identifier in a PUBLISH from a client");
    p->payload.data = r->data + r->pos;
    p->payload.len = (uint32_t)wire_left(r);
    r->pos = r->len;
    if (!payload_format_ok(&p->props, p->payload))
        return wire_fail(r->err, MQTT_RC_PAYLOAD_FORMAT_INVALID, "payload is not UTF-8 as its format says");
    return true;
}

static bool ack_reason_valid(uint8_t type, uint8_t rc)
{
    if (type == MQTT_PUBACK || type == MQTT_PUBREC)
        return IN_SET(rc, 0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99);
    return rc == 0x00 || rc == 0x92; /* PUBREL, PUBCOMP */
}

/* v5 acks may stop after the packet id (reason 0) or after the reason code. */
static bool decode_ack(wire_reader *r, uint8_t version, uint8_t type, mqtt_ack *a)
{
    if (!read_packet_id(r, &a->packet_id))
        return false;
    if (version != MQTT_V5)
        return no_trailing_bytes(r, "acknowledgement longer than 2 bytes (v3.1.1)");
    if (wire_left(r) == 0)
        return true;
    if (!wire_read_u8(r, &a->reason_code, "reason code"))
        return false;
    if (!ack_reason_valid(type, a->reason_code))
        return wire_fail(r->err, MQTT_RC_PROTOCOL_ERROR, "reason code not valid for this acknowledgement");
    if (wire_left(r) == 0)
        return true;
    return mqtt_props_decode(r, type, &a->props) && no_trailing_bytes(r, "bytes after the acknowledgement");
}

static bool decode_subscribe(wire_reader *r, uint8_t version, mqtt_subscribe *s)
{
    if (!read_packet_id(r, &s->packet_id) || !read_props(r, version, MQTT_SUBSCRIBE, &s->props))
        return false;
    s->payload.data = r->data + r->pos;
    s->payload.len = (uint32_t)wire_left(r);
    if (wire_left(r) == 0)
        return wire_fail(r->err, MQTT_RC_PROTOCOL_ERROR, "SUBSCRIBE without a topic filter");
    while (wire_left(r) > 0) {
        mqtt_bytes filter;
        uint8_t opts;
        if (!wire_read_utf8(r, &filter, "topic filter") ||
            !wire_read_u8(r, &opts, "subscription options missing"))
            return false;
        uint8_t reserved = version == MQTT_V5 ? 0xC0 : 0xFC;
        if (opts & reserved)
            return wire_fail(r->err, MQTT_RC_MALFORMED_PACKET,
                             "subscription options reserved bits must be 0");
        if ((opts & 0x03) == 3) /* v5 calls it a Protocol Error (3.8.3.1), v3.1.1 malformed */
            return wire_fail(r->err, version == MQTT_V5 ? MQTT_RC_PROTOCOL_ERROR : MQTT_RC_MALFORMED_PACKET,
                             "subscription QoS must not be 3");
        if (((opts >> 4) & 0x03) == 3)
            return wire_fail(r->err, MQTT_RC_PROTOCOL_ERROR, "Retain Handling must not be 3");
        if ((opts & 0x04) && mqtt_topic_shared_split(filter, NULL, NULL) != 0)
            return wire_fail(r->err, MQTT_RC_PROTOCOL_ERROR, "No Local on a shared subscription");
        s->count++;
    }
    return true;
}

static bool decode_unsubscribe(wire_reader *r, uint8_t version, mqtt_unsubscribe *u)
{
    if (!read_packet_id(r, &u->packet_id) || !read_props(r, version, MQTT_UNSUBSCRIBE, &u->props))
        return false;
    u->payload.data = r->data + r->pos;
    u->payload.len = (uint32_t)wire_left(r);
    if (wire_left(r) == 0)
        return wire_fail(r->err, MQTT_RC_PROTOCOL_ERROR, "UNSUBSCRIBE without a topic filter");
    while (wire_left(r) > 0) {
        mqtt_bytes filter;
        if (!wire_read_utf8(r, &filter, "topic filter"))
            return false;
        u->count++;
    }
    return true;
}

static bool decode_suback(wire_reader *r, uint8_t version, uint8_t type, mqtt_suback *s)
{
    if (!read_packet_id(r, &s->packet_id) || !read_props(r, version, type, &s->props))
        return false;
    s->reason_codes.data = r->data + r->pos;
    s->reason_codes.len = (uint32_t)wire_left(r);
    r->pos = r->len;
    if (type == MQTT_UNSUBACK && version != MQTT_V5)
        return s->reason_codes.len == 0 ||
               wire_fail(r->err, MQTT_RC_MALFORMED_PACKET, "UNSUBACK longer than 2 bytes (v3.1.1)");
    if (s->reason_codes.len == 0)
        return wire_fail(r->err, MQTT_RC_PROTOCOL_ERROR, "acknowledgement without reason codes");
    for (uint32_t i = 0; i < s->reason_codes.len; i++) {
        uint8_t rc = s->reason_codes.data[i];
        bool valid;
        if (type == MQTT_SUBACK)
            valid = version == MQTT_V5
                        ? IN_SET(rc, 0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2)
                        : IN_SET(rc, 0x00, 0x01, 0x02, 0x80);
        else
            valid = IN_SET(rc, 0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91);
        if (!valid)
            return wire_fail(r->err, MQTT_RC_PROTOCOL_ERROR, "reason code not valid in this acknowledgement");
    }
    return true;
}

/* DISCONNECT and AUTH: empty means reason 0; v3.1.1 DISCONNECT is always empty. */
static bool decode_reason_packet(wire_reader *r, uint8_t version, enum mqtt_role role, uint8_t type,
                                 mqtt_reason_packet *d)
{
    if (version != MQTT_V5)
        return no_trailing_bytes(r, "DISCONNECT with a body (v3.1.1)");
    if (wire_left(r) == 0)
        return true;
    if (!wire_read_u8(r, &d->reason_code, "reason code"))
        return false;
    bool valid = type == MQTT_AUTH ? IN_SET(d->reason_code, 0x00, 0x18, 0x19)
                                   : IN_SET(d->reason_code, 0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89,
                                            0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98,
                                            0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2);
    if (!valid)
        return wire_fail(r->err, MQTT_RC_PROTOCOL_ERROR, "reason code not valid in this packet");
    if (wire_left(r) == 0)
        return true;
    if (!mqtt_props_decode(r, type, &d->props) || !no_trailing_bytes(r, "bytes after the properties"))
        return false;
    if (type == MQTT_DISCONNECT && role == MQTT_ROLE_CLIENT &&
        mqtt_prop_has(&d->props, MQTT_PROP_SESSION_EXPIRY_INTERVAL))
        return wire_fail(r->err, MQTT_RC_PROTOCOL_ERROR,
                         "Session Expiry Interval in a DISCONNECT from the server");
    return true;
}

/* The fixed-header flags every type but PUBLISH must carry [MQTT-2.1.3-1]. */
static uint8_t required_flags(uint8_t type)
{
    return (type == MQTT_PUBREL || type == MQTT_SUBSCRIBE || type == MQTT_UNSUBSCRIBE) ? 0x02 : 0x00;
}

static bool sent_by_server_only(uint8_t type)
{
    return type == MQTT_CONNACK || type == MQTT_SUBACK || type == MQTT_UNSUBACK || type == MQTT_PINGRESP;
}

static bool sent_by_client_only(uint8_t type)
{
    return type == MQTT_CONNECT || type == MQTT_SUBSCRIBE || type == MQTT_UNSUBSCRIBE || type == MQTT_PINGREQ;
}

static bool decode_body(wire_reader *r, uint8_t version, enum mqtt_role role, uint8_t type, uint8_t flags,
                        mqtt_packet *out)
{
    if (type == 0 || (type == MQTT_AUTH && version != MQTT_V5))
        return wire_fail(r->err, MQTT_RC_MALFORMED_PACKET, "reserved packet type");
    if (type != MQTT_PUBLISH && flags != required_flags(type))
        return wire_fail(r->err, MQTT_RC_MALFORMED_PACKET,
                         "fixed header flags are reserved for this packet type");
    if ((role == MQTT_ROLE_SERVER && sent_by_server_only(type)) ||
        (role == MQTT_ROLE_CLIENT && sent_by_client_only(type)))
        return wire_fail(r->err, MQTT_RC_PROTOCOL_ERROR, "packet type not sent in this direction");
    switch (type) {
    case MQTT_CONNECT: return decode_connect(r, flags, &out->u.connect);
    case MQTT_CONNACK: return decode_connack(r, version, &out->u.connack);
    case MQTT_PUBLISH: return decode_publish(r, version, role, flags, &out->u.publish);
    case MQTT_PUBACK:
    case MQTT_PUBREC:
    case MQTT_PUBREL:
    case MQTT_PUBCOMP: return decode_ack(r, version, type, &out->u.ack);
    case MQTT_SUBSCRIBE: return decode_subscribe(r, version, &out->u.subscribe);
    case MQTT_SUBACK:
    case MQTT_UNSUBACK: return decode_suback(r, version, type, &out->u.suback);
    case MQTT_UNSUBSCRIBE: return decode_unsubscribe(r, version, &out->u.unsubscribe);
    case MQTT_PINGREQ:
    case MQTT_PINGRESP: return no_trailing_bytes(r, "PINGREQ/PINGRESP with a body");
    case MQTT_DISCONNECT: return decode_reason_packet(r, version, role, type, &out->u.disconnect);
    case MQTT_AUTH: return decode_reason_packet(r, version, role, type, &out->u.auth);
    default: return wire_fail(r->err, MQTT_RC_MALFORMED_PACKET, "reserved packet type");
    }
}

int mqtt_decode(const uint8_t *pkt, size_t len, uint8_t version, enum mqtt_role role, mqtt_packet *out,
                mqtt_error *err)
{
    mqtt_error local;
    if (!err)
        err = &local;
    memset(err, 0, sizeof *err);
    memset(out, 0, sizeof *out);
    mqtt_frame frame;
    mqtt_error frame_err = {0};
    if (mqtt_frame_parse(pkt, len, 0, &frame, &frame_err) != MQTT_FRAME_OK || frame.total_len != len) {
        *err = frame_err;
        return wire_fail(err, MQTT_RC_MALFORMED_PACKET, "remaining length does not match the packet"),
               err->reason;
    }
    out->type = frame.type;
    out->flags = frame.flags;
    if (frame.type != MQTT_CONNECT && version != MQTT_V311 && version != MQTT_V5)
        return wire_fail(err, MQTT_RC_PROTOCOL_ERROR, "protocol version unknown before CONNECT"), err->reason;
    wire_reader r = {pkt + frame.header_len, frame.remaining_length, 0, err};
    decode_body(&r, version, role, frame.type, frame.flags, out);
    return err->reason;
}

/* The entries of a decoded SUBSCRIBE were validated by mqtt_decode, so these
 * walks only need to stop at the end. */
bool mqtt_subscribe_next(const mqtt_subscribe *sub, size_t *pos, mqtt_subscription *out)
{
    if (sub->entries) {
        if (*pos >= sub->count)
            return false;
        *out = sub->entries[(*pos)++];
        return true;
    }
    mqtt_error ignored = {0};
    wire_reader r = {sub->payload.data, sub->payload.len, *pos, &ignored};
    uint8_t opts;
    if (!sub->payload.data || !wire_read_binary(&r, &out->filter, "") || !wire_read_u8(&r, &opts, ""))
        return false;
    out->qos = opts & 0x03;
    out->no_local = opts & 0x04;
    out->retain_as_published = opts & 0x08;
    out->retain_handling = (opts >> 4) & 0x03;
    *pos = r.pos;
    return true;
}

bool mqtt_unsubscribe_next(const mqtt_unsubscribe *unsub, size_t *pos, mqtt_bytes *out)
{
    if (unsub->filters) {
        if (*pos >= unsub->count)
            return false;
        *out = unsub->filters[(*pos)++];
        return true;
    }
    mqtt_error ignored = {0};
    wire_reader r = {unsub->payload.data, unsub->payload.len, *pos, &ignored};
    if (!unsub->payload.data || !wire_read_binary(&r, out, ""))
        return false;
    *pos = r.pos;
    return true;
}
