/* CloudEvents 1.0 for Event Grid's MQTT system events (cloud_event.h). */
#include "cloud_event.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool cloud_event_uuid(char out[37])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        return false;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* variant 10 */
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    return true;
}

void cloud_event_time_now(char out[32])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%06uZ", (unsigned)(ts.tv_nsec / 1000) % 1000000u);
}

/* The envelope around `data` (stolen, also on failure). The source is the namespace's
 * resource id as egcontrol names it ("/namespaces/{ns}"), "/broker" in open mode. */
static json_t *envelope(const char *type, const char *ns, const char *subject, json_t *data)
{
    char id[37], now[32], source[96];
    if (!data || !cloud_event_uuid(id)) {
        json_decref(data);
        return NULL;
    }
    cloud_event_time_now(now);
    if (ns[0])
        snprintf(source, sizeof source, "/namespaces/%s", ns);
    else
        snprintf(source, sizeof source, "/broker");
    json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "specversion", "1.0", "id", id, "time",
                           now, "type", type, "source", source, "subject", subject, "datacontenttype",
                           "application/json", "data", data);
    return ev;
}

/* "clients/{a}" or "clients/{a}/sessions/{b}" (NULL when out of memory: the caller frees). */
static char *subject_of(const char *client, const char *session)
{
    size_t n =
        strlen("clients/") + strlen(client) + (session ? strlen("/sessions/") + strlen(session) : 0) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "clients/%s%s%s", client, session ? "/sessions/" : "", session ? session : "");
    return s;
}

/* Adds "namespaceName" unless open mode; false when out of memory. */
static bool set_namespace(json_t *data, const char *ns)
{
    return !ns[0] || json_object_set_new(data, "namespaceName", json_string(ns)) == 0;
}

json_t *cloud_event_session(const char *ns, const char *auth_name, const char *session_name,
                            uint64_t sequence_number, const char *disconnection_reason)
{
    json_t *data = json_pack("{s:s, s:s, s:I}", "clientAuthenticationName", auth_name, "clientSessionName",
                             session_name, "sequenceNumber", (json_int_t)sequence_number);
    if (data && (!set_namespace(data, ns) ||
                 (disconnection_reason && json_object_set_new(data, "disconnectionReason",
                                                              json_string(disconnection_reason)) != 0))) {
        json_decref(data);
        data = NULL;
    }
    char *subject = subject_of(auth_name, session_name);
    if (!subject) {
        json_decref(data);
        return NULL;
    }
    json_t *ev =
        envelope(disconnection_reason ? CLOUD_EVENT_SESSION_DISCONNECTED : CLOUD_EVENT_SESSION_CONNECTED, ns,
                 subject, data);
    free(subject);
    return ev;
}

json_t *cloud_event_client(const char *ns, const cloud_event_client_info *client, bool deleted)
{
    json_t *data = json_pack("{s:s, s:s}", "clientName", client->name, "clientAuthenticationName",
                             client->auth_name ? client->auth_name : "");
    bool ok = data && set_namespace(data, ns);
    if (ok && !deleted) {
        json_t *attrs = client->attributes ? json_deep_copy(client->attributes) : json_object();
        ok =
            json_object_set_new(data, "state", json_string(client->state ? client->state : "Enabled")) == 0 &&
            json_object_set_new(data, "attributes", attrs) == 0 &&
            (!client->created_on ||
             json_object_set_new(data, "createdOn", json_string(client->created_on)) == 0) &&
            (!client->updated_on ||
             json_object_set_new(data, "updatedOn", json_string(client->updated_on)) == 0);
    }
    char *subject = ok ? subject_of(client->name, NULL) : NULL;
    if (!subject) {
        json_decref(data);
        return NULL;
    }
    json_t *ev = envelope(deleted ? CLOUD_EVENT_CLIENT_DELETED : CLOUD_EVENT_CLIENT_CREATED_OR_UPDATED, ns,
                          subject, data);
    free(subject);
    return ev;
}

const char *cloud_event_type(const json_t *event)
{
    const char *t = json_string_value(json_object_get(event, "type"));
    return t ? t : "";
}
