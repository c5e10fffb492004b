#include "http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "file_util.h"
#include "log.h"

/* One counter per (method, route, status) seen; few enough for a linear scan. */
typedef struct request_counter {
    char method[8];
    const char *route;
    int status;
    unsigned long long count;
} request_counter;

struct http_server {
    struct MHD_Daemon *daemon;
    http_handler_fn handler;
    void *ctx;
    unsigned char token_digest[SHA256_DIGEST_LENGTH];
    long max_body_bytes;
    bool tls;
    int port;
    char *tls_cert_pem; /* MHD keeps pointers to these while running */
    char *tls_key_pem;
    request_counter *counters; /* touched only on the server thread */
    size_t n_counters, cap_counters;
};

/* Per-request state, from the first callback to completion. */
typedef struct request_state {
    char *body;
    size_t len, cap;
    bool too_large;
    struct timespec started;
} request_state;

void http_error(http_response *resp, int status, const char *code, const char *target, const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    json_t *err = json_pack("{s:s, s:s}", "code", code, "message", message);
    if (!err) /* the message quoted bytes that are not UTF-8 */
        err = json_pack("{s:s, s:s}", "code", code, "message",
                        "the request is not valid (details not printable)");
    if (err && target && *target)
        json_object_set_new(err, "target", json_string(target)); /* NULL (skipped) if not UTF-8 */
    json_decref(resp->json);
    resp->json = err ? json_pack("{s:o}", "error", err) : NULL;
    resp->status = status;
}

static void count_request(http_server *s, const char *method, const char *route, int status)
{
    for (size_t i = 0; i < s->n_counters; i++) {
        request_counter *c = &s->counters[i];
        if (c->status == status && c->route == route && strcmp(c->method, method) == 0) {
            c->count++;
            return;
        }
    }
    if (s->n_counters == s->cap_counters) {
        size_t cap = s->cap_counters ? 2 * s->cap_counters : 32;
        request_counter *grown = realloc(s->counters, cap * sizeof *grown);
        if (!grown)
            return; /* a lost metric beats a failed request */
        s->counters = grown;
        s->cap_counters = cap;
    }
    request_counter *c = &s->counters[s->n_counters++];
    snprintf(c->method, sizeof c->method, "%s", method);
    c->route = route;
    c->status = status;
    c->count = 1;
}

void http_server_write_metrics(http_server *s, FILE *out)
{
    fprintf(out, "# HELP egcontrol_http_requests_total REST requests by method, route template and status.\n"
                 "# TYPE egcontrol_http_requests_total counter\n");
    for (size_t i = 0; i < s->n_counters; i++) {
        const request_counter *c = &s->counters[i];
        fprintf(out, "egcontrol_http_requests_total{method=\"%s\",route=\"%s\",status=\"%d\"} %llu\n",
                c->method, c->route, c->status, c->count);
    }
}

/* Constant time whatever the lengths: compares digests. */
static bool token_matches(const http_server *s, const char *header)
{
    static const char prefix[] = "Bearer ";
    if (!header || strncasecmp(header, prefix, sizeof prefix - 1) != 0)
        return false;
    const char *given = header + sizeof prefix - 1;
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)given, strlen(given), digest);
    return CRYPTO_memcmp(digest, s->token_digest, sizeof digest) == 0;
}

static const char *header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static enum MHD_Result note_unknown_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                        const char *value)
{
    (void)kind;
    (void)value;
    if (strcmp(key, "$top") != 0 && strcmp(key, "$skipToken") != 0 && strcmp(key, "api-version") != 0)
        *(bool *)cls = true;
    return MHD_YES;
}

static double elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - since->tv_sec) * 1e3 + (double)(now.tv_nsec - since->tv_nsec) / 1e6;
}

static enum MHD_Result send_response(http_server *s, struct MHD_Connection *c, const char *method,
                                     const char *url, request_state *rs, http_response *resp)
{
    char *body = NULL;
    size_t len = 0;
    const char *type = resp->content_type;
    if (resp->json) {
        body = json_dumps(resp->json, JSON_COMPACT);
        if (body) {
            len = strlen(body);
            type = "application/json";
        } else {
            resp->status = 500;
        }
    } else if (resp->text) {
        body = resp->text;
        resp->text = NULL;
        len = strlen(body);
    }
    struct MHD_Response *r = body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
                                  : MHD_create_response_from_buffer(0, (char *)"", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ok = MHD_NO;
    if (r) {
        if (type)
            MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        if (resp->etag[0]) {
            char quoted[40];
            snprintf(quoted, sizeof quoted, "\"%s\"", resp->etag);
            MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, quoted);
        }
        if (resp->allow)
            MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, resp->allow);
        if (resp->status == 401)
            MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
        if (resp->status == 413)
            MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
        ok = MHD_queue_response(c, (unsigned int)resp->status, r);
        MHD_destroy_response(r);
    } else {
        free(body);
    }
    count_request(s, method, resp->route ? resp->route : "other", resp->status);
    log_msg(LOG_INFO, "http", "%s %s status=%d bytes=%zu ms=%.1f", method, url, resp->status, len,
            elapsed_ms(&rs->started));
    json_decref(resp->json);
    free(resp->text);
    return ok;
}

