/* egctl HTTP client over libcurl. */
#include "cli_http.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "cli_args.h"

static CURL *curl; /* one handle for the whole run: keeps the connection alive */

typedef struct buf {
    char *data;
    size_t len;
} buf;

void cli_http_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void cli_http_cleanup(void)
{
    if (curl)
        curl_easy_cleanup(curl);
    curl = NULL;
    curl_global_cleanup();
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    buf *b = ud;
    size_t n = size * nmemb;
    char *d = realloc(b->data, b->len + n + 1);
    if (!d)
        return 0;
    memcpy(d + b->len, ptr, n);
    b->data = d;
    b->len += n;
    d[b->len] = '\0';
    return n;
}

int cli_http_request(const cli_ctx *ctx, const char *method, const char *target, const json_t *body,
                     const char *header, cli_response *resp)
{
    memset(resp, 0, sizeof *resp);
    if (!curl && !(curl = curl_easy_init()))
        return cli_error("cannot initialise libcurl");
    curl_easy_reset(curl);

    char *url;
    if (target[0] == '/') {
        size_t n = strlen(ctx->endpoint) + strlen(target) + 1;
        url = malloc(n);
        if (url)
            snprintf(url, n, "%s%s", ctx->endpoint, target);
    } else {
        url = strdup(target);
    }
    char *payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
    char *auth = NULL;
    struct curl_slist *hdrs = NULL;
    if (ctx->token) {
        size_t n = strlen(ctx->token) + sizeof "Authorization: Bearer ";
        auth = malloc(n);
        if (auth) {
            snprintf(auth, n, "Authorization: Bearer %s", ctx->token);
            hdrs = curl_slist_append(hdrs, auth);
        }
    }
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    if (payload)
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    if (header)
        hdrs = curl_slist_append(hdrs, header);

    buf b = {NULL, 0};
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L); /* client names may be "." or ".." */
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "GET") == 0)
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    if (payload) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "egctl/1");
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (ctx->cacert)
        curl_easy_setopt(curl, CURLOPT_CAINFO, ctx->cacert);

    CURLcode cc = url ? curl_easy_perform(curl) : CURLE_OUT_OF_MEMORY;
    int rc = CLI_OK;
    if (cc != CURLE_OK) {
        rc = cli_error("cannot reach egcontrol at %s: %s", ctx->endpoint,
                       errbuf[0] ? errbuf : curl_easy_strerror(cc));
        free(b.data);
    } else {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
        resp->body = b.data ? b.data : cli_nonnull(strdup(""));
        if (b.len)
            resp->json = json_loadb(b.data, b.len, 0, NULL);
    }
    curl_slist_free_all(hdrs);
    free(auth);
    free(payload);
    free(url);
    return rc;
}

void cli_response_free(cli_response *r)
{
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

int cli_http_report(const cli_ctx *ctx, const cli_response *r)
{
    json_t *err = json_object_get(r->json, "error");
    const char *code = json_string_value(json_object_get(err, "code"));
    const char *msg = json_string_value(json_object_get(err, "message"));
    const char *target = json_string_value(json_object_get(err, "target"));
    if (code || msg) {
        fprintf(stderr, "egctl: %ld %s: %s", r->status, code ? code : "Error", msg ? msg : "");
        if (target && *target)
            fprintf(stderr, " (target %s)", target);
        fputc('\n', stderr);
    } else {
        /* Not egcontrol's error shape (a proxy, another server): its first line. */
        const char *body = r->body ? r->body : "";
        size_t n = strcspn(body, "\r\n");
        fprintf(stderr, "egctl: %ld from %s%s%.*s\n", r->status, ctx->endpoint, n ? ": " : "",
                (int)(n > 200 ? 200 : n), body);
    }
    if (r->status == 401)
        fprintf(stderr, "egctl: %s (use --token, --token-file, EGCTL_TOKEN or ~/.config/egctl/config)\n",
                ctx->token ? "the token was refused" : "no token found");
    return CLI_ERROR;
}

int cli_http_call(const cli_ctx *ctx, const char *method, const char *target, const json_t *body,
                  const char *header, json_t **out, long *status)
{
    cli_response r;
    if (out)
        *out = NULL;
    if (cli_http_request(ctx, method, target, body, header, &r) != CLI_OK)
        return CLI_ERROR;
    if (status)
        *status = r.status;
    if (r.status < 200 || r.status > 299) {
        cli_http_report(ctx, &r);
        cli_response_free(&r);
        return CLI_ERROR;
    }
    if (r.body[0] && !r.json) {
        cli_error("%s %s: the answer is not JSON", method, target);
        cli_response_free(&r);
        return CLI_ERROR;
    }
    if (out)
        *out = r.json ? json_incref(r.json) : json_null();
    cli_response_free(&r);
    return CLI_OK;
}

/* nextLink as a target: kept when it is under the endpoint, else its path and query
 * (so the bearer token never goes to another host). */
static char *same_origin(const cli_ctx *ctx, const char *link)
{
    size_t n = strlen(ctx->endpoint);
    if (strncmp(link, ctx->endpoint, n) == 0 && (link[n] == '/' || link[n] == '?'))
        return strdup(link);
    const char *scheme = strstr(link, "://");
    const char *path = scheme ? strchr(scheme + 3, '/') : link;
    return strdup(path && *path == '/' ? path : "/");
}

int cli_http_list(const cli_ctx *ctx, const char *path, json_t **items)
{
    json_t *all = json_array();
    char *next = strdup(path);
    *items = NULL;
    for (int page = 0; next; page++) {
        json_t *doc;
        if (page > 100000 || cli_http_call(ctx, "GET", next, NULL, NULL, &doc, NULL) != CLI_OK) {
            free(next);
            json_decref(all);
            return CLI_ERROR;
        }
        free(next);
        next = NULL;
        json_t *value = json_object_get(doc, "value");
        if (!json_is_array(value)) {
            json_decref(doc);
            json_decref(all);
            return cli_error("GET %s: the answer has no \"value\" array", path);
        }
        json_array_extend(all, value);
        const char *link = json_string_value(json_object_get(doc, "nextLink"));
        if (link && *link)
            next = same_origin(ctx, link);
        json_decref(doc);
    }
    *items = all;
    return CLI_OK;
}

/* Percent-encodes everything but RFC 3986 unreserved characters and a few
 * sub-delimiters that are harmless in a path segment ($ : @). */
static void append_segment(char *out, size_t *pos, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    out[(*pos)++] = '/';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~$:@", *p)) {
            out[(*pos)++] = (char)*p;
        } else {
            out[(*pos)++] = '%';
            out[(*pos)++] = hex[*p >> 4];
            out[(*pos)++] = hex[*p & 15];
        }
    }
}

char *cli_resource_path(const char *ns, const char *collection, const char *name)
{
    size_t n = sizeof "/namespaces" + 3 * (ns ? strlen(ns) : 0) + (collection ? strlen(collection) : 0) +
               3 * (name ? strlen(name) : 0) + 4;
    char *out = malloc(n);
    if (!out)
        return NULL;
    size_t pos = 0;
    memcpy(out, "/namespaces", 11);
    pos = 11;
    if (ns) {
        append_segment(out, &pos, ns);
        if (collection) {
            out[pos++] = '/';
            memcpy(out + pos, collection, strlen(collection));
            pos += strlen(collection);
            if (name)
                append_segment(out, &pos, name);
        }
    }
    out[pos] = '\0';
    return out;
}
