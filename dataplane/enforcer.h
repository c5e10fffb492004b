/* Enforcement of control-plane snapshots: the authorizer of a broker bound to
 * one or more namespaces. It keeps the applied snapshot (compiled), decides CONNECT,
 * PUBLISH and SUBSCRIBE, applies new snapshots atomically to live
 * connections, and saves the last good snapshot in the data directory.
 * Ownership: the enforcer owns its policies and per-connection permissions;
 * the broker owns the enforcer (broker_free frees it). */
#ifndef EG_ENFORCER_H
#define EG_ENFORCER_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

struct broker;
typedef struct enforcer enforcer;

/* Installs the enforcer as the broker's authorizer, with one enforcement state
 * per realm (served namespace), and loads each one's saved snapshot from the
 * data directory, if any, applying it to the sessions already there as a live
 * change would: call it after the session store restored its sessions.
 * NULL on failure. */
enforcer *enforcer_new(struct broker *b);
void enforcer_free(enforcer *e);

/* admin_callbacks of the admin endpoint (ctx = the enforcer). */
int enforcer_apply(void *ctx, const char *json, size_t len, uint64_t *version, char *err, size_t err_len);
json_t *enforcer_status(void *ctx);
void enforcer_write_metrics(void *ctx, FILE *out);
/* ["snapshot of namespace X", ...]: the namespaces without a snapshot applied (/readyz). */
json_t *enforcer_missing(void *ctx);

#endif
