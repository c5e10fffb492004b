/* Filter coverage (shared/policy/filter_cover.c): a table of (outer, inner)
 * pairs, an exhaustive comparison with the topic matcher of mqtt_topic.h over
 * every short filter, and a randomized soundness check on longer ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mqtt_topic.h"
#include "policy/filter_cover.h"

static bool covers(const char *outer, const char *inner)
{
    return mqtt_filter_covers(outer, strlen(outer), inner, strlen(inner));
}

static bool matches(const char *filter, const char *topic)
{
    return mqtt_topic_matches(mqtt_bytes_from_cstr(filter), mqtt_bytes_from_cstr(topic));
}

/* ---- table */

struct cover_case {
    const char *outer, *inner;
    bool expected;
};

static const struct cover_case cover_cases[] = {
    /* '#' covers everything but '$' topics */
    {"#", "a", true},
    {"#", "a/b/c", true},
    {"#", "+", true},
    {"#", "+/x", true},
    {"#", "#", true},
    {"#", "/", true},
    {"#", "$SYS/x", false},
    {"#", "$SYS", false},
    {"#", "$SYS/#", false},
    {"+/#", "$SYS/x", false},
    {"+/#", "$SYS/#", false},
    {"+", "$SYS", false},
    {"+", "$", false},
    {"+/x", "$SYS/x", false},
    {"+/+", "$a/b", false},
    /* "+/#" takes every non-'$' topic, as "#" does */
    {"+/#", "#", true},
    {"+/#", "+", true},
    {"+/#", "a/b/c", true},
    {"+/#", "+/+/#", true},
    {"+/#", "/", true},
    {"+/+", "#", false},
    {"+", "#", false},
    {"+/+/#", "#", false},
    {"+/+/#", "+/#", false},
    {"/+/#", "/#", true},
    {"+/+/#", "/#", true},
    {"a/+/#", "a/#", false},
    {"//+/#", "//#", false},
    /* '#' below a level, and the parent it also matches */
    {"a/#", "a", true},
    {"a/#", "a/#", true},
    {"a/#", "a/+", true},
    {"a/#", "a/b/c/#", true},
    {"a/#", "a/+/c", true},
    {"a/#", "a/$SYS/x", true},
    {"a/#", "#", false},
    {"a/#", "+", false},
    {"a/#", "b", false},
    {"a/#", "+/b", false},
    {"a/b/#", "a", false},
    {"a/b/#", "a/b", true},
    {"a/+/#", "a", false},
    {"a/+/#", "a/b", true},
    {"a/+/#", "a/#", false},
    {"/#", "/", true},
    {"/#", "/a/b", true},
    {"/#", "#", false},
    /* '+' */
    {"a/+", "a/b", true},
    {"a/+", "a/+", true},
    {"a/+", "a/", true},
    {"a/+", "a/$x", true},
    {"a/+", "a/#", false},
    {"a/+", "a", false},
    {"a/+", "a/b/c", false},
    {"+", "/", false},
    {"+/+", "/", true},
    {"a/+/b", "a//b", true},
    {"+/tennis/#", "sport/tennis/player1/#", true},
    {"sport/tennis/+", "sport/tennis/player1", true},
    {"sport/#", "sport/tennis/+/ranking", true},
    {"sport/+/player1", "sport/tennis/#", false},
    /* literals */
    {"a/b/c", "a/+/c", false},
    {"a/b/c", "a/b/c", true},
    {"a/b/c", "a/b", false},
    {"a/b", "a/b/c", false},
    {"A", "a", false},
    {"ab", "a", false},
    {"a", "ab", false},
    {"a", "a/", false},
    {"a/", "a", false},
    {"//", "+/+", false},
    {"+/+", "//", false},
    {"a//b", "a/+/b", false},
    {"$", "$", true},
    /* '$' filters */
    {"$SYS/#", "$SYS/x", true},
    {"$SYS/#", "$SYS", true},
    {"$SYS/+", "$SYS/x", true},
    {"$SYS/#", "+/x", false},
    {"$SYS/#", "#", false},
    {"$SYS/+", "$SYS/#", false},
    /* out of contract: empty filters cover nothing */
    {"", "a", false},
    {"a", "", false},
};

