/* What one client may publish and subscribe to under a namespace policy
 * (SPEC.md section 4), compiled once per connection and again for every new
 * snapshot, so that checking a PUBLISH is a short walk over a trie of filter
 * levels instead of a scan over bindings and templates.
 *
 * Building evaluates each client group's query for the client once, and
 * expands the templates of every binding whose group holds the client; a
 * template the client cannot fill (an attribute it lacks, an array or a value
 * that is not a single level) grants nothing. A built client_perms is
 * independent of the policy and immutable: any thread may query it. */
#ifndef EG_SNAPSHOT_CLIENT_PERMS_H
#define EG_SNAPSHOT_CLIENT_PERMS_H

#include <stdbool.h>
#include <stddef.h>

#include "snapshot/ns_policy.h"

/* The caller owns it and frees it with client_perms_free. */
typedef struct client_perms client_perms;

/* c must be a client of p. NULL only when out of memory. */
client_perms *client_perms_build(const ns_policy *p, const ns_client *c);

void client_perms_free(client_perms *cp);

/* May the client publish to this topic name (a valid one: the broker checks
 * names first)? True when some Publisher filter matches it under MQTT rules:
 * '+' and '#' at the first level never match a topic starting with '$', and
 * "a/#" matches "a". Allocation-free and lock-free; the cost is bounded by
 * the topic's levels times the branching of the client's filters. */
bool client_perms_can_publish(const client_perms *cp, const char *topic, size_t len);

/* May the client subscribe to this filter? True when some Subscriber filter
 * covers it (mqtt_filter_covers). For "$share/{group}/{filter}" the inner
 * filter is checked. An invalid filter is refused. Allocation-free; linear in
 * the number of Subscriber filters (SUBSCRIBE is rare next to PUBLISH). */
bool client_perms_can_subscribe(const client_perms *cp, const char *filter, size_t len);

/* May a message on this topic name reach the client? True when some
 * Subscriber filter matches it: for stopping delivery at once when a
 * permission is removed, and for retained messages. Same cost as
 * client_perms_can_publish. */
bool client_perms_can_receive(const client_perms *cp, const char *topic, size_t len);

/* The distinct expanded filters in level order (compared level by level,
 * bytewise; for logs and tests):
 * publish = true for Publisher filters, false for Subscriber ones. The
 * string is valid as long as cp. */
size_t client_perms_count(const client_perms *cp, bool publish);
const char *client_perms_filter(const client_perms *cp, bool publish, size_t i);

/* Do the two grant exactly the same filters? The broker rebuilds a client's
 * permissions on every snapshot and only re-checks its subscriptions when
 * they changed. Either may be NULL (equal only when both are). */
bool client_perms_equal(const client_perms *a, const client_perms *b);

#endif
