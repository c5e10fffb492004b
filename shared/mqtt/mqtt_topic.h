/* Topic names and topic filters: validation and matching (MQTT 5.0 section 4.7). */
#ifndef EG_MQTT_TOPIC_H
#define EG_MQTT_TOPIC_H

#include <stdbool.h>

#include "mqtt_packet.h"

/* 0 if `topic` is a valid Topic Name (non-empty, no '+' or '#', valid UTF-8,
 * no U+0000), else MQTT_RC_TOPIC_NAME_INVALID (0x90). */
uint8_t mqtt_topic_name_check(mqtt_bytes topic);

/* 0 if `filter` is a valid Topic Filter, including a well-formed shared
 * subscription `$share/{group}/{filter}`, else MQTT_RC_TOPIC_FILTER_INVALID (0x8F). */
uint8_t mqtt_topic_filter_check(mqtt_bytes filter);

/* Does the (valid, non-shared) `filter` match the (valid) topic name? Leading
 * wildcards never match topics that start with '$' (section 4.7.2); "a/#"
 * matches "a"; '+' matches an empty level. A `$share/...` filter is compared
 * literally: pass the inner filter from mqtt_topic_shared_split() instead.
 * Linear in the two lengths, no allocation; empty views never match. */
bool mqtt_topic_matches(mqtt_bytes filter, mqtt_bytes topic);

/* Splits `$share/{group}/{filter}`. Returns 1 and fills group/inner for a valid
 * shared subscription, 0 for a filter that is not shared ("$share" alone and
 * "$sharex/..." are not), -1 for a malformed shared subscription (empty group,
 * '+' or '#' in the group, no filter). The group ends at the first '/' after
 * the prefix. Only the structure is checked here: the inner filter's
 * wildcards and the UTF-8 are checked by mqtt_topic_filter_check().
 * group and inner may be NULL. */
int mqtt_topic_shared_split(mqtt_bytes filter, mqtt_bytes *group, mqtt_bytes *inner);

/* Walks the levels of a topic or filter (a level may be empty). *pos starts at
 * 0 and runs to s.len + 1 ("no level left"). Returns false past the end, else
 * sets *level and moves *pos to the next level. */
bool mqtt_topic_level_next(mqtt_bytes s, uint32_t *pos, mqtt_bytes *level);

/* The inverse: the start of the level before the one at pos (pos >= 1). Costs
 * the length of that level. */
uint32_t mqtt_topic_level_prev(mqtt_bytes s, uint32_t pos);

/* Convenience: a view of a NUL-terminated string. */
mqtt_bytes mqtt_bytes_from_cstr(const char *s);

#endif
