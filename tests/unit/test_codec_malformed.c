/* Malformed and forbidden input: one table row per rule of the specifications,
 * with the reason code mqtt_decode (or mqtt_frame_parse) must give for it.
 * Section numbers and [MQTT-x.y.z-n] tags are from MQTT 5.0 unless the rule
 * says v3.1.1. Where the code is a judgement call, the row follows the
 * specification's wording; see the comments on those rows. */
#include "codec_vectors.h"

enum how { DECODE, RAW, FRAME };

typedef struct bad {
    const char *rule;
    uint8_t version;
    enum mqtt_role role;
    uint8_t expect;
    enum how how;
    uint8_t first; /* DECODE: first byte, the remaining length is computed */
    const uint8_t *bytes;
    size_t len;
} bad;

/* clang-format off */
#define BAD(rule, ver, role, rc, first, ...) {rule, ver, role, rc, DECODE, first, BYTES(__VA_ARGS__)}
#define BAD0(rule, ver, role, rc, first) {rule, ver, role, rc, DECODE, first, NULL, 0}
#define BADRAW(rule, ver, role, rc, ...) {rule, ver, role, rc, RAW, 0, BYTES(__VA_ARGS__)}
#define BADFRAME(rule, rc, ...) {rule, 0, SRV, rc, FRAME, 0, BYTES(__VA_ARGS__)}
/* clang-format on */

#define V3 MQTT_V311
#define V5 MQTT_V5
#define MAL MQTT_RC_MALFORMED_PACKET
#define PROTO MQTT_RC_PROTOCOL_ERROR

/* Runs every row, reports each mismatch with the rule the decoder named, and
 * fails once at the end so that one run lists them all. */
static void run_table(const bad *rows, size_t n)
{
    unsigned failures = 0;
    for (size_t i = 0; i < n; i++) {
        const bad *b = &rows[i];
        size_t len = b->len;
        uint8_t *pkt;
        if (b->how == DECODE) {
            wbuf w = w_packet(b->first, b->bytes, b->len);
            pkt = exact_copy(w.d, w.len);
            len = w.len;
            w_free(&w);
        } else {
            pkt = exact_copy(b->bytes, b->len);
        }
        mqtt_error err = {0};
        int rc;
        if (b->how == FRAME) {
            mqtt_frame fr;
            enum mqtt_frame_status st = mqtt_frame_parse(pkt, len, 0, &fr, &err);
            rc = st == MQTT_FRAME_ERROR ? err.reason : st == MQTT_FRAME_OK ? 0 : -1;
        } else {
            mqtt_packet out;
            rc = decode_rc(pkt, len, b->version, b->role, &out, &err);
            if (rc != err.reason || (rc != 0 && err.rule == NULL)) {
                print_error("  %s: return 0x%02x but err {0x%02x, %s}\n", b->rule, rc, err.reason,
                            err.rule ? err.rule : "NULL");
                failures++;
            }
        }
        if (rc != b->expect) {
            print_error("  MISMATCH %s: want 0x%02X, got 0x%02X (\"%s\")\n", b->rule, b->expect, (unsigned)rc,
                        err.rule ? err.rule : "");
            failures++;
        }
        free(pkt);
    }
    if (failures)
        fail_msg("%u of %zu rows failed", failures, n);
}

#define RUN(table) run_table(table, ARRAY_LEN(table))

/* ---- framing: the remaining length (section 2.1.4, 1.5.5) */

static const bad FRAMING[] = {
    BADFRAME("remaining length has at most 4 bytes", MAL, 0x30, 0x80, 0x80, 0x80, 0x80, 0x01),
    BADFRAME("remaining length: a 4th byte with continuation is already malformed", MAL, 0x30, 0xFF, 0xFF,
             0xFF, 0xFF),
    BADFRAME("remaining length in the fewest bytes [MQTT-1.5.5-1]: 80 00", MAL, 0x30, 0x80, 0x00),
    BADFRAME("remaining length in the fewest bytes [MQTT-1.5.5-1]: FF 80 00", MAL, 0x30, 0xFF, 0x80, 0x00),
    BADFRAME("remaining length in the fewest bytes [MQTT-1.5.5-1]: 80 80 80 00", MAL, 0x30, 0x80, 0x80, 0x80,
             0x00),
    BADRAW("mqtt_decode: remaining length not in the fewest bytes", V3, SRV, MAL, 0xC0, 0x80, 0x00),
    BADRAW("remaining length larger than the bytes of the packet", V3, SRV, MAL, 0x40, 0x03, 0x00, 0x01),
    BADRAW("remaining length smaller than the bytes of the packet", V3, SRV, MAL, 0x40, 0x02, 0x00, 0x01,
           0x00),
    BADRAW("a first byte alone", V3, SRV, MAL, 0xC0),
};

/* ---- fixed header: packet type and flags (section 2.1.2, 2.1.3) */

