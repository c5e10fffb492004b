#include "pusher_http.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Enough for any {"appliedVersion": N} answer and for the 200 bytes an error
 * text quotes; the rest of a (misbehaving) broker's answer is discarded. */
#define RESP_KEEP 65536
/* How much of an error answer's body goes into lastError. */
#define ERROR_BODY_QUOTE 200

push_body *push_body_new(char *text)
{
    push_body *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->refs = 1;
    b->text = text;
    b->len = strlen(text);
    return b;
}

void push_body_unref(push_body *b)
{
    if (b && --b->refs == 0) {
        free(b->text);
        free(b);
    }
}

char *push_url(const char *base)
{
    size_t len = strlen(base);
    while (len > 0 && base[len - 1] == '/')
        len--;
    char *url;
    if (asprintf(&url, "%.*s/snapshots", (int)len, base) < 0)
        return NULL;
    return url;
}

struct curl_slist *push_headers_new(const char *token)
{
    if (strpbrk(token, "\r\n"))
        return NULL;
    char *auth;
    if (asprintf(&auth, "Authorization: Bearer %s", token) < 0)
        return NULL;
    /* "Expect:" turns off libcurl's 100-continue handshake for large bodies:
     * it costs a round trip (or a 1 s wait with servers that ignore it) and
     * buys nothing, since the body is always wanted. */
    const char *lines[] = {auth, "Content-Type: application/json", "Expect:"};
    struct curl_slist *list = NULL;
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        struct curl_slist *next = curl_slist_append(list, lines[i]);
        if (!next) {
            curl_slist_free_all(list);
            list = NULL;
            break;
        }
        list = next;
    }
    free(auth);
    return list;
}

static size_t on_response(char *data, size_t size, size_t nmemb, void *userdata)
{
    push_request *r = userdata;
    size_t n = size * nmemb;
    size_t room = RESP_KEEP - r->resp_len;
    size_t take = n < room ? n : room;
    if (take > 0) {
        char *grown = realloc(r->resp, r->resp_len + take + 1);
        if (!grown)
            return n; /* only the error text and appliedVersion suffer */
        r->resp = grown;
        memcpy(r->resp + r->resp_len, data, take);
        r->resp_len += take;
        r->resp[r->resp_len] = '\0';
    }
    /* Everything counts as consumed: a short count would abort the transfer
     * and turn a successful push into an error. */
    return n;
}

push_request *push_request_new(const char *url, struct curl_slist *headers, push_body *body, long timeout_ms,
                               void *owner)
{
    push_request *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (!(r->easy = curl_easy_init())) {
        free(r);
        return NULL;
    }
    r->body = body;
    body->refs++;
    CURL *e = r->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    /* Not copied: the body outlives the request through its reference. */
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body->text);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    /* One budget for the whole request, connect phase included (libcurl's own
     * connect timeout is 300 s): a hanging or black-holed broker costs at most
     * timeout_ms per attempt. */
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    /* Threads and signals do not mix: libcurl must not use SIGALRM for DNS timeouts. */
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    /* A broker on this machine is never reached through an http_proxy from the environment. */
    curl_easy_setopt(e, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_response);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_PRIVATE, owner);
    return r;
}

/* Copies at most max bytes of s as printable ASCII: the text goes into log
 * lines and into JSON strings (which must be valid UTF-8), and a cut could
 * split a multibyte character. */
static void quote_body(char *out, const char *s, size_t len, size_t max)
{
    size_t n = len < max ? len : max;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : (c == '\n' || c == '\r' || c == '\t') ? ' ' : '?';
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
}

bool push_request_outcome(push_request *r, CURLcode code, char **error, bool *has_applied, uint64_t *applied)
{
    *error = NULL;
    *has_applied = false;
    if (code != CURLE_OK) {
        /* The generic text ("Couldn't connect to server", "Timeout was
         * reached"): it stays the same from one retry to the next, so the
         * warn-on-change logging stays quiet while a broker is down. */
        *error = strdup(curl_easy_strerror(code));
        return false;
    }
    long status = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300) {
        json_t *doc = r->resp_len ? json_loadb(r->resp, r->resp_len, 0, NULL) : NULL;
        json_t *v = json_object_get(doc, "appliedVersion");
        if (json_is_integer(v) && json_integer_value(v) >= 0) {
            *has_applied = true;
            *applied = (uint64_t)json_integer_value(v);
        }
        json_decref(doc);
        return true;
    }
    char quoted[ERROR_BODY_QUOTE + 1];
    quote_body(quoted, r->resp ? r->resp : "", r->resp_len, ERROR_BODY_QUOTE);
    int n = quoted[0] ? asprintf(error, "HTTP %ld: %s", status, quoted) : asprintf(error, "HTTP %ld", status);
    if (n < 0)
        *error = NULL;
    return false;
}

void push_request_free(push_request *r)
{
    if (!r)
        return;
    curl_easy_cleanup(r->easy);
    push_body_unref(r->body);
    free(r->resp);
    free(r);
}
