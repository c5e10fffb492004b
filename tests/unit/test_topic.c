/* Topic name / topic filter validation, shared-subscription splitting and
 * matching (shared/mqtt/mqtt_topic.c), table-driven. The cases come from the
 * examples of MQTT 3.1.1 and 5.0 section 4.7, plus edge cases. Every failing
 * row is printed by name before the test fails, so one run shows them all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mqtt_codec.h"
#include "mqtt_topic.h"

/* Expands a string literal to "pointer, exact length", so rows may hold
 * embedded NUL bytes and invalid UTF-8. */
#define LIT(s) (s), (sizeof(s) - 1)

#define OK 0x00
#define NAME_BAD MQTT_RC_TOPIC_NAME_INVALID
#define FILTER_BAD MQTT_RC_TOPIC_FILTER_INVALID

/* An exactly sized heap copy with no terminator, so that AddressSanitizer
 * catches any read past the view's length. */
static mqtt_bytes heap_view(const char *s, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, s, len);
    return (mqtt_bytes){.data = copy, .len = (uint32_t)len};
}

static void heap_view_free(mqtt_bytes b)
{
    free((void *)b.data);
}

/* ---- matching */

struct match_case {
    const char *name;
    const char *filter;
    const char *topic;
    bool expected;
};

static const struct match_case match_cases[] = {
    /* 5.0 / 3.1.1 section 4.7.1.2: multi-level wildcard */
    {"spec: player1/# matches parent", "sport/tennis/player1/#", "sport/tennis/player1", true},
    {"spec: player1/# matches child", "sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
    {"spec: player1/# matches grandchild", "sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon",
     true},
    {"spec: player1/# not sibling", "sport/tennis/player1/#", "sport/tennis/player2", false},
    {"spec: player1/# not prefix-extended level", "sport/tennis/player1/#", "sport/tennis/player10", false},
    {"spec: sport/# matches sport", "sport/#", "sport", true},
    {"spec: sport/# matches sport/", "sport/#", "sport/", true},
    {"spec: sport/# matches deep", "sport/#", "sport/tennis/player1/ranking", true},
    {"spec: sport/# not sports", "sport/#", "sports", false},
    {"spec: sport/# not sports/x", "sport/#", "sports/tennis", false},
    {"spec: sport/tennis/# matches sport/tennis", "sport/tennis/#", "sport/tennis", true},
    {"spec: # matches one level", "#", "sport", true},
    {"spec: # matches many levels", "#", "sport/tennis/player1", true},
    {"spec: # matches /", "#", "/", true},
    {"spec: # matches /finance", "#", "/finance", true},
    /* section 4.7.1.3: single-level wildcard */
    {"spec: tennis/+ matches player1", "sport/tennis/+", "sport/tennis/player1", true},
    {"spec: tennis/+ matches player2", "sport/tennis/+", "sport/tennis/player2", true},
    {"spec: tennis/+ not a level deeper", "sport/tennis/+", "sport/tennis/player1/ranking", false},
    {"spec: tennis/+ not the parent", "sport/tennis/+", "sport/tennis", false},
    {"spec: sport/+ not sport", "sport/+", "sport", false},
    {"spec: sport/+ matches sport/", "sport/+", "sport/", true},
    {"spec: + matches one level", "+", "finance", true},
    {"spec: + not two levels", "+", "finance/stock", false},
    {"spec: +/+ matches /finance", "+/+", "/finance", true},
    {"spec: /+ matches /finance", "/+", "/finance", true},
    {"spec: + not /finance", "+", "/finance", false},
    {"spec: sport/+/player1 middle", "sport/+/player1", "sport/tennis/player1", true},
    {"spec: sport/+/player1 other middle", "sport/+/player1", "sport/golf/player1", true},
    {"spec: sport/+/player1 wrong tail", "sport/+/player1", "sport/tennis/player2", false},
    {"spec: +/tennis/# matches", "+/tennis/#", "sport/tennis/player1", true},
    {"spec: +/tennis/# matches parent", "+/tennis/#", "sport/tennis", true},
    {"spec: +/tennis/# wrong second", "+/tennis/#", "sport/golf", false},
    /* section 4.7.2: topics beginning with '$' */
    {"spec: # not $SYS", "#", "$SYS/monitor/Clients", false},
    {"spec: # not bare $SYS", "#", "$SYS", false},
    {"spec: +/monitor/Clients not $SYS", "+/monitor/Clients", "$SYS/monitor/Clients", false},
    {"spec: $SYS/# matches", "$SYS/#", "$SYS/monitor/Clients", true},
    {"spec: $SYS/# matches parent", "$SYS/#", "$SYS", true},
    {"spec: $SYS/monitor/+ matches", "$SYS/monitor/+", "$SYS/monitor/Clients", true},
    {"$: + not $", "+", "$", false},
    {"$: +/# not $x/y", "+/#", "$x/y", false},
    {"$: literal $ level", "$", "$", true},
    {"$: $ only special in first level", "a/+", "a/$b", true},
    {"$: # matches $ in later level", "a/#", "a/$SYS", true},
    {"$: +/$SYS matches a/$SYS", "+/$SYS", "a/$SYS", true},
    {"$: $share topic not by #", "#", "$share/g/x", false},
    /* section 4.7.3: case sensitivity, spaces, distinct leading '/' */
    {"spec: case sensitive", "ACCOUNTS", "Accounts", false},
    {"spec: case sensitive same", "Accounts", "Accounts", true},
    {"spec: space in level", "Accounts payable", "Accounts payable", true},
    {"spec: space not trimmed", "Accounts payable", "Accounts payable ", false},
    {"spec: /finance distinct from finance", "/finance", "finance", false},
    {"spec: finance distinct from /finance", "finance", "/finance", false},
    {"spec: / is two empty levels (+/+)", "+/+", "/", true},
    {"exact literal", "sport/tennis/player1", "sport/tennis/player1", true},
    {"literal filter shorter", "sport/tennis", "sport/tennis/player1", false},
    {"literal filter longer", "sport/tennis/player1", "sport/tennis", false},
    {"literal level prefix", "sport/ten", "sport/tennis", false},
    {"literal level longer", "sport/tennis", "sport/ten", false},
    /* empty levels and trailing slashes */
    {"empty: / literal", "/", "/", true},
    {"empty: + not /", "+", "/", false},
    {"empty: /+ matches /", "/+", "/", true},
    {"empty: +/ matches /", "+/", "/", true},
    {"empty: // literal", "//", "//", true},
    {"empty: +/+/+ matches //", "+/+/+", "//", true},
    {"empty: +/+ not //", "+/+", "//", false},
    {"empty: a//b literal", "a//b", "a//b", true},
    {"empty: a/+/b matches a//b", "a/+/b", "a//b", true},
    {"empty: a/b not a//b", "a/b", "a//b", false},
    {"trailing: a/ matches a/", "a/", "a/", true},
    {"trailing: a not a/", "a", "a/", false},
    {"trailing: a/ not a", "a/", "a", false},
    {"trailing: a/+ matches a/", "a/+", "a/", true},
    {"trailing: a/# matches a/", "a/#", "a/", true},
    {"trailing: a/+/# matches a/", "a/+/#", "a/", true},
    {"trailing: a//# matches a/", "a//#", "a/", true},
    {"trailing: a// not a/", "a//", "a/", false},
    {"trailing: a/+ not a//", "a/+", "a//", false},
    {"trailing: + not a/", "+", "a/", false},
    {"leading: /# matches /", "/#", "/", true},
    {"leading: /# matches /a/b", "/#", "/a/b", true},
    {"leading: /# not a", "/#", "a", false},
    /* '#' matching the parent level */
    {"parent: a/b/# matches a/b", "a/b/#", "a/b", true},
    {"parent: a/b/# not a", "a/b/#", "a", false},
    {"parent: a/+/# matches a/x", "a/+/#", "a/x", true},
    {"parent: a/+/# not a", "a/+/#", "a", false},
    {"parent: +/# matches a", "+/#", "a", true},
    {"parent: +/# matches /", "+/#", "/", true},
    /* unicode levels (multi-byte UTF-8) */
    {"unicode: literal", "дом/кухня", "дом/кухня", true},
    {"unicode: + level", "дом/+/температура", "дом/кухня/температура", true},
    {"unicode: # parent", "日本/#", "日本", true},
    {"unicode: # child", "日本/#", "日本/東京/温度", true},
    {"unicode: accent differs", "café", "cafe", false},
    {"unicode: shared lead byte", "\xc3\xa9", "\xc3\xa8", false},
    {"unicode: emoji level", "home/🌡/+", "home/🌡/kitchen", true},
    /* a filter that looks like a shared subscription is matched literally */
    {"$share: literal topic", "$share/g/x", "$share/g/x", true},
    {"$share: not the inner filter", "$share/g/x", "x", false},
};

static void test_match_table(void **state)
{
    (void)state;
    size_t failures = 0;
    for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
        const struct match_case *c = &match_cases[i];
        mqtt_bytes filter = heap_view(c->filter, strlen(c->filter));
        mqtt_bytes topic = heap_view(c->topic, strlen(c->topic));
        /* The rows must be valid inputs, or the match result means nothing. */
        uint8_t filter_rc = mqtt_topic_filter_check(filter);
        uint8_t name_rc = mqtt_topic_name_check(topic);
        bool got = mqtt_topic_matches(filter, topic);
        if (filter_rc != OK || name_rc != OK || got != c->expected) {
            print_error("match case \"%s\": filter \"%s\" topic \"%s\": expected %s, got %s"
                        " (filter check 0x%02X, name check 0x%02X)\n",
                        c->name, c->filter, c->topic, c->expected ? "match" : "no match",
                        got ? "match" : "no match", filter_rc, name_rc);
            failures++;
        }
        heap_view_free(filter);
        heap_view_free(topic);
    }
    assert_int_equal(failures, 0);
}

