/* PUT / PATCH / GET / DELETE and list for every resource kind. Each write runs
 * in one IMMEDIATE transaction: preconditions, validation, cross-resource checks
 * (references, unique authentication names, quotas) and the write see one state. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "client_events.h"
#include "log.h"
#include "render.h"

#define ALL_GROUP "$all"
#define LIST_DEFAULT_TOP 100
#define LIST_MAX_TOP 1000

static void db_failed(http_response *resp)
{
    http_error(resp, 500, "InternalError", NULL, "%s", "the database failed; nothing was changed");
}

/* If-Match / If-None-Match: "*", or a comma-separated list of (weak or strong) ETags. */
static bool etag_list_matches(const char *header, bool exists, uint64_t etag)
{
    const char *p = header;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        if (*p == '*')
            return exists;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        const char *start = p + (*p == '"');
        char *end;
        unsigned long long v = strtoull(start, &end, 10);
        if (exists && end != start && v == etag)
            return true;
        p = end;
        while (*p && *p != ',')
            p++;
    }
    return false;
}

/* False (response filled with 412) when the request's preconditions fail. */
static bool preconditions_hold(const http_request *req, bool exists, uint64_t etag, http_response *resp)
{
    if (req->if_match && !etag_list_matches(req->if_match, exists, etag)) {
        http_error(resp, 412, "PreconditionFailed", NULL, "%s",
                   exists ? "the resource has changed since the ETag given in If-Match"
                          : "If-Match was given but the resource does not exist");
        return false;
    }
    if (req->if_none_match && exists && etag_list_matches(req->if_none_match, exists, etag)) {
        http_error(resp, 412, "PreconditionFailed", NULL, "%s",
                   "the resource already exists (If-None-Match)");
        return false;
    }
    return true;
}

static long quota_for(const cp_quotas *q, resource_kind kind)
{
    switch (kind) {
    case KIND_NAMESPACE: return q->namespaces;
    case KIND_CLIENT: return q->clients;
    case KIND_CLIENT_GROUP: return q->client_groups;
    case KIND_TOPIC_SPACE: return q->topic_spaces;
    case KIND_PERMISSION_BINDING: return q->permission_bindings;
    case KIND_CA_CERTIFICATE: return q->ca_certificates;
    default: return 0;
    }
}

static const char *kind_label(resource_kind kind)
{
    static const char *const labels[KIND_COUNT] = {
        "namespace", "client", "client group", "topic space", "permission binding", "CA certificate"};
    return kind < KIND_COUNT ? labels[kind] : "resource";
}

static const char *prop_string(const json_t *doc, const char *key)
{
    return json_string_value(json_object_get(json_object_get(doc, "properties"), key));
}

