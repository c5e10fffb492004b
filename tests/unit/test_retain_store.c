/* Retained store (dataplane/retain_store.c): set/replace/delete, reference
 * counts, matching (checked against mqtt_topic_matches, the codec's reference
 * matcher), '$' topics, expiry, pruning, deep topics and scale. LeakSanitizer
 * catches any message the store fails to release. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "topic_test_util.h"

#include "message.h"
#include "mqtt_topic.h"
#include "retain_store.h"

#define NOW 1000000

/* A retained message for `topic`, expiring after expiry_s seconds (0: never),
 * created at NOW. */
static broker_msg *msg_new(const char *topic, const char *payload, uint32_t expiry_s)
{
    mqtt_properties props = {0};
    if (expiry_s) {
        props.present = MQTT_PROP_BIT(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL);
        props.message_expiry_interval = expiry_s;
    }
    broker_msg *m = broker_msg_new_raw(str(topic), str(payload), 1, true, &props, 0, NOW);
    assert_non_null(m);
    return m;
}

/* Stores a new message and gives up the test's reference: the store's is
 * then the only one, so leaks and double frees show. */
static void retain(retain_store *s, const char *topic, uint32_t expiry_s)
{
    broker_msg *m = msg_new(topic, "payload", expiry_s);
    assert_int_equal(retain_store_set(s, str(topic), m), 0);
    broker_msg_unref(m);
}

/* ---- recording matches */

typedef struct recorder {
    char topics[64][48]; /* the topics passed, in order */
    size_t count;
} recorder;

static void record(void *ctx, broker_msg *m)
{
    recorder *r = ctx;
    assert_true(r->count < sizeof r->topics / sizeof r->topics[0]);
    assert_true(m->topic.len < sizeof r->topics[0]);
    assert_true(m->refs >= 1);
    memcpy(r->topics[r->count], m->topic.data, m->topic.len);
    r->topics[r->count][m->topic.len] = '\0';
    r->count++;
}

/* Matches with an exactly sized heap copy of the filter, so that
 * AddressSanitizer catches any read past its end. */
static void match_at(retain_store *s, const char *filter, int64_t now_ms, recorder *r)
{
    size_t len = strlen(filter);
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, filter, len);
    r->count = 0;
    retain_store_match(s, (mqtt_bytes){.data = copy, .len = (uint32_t)len}, now_ms, record, r);
    free(copy);
}

static void match(retain_store *s, const char *filter, recorder *r)
{
    match_at(s, filter, NOW, r);
}

static bool recorded(const recorder *r, const char *topic)
{
    size_t n = 0;
    for (size_t i = 0; i < r->count; i++)
        n += strcmp(r->topics[i], topic) == 0;
    assert_true(n <= 1); /* never twice */
    return n == 1;
}

/* ---- set, replace, delete */

static void test_set_replace_delete(void **state)
{
    (void)state;
    retain_store *s = retain_store_new();
    assert_non_null(s);
    recorder r = {0};
    broker_msg *m1 = msg_new("a/b", "one", 0), *m2 = msg_new("a/b", "second", 0);

    assert_int_equal(retain_store_set(s, str("a/b"), m1), 0);
    assert_int_equal(m1->refs, 2);
    assert_int_equal(retain_store_count(s), 1);
    assert_int_equal(retain_store_bytes(s), broker_msg_size(m1));
    assert_int_equal(retain_store_node_count(s), 3);

    /* The same message again: nothing changes. */
    assert_int_equal(retain_store_set(s, str("a/b"), m1), 0);
    assert_int_equal(m1->refs, 2);
    assert_int_equal(retain_store_count(s), 1);

    /* Replaced: the old reference is dropped. */
    assert_int_equal(retain_store_set(s, str("a/b"), m2), 0);
    assert_int_equal(m1->refs, 1);
    assert_int_equal(m2->refs, 2);
    assert_int_equal(retain_store_count(s), 1);
    assert_int_equal(retain_store_bytes(s), broker_msg_size(m2));
    match(s, "a/b", &r);
    assert_int_equal(r.count, 1);

    /* Deleting what is not there creates nothing. */
    assert_int_equal(retain_store_set(s, str("a/b/c"), NULL), 0);
    assert_int_equal(retain_store_set(s, str("x"), NULL), 0);
    assert_int_equal(retain_store_set(s, str("a"), NULL), 0);
    assert_int_equal(retain_store_node_count(s), 3);
    assert_int_equal(retain_store_count(s), 1);

    /* Contains: the topic exactly, not its parent (a node without a message) nor a child. */
    assert_true(retain_store_contains(s, str("a/b")));
    assert_false(retain_store_contains(s, str("a")));
    assert_false(retain_store_contains(s, str("a/b/c")));
    assert_false(retain_store_contains(s, str("x")));

    /* A parent keeps its node while a child holds a message. */
    assert_int_equal(retain_store_set(s, str("a"), m1), 0);
    assert_true(retain_store_contains(s, str("a")));
    assert_int_equal(retain_store_count(s), 2);
    assert_int_equal(retain_store_bytes(s), broker_msg_size(m1) + broker_msg_size(m2));
    assert_int_equal(retain_store_set(s, str("a"), NULL), 0);
    assert_int_equal(retain_store_node_count(s), 3);
    assert_int_equal(m1->refs, 1);

    assert_int_equal(retain_store_set(s, str("a/b"), NULL), 0);
    assert_int_equal(m2->refs, 1);
    assert_int_equal(retain_store_count(s), 0);
    assert_int_equal(retain_store_bytes(s), 0);
    assert_int_equal(retain_store_node_count(s), 1);
    match(s, "#", &r);
    assert_int_equal(r.count, 0);

    broker_msg_unref(m1);
    broker_msg_unref(m2);
    retain_store_free(s);
    retain_store_free(NULL);
}

