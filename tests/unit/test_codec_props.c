/* v5 properties: each of the 27 identifiers, in every packet that may carry it,
 * at its boundary values, checked on the wire byte for byte and decoded back;
 * repeated User Properties and Subscription Identifiers and their iterators;
 * and the name functions. */
#include "codec_test_util.h"

/* ---- a packet of each kind that may carry properties, with its props to fill */

static const mqtt_subscription ONE_SUB[] = {{LIT("a/b"), 1, false, false, 0}};
static const mqtt_bytes ONE_FILTER[] = {LIT("a/b")};
static const uint8_t ONE_CODE[] = {0x00};

/* Sets p up as a valid v5 packet of `host` (a packet type or HOST_WILL) and
 * returns the property set that `id` goes in; *role is who receives it. */
static mqtt_properties *make_host(mqtt_packet *p, unsigned host, uint8_t id, enum mqtt_role *role)
{
    memset(p, 0, sizeof(*p));
    *role = receiver_role((uint8_t)host);
    switch (host) {
    case HOST_WILL:
    case MQTT_CONNECT:
        p->type = MQTT_CONNECT;
        p->u.connect.protocol_version = MQTT_V5;
        p->u.connect.clean_start = true;
        p->u.connect.client_id = tb("c");
        if (host == MQTT_CONNECT)
            return &p->u.connect.props;
        p->u.connect.will_flag = true;
        p->u.connect.will_topic = tb("w");
        p->u.connect.will_payload = tb("p");
        return &p->u.connect.will_props;
    case MQTT_CONNACK: p->type = MQTT_CONNACK; return &p->u.connack.props;
    case MQTT_PUBLISH:
        p->type = MQTT_PUBLISH;
        p->u.publish.qos = 1;
        p->u.publish.packet_id = 1;
        p->u.publish.topic = tb("t");
        p->u.publish.payload = tb("p");
        if (id == MQTT_PROP_SUBSCRIPTION_IDENTIFIER)
            *role = MQTT_ROLE_CLIENT; /* only a server sends them [MQTT-3.3.4-6] */
        return &p->u.publish.props;
    case MQTT_PUBACK:
    case MQTT_PUBREC:
    case MQTT_PUBREL:
    case MQTT_PUBCOMP:
        p->type = (uint8_t)host;
        p->u.ack.packet_id = 1;
        return &p->u.ack.props;
    case MQTT_SUBSCRIBE:
        p->type = MQTT_SUBSCRIBE;
        p->u.subscribe.packet_id = 1;
        p->u.subscribe.entries = ONE_SUB;
        p->u.subscribe.count = 1;
        return &p->u.subscribe.props;
    case MQTT_UNSUBSCRIBE:
        p->type = MQTT_UNSUBSCRIBE;
        p->u.unsubscribe.packet_id = 1;
        p->u.unsubscribe.filters = ONE_FILTER;
        p->u.unsubscribe.count = 1;
        return &p->u.unsubscribe.props;
    case MQTT_SUBACK:
    case MQTT_UNSUBACK:
        p->type = (uint8_t)host;
        p->u.suback.packet_id = 1;
        p->u.suback.reason_codes = tbin(ONE_CODE, 1);
        return &p->u.suback.props;
    case MQTT_DISCONNECT:
        p->type = MQTT_DISCONNECT;
        if (id == MQTT_PROP_SERVER_REFERENCE)
            *role = MQTT_ROLE_CLIENT; /* sent by a server (3.14.2.2.5) */
        return &p->u.disconnect.props;
    case MQTT_AUTH:
        p->type = MQTT_AUTH;
        p->u.auth.reason_code = MQTT_RC_CONTINUE_AUTHENTICATION;
        return &p->u.auth.props;
    default: fail_msg("no host %u", host); return NULL;
    }
}

/* ---- values to try for each property */

static bool prop_is_boolean(uint8_t id)
{
    return id == MQTT_PROP_PAYLOAD_FORMAT_INDICATOR || id == MQTT_PROP_REQUEST_PROBLEM_INFORMATION ||
           id == MQTT_PROP_REQUEST_RESPONSE_INFORMATION || id == MQTT_PROP_MAXIMUM_QOS ||
           id == MQTT_PROP_RETAIN_AVAILABLE || id == MQTT_PROP_WILDCARD_SUBSCRIPTION_AVAILABLE ||
           id == MQTT_PROP_SUBSCRIPTION_IDENTIFIER_AVAILABLE || id == MQTT_PROP_SHARED_SUBSCRIPTION_AVAILABLE;
}