static void test_cover_table(void **state)
{
    (void)state;
    size_t failures = 0;
    for (size_t i = 0; i < sizeof cover_cases / sizeof cover_cases[0]; i++) {
        const struct cover_case *c = &cover_cases[i];
        if (covers(c->outer, c->inner) != c->expected) {
            print_error("covers(\"%s\", \"%s\"): expected %d\n", c->outer, c->inner, c->expected);
            failures++;
        }
    }
    assert_true(sizeof cover_cases / sizeof cover_cases[0] >= 60);
    assert_int_equal(failures, 0);
}

/* Exact lengths, not C strings: the function must not read past them. */
static void test_cover_views(void **state)
{
    (void)state;
    const char outer[] = "a/#xyz", inner[] = "a/b/c/d";
    assert_true(mqtt_filter_covers(outer, 3, inner, 7));
    assert_true(mqtt_filter_covers(outer, 3, inner, 1)); /* "a/#" covers "a" */
    assert_false(mqtt_filter_covers(outer, 1, inner, 3));
    assert_false(mqtt_filter_covers(NULL, 0, inner, 1));
    assert_false(mqtt_filter_covers(outer, 1, NULL, 0));
}

/* ---- exhaustive: every filter of up to 3 levels against every topic of up
 * to 4 levels. A witness that inner is not covered needs at most one level
 * more than inner has, and a level value other than outer's literal (and,
 * first, not starting with '$'), so these topics decide coverage exactly. */

static const char *const filter_levels[] = {"a", "b", "$s", "", "+", "#"};
static const char *const topic_levels[] = {"a", "b", "$s", ""};
#define MAX_FILTERS 256
#define MAX_TOPICS 512
#define SET_WORDS (MAX_TOPICS / 64)

typedef struct strings {
    char items[MAX_TOPICS][16];
    size_t n;
} strings;

/* Every '/'-join of up to max_levels levels from the alphabet that passes
 * `valid`. */
static void enumerate(strings *out, const char *const *alphabet, size_t n_alpha, size_t max_levels,
                      uint8_t (*valid)(mqtt_bytes))
{
    out->n = 0;
    for (size_t levels = 1; levels <= max_levels; levels++) {
        size_t combos = 1;
        for (size_t i = 0; i < levels; i++)
            combos *= n_alpha;
        for (size_t k = 0; k < combos; k++) {
            char buf[16] = "";
            for (size_t i = 0, rest = k; i < levels; i++, rest /= n_alpha) {
                if (i)
                    strcat(buf, "/");
                strcat(buf, alphabet[rest % n_alpha]);
            }
            if (valid(mqtt_bytes_from_cstr(buf)) != 0)
                continue;
            assert_true(out->n < MAX_TOPICS);
            strcpy(out->items[out->n++], buf);
        }
    }
}

static void test_cover_exhaustive(void **state)
{
    (void)state;
    static strings filters, topics;
    static uint64_t matched[MAX_FILTERS][SET_WORDS];
    enumerate(&filters, filter_levels, 6, 3, mqtt_topic_filter_check);
    enumerate(&topics, topic_levels, 4, 4, mqtt_topic_name_check);
    assert_true(filters.n <= MAX_FILTERS);
    memset(matched, 0, sizeof matched);
    for (size_t f = 0; f < filters.n; f++) {
        for (size_t t = 0; t < topics.n; t++) {
            if (matches(filters.items[f], topics.items[t]))
                matched[f][t / 64] |= 1ull << (t % 64);
        }
    }
    size_t failures = 0, covered = 0;
    for (size_t o = 0; o < filters.n; o++) {
        for (size_t i = 0; i < filters.n; i++) {
            size_t witness = SIZE_MAX;
            for (size_t w = 0; w < SET_WORDS && witness == SIZE_MAX; w++) {
                uint64_t missing = matched[i][w] & ~matched[o][w];
                if (missing)
                    witness = w * 64 + (size_t)__builtin_ctzll(missing);
            }
            bool got = covers(filters.items[o], filters.items[i]);
            covered += got;
            if (got != (witness == SIZE_MAX)) {
                if (failures++ < 20)
                    print_error("covers(\"%s\", \"%s\") = %d, but witness topic \"%s\"\n", filters.items[o],
                                filters.items[i], got,
                                witness == SIZE_MAX ? "(none)" : topics.items[witness]);
            }
        }
    }
    assert_int_equal(failures, 0);
    assert_true(filters.n > 150 && topics.n > 300);
    assert_true(covered > 1000);
}