/* Section 3.3.1.3: a retained message with an empty payload clears the topic
 * and is not itself stored. */
static void test_empty_payload_deletes(void **state)
{
    (void)state;
    retain_store *s = retain_store_new();
    assert_non_null(s);
    retain(s, "a/b", 0);
    broker_msg *empty = msg_new("a/b", "", 0);
    assert_int_equal(retain_store_set(s, str("a/b"), empty), 0);
    assert_int_equal(empty->refs, 1);
    assert_int_equal(retain_store_count(s), 0);
    assert_int_equal(retain_store_node_count(s), 1);
    assert_int_equal(retain_store_set(s, str("c"), empty), 0);
    assert_int_equal(retain_store_node_count(s), 1);
    broker_msg_unref(empty);
    retain_store_free(s);
}

/* Freeing the store releases every message (LeakSanitizer checks). */
static void test_free_releases(void **state)
{
    (void)state;
    retain_store *s = retain_store_new();
    assert_non_null(s);
    broker_msg *kept = msg_new("k", "kept", 0);
    assert_int_equal(retain_store_set(s, str("k"), kept), 0);
    for (int i = 0; i < 100; i++) {
        char topic[32];
        snprintf(topic, sizeof topic, "t/%d/%d", i % 10, i);
        retain(s, topic, 0);
    }
    assert_int_equal(retain_store_count(s), 101);
    retain_store_free(s);
    assert_int_equal(kept->refs, 1);
    broker_msg_unref(kept);
}

/* ---- matching */

/* Every filter against a store holding every topic: exactly the matching
 * topics, each once. */
static void test_match_against_reference(void **state)
{
    (void)state;
    retain_store *s = retain_store_new();
    assert_non_null(s);
    for (size_t i = 0; i < TOPIC_TEST_TOPIC_COUNT; i++)
        retain(s, topic_test_topics[i], 0);
    assert_int_equal(retain_store_count(s), TOPIC_TEST_TOPIC_COUNT);

    recorder r = {0};
    bool failed = false;
    for (size_t fi = 0; fi < TOPIC_TEST_FILTER_COUNT; fi++) {
        match(s, topic_test_filters[fi], &r);
        size_t expected_count = 0;
        for (size_t ti = 0; ti < TOPIC_TEST_TOPIC_COUNT; ti++) {
            bool expected = mqtt_topic_matches(str(topic_test_filters[fi]), str(topic_test_topics[ti]));
            expected_count += expected;
            if (recorded(&r, topic_test_topics[ti]) != expected) {
                print_error("filter \"%s\" topic \"%s\": expected %s\n", topic_test_filters[fi],
                            topic_test_topics[ti], expected ? "a match" : "none");
                failed = true;
            }
        }
        if (r.count != expected_count) {
            print_error("filter \"%s\": %zu messages, expected %zu\n", topic_test_filters[fi], r.count,
                        expected_count);
            failed = true;
        }
    }
    assert_false(failed);
    assert_int_equal(retain_store_count(s), TOPIC_TEST_TOPIC_COUNT); /* matching keeps everything */
    retain_store_free(s);
}

