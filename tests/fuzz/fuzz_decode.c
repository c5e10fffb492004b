/* Fuzz target for the MQTT codec (shared/mqtt/mqtt_decode.c, mqtt_encode.c,
 * mqtt_props.c): frames a byte stream, decodes each packet, and round-trips
 * every packet that decodes.
 *
 * Input: byte 0 chooses the connection, the rest is the byte stream.
 *   bit 0     protocol version before any CONNECT: 0 = v3.1.1, 1 = v5
 *   bit 1     who decodes: 0 = server (packets from a client), 1 = client
 *   bits 2-3  maximum packet size: protocol maximum, 16, 256 or 4096 bytes
 * A CONNECT that decodes switches the version, as a broker's session does.
 *
 * Oracles beyond the sanitizers (each failed FUZZ_REQUIRE is a codec bug):
 *   - mqtt_decode() returns err.reason, with a rule text when it fails;
 *   - a decoded packet can be encoded, mqtt_encode() writes exactly
 *     mqtt_encoded_length() bytes, and that encoding decodes again;
 *   - the second decode carries the same content as the first (compared as a
 *     digest of every field and iterator), and encoding it again gives the
 *     same bytes. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_require.h"
#include "mqtt_codec.h"

/* ---- content digest (FNV-1a, 64 bit) */

typedef struct digest {
    uint64_t h;
} digest;

static void digest_bytes(digest *d, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++) {
        d->h ^= p[i];
        d->h *= UINT64_C(0x100000001b3);
    }
}

static void digest_u32(digest *d, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    digest_bytes(d, b, sizeof b);
}

/* Length first, so that adjacent strings cannot run into each other. */
static void digest_view(digest *d, mqtt_bytes b)
{
    digest_u32(d, b.len);
    if (b.len)
        digest_bytes(d, b.data, b.len);
}

static void digest_props(digest *d, const mqtt_properties *p)
{
    digest_u32(d, (uint32_t)(p->present >> 32));
    digest_u32(d, (uint32_t)p->present);
    const uint32_t numbers[] = {
        p->payload_format_indicator,
        p->request_problem_information,
        p->request_response_information,
        p->maximum_qos,
        p->retain_available,
        p->wildcard_subscription_available,
        p->subscription_identifier_available,
        p->shared_subscription_available,
        p->server_keep_alive,
        p->receive_maximum,
        p->topic_alias_maximum,
        p->topic_alias,
        p->message_expiry_interval,
        p->session_expiry_interval,
        p->will_delay_interval,
        p->maximum_packet_size,
    };
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++)
        digest_u32(d, numbers[i]);
    const mqtt_bytes strings[] = {
        p->content_type,          p->response_topic,
        p->correlation_data,      p->assigned_client_identifier,
        p->authentication_method, p->authentication_data,
        p->response_information,  p->server_reference,
        p->reason_string,
    };
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        digest_view(d, strings[i]);

    /* The iterators must yield exactly the counts the decoder reported. */
    size_t pos = 0;
    uint32_t walked = 0;
    mqtt_user_property up;
    while (mqtt_props_user_next(p, &pos, &up)) {
        digest_view(d, up.key);
        digest_view(d, up.value);
        walked++;
    }
    FUZZ_REQUIRE(walked == p->user_property_count, "user property iterator yields the decoded count");
    pos = 0;
    walked = 0;
    uint32_t sub_id;
    while (mqtt_props_subscription_id_next(p, &pos, &sub_id)) {
        digest_u32(d, sub_id);
        walked++;
    }
    FUZZ_REQUIRE(walked == p->subscription_id_count, "subscription id iterator yields the decoded count");
}

static void digest_connect(digest *d, const mqtt_connect *c)
{
    const uint32_t numbers[] = {
        c->protocol_version, c->clean_start, c->keep_alive,   c->will_flag,
        c->will_qos,         c->will_retain, c->has_username, c->has_password,
    };
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++)
        digest_u32(d, numbers[i]);
    digest_props(d, &c->props);
    digest_view(d, c->client_id);
    digest_props(d, &c->will_props);
    digest_view(d, c->will_topic);
    digest_view(d, c->will_payload);
    digest_view(d, c->username);
    digest_view(d, c->password);
}

