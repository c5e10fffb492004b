/* Codec round trips: every packet type is built, encoded, framed, decoded and
 * compared field by field, in v3.1.1 and in v5; known-answer vectors from the
 * specification; the long forms the decoder must accept; SUBSCRIBE options;
 * CONNECT variants; forwarding a decoded PUBLISH. */
#include "codec_test_util.h"

#define BUF_CAP 4096

/* ---- rich packets, one per type */

static const mqtt_user_property UP2[] = {UPROP("region", "eu-west"), UPROP("trace", "a1b2")};
static const mqtt_user_property UP1[] = {UPROP("k", "v")};

static void set_user_props(mqtt_properties *pr, const mqtt_user_property *up, uint32_t n)
{
    pr->user_properties = up;
    pr->user_property_count = n;
}

static void b_connect_minimal(mqtt_packet *p)
{
    p->type = MQTT_CONNECT;
    p->u.connect.clean_start = true;
    p->u.connect.keep_alive = 60;
    p->u.connect.client_id = tb("client-1");
}

static void b_connect_full(mqtt_packet *p)
{
    static const uint8_t pass[] = {0x00, 0xFF, 0x10, 's', 'e', 'c'};
    static const uint8_t corr[] = {0xDE, 0xAD, 0x00, 0xBE, 0xEF};
    static const uint8_t adata[] = {1, 2, 3, 0, 4};
    mqtt_connect *c = &p->u.connect;
    p->type = MQTT_CONNECT;
    c->clean_start = false;
    c->keep_alive = 0xFFFF;
    c->client_id = tb("device-42");
    c->will_flag = true;
    c->will_qos = 1;
    c->will_retain = true;
    c->will_topic = tb("devices/42/status");
    c->will_payload = tb("offline \xC3\xA9t\xC3\xA9");
    c->has_username = true;
    c->username = tb("alice");
    c->has_password = true;
    c->password = tbin(pass, sizeof(pass));

    mqtt_properties *pr = &c->props;
    pr->present =
        MQTT_PROP_BIT(MQTT_PROP_SESSION_EXPIRY_INTERVAL) | MQTT_PROP_BIT(MQTT_PROP_RECEIVE_MAXIMUM) |
        MQTT_PROP_BIT(MQTT_PROP_MAXIMUM_PACKET_SIZE) | MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS_MAXIMUM) |
        MQTT_PROP_BIT(MQTT_PROP_REQUEST_RESPONSE_INFORMATION) |
        MQTT_PROP_BIT(MQTT_PROP_REQUEST_PROBLEM_INFORMATION) |
        MQTT_PROP_BIT(MQTT_PROP_AUTHENTICATION_METHOD) | MQTT_PROP_BIT(MQTT_PROP_AUTHENTICATION_DATA);
    pr->session_expiry_interval = 3600;
    pr->receive_maximum = 20;
    pr->maximum_packet_size = 65536;
    pr->topic_alias_maximum = 10;
    pr->request_response_information = 1;
    pr->request_problem_information = 0;
    pr->authentication_method = tb("SCRAM-SHA-1");
    pr->authentication_data = tbin(adata, sizeof(adata));
    set_user_props(pr, UP2, 2);

    mqtt_properties *wp = &c->will_props;
    wp->present = MQTT_PROP_BIT(MQTT_PROP_WILL_DELAY_INTERVAL) |
                  MQTT_PROP_BIT(MQTT_PROP_PAYLOAD_FORMAT_INDICATOR) |
                  MQTT_PROP_BIT(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL) | MQTT_PROP_BIT(MQTT_PROP_CONTENT_TYPE) |
                  MQTT_PROP_BIT(MQTT_PROP_RESPONSE_TOPIC) | MQTT_PROP_BIT(MQTT_PROP_CORRELATION_DATA);
    wp->will_delay_interval = 30;
    wp->payload_format_indicator = 1;
    wp->message_expiry_interval = 120;
    wp->content_type = tb("text/plain");
    wp->response_topic = tb("devices/42/reply");
    wp->correlation_data = tbin(corr, sizeof(corr));
    set_user_props(wp, UP1, 1);
}