/* The '$' rule spelled out, so a failure reads as the rule it breaks. */
static void test_match_dollar_topics(void **state)
{
    (void)state;
    retain_store *s = retain_store_new();
    assert_non_null(s);
    recorder r = {0};
    retain(s, "$SYS/broker/uptime", 0);
    retain(s, "SYS/broker/uptime", 0);
    retain(s, "x/$y", 0);

    match(s, "#", &r);
    assert_int_equal(r.count, 2);
    assert_false(recorded(&r, "$SYS/broker/uptime"));
    match(s, "+/broker/uptime", &r);
    assert_int_equal(r.count, 1);
    assert_true(recorded(&r, "SYS/broker/uptime"));
    match(s, "$SYS/#", &r);
    assert_int_equal(r.count, 1);
    assert_true(recorded(&r, "$SYS/broker/uptime"));
    match(s, "x/+", &r); /* below the first level '$' is an ordinary character */
    assert_int_equal(r.count, 1);
    retain_store_free(s);
}

/* Random topics and filters over a small alphabet, so that levels collide
 * often, checked against the reference matcher. */

static void test_match_random(void **state)
{
    (void)state;
    enum { TOPICS = 40, FILTERS = 100, ROUNDS = 25 };
    unsigned seed = 54321;
    recorder r = {0};
    char topics[TOPICS][32], filter[32];
    bool failed = false;
    for (int round = 0; round < ROUNDS && !failed; round++) {
        retain_store *s = retain_store_new();
        assert_non_null(s);
        for (int i = 0; i < TOPICS; i++) {
            random_levels(topics[i], sizeof topics[i], &seed, false);
            retain(s, topics[i], 0); /* a repeated topic is replaced */
        }
        for (int f = 0; f < FILTERS; f++) {
            random_levels(filter, sizeof filter, &seed, true);
            assert_int_equal(mqtt_topic_filter_check(str(filter)), 0);
            match(s, filter, &r);
            for (int i = 0; i < TOPICS; i++) {
                bool expected = mqtt_topic_matches(str(filter), str(topics[i]));
                if (recorded(&r, topics[i]) != expected) {
                    print_error("filter \"%s\" topic \"%s\": expected %s\n", filter, topics[i],
                                expected ? "a match" : "none");
                    failed = true;
                }
            }
        }
        retain_store_free(s);
    }
    assert_false(failed);
}

/* ---- expiry */

static void test_expiry(void **state)
{
    (void)state;
    retain_store *s = retain_store_new();
    assert_non_null(s);
    recorder r = {0};
    /* Siblings alternate expired and live, so a '+' walk must go on past each
     * child it frees; the "deep" chain empties and is pruned bottom-up. */
    retain(s, "x/a", 10);
    retain(s, "x/b", 0);
    retain(s, "x/c", 10);
    retain(s, "x/d", 100);
    retain(s, "x/e", 10);
    retain(s, "x/deep/1/2/3", 10);
    retain(s, "y", 10);
    broker_msg *held = msg_new("x/held", "p", 10);
    assert_int_equal(retain_store_set(s, str("x/held"), held), 0);
    size_t bytes_before = retain_store_bytes(s);

    match_at(s, "x/+", NOW + 9999, &r); /* not yet */
    assert_int_equal(r.count, 6);
    assert_int_equal(retain_store_count(s), 8);

    match_at(s, "x/+", NOW + 10000, &r);
    assert_int_equal(r.count, 2);
    assert_true(recorded(&r, "x/b"));
    assert_true(recorded(&r, "x/d"));
    assert_int_equal(retain_store_count(s), 4); /* x/b, x/d, x/deep/1/2/3 and y */
    assert_int_equal(held->refs, 1);            /* the store dropped x/held */
    assert_true(retain_store_bytes(s) < bytes_before);

    match_at(s, "#", NOW + 10000, &r);
    assert_int_equal(r.count, 2);
    assert_int_equal(retain_store_count(s), 2);
    assert_int_equal(retain_store_node_count(s), 4); /* root, x, b, d */
    assert_int_equal(retain_store_bytes(s), 2 * (strlen("x/b") + strlen("payload")));

    match_at(s, "x/d", NOW + 100000, &r);
    assert_int_equal(r.count, 0);
    assert_int_equal(retain_store_count(s), 1);
    assert_int_equal(retain_store_node_count(s), 3);

    broker_msg_unref(held);
    retain_store_free(s);
}

/* ---- limits */

/* ctx: a call counter. */
static void count_call(void *ctx, broker_msg *m)
{
    (void)m;
    (*(size_t *)ctx)++;
}

