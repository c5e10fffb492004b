/* Helpers shared by the codec unit suites (test_codec_*.c). Header-only, since
 * each suite is its own binary: everything is static inline so that a suite
 * that does not use a helper does not warn.
 *
 * The assertion helpers take the caller's file and line (wrapped by the
 * upper-case macros) so that a failure points at the test, not at this file. */
#ifndef EG_TEST_CODEC_UTIL_H
#define EG_TEST_CODEC_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mqtt_codec.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- views */

/* A view of a string literal, usable in static initializers. */
#define LIT(s)                                                                                               \
    {                                                                                                        \
        (const uint8_t *)(s), sizeof(s) - 1                                                                  \
    }
#define UPROP(k, v)                                                                                          \
    {                                                                                                        \
        LIT(k), LIT(v)                                                                                       \
    }

static inline mqtt_bytes tb(const char *s)
{
    return (mqtt_bytes){(const uint8_t *)s, (uint32_t)strlen(s)};
}

static inline mqtt_bytes tbin(const void *p, size_t n)
{
    return (mqtt_bytes){(const uint8_t *)p, (uint32_t)n};
}

static inline mqtt_user_property tup(const char *k, const char *v)
{
    return (mqtt_user_property){tb(k), tb(v)};
}

/* ---- a growable byte writer, to build raw packets */

typedef struct wbuf {
    uint8_t *d;
    size_t len, cap;
} wbuf;

static inline void w_reserve(wbuf *w, size_t more)
{
    if (w->len + more <= w->cap)
        return;
    size_t cap = w->cap ? w->cap : 64;
    while (cap < w->len + more)
        cap *= 2;
    w->d = realloc(w->d, cap);
    assert_non_null(w->d);
    w->cap = cap;
}

static inline void w_free(wbuf *w)
{
    free(w->d);
    *w = (wbuf){0};
}

static inline void w_raw(wbuf *w, const void *p, size_t n)
{
    w_reserve(w, n);
    if (n)
        memcpy(w->d + w->len, p, n);
    w->len += n;
}

static inline void w_u8(wbuf *w, uint8_t v)
{
    w_raw(w, &v, 1);
}

static inline void w_u16(wbuf *w, uint16_t v)
{
    w_u8(w, (uint8_t)(v >> 8));
    w_u8(w, (uint8_t)v);
}

static inline void w_u32(wbuf *w, uint32_t v)
{
    w_u16(w, (uint16_t)(v >> 16));
    w_u16(w, (uint16_t)v);
}

/* Minimal Variable Byte Integer, written here independently of the codec. */
static inline void w_varint(wbuf *w, uint32_t v)
{
    do {
        uint8_t b = v & 0x7F;
        v >>= 7;
        w_u8(w, (uint8_t)(v ? (b | 0x80) : b));
    } while (v);
}

/* Two-byte length prefix then the bytes (UTF-8 string or binary data). */
static inline void w_lstr(wbuf *w, const void *p, size_t n)
{
    w_u16(w, (uint16_t)n);
    w_raw(w, p, n);
}

static inline void w_str(wbuf *w, const char *s)
{
    w_lstr(w, s, strlen(s));
}

/* A whole packet: first byte, remaining length, then `body`. */
static inline wbuf w_packet(uint8_t first, const uint8_t *body, size_t n)
{
    wbuf w = {0};
    w_u8(&w, first);
    w_varint(&w, (uint32_t)n);
    w_raw(&w, body, n);
    return w;
}

/* ---- property metadata (MQTT 5.0 section 2.2.2.2, table 2-4) */

enum prop_kind { PK_BYTE, PK_U16, PK_U32, PK_VARINT, PK_STRING, PK_BINARY, PK_PAIR };

/* Where a property may appear: bit (1 << packet type), plus the Will Properties. */
#define HOST_WILL 16
#define HOST(t) (1u << (t))

typedef struct prop_info {
    uint8_t id;
    const char *name;
    enum prop_kind kind;
    size_t offset; /* field in mqtt_properties; unused for the repeatable ones */
    uint32_t hosts;
} prop_info;

