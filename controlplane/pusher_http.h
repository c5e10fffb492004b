/* The libcurl side of the snapshot pusher (pusher.c): one POST {url}/snapshots
 * per request, run on the pusher's curl multi handle, and the interpretation of
 * its outcome. Internal to the pusher; everything here runs on the pusher thread. */
#ifndef EG_PUSHER_HTTP_H
#define EG_PUSHER_HTTP_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One snapshot document shared by the requests of a round (one build, many
 * brokers): libcurl sends it without copying, so it lives until the last of
 * them is done. */
typedef struct push_body {
    unsigned refs;
    char *text;
    size_t len;
} push_body;

/* Takes ownership of text (malloc'ed). The caller holds the first reference;
 * each push_request_new takes another. */
push_body *push_body_new(char *text);
void push_body_unref(push_body *b);

typedef struct push_request {
    CURL *easy;
    push_body *body;
    char *resp; /* the start of the response body, for appliedVersion and error texts */
    size_t resp_len;
} push_request;

/* "{base}/snapshots" without doubling a trailing slash of base. malloc'ed. */
char *push_url(const char *base);

/* The fixed request headers of one broker. NULL when the token cannot go into a
 * header (CR or LF in it) or on allocation failure. */
struct curl_slist *push_headers_new(const char *token);

/* A ready easy handle (not yet added to the multi handle) whose CURLINFO_PRIVATE
 * is owner. Takes a reference to body. NULL on allocation failure. */
push_request *push_request_new(const char *url, struct curl_slist *headers, push_body *body, long timeout_ms,
                               void *owner);

/* The outcome of a finished request: true on a 2xx answer (*has_applied and
 * *applied from a JSON body {"appliedVersion": N}); false otherwise with *error
 * (malloc'ed, may be NULL on allocation failure) saying why. */
bool push_request_outcome(push_request *r, CURLcode code, char **error, bool *has_applied, uint64_t *applied);

/* Cleans up the easy handle (remove it from the multi handle first) and drops the body reference. */
void push_request_free(push_request *r);

#endif
