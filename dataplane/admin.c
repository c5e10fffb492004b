#include "admin.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "log.h"
#include "tls.h"

/* Snapshots of 10,000 clients are a few MB; beyond this evhttp answers 413
 * before the body is buffered whole. */
#define ADMIN_MAX_BODY (16L * 1024 * 1024)
/* Headers are read before the token can be checked: keep what a stranger can
 * make us buffer small. */
#define ADMIN_MAX_HEADERS (64L * 1024)
/* Idle or stalled connections (headers or body trickling in) go after this. */
#define ADMIN_TIMEOUT_SECONDS 30

/* (route, status) pairs seen: 4 routes times a handful of statuses. */
#define MAX_COUNTERS 48

typedef struct request_counter {
    const char *route; /* one of the static route names */
    int status;
    unsigned long long count;
} request_counter;

struct admin_server {
    struct event_base *base;
    struct evhttp *http;
    tls_server *tls;    /* NULL: plain HTTP (loopback only, enforced by config) */
    admin_callbacks cb; /* copied: callers may pass a compound literal */
    unsigned char token_digest[SHA256_DIGEST_LENGTH];
    int port;
    request_counter counters[MAX_COUNTERS];
    int n_counters;
    unsigned long long snapshots_applied, snapshots_refused;
    bool listeners_up; /* /readyz */
};

static const char ROUTE_SNAPSHOTS[] = "/snapshots";
static const char ROUTE_METRICS[] = "/metrics";
static const char ROUTE_HEALTHZ[] = "/healthz";
static const char ROUTE_READYZ[] = "/readyz";
static const char ROUTE_OTHER[] = "other"; /* unknown paths share one label: no unbounded label values */

static const char *method_name(enum evhttp_cmd_type m)
{
    switch (m) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_TRACE: return "TRACE";
    case EVHTTP_REQ_CONNECT: return "CONNECT";
    case EVHTTP_REQ_PATCH: return "PATCH";
    default: return "?";
    }
}

static void count_request(admin_server *a, const char *route, int status)
{
    for (int i = 0; i < a->n_counters; i++) {
        if (a->counters[i].route == route && a->counters[i].status == status) {
            a->counters[i].count++;
            return;
        }
    }
    if (a->n_counters == MAX_COUNTERS)
        return; /* cannot happen with the statuses answered here; a lost metric beats a crash */
    a->counters[a->n_counters++] = (request_counter){route, status, 1};
}

/* The request target for the log: bounded, and no control bytes that could
 * forge log lines. */
static void loggable_uri(struct evhttp_request *req, char *out, size_t len)
{
    const char *uri = evhttp_request_get_uri(req);
    size_t n = 0;
    for (; uri && uri[n] && n + 1 < len; n++)
        out[n] = (uri[n] > 0x20 && uri[n] < 0x7f) ? uri[n] : '?';
    out[n] = '\0';
}

/* Sends the reply, then counts and logs it: every answer of ours goes through here. */
static void finish(admin_server *a, struct evhttp_request *req, const char *route, int status,
                   const char *content_type, struct evbuffer *body, const char *note)
{
    struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
    if (content_type)
        evhttp_add_header(headers, "Content-Type", content_type);
    evhttp_add_header(headers, "Cache-Control", "no-store");
    if (status == 401)
        evhttp_add_header(headers, "WWW-Authenticate", "Bearer");
    size_t bytes = body ? evbuffer_get_length(body) : 0;
    evhttp_send_reply(req, status, NULL, body);
    count_request(a, route, status);
    char uri[256];
    loggable_uri(req, uri, sizeof uri);
    log_msg(LOG_INFO, "admin", "%s %s status=%d bytes=%zu%s%s", method_name(evhttp_request_get_command(req)),
            uri, status, bytes, note ? " " : "", note ? note : "");
}

/* Takes the reference to `doc`. */
static void reply_json(admin_server *a, struct evhttp_request *req, const char *route, int status,
                       json_t *doc, const char *note)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    struct evbuffer *body = evbuffer_new();
    if (!text || !body || evbuffer_add(body, text, strlen(text)) != 0) {
        free(text);
        if (body)
            evbuffer_free(body);
        /* No memory for a body: the status line alone still tells the client. */
        finish(a, req, route, 500, NULL, NULL, "(no memory for the response)");
        return;
    }
    free(text);
    finish(a, req, route, status, "application/json", body, note);
    evbuffer_free(body);
}