/* Topics of the largest size: walks and freeing must not recurse. */
static void test_deep_topics(void **state)
{
    (void)state;
    deep_topics deep = deep_topics_new();
    char *topic = deep.topic, *pluses = deep.pluses, *slashes = deep.slashes;

    retain_store *s = retain_store_new();
    assert_non_null(s);
    recorder r = {0};
    broker_msg *m = broker_msg_new_raw(str(topic), str("p"), 0, true, NULL, 0, NOW);
    assert_non_null(m);
    assert_int_equal(retain_store_set(s, str(topic), m), 0);
    broker_msg_unref(m);
    m = broker_msg_new_raw(str(slashes), str("p"), 0, true, NULL, 0, NOW);
    assert_non_null(m);
    assert_int_equal(retain_store_set(s, str(slashes), m), 0);
    broker_msg_unref(m);

    /* The recorder keeps short topics only: count calls instead. */
    size_t calls = 0;
    retain_store_match(s, str(topic), NOW, count_call, &calls);
    assert_int_equal(calls, 1);
    calls = 0;
    retain_store_match(s, str(pluses), NOW, count_call, &calls);
    assert_int_equal(calls, 1);
    calls = 0;
    retain_store_match(s, str("#"), NOW, count_call, &calls);
    assert_int_equal(calls, 2);
    calls = 0;
    retain_store_match(s, str(slashes), NOW, count_call, &calls);
    assert_int_equal(calls, 1);
    match(s, "x/+", &r);
    assert_int_equal(r.count, 0);

    assert_int_equal(retain_store_set(s, str(slashes), NULL), 0);
    assert_int_equal(retain_store_node_count(s), 1 + DEEP_TOPIC_LEVELS);
    retain_store_free(s); /* frees the "x/x/..." chain */
    free(topic);
    free(pluses);
    free(slashes);
}

/* Topic i of the scale test: the first FLAT side by side under one level,
 * the rest spread below BRANCHES parents. Scrambled, so that insertions do
 * not arrive in sorted order. */
enum { SCALE_N = 50000, SCALE_FLAT = 10000, SCALE_BRANCHES = 200 };
static void scale_topic(size_t i, char *buf, size_t cap)
{
    size_t k = (i * 7919) % SCALE_N; /* 7919 is prime: a permutation */
    if (k < SCALE_FLAT)
        snprintf(buf, cap, "flat/%zu/status", k);
    else
        snprintf(buf, cap, "tree/%zu/%zu/status", k % SCALE_BRANCHES, k);
}

/* Correctness at scale, not speed. */
static void test_scale(void **state)
{
    (void)state;
    retain_store *s = retain_store_new();
    assert_non_null(s);
    recorder r = {0};
    char buf[64];
    for (size_t i = 0; i < SCALE_N; i++) {
        scale_topic(i, buf, sizeof buf);
        retain(s, buf, 0);
    }
    assert_int_equal(retain_store_count(s), SCALE_N);
    assert_int_equal(retain_store_node_count(s),
                     1 + (1 + 2 * SCALE_FLAT) + (1 + SCALE_BRANCHES + 2 * (SCALE_N - SCALE_FLAT)));
    for (size_t i = 0; i < SCALE_N; i++) {
        scale_topic(i, buf, sizeof buf);
        match(s, buf, &r);
        assert_int_equal(r.count, 1);
        assert_string_equal(r.topics[0], buf);
    }
    size_t calls = 0;
    retain_store_match(s, str("flat/+/status"), NOW, count_call, &calls);
    assert_int_equal(calls, SCALE_FLAT);
    calls = 0;
    retain_store_match(s, str("tree/+/+/status"), NOW, count_call, &calls);
    assert_int_equal(calls, SCALE_N - SCALE_FLAT);
    calls = 0;
    retain_store_match(s, str("#"), NOW, count_call, &calls);
    assert_int_equal(calls, SCALE_N);

    for (size_t i = 0; i < SCALE_N; i++) {
        scale_topic(SCALE_N - 1 - i, buf, sizeof buf);
        assert_int_equal(retain_store_set(s, str(buf), NULL), 0);
    }
    assert_int_equal(retain_store_count(s), 0);
    assert_int_equal(retain_store_bytes(s), 0);
    assert_int_equal(retain_store_node_count(s), 1);
    retain_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_replace_delete),
        cmocka_unit_test(test_empty_payload_deletes),
        cmocka_unit_test(test_free_releases),
        cmocka_unit_test(test_match_against_reference),
        cmocka_unit_test(test_match_dollar_topics),
        cmocka_unit_test(test_match_random),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_deep_topics),
        cmocka_unit_test(test_scale),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
