/* Known-answer vectors: packets whose exact bytes follow from the specification
 * (encoded byte for byte, and decoded back), the shortest forms v5 requires of
 * the encoder, and the long forms the decoder must still accept. */
#include "codec_test_util.h"

/* ---- known-answer vectors */

static void k_pingreq(mqtt_packet *p)
{
    p->type = MQTT_PINGREQ;
}

static void k_pingresp(mqtt_packet *p)
{
    p->type = MQTT_PINGRESP;
}

static void k_connect_abc(mqtt_packet *p)
{
    p->type = MQTT_CONNECT;
    p->u.connect.clean_start = true;
    p->u.connect.keep_alive = 60;
    p->u.connect.client_id = tb("abc");
}

static void k_connect_abc_expiry(mqtt_packet *p)
{
    k_connect_abc(p);
    p->u.connect.props.present = MQTT_PROP_BIT(MQTT_PROP_SESSION_EXPIRY_INTERVAL);
    p->u.connect.props.session_expiry_interval = 3600;
}

static void k_connack_sp(mqtt_packet *p)
{
    p->type = MQTT_CONNACK;
    p->u.connack.session_present = true;
}

static void k_connack(mqtt_packet *p)
{
    p->type = MQTT_CONNACK;
}

static void k_publish_q1(mqtt_packet *p)
{
    p->type = MQTT_PUBLISH;
    p->u.publish.qos = 1;
    p->u.publish.topic = tb("a/b");
    p->u.publish.packet_id = 10;
    p->u.publish.payload = tb("hi");
}

static void k_publish_q0(mqtt_packet *p)
{
    k_publish_q1(p);
    p->u.publish.qos = 0;
    p->u.publish.packet_id = 0;
}

static void k_publish_pfi(mqtt_packet *p)
{
    p->type = MQTT_PUBLISH;
    p->u.publish.topic = tb("t");
    p->u.publish.payload = tb("x");
    p->u.publish.props.present = MQTT_PROP_BIT(MQTT_PROP_PAYLOAD_FORMAT_INDICATOR);
    p->u.publish.props.payload_format_indicator = 1;
}

static void k_puback(mqtt_packet *p)
{
    p->type = MQTT_PUBACK;
    p->u.ack.packet_id = 1;
}

static void k_puback_nms(mqtt_packet *p)
{
    k_puback(p);
    p->u.ack.reason_code = MQTT_RC_NO_MATCHING_SUBSCRIBERS;
}

static void k_pubrel(mqtt_packet *p)
{
    p->type = MQTT_PUBREL;
    p->u.ack.packet_id = 1;
}

static void k_subscribe(mqtt_packet *p)
{
    static const mqtt_subscription s[] = {{LIT("a/b"), 1, true, true, 1}};
    p->type = MQTT_SUBSCRIBE;
    p->u.subscribe.packet_id = 1;
    p->u.subscribe.entries = s;
    p->u.subscribe.count = 1;
}

static void k_subscribe_v311(mqtt_packet *p)
{
    static const mqtt_subscription s[] = {{LIT("a/b"), 1, false, false, 0}};
    k_subscribe(p);
    p->u.subscribe.entries = s;
}

static void k_suback(mqtt_packet *p)
{
    static const uint8_t codes[] = {0x01, 0x80};
    p->type = MQTT_SUBACK;
    p->u.suback.packet_id = 1;
    p->u.suback.reason_codes = tbin(codes, sizeof(codes));
}

static void k_unsubscribe(mqtt_packet *p)
{
    static const mqtt_bytes f[] = {LIT("a/b")};
    p->type = MQTT_UNSUBSCRIBE;
    p->u.unsubscribe.packet_id = 2;
    p->u.unsubscribe.filters = f;
    p->u.unsubscribe.count = 1;
}

static void k_unsuback(mqtt_packet *p)
{
    static const uint8_t codes[] = {0x11};
    p->type = MQTT_UNSUBACK;
    p->u.suback.packet_id = 1;
    p->u.suback.reason_codes = tbin(codes, sizeof(codes));
}

static void k_disconnect_will(mqtt_packet *p)
{
    p->type = MQTT_DISCONNECT;
    p->u.disconnect.reason_code = MQTT_RC_DISCONNECT_WITH_WILL;
}

static void k_disconnect(mqtt_packet *p)
{
    p->type = MQTT_DISCONNECT;
}

static void k_auth_success(mqtt_packet *p)
{
    p->type = MQTT_AUTH;
}

static void k_auth_continue(mqtt_packet *p)
{
    p->type = MQTT_AUTH;
    p->u.auth.reason_code = MQTT_RC_CONTINUE_AUTHENTICATION;
    p->u.auth.props.present = MQTT_PROP_BIT(MQTT_PROP_AUTHENTICATION_METHOD);
    p->u.auth.props.authentication_method = tb("X");
}