/* The lower-cased authentication name: uniqueness ignores ASCII case (Event Grid). */
static char *fold_auth_name(const char *name)
{
    char *k = strdup(name ? name : "");
    for (char *p = k; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return k;
}

/* Checks that need other resources: false with the response filled. The
 * store_write gets its index columns. */
static bool cross_checks(api *a, resource_kind kind, const char *ns, const char *name, const json_t *doc,
                         store_write *w, char **auth_key, http_response *resp)
{
    if (kind == KIND_CLIENT) {
        *auth_key = fold_auth_name(prop_string(doc, "authenticationName"));
        if (!*auth_key)
            return db_failed(resp), false;
        char *other = NULL;
        int found = store_find_auth_key(a->db, ns, *auth_key, name, &other);
        if (found < 0)
            return db_failed(resp), false;
        if (found) {
            http_error(resp, 409, "AuthenticationNameInUse", "properties.authenticationName",
                       "client '%s' already has the authentication name '%s' (compared ignoring case)", other,
                       prop_string(doc, "authenticationName"));
            free(other);
            return false;
        }
        w->auth_key = *auth_key;
    } else if (kind == KIND_PERMISSION_BINDING) {
        static const struct {
            resource_kind kind;
            const char *field;
        } refs[] = {{KIND_CLIENT_GROUP, "clientGroupName"}, {KIND_TOPIC_SPACE, "topicSpaceName"}};
        for (size_t i = 0; i < 2; i++) {
            const char *target = prop_string(doc, refs[i].field);
            stored_resource r;
            int found = store_get(a->db, refs[i].kind, ns, target, &r);
            if (found < 0)
                return db_failed(resp), false;
            if (found == 0) {
                char path[64];
                snprintf(path, sizeof path, "properties.%s", refs[i].field);
                http_error(resp, 400, "ReferenceNotFound", path, "%s '%s' does not exist in namespace '%s'",
                           kind_label(refs[i].kind), target, ns);
                return false;
            }
            stored_resource_clear(&r);
        }
        w->ref_group = prop_string(doc, "clientGroupName");
        w->ref_space = prop_string(doc, "topicSpaceName");
    }
    return true;
}

static void respond_resource(api *a, resource_kind kind, const char *ns, const stored_resource *r, int status,
                             http_response *resp)
{
    json_t *body = render_resource(kind, ns, r, a->cfg->hostname_suffix);
    if (!body)
        return db_failed(resp);
    resp->status = status;
    resp->json = body;
    snprintf(resp->etag, sizeof resp->etag, "%llu", (unsigned long long)r->etag);
}

/* Commits, tells the pusher, answers. False when the commit failed (answered 500). */
static bool finish_write(api *a, const char *ns, uint64_t seq, http_response *resp)
{
    if (!store_commit(a->db)) {
        store_rollback(a->db);
        json_decref(resp->json);
        resp->json = NULL;
        resp->etag[0] = '\0';
        db_failed(resp);
        return false;
    }
    if (a->push)
        pusher_notify(a->push, ns, seq);
    return true;
}

static json_t *parse_body(const http_request *req, http_response *resp)
{
    if (!req->body || req->body_len == 0) {
        http_error(resp, 400, "InvalidJson", NULL, "%s", "the request needs a JSON object body");
        return NULL;
    }
    json_error_t jerr;
    json_t *body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!body) {
        http_error(resp, 400, "InvalidJson", NULL, "the body is not valid JSON: %s (line %d, column %d)",
                   jerr.text, jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(body)) {
        json_decref(body);
        http_error(resp, 400, "InvalidJson", NULL, "%s", "the body must be a JSON object");
        return NULL;
    }
    return body;
}

/* PUT and PATCH. */
static void write_resource(api *a, const http_request *req, resource_kind kind, const char *ns,
                           const char *name, bool patch, http_response *resp)
{
    json_t *body = parse_body(req, resp);
    if (!body)
        return;
    if (!store_begin_write(a->db)) {
        json_decref(body);
        return db_failed(resp);
    }
    stored_resource old = {0};
    json_t *doc = NULL, *merged = NULL;
    char *auth_key = NULL;
    api_error verr = {0};
    int exists = -1;
    if (kind != KIND_NAMESPACE) {
        stored_resource parent;
        int found = store_get(a->db, KIND_NAMESPACE, NULL, ns, &parent);
        if (found <= 0) {
            if (found < 0)
                db_failed(resp);
            else
                http_error(resp, 404, "NotFound", NULL, "namespace '%s' does not exist", ns);
            goto out;
        }
        stored_resource_clear(&parent);
    }
    exists = store_get(a->db, kind, ns, name, &old);
    if (exists < 0) {
        db_failed(resp);
        goto out;
    }
    /* With If-Match, a missing resource fails the precondition (RFC 7232), PATCH included. */
    if (!preconditions_hold(req, exists, old.etag, resp))
        goto out;
    if (patch && !exists) {
        http_error(resp, 404, "NotFound", NULL, "%s '%s' does not exist", kind_label(kind), name);
        goto out;
    }
    if (patch && !(merged = json_merge_patch(old.doc, body))) {
        db_failed(resp);
        goto out;
    }
    doc = resource_validate(kind, name, merged ? merged : body, exists ? old.doc : NULL, &a->cfg->quotas,
                            &verr);
    if (!doc) {
        http_error(resp, verr.status ? verr.status : 400, verr.code[0] ? verr.code : "InvalidProperty",
                   verr.target, "%s", verr.message);
        goto out;
    }
    if (!exists) {
        long count = store_count(a->db, kind, ns);
        long quota = quota_for(&a->cfg->quotas, kind);
        if (count < 0) {
            db_failed(resp);
            goto out;
        }
        if (count >= quota) {
            http_error(resp, 409, "QuotaExceeded", NULL, "the quota of %ld %ss %s is reached", quota,
                       kind_label(kind), kind == KIND_NAMESPACE ? "in all" : "per namespace");
            goto out;
        }
    }
    char now[32];
    render_now(now);
    store_write w = {.kind = kind, .ns = ns, .name = name, .doc = doc, .now = now};
    if (!cross_checks(a, kind, ns, name, doc, &w, &auth_key, resp))
        goto out;
    if (!(w.seq = store_next_sequence(a->db)) || !store_put(a->db, &w)) {
        db_failed(resp);
        goto out;
    }
    if (kind == KIND_NAMESPACE && !exists) {
        /* The built-in group every binding may name. */
        json_t *all_doc =
            json_pack("{s:{s:s}}", "properties", "description", "Every client of the namespace");
        store_write all = {.kind = KIND_CLIENT_GROUP,
                           .ns = name,
                           .name = ALL_GROUP,
                           .doc = all_doc,
                           .seq = w.seq,
                           .now = now};
        bool ok = all_doc && store_put(a->db, &all);
        json_decref(all_doc);
        if (!ok) {
            db_failed(resp);
            goto out;
        }
    }
    stored_resource saved = {.name = (char *)name, .doc = doc, .etag = w.seq};
    snprintf(saved.created_at, sizeof saved.created_at, "%s", exists ? old.created_at : now);
    snprintf(saved.modified_at, sizeof saved.modified_at, "%s", now);
    respond_resource(a, kind, ns, &saved, exists ? 200 : 201, resp);
    if (finish_write(a, kind == KIND_NAMESPACE ? name : ns, w.seq, resp) && kind == KIND_CLIENT)
        client_events_record(a->events, ns, &saved, false);
out:
    store_rollback(a->db); /* no-op after a commit */
    if (exists > 0)
        stored_resource_clear(&old);
    json_decref(body);
    json_decref(merged);
    json_decref(doc);
    free(auth_key);
}

static void delete_resource(api *a, const http_request *req, resource_kind kind, const char *ns,
                            const char *name, http_response *resp)
{
    if (!store_begin_write(a->db))
        return db_failed(resp);
    stored_resource old = {0};
    int exists = store_get(a->db, kind, ns, name, &old);
    char *user = NULL;
    if (exists < 0) {
        db_failed(resp);
    } else if (!preconditions_hold(req, exists, old.etag, resp)) {
        /* answered 412 */
    } else if (!exists) {
        http_error(resp, 404, "NotFound", NULL, "%s '%s' does not exist", kind_label(kind), name);
    } else {
        int used = (kind == KIND_CLIENT_GROUP || kind == KIND_TOPIC_SPACE)
                       ? store_find_referrer(a->db, ns, kind, name, &user)
                       : 0;
        uint64_t seq = 0;
        if (used < 0) {
            db_failed(resp);
        } else if (used) {
            http_error(resp, 409, "ResourceInUse", NULL, "%s '%s' is used by permission binding '%s'",
                       kind_label(kind), name, user);
        } else if (!(seq = store_next_sequence(a->db)) || store_delete(a->db, kind, ns, name, seq) != 1) {
            db_failed(resp);
        } else {
            resp->status = 204;
            if (finish_write(a, kind == KIND_NAMESPACE ? name : ns, seq, resp) && kind == KIND_CLIENT)
                client_events_record(a->events, ns, &old, true);
        }
    }
    store_rollback(a->db);
    if (exists > 0)
        stored_resource_clear(&old);
    free(user);
}

static void get_resource(api *a, resource_kind kind, const char *ns, const char *name, http_response *resp)
{
    stored_resource r;
    int found = store_get(a->db, kind, ns, name, &r);
    if (found < 0)
        return db_failed(resp);
    if (!found) {
        if (kind != KIND_NAMESPACE) {
            stored_resource parent;
            int p = store_get(a->db, KIND_NAMESPACE, NULL, ns, &parent);
            if (p == 1)
                stored_resource_clear(&parent);
            else if (p == 0)
                return http_error(resp, 404, "NotFound", NULL, "namespace '%s' does not exist", ns);
        }
        return http_error(resp, 404, "NotFound", NULL, "%s '%s' does not exist", kind_label(kind), name);
    }
    respond_resource(a, kind, ns, &r, 200, resp);
    stored_resource_clear(&r);
}

void api_resource_item(api *a, const http_request *req, resource_kind kind, const char *ns, const char *name,
                       http_response *resp)
{
    bool is_get = strcmp(req->method, "GET") == 0;
    if (kind == KIND_CLIENT_GROUP && strcmp(name, ALL_GROUP) == 0) {
        if (!is_get && (strcmp(req->method, "PUT") == 0 || strcmp(req->method, "PATCH") == 0 ||
                        strcmp(req->method, "DELETE") == 0))
            return http_error(resp, 400, "ReadOnlyResource", "name", "%s",
                              "the built-in client group $all cannot be changed or deleted");
    } else {
        api_error err = {0};
        if (!resource_name_valid(kind, name, &err))
            return http_error(resp, 400, err.code[0] ? err.code : "InvalidResourceName", "name", "%s",
                              err.message);
    }
    if (is_get)
        get_resource(a, kind, ns, name, resp);
    else if (strcmp(req->method, "PUT") == 0)
        write_resource(a, req, kind, ns, name, false, resp);
    else if (strcmp(req->method, "PATCH") == 0)
        write_resource(a, req, kind, ns, name, true, resp);
    else if (strcmp(req->method, "DELETE") == 0)
        delete_resource(a, req, kind, ns, name, resp);
    else {
        resp->allow = "GET, PUT, PATCH, DELETE";
        http_error(resp, 405, "MethodNotAllowed", NULL, "%s is not supported here", req->method);
    }
}

/* ---- lists */

typedef struct list_ctx {
    api *a;
    resource_kind kind;
    const char *ns;
    json_t *value;
    long wanted; /* the page size; one more is read to know whether a next page exists */
    char last[256];
    bool failed;
} list_ctx;

static bool add_item(void *ctx, const stored_resource *r)
{
    list_ctx *l = ctx;
    if ((long)json_array_size(l->value) == l->wanted)
        return true; /* the probe item: only tells that more follow */
    json_t *item = render_resource(l->kind, l->ns, r, l->a->cfg->hostname_suffix);
    if (!item || json_array_append_new(l->value, item) != 0) {
        l->failed = true;
        return false;
    }
    snprintf(l->last, sizeof l->last, "%s", r->name);
    return true;
}

/* Percent-encodes everything but unreserved characters (RFC 3986). */
static void url_encode(const char *in, char *out, size_t len)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && o + 4 < len; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~')
            out[o++] = (char)*p;
        else
            o += (size_t)snprintf(out + o, len - o, "%%%02X", *p);
    }
    out[o] = '\0';
}