#define PO(field) offsetof(mqtt_properties, field)
#define H_ACKS (HOST(MQTT_PUBACK) | HOST(MQTT_PUBREC) | HOST(MQTT_PUBREL) | HOST(MQTT_PUBCOMP))
#define H_MSG (HOST(MQTT_PUBLISH) | HOST(HOST_WILL))
#define H_ALL                                                                                                \
    (HOST(MQTT_CONNECT) | HOST(MQTT_CONNACK) | H_MSG | H_ACKS | HOST(MQTT_SUBSCRIBE) | HOST(MQTT_SUBACK) |   \
     HOST(MQTT_UNSUBSCRIBE) | HOST(MQTT_UNSUBACK) | HOST(MQTT_DISCONNECT) | HOST(MQTT_AUTH))
#define H_REASON_STRING                                                                                      \
    (HOST(MQTT_CONNACK) | H_ACKS | HOST(MQTT_SUBACK) | HOST(MQTT_UNSUBACK) | HOST(MQTT_DISCONNECT) |         \
     HOST(MQTT_AUTH))
#define H_CC (HOST(MQTT_CONNECT) | HOST(MQTT_CONNACK))
#define H_AUTHN (HOST(MQTT_CONNECT) | HOST(MQTT_CONNACK) | HOST(MQTT_AUTH))

static const prop_info PROP_INFO[] = {
    {0x01, "Payload Format Indicator", PK_BYTE, PO(payload_format_indicator), H_MSG},
    {0x02, "Message Expiry Interval", PK_U32, PO(message_expiry_interval), H_MSG},
    {0x03, "Content Type", PK_STRING, PO(content_type), H_MSG},
    {0x08, "Response Topic", PK_STRING, PO(response_topic), H_MSG},
    {0x09, "Correlation Data", PK_BINARY, PO(correlation_data), H_MSG},
    {0x0B, "Subscription Identifier", PK_VARINT, 0, HOST(MQTT_PUBLISH) | HOST(MQTT_SUBSCRIBE)},
    {0x11, "Session Expiry Interval", PK_U32, PO(session_expiry_interval), H_CC | HOST(MQTT_DISCONNECT)},
    {0x12, "Assigned Client Identifier", PK_STRING, PO(assigned_client_identifier), HOST(MQTT_CONNACK)},
    {0x13, "Server Keep Alive", PK_U16, PO(server_keep_alive), HOST(MQTT_CONNACK)},
    {0x15, "Authentication Method", PK_STRING, PO(authentication_method), H_AUTHN},
    {0x16, "Authentication Data", PK_BINARY, PO(authentication_data), H_AUTHN},
    {0x17, "Request Problem Information", PK_BYTE, PO(request_problem_information), HOST(MQTT_CONNECT)},
    {0x18, "Will Delay Interval", PK_U32, PO(will_delay_interval), HOST(HOST_WILL)},
    {0x19, "Request Response Information", PK_BYTE, PO(request_response_information), HOST(MQTT_CONNECT)},
    {0x1A, "Response Information", PK_STRING, PO(response_information), HOST(MQTT_CONNACK)},
    {0x1C, "Server Reference", PK_STRING, PO(server_reference), HOST(MQTT_CONNACK) | HOST(MQTT_DISCONNECT)},
    {0x1F, "Reason String", PK_STRING, PO(reason_string), H_REASON_STRING},
    {0x21, "Receive Maximum", PK_U16, PO(receive_maximum), H_CC},
    {0x22, "Topic Alias Maximum", PK_U16, PO(topic_alias_maximum), H_CC},
    {0x23, "Topic Alias", PK_U16, PO(topic_alias), HOST(MQTT_PUBLISH)},
    {0x24, "Maximum QoS", PK_BYTE, PO(maximum_qos), HOST(MQTT_CONNACK)},
    {0x25, "Retain Available", PK_BYTE, PO(retain_available), HOST(MQTT_CONNACK)},
    {0x26, "User Property", PK_PAIR, 0, H_ALL},
    {0x27, "Maximum Packet Size", PK_U32, PO(maximum_packet_size), H_CC},
    {0x28, "Wildcard Subscription Available", PK_BYTE, PO(wildcard_subscription_available),
     HOST(MQTT_CONNACK)},
    {0x29, "Subscription Identifier Available", PK_BYTE, PO(subscription_identifier_available),
     HOST(MQTT_CONNACK)},
    {0x2A, "Shared Subscription Available", PK_BYTE, PO(shared_subscription_available), HOST(MQTT_CONNACK)},
};

static inline bool prop_repeatable(const prop_info *pi)
{
    return pi->kind == PK_PAIR || pi->kind == PK_VARINT;
}