/* Views into the middle of a longer string: matching must honour the
 * lengths and never look at the byte after the view. */
static void test_match_respects_view_length(void **state)
{
    (void)state;
    const char *text = "sport/tennis/player1";
    mqtt_bytes sport_tennis = {.data = (const uint8_t *)text, .len = 12};
    mqtt_bytes whole = mqtt_bytes_from_cstr(text);
    assert_true(mqtt_topic_matches(sport_tennis, sport_tennis));
    assert_false(mqtt_topic_matches(sport_tennis, whole));
    assert_false(mqtt_topic_matches(whole, sport_tennis));
    mqtt_bytes sport_slash = {.data = (const uint8_t *)text, .len = 6};
    mqtt_bytes hash = mqtt_bytes_from_cstr("sport/#");
    assert_true(mqtt_topic_matches(hash, sport_slash));
}

/* ---- validation */

struct check_case {
    const char *name;
    const char *input;
    size_t len;
    uint8_t expected;
};

static const struct check_case name_cases[] = {
    {"simple", LIT("sport/tennis/player1"), OK},
    {"one level", LIT("finance"), OK},
    {"single slash", LIT("/"), OK},
    {"leading slash", LIT("/finance"), OK},
    {"trailing slash", LIT("finance/"), OK},
    {"empty levels", LIT("a//b"), OK},
    {"only slashes", LIT("///"), OK},
    {"space", LIT("Accounts payable"), OK},
    {"single space", LIT(" "), OK},
    {"$SYS topic", LIT("$SYS/monitor/Clients"), OK},
    {"$share as a name", LIT("$share/g/x"), OK},
    {"unicode", LIT("дом/кухня/温度"), OK},
    {"4-byte UTF-8", LIT("home/\xf0\x9f\x8c\xa1"), OK},
    {"largest code point", LIT("\xf4\x8f\xbf\xbf"), OK},
    {"control char is allowed", LIT("a\x01z"), OK},
    {"empty", LIT(""), NAME_BAD},
    {"plus alone", LIT("+"), NAME_BAD},
    {"hash alone", LIT("#"), NAME_BAD},
    {"plus in level", LIT("sport/ten+nis"), NAME_BAD},
    {"hash at end", LIT("sport/tennis/#"), NAME_BAD},
    {"plus level", LIT("sport/+/player1"), NAME_BAD},
    {"embedded NUL", LIT("sport\0tennis"), NAME_BAD},
    {"trailing NUL", LIT("sport\0"), NAME_BAD},
    {"lone NUL", LIT("\0"), NAME_BAD},
    {"overlong NUL C0 80", LIT("a\xc0\x80"), NAME_BAD},
    {"overlong slash C0 AF", LIT("\xc0\xaf"), NAME_BAD},
    {"overlong 3-byte", LIT("\xe0\x80\xaf"), NAME_BAD},
    {"lone continuation", LIT("a\x80"), NAME_BAD},
    {"truncated 2-byte", LIT("a\xc3"), NAME_BAD},
    {"truncated 3-byte", LIT("\xe6\x97"), NAME_BAD},
    {"surrogate D800", LIT("\xed\xa0\x80"), NAME_BAD},
    {"surrogate DFFF", LIT("\xed\xbf\xbf"), NAME_BAD},
    {"above U+10FFFF", LIT("\xf4\x90\x80\x80"), NAME_BAD},
    {"byte FF", LIT("\xff"), NAME_BAD},
    {"byte F5", LIT("\xf5\x80\x80\x80"), NAME_BAD},
};

