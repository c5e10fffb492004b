/* Event Grid's disconnection reasons from MQTT reason codes (disconnect_reason.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "disconnect_reason.h"
#include "mqtt_types.h"

static void test_names_are_event_grids(void **state)
{
    (void)state;
    static const char *const expected[] = {"ClientAuthenticationError",
                                           "ClientAuthorizationError",
                                           "ClientError",
                                           "ClientInitiatedDisconnect",
                                           "ConnectionLost",
                                           "IpForbidden",
                                           "QuotaExceeded",
                                           "ServerError",
                                           "ServerInitiatedDisconnect",
                                           "SessionOverflow",
                                           "SessionTakenOver"};
    assert_int_equal(sizeof expected / sizeof expected[0], DISC_COUNT);
    for (int r = 0; r < DISC_COUNT; r++)
        assert_string_equal(disconnect_reason_name((disconnect_reason)r), expected[r]);
    assert_string_equal(disconnect_reason_name(DISC_COUNT), "Unknown");
    assert_string_equal(disconnect_reason_name((disconnect_reason)-1), "Unknown");
}

static void test_codes_map_to_reasons(void **state)
{
    (void)state;
    static const struct {
        uint8_t code;
        bool connected;
        disconnect_reason want;
    } cases[] = {
        {MQTT_RC_NORMAL_DISCONNECTION, true, DISC_CLIENT_INITIATED},
        {MQTT_RC_DISCONNECT_WITH_WILL, true, DISC_CLIENT_INITIATED},
        {MQTT_RC_UNSPECIFIED_ERROR, true, DISC_CONNECTION_LOST},
        {MQTT_RC_UNSPECIFIED_ERROR, false, DISC_CONNECTION_LOST},
        {MQTT_RC_KEEP_ALIVE_TIMEOUT, true, DISC_CONNECTION_LOST},
        {MQTT_RC_NOT_AUTHORIZED, false, DISC_CLIENT_AUTHENTICATION_ERROR},
        {MQTT_RC_NOT_AUTHORIZED, true, DISC_CLIENT_AUTHORIZATION_ERROR},
        {MQTT_RC_BAD_USER_NAME_OR_PASSWORD, false, DISC_CLIENT_AUTHENTICATION_ERROR},
        {MQTT_RC_ADMINISTRATIVE_ACTION, true, DISC_CLIENT_AUTHENTICATION_ERROR},
        {MQTT_RC_SESSION_TAKEN_OVER, true, DISC_SESSION_TAKEN_OVER},
        {MQTT_RC_QUOTA_EXCEEDED, false, DISC_QUOTA_EXCEEDED},
        {MQTT_RC_MESSAGE_RATE_TOO_HIGH, true, DISC_QUOTA_EXCEEDED},
        {MQTT_RC_SERVER_SHUTTING_DOWN, true, DISC_SERVER_INITIATED},
        {MQTT_RC_SERVER_UNAVAILABLE, false, DISC_SERVER_ERROR},
        {MQTT_RC_MALFORMED_PACKET, true, DISC_CLIENT_ERROR},
        {MQTT_RC_PROTOCOL_ERROR, false, DISC_CLIENT_ERROR},
        {MQTT_RC_TOPIC_ALIAS_INVALID, true, DISC_CLIENT_ERROR},
        {MQTT_RC_PACKET_TOO_LARGE, true, DISC_CLIENT_ERROR},
        {MQTT_RC_MAXIMUM_CONNECT_TIME, false, DISC_CLIENT_ERROR},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        disconnect_reason got = disconnect_reason_of(cases[i].code, cases[i].connected);
        if (got != cases[i].want)
            fail_msg("0x%02x connected=%d: %s, want %s", cases[i].code, cases[i].connected,
                     disconnect_reason_name(got), disconnect_reason_name(cases[i].want));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_are_event_grids),
        cmocka_unit_test(test_codes_map_to_reasons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