static inline uint32_t prop_get_int(const mqtt_properties *p, const prop_info *pi)
{
    const uint8_t *f = (const uint8_t *)p + pi->offset;
    switch (pi->kind) {
    case PK_BYTE: return *f;
    case PK_U16: return *(const uint16_t *)(const void *)f;
    case PK_U32: return *(const uint32_t *)(const void *)f;
    default: return 0;
    }
}

static inline void prop_set_int(mqtt_properties *p, const prop_info *pi, uint32_t v)
{
    uint8_t *f = (uint8_t *)p + pi->offset;
    switch (pi->kind) {
    case PK_BYTE: *f = (uint8_t)v; break;
    case PK_U16: *(uint16_t *)(void *)f = (uint16_t)v; break;
    case PK_U32: *(uint32_t *)(void *)f = v; break;
    default: break;
    }
    p->present |= MQTT_PROP_BIT(pi->id);
}

static inline mqtt_bytes *prop_bytes(mqtt_properties *p, const prop_info *pi)
{
    return (mqtt_bytes *)(void *)((uint8_t *)p + pi->offset);
}

static inline void prop_set_bytes(mqtt_properties *p, const prop_info *pi, mqtt_bytes v)
{
    *prop_bytes(p, pi) = v;
    p->present |= MQTT_PROP_BIT(pi->id);
}

static inline const prop_info *prop_find(uint8_t id)
{
    for (size_t i = 0; i < ARRAY_LEN(PROP_INFO); i++)
        if (PROP_INFO[i].id == id)
            return &PROP_INFO[i];
    fail_msg("no property 0x%02x", id);
    return NULL;
}

/* Sets a single-valued property by id. */
static inline void pset_int(mqtt_properties *p, uint8_t id, uint32_t v)
{
    prop_set_int(p, prop_find(id), v);
}

static inline void pset_str(mqtt_properties *p, uint8_t id, const char *s)
{
    prop_set_bytes(p, prop_find(id), tb(s));
}

static inline void pset_bin(mqtt_properties *p, uint8_t id, const void *d, size_t n)
{
    prop_set_bytes(p, prop_find(id), tbin(d, n));
}

/* ---- assertions */

#define ASSERT_BYTES_EQ(a, b) assert_bytes_eq_at((a), (b), __FILE__, __LINE__)
static inline void assert_bytes_eq_at(mqtt_bytes want, mqtt_bytes got, const char *file, int line)
{
    _assert_int_equal(want.len, got.len, file, line);
    if (want.len)
        _assert_memory_equal(want.data, got.data, want.len, file, line);
}

#define ASSERT_PROPS_EQ(a, b) assert_props_eq_at((a), (b), __FILE__, __LINE__)
/* `want` may be built (arrays) or decoded (block); `got` is decoded. */
static inline void assert_props_eq_at(const mqtt_properties *want, const mqtt_properties *got,
                                      const char *file, int line)
{
    _assert_int_equal(want->present, got->present, file, line);
    for (size_t i = 0; i < ARRAY_LEN(PROP_INFO); i++) {
        const prop_info *pi = &PROP_INFO[i];
        if (prop_repeatable(pi) || !(want->present & MQTT_PROP_BIT(pi->id)))
            continue;
        if (pi->kind == PK_STRING || pi->kind == PK_BINARY)
            assert_bytes_eq_at(*prop_bytes((mqtt_properties *)want, pi),
                               *prop_bytes((mqtt_properties *)got, pi), file, line);
        else
            _assert_int_equal(prop_get_int(want, pi), prop_get_int(got, pi), file, line);
    }
    _assert_true(got->user_properties == NULL, "decoded user_properties is NULL", file, line);
    _assert_true(got->subscription_ids == NULL, "decoded subscription_ids is NULL", file, line);
    _assert_int_equal(want->user_property_count, got->user_property_count, file, line);
    _assert_int_equal(want->subscription_id_count, got->subscription_id_count, file, line);

    size_t pw = 0, pg = 0, n = 0;
    mqtt_user_property uw, ug;
    while (mqtt_props_user_next(want, &pw, &uw)) {
        _assert_true(mqtt_props_user_next(got, &pg, &ug), "decoded has as many user properties", file, line);
        assert_bytes_eq_at(uw.key, ug.key, file, line);
        assert_bytes_eq_at(uw.value, ug.value, file, line);
        n++;
    }
    _assert_true(!mqtt_props_user_next(got, &pg, &ug), "decoded has no extra user property", file, line);
    _assert_int_equal(n, want->user_property_count, file, line);

    uint32_t sw, sg;
    pw = pg = n = 0;
    while (mqtt_props_subscription_id_next(want, &pw, &sw)) {
        _assert_true(mqtt_props_subscription_id_next(got, &pg, &sg), "decoded has as many sub ids", file,
                     line);
        _assert_int_equal(sw, sg, file, line);
        n++;
    }
    _assert_true(!mqtt_props_subscription_id_next(got, &pg, &sg), "decoded has no extra sub id", file, line);
    _assert_int_equal(n, want->subscription_id_count, file, line);
}

