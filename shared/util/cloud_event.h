/* Event Grid's MQTT system events as CloudEvents 1.0 (JSON event format): the broker builds the
 * session ones, the control plane and the broker the client ones, all here so that both write
 * the same document.
 * The audit file they are appended to is event_audit.h.
 *
 * Ownership: the builders return a new json_t the caller owns (json_decref). */
#ifndef EG_CLOUD_EVENT_H
#define EG_CLOUD_EVENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLOUD_EVENT_SESSION_CONNECTED "Microsoft.EventGrid.MQTTClientSessionConnected"
#define CLOUD_EVENT_SESSION_DISCONNECTED "Microsoft.EventGrid.MQTTClientSessionDisconnected"
#define CLOUD_EVENT_CLIENT_CREATED_OR_UPDATED "Microsoft.EventGrid.MQTTClientCreatedOrUpdated"
#define CLOUD_EVENT_CLIENT_DELETED "Microsoft.EventGrid.MQTTClientDeleted"

/* A session connected (disconnection_reason NULL) or disconnected (reason: Event Grid's name,
 * disconnect_reason.h). `ns` "" is open mode: no namespaceName, source "/broker". Subject
 * "clients/{auth_name}/sessions/{session_name}". NULL when out of memory. */
json_t *cloud_event_session(const char *ns, const char *auth_name, const char *session_name,
                            uint64_t sequence_number, const char *disconnection_reason);

/* What a client event says of the client. `attributes` is borrowed (NULL: none); `state`,
 * `created_on` and `updated_on` are NULL for a deletion. */
typedef struct cloud_event_client_info {
    const char *name;
    const char *auth_name;
    const char *state; /* "Enabled" or "Disabled" */
    const json_t *attributes;
    const char *created_on, *updated_on; /* RFC 3339 UTC; NULL: not known */
} cloud_event_client_info;

/* MQTTClientCreatedOrUpdated (deleted false) or MQTTClientDeleted, subject "clients/{name}".
 * NULL when out of memory. */
json_t *cloud_event_client(const char *ns, const cloud_event_client_info *client, bool deleted);

/* The event's type, or "" when it has none (for logs). */
const char *cloud_event_type(const json_t *event);

/* A random UUID version 4 (RFC 4122) as 36 characters and a NUL. False when the random
 * generator fails. */
bool cloud_event_uuid(char out[37]);

/* The current UTC time as RFC 3339 with microseconds, e.g. "2026-12-07T04:20:01.123456Z". */
void cloud_event_time_now(char out[32]);

#endif
