/* Subscription tree (dataplane/sub_tree.c): add/replace/remove, pruning,
 * matching (checked against mqtt_topic_matches, the codec's reference
 * matcher), '$' topics, overlapping and shared subscriptions, deep topics and
 * scale. Subscribers are opaque to the tree, so tests use fake pointers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "topic_test_util.h"

#include "mqtt_topic.h"
#include "sub_tree.h"

#define SUBSCRIBER(i) ((void *)(uintptr_t)(0x1000 + (i)))
#define SUBSCRIBER_INDEX(p) ((size_t)((uintptr_t)(p)-0x1000))

/* ---- recording matches */

typedef struct hit {
    void *subscriber;
    uint8_t options;
    uint32_t subscription_id;
    char group[16]; /* "" for an ordinary subscription */
} hit;

typedef struct recorder {
    hit hits[64];
    size_t count;
    const void *ineligible[4]; /* subscribers `eligible` refuses */
    bool refuse_all;
} recorder;

static void record(void *ctx, void *subscriber, uint8_t options, uint32_t subscription_id,
                   const mqtt_bytes *share_group)
{
    recorder *r = ctx;
    assert_true(r->count < sizeof r->hits / sizeof r->hits[0]);
    hit *h = &r->hits[r->count++];
    memset(h, 0, sizeof *h);
    h->subscriber = subscriber;
    h->options = options;
    h->subscription_id = subscription_id;
    if (share_group) {
        assert_true(share_group->len > 0 && share_group->len < sizeof h->group);
        memcpy(h->group, share_group->data, share_group->len);
    }
}

static bool eligible(void *ctx, void *subscriber)
{
    const recorder *r = ctx;
    if (r->refuse_all)
        return false;
    for (size_t i = 0; i < sizeof r->ineligible / sizeof r->ineligible[0]; i++)
        if (r->ineligible[i] == subscriber)
            return false;
    return true;
}

/* Matches against an exactly sized heap copy of the topic, so that
 * AddressSanitizer catches any read past its end. */
static void match(sub_tree *t, const char *topic, recorder *r)
{
    size_t len = strlen(topic);
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, topic, len);
    r->count = 0;
    sub_tree_match(t, (mqtt_bytes){.data = copy, .len = (uint32_t)len}, eligible, record, r);
    free(copy);
}

static size_t hits_of(const recorder *r, const void *subscriber)
{
    size_t n = 0;
    for (size_t i = 0; i < r->count; i++)
        n += r->hits[i].subscriber == subscriber;
    return n;
}

/* ---- add, replace, remove, prune */

static void test_add_replace_remove(void **state)
{
    (void)state;
    sub_tree *t = sub_tree_new();
    assert_non_null(t);
    recorder r = {0};

    assert_int_equal(sub_tree_add(t, str("a/b"), SUBSCRIBER(1), 0x01, 5), 1);
    assert_int_equal(sub_tree_add(t, str("a/b"), SUBSCRIBER(2), 0x00, 0), 1);
    assert_int_equal(sub_tree_count(t), 2);

    /* Same subscriber, same filter: replaced, options and identifier too. */
    assert_int_equal(sub_tree_add(t, str("a/b"), SUBSCRIBER(1), 0x2e, 9), 0);
    assert_int_equal(sub_tree_count(t), 2);
    match(t, "a/b", &r);
    assert_int_equal(r.count, 2);
    for (size_t i = 0; i < r.count; i++) {
        if (r.hits[i].subscriber == SUBSCRIBER(1)) {
            assert_int_equal(r.hits[i].options, 0x2e);
            assert_int_equal(r.hits[i].subscription_id, 9);
        } else {
            assert_ptr_equal(r.hits[i].subscriber, SUBSCRIBER(2));
            assert_int_equal(r.hits[i].subscription_id, 0);
        }
        assert_string_equal(r.hits[i].group, "");
    }

    assert_int_equal(sub_tree_remove(t, str("a/b"), SUBSCRIBER(3)), 0);   /* not subscribed */
    assert_int_equal(sub_tree_remove(t, str("a/b/c"), SUBSCRIBER(1)), 0); /* no such node */
    assert_int_equal(sub_tree_remove(t, str("a"), SUBSCRIBER(1)), 0);     /* node without subs */
    assert_int_equal(sub_tree_remove(t, str("a/+"), SUBSCRIBER(1)), 0);   /* the filter is taken literally */
    assert_int_equal(sub_tree_node_count(t), 3);

    assert_int_equal(sub_tree_remove(t, str("a/b"), SUBSCRIBER(1)), 1);
    assert_int_equal(sub_tree_remove(t, str("a/b"), SUBSCRIBER(1)), 0);
    match(t, "a/b", &r);
    assert_int_equal(r.count, 1);
    assert_ptr_equal(r.hits[0].subscriber, SUBSCRIBER(2));

    assert_int_equal(sub_tree_remove(t, str("a/b"), SUBSCRIBER(2)), 1);
    assert_int_equal(sub_tree_count(t), 0);
    assert_int_equal(sub_tree_node_count(t), 1);
    match(t, "a/b", &r);
    assert_int_equal(r.count, 0);
    sub_tree_free(t);
}

