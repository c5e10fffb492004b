/* Framing: Variable Byte Integers, remaining-length boundaries, reading packets
 * from a byte stream that arrives piecemeal, and the maximum packet size check
 * that must fire from the fixed header alone. Malformed remaining lengths are
 * in test_codec_malformed.c. */
#include "codec_test_util.h"

/* Variable Byte Integer boundaries (section 1.5.5, table 1-1). */
static const struct {
    uint32_t value;
    size_t size;
    uint8_t bytes[4];
} VARINTS[] = {
    {0, 1, {0x00}},
    {127, 1, {0x7F}},
    {128, 2, {0x80, 0x01}},
    {16383, 2, {0xFF, 0x7F}},
    {16384, 3, {0x80, 0x80, 0x01}},
    {2097151, 3, {0xFF, 0xFF, 0x7F}},
    {2097152, 4, {0x80, 0x80, 0x80, 0x01}},
    {MQTT_VARINT_MAX, 4, {0xFF, 0xFF, 0xFF, 0x7F}},
};

static void test_varint_helpers(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(VARINTS); i++) {
        uint8_t out[8] = {0};
        assert_int_equal(VARINTS[i].size, mqtt_varint_size(VARINTS[i].value));
        assert_int_equal(VARINTS[i].size, mqtt_varint_write(out, VARINTS[i].value));
        assert_memory_equal(VARINTS[i].bytes, out, VARINTS[i].size);
    }
    assert_int_equal(0, mqtt_varint_size(MQTT_VARINT_MAX + 1));
    assert_int_equal(0, mqtt_varint_size(UINT32_MAX));
}

/* A PUBLISH QoS 0 on topic "t" whose remaining length is exactly `body`. */
static void publish_with_body(mqtt_packet *p, uint8_t version, uint32_t body, uint8_t *payload)
{
    uint32_t overhead = 3 + (version == MQTT_V5 ? 1 : 0); /* topic, property length */
    memset(p, 0, sizeof(*p));
    p->type = MQTT_PUBLISH;
    p->u.publish.topic = tb("t");
    p->u.publish.payload = tbin(payload, body - overhead);
}

static void test_remaining_length_boundaries(void **state)
{
    (void)state;
    static const uint8_t versions[] = {MQTT_V311, MQTT_V5};
    size_t big = 2097152 + 16;
    uint8_t *payload = malloc(big), *buf = malloc(big);
    assert_non_null(payload);
    assert_non_null(buf);
    for (size_t i = 0; i < big; i++)
        payload[i] = (uint8_t)(i * 31 + 7);

    for (size_t v = 0; v < ARRAY_LEN(versions); v++) {
        for (size_t i = 0; i < ARRAY_LEN(VARINTS) - 1; i++) {
            uint32_t body = VARINTS[i].value;
            mqtt_packet p = {.type = MQTT_PINGREQ}, out;
            if (body > 0)
                publish_with_body(&p, versions[v], body, payload);
            print_message("  v%u, remaining length %u\n", versions[v], body);
            size_t n = ROUNDTRIP(&p, versions[v], MQTT_ROLE_SERVER, buf, big, &out);
            assert_int_equal(1 + VARINTS[i].size + body, n);
            assert_memory_equal(VARINTS[i].bytes, buf + 1, VARINTS[i].size);
        }
    }
    free(payload);
    free(buf);

    /* A body past the protocol maximum cannot be encoded (not even sized). */
    static const uint8_t one = 0;
    mqtt_packet p;
    publish_with_body(&p, MQTT_V311, 4, (uint8_t *)&one);
    p.u.publish.payload.len = MQTT_VARINT_MAX - 3;
    assert_int_equal(MQTT_PACKET_SIZE_MAX, mqtt_encoded_length(&p, MQTT_V311));
    p.u.publish.payload.len++;
    assert_int_equal(0, mqtt_encoded_length(&p, MQTT_V311));
}

/* ---- streams */

typedef struct stream {
    wbuf bytes;
    uint8_t types[8];
    size_t count;
} stream;