static void b_connack(mqtt_packet *p)
{
    static const uint8_t adata[] = {9, 8, 7};
    mqtt_properties *pr = &p->u.connack.props;
    p->type = MQTT_CONNACK;
    p->u.connack.session_present = true;
    p->u.connack.reason_code = 0;
    pset_int(pr, MQTT_PROP_SESSION_EXPIRY_INTERVAL, 7200);
    pset_str(pr, MQTT_PROP_ASSIGNED_CLIENT_IDENTIFIER, "auto-1F3A");
    pset_int(pr, MQTT_PROP_SERVER_KEEP_ALIVE, 30);
    pset_str(pr, MQTT_PROP_AUTHENTICATION_METHOD, "SCRAM-SHA-1");
    pset_bin(pr, MQTT_PROP_AUTHENTICATION_DATA, adata, sizeof(adata));
    pset_str(pr, MQTT_PROP_RESPONSE_INFORMATION, "resp/info");
    pset_str(pr, MQTT_PROP_SERVER_REFERENCE, "other.example:1883");
    pset_str(pr, MQTT_PROP_REASON_STRING, "welcome");
    pset_int(pr, MQTT_PROP_RECEIVE_MAXIMUM, 100);
    pset_int(pr, MQTT_PROP_TOPIC_ALIAS_MAXIMUM, 16);
    pset_int(pr, MQTT_PROP_MAXIMUM_QOS, 1);
    pset_int(pr, MQTT_PROP_RETAIN_AVAILABLE, 1);
    pset_int(pr, MQTT_PROP_MAXIMUM_PACKET_SIZE, 1u << 20);
    pset_int(pr, MQTT_PROP_WILDCARD_SUBSCRIPTION_AVAILABLE, 1);
    pset_int(pr, MQTT_PROP_SUBSCRIPTION_IDENTIFIER_AVAILABLE, 0);
    pset_int(pr, MQTT_PROP_SHARED_SUBSCRIPTION_AVAILABLE, 1);
    set_user_props(pr, UP2, 2);
}

static void b_connack_refused(mqtt_packet *p)
{
    p->type = MQTT_CONNACK;
    p->u.connack.reason_code = 5; /* v3.1.1 not authorized; v5 0x05 is not a CONNACK code */
}

static void b_connack_refused_v5(mqtt_packet *p)
{
    p->type = MQTT_CONNACK;
    p->u.connack.reason_code = MQTT_RC_NOT_AUTHORIZED;
    p->u.connack.props.present = MQTT_PROP_BIT(MQTT_PROP_REASON_STRING);
    p->u.connack.props.reason_string = tb("acl");
}

static void b_publish_qos0(mqtt_packet *p)
{
    p->type = MQTT_PUBLISH;
    p->u.publish.retain = true;
    p->u.publish.topic = tb("a/b");
    p->u.publish.payload = tb("hello");
}

static void b_publish_qos1(mqtt_packet *p)
{
    static const uint8_t corr[] = {0, 1, 2, 0xFF};
    mqtt_publish *m = &p->u.publish;
    p->type = MQTT_PUBLISH;
    m->dup = true;
    m->qos = 1;
    m->topic = tb("sensors/\xE6\xB8\xA9\xE5\xBA\xA6/1");
    m->packet_id = 0x1234;
    m->payload = tb("{\"t\":21.5}");
    m->props.present = MQTT_PROP_BIT(MQTT_PROP_PAYLOAD_FORMAT_INDICATOR) |
                       MQTT_PROP_BIT(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL) |
                       MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS) | MQTT_PROP_BIT(MQTT_PROP_RESPONSE_TOPIC) |
                       MQTT_PROP_BIT(MQTT_PROP_CORRELATION_DATA) | MQTT_PROP_BIT(MQTT_PROP_CONTENT_TYPE);
    m->props.payload_format_indicator = 1;
    m->props.message_expiry_interval = 86400;
    m->props.topic_alias = 5;
    m->props.response_topic = tb("replies/1");
    m->props.correlation_data = tbin(corr, sizeof(corr));
    m->props.content_type = tb("application/json");
    set_user_props(&m->props, UP2, 2);
}