static void test_prune(void **state)
{
    (void)state;
    static const char *const filters[] = {
        "a/b/c", "a/b", "a/+/c",        "a/#",          "+",      "#",
        "/",     "a//", "$share/g/a/b", "$share/h/a/b", "$SYS/#", "a/b/c/d/e/f",
    };
    const size_t n = sizeof filters / sizeof filters[0];
    sub_tree *t = sub_tree_new();
    assert_non_null(t);

    assert_int_equal(sub_tree_add(t, str("a/b"), SUBSCRIBER(0), 0, 0), 1);
    assert_int_equal(sub_tree_add(t, str("a/b/c"), SUBSCRIBER(0), 0, 0), 1);
    assert_int_equal(sub_tree_node_count(t), 4); /* root, a, b, c */
    assert_int_equal(sub_tree_remove(t, str("a/b/c"), SUBSCRIBER(0)), 1);
    assert_int_equal(sub_tree_node_count(t), 3); /* c went, b still has a subscription */
    assert_int_equal(sub_tree_add(t, str("$share/g/a/b"), SUBSCRIBER(1), 0, 0), 1);
    assert_int_equal(sub_tree_remove(t, str("a/b"), SUBSCRIBER(0)), 1);
    assert_int_equal(sub_tree_node_count(t), 3); /* b still holds the group */
    assert_int_equal(sub_tree_remove(t, str("$share/g/a/b"), SUBSCRIBER(1)), 1);
    assert_int_equal(sub_tree_node_count(t), 1);

    /* Every filter, two subscribers each, removed in several orders. */
    for (size_t order = 0; order < 3; order++) {
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(sub_tree_add(t, str(filters[i]), SUBSCRIBER(1), 0, 0), 1);
            assert_int_equal(sub_tree_add(t, str(filters[i]), SUBSCRIBER(2), 0, 0), 1);
        }
        assert_int_equal(sub_tree_count(t), 2 * n);
        assert_true(sub_tree_node_count(t) > 10);
        for (size_t k = 0; k < n; k++) {
            size_t i = order == 0 ? k : order == 1 ? n - 1 - k : (k * 5) % n; /* 5 is coprime with 12 */
            assert_int_equal(sub_tree_remove(t, str(filters[i]), SUBSCRIBER(2)), 1);
            assert_int_equal(sub_tree_remove(t, str(filters[i]), SUBSCRIBER(1)), 1);
        }
        assert_int_equal(sub_tree_count(t), 0);
        assert_int_equal(sub_tree_node_count(t), 1);
    }
    sub_tree_free(t);
}

/* Freeing a populated tree frees everything (LeakSanitizer checks). */
static void test_free_populated(void **state)
{
    (void)state;
    sub_tree *t = sub_tree_new();
    assert_non_null(t);
    for (int i = 0; i < 200; i++) {
        char filter[64];
        snprintf(filter, sizeof filter, i % 3 ? "x/%d/+/#" : "$share/g%d/x/%d", i % 7, i);
        assert_true(sub_tree_add(t, str(filter), SUBSCRIBER(i), 1, (uint32_t)i) >= 0);
    }
    sub_tree_free(t);
    sub_tree_free(NULL);
}