static void digest_subscribe(digest *d, const mqtt_subscribe *s)
{
    digest_u32(d, s->packet_id);
    digest_props(d, &s->props);
    size_t pos = 0;
    uint32_t walked = 0;
    mqtt_subscription e;
    while (mqtt_subscribe_next(s, &pos, &e)) {
        digest_view(d, e.filter);
        digest_u32(d, (uint32_t)e.qos << 24 | (uint32_t)e.no_local << 16 |
                          (uint32_t)e.retain_as_published << 8 | e.retain_handling);
        walked++;
    }
    FUZZ_REQUIRE(walked == s->count, "SUBSCRIBE iterator yields the decoded count");
}

static void digest_unsubscribe(digest *d, const mqtt_unsubscribe *u)
{
    digest_u32(d, u->packet_id);
    digest_props(d, &u->props);
    size_t pos = 0;
    uint32_t walked = 0;
    mqtt_bytes filter;
    while (mqtt_unsubscribe_next(u, &pos, &filter)) {
        digest_view(d, filter);
        walked++;
    }
    FUZZ_REQUIRE(walked == u->count, "UNSUBSCRIBE iterator yields the decoded count");
}

/* Everything a decoded packet says, walking every iterator on the way. */
static uint64_t packet_digest(const mqtt_packet *p)
{
    digest d = {UINT64_C(0xcbf29ce484222325)};
    digest_u32(&d, (uint32_t)p->type << 8 | p->flags);
    switch (p->type) {
    case MQTT_CONNECT: digest_connect(&d, &p->u.connect); break;
    case MQTT_CONNACK:
        digest_u32(&d, (uint32_t)p->u.connack.session_present << 8 | p->u.connack.reason_code);
        digest_props(&d, &p->u.connack.props);
        break;
    case MQTT_PUBLISH:
        digest_u32(&d,
                   (uint32_t)p->u.publish.dup << 16 | (uint32_t)p->u.publish.qos << 8 | p->u.publish.retain);
        digest_view(&d, p->u.publish.topic);
        digest_u32(&d, p->u.publish.packet_id);
        digest_props(&d, &p->u.publish.props);
        digest_view(&d, p->u.publish.payload);
        break;
    case MQTT_PUBACK:
    case MQTT_PUBREC:
    case MQTT_PUBREL:
    case MQTT_PUBCOMP:
        digest_u32(&d, (uint32_t)p->u.ack.packet_id << 8 | p->u.ack.reason_code);
        digest_props(&d, &p->u.ack.props);
        break;
    case MQTT_SUBSCRIBE: digest_subscribe(&d, &p->u.subscribe); break;
    case MQTT_SUBACK:
    case MQTT_UNSUBACK:
        digest_u32(&d, p->u.suback.packet_id);
        digest_props(&d, &p->u.suback.props);
        digest_view(&d, p->u.suback.reason_codes);
        break;
    case MQTT_UNSUBSCRIBE: digest_unsubscribe(&d, &p->u.unsubscribe); break;
    case MQTT_DISCONNECT:
        digest_u32(&d, p->u.disconnect.reason_code);
        digest_props(&d, &p->u.disconnect.props);
        break;
    case MQTT_AUTH:
        digest_u32(&d, p->u.auth.reason_code);
        digest_props(&d, &p->u.auth.props);
        break;
    default: break;
    }
    return d.h;
}

/* ---- decoding and round trips */

/* mqtt_decode() plus the error contract of mqtt_codec.h. */
static int decode_checked(const uint8_t *pkt, size_t len, uint8_t version, enum mqtt_role role,
                          mqtt_packet *out)
{
    mqtt_error err;
    int rc = mqtt_decode(pkt, len, version, role, out, &err);
    FUZZ_REQUIRE(rc == err.reason, "mqtt_decode returns err.reason");
    FUZZ_REQUIRE(rc == 0 || err.rule, "a failed decode names its rule");
    (void)mqtt_reason_name((uint8_t)rc);
    (void)mqtt_packet_type_name(out->type);
    return rc;
}

/* A heap copy of exactly `len` bytes, so AddressSanitizer catches any read
 * past a packet's end even when more input follows it. */
static uint8_t *exact_copy(const uint8_t *data, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    FUZZ_REQUIRE(copy, "out of memory");
    memcpy(copy, data, len);
    return copy;
}

/* Encodes `p` into a fresh, exactly sized buffer; aborts if it cannot. */
static uint8_t *encode_checked(const mqtt_packet *p, uint8_t version, size_t *len)
{
    size_t need = mqtt_encoded_length(p, version);
    FUZZ_REQUIRE(need != 0, "every decoded packet can be encoded");
    uint8_t *buf = malloc(need);
    FUZZ_REQUIRE(buf, "out of memory");
    FUZZ_REQUIRE(mqtt_encode(p, version, buf, need - 1) == 0, "a buffer one byte short is refused");
    FUZZ_REQUIRE(mqtt_encode(p, version, buf, need) == need, "mqtt_encode writes mqtt_encoded_length bytes");
    *len = need;
    return buf;
}