static inline uint8_t expected_flags(const mqtt_packet *p)
{
    switch (p->type) {
    case MQTT_PUBLISH:
        return (uint8_t)((p->u.publish.dup ? 8 : 0) | (p->u.publish.qos << 1) |
                         (p->u.publish.retain ? 1 : 0));
    case MQTT_PUBREL:
    case MQTT_SUBSCRIBE:
    case MQTT_UNSUBSCRIBE: return 2;
    default: return 0;
    }
}

/* Compares a packet as built for encoding (`want`) with what the decoder made of
 * its encoding in `version`: in v3.1.1, properties and v5-only fields are
 * expected to have been left out. */
#define ASSERT_PACKET_EQ(w, g, v) assert_packet_eq_at((w), (g), (v), __FILE__, __LINE__)
static inline void assert_packet_eq_at(const mqtt_packet *want, const mqtt_packet *got, uint8_t version,
                                       const char *file, int line)
{
    static const mqtt_properties none;
    bool v5 = version == MQTT_V5;
    const mqtt_properties *wp = NULL, *gp = NULL;

    _assert_int_equal(want->type, got->type, file, line);
    _assert_int_equal(expected_flags(want), got->flags, file, line);
    switch (want->type) {
    case MQTT_CONNECT: {
        const mqtt_connect *w = &want->u.connect, *g = &got->u.connect;
        _assert_int_equal(version, g->protocol_version, file, line);
        _assert_int_equal(w->clean_start, g->clean_start, file, line);
        _assert_int_equal(w->keep_alive, g->keep_alive, file, line);
        assert_bytes_eq_at(w->client_id, g->client_id, file, line);
        _assert_int_equal(w->will_flag, g->will_flag, file, line);
        _assert_int_equal(w->will_qos, g->will_qos, file, line);
        _assert_int_equal(w->will_retain, g->will_retain, file, line);
        if (w->will_flag) {
            assert_bytes_eq_at(w->will_topic, g->will_topic, file, line);
            assert_bytes_eq_at(w->will_payload, g->will_payload, file, line);
            assert_props_eq_at(v5 ? &w->will_props : &none, &g->will_props, file, line);
        }
        _assert_int_equal(w->has_username, g->has_username, file, line);
        _assert_int_equal(w->has_password, g->has_password, file, line);
        if (w->has_username)
            assert_bytes_eq_at(w->username, g->username, file, line);
        if (w->has_password)
            assert_bytes_eq_at(w->password, g->password, file, line);
        wp = &w->props, gp = &g->props;
        break;
    }
    case MQTT_CONNACK:
        _assert_int_equal(want->u.connack.session_present, got->u.connack.session_present, file, line);
        _assert_int_equal(want->u.connack.reason_code, got->u.connack.reason_code, file, line);
        wp = &want->u.connack.props, gp = &got->u.connack.props;
        break;
    case MQTT_PUBLISH: {
        const mqtt_publish *w = &want->u.publish, *g = &got->u.publish;
        _assert_int_equal(w->dup, g->dup, file, line);
        _assert_int_equal(w->qos, g->qos, file, line);
        _assert_int_equal(w->retain, g->retain, file, line);
        assert_bytes_eq_at(w->topic, g->topic, file, line);
        _assert_int_equal(w->qos ? w->packet_id : 0, g->packet_id, file, line);
        assert_bytes_eq_at(w->payload, g->payload, file, line);
        wp = &w->props, gp = &g->props;
        break;
    }
    case MQTT_PUBACK:
    case MQTT_PUBREC:
    case MQTT_PUBREL:
    case MQTT_PUBCOMP:
        _assert_int_equal(want->u.ack.packet_id, got->u.ack.packet_id, file, line);
        _assert_int_equal(v5 ? want->u.ack.reason_code : 0, got->u.ack.reason_code, file, line);
        wp = &want->u.ack.props, gp = &got->u.ack.props;
        break;
    case MQTT_SUBSCRIBE: {
        const mqtt_subscribe *w = &want->u.subscribe, *g = &got->u.subscribe;
        _assert_int_equal(w->packet_id, g->packet_id, file, line);
        _assert_int_equal(w->count, g->count, file, line);
        _assert_true(g->entries == NULL, "decoded entries is NULL", file, line);
        size_t pw = 0, pg = 0;
        mqtt_subscription sw, sg;
        while (mqtt_subscribe_next(w, &pw, &sw)) {
            _assert_true(mqtt_subscribe_next(g, &pg, &sg), "as many subscriptions", file, line);
            assert_bytes_eq_at(sw.filter, sg.filter, file, line);
            _assert_int_equal(sw.qos, sg.qos, file, line);
            _assert_int_equal(v5 && sw.no_local, sg.no_local, file, line);
            _assert_int_equal(v5 && sw.retain_as_published, sg.retain_as_published, file, line);
            _assert_int_equal(v5 ? sw.retain_handling : 0, sg.retain_handling, file, line);
        }
        _assert_true(!mqtt_subscribe_next(g, &pg, &sg), "no extra subscription", file, line);
        wp = &w->props, gp = &g->props;
        break;
    }
    case MQTT_SUBACK:
    case MQTT_UNSUBACK: {
        const mqtt_suback *w = &want->u.suback, *g = &got->u.suback;
        _assert_int_equal(w->packet_id, g->packet_id, file, line);
        if (v5 || want->type == MQTT_SUBACK)
            assert_bytes_eq_at(w->reason_codes, g->reason_codes, file, line);
        else
            _assert_int_equal(0, g->reason_codes.len, file, line);
        wp = &w->props, gp = &g->props;
        break;
    }
    case MQTT_UNSUBSCRIBE: {
        const mqtt_unsubscribe *w = &want->u.unsubscribe, *g = &got->u.unsubscribe;
        _assert_int_equal(w->packet_id, g->packet_id, file, line);
        _assert_int_equal(w->count, g->count, file, line);
        _assert_true(g->filters == NULL, "decoded filters is NULL", file, line);
        size_t pw = 0, pg = 0;
        mqtt_bytes fw, fg;
        while (mqtt_unsubscribe_next(w, &pw, &fw)) {
            _assert_true(mqtt_unsubscribe_next(g, &pg, &fg), "as many filters", file, line);
            assert_bytes_eq_at(fw, fg, file, line);
        }
        _assert_true(!mqtt_unsubscribe_next(g, &pg, &fg), "no extra filter", file, line);
        wp = &w->props, gp = &g->props;
        break;
    }
    case MQTT_DISCONNECT:
    case MQTT_AUTH:
        _assert_int_equal(v5 ? want->u.disconnect.reason_code : 0, got->u.disconnect.reason_code, file, line);
        wp = &want->u.disconnect.props, gp = &got->u.disconnect.props;
        break;
    default: break; /* PINGREQ, PINGRESP: nothing but the header */
    }
    if (wp)
        assert_props_eq_at(v5 ? wp : &none, gp, file, line);
}