/* ---- matching, against the reference matcher */

/* Topics with wildcard characters in a level ("+x"): not valid topic names, but
 * matching must still treat them as plain text. */
static const char *const topics_with_wildcard_characters[] = {
    "+x",
    "#x",
};

/* One subscriber per filter (its index), all in one tree; for each topic,
 * the set of subscribers called must be exactly the filters that match. */
static void check_against_reference(const char *const *filters, size_t nf, const char *const *topics,
                                    size_t nt)
{
    sub_tree *t = sub_tree_new();
    assert_non_null(t);
    for (size_t i = 0; i < nf; i++)
        assert_int_equal(sub_tree_add(t, str(filters[i]), SUBSCRIBER(i), 0, (uint32_t)i + 1), 1);

    recorder r = {0};
    bool failed = false;
    for (size_t ti = 0; ti < nt; ti++) {
        match(t, topics[ti], &r);
        for (size_t fi = 0; fi < nf; fi++) {
            bool expected = mqtt_topic_matches(str(filters[fi]), str(topics[ti]));
            size_t got = hits_of(&r, SUBSCRIBER(fi));
            if (got != (expected ? 1u : 0u)) {
                print_error("filter \"%s\" topic \"%s\": expected %d call(s), got %zu\n", filters[fi],
                            topics[ti], expected, got);
                failed = true;
            }
        }
        for (size_t i = 0; i < r.count; i++)
            assert_int_equal(r.hits[i].subscription_id, SUBSCRIBER_INDEX(r.hits[i].subscriber) + 1);
    }
    sub_tree_free(t);
    assert_false(failed);
}

static void test_match_spec_examples(void **state)
{
    (void)state;
    check_against_reference(topic_test_filters, TOPIC_TEST_FILTER_COUNT, topic_test_topics,
                            TOPIC_TEST_TOPIC_COUNT);
    check_against_reference(topic_test_filters, TOPIC_TEST_FILTER_COUNT, topics_with_wildcard_characters,
                            sizeof topics_with_wildcard_characters /
                                sizeof topics_with_wildcard_characters[0]);
}

/* A few of the rules spelled out, so a failure reads as the rule it breaks. */
static void test_match_rules(void **state)
{
    (void)state;
    sub_tree *t = sub_tree_new();
    assert_non_null(t);
    recorder r = {0};

    assert_int_equal(sub_tree_add(t, str("a/#"), SUBSCRIBER(1), 0, 0), 1);
    match(t, "a", &r); /* '#' includes the parent level */
    assert_int_equal(r.count, 1);
    match(t, "a/b/c", &r);
    assert_int_equal(r.count, 1);
    match(t, "ab", &r);
    assert_int_equal(r.count, 0);

    /* '$' topics: no leading wildcard matches them. */
    assert_int_equal(sub_tree_add(t, str("#"), SUBSCRIBER(2), 0, 0), 1);
    assert_int_equal(sub_tree_add(t, str("+/monitor/Clients"), SUBSCRIBER(3), 0, 0), 1);
    assert_int_equal(sub_tree_add(t, str("$SYS/#"), SUBSCRIBER(4), 0, 0), 1);
    assert_int_equal(sub_tree_add(t, str("$SYS/monitor/+"), SUBSCRIBER(5), 0, 0), 1);
    match(t, "$SYS/monitor/Clients", &r);
    assert_int_equal(r.count, 2);
    assert_int_equal(hits_of(&r, SUBSCRIBER(4)), 1);
    assert_int_equal(hits_of(&r, SUBSCRIBER(5)), 1);
    match(t, "SYS/monitor/Clients", &r);
    assert_int_equal(r.count, 2);
    assert_int_equal(hits_of(&r, SUBSCRIBER(2)), 1);
    assert_int_equal(hits_of(&r, SUBSCRIBER(3)), 1);
    /* ...but only at the first level. */
    match(t, "a/$b", &r);
    assert_int_equal(hits_of(&r, SUBSCRIBER(1)), 1);
    assert_int_equal(hits_of(&r, SUBSCRIBER(2)), 1);

    /* A '+' or '#' in a topic is not a wildcard: literal lookups must not
     * land on the wildcard nodes (topics are validated by the caller, but
     * matching stays sane). */
    assert_int_equal(sub_tree_add(t, str("x/+"), SUBSCRIBER(6), 0, 0), 1);
    assert_int_equal(sub_tree_add(t, str("x/#"), SUBSCRIBER(7), 0, 0), 1);
    match(t, "x/+", &r);
    assert_int_equal(hits_of(&r, SUBSCRIBER(6)), 1);
    assert_int_equal(hits_of(&r, SUBSCRIBER(7)), 1);
    match(t, "x/#", &r);
    assert_int_equal(hits_of(&r, SUBSCRIBER(6)), 1);
    assert_int_equal(hits_of(&r, SUBSCRIBER(7)), 1);

    /* An empty topic matches nothing. */
    r.count = 7;
    sub_tree_match(t, (mqtt_bytes){.data = (const uint8_t *)"", .len = 0}, NULL, record, &r);
    assert_int_equal(r.count, 7);
    sub_tree_free(t);
}