static const bad HEADER[] = {
    BAD0("packet type 0 is reserved (v3.1.1)", V3, SRV, MAL, 0x00),
    BAD("packet type 0 is reserved (v5)", V5, CLI, MAL, 0x00, 0x00, 0x01),
    BAD0("AUTH (type 15) is reserved in v3.1.1", V3, SRV, MAL, 0xF0),
    BAD("CONNECT flags must be 0000 [MQTT-2.1.3-1]", V3, SRV, MAL, 0x11, CONN4(0x02), LSTR('c')),
    BAD("CONNACK flags must be 0000", V3, CLI, MAL, 0x28, 0x00, 0x00),
    BAD("PUBACK flags must be 0000", V5, SRV, MAL, 0x41, 0x00, 0x01),
    BAD("PUBREC flags must be 0000", V5, CLI, MAL, 0x52, 0x00, 0x01),
    BAD("PUBREL flags must be 0010, not 0000", V3, SRV, MAL, 0x60, 0x00, 0x01),
    BAD("PUBREL flags must be 0010, not 0011", V5, SRV, MAL, 0x63, 0x00, 0x01),
    BAD("PUBCOMP flags must be 0000", V3, CLI, MAL, 0x7F, 0x00, 0x01),
    BAD("SUBSCRIBE flags must be 0010", V3, SRV, MAL, 0x80, 0x00, 0x01, LSTR('a'), 0x00),
    BAD("SUBACK flags must be 0000", V5, CLI, MAL, 0x94, 0x00, 0x01, 0x00, 0x00),
    BAD("UNSUBSCRIBE flags must be 0010", V5, SRV, MAL, 0xA3, 0x00, 0x01, 0x00, LSTR('a')),
    BAD("UNSUBACK flags must be 0000", V3, CLI, MAL, 0xB1, 0x00, 0x01),
    BAD0("PINGREQ flags must be 0000", V3, SRV, MAL, 0xC8),
    BAD0("PINGRESP flags must be 0000", V5, CLI, MAL, 0xD1),
    BAD0("DISCONNECT flags must be 0000", V5, SRV, MAL, 0xE2),
    BAD0("AUTH flags must be 0000", V5, SRV, MAL, 0xF4),
    BAD("a client never sends CONNACK", V3, SRV, PROTO, 0x20, 0x00, 0x00),
    BAD("a client never sends SUBACK", V5, SRV, PROTO, 0x90, 0x00, 0x01, 0x00, 0x00),
    BAD("a client never sends UNSUBACK", V3, SRV, PROTO, 0xB0, 0x00, 0x01),
    BAD0("a client never sends PINGRESP", V3, SRV, PROTO, 0xD0),
    BAD("a server never sends CONNECT", V5, CLI, PROTO, 0x10, CONN5(0x02), 0x00, LSTR('c')),
    BAD("a server never sends SUBSCRIBE", V3, CLI, PROTO, 0x82, 0x00, 0x01, LSTR('a'), 0x00),
    BAD("a server never sends UNSUBSCRIBE", V3, CLI, PROTO, 0xA2, 0x00, 0x01, LSTR('a')),
    BAD0("a server never sends PINGREQ", V5, CLI, PROTO, 0xC0),
};

/* ---- PUBLISH (section 3.3) and UTF-8 strings (section 1.5.4) */

