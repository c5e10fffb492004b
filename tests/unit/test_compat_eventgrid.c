/* Event Grid compatibility decisions (compat_eventgrid.h): each refusal's reason code, and what
 * is left alone. The broker's use of them is tested end to end (test_compat_eventgrid.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "compat_eventgrid.h"
#include "mqtt_types.h"

static mqtt_bytes text(const char *s)
{
    return (mqtt_bytes){(const uint8_t *)s, (uint32_t)strlen(s)};
}

static void test_connect(void **state)
{
    (void)state;
    const char *why = NULL;
    mqtt_connect in = {.client_id = text("dev1"), .protocol_version = MQTT_V5};
    assert_int_equal(compat_eventgrid_connect_refusal(&in, &why), 0);
    in.will_flag = true;
    assert_int_equal(compat_eventgrid_connect_refusal(&in, &why), MQTT_RC_IMPLEMENTATION_SPECIFIC_ERROR);
    assert_non_null(strstr(why, "will"));
    in.will_flag = false;
    in.client_id = text("");
    assert_int_equal(compat_eventgrid_connect_refusal(&in, &why), MQTT_RC_CLIENT_IDENTIFIER_NOT_VALID);
}

static void test_connack(void **state)
{
    (void)state;
    mqtt_properties p = {.present = MQTT_PROP_BIT(MQTT_PROP_RESPONSE_INFORMATION) |
                                    MQTT_PROP_BIT(MQTT_PROP_RETAIN_AVAILABLE) |
                                    MQTT_PROP_BIT(MQTT_PROP_WILDCARD_SUBSCRIPTION_AVAILABLE),
                         .retain_available = 1,
                         .wildcard_subscription_available = 1,
                         .subscription_identifier_available = 1,
                         .shared_subscription_available = 1};
    compat_eventgrid_connack(&p);
    assert_true(mqtt_prop_has(&p, MQTT_PROP_MAXIMUM_QOS));
    assert_int_equal(p.maximum_qos, 1);
    assert_false(mqtt_prop_has(&p, MQTT_PROP_RESPONSE_INFORMATION));
    assert_int_equal(p.retain_available, 0);
    assert_int_equal(p.subscription_identifier_available, 0);
    assert_int_equal(p.shared_subscription_available, 0);
    assert_int_equal(p.wildcard_subscription_available, 1);
}

static void test_publish(void **state)
{
    (void)state;
    const char *why = NULL;
    mqtt_publish pub = {.topic = text("t/x"), .qos = 1};
    assert_int_equal(compat_eventgrid_publish_refusal(&pub, &why), 0);
    pub.retain = true;
    assert_int_equal(compat_eventgrid_publish_refusal(&pub, &why), MQTT_RC_RETAIN_NOT_SUPPORTED);
    pub.retain = false;
    pub.qos = 2;
    assert_int_equal(compat_eventgrid_publish_refusal(&pub, &why), MQTT_RC_QOS_NOT_SUPPORTED);
}

static void test_subscribe(void **state)
{
    (void)state;
    mqtt_subscription e = {.filter = text("t/#"), .qos = 2};
    assert_int_equal(compat_eventgrid_subscription(&e, true), 0);
    assert_int_equal(e.qos, 1);
    e = (mqtt_subscription){.filter = text("$share/g/t/#"), .qos = 0};
    assert_int_equal(compat_eventgrid_subscription(&e, true), MQTT_RC_SHARED_SUBSCRIPTIONS_NOT_SUPPORTED);
    assert_int_equal(compat_eventgrid_subscription(&e, false), MQTT_V311_SUBACK_FAILURE);
    e = (mqtt_subscription){.filter = text("$sharex/g/t"), .qos = 1}; /* not a shared subscription */
    assert_int_equal(compat_eventgrid_subscription(&e, true), 0);

    mqtt_subscribe sub = {0};
    assert_false(compat_eventgrid_subscribe_refused(&sub));
    sub.props.subscription_id_count = 1;
    assert_true(compat_eventgrid_subscribe_refused(&sub));
}

static void test_puback(void **state)
{
    (void)state;
    mqtt_ack ack = {.packet_id = 1, .reason_code = MQTT_RC_NO_MATCHING_SUBSCRIBERS};
    assert_false(compat_eventgrid_puback_refused(&ack));
    ack.reason_code = MQTT_RC_UNSPECIFIED_ERROR;
    assert_true(compat_eventgrid_puback_refused(&ack));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect),   cmocka_unit_test(test_connack), cmocka_unit_test(test_publish),
        cmocka_unit_test(test_subscribe), cmocka_unit_test(test_puback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
