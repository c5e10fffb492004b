/* Valid packets written byte by byte from the specification, every type in
 * v3.1.1 and v5, for the malformed-input and robustness suites. The remaining
 * length is computed (vec_packet), property and string lengths by the PROPS and
 * LSTR macros, so that each row only spells out the fields. */
#ifndef EG_TEST_CODEC_VECTORS_H
#define EG_TEST_CODEC_VECTORS_H

#include "codec_test_util.h"

/* A length-prefixed string or binary value from its bytes: LSTR('a', '/', 'b'). */
#define LSTR(...) 0x00, (uint8_t)sizeof((const uint8_t[]){__VA_ARGS__}), __VA_ARGS__
/* A v5 property block (under 128 bytes) from its properties. */
#define PROPS(...) (uint8_t)sizeof((const uint8_t[]){__VA_ARGS__}), __VA_ARGS__
/* CONNECT variable header up to the keep alive (60 s). */
#define CONN4(flags) MQTT_NAME, 0x04, (flags), 0x00, 0x3C
#define CONN5(flags) MQTT_NAME, 0x05, (flags), 0x00, 0x3C

#define SRV MQTT_ROLE_SERVER
#define CLI MQTT_ROLE_CLIENT

typedef struct vec {
    const char *name;
    uint8_t version;
    enum mqtt_role role; /* who receives it */
    uint8_t first;       /* type and flags; the remaining length is computed */
    const uint8_t *body;
    size_t body_len;
} vec;

/* clang-format off */
#define VEC(name, ver, role, first, ...) {name, ver, role, first, BYTES(__VA_ARGS__)}
#define VEC0(name, ver, role, first) {name, ver, role, first, NULL, 0}
/* clang-format on */