static const bad PUBLISH[] = {
    BAD("PUBLISH QoS 3 is malformed [MQTT-3.3.1-4] (v3.1.1)", V3, SRV, MAL, 0x36, LSTR('t'), 0x00, 0x01),
    BAD("PUBLISH QoS 3 is malformed [MQTT-3.3.1-4] (v5)", V5, SRV, MAL, 0x36, LSTR('t'), 0x00, 0x01, 0x00),
    BAD("DUP must be 0 for QoS 0 [MQTT-3.3.1-2]", V3, SRV, MAL, 0x38, LSTR('t')),
    BAD("topic: ill-formed UTF-8 (C3 28) [MQTT-1.5.4-1]", V3, SRV, MAL, 0x30, LSTR(0xC3, 0x28)),
    BAD("topic: U+0000 [MQTT-1.5.4-2]", V5, SRV, MAL, 0x30, LSTR('a', 0x00), 0x00),
    BAD("topic: surrogate U+D800 encoded in UTF-8 [MQTT-1.5.4-1]", V3, SRV, MAL, 0x30,
        LSTR(0xED, 0xA0, 0x80)),
    BAD("topic: surrogate U+DFFF encoded in UTF-8", V3, SRV, MAL, 0x30, LSTR(0xED, 0xBF, 0xBF)),
    BAD("topic: overlong 2-byte '/' (C0 AF)", V3, SRV, MAL, 0x30, LSTR(0xC0, 0xAF)),
    BAD("topic: overlong 3-byte (E0 80 AF)", V3, SRV, MAL, 0x30, LSTR(0xE0, 0x80, 0xAF)),
    BAD("topic: overlong 4-byte (F0 80 80 AF)", V5, SRV, MAL, 0x30, LSTR(0xF0, 0x80, 0x80, 0xAF), 0x00),
    BAD("topic: beyond U+10FFFF (F4 90 80 80)", V3, SRV, MAL, 0x30, LSTR(0xF4, 0x90, 0x80, 0x80)),
    BAD("topic: lone continuation byte", V3, SRV, MAL, 0x30, LSTR('a', 0x80)),
    BAD("topic: sequence cut by the end of the string", V3, SRV, MAL, 0x30, LSTR('a', 0xE2, 0x82)),
    BAD("topic: length past the end of the packet", V3, SRV, MAL, 0x30, 0x00, 0x05, 'a'),
    BAD("topic name must not contain '+' [MQTT-3.3.2-2]", V3, SRV, MQTT_RC_TOPIC_NAME_INVALID, 0x30,
        LSTR('a', '/', '+')),
    BAD("topic name must not contain '#' [MQTT-3.3.2-2]", V5, SRV, MQTT_RC_TOPIC_NAME_INVALID, 0x30,
        LSTR('#'), 0x00),
    /* v3.1.1 has no reason codes; the implementation documents 0x90. */
    BAD("v3.1.1 topic name must not be empty [MQTT-4.7.3-1]", V3, SRV, MQTT_RC_TOPIC_NAME_INVALID, 0x30, 0x00,
        0x00, 'x'),
    BAD("empty topic name without a Topic Alias is a Protocol Error (3.3.2.1)", V5, SRV, PROTO, 0x30, 0x00,
        0x00, 0x00, 'x'),
    BAD("Topic Alias 0 is not permitted [MQTT-3.3.2-8]", V5, SRV, MQTT_RC_TOPIC_ALIAS_INVALID, 0x30,
        LSTR('t'), PROPS(0x23, 0x00, 0x00)),
    BAD("packet identifier 0 in PUBLISH QoS 1 [MQTT-2.2.1-3]", V3, SRV, PROTO, 0x32, LSTR('t'), 0x00, 0x00),
    BAD("packet identifier 0 in PUBLISH QoS 2 [MQTT-2.2.1-3]", V5, CLI, PROTO, 0x34, LSTR('t'), 0x00, 0x00,
        0x00),
    BAD("packet identifier cut short in PUBLISH QoS 1", V3, SRV, MAL, 0x32, LSTR('t'), 0x00),
    BAD("v5 PUBLISH without a property length", V5, SRV, MAL, 0x30, LSTR('t')),
    BAD("Subscription Identifier in a PUBLISH from a client [MQTT-3.3.4-6]", V5, SRV, PROTO, 0x30, LSTR('t'),
        PROPS(0x0B, 0x01)),
    BAD("Subscription Identifier 0 is a Protocol Error (3.3.2.3.8)", V5, CLI, PROTO, 0x30, LSTR('t'),
        PROPS(0x0B, 0x00)),
    BAD("Payload Format Indicator is 0 or 1", V5, SRV, PROTO, 0x30, LSTR('t'), PROPS(0x01, 0x02)),
    BAD("payload not UTF-8 though its Payload Format Indicator is 1 (3.3.2.3.2)", V5, SRV,
        MQTT_RC_PAYLOAD_FORMAT_INVALID, 0x30, LSTR('t'), PROPS(0x01, 0x01), 'o', 0xFF),
    BAD("Response Topic must not contain wildcards [MQTT-3.3.2-14]", V5, SRV, PROTO, 0x30, LSTR('t'),
        PROPS(0x08, LSTR('a', '/', '#'))),
};

/* ---- properties (section 2.2.2) */