static bool prop_is_nonzero(uint8_t id)
{
    return id == MQTT_PROP_RECEIVE_MAXIMUM || id == MQTT_PROP_MAXIMUM_PACKET_SIZE ||
           id == MQTT_PROP_TOPIC_ALIAS || id == MQTT_PROP_SUBSCRIPTION_IDENTIFIER;
}

/* Integer values: the smallest and largest valid ones and one in between. */
static size_t int_values(const prop_info *pi, uint32_t *out)
{
    uint32_t lo = prop_is_nonzero(pi->id) ? 1 : 0;
    if (prop_is_boolean(pi->id)) {
        out[0] = 0, out[1] = 1;
        return 2;
    }
    switch (pi->kind) {
    case PK_BYTE: out[1] = 0x7F, out[2] = 0xFF; break;
    case PK_U16: out[1] = 0x1234, out[2] = UINT16_MAX; break;
    case PK_U32: out[1] = 0x12345678, out[2] = UINT32_MAX; break;
    default: /* PK_VARINT */ out[1] = 16384, out[2] = MQTT_VARINT_MAX; break;
    }
    out[0] = lo;
    return 3;
}

static uint8_t LONG_VALUE[UINT16_MAX];

/* String / binary values: empty, short, multi-byte UTF-8 or bytes with NUL, and
 * the longest a 2-byte length allows. */
static size_t bytes_values(const prop_info *pi, mqtt_bytes *out)
{
    static const uint8_t bin[] = {0x00, 0x01, 0xFF, 0x80};
    memset(LONG_VALUE, 'a', sizeof(LONG_VALUE));
    size_t n = 0;
    if (pi->id != MQTT_PROP_RESPONSE_TOPIC) /* a Topic Name: not empty [MQTT-3.3.2-13] */
        out[n++] = tb("");
    out[n++] = tb("x/y");
    out[n++] = pi->kind == PK_BINARY ? tbin(bin, sizeof(bin)) : tb("\xE2\x82\xAC/\xF0\x9F\x98\x80/\xC3\xA9");
    out[n++] = tbin(LONG_VALUE, sizeof(LONG_VALUE));
    return n;
}

/* The property as it must appear on the wire, written independently. */
static void w_prop(wbuf *w, const prop_info *pi, uint32_t num, mqtt_bytes b)
{
    w_u8(w, pi->id);
    switch (pi->kind) {
    case PK_BYTE: w_u8(w, (uint8_t)num); break;
    case PK_U16: w_u16(w, (uint16_t)num); break;
    case PK_U32: w_u32(w, num); break;
    case PK_VARINT: w_varint(w, num); break;
    default: w_lstr(w, b.data, b.len); break;
    }
}

/* Encodes the host with its properties, checks the decoded property block is
 * exactly `block`, and compares everything. */
static void check_in_host(const mqtt_packet *p, enum mqtt_role role, const wbuf *block)
{
    size_t cap = mqtt_encoded_length(p, MQTT_V5) + 16;
    uint8_t *buf = malloc(cap);
    mqtt_packet out;
    assert_non_null(buf);
    ROUNDTRIP(p, MQTT_V5, role, buf, cap, &out);
    ASSERT_BYTES_EQ(tbin(block->d, block->len), packet_props(&out)->block);
    free(buf);
}