static void b_publish_qos2(mqtt_packet *p)
{
    static const uint8_t bin[] = {0x00, 0xC0, 0xFF, 0xFE};
    p->type = MQTT_PUBLISH;
    p->u.publish.qos = 2;
    p->u.publish.topic = tb("$SYS/x");
    p->u.publish.packet_id = 0xFFFF;
    p->u.publish.payload = tbin(bin, sizeof(bin));
}

static void b_publish_empty(mqtt_packet *p)
{
    p->type = MQTT_PUBLISH;
    p->u.publish.qos = 1;
    p->u.publish.packet_id = 1;
    p->u.publish.topic = tb("t");
}

/* Server to client only: Subscription Identifiers. */
static void b_publish_subids(mqtt_packet *p)
{
    static const uint32_t ids[] = {1, 127, 128, 16384, MQTT_VARINT_MAX};
    b_publish_qos0(p);
    p->u.publish.props.subscription_ids = ids;
    p->u.publish.props.subscription_id_count = ARRAY_LEN(ids);
}

static void ack(mqtt_packet *p, uint8_t type, uint16_t id, uint8_t reason)
{
    p->type = type;
    p->u.ack.packet_id = id;
    p->u.ack.reason_code = reason;
    p->u.ack.props.present = MQTT_PROP_BIT(MQTT_PROP_REASON_STRING);
    p->u.ack.props.reason_string = tb("why not");
    set_user_props(&p->u.ack.props, UP1, 1);
}

static void b_puback(mqtt_packet *p)
{
    ack(p, MQTT_PUBACK, 0x0102, MQTT_RC_NO_MATCHING_SUBSCRIBERS);
}

static void b_pubrec(mqtt_packet *p)
{
    ack(p, MQTT_PUBREC, 0xFFFF, MQTT_RC_QUOTA_EXCEEDED);
}

static void b_pubrel(mqtt_packet *p)
{
    ack(p, MQTT_PUBREL, 1, MQTT_RC_PACKET_IDENTIFIER_NOT_FOUND);
}

static void b_pubcomp(mqtt_packet *p)
{
    ack(p, MQTT_PUBCOMP, 77, 0);
}

static const mqtt_subscription SUBS3[] = {
    {LIT("a/+/c"), 0, false, false, 0},
    {LIT("sport/#"), 1, true, false, 1},
    {LIT("$share/g1/x/\xC3\xA9"), 2, false, true, 2},
};

static void b_subscribe(mqtt_packet *p)
{
    p->type = MQTT_SUBSCRIBE;
    p->u.subscribe.packet_id = 7;
    p->u.subscribe.entries = SUBS3;
    p->u.subscribe.count = ARRAY_LEN(SUBS3);
    static const uint32_t subid[] = {42};
    p->u.subscribe.props.subscription_ids = subid;
    p->u.subscribe.props.subscription_id_count = 1;
    set_user_props(&p->u.subscribe.props, UP1, 1);
}

static void b_suback(mqtt_packet *p)
{
    static const uint8_t codes[] = {0x00, 0x01, 0x02, 0x80};
    p->type = MQTT_SUBACK;
    p->u.suback.packet_id = 7;
    p->u.suback.reason_codes = tbin(codes, sizeof(codes));
    p->u.suback.props.present = MQTT_PROP_BIT(MQTT_PROP_REASON_STRING);
    p->u.suback.props.reason_string = tb("partial");
}

static const mqtt_bytes FILTERS3[] = {LIT("a/b"), LIT("+/#"), LIT("\xF0\x9F\x98\x80/x")};

static void b_unsubscribe(mqtt_packet *p)
{
    p->type = MQTT_UNSUBSCRIBE;
    p->u.unsubscribe.packet_id = 8;
    p->u.unsubscribe.filters = FILTERS3;
    p->u.unsubscribe.count = ARRAY_LEN(FILTERS3);
    set_user_props(&p->u.unsubscribe.props, UP2, 2);
}

