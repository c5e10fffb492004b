/* Why a connection ended, in Event Grid's words (the disconnectionReason of
 * Microsoft.EventGrid.MQTTClientSessionDisconnected): the metrics, the life-cycle events
 * and the logs name it. */
#ifndef EG_DISCONNECT_REASON_H
#define EG_DISCONNECT_REASON_H

#include <stdbool.h>
#include <stdint.h>

typedef enum disconnect_reason {
    DISC_CLIENT_AUTHENTICATION_ERROR, /* refused at CONNECT, or the client was deleted/disabled */
    DISC_CLIENT_AUTHORIZATION_ERROR,  /* a v3.1.1 PUBLISH the permissions deny */
    DISC_CLIENT_ERROR,                /* malformed packet, protocol violation, over a packet limit */
    DISC_CLIENT_INITIATED,            /* DISCONNECT from the client */
    DISC_CONNECTION_LOST,             /* EOF, socket or TLS error, Keep Alive timeout */
    DISC_IP_FORBIDDEN,                /* not used yet: no IP filter */
    DISC_QUOTA_EXCEEDED,              /* rate or session limits, a subscriber too slow */
    DISC_SERVER_ERROR,                /* out of memory, no snapshot yet */
    DISC_SERVER_INITIATED,            /* shutdown, namespace deleted or disabled */
    DISC_SESSION_OVERFLOW,            /* a subscriber stopped reading with its queue full */
    DISC_SESSION_TAKEN_OVER,          /* a new connection took the session */
    DISC_COUNT
} disconnect_reason;

/* "ClientAuthenticationError", ... ("Unknown" out of range). */
const char *disconnect_reason_name(disconnect_reason r);

/* The reason a close with MQTT reason code `code` usually has; `connected` tells a refused
 * CONNECT (false) from a connection ended later. Callers that know better say so
 * (conn_close_as). */
disconnect_reason disconnect_reason_of(uint8_t code, bool connected);

#endif