static const bad PROPERTIES[] = {
    BAD("property length past the end of the packet", V5, SRV, MAL, 0x40, 0x00, 0x01, 0x00, 0x05),
    BAD("property value past the property length", V5, SRV, MAL, 0x30, LSTR('t'), 0x02, 0x02, 0x00, 0x00,
        0x00, 0x00),
    BAD("User Property value cut short", V5, SRV, MAL, 0x40, 0x00, 0x01, 0x00, 0x06, 0x26, LSTR('k'), 0x00,
        0x05),
    BAD("unknown property identifier 0x00", V5, SRV, MAL, 0x40, 0x00, 0x01, 0x00, PROPS(0x00, 0x00)),
    BAD("unknown property identifier 0x04", V5, SRV, MAL, 0x40, 0x00, 0x01, 0x00, PROPS(0x04, 0x00)),
    BAD("unknown property identifier 0x2B", V5, SRV, MAL, 0x40, 0x00, 0x01, 0x00, PROPS(0x2B, 0x00)),
    BAD("unknown property identifier 0x7F", V5, SRV, MAL, 0x40, 0x00, 0x01, 0x00, PROPS(0x7F, 0x00)),
    BAD("unknown two-byte property identifier 128", V5, SRV, MAL, 0x40, 0x00, 0x01, 0x00,
        PROPS(0x80, 0x01, 0x00)),
    BAD("property identifier not in the fewest bytes (9F 00)", V5, SRV, MAL, 0x40, 0x00, 0x01, 0x00,
        PROPS(0x9F, 0x00, LSTR('r'))),
    BAD("Subscription Identifier longer than 4 bytes", V5, SRV, MAL, 0x82, 0x00, 0x01,
        PROPS(0x0B, 0x80, 0x80, 0x80, 0x80, 0x01), LSTR('a'), 0x00),
    /* 2.2.2.2: "A Control Packet which contains an Identifier which is not
     * valid for its packet type ... is a Malformed Packet." */
    BAD("Topic Alias in CONNECT: identifier not valid there (2.2.2.2)", V5, SRV, MAL, 0x10, CONN5(0x02),
        PROPS(0x23, 0x00, 0x01), LSTR('c')),
    BAD("Will Delay Interval in CONNECT properties (2.2.2.2)", V5, SRV, MAL, 0x10, CONN5(0x02),
        PROPS(0x18, 0x00, 0x00, 0x00, 0x01), LSTR('c')),
    BAD("Maximum QoS in CONNECT (2.2.2.2)", V5, SRV, MAL, 0x10, CONN5(0x02), PROPS(0x24, 0x01), LSTR('c')),
    BAD("Session Expiry Interval in Will Properties (2.2.2.2)", V5, SRV, MAL, 0x10, CONN5(0x06), 0x00,
        LSTR('c'), PROPS(0x11, 0x00, 0x00, 0x00, 0x01), LSTR('w'), LSTR('p')),
    BAD("Session Expiry Interval in PUBLISH (2.2.2.2)", V5, SRV, MAL, 0x30, LSTR('t'),
        PROPS(0x11, 0x00, 0x00, 0x00, 0x01)),
    BAD("Reason String in PUBLISH (2.2.2.2)", V5, SRV, MAL, 0x30, LSTR('t'), PROPS(0x1F, LSTR('r'))),
    BAD("Content Type in PUBACK (2.2.2.2)", V5, SRV, MAL, 0x40, 0x00, 0x01, 0x00, PROPS(0x03, LSTR('c'))),
    BAD("Subscription Identifier in UNSUBSCRIBE (2.2.2.2)", V5, SRV, MAL, 0xA2, 0x00, 0x01, PROPS(0x0B, 0x01),
        LSTR('a')),
    BAD("Message Expiry Interval twice (3.3.2.3.3)", V5, SRV, PROTO, 0x30, LSTR('t'),
        PROPS(0x02, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x02)),
    BAD("Session Expiry Interval twice in CONNECT (3.1.2.11.2)", V5, SRV, PROTO, 0x10, CONN5(0x02),
        PROPS(0x11, 0x00, 0x00, 0x00, 0x01, 0x11, 0x00, 0x00, 0x00, 0x01), LSTR('c')),
    BAD("Topic Alias twice", V5, SRV, PROTO, 0x30, LSTR('t'), PROPS(0x23, 0x00, 0x01, 0x23, 0x00, 0x02)),
    BAD("Reason String twice in PUBACK (3.4.2.2.2)", V5, SRV, PROTO, 0x40, 0x00, 0x01, 0x00,
        PROPS(0x1F, LSTR('a'), 0x1F, LSTR('b'))),
    BAD("Authentication Method twice in AUTH (3.15.2.2.2)", V5, SRV, PROTO, 0xF0, 0x18,
        PROPS(0x15, LSTR('m'), 0x15, LSTR('m'))),
    BAD("Subscription Identifier twice in SUBSCRIBE (3.8.2.1.2)", V5, SRV, PROTO, 0x82, 0x00, 0x01,
        PROPS(0x0B, 0x01, 0x0B, 0x02), LSTR('a'), 0x00),
    BAD("Request Problem Information is 0 or 1 (3.1.2.11.7)", V5, SRV, PROTO, 0x10, CONN5(0x02),
        PROPS(0x17, 0x02), LSTR('c')),
    BAD("Request Response Information is 0 or 1 (3.1.2.11.6)", V5, SRV, PROTO, 0x10, CONN5(0x02),
        PROPS(0x19, 0x02), LSTR('c')),
    BAD("Receive Maximum 0 in CONNECT (3.1.2.11.3)", V5, SRV, PROTO, 0x10, CONN5(0x02),
        PROPS(0x21, 0x00, 0x00), LSTR('c')),
    BAD("Receive Maximum 0 in CONNACK (3.2.2.3.3)", V5, CLI, PROTO, 0x20, 0x00, 0x00,
        PROPS(0x21, 0x00, 0x00)),
    BAD("Maximum Packet Size 0 (3.1.2.11.4)", V5, SRV, PROTO, 0x10, CONN5(0x02),
        PROPS(0x27, 0x00, 0x00, 0x00, 0x00), LSTR('c')),
    BAD("Subscription Identifier 0 in SUBSCRIBE (3.8.2.1.2)", V5, SRV, PROTO, 0x82, 0x00, 0x01,
        PROPS(0x0B, 0x00), LSTR('a'), 0x00),
    BAD("Maximum QoS 2 in CONNACK (3.2.2.3.4)", V5, CLI, PROTO, 0x20, 0x00, 0x00, PROPS(0x24, 0x02)),
    BAD("Retain Available is 0 or 1 (3.2.2.3.5)", V5, CLI, PROTO, 0x20, 0x00, 0x00, PROPS(0x25, 0x02)),
    BAD("Wildcard Subscription Available is 0 or 1 (3.2.2.3.11)", V5, CLI, PROTO, 0x20, 0x00, 0x00,
        PROPS(0x28, 0x02)),
    BAD("Subscription Identifiers Available is 0 or 1 (3.2.2.3.12)", V5, CLI, PROTO, 0x20, 0x00, 0x00,
        PROPS(0x29, 0x02)),
    BAD("Shared Subscription Available is 0 or 1 (3.2.2.3.13)", V5, CLI, PROTO, 0x20, 0x00, 0x00,
        PROPS(0x2A, 0x02)),
    BAD("Authentication Data without Authentication Method (3.1.2.11.10)", V5, SRV, PROTO, 0x10, CONN5(0x02),
        PROPS(0x16, LSTR(0x01)), LSTR('c')),
    BAD("User Property key not UTF-8", V5, SRV, MAL, 0x40, 0x00, 0x01, 0x00,
        PROPS(0x26, LSTR(0xFE), LSTR('v'))),
    BAD("User Property value with U+0000", V5, SRV, MAL, 0x40, 0x00, 0x01, 0x00,
        PROPS(0x26, LSTR('k'), LSTR(0x00))),
    BAD("Content Type not UTF-8", V5, SRV, MAL, 0x30, LSTR('t'), PROPS(0x03, LSTR(0xC1, 0xBF))),
    BAD("Reason String with a surrogate", V5, CLI, MAL, 0x40, 0x00, 0x01, 0x00,
        PROPS(0x1F, LSTR(0xED, 0xB0, 0x80))),
    BAD("server must not send Session Expiry Interval in DISCONNECT [MQTT-3.14.2-2]", V5, CLI, PROTO, 0xE0,
        0x00, PROPS(0x11, 0x00, 0x00, 0x00, 0x01)),
};

