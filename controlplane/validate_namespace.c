/* Namespaces: properties.topicSpacesConfiguration, and the top-level sku,
 * location and tags Azure definitions carry. */
#include <string.h>

#include "json_check.h"
#include "snapshot/resource_names.h"

#define TSC "properties.topicSpacesConfiguration"
#define CLIENT_AUTH TSC ".clientAuthentication"
#define SOURCES CLIENT_AUTH ".alternativeAuthenticationNameSources"

/* clientAuthentication: {"alternativeAuthenticationNameSources": [...]}, distinct values of the enum. */
static json_t *client_authentication(const json_t *tsc, api_error *err)
{
    static const char *const known[] = {"alternativeAuthenticationNameSources", NULL};
    const json_t *auth, *sources;
    if (!jc_object(tsc, TSC, "clientAuthentication", false, &auth, err) ||
        !jc_known_fields(auth, CLIENT_AUTH, known, NULL, err) ||
        !jc_array(auth, CLIENT_AUTH, "alternativeAuthenticationNameSources", false, &sources, err))
        return NULL;
    json_t *list = json_array();
    json_t *out = json_object();
    if (!jc_set(out, "alternativeAuthenticationNameSources", list, err)) {
        json_decref(out);
        return NULL;
    }
    size_t i;
    const json_t *item;
    json_array_foreach(sources, i, item)
    {
        char p[JC_PATH_MAX];
        const char *source;
        jc_index(p, SOURCES, i);
        if (!jc_is_enum(item, p, ns_name_source_names, &source, err) ||
            !jc_append_distinct(list, source, strlen(source), p, NULL, err)) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

json_t *validate_namespace_props(const json_t *props, const vctx *ctx)
{
    static const char *const known[] = {"topicSpacesConfiguration", NULL};
    static const char *const tsc_known[] = {"state", "maximumSessionExpiryInHours",
                                            "maximumClientSessionsPerAuthenticationName",
                                            "clientAuthentication", NULL};
    static const char *const tsc_readonly[] = {"hostname", NULL};
    api_error *err = ctx->err;
    const json_t *tsc;
    const char *state;
    json_int_t expiry, sessions;
    if (!jc_known_fields(props, "properties", known, jc_props_readonly, err) ||
        !jc_object(props, "properties", "topicSpacesConfiguration", false, &tsc, err) ||
        !jc_known_fields(tsc, TSC, tsc_known, tsc_readonly, err) ||
        !jc_enum(tsc, TSC, "state", ns_state_names, "Enabled", &state, err) ||
        !jc_integer(tsc, TSC, "maximumSessionExpiryInHours", 1, 8, 1, &expiry, err) ||
        !jc_integer(tsc, TSC, "maximumClientSessionsPerAuthenticationName", 1, 100, 1, &sessions, err))
        return NULL;
    json_t *auth = client_authentication(tsc, err);
    if (!auth)
        return NULL;
    json_t *out_tsc = json_object();
    json_t *out = json_object();
    if (!jc_set(out, "topicSpacesConfiguration", out_tsc, err) ||
        !jc_set(out_tsc, "state", json_string(state), err) ||
        !jc_set(out_tsc, "maximumSessionExpiryInHours", json_integer(expiry), err) ||
        !jc_set(out_tsc, "maximumClientSessionsPerAuthenticationName", json_integer(sessions), err) ||
        !jc_set(out_tsc, "clientAuthentication", auth, err)) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static const char *const sku_names[] = {"Standard", NULL};

bool validate_namespace_top(const json_t *body, json_t *out, api_error *err)
{
    static const char *const sku_known[] = {"name", "capacity", NULL};
    const json_t *sku, *tags;
    const char *sku_name, *location;
    size_t location_len;
    json_int_t capacity;
    if (!jc_object(body, "", "sku", false, &sku, err) || !jc_known_fields(sku, "sku", sku_known, NULL, err) ||
        !jc_enum(sku, "sku", "name", sku_names, "Standard", &sku_name, err) ||
        !jc_integer(sku, "sku", "capacity", 1, 40, 0, &capacity, err) ||
        !jc_string(body, "", "location", false, &location, &location_len, err) ||
        !jc_object(body, "", "tags", false, &tags, err))
        return false;
    json_t *out_tags = NULL;
    if (tags) {
        out_tags = json_object();
        const char *key;
        size_t key_len;
        json_t *value;
        json_object_keylen_foreach((json_t *)tags, key, key_len, value)
        {
            char p[JC_PATH_MAX];
            const char *s;
            size_t len;
            jc_join(p, "tags", key);
            if (!jc_is_string(value, p, &s, &len, err)) {
                json_decref(out_tags);
                return false;
            }
            if (!out_tags || json_object_setn_new(out_tags, key, key_len, json_stringn(s, len)) != 0) {
                json_decref(out_tags);
                return jc_oom(err);
            }
        }
    }
    if (sku) {
        json_t *out_sku = json_object();
        if (!jc_set(out, "sku", out_sku, err) || !jc_set(out_sku, "name", json_string(sku_name), err) ||
            (capacity && !jc_set(out_sku, "capacity", json_integer(capacity), err))) {
            json_decref(out_tags);
            return false;
        }
    }
    if (location && !jc_set(out, "location", json_stringn(location, location_len), err)) {
        json_decref(out_tags);
        return false;
    }
    return !out_tags || jc_set(out, "tags", out_tags, err);
}
