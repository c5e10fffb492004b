#include "disconnect_reason.h"

#include "mqtt_types.h"

static const char *const names[DISC_COUNT] = {
    [DISC_CLIENT_AUTHENTICATION_ERROR] = "ClientAuthenticationError",
    [DISC_CLIENT_AUTHORIZATION_ERROR] = "ClientAuthorizationError",
    [DISC_CLIENT_ERROR] = "ClientError",
    [DISC_CLIENT_INITIATED] = "ClientInitiatedDisconnect",
    [DISC_CONNECTION_LOST] = "ConnectionLost",
    [DISC_IP_FORBIDDEN] = "IpForbidden",
    [DISC_QUOTA_EXCEEDED] = "QuotaExceeded",
    [DISC_SERVER_ERROR] = "ServerError",
    [DISC_SERVER_INITIATED] = "ServerInitiatedDisconnect",
    [DISC_SESSION_OVERFLOW] = "SessionOverflow",
    [DISC_SESSION_TAKEN_OVER] = "SessionTakenOver",
};

const char *disconnect_reason_name(disconnect_reason r)
{
    return (unsigned)r < DISC_COUNT ? names[r] : "Unknown";
}

disconnect_reason disconnect_reason_of(uint8_t code, bool connected)
{
    switch (code) {
    case MQTT_RC_NORMAL_DISCONNECTION:
    case MQTT_RC_DISCONNECT_WITH_WILL: return DISC_CLIENT_INITIATED;
    /* The broker closes with 0x80 when the transport ends under it. */
    case MQTT_RC_UNSPECIFIED_ERROR:
    case MQTT_RC_KEEP_ALIVE_TIMEOUT: return DISC_CONNECTION_LOST;
    case MQTT_RC_BAD_USER_NAME_OR_PASSWORD:
    case MQTT_RC_BAD_AUTHENTICATION_METHOD:
    case MQTT_RC_BANNED:
    case MQTT_RC_ADMINISTRATIVE_ACTION: return DISC_CLIENT_AUTHENTICATION_ERROR;
    /* At CONNECT the client is not who it may be; later it did what it may not. */
    case MQTT_RC_NOT_AUTHORIZED:
        return connected ? DISC_CLIENT_AUTHORIZATION_ERROR : DISC_CLIENT_AUTHENTICATION_ERROR;
    case MQTT_RC_SESSION_TAKEN_OVER: return DISC_SESSION_TAKEN_OVER;
    case MQTT_RC_MESSAGE_RATE_TOO_HIGH:
    case MQTT_RC_QUOTA_EXCEEDED:
    case MQTT_RC_CONNECTION_RATE_EXCEEDED: return DISC_QUOTA_EXCEEDED;
    case MQTT_RC_SERVER_SHUTTING_DOWN:
    case MQTT_RC_USE_ANOTHER_SERVER:
    case MQTT_RC_SERVER_MOVED: return DISC_SERVER_INITIATED;
    case MQTT_RC_SERVER_UNAVAILABLE:
    case MQTT_RC_SERVER_BUSY:
    case MQTT_RC_IMPLEMENTATION_SPECIFIC_ERROR: return DISC_SERVER_ERROR;
    default: return DISC_CLIENT_ERROR; /* malformed, protocol errors, limits of one packet */
    }
}