static const struct check_case filter_cases[] = {
    {"literal", LIT("sport/tennis/player1"), OK},
    {"hash alone", LIT("#"), OK},
    {"plus alone", LIT("+"), OK},
    {"spec: sport/tennis/#", LIT("sport/tennis/#"), OK},
    {"spec: sport/+", LIT("sport/+"), OK},
    {"spec: +/tennis/#", LIT("+/tennis/#"), OK},
    {"spec: sport/+/player1", LIT("sport/+/player1"), OK},
    {"spec: +/+", LIT("+/+"), OK},
    {"spec: /+", LIT("/+"), OK},
    {"plus then hash", LIT("+/#"), OK},
    {"all plus", LIT("+/+/+"), OK},
    {"single slash", LIT("/"), OK},
    {"trailing slash", LIT("a/"), OK},
    {"empty middle level", LIT("a//#"), OK},
    {"$SYS/#", LIT("$SYS/#"), OK},
    {"unicode", LIT("дом/+/температура"), OK},
    {"spec: sport/tennis# invalid", LIT("sport/tennis#"), FILTER_BAD},
    {"spec: sport/tennis/#/ranking invalid", LIT("sport/tennis/#/ranking"), FILTER_BAD},
    {"spec: sport+ invalid", LIT("sport+"), FILTER_BAD},
    {"empty", LIT(""), FILTER_BAD},
    {"hash not last", LIT("#/a"), FILTER_BAD},
    {"hash hash", LIT("##"), FILTER_BAD},
    {"hash then slash", LIT("a/#/"), FILTER_BAD},
    {"hash prefix in level", LIT("#a"), FILTER_BAD},
    {"plus suffix in level", LIT("a/+b"), FILTER_BAD},
    {"plus plus", LIT("++"), FILTER_BAD},
    {"plus hash", LIT("+#"), FILTER_BAD},
    {"unicode next to plus", LIT("д+"), FILTER_BAD},
    {"embedded NUL", LIT("a/\0/b"), FILTER_BAD},
    {"NUL after hash", LIT("a/#\0"), FILTER_BAD},
    {"invalid UTF-8", LIT("a/\xc3\x28"), FILTER_BAD},
    {"surrogate", LIT("a/\xed\xb0\x80"), FILTER_BAD},
    /* shared subscriptions (5.0 section 4.8.2) */
    {"shared: plain", LIT("$share/group/sport/tennis"), OK},
    {"shared: wildcard filter", LIT("$share/group/sport/+/#"), OK},
    {"shared: hash filter", LIT("$share/group/#"), OK},
    {"shared: filter is /", LIT("$share/group//"), OK},
    {"shared: unicode group", LIT("$share/группа/a"), OK},
    {"shared: $SYS inner", LIT("$share/g/$SYS/#"), OK},
    {"shared: nested $share is a plain inner", LIT("$share/g/$share/h/x"), OK},
    {"shared: no filter", LIT("$share/group"), FILTER_BAD},
    {"shared: empty filter", LIT("$share/group/"), FILTER_BAD},
    {"shared: empty group", LIT("$share//sport"), FILTER_BAD},
    {"shared: nothing after prefix", LIT("$share/"), FILTER_BAD},
    {"shared: plus group", LIT("$share/+/sport"), FILTER_BAD},
    {"shared: hash group", LIT("$share/#/sport"), FILTER_BAD},
    {"shared: plus inside group", LIT("$share/gr+up/sport"), FILTER_BAD},
    {"shared: hash inside group", LIT("$share/gr#up/sport"), FILTER_BAD},
    {"shared: invalid inner", LIT("$share/group/sport#"), FILTER_BAD},
    {"shared: inner hash not last", LIT("$share/group/#/a"), FILTER_BAD},
    {"shared: NUL in group", LIT("$share/g\0/x"), FILTER_BAD},
    {"not shared: $share alone", LIT("$share"), OK},
    {"not shared: $sharex", LIT("$sharex/g/x"), OK},
    {"not shared: case differs", LIT("$SHARE/g"), OK},
    {"not shared: $share later", LIT("a/$share/g"), OK},
    {"not shared: $sharex still checked", LIT("$sharex/+x"), FILTER_BAD},
};

