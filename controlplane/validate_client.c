/* Clients: authenticationName, clientCertificateAuthentication, state,
 * attributes, description. */
#include <stdint.h>
#include <string.h>

#include "json_check.h"
#include "mqtt_codec.h"
#include "snapshot/resource_names.h"

#define CCA "properties.clientCertificateAuthentication"
#define THUMBPRINTS CCA ".allowedThumbprints"
#define ATTRIBUTES "properties.attributes"
#define ATTRIBUTES_MAX_BYTES 4096

/* The authentication name to store: the body's, else the stored one, else the
 * client name. Once stored it cannot change. */
static json_t *authentication_name(const json_t *props, const vctx *ctx)
{
    const char *s, *old = NULL;
    size_t len, old_len = 0;
    if (!jc_string(props, "properties", "authenticationName", false, &s, &len, ctx->err))
        return NULL;
    const json_t *old_value = ctx->old_props ? json_object_get(ctx->old_props, "authenticationName") : NULL;
    if (json_is_string(old_value)) {
        old = json_string_value(old_value);
        old_len = json_string_length(old_value);
    }
    if (s) {
        if (len < 1 || len > NS_AUTH_NAME_MAX) {
            jc_fail(ctx->err, "InvalidProperty", "properties.authenticationName",
                    "properties.authenticationName must be 1-%d bytes long, not %zu", NS_AUTH_NAME_MAX, len);
            return NULL;
        }
        if (!mqtt_utf8_valid((const uint8_t *)s, len)) {
            jc_fail(ctx->err, "InvalidProperty", "properties.authenticationName",
                    "properties.authenticationName must be valid UTF-8 without U+0000");
            return NULL;
        }
        if (old && (len != old_len || memcmp(s, old, len) != 0)) {
            jc_fail(
                ctx->err, "InvalidProperty", "properties.authenticationName",
                "authenticationName cannot be changed once set; delete and create the client to change it");
            return NULL;
        }
        return json_stringn(s, len);
    }
    return old ? json_stringn(old, old_len) : json_string(ctx->name);
}

/* allowedThumbprints of a ThumbprintMatch client: 1-2 distinct thumbprints, upper-cased. */
static json_t *thumbprints(const json_t *list, api_error *err)
{
    size_t n = list ? json_array_size(list) : 0;
    if (n == 0) {
        jc_fail(err, "InvalidProperty", THUMBPRINTS,
                "%s is required with validationScheme ThumbprintMatch: 1 or 2 SHA-256 thumbprints",
                THUMBPRINTS);
        return NULL;
    }
    if (n > NS_MAX_THUMBPRINTS) {
        jc_fail(err, "InvalidProperty", THUMBPRINTS, "%s may hold at most %d thumbprints, not %zu",
                THUMBPRINTS, NS_MAX_THUMBPRINTS, n);
        return NULL;
    }
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++) {
        char p[JC_PATH_MAX], upper[NS_THUMBPRINT_HEX + 1];
        const char *s;
        size_t len;
        jc_index(p, THUMBPRINTS, i);
        if (!jc_is_string(json_array_get(list, i), p, &s, &len, err))
            goto fail;
        if (len != NS_THUMBPRINT_HEX || ns_hex_upper(s, len, upper) != len) {
            jc_fail(err, "InvalidThumbprint", p,
                    "%s must be a SHA-256 thumbprint: exactly %d hexadecimal digits", p, NS_THUMBPRINT_HEX);
            goto fail;
        }
        if (!jc_append_distinct(out, upper, len, p, "the thumbprint", err))
            goto fail;
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}