/* The property set of a packet (the Will's for a CONNECT with a Will), NULL
 * for PINGREQ / PINGRESP. */
static inline mqtt_properties *packet_props(mqtt_packet *p)
{
    switch (p->type) {
    case MQTT_CONNECT: return p->u.connect.will_flag ? &p->u.connect.will_props : &p->u.connect.props;
    case MQTT_CONNACK: return &p->u.connack.props;
    case MQTT_PUBLISH: return &p->u.publish.props;
    case MQTT_PUBACK:
    case MQTT_PUBREC:
    case MQTT_PUBREL:
    case MQTT_PUBCOMP: return &p->u.ack.props;
    case MQTT_SUBSCRIBE: return &p->u.subscribe.props;
    case MQTT_UNSUBSCRIBE: return &p->u.unsubscribe.props;
    case MQTT_SUBACK:
    case MQTT_UNSUBACK: return &p->u.suback.props;
    case MQTT_DISCONNECT: return &p->u.disconnect.props;
    case MQTT_AUTH: return &p->u.auth.props;
    default: return NULL;
    }
}

/* ---- building packets */

typedef void (*builder_fn)(mqtt_packet *p);

/* Zeroes p, lets `fn` fill it, and sets the CONNECT protocol level to `version`. */
static inline void build_packet(mqtt_packet *p, builder_fn fn, uint8_t version)
{
    memset(p, 0, sizeof(*p));
    fn(p);
    if (p->type == MQTT_CONNECT)
        p->u.connect.protocol_version = version;
}

