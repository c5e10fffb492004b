#include "snapshot.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

void snapshot_hostname(const char *ns, const char *suffix, char *out, size_t len)
{
    snprintf(out, len, "%s.%s", ns, suffix);
}

static json_t *prop(const json_t *doc, const char *key)
{
    return json_object_get(json_object_get(doc, "properties"), key);
}

/* A copy of a property, or JSON null when absent. */
static json_t *prop_or_null(const json_t *doc, const char *key)
{
    json_t *v = prop(doc, key);
    return v ? json_deep_copy(v) : json_null();
}

typedef struct collect_ctx {
    resource_kind kind;
    json_t *out; /* array being filled */
} collect_ctx;

static json_t *client_entry(const stored_resource *r)
{
    json_t *cca = prop(r->doc, "clientCertificateAuthentication");
    json_t *thumbs = json_object_get(cca, "allowedThumbprints");
    json_t *attrs = prop(r->doc, "attributes");
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "name", r->name, "authenticationName",
                     prop_or_null(r->doc, "authenticationName"), "state", prop_or_null(r->doc, "state"),
                     "validationScheme", json_deep_copy(json_object_get(cca, "validationScheme")),
                     "allowedThumbprints", thumbs ? json_deep_copy(thumbs) : json_array(), "attributes",
                     attrs ? json_deep_copy(attrs) : json_object());
}

static bool collect(void *ctx, const stored_resource *r)
{
    collect_ctx *c = ctx;
    json_t *e = NULL;
    switch (c->kind) {
    case KIND_CLIENT: e = client_entry(r); break;
    case KIND_CLIENT_GROUP:
        e = json_pack("{s:s, s:o}", "name", r->name, "query", prop_or_null(r->doc, "query"));
        break;
    case KIND_TOPIC_SPACE:
        e = json_pack("{s:s, s:o}", "name", r->name, "topicTemplates",
                      prop_or_null(r->doc, "topicTemplates"));
        break;
    case KIND_PERMISSION_BINDING:
        e = json_pack("{s:s, s:o, s:o, s:o}", "name", r->name, "clientGroupName",
                      prop_or_null(r->doc, "clientGroupName"), "topicSpaceName",
                      prop_or_null(r->doc, "topicSpaceName"), "permission",
                      prop_or_null(r->doc, "permission"));
        break;
    case KIND_CA_CERTIFICATE:
        e = json_pack("{s:s, s:o}", "name", r->name, "encodedCertificate",
                      prop_or_null(r->doc, "encodedCertificate"));
        break;
    default: break;
    }
    return e && json_array_append_new(c->out, e) == 0;
}

static json_t *settings(const stored_resource *ns, const char *suffix)
{
    json_t *tsc = prop(ns->doc, "topicSpacesConfiguration");
    json_t *sources =
        json_object_get(json_object_get(tsc, "clientAuthentication"), "alternativeAuthenticationNameSources");
    json_t *capacity = json_object_get(json_object_get(ns->doc, "sku"), "capacity");
    char host[320];
    snapshot_hostname(ns->name, suffix, host, sizeof host);
    return json_pack("{s:O, s:O, s:O, s:o, s:s, s:o}", "state", json_object_get(tsc, "state"),
                     "maximumSessionExpiryInHours", json_object_get(tsc, "maximumSessionExpiryInHours"),
                     "maximumClientSessionsPerAuthenticationName",
                     json_object_get(tsc, "maximumClientSessionsPerAuthenticationName"),
                     "alternativeAuthenticationNameSources", sources ? json_deep_copy(sources) : json_array(),
                     "hostname", host, "throughputUnits", capacity ? json_deep_copy(capacity) : json_null());
}

static json_t *build_live(store *s, const stored_resource *ns, const char *suffix, uint64_t version,
                          bool *db_error)
{
    static const struct {
        resource_kind kind;
        const char *key;
    } parts[] = {
        {KIND_CA_CERTIFICATE, "caCertificates"},
        {KIND_CLIENT, "clients"},
        {KIND_CLIENT_GROUP, "clientGroups"},
        {KIND_TOPIC_SPACE, "topicSpaces"},
        {KIND_PERMISSION_BINDING, "permissionBindings"},
    };
    json_t *snap = json_pack("{s:i, s:s, s:I, s:b, s:o}", "schema", 1, "namespace", ns->name, "version",
                             (json_int_t)version, "deleted", 0, "settings", settings(ns, suffix));
    for (size_t i = 0; snap && i < sizeof parts / sizeof parts[0]; i++) {
        collect_ctx c = {.kind = parts[i].kind, .out = json_array()};
        if (!c.out || store_list(s, parts[i].kind, ns->name, NULL, LONG_MAX, collect, &c) < 0) {
            json_decref(c.out);
            json_decref(snap);
            *db_error = true;
            return NULL;
        }
        json_object_set_new(snap, parts[i].key, c.out);
    }
    return snap;
}

json_t *snapshot_build(store *s, const char *ns, const char *hostname_suffix, uint64_t *version,
                       bool *db_error)
{
    *db_error = false;
    *version = 0;
    if (!store_begin_read(s)) {
        *db_error = true;
        return NULL;
    }
    json_t *snap = NULL;
    uint64_t live, tomb;
    int found = store_namespace_version(s, ns, &live, &tomb);
    if (found == 1) {
        stored_resource r;
        if (store_get(s, KIND_NAMESPACE, NULL, ns, &r) == 1) {
            snap = build_live(s, &r, hostname_suffix, live, db_error);
            stored_resource_clear(&r);
            *version = live;
        } else {
            *db_error = true;
        }
    } else if (found == 0 && tomb > 0) {
        snap = json_pack("{s:i, s:s, s:I, s:b}", "schema", 1, "namespace", ns, "version", (json_int_t)tomb,
                         "deleted", 1);
        *version = tomb;
    } else if (found < 0) {
        *db_error = true;
    }
    store_rollback(s); /* a read transaction: nothing to keep */
    return snap;
}
