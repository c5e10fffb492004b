/* Maps paths to handlers (api/README.md "Routes") and serves the small
 * operational routes: /healthz, /readyz, /metrics, /brokers, snapshots. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "snapshot.h"

#define MAX_SEGMENTS 5
#define MAX_SEGMENT_LEN 256

/* Splits "/a/b/c" into segments; false for empty segments or too many/long ones. */
static bool split_path(const char *path, char seg[MAX_SEGMENTS][MAX_SEGMENT_LEN], int *n)
{
    *n = 0;
    if (path[0] != '/')
        return false;
    const char *p = path + 1;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 0 || len >= MAX_SEGMENT_LEN || *n == MAX_SEGMENTS)
            return false;
        memcpy(seg[*n], p, len);
        seg[(*n)++][len] = '\0';
        p += len;
        if (*p == '/')
            p++;
        if (slash && !*p)
            return false; /* trailing slash */
    }
    return true;
}

static bool only_get(const http_request *req, http_response *resp)
{
    if (strcmp(req->method, "GET") == 0)
        return true;
    resp->allow = "GET";
    http_error(resp, 405, "MethodNotAllowed", NULL, "%s is not supported here", req->method);
    return false;
}

static void serve_healthz(api *a, http_response *resp)
{
    resp->status = 200;
    resp->json =
        json_pack("{s:s, s:I}", "status", "ok", "changeSequence", (json_int_t)store_current_sequence(a->db));
}

/* Ready: the database answers a query (this answer shows the HTTP listener is up). Like
 * /healthz, no token: probes (Kubernetes) carry none. */
static void serve_readyz(api *a, http_response *resp)
{
    bool db_ok = store_count(a->db, KIND_NAMESPACE, NULL) >= 0;
    resp->status = db_ok ? 200 : 503;
    resp->json = db_ok ? json_pack("{s:s, s:[]}", "status", "ready", "missing")
                       : json_pack("{s:s, s:[s]}", "status", "not ready", "missing", "database");
}

static void serve_metrics(api *a, http_response *resp)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return http_error(resp, 500, "InternalError", NULL, "%s", "out of memory");
    if (a->http)
        http_server_write_metrics(a->http, out);
    fprintf(out,
            "# HELP egcontrol_change_sequence Sequence number of the last committed change.\n"
            "# TYPE egcontrol_change_sequence gauge\negcontrol_change_sequence %llu\n",
            (unsigned long long)store_current_sequence(a->db));
    if (a->push)
        pusher_write_metrics(a->push, out);
    fclose(out);
    resp->status = 200;
    resp->text = text;
    resp->content_type = "text/plain; version=0.0.4";
}

static void serve_brokers(api *a, http_response *resp)
{
    resp->status = 200;
    resp->json = a->push ? pusher_status(a->push) : json_pack("{s:[]}", "value");
}

static void serve_snapshot(api *a, const char *ns, http_response *resp)
{
    uint64_t version;
    bool db_error;
    json_t *snap = snapshot_build(a->db, ns, a->cfg->hostname_suffix, &version, &db_error);
    if (db_error)
        return http_error(resp, 500, "InternalError", NULL, "%s", "the database failed");
    if (!snap || json_is_true(json_object_get(snap, "deleted"))) {
        json_decref(snap);
        return http_error(resp, 404, "NotFound", NULL, "namespace '%s' does not exist", ns);
    }
    resp->status = 200;
    resp->json = snap;
}

static void not_found(const http_request *req, http_response *resp)
{
    http_error(resp, 404, "NotFound", NULL, "no route for %s %s", req->method, req->path);
}

/* Where a path leads: the route template (for metrics) and its parts. */
typedef enum route_target {
    R_NONE,
    R_HEALTHZ,
    R_READYZ,
    R_METRICS,
    R_BROKERS,
    R_LIST,
    R_ITEM,
    R_SNAPSHOT,
    R_BAD_NAMESPACE
} route_target;

typedef struct route {
    route_target target;
    const char *template; /* a string literal: the metrics keep the pointer */
    resource_kind kind;
    const char *ns;
    const char *name;
} route;