typedef uint8_t (*topic_checker)(mqtt_bytes);

static void run_check_table(const char *what, topic_checker check, const struct check_case *cases,
                            size_t count)
{
    size_t failures = 0;
    for (size_t i = 0; i < count; i++) {
        const struct check_case *c = &cases[i];
        mqtt_bytes input = heap_view(c->input, c->len);
        uint8_t got = check(input);
        if (got != c->expected) {
            print_error("%s case \"%s\" (%zu bytes): expected 0x%02X, got 0x%02X\n", what, c->name, c->len,
                        c->expected, got);
            failures++;
        }
        heap_view_free(input);
    }
    assert_int_equal(failures, 0);
}

static void test_name_table(void **state)
{
    (void)state;
    run_check_table("name", mqtt_topic_name_check, name_cases, sizeof(name_cases) / sizeof(name_cases[0]));
}

static void test_filter_table(void **state)
{
    (void)state;
    run_check_table("filter", mqtt_topic_filter_check, filter_cases,
                    sizeof(filter_cases) / sizeof(filter_cases[0]));
}

/* A topic is a UTF-8 Encoded String: 65535 bytes at most (section 1.5.4). */
static void test_length_limit(void **state)
{
    (void)state;
    const size_t max = 65535;
    char *text = malloc(max + 1);
    assert_non_null(text);
    memset(text, 'a', max + 1);
    for (size_t i = 1; i < max; i += 2)
        text[i] = '/';

    mqtt_bytes longest = heap_view(text, max);
    mqtt_bytes too_long = heap_view(text, max + 1);
    assert_int_equal(mqtt_topic_name_check(longest), OK);
    assert_int_equal(mqtt_topic_name_check(too_long), NAME_BAD);
    assert_int_equal(mqtt_topic_filter_check(longest), OK);
    assert_int_equal(mqtt_topic_filter_check(too_long), FILTER_BAD);
    /* 32768 levels: matching is a single pass, whatever the depth. */
    assert_true(mqtt_topic_matches(longest, longest));
    heap_view_free(longest);
    heap_view_free(too_long);

    /* A filter of 32767 '+' levels then '#', against the deep topic. */
    for (size_t i = 0; i < max; i += 2)
        text[i] = '+';
    text[max - 1] = '#';
    mqtt_bytes all_wild = heap_view(text, max);
    memset(text, 'a', max);
    for (size_t i = 1; i < max; i += 2)
        text[i] = '/';
    mqtt_bytes deep = heap_view(text, max);
    assert_int_equal(mqtt_topic_filter_check(all_wild), OK);
    assert_true(mqtt_topic_matches(all_wild, deep));
    heap_view_free(all_wild);
    heap_view_free(deep);
    free(text);
}