static const struct kat {
    const char *name;
    uint8_t version;
    builder_fn build;
    const uint8_t *bytes;
    size_t len;
} KATS[] = {
    {"v3.1.1 CONNECT id abc, clean, keep alive 60", MQTT_V311, k_connect_abc,
     BYTES(0x10, 0x0F, MQTT_NAME, 0x04, 0x02, 0x00, 0x3C, 0x00, 0x03, 'a', 'b', 'c')},
    {"v5 CONNECT id abc, no properties", MQTT_V5, k_connect_abc,
     BYTES(0x10, 0x10, MQTT_NAME, 0x05, 0x02, 0x00, 0x3C, 0x00, 0x00, 0x03, 'a', 'b', 'c')},
    {"v5 CONNECT session expiry 3600", MQTT_V5, k_connect_abc_expiry,
     BYTES(0x10, 0x15, MQTT_NAME, 0x05, 0x02, 0x00, 0x3C, 0x05, 0x11, 0x00, 0x00, 0x0E, 0x10, 0x00, 0x03, 'a',
           'b', 'c')},
    {"v3.1.1 CONNACK session present", MQTT_V311, k_connack_sp, BYTES(0x20, 0x02, 0x01, 0x00)},
    {"v5 CONNACK success, no properties", MQTT_V5, k_connack, BYTES(0x20, 0x03, 0x00, 0x00, 0x00)},
    {"v3.1.1 PUBLISH QoS 1", MQTT_V311, k_publish_q1,
     BYTES(0x32, 0x09, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x0A, 'h', 'i')},
    {"v5 PUBLISH QoS 0", MQTT_V5, k_publish_q0, BYTES(0x30, 0x08, 0x00, 0x03, 'a', '/', 'b', 0x00, 'h', 'i')},
    {"v5 PUBLISH payload format 1", MQTT_V5, k_publish_pfi,
     BYTES(0x30, 0x07, 0x00, 0x01, 't', 0x02, 0x01, 0x01, 'x')},
    {"v3.1.1 PUBACK", MQTT_V311, k_puback, BYTES(0x40, 0x02, 0x00, 0x01)},
    {"v5 PUBACK success: shortest form", MQTT_V5, k_puback, BYTES(0x40, 0x02, 0x00, 0x01)},
    {"v5 PUBACK 0x10 without properties", MQTT_V5, k_puback_nms, BYTES(0x40, 0x03, 0x00, 0x01, 0x10)},
    {"v3.1.1 PUBREL", MQTT_V311, k_pubrel, BYTES(0x62, 0x02, 0x00, 0x01)},
    {"v5 PUBREL success: shortest form", MQTT_V5, k_pubrel, BYTES(0x62, 0x02, 0x00, 0x01)},
    {"v3.1.1 SUBSCRIBE a/b QoS 1", MQTT_V311, k_subscribe_v311,
     BYTES(0x82, 0x08, 0x00, 0x01, 0x00, 0x03, 'a', '/', 'b', 0x01)},
    {"v5 SUBSCRIBE a/b QoS 1, NL, RAP, RH 1", MQTT_V5, k_subscribe,
     BYTES(0x82, 0x09, 0x00, 0x01, 0x00, 0x00, 0x03, 'a', '/', 'b', 0x1D)},
    {"v3.1.1 SUBACK [1, 0x80]", MQTT_V311, k_suback, BYTES(0x90, 0x04, 0x00, 0x01, 0x01, 0x80)},
    {"v5 SUBACK [1, 0x80]", MQTT_V5, k_suback, BYTES(0x90, 0x05, 0x00, 0x01, 0x00, 0x01, 0x80)},
    {"v3.1.1 UNSUBSCRIBE a/b", MQTT_V311, k_unsubscribe,
     BYTES(0xA2, 0x07, 0x00, 0x02, 0x00, 0x03, 'a', '/', 'b')},
    {"v3.1.1 UNSUBACK", MQTT_V311, k_unsuback, BYTES(0xB0, 0x02, 0x00, 0x01)},
    {"v5 UNSUBACK [0x11]", MQTT_V5, k_unsuback, BYTES(0xB0, 0x04, 0x00, 0x01, 0x00, 0x11)},
    {"v3.1.1 PINGREQ", MQTT_V311, k_pingreq, BYTES(0xC0, 0x00)},
    {"v5 PINGRESP", MQTT_V5, k_pingresp, BYTES(0xD0, 0x00)},
    {"v3.1.1 DISCONNECT", MQTT_V311, k_disconnect, BYTES(0xE0, 0x00)},
    {"v5 DISCONNECT normal: shortest form", MQTT_V5, k_disconnect, BYTES(0xE0, 0x00)},
    {"v5 DISCONNECT with will, no properties", MQTT_V5, k_disconnect_will, BYTES(0xE0, 0x01, 0x04)},
    {"v5 AUTH success: shortest form", MQTT_V5, k_auth_success, BYTES(0xF0, 0x00)},
    {"v5 AUTH continue, method X", MQTT_V5, k_auth_continue,
     BYTES(0xF0, 0x06, 0x18, 0x04, 0x15, 0x00, 0x01, 'X')},
};