static const vec VALID[] = {
    VEC("v3.1.1 CONNECT minimal", MQTT_V311, SRV, 0x10, CONN4(0x02), LSTR('c')),
    VEC("v3.1.1 CONNECT will QoS 1 retained, user name, password", MQTT_V311, SRV, 0x10, CONN4(0xEE),
        LSTR('c'), LSTR('w', '/', 't'), LSTR('b', 'y', 'e'), LSTR('u'), LSTR(0x00, 0xFF)),
    VEC("v3.1.1 CONNACK session present", MQTT_V311, CLI, 0x20, 0x01, 0x00),
    VEC("v3.1.1 CONNACK refused", MQTT_V311, CLI, 0x20, 0x00, 0x05),
    VEC("v3.1.1 PUBLISH QoS 1", MQTT_V311, SRV, 0x32, LSTR('a', '/', 'b'), 0x00, 0x0A, 'h', 'i'),
    VEC("v3.1.1 PUBLISH QoS 0 retained, empty payload", MQTT_V311, CLI, 0x31, LSTR('t')),
    VEC("v3.1.1 PUBLISH QoS 2 dup", MQTT_V311, CLI, 0x3C, LSTR('t'), 0xFF, 0xFF, 0x00, 0xFF),
    VEC("v3.1.1 PUBACK", MQTT_V311, SRV, 0x40, 0x00, 0x01),
    VEC("v3.1.1 PUBREC", MQTT_V311, CLI, 0x50, 0x00, 0x02),
    VEC("v3.1.1 PUBREL", MQTT_V311, SRV, 0x62, 0x00, 0x02),
    VEC("v3.1.1 PUBCOMP", MQTT_V311, CLI, 0x70, 0x00, 0x02),
    VEC("v3.1.1 SUBSCRIBE two filters", MQTT_V311, SRV, 0x82, 0x00, 0x05, LSTR('a', '/', '+'), 0x01,
        LSTR('#'), 0x02),
    VEC("v3.1.1 SUBACK", MQTT_V311, CLI, 0x90, 0x00, 0x05, 0x01, 0x80),
    VEC("v3.1.1 UNSUBSCRIBE", MQTT_V311, SRV, 0xA2, 0x00, 0x06, LSTR('a', '/', '+'), LSTR('b')),
    VEC("v3.1.1 UNSUBACK", MQTT_V311, CLI, 0xB0, 0x00, 0x06),
    VEC0("v3.1.1 PINGREQ", MQTT_V311, SRV, 0xC0),
    VEC0("v3.1.1 PINGRESP", MQTT_V311, CLI, 0xD0),
    VEC0("v3.1.1 DISCONNECT", MQTT_V311, SRV, 0xE0),

    VEC("v5 CONNECT minimal", MQTT_V5, SRV, 0x10, CONN5(0x02), 0x00, LSTR('c')),
    VEC("v5 CONNECT properties, will with properties, password alone", MQTT_V5, SRV, 0x10, CONN5(0x6E),
        PROPS(0x11, 0x00, 0x00, 0x00, 0x0A, 0x21, 0x00, 0x05, 0x27, 0x00, 0x00, 0x10, 0x00, 0x22, 0x00, 0x0A,
              0x19, 0x01, 0x17, 0x00, 0x26, LSTR('k'), LSTR('v'), 0x15, LSTR('m'), 0x16, LSTR(0x01, 0x02)),
        LSTR('c'),
        PROPS(0x18, 0x00, 0x00, 0x00, 0x05, 0x01, 0x01, 0x02, 0x00, 0x00, 0x00, 0x3C, 0x03,
              LSTR('t', 'x', 't'), 0x08, LSTR('r'), 0x09, LSTR(0x00), 0x26, LSTR('a'), LSTR('b')),
        LSTR('w'), LSTR('h', 'i'), LSTR('p', 'w')),
    VEC("v5 CONNECT empty client id without clean start", MQTT_V5, SRV, 0x10, MQTT_NAME, 0x05, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00),
    VEC("v5 CONNACK with properties", MQTT_V5, CLI, 0x20, 0x01, 0x00,
        PROPS(0x11, 0x00, 0x00, 0x00, 0x3C, 0x21, 0x00, 0x0A, 0x24, 0x01, 0x25, 0x00, 0x27, 0x00, 0x00, 0x40,
              0x00, 0x12, LSTR('i', 'd'), 0x22, 0x00, 0x05, 0x1F, LSTR('o', 'k'), 0x26, LSTR('k'), LSTR('v'),
              0x28, 0x01, 0x29, 0x00, 0x2A, 0x01, 0x13, 0x00, 0x1E, 0x1A, LSTR('r'), 0x1C, LSTR('s'), 0x15,
              LSTR('m'), 0x16, LSTR(0x07))),
    VEC("v5 CONNACK refused", MQTT_V5, CLI, 0x20, 0x00, 0x87, 0x00),
    VEC("v5 PUBLISH QoS 2 with properties", MQTT_V5, SRV, 0x34, LSTR('a', '/', 'b'), 0x12, 0x34,
        PROPS(0x01, 0x01, 0x02, 0x00, 0x00, 0x00, 0x3C, 0x23, 0x00, 0x05, 0x03, LSTR('t'), 0x08,
              LSTR('r', '/', '1'), 0x09, LSTR(0xDE, 0xAD), 0x26, LSTR('k'), LSTR('v')),
        'h', 'i'),
    VEC("v5 PUBLISH empty topic with a Topic Alias", MQTT_V5, SRV, 0x30, 0x00, 0x00, PROPS(0x23, 0x00, 0x05),
        'x'),
    VEC("v5 PUBLISH to a client with subscription ids", MQTT_V5, CLI, 0x3B, LSTR('t'), 0x00, 0x01,
        PROPS(0x0B, 0x01, 0x0B, 0xFF, 0xFF, 0xFF, 0x7F), 'p'),
    VEC("v5 PUBACK with reason and properties", MQTT_V5, SRV, 0x40, 0x00, 0x01, 0x10,
        PROPS(0x1F, LSTR('n', 'o'), 0x26, LSTR('k'), LSTR('v'))),
    VEC("v5 PUBREC reason only", MQTT_V5, CLI, 0x50, 0x00, 0x01, 0x80),
    VEC("v5 PUBREL reason, empty properties", MQTT_V5, SRV, 0x62, 0x00, 0x01, 0x92, 0x00),
    VEC("v5 PUBCOMP shortest", MQTT_V5, CLI, 0x70, 0x00, 0x01),
    VEC("v5 SUBSCRIBE subscription id, options, shared", MQTT_V5, SRV, 0x82, 0x00, 0x07,
        PROPS(0x0B, 0x80, 0x01, 0x26, LSTR('k'), LSTR('v')), LSTR('a', '/', '#'), 0x2D,
        LSTR('$', 's', 'h', 'a', 'r', 'e', '/', 'g', '/', 'x'), 0x1A),
    VEC("v5 SUBACK", MQTT_V5, CLI, 0x90, 0x00, 0x07, PROPS(0x1F, LSTR('r')), 0x01, 0x02, 0x8F, 0xA2),
    VEC("v5 UNSUBSCRIBE", MQTT_V5, SRV, 0xA2, 0x00, 0x08, PROPS(0x26, LSTR('k'), LSTR('v')), LSTR('a'),
        LSTR('b', '/', '#')),
    VEC("v5 UNSUBACK", MQTT_V5, CLI, 0xB0, 0x00, 0x08, 0x00, 0x00, 0x11),
    VEC0("v5 PINGREQ", MQTT_V5, SRV, 0xC0),
    VEC0("v5 PINGRESP", MQTT_V5, CLI, 0xD0),
    VEC("v5 DISCONNECT from a client", MQTT_V5, SRV, 0xE0, 0x04,
        PROPS(0x11, 0x00, 0x00, 0x00, 0x00, 0x1F, LSTR('b', 'y', 'e'), 0x26, LSTR('k'), LSTR('v'))),
    VEC("v5 DISCONNECT from a server", MQTT_V5, CLI, 0xE0, 0x9C, PROPS(0x1C, LSTR('h'))),
    VEC0("v5 DISCONNECT shortest", MQTT_V5, SRV, 0xE0),
    VEC("v5 AUTH continue", MQTT_V5, SRV, 0xF0, 0x18,
        PROPS(0x15, LSTR('m'), 0x16, LSTR(0x01), 0x1F, LSTR('r'))),
    VEC0("v5 AUTH success shortest", MQTT_V5, CLI, 0xF0),
};

/* A malloc'd copy of exactly n bytes, so that ASan sees any read past the end. */
static inline uint8_t *exact_copy(const uint8_t *p, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    assert_non_null(c);
    if (n)
        memcpy(c, p, n);
    return c;
}

/* The whole packet of a vector, in an exactly sized buffer; *len set. */
static inline uint8_t *vec_packet(const vec *v, size_t *len)
{
    wbuf w = w_packet(v->first, v->body, v->body_len);
    uint8_t *c = exact_copy(w.d, w.len);
    *len = w.len;
    w_free(&w);
    return c;
}

#endif