static void b_unsuback(mqtt_packet *p)
{
    static const uint8_t codes[] = {0x00, 0x11, 0x87};
    p->type = MQTT_UNSUBACK;
    p->u.suback.packet_id = 8;
    p->u.suback.reason_codes = tbin(codes, sizeof(codes));
    set_user_props(&p->u.suback.props, UP1, 1);
}

static void b_pingreq(mqtt_packet *p)
{
    p->type = MQTT_PINGREQ;
}

static void b_pingresp(mqtt_packet *p)
{
    p->type = MQTT_PINGRESP;
}

static void b_disconnect(mqtt_packet *p)
{
    p->type = MQTT_DISCONNECT;
    p->u.disconnect.reason_code = MQTT_RC_DISCONNECT_WITH_WILL;
    p->u.disconnect.props.present =
        MQTT_PROP_BIT(MQTT_PROP_SESSION_EXPIRY_INTERVAL) | MQTT_PROP_BIT(MQTT_PROP_REASON_STRING);
    p->u.disconnect.props.session_expiry_interval = 0;
    p->u.disconnect.props.reason_string = tb("bye");
    set_user_props(&p->u.disconnect.props, UP1, 1);
}

static void b_disconnect_server(mqtt_packet *p)
{
    p->type = MQTT_DISCONNECT;
    p->u.disconnect.reason_code = MQTT_RC_SERVER_MOVED;
    p->u.disconnect.props.present = MQTT_PROP_BIT(MQTT_PROP_SERVER_REFERENCE);
    p->u.disconnect.props.server_reference = tb("other:1883");
}

static void b_auth(mqtt_packet *p)
{
    static const uint8_t adata[] = {0xAA, 0x00, 0x55};
    p->type = MQTT_AUTH;
    p->u.auth.reason_code = MQTT_RC_CONTINUE_AUTHENTICATION;
    p->u.auth.props.present = MQTT_PROP_BIT(MQTT_PROP_AUTHENTICATION_METHOD) |
                              MQTT_PROP_BIT(MQTT_PROP_AUTHENTICATION_DATA) |
                              MQTT_PROP_BIT(MQTT_PROP_REASON_STRING);
    p->u.auth.props.authentication_method = tb("SCRAM-SHA-1");
    p->u.auth.props.authentication_data = tbin(adata, sizeof(adata));
    p->u.auth.props.reason_string = tb("step 2");
    set_user_props(&p->u.auth.props, UP1, 1);
}

/* ---- every packet type, both versions, every receiving role */

#define TO_SERVER 1u
#define TO_CLIENT 2u
#define V311 1u
#define V5 2u

static const struct rt_case {
    const char *name;
    builder_fn build;
    unsigned versions;
    unsigned roles; /* who may receive it */
} RT_CASES[] = {
    {"CONNECT minimal", b_connect_minimal, V311 | V5, TO_SERVER},
    {"CONNECT will, credentials, properties", b_connect_full, V311 | V5, TO_SERVER},
    {"CONNACK with every CONNACK property", b_connack, V311 | V5, TO_CLIENT},
    {"CONNACK refused (v3.1.1 code 5)", b_connack_refused, V311, TO_CLIENT},
    {"CONNACK refused (v5 0x87)", b_connack_refused_v5, V5, TO_CLIENT},
    {"PUBLISH QoS 0 retained", b_publish_qos0, V311 | V5, TO_SERVER | TO_CLIENT},
    {"PUBLISH QoS 1 dup, properties", b_publish_qos1, V311 | V5, TO_SERVER | TO_CLIENT},
    {"PUBLISH QoS 2 binary payload, id 65535", b_publish_qos2, V311 | V5, TO_SERVER | TO_CLIENT},
    {"PUBLISH empty payload", b_publish_empty, V311 | V5, TO_SERVER | TO_CLIENT},
    {"PUBLISH with subscription identifiers", b_publish_subids, V311 | V5, TO_CLIENT},
    {"PUBACK", b_puback, V311 | V5, TO_SERVER | TO_CLIENT},
    {"PUBREC", b_pubrec, V311 | V5, TO_SERVER | TO_CLIENT},
    {"PUBREL", b_pubrel, V311 | V5, TO_SERVER | TO_CLIENT},
    {"PUBCOMP", b_pubcomp, V311 | V5, TO_SERVER | TO_CLIENT},
    {"SUBSCRIBE", b_subscribe, V311 | V5, TO_SERVER},
    {"SUBACK", b_suback, V311 | V5, TO_CLIENT},
    {"UNSUBSCRIBE", b_unsubscribe, V311 | V5, TO_SERVER},
    {"UNSUBACK", b_unsuback, V311 | V5, TO_CLIENT},
    {"PINGREQ", b_pingreq, V311 | V5, TO_SERVER},
    {"PINGRESP", b_pingresp, V311 | V5, TO_CLIENT},
    {"DISCONNECT from client", b_disconnect, V311 | V5, TO_SERVER},
    {"DISCONNECT from server", b_disconnect_server, V5, TO_CLIENT},
    {"AUTH", b_auth, V5, TO_SERVER | TO_CLIENT},
};

