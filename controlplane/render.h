/* Stored documents as the API shows them: id, name, type, systemData and the
 * read-only properties added to the normalized document. */
#ifndef EG_RENDER_H
#define EG_RENDER_H

#include <jansson.h>

#include "store.h"

/* A new JSON object; NULL on allocation failure. */
json_t *render_resource(resource_kind kind, const char *ns, const stored_resource *r,
                        const char *hostname_suffix);

/* ISO 8601 UTC with milliseconds: 2026-11-25T14:00:00.000Z. */
void render_now(char out[32]);

#endif
