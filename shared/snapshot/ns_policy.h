/* A namespace snapshot as egcontrol pushes it (api/README.md, "Snapshots"),
 * validated whole and compiled for the broker: settings, CA certificates,
 * clients by authentication name, and the authorization model that
 * client_perms.h turns into per-client permissions.
 *
 * A policy is immutable once parsed, so any number of threads may read it
 * at once; the broker swaps whole policies when a new snapshot arrives. */
#ifndef EG_SNAPSHOT_NS_POLICY_H
#define EG_SNAPSHOT_NS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "policy/client_view.h"
#include "snapshot/resource_names.h" /* the limits, ns_name_source, ns_validation_scheme */

#define NS_POLICY_SCHEMA 1     /* the snapshot "schema" this parser reads */
#define NS_POLICY_ERR_SIZE 512 /* an error buffer that holds every message whole */

/* The caller owns a policy and frees it with ns_policy_free. */
typedef struct ns_policy ns_policy;

/* Parses and validates a snapshot document (JSON text, not NUL-terminated).
 * Any problem refuses the whole document: returns NULL and writes into err
 * (if not NULL) a message that starts with the path of the offending item,
 * e.g. "clients[3].attributes.floor: must be a string, an integer or an
 * array of strings, not a real". A deleted-namespace document
 * ({"schema": 1, "namespace": "x", "version": N, "deleted": true}) parses
 * into a policy with no clients for which ns_policy_deleted() is true.
 * Keys the parser does not know are ignored (a newer egcontrol may add some
 * within schema 1); duplicate keys in an object are refused. */
ns_policy *ns_policy_parse(const char *json, size_t len, char *err, size_t err_len);

void ns_policy_free(ns_policy *p);

const char *ns_policy_namespace(const ns_policy *p);
uint64_t ns_policy_version(const ns_policy *p);
bool ns_policy_deleted(const ns_policy *p);

typedef struct ns_settings {
    bool enabled;                        /* topicSpacesConfiguration state; Disabled refuses connections */
    uint32_t max_session_expiry_hours;   /* 1-8 */
    uint32_t max_sessions_per_auth_name; /* 1-100 */
    ns_name_source alt_sources[5];       /* distinct, in the configured order */
    size_t n_alt_sources;
    const char *hostname;  /* "{namespace}.{suffix}", or NULL when the snapshot has none */
    long throughput_units; /* 1-40, or 0 when unset */
} ns_settings;

/* Valid as long as p. A deleted namespace has all zeros (not enabled). */
const ns_settings *ns_policy_settings(const ns_policy *p);

/* The namespace's CA certificates as trust anchors (X509_V_FLAG_PARTIAL_CHAIN
 * is set, so an uploaded intermediate is trusted as such). Borrowed: valid as
 * long as p (X509_STORE_up_ref to keep it longer). Never NULL; may hold no
 * certificate. */
X509_STORE *ns_policy_ca_store(const ns_policy *p);

/* Do the two policies hold the same set of CA certificates (by SHA-256 of
 * the DER)? Lets the broker skip re-checking chains when only other parts of
 * the snapshot changed. */
bool ns_policy_same_cas(const ns_policy *a, const ns_policy *b);

/* ---- clients */

/* A client of the policy: borrowed, valid as long as the policy. */
typedef struct ns_client ns_client;

/* The client with that authentication name, compared ignoring ASCII case as
 * Event Grid does, or NULL. O(1) expected (hash table); no allocation. */
const ns_client *ns_policy_find_client(const ns_policy *p, const char *auth_name, size_t len);

/* Every client, in snapshot order: for i < ns_policy_client_count(p). */
size_t ns_policy_client_count(const ns_policy *p);
const ns_client *ns_policy_client_at(const ns_policy *p, size_t i);

const char *ns_client_name(const ns_client *c);
/* As the snapshot spells it: this goes into template expansion. */
const char *ns_client_auth_name(const ns_client *c);
bool ns_client_enabled(const ns_client *c);
ns_validation_scheme ns_client_scheme(const ns_client *c);
/* Is hex64 (NUL-terminated, 64 hex digits in any case) one of the client's
 * allowedThumbprints? Always false for other schemes. */
bool ns_client_thumbprint_allowed(const ns_client *c, const char *hex64);
/* The authentication name and attributes, for shared/policy code. Borrows
 * from the policy. */
client_view ns_client_view(const ns_client *c);

/* Same client for authentication purposes: same name, authentication name
 * (exactly), validation scheme and set of thumbprints. When a new snapshot
 * keeps a connected client's identity (and it stays enabled), the connection
 * may stay; otherwise the broker disconnects it. Either may be NULL (equal
 * only when both are). */
bool ns_client_same_identity(const ns_client *a, const ns_client *b);

#endif