/* {"error": {"code", "message"}}, like egcontrol's errors. */
static void reply_error(admin_server *a, struct evhttp_request *req, const char *route, int status,
                        const char *code, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void reply_error(admin_server *a, struct evhttp_request *req, const char *route, int status,
                        const char *code, const char *fmt, ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    json_t *msg = json_string(message);
    if (!msg) /* the message quotes bytes that are not UTF-8 (or was cut inside a character) */
        msg = json_string("the request is not valid (details not printable)");
    reply_json(a, req, route, status, json_pack("{s:{s:s, s:o}}", "error", "code", code, "message", msg),
               NULL);
}

static void reply_method_not_allowed(admin_server *a, struct evhttp_request *req, const char *route,
                                     const char *allow)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
    reply_error(a, req, route, 405, "MethodNotAllowed", "%s %s is not supported; allowed: %s",
                method_name(evhttp_request_get_command(req)), route, allow);
}

/* Constant time whatever the lengths: the digests are compared, not the tokens. */
static bool token_matches(const admin_server *a, struct evhttp_request *req)
{
    static const char prefix[] = "Bearer ";
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (!h || strncasecmp(h, prefix, sizeof prefix - 1) != 0)
        return false;
    const char *given = h + sizeof prefix - 1;
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)given, strlen(given), digest);
    return CRYPTO_memcmp(digest, a->token_digest, sizeof digest) == 0;
}

static void handle_post_snapshot(admin_server *a, struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    /* The enforcer parses one contiguous text: a single copy of a few MB at most. */
    const char *json = len ? (const char *)evbuffer_pullup(in, -1) : "";
    if (!json) {
        reply_error(a, req, ROUTE_SNAPSHOTS, 500, "InternalError", "%s",
                    "out of memory reading the snapshot");
        return;
    }
    uint64_t version = 0;
    char err[512] = "";
    if (a->cb.apply(a->cb.ctx, json, len, &version, err, sizeof err) != 0) {
        a->snapshots_refused++;
        log_msg(LOG_WARN, "admin", "snapshot refused: %s", err[0] ? err : "(no reason given)");
        reply_error(a, req, ROUTE_SNAPSHOTS, 400, "InvalidSnapshot", "%s",
                    err[0] ? err : "the snapshot was refused");
        return;
    }
    a->snapshots_applied++;
    char note[48];
    snprintf(note, sizeof note, "version=%llu", (unsigned long long)version);
    reply_json(a, req, ROUTE_SNAPSHOTS, 200, json_pack("{s:I}", "appliedVersion", (json_int_t)version), note);
}

static void handle_get_snapshot(admin_server *a, struct evhttp_request *req)
{
    json_t *status = a->cb.status(a->cb.ctx);
    if (!status) {
        reply_error(a, req, ROUTE_SNAPSHOTS, 500, "InternalError", "%s",
                    "the snapshot status is unavailable");
        return;
    }
    reply_json(a, req, ROUTE_SNAPSHOTS, 200, status, NULL);
}

static void write_own_metrics(const admin_server *a, FILE *out)
{
    fprintf(out, "# HELP egbroker_admin_requests_total Admin endpoint requests by route and status.\n"
                 "# TYPE egbroker_admin_requests_total counter\n");
    for (int i = 0; i < a->n_counters; i++)
        fprintf(out, "egbroker_admin_requests_total{route=\"%s\",status=\"%d\"} %llu\n", a->counters[i].route,
                a->counters[i].status, a->counters[i].count);
    fprintf(
        out,
        "# HELP egbroker_admin_snapshots_total Snapshots received on POST /snapshots, applied or refused.\n"
        "# TYPE egbroker_admin_snapshots_total counter\n"
        "egbroker_admin_snapshots_total{result=\"applied\"} %llu\n"
        "egbroker_admin_snapshots_total{result=\"refused\"} %llu\n",
        a->snapshots_applied, a->snapshots_refused);
}

static void handle_metrics(admin_server *a, struct evhttp_request *req)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (out) {
        write_own_metrics(a, out);
        if (a->cb.metrics)
            a->cb.metrics(a->cb.ctx, out);
        fclose(out); /* sets text and len */
    }
    struct evbuffer *body = evbuffer_new();
    if (!out || !text || !body || evbuffer_add(body, text, len) != 0) {
        free(text);
        if (body)
            evbuffer_free(body);
        reply_error(a, req, ROUTE_METRICS, 500, "InternalError", "%s", "out of memory writing the metrics");
        return;
    }
    free(text);
    finish(a, req, ROUTE_METRICS, 200, "text/plain; version=0.0.4; charset=utf-8", body, NULL);
    evbuffer_free(body);
}

