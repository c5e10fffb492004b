/* The authorization resources: client groups (a query over client attributes),
 * topic spaces (topic templates) and permission bindings (group x space). The
 * query and template languages are parsed by shared/policy, as the broker does. */
#include <stdio.h>
#include <string.h>

#include "json_check.h"
#include "policy/client_query.h"
#include "policy/topic_template.h"

#define QUERY_MAX_BYTES CLIENT_QUERY_MAX_LEN /* 2048, as the API contract says */
#define TEMPLATES "properties.topicTemplates"

/* " at offset N" for a parser message that does not say where already
 * (shared/policy's messages end with "at offset N"), written into note. */
static const char *offset_note(policy_error *perr, char note[40])
{
    perr->message[sizeof perr->message - 1] = '\0';
    if (strstr(perr->message, "offset"))
        return "";
    snprintf(note, 40, " at offset %zu", perr->offset);
    return note;
}

/* out with the optional description copied in: the common tail of the three kinds. */
static json_t *with_description(json_t *out, const json_t *props, api_error *err)
{
    if (!jc_description(props, "properties", out, err)) {
        json_decref(out);
        return NULL;
    }
    return out;
}

json_t *validate_client_group_props(const json_t *props, const vctx *ctx)
{
    static const char *const known[] = {"query", "description", NULL};
    api_error *err = ctx->err;
    const char *query;
    size_t len;
    if (!jc_known_fields(props, "properties", known, jc_props_readonly, err) ||
        !jc_string(props, "properties", "query", true, &query, &len, err))
        return NULL;
    if (len > QUERY_MAX_BYTES) {
        jc_fail(err, "InvalidProperty", "properties.query",
                "properties.query must be at most %d bytes long, not %zu", QUERY_MAX_BYTES, len);
        return NULL;
    }
    policy_error perr = {0};
    char note[40];
    client_query *parsed = client_query_parse(query, &perr);
    if (!parsed) {
        jc_fail(err, "InvalidQuery", "properties.query", "properties.query does not parse: %s%s",
                perr.message, offset_note(&perr, note));
        return NULL;
    }
    client_query_free(parsed);
    json_t *out = json_object();
    if (!jc_set(out, "query", json_stringn(query, len), err)) {
        json_decref(out);
        return NULL;
    }
    return with_description(out, props, err);
}

/* topicTemplates: 1..quota distinct strings, each a template shared/policy accepts. */
static json_t *topic_templates(const json_t *props, long quota, api_error *err)
{
    const json_t *list;
    if (!jc_array(props, "properties", "topicTemplates", true, &list, err))
        return NULL;
    size_t n = json_array_size(list);
    if (n == 0) {
        jc_fail(err, "InvalidProperty", TEMPLATES, "%s must hold at least one topic template", TEMPLATES);
        return NULL;
    }
    if (quota > 0 && n > (size_t)quota) {
        jc_fail(err, "InvalidProperty", TEMPLATES,
                "%s holds %zu topic templates; the limit is %ld per topic space (quota "
                "topicTemplatesPerTopicSpace)",
                TEMPLATES, n, quota);
        return NULL;
    }
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++) {
        char p[JC_PATH_MAX];
        const char *s;
        size_t len;
        jc_index(p, TEMPLATES, i);
        if (!jc_is_string(json_array_get(list, i), p, &s, &len, err))
            goto fail;
        policy_error perr = {0};
        char note[40];
        topic_template *parsed = topic_template_parse(s, &perr);
        if (!parsed) {
            jc_fail(err, "InvalidTopicTemplate", p, "%s is not a valid topic template: %s%s", p, perr.message,
                    offset_note(&perr, note));
            goto fail;
        }
        topic_template_free(parsed);
        if (!jc_append_distinct(out, s, len, p, "the topic template", err))
            goto fail;
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}

json_t *validate_topic_space_props(const json_t *props, const vctx *ctx)
{
    static const char *const known[] = {"topicTemplates", "description", NULL};
    api_error *err = ctx->err;
    if (!jc_known_fields(props, "properties", known, jc_props_readonly, err))
        return NULL;
    json_t *out = json_object();
    if (!jc_set(out, "topicTemplates", topic_templates(props, ctx->quotas->templates_per_space, err), err)) {
        json_decref(out);
        return NULL;
    }
    return with_description(out, props, err);
}

/* A reference to another resource of the namespace, by name (existence is the handler's check). */
static json_t *reference(const json_t *props, const char *key, resource_kind kind, const char *builtin,
                         api_error *err)
{
    char p[JC_PATH_MAX], why[200];
    const char *s;
    size_t len;
    jc_join(p, "properties", key);
    if (!jc_string(props, "properties", key, true, &s, &len, err))
        return NULL;
    if (!(builtin && strcmp(s, builtin) == 0) && !resource_name_check(kind, s, len, why, sizeof why)) {
        jc_fail(err, "InvalidProperty", p, "%s %s", p, why);
        return NULL;
    }
    return json_stringn(s, len);
}

json_t *validate_permission_binding_props(const json_t *props, const vctx *ctx)
{
    static const char *const known[] = {"clientGroupName", "topicSpaceName", "permission", "description",
                                        NULL};
    static const char *const permissions[] = {"Publisher", "Subscriber", NULL};
    api_error *err = ctx->err;
    const char *permission;
    if (!jc_known_fields(props, "properties", known, jc_props_readonly, err))
        return NULL;
    json_t *out = json_object();
    if (!jc_set(out, "clientGroupName", reference(props, "clientGroupName", KIND_CLIENT_GROUP, "$all", err),
                err) ||
        !jc_set(out, "topicSpaceName", reference(props, "topicSpaceName", KIND_TOPIC_SPACE, NULL, err),
                err) ||
        !jc_enum(props, "properties", "permission", permissions, NULL, &permission, err) ||
        !jc_set(out, "permission", json_string(permission), err)) {
        json_decref(out);
        return NULL;
    }
    return with_description(out, props, err);
}