/* Random filters and topics over a small alphabet, so that levels collide
 * often, checked against the reference matcher. */

static void test_match_random(void **state)
{
    (void)state;
    enum { FILTERS = 40, TOPICS = 200, ROUNDS = 25 };
    static char filter_buf[FILTERS][32], topic_buf[TOPICS][32];
    const char *filters[FILTERS], *topics[TOPICS];
    unsigned seed = 12345;
    for (int round = 0; round < ROUNDS; round++) {
        size_t nf = 0;
        for (int i = 0; i < FILTERS; i++) {
            random_levels(filter_buf[nf], sizeof filter_buf[nf], &seed, true);
            assert_int_equal(mqtt_topic_filter_check(str(filter_buf[nf])), 0);
            bool dup = false; /* one subscriber per distinct filter */
            for (size_t j = 0; j < nf; j++)
                dup = dup || strcmp(filter_buf[j], filter_buf[nf]) == 0;
            if (!dup) {
                filters[nf] = filter_buf[nf];
                nf++;
            }
        }
        for (int i = 0; i < TOPICS; i++) {
            random_levels(topic_buf[i], sizeof topic_buf[i], &seed, false);
            topics[i] = topic_buf[i];
        }
        check_against_reference(filters, nf, topics, TOPICS);
    }
}

/* A subscriber whose filters overlap gets one call per filter, each with that
 * filter's options and identifier; merging is the caller's job. */
static void test_overlapping_subscriptions(void **state)
{
    (void)state;
    sub_tree *t = sub_tree_new();
    assert_non_null(t);
    recorder r = {0};
    assert_int_equal(sub_tree_add(t, str("sport/tennis/+"), SUBSCRIBER(1), 0x01, 5), 1);
    assert_int_equal(sub_tree_add(t, str("sport/tennis/player1/#"), SUBSCRIBER(1), 0x02, 7), 1);
    assert_int_equal(sub_tree_add(t, str("sport/#"), SUBSCRIBER(2), 0x00, 0), 1);

    match(t, "sport/tennis/player1", &r);
    assert_int_equal(r.count, 3);
    assert_int_equal(hits_of(&r, SUBSCRIBER(1)), 2);
    uint32_t ids = 0;
    for (size_t i = 0; i < r.count; i++) {
        if (r.hits[i].subscriber != SUBSCRIBER(1))
            continue;
        assert_int_equal(r.hits[i].options, r.hits[i].subscription_id == 5 ? 0x01 : 0x02);
        ids |= 1u << r.hits[i].subscription_id;
    }
    assert_int_equal(ids, (1u << 5) | (1u << 7));

    match(t, "sport/tennis/player1/ranking", &r);
    assert_int_equal(r.count, 2);
    assert_int_equal(hits_of(&r, SUBSCRIBER(1)), 1);
    sub_tree_free(t);
}

/* ---- shared subscriptions */

