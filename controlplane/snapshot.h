/* Snapshots: everything a broker needs to enforce one namespace, as one JSON
 * document with its version (format in api/README.md, "Snapshots"). */
#ifndef EG_SNAPSHOT_H
#define EG_SNAPSHOT_H

#include <jansson.h>
#include <stdint.h>

#include "store.h"

/* Builds the snapshot of ns inside one read transaction of s: the live document,
 * the tombstone of a deleted namespace, or NULL when the namespace never existed
 * (or on a database error: *db_error set). New reference. */
json_t *snapshot_build(store *s, const char *ns, const char *hostname_suffix, uint64_t *version,
                       bool *db_error);

/* The namespace's hostname: {ns}.{suffix}. */
void snapshot_hostname(const char *ns, const char *suffix, char *out, size_t len);

#endif