/* ---- CONNECT (section 3.1) */

static const bad CONNECT[] = {
    BAD("protocol name MQIsdp (MQTT 3.1) is unsupported", V3, SRV, MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION, 0x10,
        0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p', 0x03, 0x02, 0x00, 0x3C, LSTR('c')),
    /* [MQTT-3.1.2-1]: a name other than "MQTT" MAY get CONNACK 0x84. */
    BAD("protocol name must be MQTT [MQTT-3.1.2-1]", V5, SRV, MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION, 0x10,
        0x00, 0x04, 'M', 'Q', 'T', 'X', 0x05, 0x02, 0x00, 0x3C, 0x00, LSTR('c')),
    BAD("protocol name is case sensitive [MQTT-3.1.2-1]", V3, SRV, MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION, 0x10,
        0x00, 0x04, 'm', 'q', 't', 't', 0x04, 0x02, 0x00, 0x3C, LSTR('c')),
    BAD("protocol level 3 with name MQTT", V3, SRV, MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION, 0x10, MQTT_NAME,
        0x03, 0x02, 0x00, 0x3C, LSTR('c')),
    BAD("protocol level 6 [MQTT-3.1.2-2]", V5, SRV, MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION, 0x10, MQTT_NAME,
        0x06, 0x02, 0x00, 0x3C, 0x00, LSTR('c')),
    BAD("protocol level 0", V5, SRV, MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION, 0x10, MQTT_NAME, 0x00, 0x02, 0x00,
        0x3C, LSTR('c')),
    BAD("CONNECT reserved flag must be 0 [MQTT-3.1.2-3] (v3.1.1)", V3, SRV, MAL, 0x10, CONN4(0x03),
        LSTR('c')),
    BAD("CONNECT reserved flag must be 0 [MQTT-3.1.2-3] (v5)", V5, SRV, MAL, 0x10, CONN5(0x03), 0x00,
        LSTR('c')),
    BAD("will QoS 3 is malformed (3.1.2.6)", V5, SRV, MAL, 0x10, CONN5(0x1E), 0x00, LSTR('c'), 0x00,
        LSTR('w'), LSTR('p')),
    BAD("will QoS must be 0 without a will [MQTT-3.1.2-11]", V3, SRV, MAL, 0x10, CONN4(0x0A), LSTR('c')),
    BAD("will retain must be 0 without a will [MQTT-3.1.2-13]", V5, SRV, MAL, 0x10, CONN5(0x22), 0x00,
        LSTR('c')),
    BAD("v3.1.1 password without user name [MQTT-3.1.2-22]", V3, SRV, MAL, 0x10, CONN4(0x42), LSTR('c'),
        LSTR('p')),
    BAD("v3.1.1 empty client id needs clean session [MQTT-3.1.3-8]", V3, SRV,
        MQTT_RC_CLIENT_IDENTIFIER_NOT_VALID, 0x10, CONN4(0x00), 0x00, 0x00),
    BAD("will topic must not contain wildcards [MQTT-3.1.3-11]", V5, SRV, MQTT_RC_TOPIC_NAME_INVALID, 0x10,
        CONN5(0x06), 0x00, LSTR('c'), 0x00, LSTR('a', '/', '#'), LSTR('p')),
    BAD("will topic must not be empty", V3, SRV, MQTT_RC_TOPIC_NAME_INVALID, 0x10, CONN4(0x06), LSTR('c'),
        0x00, 0x00, LSTR('p')),
    BAD("will topic not UTF-8", V3, SRV, MAL, 0x10, CONN4(0x06), LSTR('c'), LSTR(0xFF), LSTR('p')),
    BAD("will payload missing", V3, SRV, MAL, 0x10, CONN4(0x06), LSTR('c'), LSTR('w')),
    BAD("will payload not UTF-8 though its format indicator is 1 (3.1.3.2.3)", V5, SRV,
        MQTT_RC_PAYLOAD_FORMAT_INVALID, 0x10, CONN5(0x06), 0x00, LSTR('c'), PROPS(0x01, 0x01), LSTR('w'),
        LSTR(0xC0)),
    BAD("client id not UTF-8 [MQTT-3.1.3-4]", V3, SRV, MAL, 0x10, CONN4(0x02), LSTR(0xFF)),
    BAD("user name not UTF-8 [MQTT-3.1.3-11]", V3, SRV, MAL, 0x10, CONN4(0x82), LSTR('c'), LSTR(0xC0, 0x80)),
    BAD("user name flag without a user name", V3, SRV, MAL, 0x10, CONN4(0x82), LSTR('c')),
    BAD("password flag without a password", V5, SRV, MAL, 0x10, CONN5(0x42), 0x00, LSTR('c')),
    BAD("v5 CONNECT without a property length", V5, SRV, MAL, 0x10, CONN5(0x02), LSTR('c')),
    BAD("CONNECT cut in the keep alive", V3, SRV, MAL, 0x10, MQTT_NAME, 0x04, 0x02, 0x00),
    BAD("bytes after the end of CONNECT", V3, SRV, MAL, 0x10, CONN4(0x02), LSTR('c'), 0x00),
};

/* ---- CONNACK and the acknowledgements (sections 3.2, 3.4 - 3.7) */

static const bad ACKS[] = {
    BAD("CONNACK acknowledge flags 7-1 are reserved (3.2.2.1)", V5, CLI, MAL, 0x20, 0x02, 0x00, 0x00),
    BAD("session present with a refusal [MQTT-3.2.2-6]", V5, CLI, PROTO, 0x20, 0x01, 0x87, 0x00),
    BAD("v3.1.1 session present with a refusal [MQTT-3.2.2-4]", V3, CLI, PROTO, 0x20, 0x01, 0x05),
    BAD("v3.1.1 CONNACK return code 6 is reserved", V3, CLI, PROTO, 0x20, 0x00, 0x06),
    BAD("CONNACK reason 0x04 is not a CONNACK reason (3.2.2.2)", V5, CLI, PROTO, 0x20, 0x00, 0x04, 0x00),
    BAD("v3.1.1 CONNACK is exactly 2 bytes", V3, CLI, MAL, 0x20, 0x00, 0x00, 0x00),
    BAD("v5 CONNACK without a property length", V5, CLI, MAL, 0x20, 0x00, 0x00),
    BAD("v3.1.1 PUBACK is exactly 2 bytes", V3, SRV, MAL, 0x40, 0x00, 0x01, 0x00),
    BAD("v3.1.1 PUBREL is exactly 2 bytes", V3, SRV, MAL, 0x62, 0x00, 0x01, 0x00, 0x00),
    BAD("PUBACK cut in the packet identifier", V3, SRV, MAL, 0x40, 0x00),
    BAD("packet identifier 0 in PUBACK", V3, SRV, PROTO, 0x40, 0x00, 0x00),
    BAD("packet identifier 0 in PUBCOMP", V5, CLI, PROTO, 0x70, 0x00, 0x00),
    BAD("PUBACK reason 0x05 does not exist (3.4.2.1)", V5, SRV, PROTO, 0x40, 0x00, 0x01, 0x05),
    BAD("PUBREL reason 0x10 belongs to PUBACK/PUBREC (3.6.2.1)", V5, SRV, PROTO, 0x62, 0x00, 0x01, 0x10),
    BAD("PUBCOMP reason 0x80 is not a PUBCOMP reason (3.7.2.1)", V5, CLI, PROTO, 0x70, 0x00, 0x01, 0x80),
    BAD("bytes after the properties of a v5 PUBACK", V5, SRV, MAL, 0x40, 0x00, 0x01, 0x00, 0x00, 0xFF),
};

/* ---- SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK (sections 3.8 - 3.11) */

static const bad SUBSCRIPTIONS[] = {
    BAD("v3.1.1 SUBSCRIBE with no topic filter [MQTT-3.8.3-3]", V3, SRV, PROTO, 0x82, 0x00, 0x01),
    BAD("v5 SUBSCRIBE with no topic filter [MQTT-3.8.3-2]", V5, SRV, PROTO, 0x82, 0x00, 0x01, 0x00),
    BAD("packet identifier 0 in SUBSCRIBE [MQTT-2.2.1-3]", V3, SRV, PROTO, 0x82, 0x00, 0x00, LSTR('a'), 0x00),
    BAD("subscription options bit 6 is reserved [MQTT-3.8.3-5]", V5, SRV, MAL, 0x82, 0x00, 0x01, 0x00,
        LSTR('a'), 0x40),
    BAD("subscription options bit 7 is reserved [MQTT-3.8.3-5]", V5, SRV, MAL, 0x82, 0x00, 0x01, 0x00,
        LSTR('a'), 0x80),
    /* 3.8.3.1: "It is a Protocol Error if the Maximum QoS field has the value 3." */
    BAD("v5 subscription Maximum QoS 3 is a Protocol Error (3.8.3.1)", V5, SRV, PROTO, 0x82, 0x00, 0x01, 0x00,
        LSTR('a'), 0x03),
    BAD("Retain Handling 3 is a Protocol Error (3.8.3.1)", V5, SRV, PROTO, 0x82, 0x00, 0x01, 0x00, LSTR('a'),
        0x30),
    BAD("No Local on a shared subscription [MQTT-3.8.3-4]", V5, SRV, PROTO, 0x82, 0x00, 0x01, 0x00,
        LSTR('$', 's', 'h', 'a', 'r', 'e', '/', 'g', '/', 'x'), 0x04),
    BAD("v3.1.1 options: bits above the QoS are reserved [MQTT-3.8.3-4]", V3, SRV, MAL, 0x82, 0x00, 0x01,
        LSTR('a'), 0x04),
    BAD("v3.1.1 options: QoS 3 [MQTT-3.8.3-4]", V3, SRV, MAL, 0x82, 0x00, 0x01, LSTR('a'), 0x03),
    BAD("topic filter not UTF-8", V5, SRV, MAL, 0x82, 0x00, 0x01, 0x00, LSTR(0xE0, 0x80, 0x80), 0x00),
    BAD("topic filter without its options byte", V3, SRV, MAL, 0x82, 0x00, 0x01, LSTR('a')),
    BAD("v3.1.1 UNSUBSCRIBE with no topic filter [MQTT-3.10.3-2]", V3, SRV, PROTO, 0xA2, 0x00, 0x01),
    BAD("v5 UNSUBSCRIBE with no topic filter (3.10.3)", V5, SRV, PROTO, 0xA2, 0x00, 0x01, 0x00),
    BAD("packet identifier 0 in UNSUBSCRIBE [MQTT-2.2.1-3]", V5, SRV, PROTO, 0xA2, 0x00, 0x00, 0x00,
        LSTR('a')),
    BAD("UNSUBSCRIBE filter with U+0000", V3, SRV, MAL, 0xA2, 0x00, 0x01, LSTR('a', 0x00)),
    BAD("SUBACK without a reason code", V5, CLI, PROTO, 0x90, 0x00, 0x01, 0x00),
    BAD("v3.1.1 SUBACK return code 0x03 is reserved [MQTT-3.9.3-2]", V3, CLI, PROTO, 0x90, 0x00, 0x01, 0x03),
    BAD("v5 SUBACK reason 0x11 is an UNSUBACK reason (3.9.3)", V5, CLI, PROTO, 0x90, 0x00, 0x01, 0x00, 0x11),
    BAD("v3.1.1 UNSUBACK is exactly 2 bytes", V3, CLI, MAL, 0xB0, 0x00, 0x01, 0x00),
    BAD("v5 UNSUBACK reason 0x01 is a SUBACK reason (3.11.3)", V5, CLI, PROTO, 0xB0, 0x00, 0x01, 0x00, 0x01),
};

/* ---- PINGREQ, PINGRESP, DISCONNECT, AUTH (sections 3.12 - 3.15) */

static const bad OTHERS[] = {
    BAD("PINGREQ has no variable header or payload (3.12)", V3, SRV, MAL, 0xC0, 0x00),
    BAD("PINGRESP has no variable header or payload (3.13)", V5, CLI, MAL, 0xD0, 0x00),
    BAD("v3.1.1 DISCONNECT has no variable header or payload", V3, SRV, MAL, 0xE0, 0x00),
    BAD("DISCONNECT reason 0x01 does not exist (3.14.2.1)", V5, SRV, PROTO, 0xE0, 0x01),
    BAD("DISCONNECT reason 0x85 is a CONNACK reason (3.14.2.1)", V5, CLI, PROTO, 0xE0, 0x85),
    BAD("DISCONNECT property length past the end", V5, SRV, MAL, 0xE0, 0x00, 0x03),
    BAD("AUTH reason 0x01 does not exist (3.15.2.1)", V5, SRV, PROTO, 0xF0, 0x01),
    BAD("AUTH reason 0x80 is not an AUTH reason (3.15.2.1)", V5, CLI, PROTO, 0xF0, 0x80),
};

static void test_framing(void **state)
{
    (void)state;
    RUN(FRAMING);
}

static void test_fixed_header(void **state)
{
    (void)state;
    RUN(HEADER);
}

static void test_publish(void **state)
{
    (void)state;
    RUN(PUBLISH);
}

static void test_properties(void **state)
{
    (void)state;
    RUN(PROPERTIES);
}

static void test_connect(void **state)
{
    (void)state;
    RUN(CONNECT);
}

static void test_acks(void **state)
{
    (void)state;
    RUN(ACKS);
}

static void test_subscriptions(void **state)
{
    (void)state;
    RUN(SUBSCRIPTIONS);
}

static void test_ping_disconnect_auth(void **state)
{
    (void)state;
    RUN(OTHERS);
}

/* ---- rules checked over every valid vector */

static uint8_t required_flags(uint8_t type)
{
    return type == MQTT_PUBREL || type == MQTT_SUBSCRIBE || type == MQTT_UNSUBSCRIBE ? 2 : 0;
}

/* Any other flags on any type but PUBLISH are malformed [MQTT-2.1.3-1]. */
static void test_reserved_flags_on_every_type(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(VALID); i++) {
        const vec *v = &VALID[i];
        uint8_t type = v->first >> 4;
        if (type == MQTT_PUBLISH)
            continue;
        for (uint8_t flags = 0; flags < 16; flags++) {
            if (flags == required_flags(type))
                continue;
            size_t len;
            uint8_t *pkt = vec_packet(v, &len);
            mqtt_packet out;
            mqtt_error err;
            pkt[0] = (uint8_t)(type << 4 | flags);
            if (decode_rc(pkt, len, v->version, v->role, &out, &err) != MAL)
                fail_msg("%s with flags %X: want 0x81, got 0x%02X", v->name, flags, err.reason);
            free(pkt);
        }
    }
}