static route resolve(char seg[MAX_SEGMENTS][MAX_SEGMENT_LEN], int n)
{
    static const char *const list_routes[KIND_COUNT] = {
        [KIND_NAMESPACE] = "/namespaces",
        [KIND_CLIENT] = "/namespaces/{ns}/clients",
        [KIND_CLIENT_GROUP] = "/namespaces/{ns}/clientGroups",
        [KIND_TOPIC_SPACE] = "/namespaces/{ns}/topicSpaces",
        [KIND_PERMISSION_BINDING] = "/namespaces/{ns}/permissionBindings",
        [KIND_CA_CERTIFICATE] = "/namespaces/{ns}/caCertificates",
    };
    static const char *const item_routes[KIND_COUNT] = {
        [KIND_NAMESPACE] = "/namespaces/{ns}",
        [KIND_CLIENT] = "/namespaces/{ns}/clients/{name}",
        [KIND_CLIENT_GROUP] = "/namespaces/{ns}/clientGroups/{name}",
        [KIND_TOPIC_SPACE] = "/namespaces/{ns}/topicSpaces/{name}",
        [KIND_PERMISSION_BINDING] = "/namespaces/{ns}/permissionBindings/{name}",
        [KIND_CA_CERTIFICATE] = "/namespaces/{ns}/caCertificates/{name}",
    };
    route r = {.target = R_NONE, .template = "other", .kind = KIND_COUNT};
    if (n == 1 && strcmp(seg[0], "healthz") == 0)
        return (route){.target = R_HEALTHZ, .template = "/healthz"};
    if (n == 1 && strcmp(seg[0], "readyz") == 0)
        return (route){.target = R_READYZ, .template = "/readyz"};
    if (n == 1 && strcmp(seg[0], "metrics") == 0)
        return (route){.target = R_METRICS, .template = "/metrics"};
    if (n == 1 && strcmp(seg[0], "brokers") == 0)
        return (route){.target = R_BROKERS, .template = "/brokers"};
    if (n < 1 || n > 4 || strcmp(seg[0], "namespaces") != 0)
        return r;
    if (n == 1)
        return (route){.target = R_LIST, .template = list_routes[KIND_NAMESPACE], .kind = KIND_NAMESPACE};
    if (n == 2)
        return (route){.target = R_ITEM,
                       .template = item_routes[KIND_NAMESPACE],
                       .kind = KIND_NAMESPACE,
                       .name = seg[1]};
    if (n == 3 && strcmp(seg[2], "snapshot") == 0)
        r = (route){.target = R_SNAPSHOT, .template = "/namespaces/{ns}/snapshot", .ns = seg[1]};
    else {
        resource_kind kind = resource_kind_from_collection(seg[2]);
        if (kind == KIND_COUNT || kind == KIND_NAMESPACE)
            return r;
        r = n == 3 ? (route){.target = R_LIST, .template = list_routes[kind], .kind = kind, .ns = seg[1]}
                   : (route){.target = R_ITEM,
                             .template = item_routes[kind],
                             .kind = kind,
                             .ns = seg[1],
                             .name = seg[3]};
    }
    api_error err = {0};
    if (!resource_name_valid(KIND_NAMESPACE, r.ns, &err))
        r.target = R_BAD_NAMESPACE;
    return r;
}

void api_handle(void *ctx, const http_request *req, http_response *resp)
{
    api *a = ctx;
    char seg[MAX_SEGMENTS][MAX_SEGMENT_LEN];
    int n;
    route r = {.target = R_NONE, .template = "other"};
    if (split_path(req->path, seg, &n))
        r = resolve(seg, n);
    resp->route = r.template;
    if (req->unauthorized && r.target != R_HEALTHZ && r.target != R_READYZ)
        return http_error(
            resp, 401, "Unauthorized", NULL, "%s",
            "this API needs the header \"Authorization: Bearer <token>\" with egcontrol's token");
    if (req->body_too_large)
        return http_error(resp, 413, "PayloadTooLarge", NULL, "the request body exceeds %ld bytes",
                          req->max_body_bytes);
    switch (r.target) {
    case R_NONE: return not_found(req, resp);
    case R_HEALTHZ:
        if (only_get(req, resp))
            serve_healthz(a, resp);
        return;
    case R_READYZ:
        if (only_get(req, resp))
            serve_readyz(a, resp);
        return;
    case R_METRICS:
        if (only_get(req, resp))
            serve_metrics(a, resp);
        return;
    case R_BROKERS:
        if (only_get(req, resp))
            serve_brokers(a, resp);
        return;
    case R_SNAPSHOT:
        if (only_get(req, resp))
            serve_snapshot(a, r.ns, resp);
        return;
    case R_BAD_NAMESPACE: {
        api_error err = {0};
        resource_name_valid(KIND_NAMESPACE, r.ns, &err);
        return http_error(resp, 400, "InvalidResourceName", "name", "%s", err.message);
    }
    case R_LIST:
        if (req->has_unknown_args)
            return http_error(resp, 400, "InvalidQueryParameter", NULL, "%s",
                              "the supported query parameters are $top, $skipToken and api-version");
        return api_resource_list(a, req, r.kind, r.ns, resp);
    case R_ITEM: return api_resource_item(a, req, r.kind, r.ns, r.name, resp);
    }
}