/* ---- shared subscription split */

struct split_case {
    const char *name;
    const char *input;
    size_t len;
    int expected;
    const char *group; /* when expected == 1 */
    const char *inner;
};

static const struct split_case split_cases[] = {
    {"simple", LIT("$share/g/a/b"), 1, "g", "a/b"},
    {"hash inner", LIT("$share/consumers/#"), 1, "consumers", "#"},
    {"plus inner", LIT("$share/g/+"), 1, "g", "+"},
    {"inner is /", LIT("$share/g//"), 1, "g", "/"},
    {"inner starts with /", LIT("$share/g//a"), 1, "g", "/a"},
    {"$SYS inner", LIT("$share/g/$SYS/x"), 1, "g", "$SYS/x"},
    {"nested $share kept whole", LIT("$share/g/$share/h/x"), 1, "g", "$share/h/x"},
    {"unicode group", LIT("$share/группа/x"), 1, "группа", "x"},
    {"group with $", LIT("$share/$g/x"), 1, "$g", "x"},
    {"no filter", LIT("$share/g"), -1, NULL, NULL},
    {"empty filter", LIT("$share/g/"), -1, NULL, NULL},
    {"empty group", LIT("$share//x"), -1, NULL, NULL},
    {"only prefix", LIT("$share/"), -1, NULL, NULL},
    {"plus group", LIT("$share/+/x"), -1, NULL, NULL},
    {"hash group", LIT("$share/#/x"), -1, NULL, NULL},
    {"plus inside group", LIT("$share/a+b/x"), -1, NULL, NULL},
    {"hash inside group", LIT("$share/a#/x"), -1, NULL, NULL},
    {"$share alone", LIT("$share"), 0, NULL, NULL},
    {"$sharex", LIT("$sharex/g/x"), 0, NULL, NULL},
    {"upper case", LIT("$SHARE/g/x"), 0, NULL, NULL},
    {"no dollar", LIT("share/g/x"), 0, NULL, NULL},
    {"plain filter", LIT("sport/#"), 0, NULL, NULL},
    {"$share not first", LIT("a/$share/g/x"), 0, NULL, NULL},
    {"empty", LIT(""), 0, NULL, NULL},
};