/* Packets only a server sends, received by a server, and the reverse. */
static void test_wrong_direction_for_every_vector(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(VALID); i++) {
        const vec *v = &VALID[i];
        uint8_t type = v->first >> 4;
        bool one_way = type == MQTT_CONNECT || type == MQTT_CONNACK || type == MQTT_SUBSCRIBE ||
                       type == MQTT_SUBACK || type == MQTT_UNSUBSCRIBE || type == MQTT_UNSUBACK ||
                       type == MQTT_PINGREQ || type == MQTT_PINGRESP;
        if (!one_way)
            continue;
        size_t len;
        uint8_t *pkt = vec_packet(v, &len);
        mqtt_packet out;
        mqtt_error err;
        enum mqtt_role wrong = v->role == SRV ? CLI : SRV;
        if (decode_rc(pkt, len, v->version, wrong, &out, &err) != PROTO)
            fail_msg("%s received by the wrong side: want 0x82, got 0x%02X", v->name, err.reason);
        free(pkt);
    }
}

/* 0x99 comes with a fully decoded packet, so that a broker can PUBACK it. */
static void test_payload_format_invalid_still_decoded(void **state)
{
    (void)state;
    const vec v = VEC("PUBLISH QoS 1, format 1, payload FF", V5, SRV, 0x32, LSTR('a', '/', 'b'), 0x01, 0x02,
                      PROPS(0x01, 0x01, 0x26, LSTR('k'), LSTR('v')), 'o', 'k', 0xFF);
    size_t len;
    uint8_t *pkt = vec_packet(&v, &len);
    mqtt_packet out;
    mqtt_error err;
    assert_int_equal(MQTT_RC_PAYLOAD_FORMAT_INVALID, decode_rc(pkt, len, V5, SRV, &out, &err));
    assert_int_equal(MQTT_RC_PAYLOAD_FORMAT_INVALID, err.reason);
    assert_int_equal(MQTT_PUBLISH, out.type);
    assert_int_equal(1, out.u.publish.qos);
    assert_int_equal(0x0102, out.u.publish.packet_id);
    ASSERT_BYTES_EQ(tb("a/b"), out.u.publish.topic);
    ASSERT_BYTES_EQ(tb("ok\xFF"), out.u.publish.payload);
    assert_int_equal(1, out.u.publish.props.user_property_count);
    free(pkt);
}

