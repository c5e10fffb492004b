/* Does one MQTT topic filter cover another? SUBSCRIBE is allowed when a
 * template the client may subscribe to covers the requested filter. */
#ifndef EG_POLICY_FILTER_COVER_H
#define EG_POLICY_FILTER_COVER_H

#include <stdbool.h>
#include <stddef.h>

/* True when every topic name that `inner` can match is also matched by
 * `outer` (both valid, non-shared MQTT filters: pass the filter inside a
 * "$share/group/" subscription). Exact for valid filters, including the
 * rules that "a/#" matches "a" and that a leading wildcard never matches a
 * topic starting with '$': "#" covers "+/x" but not "$SYS/x", and "+/#"
 * covers "#" (topics have at least one level). Linear in the lengths; no
 * allocation. */
bool mqtt_filter_covers(const char *outer, size_t outer_len, const char *inner, size_t inner_len);

#endif