static bool bytes_equal_cstr(mqtt_bytes b, const char *s)
{
    return b.len == strlen(s) && memcmp(b.data, s, b.len) == 0;
}

static void test_shared_split_table(void **state)
{
    (void)state;
    size_t failures = 0;
    for (size_t i = 0; i < sizeof(split_cases) / sizeof(split_cases[0]); i++) {
        const struct split_case *c = &split_cases[i];
        mqtt_bytes input = heap_view(c->input, c->len);
        mqtt_bytes group = {0}, inner = {0};
        int got = mqtt_topic_shared_split(input, &group, &inner);
        bool ok = got == c->expected;
        if (ok && got == 1)
            ok = bytes_equal_cstr(group, c->group) && bytes_equal_cstr(inner, c->inner);
        if (!ok) {
            print_error("split case \"%s\": expected %d (\"%s\", \"%s\"), got %d (\"%.*s\", \"%.*s\")\n",
                        c->name, c->expected, c->group ? c->group : "", c->inner ? c->inner : "", got,
                        (int)group.len, group.data ? (const char *)group.data : "", (int)inner.len,
                        inner.data ? (const char *)inner.data : "");
            failures++;
        }
        /* The outputs are optional. */
        if (mqtt_topic_shared_split(input, NULL, NULL) != c->expected) {
            print_error("split case \"%s\": result differs without output pointers\n", c->name);
            failures++;
        }
        heap_view_free(input);
    }
    assert_int_equal(failures, 0);
}

/* A split inner filter is what a broker matches against (the subscription's
 * own filter); check the pieces work together. */
static void test_shared_inner_matches(void **state)
{
    (void)state;
    mqtt_bytes group, inner;
    assert_int_equal(
        mqtt_topic_shared_split(mqtt_bytes_from_cstr("$share/workers/jobs/+/new"), &group, &inner), 1);
    assert_int_equal(mqtt_topic_filter_check(inner), OK);
    assert_true(mqtt_topic_matches(inner, mqtt_bytes_from_cstr("jobs/42/new")));
    assert_false(mqtt_topic_matches(inner, mqtt_bytes_from_cstr("jobs/42/old")));
}

static void test_bytes_from_cstr(void **state)
{
    (void)state;
    mqtt_bytes b = mqtt_bytes_from_cstr("a/b");
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "a/b", 3);
    b = mqtt_bytes_from_cstr("");
    assert_int_equal(b.len, 0);
    b = mqtt_bytes_from_cstr(NULL);
    assert_int_equal(b.len, 0);
    assert_null(b.data);
    /* Empty views are invalid everywhere and never match. */
    assert_int_equal(mqtt_topic_name_check(b), NAME_BAD);
    assert_int_equal(mqtt_topic_filter_check(b), FILTER_BAD);
    assert_false(mqtt_topic_matches(b, mqtt_bytes_from_cstr("a")));
    assert_false(mqtt_topic_matches(mqtt_bytes_from_cstr("#"), b));
}

int main(void)
{
    /* One test per line reads better than clang-format's bin packing. */
    /* clang-format off */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_table),
        cmocka_unit_test(test_match_respects_view_length),
        cmocka_unit_test(test_name_table),
        cmocka_unit_test(test_filter_table),
        cmocka_unit_test(test_length_limit),
        cmocka_unit_test(test_shared_split_table),
        cmocka_unit_test(test_shared_inner_matches),
        cmocka_unit_test(test_bytes_from_cstr),
    };
    /* clang-format on */
    return cmocka_run_group_tests_name("mqtt_topic", tests, NULL, NULL);
}