static void check_one(const prop_info *pi, unsigned host, uint32_t num, mqtt_bytes b)
{
    mqtt_packet p;
    enum mqtt_role role;
    mqtt_properties *pr = make_host(&p, host, pi->id, &role);
    wbuf block = {0};
    mqtt_user_property up = {b, b};

    /* Authentication Data needs an Authentication Method (3.1.2.11.10); it comes
     * first since the encoder writes properties in identifier order. */
    if (pi->id == MQTT_PROP_AUTHENTICATION_DATA) {
        pset_str(pr, MQTT_PROP_AUTHENTICATION_METHOD, "m");
        w_prop(&block, prop_find(MQTT_PROP_AUTHENTICATION_METHOD), 0, tb("m"));
    }
    if (pi->kind == PK_PAIR) {
        pr->user_properties = &up;
        pr->user_property_count = 1;
        w_u8(&block, pi->id);
        w_lstr(&block, b.data, b.len);
        w_lstr(&block, b.data, b.len);
    } else if (pi->kind == PK_VARINT) {
        pr->subscription_ids = &num;
        pr->subscription_id_count = 1;
        w_prop(&block, pi, num, b);
    } else if (pi->kind == PK_STRING || pi->kind == PK_BINARY) {
        prop_set_bytes(pr, pi, b);
        w_prop(&block, pi, 0, b);
    } else {
        prop_set_int(pr, pi, num);
        w_prop(&block, pi, num, b);
    }
    check_in_host(&p, role, &block);
    w_free(&block);
}

static void test_every_property_in_every_host(void **state)
{
    (void)state;
    unsigned checked = 0;
    assert_int_equal(27, ARRAY_LEN(PROP_INFO));
    for (size_t i = 0; i < ARRAY_LEN(PROP_INFO); i++) {
        const prop_info *pi = &PROP_INFO[i];
        for (unsigned host = MQTT_CONNECT; host <= HOST_WILL; host++) {
            if (!(pi->hosts & HOST(host)))
                continue;
            print_message("  0x%02X %s in %s\n", pi->id, pi->name,
                          host == HOST_WILL ? "Will Properties" : mqtt_packet_type_name((uint8_t)host));
            uint32_t nums[8];
            mqtt_bytes strs[8];
            size_t n;
            if (pi->kind == PK_STRING || pi->kind == PK_BINARY || pi->kind == PK_PAIR) {
                n = bytes_values(pi, strs);
                for (size_t k = 0; k < n; k++)
                    check_one(pi, host, 0, strs[k]);
            } else {
                n = int_values(pi, nums);
                for (size_t k = 0; k < n; k++)
                    check_one(pi, host, nums[k], tb(""));
            }
            checked++;
        }
    }
    assert_true(checked >= 60);
}

/* ---- repeated properties */

static const mqtt_user_property MANY_UP[] = {
    UPROP("a", "1"),
    UPROP("", ""),   /* empty key and value are allowed */
    UPROP("a", "2"), /* the same key again: order is kept */
    UPROP("\xE6\x97\xA5\xE6\x9C\xAC", "caf\xC3\xA9 \xF0\x9F\x8D\xB5"),
    UPROP("k", ""),
    UPROP("", "v"),
};

static void test_user_properties_in_order(void **state)
{
    (void)state;
    static const unsigned hosts[] = {MQTT_CONNECT,    MQTT_CONNACK, MQTT_PUBLISH,     HOST_WILL,
                                     MQTT_PUBACK,     MQTT_PUBREC,  MQTT_PUBREL,      MQTT_PUBCOMP,
                                     MQTT_SUBSCRIBE,  MQTT_SUBACK,  MQTT_UNSUBSCRIBE, MQTT_UNSUBACK,
                                     MQTT_DISCONNECT, MQTT_AUTH};
    for (size_t h = 0; h < ARRAY_LEN(hosts); h++) {
        mqtt_packet p, out;
        enum mqtt_role role;
        uint8_t buf[1024];
        mqtt_properties *pr = make_host(&p, hosts[h], MQTT_PROP_USER_PROPERTY, &role);
        pr->user_properties = MANY_UP;
        pr->user_property_count = ARRAY_LEN(MANY_UP);
        ROUNDTRIP(&p, MQTT_V5, role, buf, sizeof(buf), &out); /* compares in order, both forms */
    }
}

/* Built by hand: user properties and subscription ids interleaved with other
 * properties; the block iterators must skip the others and keep the order. */
