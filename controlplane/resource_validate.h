/* Validation of REST request bodies, one resource kind at a time: names, types,
 * enums, ranges, unknown fields, defaults. Pure functions of the JSON: checks
 * that need the database (references, uniqueness, counts) are the handler's. */
#ifndef EG_RESOURCE_VALIDATE_H
#define EG_RESOURCE_VALIDATE_H

#include <jansson.h>
#include <stdbool.h>

#include "api_error.h"
#include "cp_quotas.h"

typedef enum resource_kind {
    KIND_NAMESPACE,
    KIND_CLIENT,
    KIND_CLIENT_GROUP,
    KIND_TOPIC_SPACE,
    KIND_PERMISSION_BINDING,
    KIND_CA_CERTIFICATE,
    KIND_COUNT
} resource_kind;

/* Path segment of the collection ("clients", "clientGroups", ...; "namespaces"
 * for KIND_NAMESPACE) and Azure resource type ("Microsoft.EventGrid/namespaces/clients"). */
const char *resource_kind_collection(resource_kind kind);
const char *resource_kind_type(resource_kind kind);
/* KIND_COUNT when the segment names no sub-resource collection. */
resource_kind resource_kind_from_collection(const char *segment);

/* Name rules of the kind (clients: 1-128 of [A-Za-z0-9-:._]; others: 3-50 of [A-Za-z0-9-]).
 * Fails with 400 InvalidResourceName. */
bool resource_name_valid(resource_kind kind, const char *name, api_error *err);

/* Validates a PUT body (or, for PATCH, the stored document with the patch merged
 * in) and returns the normalized document to store, owned by the caller:
 *   {"properties": {...}}            plus, for namespaces, optional "sku", "location", "tags".
 * Defaults are filled in, read-only fields dropped (provisioningState, hostname, id,
 * type, systemData), derived fields computed (CA certificates: issueTimeInUtc,
 * expiryTimeInUtc), thumbprints upper-cased. `old` is the stored document of the
 * resource (NULL when it is being created), for fields that cannot change.
 * Returns NULL with err filled (status 400) on any violation. */
json_t *resource_validate(resource_kind kind, const char *name, const json_t *body, const json_t *old,
                          const cp_quotas *quotas, api_error *err);

/* RFC 7386 JSON merge patch: a new value, target and patch untouched. */
json_t *json_merge_patch(const json_t *target, const json_t *patch);

#endif