void api_resource_list(api *a, const http_request *req, resource_kind kind, const char *ns,
                       http_response *resp)
{
    if (strcmp(req->method, "GET") != 0) {
        resp->allow = "GET";
        return http_error(resp, 405, "MethodNotAllowed", NULL,
                          "%s is not supported on a collection; use GET to list", req->method);
    }
    long top = LIST_DEFAULT_TOP;
    if (req->arg_top) {
        char *end;
        top = strtol(req->arg_top, &end, 10);
        if (*end || end == req->arg_top || top < 1 || top > LIST_MAX_TOP)
            return http_error(resp, 400, "InvalidQueryParameter", "$top",
                              "$top must be an integer from 1 to %d", LIST_MAX_TOP);
    }
    /* A token is the last name of the previous page: anything else was not issued by us. */
    api_error name_err = {0};
    if (req->arg_skip_token && !(kind == KIND_CLIENT_GROUP && strcmp(req->arg_skip_token, ALL_GROUP) == 0) &&
        !resource_name_valid(kind, req->arg_skip_token, &name_err))
        return http_error(resp, 400, "InvalidQueryParameter", "$skipToken", "%s",
                          "$skipToken is not valid: use the nextLink of a previous page");
    if (kind != KIND_NAMESPACE) {
        stored_resource parent;
        int p = store_get(a->db, KIND_NAMESPACE, NULL, ns, &parent);
        if (p < 0)
            return db_failed(resp);
        if (p == 0)
            return http_error(resp, 404, "NotFound", NULL, "namespace '%s' does not exist", ns);
        stored_resource_clear(&parent);
    }
    list_ctx l = {.a = a, .kind = kind, .ns = ns, .value = json_array(), .wanted = top};
    long n = l.value ? store_list(a->db, kind, ns, req->arg_skip_token, top + 1, add_item, &l) : -1;
    if (n < 0 || l.failed) {
        json_decref(l.value);
        return db_failed(resp);
    }
    json_t *out = json_pack("{s:o}", "value", l.value);
    if (out && n > top) {
        char token[800], link[1400];
        url_encode(l.last, token, sizeof token);
        snprintf(link, sizeof link, "%s%s?$top=%ld&$skipToken=%s", req->base_url, req->path, top, token);
        json_object_set_new(out, "nextLink", json_string(link));
    }
    if (!out)
        return db_failed(resp);
    resp->status = 200;
    resp->json = out;
}
