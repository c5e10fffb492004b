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

#include "fuzz_require.h"
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
    FUZZ_REQUIRE(levels, "out of memory");
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

typedef struct verdict {
    bool name_ok;         /* a valid Topic Name */
    bool plain_filter_ok; /* a valid Topic Filter that is not a shared subscription */
} verdict;

/* Checks one string as a name, as a filter and as a shared subscription,
 * and that the three answers agree with each other. */
static verdict check_one(mqtt_bytes s)
{
    uint8_t name_rc = mqtt_topic_name_check(s);
    uint8_t filter_rc = mqtt_topic_filter_check(s);
    FUZZ_REQUIRE(name_rc == 0 || name_rc == MQTT_RC_TOPIC_NAME_INVALID, "name check answers 0 or 0x90");
    FUZZ_REQUIRE(filter_rc == 0 || filter_rc == MQTT_RC_TOPIC_FILTER_INVALID,
                 "filter check answers 0 or 0x8F");

    mqtt_bytes group = {0}, inner = {0};
    int shared = mqtt_topic_shared_split(s, &group, &inner);
    FUZZ_REQUIRE(shared >= -1 && shared <= 1, "split answers -1, 0 or 1");
    if (shared == 1) {
        FUZZ_REQUIRE(group.len > 0 && inner.len > 0, "split parts are not empty");
        FUZZ_REQUIRE(within(group, s) && within(inner, s), "split parts are views into the input");
        FUZZ_REQUIRE(!memchr(group.data, '/', group.len) && !memchr(group.data, '+', group.len) &&
                         !memchr(group.data, '#', group.len),
                     "a share group has no '/', '+' or '#'");
    }
    FUZZ_REQUIRE(shared != -1 || filter_rc != 0, "a malformed shared subscription is not a valid filter");
    /* A valid name is a filter without wildcards, unless it happens to
     * start with "$share/" and so reads as a shared subscription. */
    FUZZ_REQUIRE(name_rc != 0 || shared != 0 || filter_rc == 0, "a valid name is a valid filter");
    return (verdict){.name_ok = name_rc == 0, .plain_filter_ok = filter_rc == 0 && shared == 0};
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

    check_one(whole);
    verdict filter_verdict = check_one(filter);
    verdict topic_verdict = check_one(topic);

    /* Out of contract (unchecked inputs), but must stay memory-safe. */
    (void)mqtt_topic_matches(filter, topic);
    if (!topic_verdict.name_ok)
        return 0;

    if (filter_verdict.plain_filter_ok)
        FUZZ_REQUIRE(mqtt_topic_matches(filter, topic) == reference_matches(filter, topic),
                     "matching agrees with the reference matcher");
    if (mqtt_topic_shared_split(topic, NULL, NULL) == 0)
        FUZZ_REQUIRE(mqtt_topic_matches(topic, topic), "a name used as a filter matches itself");
    /* The inner filter of a valid shared subscription is matched the same way. */
    mqtt_bytes group, inner;
    if (mqtt_topic_filter_check(filter) == 0 && mqtt_topic_shared_split(filter, &group, &inner) == 1 &&
        mqtt_topic_shared_split(inner, NULL, NULL) == 0)
        FUZZ_REQUIRE(mqtt_topic_matches(inner, topic) == reference_matches(inner, topic),
                     "shared inner filter matching agrees with the reference matcher");
    return 0;
}
