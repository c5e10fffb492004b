/* The REST API of egcontrol (api/README.md): routing and the resource handlers.
 * Runs on the HTTP server's single thread. */
#ifndef EG_API_H
#define EG_API_H

#include "cp_config.h"
#include "event_audit.h"
#include "http_server.h"
#include "pusher.h"
#include "store.h"

/* Everything a handler needs; borrowed, owned by main(). */
typedef struct api {
    store *db;
    const cp_config *cfg;
    pusher *push;        /* NULL when no broker is configured */
    http_server *http;   /* set once the server runs, for its metrics */
    event_audit *events; /* the client events' audit file (owned by main()), NULL: none */
} api;

/* The http_handler_fn of egcontrol; ctx is an api. */
void api_handle(void *ctx, const http_request *req, http_response *resp);

/* Handlers of api_resources.c, called by the router with validated path parts. */
void api_resource_item(api *a, const http_request *req, resource_kind kind, const char *ns, const char *name,
                       http_response *resp);
void api_resource_list(api *a, const http_request *req, resource_kind kind, const char *ns,
                       http_response *resp);

#endif