static void test_roundtrip_every_type(void **state)
{
    (void)state;
    static const struct {
        unsigned bit;
        uint8_t version;
    } versions[] = {{V311, MQTT_V311}, {V5, MQTT_V5}};
    uint8_t buf[BUF_CAP];
    unsigned runs = 0;

    for (size_t i = 0; i < ARRAY_LEN(RT_CASES); i++) {
        const struct rt_case *c = &RT_CASES[i];
        for (size_t v = 0; v < ARRAY_LEN(versions); v++) {
            if (!(c->versions & versions[v].bit))
                continue;
            for (unsigned r = 0; r < 2; r++) {
                if (!(c->roles & (r ? TO_CLIENT : TO_SERVER)))
                    continue;
                mqtt_packet p, out;
                print_message("  %s, v%u, role %s\n", c->name, versions[v].version, r ? "client" : "server");
                build_packet(&p, c->build, versions[v].version);
                ROUNDTRIP(&p, versions[v].version, r ? MQTT_ROLE_CLIENT : MQTT_ROLE_SERVER, buf, sizeof(buf),
                          &out);
                runs++;
            }
        }
    }
    assert_true(runs >= 50);
}

static void test_auth_not_encodable_in_v311(void **state)
{
    (void)state;
    mqtt_packet p;
    uint8_t buf[64];
    build_packet(&p, b_auth, MQTT_V311);
    assert_int_equal(0, mqtt_encoded_length(&p, MQTT_V311));
    assert_int_equal(0, mqtt_encode(&p, MQTT_V311, buf, sizeof(buf)));
}

/* ---- SUBSCRIBE / UNSUBSCRIBE / SUBACK / UNSUBACK */

/* Every Subscription Options combination valid in v5: 3 QoS x NL x RAP x 3 RH. */
static void test_subscribe_all_option_combinations(void **state)
{
    (void)state;
    enum { N = 3 * 2 * 2 * 3 };
    static char names[N][8];
    mqtt_subscription subs[N];
    for (unsigned i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "f/%u", i);
        subs[i] =
            (mqtt_subscription){tb(names[i]), (uint8_t)(i % 3), (i / 3) % 2, (i / 6) % 2, (uint8_t)(i / 12)};
    }
    mqtt_packet p = {.type = MQTT_SUBSCRIBE}, out;
    p.u.subscribe.packet_id = 99;
    p.u.subscribe.entries = subs;
    p.u.subscribe.count = N;
    uint8_t buf[BUF_CAP];

    /* The iterator walks a built packet over its entries. */
    size_t pos = 0;
    mqtt_subscription s;
    for (unsigned i = 0; i < N; i++) {
        assert_true(mqtt_subscribe_next(&p.u.subscribe, &pos, &s));
        ASSERT_BYTES_EQ(subs[i].filter, s.filter);
        assert_int_equal(subs[i].retain_handling, s.retain_handling);
    }
    assert_false(mqtt_subscribe_next(&p.u.subscribe, &pos, &s));

    ROUNDTRIP(&p, MQTT_V5, MQTT_ROLE_SERVER, buf, sizeof(buf), &out);
    ROUNDTRIP(&p, MQTT_V311, MQTT_ROLE_SERVER, buf, sizeof(buf), &out);

    /* Wire layout of the options byte (section 3.8.3.1), one filter at a time. */
    for (unsigned i = 0; i < N; i++) {
        p.u.subscribe.entries = &subs[i];
        p.u.subscribe.count = 1;
        size_t n = ROUNDTRIP(&p, MQTT_V5, MQTT_ROLE_SERVER, buf, sizeof(buf), &out);
        uint8_t want = (uint8_t)(subs[i].qos | subs[i].no_local << 2 | subs[i].retain_as_published << 3 |
                                 subs[i].retain_handling << 4);
        assert_int_equal(want, buf[n - 1]);
        n = ROUNDTRIP(&p, MQTT_V311, MQTT_ROLE_SERVER, buf, sizeof(buf), &out);
        assert_int_equal(subs[i].qos, buf[n - 1]);
    }
}