static void test_iterators_over_interleaved_block(void **state)
{
    (void)state;
    wbuf body = {0}, props = {0};
    w_u8(&props, MQTT_PROP_SUBSCRIPTION_IDENTIFIER), w_varint(&props, 5);
    w_u8(&props, MQTT_PROP_USER_PROPERTY), w_str(&props, "k1"), w_str(&props, "v1");
    w_u8(&props, MQTT_PROP_CONTENT_TYPE), w_str(&props, "text/plain");
    w_u8(&props, MQTT_PROP_PAYLOAD_FORMAT_INDICATOR), w_u8(&props, 0);
    w_u8(&props, MQTT_PROP_SUBSCRIPTION_IDENTIFIER), w_varint(&props, MQTT_VARINT_MAX);
    w_u8(&props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL), w_u32(&props, 10);
    w_u8(&props, MQTT_PROP_USER_PROPERTY), w_str(&props, ""), w_str(&props, "v2");
    w_u8(&props, MQTT_PROP_SUBSCRIPTION_IDENTIFIER), w_varint(&props, 128);
    w_u8(&props, MQTT_PROP_USER_PROPERTY), w_str(&props, "k3"), w_str(&props, "");

    w_str(&body, "t");
    w_varint(&body, (uint32_t)props.len);
    w_raw(&body, props.d, props.len);
    w_raw(&body, "payload", 7);
    wbuf pkt = w_packet(0x30, body.d, body.len);

    mqtt_packet out;
    DECODE_OK(pkt.d, pkt.len, MQTT_V5, MQTT_ROLE_CLIENT, &out);
    const mqtt_properties *pr = &out.u.publish.props;
    assert_int_equal(3, pr->user_property_count);
    assert_int_equal(3, pr->subscription_id_count);
    assert_true(mqtt_prop_has(pr, MQTT_PROP_CONTENT_TYPE));
    assert_int_equal(10, pr->message_expiry_interval);
    assert_true(mqtt_prop_has(pr, MQTT_PROP_PAYLOAD_FORMAT_INDICATOR));

    static const mqtt_user_property want_up[] = {UPROP("k1", "v1"), UPROP("", "v2"), UPROP("k3", "")};
    static const uint32_t want_ids[] = {5, MQTT_VARINT_MAX, 128};
    size_t pos = 0, i = 0;
    mqtt_user_property up;
    while (mqtt_props_user_next(pr, &pos, &up)) {
        assert_true(i < ARRAY_LEN(want_up));
        ASSERT_BYTES_EQ(want_up[i].key, up.key);
        ASSERT_BYTES_EQ(want_up[i].value, up.value);
        i++;
    }
    assert_int_equal(ARRAY_LEN(want_up), i);
    uint32_t id;
    pos = i = 0;
    while (mqtt_props_subscription_id_next(pr, &pos, &id)) {
        assert_true(i < ARRAY_LEN(want_ids));
        assert_int_equal(want_ids[i++], id);
    }
    assert_int_equal(ARRAY_LEN(want_ids), i);

    /* A second walk from 0 gives the same first value (the iterator is stateless). */
    pos = 0;
    assert_true(mqtt_props_user_next(pr, &pos, &up));
    ASSERT_BYTES_EQ(want_up[0].key, up.key);

    w_free(&pkt);
    w_free(&body);
    w_free(&props);
}

static void test_several_subscription_ids_to_client(void **state)
{
    (void)state;
    static const uint32_t ids[] = {1, 127, 128, 16383, 16384, 2097151, 2097152, MQTT_VARINT_MAX, 1};
    mqtt_packet p, out;
    enum mqtt_role role;
    uint8_t buf[256];
    mqtt_properties *pr = make_host(&p, MQTT_PUBLISH, MQTT_PROP_SUBSCRIPTION_IDENTIFIER, &role);
    pr->subscription_ids = ids;
    pr->subscription_id_count = ARRAY_LEN(ids);
    pr->user_properties = MANY_UP;
    pr->user_property_count = 2;
    ROUNDTRIP(&p, MQTT_V5, MQTT_ROLE_CLIENT, buf, sizeof(buf), &out);

    /* The built form iterates over the array the same way. */
    size_t pos = 0;
    uint32_t id;
    for (size_t i = 0; i < ARRAY_LEN(ids); i++) {
        assert_true(mqtt_props_subscription_id_next(pr, &pos, &id));
        assert_int_equal(ids[i], id);
    }
    assert_false(mqtt_props_subscription_id_next(pr, &pos, &id));
}

