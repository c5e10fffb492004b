/* Fuzz target for shared/mqtt/mqtt_topic.c. The input is split at its first
 * NUL byte into a filter and a topic (NUL is invalid in both, so nothing that
 * could be valid is lost; the whole input, NUL included, is also checked).
 *
 * Besides memory safety it checks invariants, and compares
 * mqtt_topic_matches() with a deliberately naive reference matcher that
 * splits both strings into levels and follows section 4.7 word for word. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt_codec.h"
#include "mqtt_topic.h"

typedef struct level {
    const uint8_t *data;
    size_t len;
} level;

/* Splits s at every '/'; "a/" has the two levels "a" and "". The caller
 * frees the array. */
static level *split_levels(mqtt_bytes s, size_t *count)
{
    level *levels = malloc((s.len + 1) * sizeof(*levels));
    if (!levels)
        abort();
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= s.len; i++) {
        if (i == s.len || s.data[i] == '/') {
            levels[n++] = (level){.data = s.data + start, .len = i - start};
            start = i + 1;
        }
    }
    *count = n;
    return levels;
}

static bool level_is(level l, char c)
{
    return l.len == 1 && l.data[0] == c;
}

static bool level_equal(level a, level b)
{
    return a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
}

static bool reference_matches(mqtt_bytes filter, mqtt_bytes topic)
{
    size_t nf, nt;
    level *f = split_levels(filter, &nf);
    level *t = split_levels(topic, &nt);
    bool result;
    if (t[0].len > 0 && t[0].data[0] == '$' && (level_is(f[0], '+') || level_is(f[0], '#'))) {
        result = false; /* section 4.7.2 */
        goto out;
    }
    for (size_t i = 0; i < nf; i++) {
        if (level_is(f[i], '#')) {
            result = true; /* the remaining levels, possibly none (the parent) */
            goto out;
        }
        if (i == nt || (!level_is(f[i], '+') && !level_equal(f[i], t[i]))) {
            result = false;
            goto out;
        }
    }
    result = nf == nt;
out:
    free(f);
    free(t);
    return result;
}

static bool within(mqtt_bytes part, mqtt_bytes whole)
{
    return part.data >= whole.data && part.data + part.len <= whole.data + whole.len;
}

/* Checks one string as a name and as a filter; returns whether it is a
 * valid plain (non-shared) filter, and sets *name_ok. */
static bool check_one(mqtt_bytes s, bool *name_ok)
{
    uint8_t name_rc = mqtt_topic_name_check(s);
    uint8_t filter_rc = mqtt_topic_filter_check(s);
    if ((name_rc != 0 && name_rc != MQTT_RC_TOPIC_NAME_INVALID) ||
        (filter_rc != 0 && filter_rc != MQTT_RC_TOPIC_FILTER_INVALID))
        abort();

    mqtt_bytes group = {0}, inner = {0};
    int shared = mqtt_topic_shared_split(s, &group, &inner);
    if (shared == 1) {
        if (group.len == 0 || inner.len == 0 || !within(group, s) || !within(inner, s) ||
            memchr(group.data, '/', group.len) || memchr(group.data, '+', group.len) ||
            memchr(group.data, '#', group.len))
            abort();
    } else if (shared == -1) {
        if (filter_rc == 0)
            abort(); /* a malformed shared subscription is never a valid filter */
    } else if (shared != 0) {
        abort();
    }

    *name_ok = name_rc == 0;
    /* A valid name is a filter without wildcards, unless it happens to
     * start with "$share/" and so is read as a shared subscription. */
    if (*name_ok && shared == 0 && filter_rc != 0)
        abort();
    return filter_rc == 0 && shared == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 70000)
        return 0; /* past the 65535-byte limit nothing new happens */
    mqtt_bytes whole = {.data = data, .len = (uint32_t)size};
    const uint8_t *nul = memchr(data, 0, size);
    size_t first_len = nul ? (size_t)(nul - data) : size;
    mqtt_bytes filter = {.data = data, .len = (uint32_t)first_len};
    mqtt_bytes topic = {.data = nul ? nul + 1 : data + size,
                        .len = (uint32_t)(nul ? size - first_len - 1 : 0)};

    bool whole_name_ok, filter_as_name_ok, topic_name_ok;
    check_one(whole, &whole_name_ok);
    bool filter_ok = check_one(filter, &filter_as_name_ok);
    check_one(topic, &topic_name_ok);

    /* Out of contract (unchecked inputs), but must stay memory-safe. */
    (void)mqtt_topic_matches(filter, topic);

    if (filter_ok && topic_name_ok && mqtt_topic_matches(filter, topic) != reference_matches(filter, topic))
        abort();
    /* A name used as a filter matches itself. */
    if (topic_name_ok && mqtt_topic_shared_split(topic, NULL, NULL) == 0 && !mqtt_topic_matches(topic, topic))
        abort();
    /* The inner filter of a valid shared subscription, matched the same way. */
    mqtt_bytes group, inner;
    if (mqtt_topic_filter_check(filter) == 0 && mqtt_topic_shared_split(filter, &group, &inner) == 1 &&
        topic_name_ok && mqtt_topic_shared_split(inner, NULL, NULL) == 0 &&
        mqtt_topic_matches(inner, topic) != reference_matches(inner, topic))
        abort();
    return 0;
}
