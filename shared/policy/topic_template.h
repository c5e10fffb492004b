/* Topic templates (the entries of an Event Grid topic space): MQTT topic
 * filters that may name the client with variables,
 *
 *   devices/${client.authenticationName}/telemetry/#
 *   plants/${client.attributes.site}/machines/m-${client.attributes.line}/+
 *
 * A variable fills a whole level or part of one, but never shares its level
 * with '+' or '#'. A '$' that does not start "${" is an ordinary character
 * ("$SYS/#"). The control plane parses templates to validate them; the broker
 * expands them for each client to check PUBLISH and SUBSCRIBE. */
#ifndef EG_POLICY_TOPIC_TEMPLATE_H
#define EG_POLICY_TOPIC_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/client_view.h"

#define TOPIC_TEMPLATE_MAX_LEN 1024 /* bytes of template text */

/* A parsed template; the caller owns it and frees it with topic_template_free. */
typedef struct topic_template topic_template;

/* Parses a NUL-terminated template. On failure returns NULL and, if err is
 * not NULL, fills it with the offset and the reason (out of memory included).
 * The template with each variable replaced by one character must be a valid
 * MQTT topic filter, and not a shared subscription ("$share/..."). */
topic_template *topic_template_parse(const char *text, policy_error *err);

void topic_template_free(topic_template *t);

bool topic_template_has_variables(const topic_template *t);

/* The template as written (NUL-terminated); when it has no variables, this
 * is the filter every client gets. Valid as long as t. */
const char *topic_template_text(const topic_template *t);

typedef enum template_expand_result {
    TEMPLATE_EXPANDED,
    TEMPLATE_NOT_APPLICABLE,
    TEMPLATE_TOO_LONG
} template_expand_result;

/* Writes the expanded MQTT topic filter (NUL-terminated) into out.
 * authenticationName and string attributes go in as they are, integer
 * attributes in decimal. NOT_APPLICABLE when the client lacks an attribute
 * the template uses (or has no authentication name), the attribute is an
 * array, or a value is empty, contains '/', '+', '#' or is not valid UTF-8
 * (so an expansion is always a valid filter), or the expansion would start
 * with "$share/". That wins over TOO_LONG: out_size cannot hold the filter
 * and its NUL, or the filter would exceed MQTT's 65535 bytes. *out_len (if
 * not NULL) receives the filter's length on EXPANDED and the length needed,
 * without the NUL, on TOO_LONG. out may be NULL with out_size 0 to learn the
 * length. Allocation-free. */
template_expand_result topic_template_expand(const topic_template *t, const client_view *c, char *out,
                                             size_t out_size, size_t *out_len);

#endif
