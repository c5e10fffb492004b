/* Resource kinds, name rules, the top level of request bodies, and JSON merge
 * patch. The properties of each kind are checked in validate_*.c. */
#include "resource_validate.h"

#include <stdio.h>
#include <string.h>

#include "json_check.h"

typedef struct kind_info {
    const char *collection;
    const char *type;
    const char *label; /* for messages: "client group name must ..." */
    const char *const *top_fields;
    json_t *(*props)(const json_t *props, const vctx *ctx);
    bool (*top)(const json_t *body, json_t *out, api_error *err); /* extra top-level members, or NULL */
} kind_info;

static const char *const namespace_top[] = {"name", "properties", "sku", "location", "tags", NULL};
static const char *const resource_top[] = {"name", "properties", NULL};
/* Read-only members of every resource, accepted so that a GET result can be sent back. */
static const char *const top_readonly[] = {"id", "type", "systemData", NULL};

static const kind_info kinds[KIND_COUNT] = {
    [KIND_NAMESPACE] = {"namespaces", "Microsoft.EventGrid/namespaces", "namespace", namespace_top,
                        validate_namespace_props, validate_namespace_top},
    [KIND_CLIENT] = {"clients", "Microsoft.EventGrid/namespaces/clients", "client", resource_top,
                     validate_client_props, NULL},
    [KIND_CLIENT_GROUP] = {"clientGroups", "Microsoft.EventGrid/namespaces/clientGroups", "client group",
                           resource_top, validate_client_group_props, NULL},
    [KIND_TOPIC_SPACE] = {"topicSpaces", "Microsoft.EventGrid/namespaces/topicSpaces", "topic space",
                          resource_top, validate_topic_space_props, NULL},
    [KIND_PERMISSION_BINDING] = {"permissionBindings", "Microsoft.EventGrid/namespaces/permissionBindings",
                                 "permission binding", resource_top, validate_permission_binding_props, NULL},
    [KIND_CA_CERTIFICATE] = {"caCertificates", "Microsoft.EventGrid/namespaces/caCertificates",
                             "CA certificate", resource_top, validate_ca_certificate_props, NULL},
};

static const kind_info *kind_get(resource_kind kind)
{
    return (unsigned)kind < KIND_COUNT ? &kinds[kind] : NULL;
}

const char *resource_kind_collection(resource_kind kind)
{
    const kind_info *k = kind_get(kind);
    return k ? k->collection : NULL;
}

const char *resource_kind_type(resource_kind kind)
{
    const kind_info *k = kind_get(kind);
    return k ? k->type : NULL;
}

resource_kind resource_kind_from_collection(const char *segment)
{
    if (!segment)
        return KIND_COUNT;
    for (int k = KIND_CLIENT; k < KIND_COUNT; k++)
        if (strcmp(segment, kinds[k].collection) == 0)
            return (resource_kind)k;
    return KIND_COUNT;
}

/* ---- names ---- */

#define CLIENT_NAME_MAX 128
#define RESOURCE_NAME_MIN 3
#define RESOURCE_NAME_MAX 50

static bool name_char_ok(resource_kind kind, unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')
        return true;
    return kind == KIND_CLIENT && (c == ':' || c == '.' || c == '_');
}

bool resource_name_check(resource_kind kind, const char *name, size_t len, char *why, size_t why_size)
{
    const char *chars =
        kind == KIND_CLIENT ? "letters, digits, '-', ':', '.' and '_'" : "letters, digits and '-'";
    size_t min = kind == KIND_CLIENT ? 1 : RESOURCE_NAME_MIN;
    size_t max = kind == KIND_CLIENT ? CLIENT_NAME_MAX : RESOURCE_NAME_MAX;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (name_char_ok(kind, c))
            continue;
        if (c > 0x20 && c < 0x7F)
            snprintf(why, why_size, "may hold only %s; '%c' at position %zu is not allowed", chars, c, i);
        else
            snprintf(why, why_size, "may hold only %s; byte 0x%02X at position %zu is not allowed", chars, c,
                     i);
        return false;
    }
    if (len < min || len > max) {
        snprintf(why, why_size, "must be %zu-%zu characters long, not %zu", min, max, len);
        return false;
    }
    return true;
}

