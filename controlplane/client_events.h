/* egcontrol's client life-cycle events: Event Grid's MQTTClientCreatedOrUpdated and
 * MQTTClientDeleted (cloud_event.h) for each client written or deleted through the REST API,
 * appended to the events audit file (config "events.auditFile"). The brokers publish the same
 * kinds of events, derived from the snapshots they receive (docs/events.md). */
#ifndef EG_CLIENT_EVENTS_H
#define EG_CLIENT_EVENTS_H

#include <stdbool.h>

#include "event_audit.h"
#include "store.h"

/* Client `r` of namespace `ns` was created or updated (deleted false) or deleted, and the change
 * is committed. Nothing when `audit` is NULL. */
void client_events_record(event_audit *audit, const char *ns, const stored_resource *r, bool deleted);

#endif
