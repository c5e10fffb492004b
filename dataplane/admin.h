/* The broker's admin endpoint (the control-plane link): HTTP on the broker's
 * event loop (libevent evhttp), HTTPS when given a certificate, every route
 * behind a bearer token. Routes:
 *   POST /snapshots  a snapshot document from egcontrol (api/README.md "Snapshots")
 *   GET  /snapshots  {"namespace", "appliedVersion", "appliedAt", "source", "lastError"} of the
 *                    first namespace served, and "namespaces": [the same for each one]
 *   GET  /metrics    Prometheus text
 *   GET  /healthz    {"status": "ok"}: the process is up (no token, like a Kubernetes probe)
 *   GET  /readyz     200 {"status": "ready"} when every listener is up and every namespace has a
 *                    snapshot applied; else 503 {"status": "not ready", "missing": [...]} (no token)
 * Every answer, errors included (even those evhttp makes: 413 for a body over 16 MiB, 400 for
 * a request that is not HTTP), has a JSON body, but /metrics (Prometheus text).
 * Ownership: the admin_server owns its evhttp and TLS context; callbacks are borrowed. */
#ifndef EG_ADMIN_H
#define EG_ADMIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

struct event_base;

typedef struct admin_callbacks {
    void *ctx;
    /* Validates and applies a snapshot. 0: applied (or already at/after that
     * version), *version = the version now applied; -1: refused, reason in err
     * (answered 400, the old snapshot stays). */
    int (*apply)(void *ctx, const char *json, size_t len, uint64_t *version, char *err, size_t err_len);
    /* The GET /snapshots body: a new reference. */
    json_t *(*status)(void *ctx);
    /* Appends Prometheus lines. */
    void (*metrics)(void *ctx, FILE *out);
    /* What keeps the broker from being ready besides its listeners: a new JSON array of
     * strings, empty when nothing (NULL: out of memory). May be NULL (nothing). */
    json_t *(*missing)(void *ctx);
} admin_callbacks;

typedef struct admin_server admin_server;

/* Listens on cfg->bind:cfg->port. NULL on failure (logged). */
admin_server *admin_server_start(struct event_base *base, const admin_config *cfg, const admin_callbacks *cb);
/* Whether the MQTT listeners are all up (/readyz); false until told. */
void admin_server_set_listeners_up(admin_server *a, bool up);
/* The port bound (useful with port 0). */
int admin_server_port(const admin_server *a);
void admin_server_free(admin_server *a);

#endif