static void test_shared_round_robin(void **state)
{
    (void)state;
    sub_tree *t = sub_tree_new();
    assert_non_null(t);
    recorder r = {0};
    for (int i = 1; i <= 3; i++)
        assert_int_equal(sub_tree_add(t, str("$share/g/sensors/+"), SUBSCRIBER(i), 0x01, (uint32_t)i), 1);
    assert_int_equal(sub_tree_add(t, str("sensors/+"), SUBSCRIBER(9), 0x00, 0), 1);
    assert_int_equal(sub_tree_count(t), 4);

    /* Member 2 is not eligible: members 1 and 3 take turns. */
    r.ineligible[0] = SUBSCRIBER(2);
    size_t got[4] = {0};
    for (int i = 0; i < 6; i++) {
        match(t, "sensors/temp", &r);
        assert_int_equal(r.count, 2); /* the group once, the ordinary subscriber once */
        assert_int_equal(hits_of(&r, SUBSCRIBER(9)), 1);
        for (size_t k = 0; k < r.count; k++) {
            if (r.hits[k].subscriber == SUBSCRIBER(9)) {
                assert_string_equal(r.hits[k].group, "");
                continue;
            }
            assert_string_equal(r.hits[k].group, "g");
            size_t member = SUBSCRIBER_INDEX(r.hits[k].subscriber);
            assert_int_equal(r.hits[k].subscription_id, member);
            got[member]++;
        }
    }
    assert_int_equal(got[1], 3);
    assert_int_equal(got[2], 0);
    assert_int_equal(got[3], 3);

    /* Nobody eligible: plain round robin over all three. */
    r.refuse_all = true;
    memset(got, 0, sizeof got);
    for (int i = 0; i < 9; i++) {
        match(t, "sensors/temp", &r);
        for (size_t k = 0; k < r.count; k++)
            if (r.hits[k].subscriber != SUBSCRIBER(9))
                got[SUBSCRIBER_INDEX(r.hits[k].subscriber)]++;
    }
    assert_int_equal(got[1], 3);
    assert_int_equal(got[2], 3);
    assert_int_equal(got[3], 3);

    /* NULL eligibility: everyone is. */
    memset(got, 0, sizeof got);
    for (int i = 0; i < 6; i++) {
        r.count = 0;
        sub_tree_match(t, str("sensors/x"), NULL, record, &r);
        for (size_t k = 0; k < r.count; k++)
            if (r.hits[k].subscriber != SUBSCRIBER(9))
                got[SUBSCRIBER_INDEX(r.hits[k].subscriber)]++;
    }
    assert_int_equal(got[1], 2);
    assert_int_equal(got[2], 2);
    assert_int_equal(got[3], 2);

    /* Replacing a member keeps one member; a member leaving keeps the rest. */
    assert_int_equal(sub_tree_add(t, str("$share/g/sensors/+"), SUBSCRIBER(2), 0x02, 22), 0);
    assert_int_equal(sub_tree_count(t), 4);
    assert_int_equal(sub_tree_remove(t, str("$share/g/sensors/+"), SUBSCRIBER(9)), 0);
    assert_int_equal(sub_tree_remove(t, str("$share/other/sensors/+"), SUBSCRIBER(2)), 0);
    assert_int_equal(sub_tree_remove(t, str("$share/g/sensors/+"), SUBSCRIBER(1)), 1);
    r.refuse_all = false;
    r.ineligible[0] = NULL;
    memset(got, 0, sizeof got);
    for (int i = 0; i < 4; i++) {
        match(t, "sensors/temp", &r);
        for (size_t k = 0; k < r.count; k++) {
            if (r.hits[k].subscriber == SUBSCRIBER(2))
                assert_int_equal(r.hits[k].subscription_id, 22);
            if (r.hits[k].subscriber != SUBSCRIBER(9))
                got[SUBSCRIBER_INDEX(r.hits[k].subscriber)]++;
        }
    }
    assert_int_equal(got[1], 0);
    assert_int_equal(got[2], 2);
    assert_int_equal(got[3], 2);

    assert_int_equal(sub_tree_remove(t, str("$share/g/sensors/+"), SUBSCRIBER(2)), 1);
    assert_int_equal(sub_tree_remove(t, str("$share/g/sensors/+"), SUBSCRIBER(3)), 1);
    assert_int_equal(sub_tree_remove(t, str("sensors/+"), SUBSCRIBER(9)), 1);
    assert_int_equal(sub_tree_count(t), 0);
    assert_int_equal(sub_tree_node_count(t), 1);
    sub_tree_free(t);
}