static void test_iterators_on_empty_sets(void **state)
{
    (void)state;
    static const uint8_t puback[] = {0x40, 0x02, 0x00, 0x01};
    mqtt_properties none = {0};
    mqtt_packet out;
    mqtt_user_property up;
    uint32_t id;
    size_t pos = 0;
    assert_false(mqtt_props_user_next(&none, &pos, &up));
    assert_false(mqtt_props_subscription_id_next(&none, &pos, &id));
    DECODE_OK(puback, sizeof(puback), MQTT_V5, MQTT_ROLE_SERVER, &out);
    pos = 0;
    assert_false(mqtt_props_user_next(&out.u.ack.props, &pos, &up));
    assert_false(mqtt_props_subscription_id_next(&out.u.ack.props, &pos, &id));
}

/* v3.1.1 has no properties: the encoder leaves them out entirely. */
static void test_v311_leaves_properties_out(void **state)
{
    (void)state;
    static const uint32_t ids[] = {7};
    mqtt_packet p, bare;
    enum mqtt_role role;
    uint8_t with[256], without[256];
    mqtt_properties *pr = make_host(&p, MQTT_PUBLISH, MQTT_PROP_SUBSCRIPTION_IDENTIFIER, &role);
    bare = p;
    pset_int(pr, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, 60);
    pset_str(pr, MQTT_PROP_CONTENT_TYPE, "text/plain");
    pr->user_properties = MANY_UP;
    pr->user_property_count = ARRAY_LEN(MANY_UP);
    pr->subscription_ids = ids;
    pr->subscription_id_count = 1;
    size_t n = ENCODE(&p, MQTT_V311, with, sizeof(with));
    assert_int_equal(n, ENCODE(&bare, MQTT_V311, without, sizeof(without)));
    assert_memory_equal(without, with, n);
}

/* A property the packet may not carry cannot be encoded. */
static void test_encoder_refuses_misplaced_property(void **state)
{
    (void)state;
    static const struct {
        unsigned host;
        uint8_t id;
    } cases[] = {
        {MQTT_CONNECT, MQTT_PROP_TOPIC_ALIAS},
        {MQTT_CONNECT, MQTT_PROP_WILL_DELAY_INTERVAL},
        {MQTT_PUBLISH, MQTT_PROP_SESSION_EXPIRY_INTERVAL},
        {MQTT_PUBACK, MQTT_PROP_CONTENT_TYPE},
        {MQTT_CONNACK, MQTT_PROP_REQUEST_PROBLEM_INFORMATION},
        {MQTT_AUTH, MQTT_PROP_SERVER_REFERENCE},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        mqtt_packet p;
        enum mqtt_role role;
        uint8_t buf[256];
        mqtt_properties *pr = make_host(&p, cases[i].host, cases[i].id, &role);
        prop_set_int(pr, prop_find(cases[i].id), 1);
        assert_int_equal(0, mqtt_encoded_length(&p, MQTT_V5));
        assert_int_equal(0, mqtt_encode(&p, MQTT_V5, buf, sizeof(buf)));
    }
}

/* ---- names */

static void test_reason_names(void **state)
{
    (void)state;
    /* MQTT 5.0 section 2.4, table 2-6. */
    static const struct {
        uint8_t code;
        const char *name;
    } names[] = {
        {0x00, "Success"},
        {0x01, "Granted QoS 1"},
        {0x02, "Granted QoS 2"},
        {0x04, "Disconnect with Will Message"},
        {0x10, "No matching subscribers"},
        {0x11, "No subscription existed"},
        {0x18, "Continue authentication"},
        {0x19, "Re-authenticate"},
        {0x80, "Unspecified error"},
        {0x81, "Malformed Packet"},
        {0x82, "Protocol Error"},
        {0x83, "Implementation specific error"},
        {0x84, "Unsupported Protocol Version"},
        {0x85, "Client Identifier not valid"},
        {0x86, "Bad User Name or Password"},
        {0x87, "Not authorized"},
        {0x88, "Server unavailable"},
        {0x89, "Server busy"},
        {0x8A, "Banned"},
        {0x8B, "Server shutting down"},
        {0x8C, "Bad authentication method"},
        {0x8D, "Keep Alive timeout"},
        {0x8E, "Session taken over"},
        {0x8F, "Topic Filter invalid"},
        {0x90, "Topic Name invalid"},
        {0x91, "Packet Identifier in use"},
        {0x92, "Packet Identifier not found"},
        {0x93, "Receive Maximum exceeded"},
        {0x94, "Topic Alias invalid"},
        {0x95, "Packet too large"},
        {0x96, "Message rate too high"},
        {0x97, "Quota exceeded"},
        {0x98, "Administrative action"},
        {0x99, "Payload format invalid"},
        {0x9A, "Retain not supported"},
        {0x9B, "QoS not supported"},
        {0x9C, "Use another server"},
        {0x9D, "Server moved"},
        {0x9E, "Shared Subscriptions not supported"},
        {0x9F, "Connection rate exceeded"},
        {0xA0, "Maximum connect time"},
        {0xA1, "Subscription Identifiers not supported"},
        {0xA2, "Wildcard Subscriptions not supported"},
    };
    bool known[256] = {false};
    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
        assert_string_equal(names[i].name, mqtt_reason_name(names[i].code));
        known[names[i].code] = true;
    }
    for (unsigned c = 0; c < 256; c++)
        if (!known[c])
            assert_string_equal("unknown", mqtt_reason_name((uint8_t)c));
}

