/* egcontrol's client life-cycle events (client_events.h). */
#include "client_events.h"

#include "cloud_event.h"
#include "log.h"

static const char *prop_string(const json_t *doc, const char *key)
{
    return json_string_value(json_object_get(json_object_get(doc, "properties"), key));
}

void client_events_record(event_audit *audit, const char *ns, const stored_resource *r, bool deleted)
{
    if (!audit)
        return;
    const char *auth = prop_string(r->doc, "authenticationName");
    const char *state = prop_string(r->doc, "state");
    cloud_event_client_info info = {
        .name = r->name,
        .auth_name = auth ? auth : r->name, /* the REST default */
        .state = state ? state : "Enabled",
        .attributes = json_object_get(json_object_get(r->doc, "properties"), "attributes"),
        .created_on = r->created_at[0] ? r->created_at : NULL,
        .updated_on = r->modified_at[0] ? r->modified_at : NULL,
    };
    json_t *event = cloud_event_client(ns, &info, deleted);
    if (!event) {
        log_msg(LOG_ERROR, "events", "out of memory: no event for client %s namespace=%s", r->name, ns);
        return;
    }
    event_audit_append(audit, event);
    json_decref(event);
}