/* Groups are independent of each other and of ordinary subscriptions to the
 * same inner filter, even by the same subscriber. */
static void test_shared_groups_distinct(void **state)
{
    (void)state;
    sub_tree *t = sub_tree_new();
    assert_non_null(t);
    recorder r = {0};
    assert_int_equal(sub_tree_add(t, str("a/#"), SUBSCRIBER(1), 0, 0), 1);
    assert_int_equal(sub_tree_add(t, str("$share/g1/a/#"), SUBSCRIBER(1), 0, 0), 1);
    assert_int_equal(sub_tree_add(t, str("$share/g2/a/#"), SUBSCRIBER(1), 0, 0), 1);
    assert_int_equal(sub_tree_add(t, str("$share/g2/a/#"), SUBSCRIBER(2), 0, 0), 1);
    assert_int_equal(sub_tree_add(t, str("$share/g1/#"), SUBSCRIBER(3), 0, 0), 1);
    assert_int_equal(sub_tree_count(t), 5);

    match(t, "a/b", &r);
    assert_int_equal(r.count, 4); /* a/#, g1 at a/#, g2 at a/#, g1 at # */
    int groups = 0;
    for (size_t i = 0; i < r.count; i++)
        groups += r.hits[i].group[0] != '\0';
    assert_int_equal(groups, 3);

    /* '$' topics are not matched by a shared "#" either. */
    match(t, "$a", &r);
    assert_int_equal(r.count, 0);

    assert_int_equal(sub_tree_remove(t, str("a/#"), SUBSCRIBER(1)), 1);
    match(t, "a", &r);
    assert_int_equal(r.count, 3);
    for (size_t i = 0; i < r.count; i++)
        assert_true(r.hits[i].group[0] != '\0');

    assert_int_equal(sub_tree_remove(t, str("$share/g1/a/#"), SUBSCRIBER(1)), 1);
    assert_int_equal(sub_tree_remove(t, str("$share/g2/a/#"), SUBSCRIBER(1)), 1);
    assert_int_equal(sub_tree_remove(t, str("$share/g2/a/#"), SUBSCRIBER(2)), 1);
    assert_int_equal(sub_tree_remove(t, str("$share/g1/#"), SUBSCRIBER(3)), 1);
    assert_int_equal(sub_tree_node_count(t), 1);
    sub_tree_free(t);
}

/* ---- limits */

/* Topics and filters of the largest size: the walk must not recurse. */
static void test_deep_topics(void **state)
{
    (void)state;
    deep_topics deep = deep_topics_new();
    char *topic = deep.topic, *pluses = deep.pluses, *slashes = deep.slashes;

    sub_tree *t = sub_tree_new();
    assert_non_null(t);
    recorder r = {0};
    assert_int_equal(sub_tree_add(t, str(topic), SUBSCRIBER(1), 0, 0), 1);
    assert_int_equal(sub_tree_add(t, str(pluses), SUBSCRIBER(2), 0, 0), 1);
    assert_int_equal(sub_tree_add(t, str("#"), SUBSCRIBER(3), 0, 0), 1);
    assert_int_equal(sub_tree_add(t, str(slashes), SUBSCRIBER(4), 0, 0), 1);
    match(t, topic, &r);
    assert_int_equal(r.count, 3);
    assert_int_equal(hits_of(&r, SUBSCRIBER(4)), 0);
    match(t, slashes, &r); /* 65536 empty levels */
    assert_int_equal(r.count, 2);
    assert_int_equal(hits_of(&r, SUBSCRIBER(3)), 1);
    assert_int_equal(hits_of(&r, SUBSCRIBER(4)), 1);
    topic[2 * DEEP_TOPIC_LEVELS - 3] = '\0'; /* one level fewer */
    match(t, topic, &r);
    assert_int_equal(r.count, 1);

    assert_int_equal(sub_tree_remove(t, str(pluses), SUBSCRIBER(2)), 1);
    topic[2 * DEEP_TOPIC_LEVELS - 3] = '/';
    assert_int_equal(sub_tree_remove(t, str(topic), SUBSCRIBER(1)), 1);
    sub_tree_free(t); /* "#" and the slashes freed with the tree */
    free(topic);
    free(pluses);
    free(slashes);
}