static void test_unsubscribe_iteration(void **state)
{
    (void)state;
    mqtt_packet p, out;
    uint8_t buf[BUF_CAP];
    build_packet(&p, b_unsubscribe, MQTT_V5);
    size_t pos = 0;
    mqtt_bytes f;
    for (size_t i = 0; i < ARRAY_LEN(FILTERS3); i++) {
        assert_true(mqtt_unsubscribe_next(&p.u.unsubscribe, &pos, &f));
        ASSERT_BYTES_EQ(FILTERS3[i], f);
    }
    assert_false(mqtt_unsubscribe_next(&p.u.unsubscribe, &pos, &f));

    const uint8_t versions[] = {MQTT_V311, MQTT_V5};
    for (size_t v = 0; v < ARRAY_LEN(versions); v++) {
        ROUNDTRIP(&p, versions[v], MQTT_ROLE_SERVER, buf, sizeof(buf), &out);
        pos = 0;
        for (size_t i = 0; i < ARRAY_LEN(FILTERS3); i++) {
            assert_true(mqtt_unsubscribe_next(&out.u.unsubscribe, &pos, &f));
            ASSERT_BYTES_EQ(FILTERS3[i], f);
        }
        assert_false(mqtt_unsubscribe_next(&out.u.unsubscribe, &pos, &f));
    }
}

static void check_ack_list(uint8_t type, uint8_t version, const uint8_t *codes, size_t n)
{
    mqtt_packet p = {.type = type}, out;
    uint8_t buf[BUF_CAP];
    p.u.suback.packet_id = 0x4242;
    p.u.suback.reason_codes = tbin(codes, n);
    size_t len = ROUNDTRIP(&p, version, MQTT_ROLE_CLIENT, buf, sizeof(buf), &out);
    if (version == MQTT_V311 && type == MQTT_UNSUBACK)
        return;
    assert_memory_equal(codes, buf + len - n, n); /* the list ends the packet */
}

static void test_suback_unsuback_reason_lists(void **state)
{
    (void)state;
    static const uint8_t suback_v5[] = {0x00, 0x01, 0x02, 0x80, 0x83, 0x87,
                                        0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2};
    static const uint8_t suback_v311[] = {0x00, 0x01, 0x02, 0x80, 0x02, 0x00};
    static const uint8_t unsuback_v5[] = {0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91};
    uint8_t many[300];
    for (size_t i = 0; i < sizeof(many); i++)
        many[i] = (uint8_t)(i % 3);

    check_ack_list(MQTT_SUBACK, MQTT_V5, suback_v5, sizeof(suback_v5));
    check_ack_list(MQTT_SUBACK, MQTT_V311, suback_v311, sizeof(suback_v311));
    check_ack_list(MQTT_SUBACK, MQTT_V5, many, sizeof(many));
    check_ack_list(MQTT_UNSUBACK, MQTT_V5, unsuback_v5, sizeof(unsuback_v5));
    check_ack_list(MQTT_UNSUBACK, MQTT_V311, unsuback_v5, 1);
}