/* 200 when nothing is missing, else 503 and what is. */
static void handle_readyz(admin_server *a, struct evhttp_request *req)
{
    json_t *missing = a->cb.missing ? a->cb.missing(a->cb.ctx) : json_array();
    if (missing && !a->listeners_up && json_array_insert_new(missing, 0, json_string("listeners")) != 0) {
        json_decref(missing);
        missing = NULL;
    }
    if (!missing) {
        reply_error(a, req, ROUTE_READYZ, 500, "InternalError", "%s", "out of memory checking readiness");
        return;
    }
    bool ready = json_array_size(missing) == 0;
    reply_json(a, req, ROUTE_READYZ, ready ? 200 : 503,
               json_pack("{s:s, s:o}", "status", ready ? "ready" : "not ready", "missing", missing), NULL);
}

/* True when the connection is not what it must be. With a certificate every
 * connection is TLS: should SSL_new have failed (out of memory), evhttp would
 * fall back to a plain socket, and that must not serve anything. */
static bool plaintext_on_tls_port(const admin_server *a, struct evhttp_request *req)
{
    if (!a->tls)
        return false;
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    return !bev || !bufferevent_openssl_get_ssl(bev);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    admin_server *a = arg;
    if (plaintext_on_tls_port(a, req)) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
        reply_error(a, req, ROUTE_OTHER, 503, "ServiceUnavailable", "%s", "TLS is not available");
        return;
    }
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    path = path ? path : "";
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    bool get = m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD; /* evhttp leaves out the body of HEAD */

    /* Liveness and readiness probes carry no token (Kubernetes probes have none); they tell
     * nothing a stranger could use but whether snapshots are missing. */
    bool healthz = strcmp(path, ROUTE_HEALTHZ) == 0;
    if (healthz || strcmp(path, ROUTE_READYZ) == 0) {
        const char *probe = healthz ? ROUTE_HEALTHZ : ROUTE_READYZ;
        if (!get)
            reply_method_not_allowed(a, req, probe, "GET, HEAD");
        else if (healthz)
            reply_json(a, req, ROUTE_HEALTHZ, 200, json_pack("{s:s}", "status", "ok"), NULL);
        else
            handle_readyz(a, req);
        return;
    }
    const char *route = strcmp(path, ROUTE_SNAPSHOTS) == 0 ? ROUTE_SNAPSHOTS
                        : strcmp(path, ROUTE_METRICS) == 0 ? ROUTE_METRICS
                                                           : ROUTE_OTHER;
    /* The token before anything else, so a stranger learns nothing, not even
     * which paths exist. */
    if (!token_matches(a, req)) {
        reply_error(a, req, route, 401, "Unauthorized", "%s",
                    "this endpoint needs the header \"Authorization: Bearer <token>\" with the broker's "
                    "admin token");
        return;
    }
    if (route == ROUTE_SNAPSHOTS) {
        if (m == EVHTTP_REQ_POST)
            handle_post_snapshot(a, req);
        else if (get)
            handle_get_snapshot(a, req);
        else
            reply_method_not_allowed(a, req, route, "GET, HEAD, POST");
    } else if (route == ROUTE_METRICS) {
        if (get)
            handle_metrics(a, req);
        else
            reply_method_not_allowed(a, req, route, "GET, HEAD");
    } else {
        reply_error(a, req, route, 404, "NotFound", "%s",
                    "no such route; the admin endpoint serves /snapshots, /metrics, /healthz and /readyz");
    }
}

/* The end of the HTML page evhttp_send_error writes. */
static const char EVHTTP_PAGE_END[] = "</BODY></HTML>\n";

/* evhttp answers by itself what never reaches on_request (a body over ADMIN_MAX_BODY: 413;
 * headers over ADMIN_MAX_HEADERS or a request that is not HTTP: 400) with an HTML page, and
 * libevent 2.1 has no hook for it. So each connection's output is watched: such a page, written
 * whole in one call before the loop sends anything, is replaced by our JSON error. */
static void replace_evhttp_error_page(struct evbuffer *out, const struct evbuffer_cb_info *info, void *arg)
{
    admin_server *a = arg;
    size_t len = evbuffer_get_length(out), end_len = sizeof EVHTTP_PAGE_END - 1;
    if (info->n_added == 0 || len < end_len || len > 1024)
        return; /* the page is a few hundred bytes; our own answers never end like it */
    char text[1025];
    int status = 0;
    char version;
    if (evbuffer_copyout(out, text, len) != (ev_ssize_t)len)
        return;
    text[len] = '\0';
    if (memcmp(text + len - end_len, EVHTTP_PAGE_END, end_len) != 0 ||
        sscanf(text, "HTTP/1.%c %3d ", &version, &status) != 2 || status < 400)
        return;
    const char *code = status == 413 ? "PayloadTooLarge" : status == 400 ? "BadRequest" : "HttpError";
    const char *message = status == 413   ? "the request body exceeds the admin endpoint's limit of 16 MiB"
                          : status == 400 ? "the request is not valid HTTP, or its headers exceed 64 KiB"
                                          : "the request cannot be served";
    json_t *doc = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", message);
    char *body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    size_t line_len = strcspn(text, "\r\n");
    if (body) { /* else the HTML page goes out: better than nothing */
        evbuffer_drain(out, len);
        evbuffer_add_printf(out,
                            "%.*s\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
                            "Connection: close\r\nContent-Length: %zu\r\n\r\n%s",
                            (int)line_len, text, strlen(body), body);
    }
    free(body);
    count_request(a, ROUTE_OTHER, status);
    log_msg(LOG_INFO, "admin", "request refused by the HTTP layer status=%d code=%s", status, code);
}