static void test_packet_type_names(void **state)
{
    (void)state;
    static const char *const names[] = {"CONNECT",  "CONNACK", "PUBLISH",   "PUBACK",     "PUBREC",
                                        "PUBREL",   "PUBCOMP", "SUBSCRIBE", "SUBACK",     "UNSUBSCRIBE",
                                        "UNSUBACK", "PINGREQ", "PINGRESP",  "DISCONNECT", "AUTH"};
    for (uint8_t t = MQTT_CONNECT; t <= MQTT_AUTH; t++)
        assert_string_equal(names[t - 1], mqtt_packet_type_name(t));
    assert_non_null(mqtt_packet_type_name(0));
    for (unsigned t = 16; t < 256; t++)
        assert_string_equal("unknown", mqtt_packet_type_name((uint8_t)t));
}

static void test_v311_connack_codes(void **state)
{
    (void)state;
    static const struct {
        uint8_t v5, v311;
    } map[] = {
        {MQTT_RC_SUCCESS, MQTT_V311_CONNACK_ACCEPTED},
        {MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION, MQTT_V311_CONNACK_UNACCEPTABLE_PROTOCOL_VERSION},
        {MQTT_RC_CLIENT_IDENTIFIER_NOT_VALID, MQTT_V311_CONNACK_IDENTIFIER_REJECTED},
        {MQTT_RC_SERVER_UNAVAILABLE, MQTT_V311_CONNACK_SERVER_UNAVAILABLE},
        {MQTT_RC_SERVER_BUSY, MQTT_V311_CONNACK_SERVER_UNAVAILABLE},
        {MQTT_RC_BAD_USER_NAME_OR_PASSWORD, MQTT_V311_CONNACK_BAD_USERNAME_OR_PASSWORD},
        {MQTT_RC_NOT_AUTHORIZED, MQTT_V311_CONNACK_NOT_AUTHORIZED},
        {MQTT_RC_BANNED, MQTT_V311_CONNACK_NOT_AUTHORIZED},
    };
    for (size_t i = 0; i < ARRAY_LEN(map); i++)
        assert_int_equal(map[i].v311, mqtt_v311_connack_code(map[i].v5));
    /* Every refusal maps to a valid v3.1.1 refusal, never to "accepted". */
    for (unsigned c = 1; c < 256; c++) {
        uint8_t r = mqtt_v311_connack_code((uint8_t)c);
        assert_in_range(r, 1, MQTT_V311_CONNACK_NOT_AUTHORIZED);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_property_in_every_host),
        cmocka_unit_test(test_user_properties_in_order),
        cmocka_unit_test(test_iterators_over_interleaved_block),
        cmocka_unit_test(test_several_subscription_ids_to_client),
        cmocka_unit_test(test_iterators_on_empty_sets),
        cmocka_unit_test(test_v311_leaves_properties_out),
        cmocka_unit_test(test_encoder_refuses_misplaced_property),
        cmocka_unit_test(test_reason_names),
        cmocka_unit_test(test_packet_type_names),
        cmocka_unit_test(test_v311_connack_codes),
    };
    return cmocka_run_group_tests_name("codec_props", tests, NULL, NULL);
}