static void build_base_url(const http_server *s, struct MHD_Connection *c, char *out, size_t len)
{
    const char *host = header(c, MHD_HTTP_HEADER_HOST);
    /* Only a plain host[:port] is echoed back into nextLink. */
    bool sane =
        host && *host && strlen(host) < 200 &&
        strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") == strlen(host);
    if (sane)
        snprintf(out, len, "%s://%s", s->tls ? "https" : "http", host);
    else
        snprintf(out, len, "%s://127.0.0.1:%d", s->tls ? "https" : "http", s->port);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size,
                                  void **con_cls)
{
    (void)version;
    http_server *s = cls;
    request_state *rs = *con_cls;
    if (!rs) {
        rs = calloc(1, sizeof *rs);
        if (!rs)
            return MHD_NO;
        clock_gettime(CLOCK_MONOTONIC, &rs->started);
        *con_cls = rs;
        const char *length = header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
        unsigned long long announced = length ? strtoull(length, NULL, 10) : 0;
        rs->too_large = announced > (unsigned long long)s->max_body_bytes;
        /* Answer at once a client that waits for "100 Continue", or one announcing far too
         * much to read; one already sending a moderately oversized body would see the
         * connection reset before it reads the 413, so that body is read and discarded. */
        const char *expect = header(c, MHD_HTTP_HEADER_EXPECT);
        bool waits = expect && strcasecmp(expect, "100-continue") == 0;
        if (!rs->too_large || (!waits && announced <= 16ULL * (unsigned long long)s->max_body_bytes))
            return MHD_YES;
    }
    if (*upload_size > 0) {
        if (!rs->too_large && rs->len + *upload_size > (size_t)s->max_body_bytes) {
            rs->too_large = true;
        }
        if (!rs->too_large) {
            if (rs->len + *upload_size + 1 > rs->cap) {
                size_t cap = rs->cap ? rs->cap : 4096;
                while (cap < rs->len + *upload_size + 1)
                    cap *= 2;
                char *grown = realloc(rs->body, cap);
                if (!grown)
                    return MHD_NO;
                rs->body = grown;
                rs->cap = cap;
            }
            memcpy(rs->body + rs->len, upload_data, *upload_size);
            rs->len += *upload_size;
            rs->body[rs->len] = '\0';
        }
        *upload_size = 0;
        return MHD_YES;
    }

    http_response resp = {.status = 500, .route = NULL};
    char base_url[256];
    build_base_url(s, c, base_url, sizeof base_url);
    http_request req = {
        .method = method,
        .path = url,
        .body = rs->body,
        .body_len = rs->len,
        .if_match = header(c, MHD_HTTP_HEADER_IF_MATCH),
        .if_none_match = header(c, MHD_HTTP_HEADER_IF_NONE_MATCH),
        .base_url = base_url,
        .arg_top = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "$top"),
        .arg_skip_token = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "$skipToken"),
        .unauthorized = !token_matches(s, header(c, MHD_HTTP_HEADER_AUTHORIZATION)),
        .body_too_large = rs->too_large,
        .max_body_bytes = s->max_body_bytes,
    };
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, note_unknown_arg, &req.has_unknown_args);
    s->handler(s->ctx, &req, &resp);
    return send_response(s, c, method, url, rs, &resp);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    request_state *rs = *con_cls;
    if (rs) {
        free(rs->body);
        free(rs);
        *con_cls = NULL;
    }
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    log_msg(LOG_WARN, "http", "libmicrohttpd: %s", line);
}

static char *read_file(const char *path, char *err, size_t err_len)
{
    char *text = file_read_all(path, NULL);
    if (!text)
        snprintf(err, err_len, "cannot read %s: %s", path, strerror(errno));
    return text;
}

http_server *http_server_start(const http_server_options *opt, http_handler_fn handler, void *ctx, char *err,
                               size_t err_len)
{
    http_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    s->handler = handler;
    s->ctx = ctx;
    s->max_body_bytes = opt->max_body_bytes;
    SHA256((const unsigned char *)opt->token, strlen(opt->token), s->token_digest);

    struct addrinfo hints = {.ai_flags = AI_NUMERICSERV | AI_PASSIVE, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", opt->port);
    int gai = getaddrinfo(opt->address, port, &hints, &ai);
    if (gai != 0) {
        snprintf(err, err_len, "cannot use address %s: %s", opt->address, gai_strerror(gai));
        free(s);
        return NULL;
    }
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (opt->tls_cert && opt->tls_key) {
        s->tls = true;
        flags |= MHD_USE_TLS;
        s->tls_cert_pem = read_file(opt->tls_cert, err, err_len);
        s->tls_key_pem = s->tls_cert_pem ? read_file(opt->tls_key, err, err_len) : NULL;
        if (!s->tls_key_pem) {
            freeaddrinfo(ai);
            http_server_stop(s);
            return NULL;
        }
    }
    struct MHD_OptionItem tls_opts[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert_pem},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key_pem},
        {MHD_OPTION_END, 0, NULL},
    };
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log,
                                 s, MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_NOTIFY_COMPLETED,
                                 on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
                                 MHD_OPTION_ARRAY, s->tls ? tls_opts : &tls_opts[2], MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->daemon) {
        snprintf(err, err_len, "cannot listen on %s port %d (in use, or a bad TLS certificate/key)",
                 opt->address, opt->port);
        http_server_stop(s);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : opt->port;
    return s;
}

int http_server_port(const http_server *s)
{
    return s->port;
}

void http_server_stop(http_server *s)
{
    if (!s)
        return;
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    free(s->tls_cert_pem);
    free(s->tls_key_pem);
    free(s->counters);
    free(s);
}