/* evhttp asks for each accepted connection's bufferevent; the socket is set afterwards, which
 * starts the TLS handshake. NULL: evhttp makes a plain one (which on_request refuses on a TLS
 * port) and its own error pages stay HTML. */
static struct bufferevent *make_bufferevent(struct event_base *base, void *arg)
{
    admin_server *a = arg;
    struct bufferevent *bev;
    if (a->tls) {
        SSL *ssl = tls_server_accept(a->tls);
        bev = ssl ? bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                   BEV_OPT_CLOSE_ON_FREE)
                  : NULL;
        if (!bev)
            SSL_free(ssl); /* not taken over on failure */
    } else {
        bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE); /* what evhttp makes itself */
    }
    if (bev && !evbuffer_add_cb(bufferevent_get_output(bev), replace_evhttp_error_page, a)) {
        bufferevent_free(bev);
        bev = NULL;
    }
    if (!bev)
        log_msg(LOG_ERROR, "admin", "%s", "cannot set up a connection (out of memory)");
    return bev;
}

static int bound_port(struct evhttp_bound_socket *bound)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

admin_server *admin_server_start(struct event_base *base, const admin_config *cfg, const admin_callbacks *cb)
{
    /* An empty token would make "Bearer " a valid credential. */
    if (!cfg->token[0] || !cb || !cb->apply || !cb->status) {
        log_msg(LOG_ERROR, "admin", "%s", "the admin endpoint needs a token and its callbacks");
        return NULL;
    }
    admin_server *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->base = base;
    a->cb = *cb;
    a->port = -1;
    SHA256((const unsigned char *)cfg->token, strlen(cfg->token), a->token_digest);
    bool https = cfg->cert[0] && cfg->key[0];
    /* The shared TLS set-up: 1.2+ only, ECDHE AEAD suites; no client
     * certificate is asked for, the bearer token is the credential. */
    if (https && !(a->tls = tls_server_new(cfg->cert, cfg->key, false)))
        goto fail; /* logged by tls_server_new */
    if (!(a->http = evhttp_new(base))) {
        log_msg(LOG_ERROR, "admin", "%s", "cannot create the HTTP server");
        goto fail;
    }
    /* Every method reaches on_request, which answers 405 (evhttp would say 501). */
    evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
                                            EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                            EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_max_body_size(a->http, ADMIN_MAX_BODY);
    evhttp_set_max_headers_size(a->http, ADMIN_MAX_HEADERS);
    evhttp_set_timeout(a->http, ADMIN_TIMEOUT_SECONDS);
    /* An oversized body is read and dropped before the 413: egcontrol sends
     * without "Expect: 100-continue", and closing on a client still sending
     * would reset the connection before it reads the answer. */
    evhttp_set_flags(a->http, EVHTTP_SERVER_LINGERING_CLOSE);
    evhttp_set_bevcb(a->http, make_bufferevent, a);
    evhttp_set_gencb(a->http, on_request, a);
    struct evhttp_bound_socket *bound = evhttp_bind_socket_with_handle(a->http, cfg->bind, cfg->port);
    if (!bound) {
        log_msg(LOG_ERROR, "admin", "cannot listen on %s port %u: %s", cfg->bind, (unsigned)cfg->port,
                evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        goto fail;
    }
    a->port = bound_port(bound);
    bool v6 = strchr(cfg->bind, ':') != NULL;
    log_msg(LOG_INFO, "admin", "listening on %s://%s%s%s:%d", a->tls ? "https" : "http", v6 ? "[" : "",
            cfg->bind, v6 ? "]" : "", a->port);
    return a;
fail:
    admin_server_free(a);
    return NULL;
}

void admin_server_set_listeners_up(admin_server *a, bool up)
{
    a->listeners_up = up;
}

int admin_server_port(const admin_server *a)
{
    return a->port;
}

void admin_server_free(admin_server *a)
{
    if (!a)
        return;
    if (a->http)
        evhttp_free(a->http); /* closes the listener and every connection (their SSL objects too) */
    tls_server_free(a->tls);
    free(a);
}