/* An unsupported level is reported with the level read, for the CONNACK. */
static void test_unsupported_level_is_reported(void **state)
{
    (void)state;
    static const uint8_t levels[] = {0, 3, 6, 0xFF};
    for (size_t i = 0; i < ARRAY_LEN(levels); i++) {
        const vec v = VEC("CONNECT", V5, SRV, 0x10, MQTT_NAME, levels[i], 0x02, 0x00, 0x3C, 0x00, LSTR('c'));
        size_t len;
        uint8_t *pkt = vec_packet(&v, &len);
        mqtt_packet out;
        mqtt_error err;
        assert_int_equal(MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION, decode_rc(pkt, len, V5, SRV, &out, &err));
        assert_int_equal(levels[i], err.version);
        free(pkt);
    }
}

/* Topic Filter syntax is judged per filter by the broker (SUBACK 0x8F), not
 * by the decoder (mqtt_decode.c, header comment). */
static void test_filter_syntax_left_to_the_broker(void **state)
{
    (void)state;
    const vec v = VEC("SUBSCRIBE bad filters", V5, SRV, 0x82, 0x00, 0x01, 0x00, LSTR('a', '/', '#', '/', 'b'),
                      0x00, 0x00, 0x00, 0x01, LSTR('$', 's', 'h', 'a', 'r', 'e', '/', '/', 'x'), 0x00);
    size_t len;
    uint8_t *pkt = vec_packet(&v, &len);
    mqtt_packet out;
    DECODE_OK(pkt, len, V5, SRV, &out);
    assert_int_equal(3, out.u.subscribe.count);
    free(pkt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_fixed_header),
        cmocka_unit_test(test_publish),
        cmocka_unit_test(test_properties),
        cmocka_unit_test(test_connect),
        cmocka_unit_test(test_acks),
        cmocka_unit_test(test_subscriptions),
        cmocka_unit_test(test_ping_disconnect_auth),
        cmocka_unit_test(test_reserved_flags_on_every_type),
        cmocka_unit_test(test_wrong_direction_for_every_vector),
        cmocka_unit_test(test_payload_format_invalid_still_decoded),
        cmocka_unit_test(test_unsupported_level_is_reported),
        cmocka_unit_test(test_filter_syntax_left_to_the_broker),
    };
    return cmocka_run_group_tests_name("codec_malformed", tests, NULL, NULL);
}