/* ---- randomized soundness on longer filters: when outer covers inner,
 * every topic built from inner (each '+' and '#' filled in at random) that
 * inner matches is matched by outer. */

static void random_filter(char *out, size_t cap, unsigned *seed)
{
    size_t levels = 1 + (size_t)(rand_r(seed) % 6), len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < levels; i++) {
        int roll = rand_r(seed) % 10;
        const char *level = roll < 4 ? topic_levels[roll] : roll < 7 ? "a" : roll < 9 ? "+" : "#";
        if (level[0] == '#' && i + 1 != levels)
            level = "+";
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? "/" : "", level);
    }
    if (len == 0)
        snprintf(out, cap, "/");
}

static void instantiate(const char *filter, char *out, size_t cap, unsigned *seed)
{
    size_t len = 0;
    mqtt_bytes f = mqtt_bytes_from_cstr(filter), level;
    uint32_t pos = 0;
    bool first = true;
    while (mqtt_topic_level_next(f, &pos, &level)) {
        const char *sep = first ? "" : "/";
        if (level.len == 1 && level.data[0] == '#') {
            /* '#' stands for zero or more levels. */
            int extra = rand_r(seed) % 3;
            if (first && extra == 0)
                extra = 1;
            for (int k = 0; k < extra; k++, sep = "/")
                len += (size_t)snprintf(out + len, cap - len, "%s%s", sep, topic_levels[rand_r(seed) % 4]);
            break;
        }
        const char *v = level.len == 1 && level.data[0] == '+' ? topic_levels[rand_r(seed) % 4] : NULL;
        if (v)
            len += (size_t)snprintf(out + len, cap - len, "%s%s", sep, v);
        else
            len += (size_t)snprintf(out + len, cap - len, "%s%.*s", sep, (int)level.len,
                                    (const char *)level.data);
        first = false;
    }
    if (len == 0)
        snprintf(out, cap, "/");
}

static void test_cover_random_soundness(void **state)
{
    (void)state;
    unsigned seed = 20240611;
    size_t covered_pairs = 0, topics_checked = 0;
    for (int round = 0; round < 200000; round++) {
        char outer[64], inner[64], topic[128];
        random_filter(outer, sizeof outer, &seed);
        /* Half the time inner extends outer, so that coverage is common. */
        if (rand_r(&seed) % 2)
            snprintf(inner, sizeof inner, "%s", outer);
        else
            random_filter(inner, sizeof inner, &seed);
        if (rand_r(&seed) % 2 && strlen(inner) < 40 && inner[strlen(inner) - 1] != '#')
            strcat(inner, rand_r(&seed) % 2 ? "/a" : "/+");
        if (mqtt_topic_filter_check(mqtt_bytes_from_cstr(inner)) != 0 || !covers(outer, inner))
            continue;
        covered_pairs++;
        for (int k = 0; k < 20; k++) {
            instantiate(inner, topic, sizeof topic, &seed);
            if (!matches(inner, topic))
                continue;
            topics_checked++;
            if (!matches(outer, topic))
                fail_msg("covers(\"%s\", \"%s\") but \"%s\" matches only the inner filter", outer, inner,
                         topic);
        }
    }
    assert_true(covered_pairs > 10000);
    assert_true(topics_checked > 100000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cover_table),
        cmocka_unit_test(test_cover_views),
        cmocka_unit_test(test_cover_exhaustive),
        cmocka_unit_test(test_cover_random_soundness),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
