/* The control plane's SQLite database: namespaces and their resources as
 * normalized JSON documents, the change sequence that versions snapshots, and
 * tombstones of deleted namespaces. Schema and migrations in store.c.
 * One store is used by one thread; other threads open their own. */
#ifndef EG_STORE_H
#define EG_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "resource_validate.h"

typedef struct store store;

/* A resource as stored. Owned by the caller: free with stored_resource_clear. */
typedef struct stored_resource {
    char *name;
    json_t *doc;   /* the normalized document resource_validate returned */
    uint64_t etag; /* change sequence of its last write */
    char created_at[32];
    char modified_at[32];
} stored_resource;

void stored_resource_clear(stored_resource *r);

/* Opens (creating it and its directory's file if needed) and migrates the database.
 * NULL with a message in err on failure. */
store *store_open(const char *path, char *err, size_t err_len);
void store_close(store *s);

/* BEGIN IMMEDIATE: one writer at a time, taken before the first read so that
 * checks and writes see the same state. */
bool store_begin_write(store *s);
/* BEGIN (deferred): a consistent read snapshot. */
bool store_begin_read(store *s);
bool store_commit(store *s);
void store_rollback(store *s);

/* The next change sequence value (inside a write transaction). 0 on error. */
uint64_t store_next_sequence(store *s);
uint64_t store_current_sequence(store *s);

/* Lookups: 1 found (out filled), 0 absent, -1 database error.
 * For KIND_NAMESPACE, ns is ignored and name is the namespace. */
int store_get(store *s, resource_kind kind, const char *ns, const char *name, stored_resource *out);
/* Namespace snapshot version: 1 found, 0 absent (then *tombstone_version is set
 * when it was deleted, else 0), -1 error. */
int store_namespace_version(store *s, const char *ns, uint64_t *version, uint64_t *tombstone_version);

/* Creates or replaces. `auth_key` (clients: folded authentication name),
 * `ref_group`/`ref_space` (bindings) are NULL for other kinds. Updates the
 * namespace's version to seq. False on a database error. */
typedef struct store_write {
    resource_kind kind;
    const char *ns; /* NULL for KIND_NAMESPACE */
    const char *name;
    const json_t *doc;
    uint64_t seq;
    const char *now; /* ISO 8601 */
    const char *auth_key;
    const char *ref_group;
    const char *ref_space;
} store_write;
bool store_put(store *s, const store_write *w);

/* Deletes (a namespace with everything in it, leaving a tombstone). 1 deleted,
 * 0 absent, -1 error. */
int store_delete(store *s, resource_kind kind, const char *ns, const char *name, uint64_t seq);

/* Number of resources of a kind in ns (namespaces: in all), or -1. */
long store_count(store *s, resource_kind kind, const char *ns);

/* Name of a client of ns other than `except` with this auth key: 1 (found, *other
 * malloc'ed), 0 none, -1 error. */
int store_find_auth_key(store *s, const char *ns, const char *auth_key, const char *except, char **other);
/* Name of a permission binding that refers to the client group or topic space: 1/0/-1 as above. */
int store_find_referrer(store *s, const char *ns, resource_kind kind, const char *name, char **binding);

/* Calls fn for up to `limit` resources of a kind in ns whose names sort after
 * `after` (NULL: from the start), in name order. Returns the number visited, or
 * -1 on error. fn returns false to stop. */
typedef bool (*store_visit_fn)(void *ctx, const stored_resource *r);
long store_list(store *s, resource_kind kind, const char *ns, const char *after, long limit,
                store_visit_fn fn, void *ctx);

/* Names of every namespace and tombstone with their versions, for pushing at start. */
typedef void (*store_version_fn)(void *ctx, const char *ns, uint64_t version);
bool store_each_namespace_version(store *s, store_version_fn fn, void *ctx);

#endif
