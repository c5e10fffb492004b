/* The HTTP side of egcontrol on libmicrohttpd: one internal polling thread (so
 * request handlers run one at a time and share one database connection), body
 * size limit, bearer-token check, access log, and per-route request counters. */
#ifndef EG_HTTP_SERVER_H
#define EG_HTTP_SERVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* What a handler sees of a request; every pointer is borrowed for the call. */
typedef struct http_request {
    const char *method;
    const char *path; /* decoded, without the query string */
    const char *body; /* NUL-terminated; NULL without a body */
    size_t body_len;
    const char *if_match; /* header values or NULL */
    const char *if_none_match;
    const char *base_url; /* "http://host:port" as the client addressed us, for nextLink */
    const char *arg_top;  /* $top */
    const char *arg_skip_token;
    bool has_unknown_args; /* a query parameter other than $top, $skipToken, api-version */
    /* The handler must answer 401 / 413 (after resolving the route, so that the
     * metrics name it): the bearer token was wrong, or the body over the limit. */
    bool unauthorized;
    bool body_too_large;
    long max_body_bytes;
} http_request;

/* What a handler answers. Owned by the server after the call. */
typedef struct http_response {
    int status;
    json_t *json; /* body as JSON (reference stolen), or */
    char *text;   /* body as text (malloc'ed), with */
    const char *content_type;
    char etag[32];     /* "" for none; quoted by the server */
    const char *allow; /* Allow header for 405 */
    const char *route; /* path template for metrics, a string literal */
} http_response;

typedef void (*http_handler_fn)(void *ctx, const http_request *req, http_response *resp);

typedef struct http_server_options {
    const char *address; /* IPv4 or IPv6 literal, or "localhost" */
    int port;            /* 0: any free port */
    const char *token;   /* bearer token (the handler decides which routes need it) */
    long max_body_bytes;
    const char *tls_cert; /* PEM files; both NULL for plain HTTP */
    const char *tls_key;
} http_server_options;

typedef struct http_server http_server;

/* Starts listening. NULL with a message in err on failure. */
http_server *http_server_start(const http_server_options *opt, http_handler_fn handler, void *ctx, char *err,
                               size_t err_len);
int http_server_port(const http_server *s);
/* egcontrol_http_requests_total lines. Call from a handler (the server thread). */
void http_server_write_metrics(http_server *s, FILE *out);
void http_server_stop(http_server *s);

/* Fills resp with {"error": {...}} (target omitted when empty). */
void http_error(http_response *resp, int status, const char *code, const char *target, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