/* mqtt_encode_publish_head() writes the same bytes as mqtt_encode() up to
 * the payload, which the caller then appends by reference. */
static void check_publish_head(const mqtt_packet *p, uint8_t version, const uint8_t *full, size_t full_len)
{
    mqtt_bytes payload = p->u.publish.payload;
    size_t head_len = full_len - payload.len;
    uint8_t *head = malloc(head_len);
    FUZZ_REQUIRE(head, "out of memory");
    FUZZ_REQUIRE(mqtt_encode_publish_head(p, version, head, head_len - 1) == 0,
                 "a head buffer one byte short is refused");
    FUZZ_REQUIRE(mqtt_encode_publish_head(p, version, head, head_len) == head_len,
                 "the PUBLISH head is the full encoding less the payload");
    FUZZ_REQUIRE(memcmp(head, full, head_len) == 0, "the PUBLISH head matches the full encoding");
    free(head);
}

/* The packet decoded with result `rc` (0, or 0x99 for a fully decoded PUBLISH)
 * is encoded, decoded and encoded again. */
static void round_trip(const mqtt_packet *first, int rc, uint8_t version, enum mqtt_role role)
{
    uint64_t first_digest = packet_digest(first);
    size_t len1, len2;
    uint8_t *wire1 = encode_checked(first, version, &len1);
    if (first->type == MQTT_PUBLISH)
        check_publish_head(first, version, wire1, len1);

    mqtt_packet second;
    FUZZ_REQUIRE(decode_checked(wire1, len1, version, role, &second) == rc,
                 "the re-encoded packet decodes, with the same outcome");
    FUZZ_REQUIRE(packet_digest(&second) == first_digest, "the re-encoded packet carries the same content");

    uint8_t *wire2 = encode_checked(&second, version, &len2);
    FUZZ_REQUIRE(len1 == len2 && memcmp(wire1, wire2, len1) == 0, "encoding a re-decoded packet is stable");
    free(wire2);
    free(wire1);
}

static uint32_t max_size_choice(uint8_t mode)
{
    static const uint32_t sizes[4] = {0, 16, 256, 4096};
    return sizes[(mode >> 2) & 3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    uint8_t version = (mode & 1) ? MQTT_V5 : MQTT_V311;
    enum mqtt_role role = (mode & 2) ? MQTT_ROLE_CLIENT : MQTT_ROLE_SERVER;
    uint32_t max_size = max_size_choice(mode);
    const uint8_t *stream = data + 1;
    size_t left = size - 1;

    while (left > 0) {
        mqtt_frame frame;
        mqtt_error err = {0};
        enum mqtt_frame_status status = mqtt_frame_parse(stream, left, max_size, &frame, &err);
        if (status == MQTT_FRAME_ERROR) {
            FUZZ_REQUIRE(err.reason == MQTT_RC_MALFORMED_PACKET || err.reason == MQTT_RC_PACKET_TOO_LARGE,
                         "framing fails only with 0x81 or 0x95");
            break;
        }
        if (status != MQTT_FRAME_OK || frame.total_len > left)
            break; /* a real connection would wait for more bytes */
        FUZZ_REQUIRE(frame.header_len >= 2 && frame.header_len <= 5, "fixed header is 2 to 5 bytes");
        FUZZ_REQUIRE(frame.total_len == frame.header_len + frame.remaining_length,
                     "total = header + remaining");
        FUZZ_REQUIRE(!max_size || frame.total_len <= max_size, "framing enforces the maximum packet size");

        uint8_t *pkt = exact_copy(stream, frame.total_len);
        mqtt_packet packet;
        int rc = decode_checked(pkt, frame.total_len, version, role, &packet);
        /* 0x99 is a full decode only for PUBLISH (mqtt_codec.h). */
        if (rc == 0 || (rc == MQTT_RC_PAYLOAD_FORMAT_INVALID && packet.type == MQTT_PUBLISH)) {
            uint8_t packet_version =
                packet.type == MQTT_CONNECT ? packet.u.connect.protocol_version : version;
            round_trip(&packet, rc, packet_version, role);
            if (rc == 0 && packet.type == MQTT_CONNECT)
                version = packet_version;
        }
        free(pkt);
        stream += frame.total_len;
        left -= frame.total_len;
    }
    return 0;
}