static void test_known_answer_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(KATS); i++) {
        const struct kat *k = &KATS[i];
        mqtt_packet p, out;
        uint8_t buf[256];
        print_message("  %s\n", k->name);
        build_packet(&p, k->build, k->version);
        size_t n = ENCODE(&p, k->version, buf, sizeof(buf));
        assert_int_equal(k->len, n);
        assert_memory_equal(k->bytes, buf, n);
        DECODE_OK(k->bytes, k->len, k->version, receiver_role(p.type), &out);
        ASSERT_PACKET_EQ(&p, &out, k->version);
    }
}

/* v5 acks, DISCONNECT and AUTH may carry the reason code and property length
 * even when they could be left out (sections 3.4.2.1, 3.14.2.1, 3.15.2.1). */
static void test_long_forms_accepted(void **state)
{
    (void)state;
    const struct {
        const char *name;
        const uint8_t *bytes;
        size_t len;
    } forms[] = {
        {"PUBACK with reason 0", BYTES(0x40, 0x03, 0x00, 0x01, 0x00)},
        {"PUBACK with reason 0, property length 0", BYTES(0x40, 0x04, 0x00, 0x01, 0x00, 0x00)},
        {"PUBREC with reason 0", BYTES(0x50, 0x03, 0x00, 0x01, 0x00)},
        {"PUBREL with reason 0, property length 0", BYTES(0x62, 0x04, 0x00, 0x01, 0x00, 0x00)},
        {"PUBCOMP with reason 0, property length 0", BYTES(0x70, 0x04, 0x00, 0x01, 0x00, 0x00)},
        {"DISCONNECT with reason 0", BYTES(0xE0, 0x01, 0x00)},
        {"DISCONNECT with reason 0, property length 0", BYTES(0xE0, 0x02, 0x00, 0x00)},
        {"AUTH with reason 0, property length 0", BYTES(0xF0, 0x02, 0x00, 0x00)},
    };
    for (size_t i = 0; i < ARRAY_LEN(forms); i++) {
        mqtt_packet out;
        print_message("  %s\n", forms[i].name);
        DECODE_OK(forms[i].bytes, forms[i].len, MQTT_V5, MQTT_ROLE_SERVER, &out);
        const mqtt_properties *pr =
            out.type == MQTT_DISCONNECT || out.type == MQTT_AUTH ? &out.u.disconnect.props : &out.u.ack.props;
        uint8_t reason = out.type == MQTT_DISCONNECT || out.type == MQTT_AUTH ? out.u.disconnect.reason_code
                                                                              : out.u.ack.reason_code;
        assert_int_equal(0, reason);
        assert_int_equal(0, pr->present);
        assert_int_equal(0, pr->user_property_count);
        if (out.type != MQTT_DISCONNECT && out.type != MQTT_AUTH)
            assert_int_equal(1, out.u.ack.packet_id);
    }
}

/* v5 acks: reason 0 and no properties is 2 bytes, a reason alone 3 bytes. */
static void test_v5_ack_shortest_forms(void **state)
{
    (void)state;
    static const uint8_t types[] = {MQTT_PUBACK, MQTT_PUBREC, MQTT_PUBREL, MQTT_PUBCOMP};
    for (size_t i = 0; i < ARRAY_LEN(types); i++) {
        mqtt_packet p = {.type = types[i]}, out;
        uint8_t buf[64];
        p.u.ack.packet_id = 0xABCD;
        assert_int_equal(4, ROUNDTRIP(&p, MQTT_V5, MQTT_ROLE_SERVER, buf, sizeof(buf), &out));
        p.u.ack.reason_code =
            types[i] >= MQTT_PUBREL ? MQTT_RC_PACKET_IDENTIFIER_NOT_FOUND : MQTT_RC_UNSPECIFIED_ERROR;
        assert_int_equal(5, ROUNDTRIP(&p, MQTT_V5, MQTT_ROLE_SERVER, buf, sizeof(buf), &out));
        assert_int_equal(p.u.ack.reason_code, buf[4]);
        p.u.ack.props.present = MQTT_PROP_BIT(MQTT_PROP_REASON_STRING);
        p.u.ack.props.reason_string = tb("r");
        assert_int_equal(10, ROUNDTRIP(&p, MQTT_V5, MQTT_ROLE_SERVER, buf, sizeof(buf), &out));
        /* With properties the reason code must be written even when 0. */
        p.u.ack.reason_code = 0;
        assert_int_equal(10, ROUNDTRIP(&p, MQTT_V5, MQTT_ROLE_SERVER, buf, sizeof(buf), &out));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer_vectors),
        cmocka_unit_test(test_long_forms_accepted),
        cmocka_unit_test(test_v5_ack_shortest_forms),
    };
    return cmocka_run_group_tests_name("codec_vectors", tests, NULL, NULL);
}
