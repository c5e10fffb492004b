/* Client-group queries (Event Grid's query language over client attributes):
 *
 *   attributes.type IN ['sensor', 'gateway'] AND attributes.floor <= 5
 *   authenticationName = 'device1' OR NOT attributes.role = "admin"
 *
 * The control plane parses a group's query to validate it; the broker parses
 * it once per snapshot and evaluates it for each connecting client. */
#ifndef EG_POLICY_CLIENT_QUERY_H
#define EG_POLICY_CLIENT_QUERY_H

#include <stdbool.h>

#include "policy/client_view.h"

#define CLIENT_QUERY_MAX_LEN 2048 /* bytes of query text */
#define CLIENT_QUERY_MAX_DEPTH 32 /* nested '(' and NOT */
#define CLIENT_QUERY_MAX_LIST 100 /* values in an IN list */

/* A compiled query; the caller owns it and frees it with client_query_free. */
typedef struct client_query client_query;

/* Compiles a NUL-terminated query. On failure returns NULL and, if err is
 * not NULL, fills it with the offset and what was expected there; running
 * out of memory is also a NULL return, with a message saying so. */
client_query *client_query_parse(const char *text, policy_error *err);

void client_query_free(client_query *q);

/* Is the client in the group? A comparison on an attribute the client lacks
 * is false (NOT flips it). On a string-array attribute, '=' and IN hold when
 * some element does, '<>', '!=' and NOT IN when none does, and '<', '>', '<=',
 * '>=' when some element does. Integers and strings compare equal when the
 * string is the integer's canonical decimal form ("5", "-12"; not "05");
 * '<', '>', '<=', '>=' need both sides to be integers in that sense.
 * Allocation-free; cost linear in the query size and the client's attributes. */
bool client_query_matches(const client_query *q, const client_view *c);

#endif
