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

/* Filters and topics from MQTT 5.0 section 4.7 and edge cases: the topic
 * structures are checked against mqtt_topic_matches on every pair. */
static const char *const topic_test_filters[] = {
    "sport/tennis/player1/#",
    "sport/#",
    "sport/tennis/#",
    "#",
    "sport/tennis/+",
    "sport/+",
    "+",
    "+/+",
    "/+",
    "+/tennis/#",
    "sport/+/player1",
    "$SYS/#",
    "$SYS/monitor/+",
    "+/monitor/Clients",
    "$SYS",
    "/",
    "//",
    "+/",
    "/#",
    "a/b",
    "a/+/+",
    "a/+",
    "a/#",
    "finance",
    "nothing/here",
    "sport/tennis/player1",
    "+/+/+/+",
    "$share",
    "a/+/b",
    "+/#",
    "$SYS/+",
    "/finance",
    "$sharex/a",
};
#define TOPIC_TEST_FILTER_COUNT (sizeof topic_test_filters / sizeof topic_test_filters[0])

static const char *const topic_test_topics[] = {
    "sport/tennis/player1",
    "sport/tennis/player1/ranking",
    "sport/tennis/player1/score/wimbledon",
    "sport/tennis/player2",
    "sport/tennis/player10",
    "sport",
    "sport/",
    "sports",
    "/",
    "//",
    "/finance",
    "finance",
    "finance/stock",
    "$SYS/monitor/Clients",
    "$SYS",
    "$SYS/",
    "$share",
    "a/b",
    "a//b",
    "a/b/c",
    "a",
    "ab",
    "sports/tennis",
    "sport/tennis",
    "$sharex/a",
    "a//c",
};
#define TOPIC_TEST_TOPIC_COUNT (sizeof topic_test_topics / sizeof topic_test_topics[0])

/* The longest topics a UTF-8 string field holds: 32768 levels "x/x/.../x",
 * the filter "+/+/.../+" of the same shape, and 65535 slashes (65536 empty
 * levels). The caller frees the three buffers. */
typedef struct deep_topics {
    char *topic, *pluses, *slashes;
} deep_topics;

#define DEEP_TOPIC_LEVELS 32768

static inline deep_topics deep_topics_new(void)
{
    deep_topics d = {malloc(2 * DEEP_TOPIC_LEVELS), malloc(2 * DEEP_TOPIC_LEVELS), malloc(65536)};
    assert_non_null(d.topic);
    assert_non_null(d.pluses);
    assert_non_null(d.slashes);
    for (size_t i = 0; i < DEEP_TOPIC_LEVELS; i++) {
        d.topic[2 * i] = 'x';
        d.pluses[2 * i] = '+';
        d.topic[2 * i + 1] = d.pluses[2 * i + 1] = '/';
    }
    d.topic[2 * DEEP_TOPIC_LEVELS - 1] = d.pluses[2 * DEEP_TOPIC_LEVELS - 1] = '\0';
    memset(d.slashes, '/', 65535);
    d.slashes[65535] = '\0';
    return d;
}

#endif