static void stream_add(stream *s, const mqtt_packet *p, uint8_t version)
{
    size_t n = mqtt_encoded_length(p, version);
    assert_true(n > 0);
    w_reserve(&s->bytes, n);
    assert_int_equal(n, mqtt_encode(p, version, s->bytes.d + s->bytes.len, n));
    s->bytes.len += n;
    s->types[s->count++] = p->type;
}

/* PUBLISH with a 2-byte remaining length, PINGREQ, SUBSCRIBE, PUBACK, DISCONNECT. */
static stream make_stream(void)
{
    static uint8_t payload[300];
    static const mqtt_subscription subs[] = {{LIT("a/#"), 1, false, false, 0}, {LIT("b"), 2, true, true, 2}};
    stream s = {0};
    mqtt_packet p = {.type = MQTT_PUBLISH};
    memset(payload, 'x', sizeof(payload));
    p.u.publish.qos = 1;
    p.u.publish.packet_id = 1;
    p.u.publish.topic = tb("big/one");
    p.u.publish.payload = tbin(payload, sizeof(payload));
    stream_add(&s, &p, MQTT_V5);
    stream_add(&s, &(mqtt_packet){.type = MQTT_PINGREQ}, MQTT_V5);
    p = (mqtt_packet){.type = MQTT_SUBSCRIBE};
    p.u.subscribe.packet_id = 2;
    p.u.subscribe.entries = subs;
    p.u.subscribe.count = ARRAY_LEN(subs);
    stream_add(&s, &p, MQTT_V5);
    p = (mqtt_packet){.type = MQTT_PUBACK};
    p.u.ack.packet_id = 9;
    stream_add(&s, &p, MQTT_V5);
    stream_add(&s, &(mqtt_packet){.type = MQTT_DISCONNECT}, MQTT_V5);
    return s;
}

/* Decodes the packet at the start of `buf`, which frame says is complete. */
static void consume_one(const uint8_t *buf, const mqtt_frame *fr, uint8_t want_type)
{
    mqtt_packet out;
    assert_int_equal(want_type, fr->type);
    DECODE_OK(buf, fr->total_len, MQTT_V5, MQTT_ROLE_SERVER, &out);
    assert_int_equal(want_type, out.type);
}

/* Bytes arrive one at a time. mqtt_frame_parse says INCOMPLETE exactly until
 * the fixed header of the next packet is in; then OK with the total length, and
 * the reader waits for that many bytes before decoding (mqtt_codec.h, steps 1-2). */
static void test_stream_byte_by_byte(void **state)
{
    (void)state;
    stream s = make_stream();
    size_t start = 0, have = 0, decoded = 0;
    while (have < s.bytes.len) {
        have++;
        mqtt_frame fr;
        mqtt_error err = {0};
        enum mqtt_frame_status st = mqtt_frame_parse(s.bytes.d + start, have - start, 0, &fr, &err);
        if (st == MQTT_FRAME_INCOMPLETE) {
            /* The header is 2 bytes, or 3 for the 300-byte PUBLISH. */
            assert_true(have - start < (decoded == 0 ? 3u : 2u));
            continue;
        }
        assert_int_equal(MQTT_FRAME_OK, st);
        assert_int_equal(decoded == 0 ? 3 : 2, fr.header_len);
        if (have - start < fr.total_len)
            continue;
        assert_int_equal(fr.total_len, have - start);
        consume_one(s.bytes.d + start, &fr, s.types[decoded]);
        decoded++;
        start = have;
    }
    assert_int_equal(s.count, decoded);
    assert_int_equal(s.bytes.len, start);
    w_free(&s.bytes);
}

static void test_several_packets_in_one_buffer(void **state)
{
    (void)state;
    stream s = make_stream();
    size_t pos = 0, decoded = 0;
    mqtt_frame fr;
    mqtt_error err = {0};
    while (pos < s.bytes.len) {
        assert_int_equal(MQTT_FRAME_OK, mqtt_frame_parse(s.bytes.d + pos, s.bytes.len - pos, 0, &fr, &err));
        assert_true(pos + fr.total_len <= s.bytes.len);
        consume_one(s.bytes.d + pos, &fr, s.types[decoded++]);
        pos += fr.total_len;
    }
    assert_int_equal(s.count, decoded);
    assert_int_equal(s.bytes.len, pos);
    assert_int_equal(MQTT_FRAME_INCOMPLETE, mqtt_frame_parse(s.bytes.d + pos, 0, 0, &fr, &err));
    w_free(&s.bytes);
}

