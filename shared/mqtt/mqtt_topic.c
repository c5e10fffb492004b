/* Topic names and topic filters: validation, shared-subscription splitting and
 * matching (MQTT 5.0 and 3.1.1, section 4.7).
 *
 * Everything here works on byte views and never allocates: matching runs on
 * every PUBLISH for every candidate subscription, so it is a single forward
 * pass over both strings. */
#include "mqtt_topic.h"

#include <string.h>

#include "mqtt_codec.h"

/* A UTF-8 Encoded String carries a two-byte length (section 1.5.4). */
#define TOPIC_MAX_LEN 65535u

static const char SHARE_PREFIX[] = "$share/";
#define SHARE_PREFIX_LEN (sizeof(SHARE_PREFIX) - 1)

/* Rules common to names and filters: non-empty, fits a UTF-8 string field,
 * well-formed UTF-8 without U+0000. */
static bool topic_string_ok(mqtt_bytes s)
{
    return s.len > 0 && s.len <= TOPIC_MAX_LEN && mqtt_utf8_valid(s.data, s.len);
}

uint8_t mqtt_topic_name_check(mqtt_bytes topic)
{
    if (!topic_string_ok(topic))
        return MQTT_RC_TOPIC_NAME_INVALID;
    /* '+' and '#' are ASCII, so they can never be part of a multi-byte UTF-8
     * sequence: a plain byte search is exact. */
    if (memchr(topic.data, '+', topic.len) || memchr(topic.data, '#', topic.len))
        return MQTT_RC_TOPIC_NAME_INVALID;
    return 0;
}

/* Wildcard placement in a filter whose UTF-8 has already been checked:
 * '+' must fill its whole level, '#' must fill the last level. */
static bool filter_wildcards_ok(const uint8_t *f, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++) {
        if (f[i] != '+' && f[i] != '#')
            continue;
        bool starts_level = i == 0 || f[i - 1] == '/';
        bool ends_level = i + 1 == len || f[i + 1] == '/';
        if (!starts_level || !ends_level)
            return false;
        if (f[i] == '#' && i + 1 != len)
            return false;
    }
    return true;
}

uint8_t mqtt_topic_filter_check(mqtt_bytes filter)
{
    if (!topic_string_ok(filter))
        return MQTT_RC_TOPIC_FILTER_INVALID;

    mqtt_bytes group, inner;
    int shared = mqtt_topic_shared_split(filter, &group, &inner);
    if (shared < 0)
        return MQTT_RC_TOPIC_FILTER_INVALID;
    /* A shared subscription's own filter is checked as a plain filter; the
     * prefix and group were already checked by the split. */
    mqtt_bytes plain = shared ? inner : filter;
    if (!filter_wildcards_ok(plain.data, plain.len))
        return MQTT_RC_TOPIC_FILTER_INVALID;
    return 0;
}

int mqtt_topic_shared_split(mqtt_bytes filter, mqtt_bytes *group, mqtt_bytes *inner)
{
    /* Only the exact "$share/" prefix makes a shared subscription: "$share"
     * alone or "$sharex/..." are ordinary filters on '$' topics. */
    if (filter.len < SHARE_PREFIX_LEN || memcmp(filter.data, SHARE_PREFIX, SHARE_PREFIX_LEN) != 0)
        return 0;

    const uint8_t *group_start = filter.data + SHARE_PREFIX_LEN;
    uint32_t rest = filter.len - (uint32_t)SHARE_PREFIX_LEN;
    const uint8_t *slash = memchr(group_start, '/', rest);
    if (!slash)
        return -1; /* "$share/group" with no filter */

    /* The group ends at the first '/', so it cannot contain one. */
    uint32_t group_len = (uint32_t)(slash - group_start);
    if (group_len == 0 || memchr(group_start, '+', group_len) || memchr(group_start, '#', group_len))
        return -1;
    uint32_t inner_len = rest - group_len - 1;
    if (inner_len == 0)
        return -1;

    if (group)
        *group = (mqtt_bytes){.data = group_start, .len = group_len};
    if (inner)
        *inner = (mqtt_bytes){.data = slash + 1, .len = inner_len};
    return 1;
}

bool mqtt_topic_matches(mqtt_bytes filter, mqtt_bytes topic)
{
    const uint8_t *f = filter.data, *t = topic.data;
    uint32_t flen = filter.len, tlen = topic.len;
    if (flen == 0 || tlen == 0)
        return false;
    /* Section 4.7.2: '$' topics are for the server; a subscription to "#" or
     * "+/..." must not receive them, only filters that name the '$' level. */
    if (t[0] == '$' && (f[0] == '+' || f[0] == '#'))
        return false;

    uint32_t fi = 0, ti = 0;
    for (;;) {
        /* fi and ti are at the start of a level. A level may be empty: the
         * index then sits on a '/' or at the end (after a trailing '/'). */
        if (fi < flen && f[fi] == '#')
            return true; /* this level and everything below it */
        if (fi < flen && f[fi] == '+') {
            fi++;
            while (ti < tlen && t[ti] != '/')
                ti++; /* '+' takes the whole level, which may be empty */
        } else {
            while (fi < flen && f[fi] != '/') {
                if (ti >= tlen || t[ti] != f[fi])
                    return false;
                fi++;
                ti++;
            }
            if (ti < tlen && t[ti] != '/')
                return false; /* the topic level is longer than the filter's */
        }

        bool filter_done = fi == flen, topic_done = ti == tlen;
        if (filter_done && topic_done)
            return true;
        if (filter_done)
            return false; /* the topic has more levels */
        if (topic_done) {
            /* "a/#" also matches the parent level "a" (section 4.7.1.2). */
            return flen - fi == 2 && f[fi + 1] == '#';
        }
        fi++; /* both on a '/': step into the next level */
        ti++;
    }
}

mqtt_bytes mqtt_bytes_from_cstr(const char *s)
{
    if (!s)
        return (mqtt_bytes){.data = NULL, .len = 0};
    size_t len = strlen(s);
    /* A C string longer than 4 GiB cannot be a valid MQTT string anyway;
     * clamping keeps the view inside the string and fails later checks. */
    if (len > UINT32_MAX)
        len = UINT32_MAX;
    return (mqtt_bytes){.data = (const uint8_t *)s, .len = (uint32_t)len};
}

bool mqtt_topic_level_next(mqtt_bytes s, uint32_t *pos, mqtt_bytes *level)
{
    if (*pos > s.len)
        return false;
    const uint8_t *start = s.data + *pos;
    const uint8_t *slash = memchr(start, '/', s.len - *pos);
    uint32_t len = slash ? (uint32_t)(slash - start) : s.len - *pos;
    *level = (mqtt_bytes){.data = start, .len = len};
    *pos += len + 1;
    return true;
}

uint32_t mqtt_topic_level_prev(mqtt_bytes s, uint32_t pos)
{
    uint32_t i = pos - 1;
    while (i > 0 && s.data[i - 1] != '/')
        i--;
    return i;
}
