/* Snapshot push: a background thread that sends each namespace's newest
 * snapshot to every configured broker (HTTP POST {url}/snapshots, bearer token,
 * libcurl), retrying with exponential backoff while a broker is down and
 * coalescing bursts of changes. Protocol: api/README.md "Snapshots". */
#ifndef EG_PUSHER_H
#define EG_PUSHER_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

typedef struct pusher pusher;

/* One broker from egcontrol's config; the pusher copies what it keeps. */
typedef struct pusher_broker {
    const char *name;
    const char *url;               /* base URL, e.g. http://127.0.0.1:9090 */
    const char *token;             /* bearer token for the broker's admin endpoint */
    const char *const *namespaces; /* namespaces this broker serves; NULL = all */
    size_t n_namespaces;
} pusher_broker;

typedef struct pusher_options {
    long initial_backoff_ms; /* first retry delay, default 200 */
    long max_backoff_ms;     /* default 10000 */
    long coalesce_ms;        /* wait after a change before pushing, default 50 */
    long timeout_ms;         /* per HTTP request, default 5000 */
} pusher_options;

/* Builds the current snapshot document of namespace `ns` (JSON text, malloc'ed,
 * owned by the caller) and its version. Called on the pusher thread, so it must
 * use its own database connection. NULL when it cannot be built (logged). */
typedef char *(*snapshot_build_fn)(void *ctx, const char *ns, uint64_t *version);

/* Starts the thread. NULL on failure. opt may be NULL for the defaults. */
pusher *pusher_start(const pusher_broker *brokers, size_t n_brokers, const pusher_options *opt,
                     snapshot_build_fn build, void *build_ctx);

/* A change to namespace ns was committed with this version (also called once per
 * namespace at start). Cheap and thread-safe: records the wish and wakes the thread. */
void pusher_notify(pusher *p, const char *ns, uint64_t version);

/* {"value": [{"name", "url", "namespaces": [{"namespace", "desiredVersion",
 * "appliedVersion", "state", "lastError", "attempts", "lastAttemptAt",
 * "lastSuccessAt"}]}]}: a new reference owned by the caller. Thread-safe. */
json_t *pusher_status(pusher *p);

/* Prometheus lines: egcontrol_snapshot_pushes_total{broker,result} and
 * egcontrol_broker_applied_version{broker,namespace}. Thread-safe. */
void pusher_write_metrics(pusher *p, FILE *out);

/* Stops the thread (an in-flight request is abandoned within timeout_ms) and frees everything. */
void pusher_stop(pusher *p);

#endif