/* Short enough and plain enough to be quoted in a message. */
static bool quotable(const char *s, size_t len)
{
    if (len > 64)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7F || s[i] == '\'')
            return false;
    return true;
}

bool resource_name_valid(resource_kind kind, const char *name, api_error *err)
{
    const kind_info *k = kind_get(kind);
    if (!k)
        return api_fail(err, 500, "InternalError", "", "unknown resource kind %d", (int)kind);
    if (!name)
        return jc_fail(err, "InvalidResourceName", "name", "a %s name is required", k->label);
    if (kind == KIND_CLIENT_GROUP && strcmp(name, "$all") == 0)
        return jc_fail(err, "ReadOnlyResource", "name", "the built-in client group $all cannot be changed");
    char why[200];
    size_t len = strlen(name);
    if (resource_name_check(kind, name, len, why, sizeof why))
        return true;
    if (quotable(name, len))
        return jc_fail(err, "InvalidResourceName", "name", "%s name '%s' %s", k->label, name, why);
    return jc_fail(err, "InvalidResourceName", "name", "%s name %s", k->label, why);
}

/* ---- bodies ---- */

json_t *resource_validate(resource_kind kind, const char *name, const json_t *body, const json_t *old,
                          const cp_quotas *quotas, api_error *err)
{
    const kind_info *k = kind_get(kind);
    api_error scratch;
    if (!err)
        err = &scratch;
    /* jc_set tells a failed check from a failed allocation by err->status. */
    memset(err, 0, sizeof *err);
    if (!resource_name_valid(kind, name, err))
        return NULL;
    if (!json_is_object(body)) {
        jc_fail(err, "InvalidJson", "", "the request body must be a JSON object");
        return NULL;
    }
    if (!jc_known_fields(body, "", k->top_fields, top_readonly, err))
        return NULL;
    const char *body_name;
    size_t body_name_len;
    if (!jc_string(body, "", "name", false, &body_name, &body_name_len, err))
        return NULL;
    if (body_name && (body_name_len != strlen(name) || memcmp(body_name, name, body_name_len) != 0)) {
        jc_fail(err, "InvalidProperty", "name", "name must equal the name in the path, '%s'", name);
        return NULL;
    }
    const json_t *props;
    if (!jc_object(body, "", "properties", false, &props, err))
        return NULL;
    cp_quotas default_quotas;
    if (!quotas) {
        cp_quotas_default(&default_quotas);
        quotas = &default_quotas;
    }
    const json_t *old_props = old ? json_object_get(old, "properties") : NULL;
    vctx ctx = {
        .kind = kind,
        .name = name,
        .old_props = json_is_object(old_props) ? old_props : NULL,
        .quotas = quotas,
        .err = err,
    };
    json_t *out_props = k->props(props, &ctx);
    if (!out_props)
        return NULL;
    json_t *out = json_object();
    if (!jc_set(out, "properties", out_props, err) || (k->top && !k->top(body, out, err))) {
        json_decref(out);
        return NULL;
    }
    return out;
}

/* ---- RFC 7386 ---- */

json_t *json_merge_patch(const json_t *target, const json_t *patch)
{
    if (!patch)
        return target ? json_deep_copy(target) : NULL;
    if (!json_is_object(patch))
        return json_deep_copy(patch);
    json_t *out = json_is_object(target) ? json_deep_copy(target) : json_object();
    if (!out)
        return NULL;
    const char *key;
    size_t len;
    json_t *value;
    json_object_keylen_foreach((json_t *)patch, key, len, value)
    {
        if (json_is_null(value)) {
            json_object_deln(out, key, len);
            continue;
        }
        json_t *merged = json_merge_patch(json_object_getn(out, key, len), value);
        if (!merged || json_object_setn_new(out, key, len, merged) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}