/* ---- CONNECT variants */

/* The Connect Flags byte of an encoded CONNECT: after the 7 bytes of protocol
 * name and level. */
static uint8_t connect_flags(const uint8_t *buf, size_t n)
{
    mqtt_frame fr;
    mqtt_error err;
    assert_int_equal(MQTT_FRAME_OK, mqtt_frame_parse(buf, n, 0, &fr, &err));
    return buf[fr.header_len + 7];
}

static void test_connect_credentials(void **state)
{
    (void)state;
    static const struct {
        bool user, pass;
        const char *u, *pw;
        unsigned versions;
    } combos[] = {
        {false, false, "", "", V311 | V5},
        {true, false, "bob", "", V311 | V5},
        {true, true, "bob", "s3cret", V311 | V5},
        {true, true, "", "", V311 | V5},     /* both present, both empty */
        {false, true, "", "token-only", V5}, /* v5 allows a password alone (3.1.2.9) */
    };
    const uint8_t versions[] = {MQTT_V311, MQTT_V5};
    for (size_t i = 0; i < ARRAY_LEN(combos); i++) {
        for (size_t v = 0; v < ARRAY_LEN(versions); v++) {
            if (!(combos[i].versions & (versions[v] == MQTT_V5 ? V5 : V311)))
                continue;
            mqtt_packet p, out;
            uint8_t buf[BUF_CAP];
            build_packet(&p, b_connect_minimal, versions[v]);
            p.u.connect.has_username = combos[i].user;
            p.u.connect.username = tb(combos[i].u);
            p.u.connect.has_password = combos[i].pass;
            p.u.connect.password = tb(combos[i].pw);
            size_t n = ROUNDTRIP(&p, versions[v], MQTT_ROLE_SERVER, buf, sizeof(buf), &out);
            /* Connect Flags: bit 7 user name, bit 6 password. */
            assert_int_equal((combos[i].user ? 0x80 : 0) | (combos[i].pass ? 0x40 : 0),
                             connect_flags(buf, n) & 0xC0);
        }
    }
}

static void test_connect_will_variants(void **state)
{
    (void)state;
    const uint8_t versions[] = {MQTT_V311, MQTT_V5};
    for (size_t v = 0; v < ARRAY_LEN(versions); v++) {
        for (uint8_t qos = 0; qos <= 2; qos++) {
            for (int retain = 0; retain <= 1; retain++) {
                mqtt_packet p, out;
                uint8_t buf[BUF_CAP];
                build_packet(&p, b_connect_full, versions[v]);
                p.u.connect.will_qos = qos;
                p.u.connect.will_retain = retain;
                size_t n = ROUNDTRIP(&p, versions[v], MQTT_ROLE_SERVER, buf, sizeof(buf), &out);
                assert_int_equal(0x04 | qos << 3 | retain << 5, connect_flags(buf, n) & 0x3C);
            }
        }
        /* Will with an empty payload and no will properties. */
        mqtt_packet p, out;
        uint8_t buf[BUF_CAP];
        build_packet(&p, b_connect_full, versions[v]);
        p.u.connect.will_payload = tb("");
        p.u.connect.will_props = (mqtt_properties){0};
        ROUNDTRIP(&p, versions[v], MQTT_ROLE_SERVER, buf, sizeof(buf), &out);
    }
}

static void test_connect_empty_client_id(void **state)
{
    (void)state;
    static const struct {
        uint8_t version;
        bool clean;
    } ok[] = {{MQTT_V311, true}, {MQTT_V5, true}, {MQTT_V5, false}};
    for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
        mqtt_packet p, out;
        uint8_t buf[BUF_CAP];
        build_packet(&p, b_connect_minimal, ok[i].version);
        p.u.connect.client_id = tb("");
        p.u.connect.clean_start = ok[i].clean;
        ROUNDTRIP(&p, ok[i].version, MQTT_ROLE_SERVER, buf, sizeof(buf), &out);
        assert_int_equal(0, out.u.connect.client_id.len);
    }
}