static void test_header_incomplete(void **state)
{
    (void)state;
    const struct {
        const uint8_t *bytes;
        size_t len;
    } cases[] = {
        {BYTES(0x30)},
        {BYTES(0x30, 0x80)},
        {BYTES(0x30, 0xFF, 0xFF)},
        {BYTES(0x30, 0xFF, 0xFF, 0xFF)},
    };
    mqtt_frame fr;
    mqtt_error err = {0};
    assert_int_equal(MQTT_FRAME_INCOMPLETE, mqtt_frame_parse(cases[0].bytes, 0, 0, &fr, &err));
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        assert_int_equal(MQTT_FRAME_INCOMPLETE, mqtt_frame_parse(cases[i].bytes, cases[i].len, 0, &fr, &err));
    assert_int_equal(0, err.reason);
}

static void expect_frame_error(const uint8_t *buf, size_t len, uint32_t max, uint8_t reason)
{
    mqtt_frame fr;
    mqtt_error err = {0};
    assert_int_equal(MQTT_FRAME_ERROR, mqtt_frame_parse(buf, len, max, &fr, &err));
    assert_int_equal(reason, err.reason);
    assert_non_null(err.rule);
}

static void test_max_packet_size_from_header(void **state)
{
    (void)state;
    static const uint8_t huge[] = {0x30, 0xFF, 0xFF, 0xFF, 0x7F}; /* announces 268435455 bytes */
    mqtt_frame fr;
    mqtt_error err = {0};

    /* Known too large before a single byte of the body. */
    expect_frame_error(huge, sizeof(huge), 1024, MQTT_RC_PACKET_TOO_LARGE);
    expect_frame_error(huge, sizeof(huge), MQTT_PACKET_SIZE_MAX - 1, MQTT_RC_PACKET_TOO_LARGE);

    /* 0 means the protocol maximum, which this packet exactly reaches. */
    assert_int_equal(MQTT_FRAME_OK, mqtt_frame_parse(huge, sizeof(huge), 0, &fr, &err));
    assert_int_equal(MQTT_PACKET_SIZE_MAX, fr.total_len);
    assert_int_equal(MQTT_VARINT_MAX, fr.remaining_length);
    assert_int_equal(5, fr.header_len);
    assert_int_equal(MQTT_FRAME_OK, mqtt_frame_parse(huge, sizeof(huge), MQTT_PACKET_SIZE_MAX, &fr, &err));

    /* The limit counts the whole packet, header included: 2 + 98 = 100 bytes. */
    static const uint8_t hdr100[] = {0x30, 98};
    assert_int_equal(MQTT_FRAME_OK, mqtt_frame_parse(hdr100, sizeof(hdr100), 100, &fr, &err));
    assert_int_equal(100, fr.total_len);
    expect_frame_error(hdr100, sizeof(hdr100), 99, MQTT_RC_PACKET_TOO_LARGE);

    /* And a whole packet in the buffer is judged the same way. */
    uint8_t pkt[100] = {0x30, 98, 0x00, 0x01, 't'};
    assert_int_equal(MQTT_FRAME_OK, mqtt_frame_parse(pkt, sizeof(pkt), 100, &fr, &err));
    expect_frame_error(pkt, sizeof(pkt), 99, MQTT_RC_PACKET_TOO_LARGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varint_helpers),      cmocka_unit_test(test_remaining_length_boundaries),
        cmocka_unit_test(test_stream_byte_by_byte), cmocka_unit_test(test_several_packets_in_one_buffer),
        cmocka_unit_test(test_header_incomplete),   cmocka_unit_test(test_max_packet_size_from_header),
    };
    return cmocka_run_group_tests_name("codec_framing", tests, NULL, NULL);
}