/* A byte array and its length, for tables: BYTES(0x40, 0x02, 0x00, 0x01). */
#define BYTES(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})
#define MQTT_NAME 0x00, 0x04, 'M', 'Q', 'T', 'T'

/* ---- encode / frame / decode */

/* Encodes `p` into buf and checks the contract around it: the length matches
 * mqtt_encoded_length, one byte less of room fails, and the result frames as
 * exactly one packet of the right type. Returns the length. */
#define ENCODE(p, v, buf, cap) encode_at((p), (v), (buf), (cap), __FILE__, __LINE__)
static inline size_t encode_at(const mqtt_packet *p, uint8_t version, uint8_t *buf, size_t cap,
                               const char *file, int line)
{
    size_t want = mqtt_encoded_length(p, version);
    _assert_true(want != 0, "mqtt_encoded_length() != 0", file, line);
    _assert_true(want <= cap, "test buffer large enough", file, line);
    _assert_int_equal(0, mqtt_encode(p, version, buf, want - 1), file, line);
    size_t n = mqtt_encode(p, version, buf, cap);
    _assert_int_equal(want, n, file, line);

    mqtt_frame fr;
    mqtt_error err = {0};
    _assert_int_equal(MQTT_FRAME_OK, mqtt_frame_parse(buf, n, 0, &fr, &err), file, line);
    _assert_int_equal(n, fr.total_len, file, line);
    _assert_int_equal(p->type, fr.type, file, line);
    _assert_int_equal(expected_flags(p), fr.flags, file, line);
    _assert_int_equal(fr.header_len + fr.remaining_length, fr.total_len, file, line);
    _assert_int_equal(1 + mqtt_varint_size(fr.remaining_length), fr.header_len, file, line);
    return n;
}

/* Decodes a packet that must be valid. */
#define DECODE_OK(b, n, v, r, out) decode_ok_at((b), (n), (v), (r), (out), __FILE__, __LINE__)
static inline void decode_ok_at(const uint8_t *buf, size_t n, uint8_t version, enum mqtt_role role,
                                mqtt_packet *out, const char *file, int line)
{
    mqtt_error err = {0};
    memset(out, 0, sizeof(*out));
    int rc = mqtt_decode(buf, n, version, role, out, &err);
    if (rc != 0)
        print_error("mqtt_decode: 0x%02x (%s)\n", (unsigned)rc, err.rule ? err.rule : "no rule");
    _assert_int_equal(0, rc, file, line);
    _assert_int_equal(buf[0] >> 4, out->type, file, line);
    _assert_int_equal(buf[0] & 0x0F, out->flags, file, line);
}

/* Decodes and returns the reason code (0 on success), `err` filled. */
static inline int decode_rc(const uint8_t *buf, size_t n, uint8_t version, enum mqtt_role role,
                            mqtt_packet *out, mqtt_error *err)
{
    memset(out, 0, sizeof(*out));
    *err = (mqtt_error){0};
    return mqtt_decode(buf, n, version, role, out, err);
}

/* The role that receives a packet of this type (SERVER when both may). */
static inline enum mqtt_role receiver_role(uint8_t type)
{
    switch (type) {
    case MQTT_CONNACK:
    case MQTT_SUBACK:
    case MQTT_UNSUBACK:
    case MQTT_PINGRESP: return MQTT_ROLE_CLIENT;
    default: return MQTT_ROLE_SERVER;
    }
}

/* Encodes, decodes back with `role` and compares every field. `buf` must hold
 * the packet and outlive `out` (zero-copy). Returns the encoded length. */
#define ROUNDTRIP(p, v, r, buf, cap, out) roundtrip_at((p), (v), (r), (buf), (cap), (out), __FILE__, __LINE__)
static inline size_t roundtrip_at(const mqtt_packet *p, uint8_t version, enum mqtt_role role, uint8_t *buf,
                                  size_t cap, mqtt_packet *out, const char *file, int line)
{
    size_t n = encode_at(p, version, buf, cap, file, line);
    decode_ok_at(buf, n, version, role, out, file, line);
    assert_packet_eq_at(p, out, version, file, line);
    return n;
}

#endif