/* ---- forwarding: encode a decoded PUBLISH (arrays NULL, block kept) */

static void test_forward_decoded_publish(void **state)
{
    (void)state;
    static const uint32_t ids[] = {3, 300, 70000};
    static const uint32_t mine[] = {9};
    mqtt_packet p, in, out;
    uint8_t wire[BUF_CAP], fwd[BUF_CAP];

    /* Received by a client with subscription ids, re-encoded as decoded: the
     * encoder copies both repeated properties from the block. */
    build_packet(&p, b_publish_qos1, MQTT_V5);
    p.u.publish.props.subscription_ids = ids;
    p.u.publish.props.subscription_id_count = ARRAY_LEN(ids);
    ROUNDTRIP(&p, MQTT_V5, MQTT_ROLE_CLIENT, wire, sizeof(wire), &in);
    assert_null(in.u.publish.props.user_properties);
    assert_null(in.u.publish.props.subscription_ids);
    assert_true(in.u.publish.props.block.len > 0);
    size_t n = ENCODE(&in, MQTT_V5, fwd, sizeof(fwd));
    DECODE_OK(fwd, n, MQTT_V5, MQTT_ROLE_CLIENT, &out);
    ASSERT_PACKET_EQ(&p, &out, MQTT_V5);
    ASSERT_PACKET_EQ(&in, &out, MQTT_V5);

    /* Received by the broker from a publisher, forwarded with another QoS and
     * packet id and the subscriber's subscription id set from an array, the
     * user properties still coming from the block. */
    build_packet(&p, b_publish_qos1, MQTT_V5);
    ROUNDTRIP(&p, MQTT_V5, MQTT_ROLE_SERVER, wire, sizeof(wire), &in);
    mqtt_packet f = in;
    f.u.publish.qos = 2;
    f.u.publish.dup = false;
    f.u.publish.packet_id = 500;
    f.u.publish.props.subscription_ids = mine;
    f.u.publish.props.subscription_id_count = ARRAY_LEN(mine);
    n = ENCODE(&f, MQTT_V5, fwd, sizeof(fwd));
    DECODE_OK(fwd, n, MQTT_V5, MQTT_ROLE_CLIENT, &out);
    ASSERT_PACKET_EQ(&f, &out, MQTT_V5);

    /* Forwarded to a v3.1.1 subscriber: properties are left out. */
    n = ENCODE(&in, MQTT_V311, fwd, sizeof(fwd));
    DECODE_OK(fwd, n, MQTT_V311, MQTT_ROLE_CLIENT, &out);
    ASSERT_PACKET_EQ(&in, &out, MQTT_V311);
}

/* The decoder sets every field it owns, whatever the output held before. */
static void test_decode_initialises_output(void **state)
{
    (void)state;
    mqtt_packet p, out;
    uint8_t buf[BUF_CAP];
    mqtt_error err;
    build_packet(&p, b_publish_qos0, MQTT_V5);
    size_t n = ENCODE(&p, MQTT_V5, buf, sizeof(buf));
    memset(&out, 0xA5, sizeof(out));
    assert_int_equal(0, mqtt_decode(buf, n, MQTT_V5, MQTT_ROLE_SERVER, &out, &err));
    ASSERT_PACKET_EQ(&p, &out, MQTT_V5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_every_type),
        cmocka_unit_test(test_auth_not_encodable_in_v311),
        cmocka_unit_test(test_subscribe_all_option_combinations),
        cmocka_unit_test(test_unsubscribe_iteration),
        cmocka_unit_test(test_suback_unsuback_reason_lists),
        cmocka_unit_test(test_connect_credentials),
        cmocka_unit_test(test_connect_will_variants),
        cmocka_unit_test(test_connect_empty_client_id),
        cmocka_unit_test(test_forward_decoded_publish),
        cmocka_unit_test(test_decode_initialises_output),
    };
    return cmocka_run_group_tests_name("codec_roundtrip", tests, NULL, NULL);
}
