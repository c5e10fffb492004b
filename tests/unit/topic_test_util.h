/* Helpers shared by the topic-structure suites (sub_tree, retain_store).
 * Header-only: each suite is its own binary. */
#ifndef EG_TOPIC_TEST_UTIL_H
#define EG_TOPIC_TEST_UTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt_topic.h"

static inline mqtt_bytes str(const char *s)
{
    return mqtt_bytes_from_cstr(s);
}

static inline void random_levels(char *out, size_t cap, unsigned *seed, bool filter)
{
    static const char *const names[] = {"a", "b", "", "$x", "ab"};
    size_t levels = 1 + (size_t)(rand_r(seed) % 4), len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < levels; i++) {
        const char *level = names[rand_r(seed) % 5];
        int roll = rand_r(seed) % 6;
        if (filter && roll == 0)
            level = "+";
        if (filter && roll == 1 && i == levels - 1)
            level = "#";
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? "/" : "", level);
    }
    if (len == 0) /* a single empty level is not a valid topic or filter */
        snprintf(out, cap, "/");
}

#endif