/* ctx: an array of call counts indexed by subscriber. */
static void count_per_subscriber(void *ctx, void *subscriber, uint8_t options, uint32_t subscription_id,
                                 const mqtt_bytes *share_group)
{
    (void)options;
    (void)subscription_id;
    assert_null(share_group);
    ((size_t *)ctx)[SUBSCRIBER_INDEX(subscriber)]++;
}

/* Correctness at scale, not speed: distinct topics, then a wide fan-out. */
static void test_scale(void **state)
{
    (void)state;
    enum { N = 50000, FANOUT = 10000 };
    sub_tree *t = sub_tree_new();
    assert_non_null(t);
    recorder r = {0};
    char buf[64];
    for (size_t i = 0; i < N; i++) {
        snprintf(buf, sizeof buf, "devices/%zu/cmd", i);
        assert_int_equal(sub_tree_add(t, str(buf), SUBSCRIBER(i), 1, 0), 1);
    }
    assert_int_equal(sub_tree_count(t), N);
    assert_int_equal(sub_tree_node_count(t), 2 + 2 * N);
    for (size_t i = 0; i < N; i++) {
        snprintf(buf, sizeof buf, "devices/%zu/cmd", i);
        match(t, buf, &r);
        assert_int_equal(r.count, 1);
        assert_ptr_equal(r.hits[0].subscriber, SUBSCRIBER(i));
    }
    match(t, "devices/x/cmd", &r);
    assert_int_equal(r.count, 0);
    for (size_t i = 0; i < N; i += 2) {
        snprintf(buf, sizeof buf, "devices/%zu/cmd", i);
        assert_int_equal(sub_tree_remove(t, str(buf), SUBSCRIBER(i)), 1);
    }
    for (size_t i = 0; i < N; i++) {
        snprintf(buf, sizeof buf, "devices/%zu/cmd", i);
        match(t, buf, &r);
        assert_int_equal(r.count, i % 2);
    }
    for (size_t i = 1; i < N; i += 2) {
        snprintf(buf, sizeof buf, "devices/%zu/cmd", i);
        assert_int_equal(sub_tree_remove(t, str(buf), SUBSCRIBER(i)), 1);
    }
    assert_int_equal(sub_tree_count(t), 0);
    assert_int_equal(sub_tree_node_count(t), 1);

    /* Many subscribers on one filter. */
    for (size_t i = 0; i < FANOUT; i++)
        assert_int_equal(sub_tree_add(t, str("broadcast/#"), SUBSCRIBER(i), 0, 0), 1);
    for (size_t i = 0; i < FANOUT; i += 3)
        assert_int_equal(sub_tree_remove(t, str("broadcast/#"), SUBSCRIBER(i)), 1);
    assert_int_equal(sub_tree_count(t), FANOUT - (FANOUT + 2) / 3);
    size_t seen[FANOUT] = {0};
    sub_tree_match(t, str("broadcast/all"), NULL, count_per_subscriber, seen);
    for (size_t i = 0; i < FANOUT; i++)
        assert_int_equal(seen[i], i % 3 ? 1 : 0);
    for (size_t i = 0; i < FANOUT; i += 3)
        assert_int_equal(sub_tree_remove(t, str("broadcast/#"), SUBSCRIBER(i)), 0);
    for (size_t i = 0; i < FANOUT; i++)
        if (i % 3)
            assert_int_equal(sub_tree_remove(t, str("broadcast/#"), SUBSCRIBER(i)), 1);
    assert_int_equal(sub_tree_node_count(t), 1);
    sub_tree_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_replace_remove),
        cmocka_unit_test(test_prune),
        cmocka_unit_test(test_free_populated),
        cmocka_unit_test(test_match_spec_examples),
        cmocka_unit_test(test_match_rules),
        cmocka_unit_test(test_match_random),
        cmocka_unit_test(test_overlapping_subscriptions),
        cmocka_unit_test(test_shared_round_robin),
        cmocka_unit_test(test_shared_groups_distinct),
        cmocka_unit_test(test_deep_topics),
        cmocka_unit_test(test_scale),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
