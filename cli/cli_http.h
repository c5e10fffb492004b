/* egctl's requests to egcontrol (libcurl): JSON bodies, the bearer token, API error
 * bodies turned into one-line messages, collections followed through nextLink. */
#ifndef EG_CLI_HTTP_H
#define EG_CLI_HTTP_H

#include <jansson.h>

#include "cli_config.h"

typedef struct cli_response {
    long status;
    char *body;   /* raw body, NUL-terminated ("" when empty) */
    json_t *json; /* the parsed body; NULL when empty or not JSON */
} cli_response;

void cli_http_init(void);
void cli_http_cleanup(void);

/* Sends METHOD to target (a path beginning with '/', appended to the endpoint, or an
 * absolute URL) with an optional JSON body and one optional extra header line
 * ("If-None-Match: *"). Returns CLI_OK when an answer arrived (whatever its status),
 * else prints "cannot reach egcontrol at URL: reason" and returns CLI_ERROR. */
int cli_http_request(const cli_ctx *ctx, const char *method, const char *target, const json_t *body,
                     const char *header, cli_response *resp);
void cli_response_free(cli_response *r);

/* Prints a non-2xx answer as "egctl: 400 InvalidProperty: message (target t)"; returns CLI_ERROR. */
int cli_http_report(const cli_ctx *ctx, const cli_response *r);

/* Sends a request that must succeed (2xx). Returns CLI_OK with the parsed body in
 * *out (a new reference, json null when there is none; out may be NULL), or
 * CLI_ERROR after printing why. *status (if not NULL) gets the HTTP status. */
int cli_http_call(const cli_ctx *ctx, const char *method, const char *target, const json_t *body,
                  const char *header, json_t **out, long *status);

/* GETs a collection and every following page (nextLink); *items gets a new array of
 * all of their items. Returns CLI_OK or CLI_ERROR after printing why. */
int cli_http_list(const cli_ctx *ctx, const char *path, json_t **items);

/* "/namespaces[/{ns}[/{collection}[/{name}]]]" with ns and name percent-encoded
 * (malloc'ed). ns, collection and name may be NULL from the right. */
char *cli_resource_path(const char *ns, const char *collection, const char *name);

#endif