static json_t *certificate_authentication(const json_t *props, api_error *err)
{
    static const char *const known[] = {"validationScheme", "allowedThumbprints", NULL};
    const json_t *cca, *list;
    const char *scheme;
    if (!jc_object(props, "properties", "clientCertificateAuthentication", false, &cca, err) ||
        !jc_known_fields(cca, CCA, known, NULL, err) ||
        !jc_enum(cca, CCA, "validationScheme", ns_validation_scheme_names, ns_validation_scheme_names[0],
                 &scheme, err) ||
        !jc_array(cca, CCA, "allowedThumbprints", false, &list, err))
        return NULL;
    json_t *out = json_object();
    if (!jc_set(out, "validationScheme", json_string(scheme), err)) {
        json_decref(out);
        return NULL;
    }
    if (strcmp(scheme, ns_validation_scheme_names[NS_SCHEME_THUMBPRINT]) == 0) {
        if (!jc_set(out, "allowedThumbprints", thumbprints(list, err), err)) {
            json_decref(out);
            return NULL;
        }
    } else if (list && json_array_size(list) > 0) {
        /* An empty list says nothing and is accepted, as Azure exports carry one. */
        jc_fail(err, "InvalidProperty", THUMBPRINTS,
                "%s is only allowed with validationScheme ThumbprintMatch", THUMBPRINTS);
        json_decref(out);
        return NULL;
    }
    return out;
}

/* A copy of one attribute value: a string, an integer or an array of strings. */
static json_t *attribute_value(const json_t *v, const char *path, api_error *err)
{
    const char *s;
    size_t len;
    if (json_is_integer(v))
        return json_integer(json_integer_value(v));
    if (json_is_string(v))
        return jc_is_string(v, path, &s, &len, err) ? json_stringn(s, len) : NULL;
    if (!json_is_array(v)) {
        jc_fail(err, "InvalidProperty", path,
                "%s must be a string, an integer or an array of strings, not %s", path, jc_type_name(v));
        return NULL;
    }
    json_t *out = json_array();
    size_t i;
    const json_t *item;
    json_array_foreach(v, i, item)
    {
        char p[JC_PATH_MAX];
        jc_index(p, path, i);
        if (!jc_is_string(item, p, &s, &len, err)) {
            json_decref(out);
            return NULL;
        }
        if (json_array_append_new(out, json_stringn(s, len)) != 0) {
            json_decref(out);
            jc_oom(err);
            return NULL;
        }
    }
    return out;
}

static json_t *attributes(const json_t *props, api_error *err)
{
    const json_t *attrs;
    if (!jc_object(props, "properties", "attributes", false, &attrs, err))
        return NULL;
    json_t *out = json_object();
    if (!out) {
        jc_oom(err);
        return NULL;
    }
    const char *key;
    size_t key_len;
    json_t *value;
    json_object_keylen_foreach((json_t *)attrs, key, key_len, value)
    {
        char p[JC_PATH_MAX];
        jc_join(p, ATTRIBUTES, key);
        if (!ns_attribute_key_valid(key, key_len)) {
            jc_fail(err, "InvalidProperty", p,
                    "attribute names must be 1-%d letters, digits or '_'; %s is not a valid attribute name",
                    NS_ATTRIBUTE_KEY_MAX, p);
            goto fail;
        }
        json_t *copy = attribute_value(value, p, err);
        if (!copy)
            goto fail;
        if (json_object_setn_new(out, key, key_len, copy) != 0) {
            jc_oom(err);
            goto fail;
        }
    }
    size_t bytes = json_dumpb(out, NULL, 0, JSON_COMPACT);
    if (bytes > ATTRIBUTES_MAX_BYTES) {
        jc_fail(err, "InvalidProperty", ATTRIBUTES, "%s must be at most %d bytes as compact JSON, not %zu",
                ATTRIBUTES, ATTRIBUTES_MAX_BYTES, bytes);
        goto fail;
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}

json_t *validate_client_props(const json_t *props, const vctx *ctx)
{
    static const char *const known[] = {
        "authenticationName", "clientCertificateAuthentication", "state", "attributes", "description", NULL};
    api_error *err = ctx->err;
    const char *state;
    if (!jc_known_fields(props, "properties", known, jc_props_readonly, err))
        return NULL;
    json_t *out = json_object();
    if (!jc_set(out, "authenticationName", authentication_name(props, ctx), err) ||
        !jc_set(out, "clientCertificateAuthentication", certificate_authentication(props, err), err) ||
        !jc_enum(props, "properties", "state", ns_state_names, "Enabled", &state, err) ||
        !jc_set(out, "state", json_string(state), err) ||
        !jc_set(out, "attributes", attributes(props, err), err) ||
        !jc_description(props, "properties", out, err)) {
        json_decref(out);
        return NULL;
    }
    return out;
}
