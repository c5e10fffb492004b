#include "render.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "snapshot.h"

void render_now(char out[32])
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char secs[24];
    strftime(secs, sizeof secs, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%s.%03dZ", secs, (int)(tv.tv_usec / 1000));
}

json_t *render_resource(resource_kind kind, const char *ns, const stored_resource *r,
                        const char *hostname_suffix)
{
    char id[512];
    if (kind == KIND_NAMESPACE)
        snprintf(id, sizeof id, "/namespaces/%s", r->name);
    else
        snprintf(id, sizeof id, "/namespaces/%s/%s/%s", ns, resource_kind_collection(kind), r->name);
    json_t *out = json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "id", id, "name", r->name, "type",
                            resource_kind_type(kind), "systemData", "createdAt", r->created_at,
                            "lastModifiedAt", r->modified_at);
    if (!out)
        return NULL;
    /* Top-level extras first (namespaces: sku, location, tags), then properties. */
    const char *key;
    json_t *value;
    json_object_foreach(r->doc, key, value)
    {
        if (strcmp(key, "properties") != 0)
            json_object_set(out, key, value);
    }
    json_t *props = json_deep_copy(json_object_get(r->doc, "properties"));
    if (!props)
        props = json_object();
    if (kind == KIND_NAMESPACE) {
        json_t *tsc = json_object_get(props, "topicSpacesConfiguration");
        if (json_is_object(tsc)) {
            char host[320];
            snapshot_hostname(r->name, hostname_suffix, host, sizeof host);
            json_object_set_new(tsc, "hostname", json_string(host));
        }
    }
    json_object_set_new(props, "provisioningState", json_string("Succeeded"));
    json_object_set_new(out, "properties", props);
    return out;
}
