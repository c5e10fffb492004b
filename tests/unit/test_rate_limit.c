/* The publish rate quota (rate_limit.h), driven by a clock the test sets: the burst, the
 * refill, the byte bucket, a large packet, refusals that cost nothing, the sustained run that
 * ends in a disconnect (and the pause that resets it), and one log line a second. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rate_limit.h"

static const publish_rate_limits limits = {
    .messages_per_second = 10, .bytes_per_second = 1000, .sustained_ms = 3000};

static void test_burst_then_refill(void **state)
{
    (void)state;
    publish_quota q;
    publish_quota_init(&q, &limits, 5000);
    for (int i = 0; i < 10; i++)
        assert_int_equal(publish_quota_check(&q, &limits, 10, 5000), PUBLISH_ALLOWED);
    assert_int_equal(publish_quota_check(&q, &limits, 10, 5000), PUBLISH_OVER_RATE);
    /* 10 a second: one token every 100 ms, none before. */
    assert_int_equal(publish_quota_check(&q, &limits, 10, 5099), PUBLISH_OVER_RATE);
    assert_int_equal(publish_quota_check(&q, &limits, 10, 5100), PUBLISH_ALLOWED);
    assert_int_equal(publish_quota_check(&q, &limits, 10, 5100), PUBLISH_OVER_RATE);
    /* A long pause refills to the burst, not beyond. */
    int allowed = 0;
    for (int i = 0; i < 20; i++)
        allowed += publish_quota_check(&q, &limits, 10, 60000) == PUBLISH_ALLOWED;
    assert_int_equal(allowed, 10);
}

static void test_bytes_limit_and_refusal_costs_nothing(void **state)
{
    (void)state;
    publish_quota q;
    publish_quota_init(&q, &limits, 0);
    assert_int_equal(publish_quota_check(&q, &limits, 600, 0), PUBLISH_ALLOWED);
    assert_int_equal(publish_quota_check(&q, &limits, 600, 0), PUBLISH_OVER_RATE); /* 400 bytes left */
    /* The refused message took no message token: 9 small ones still pass (400 bytes). */
    for (int i = 0; i < 9; i++)
        assert_int_equal(publish_quota_check(&q, &limits, 40, 0), PUBLISH_ALLOWED);
    assert_int_equal(publish_quota_check(&q, &limits, 1, 0), PUBLISH_OVER_RATE);
}

static void test_packet_larger_than_burst_needs_full_bucket(void **state)
{
    (void)state;
    publish_quota q;
    publish_quota_init(&q, &limits, 0);
    assert_int_equal(publish_quota_check(&q, &limits, 5000, 0), PUBLISH_ALLOWED);
    assert_int_equal(publish_quota_check(&q, &limits, 5000, 500), PUBLISH_OVER_RATE);
    assert_int_equal(publish_quota_check(&q, &limits, 5000, 1600), PUBLISH_ALLOWED);
}

/* Publishes 20 a second (twice the rate) from `from` until `to`: the time of the first
 * PUBLISH_OVER_RATE_LONG, or -1. */
static int64_t flood(publish_quota *q, int64_t from, int64_t to)
{
    for (int64_t t = from; t < to; t += 50)
        if (publish_quota_check(q, &limits, 1, t) == PUBLISH_OVER_RATE_LONG)
            return t;
    return -1;
}

static void test_sustained_excess_disconnects(void **state)
{
    (void)state;
    publish_quota q;
    publish_quota_init(&q, &limits, 0);
    assert_int_equal(flood(&q, 0, 3000), -1);
    int64_t first_refusal = q.streak_start_ms;
    assert_in_range(first_refusal, 500, 1000); /* the burst, then its refill, lasted that long */
    assert_int_equal(flood(&q, 3000, 10000), first_refusal + 3000);
}

static void test_pause_resets_the_run(void **state)
{
    (void)state;
    publish_quota q;
    publish_quota_init(&q, &limits, 0);
    assert_int_equal(flood(&q, 0, 3000), -1);
    /* Over a second without a refusal: the next excess starts a new run. */
    assert_int_equal(flood(&q, 4100, 6500), -1);
    int64_t second_run = q.streak_start_ms;
    assert_true(second_run > 4100);
    assert_int_equal(flood(&q, 6500, 12000), second_run + 3000);
}

static void test_log_once_a_second(void **state)
{
    (void)state;
    publish_quota q;
    publish_quota_init(&q, &limits, 0);
    uint32_t refused = 0;
    flood(&q, 0, 1100);
    assert_true(publish_quota_log_due(&q, 1050, &refused));
    assert_true(refused > 0);
    flood(&q, 1100, 1500);
    assert_false(publish_quota_log_due(&q, 1500, &refused));
    assert_true(publish_quota_log_due(&q, 2050, &refused));
    assert_true(refused > 0);
}

static void test_clock_going_back_refills_nothing(void **state)
{
    (void)state;
    token_bucket b;
    token_bucket_fill(&b, 2, 1000);
    assert_true(token_bucket_has(&b, 2, 2, 1000));
    token_bucket_take(&b, 2, 2);
    assert_false(token_bucket_has(&b, 2, 1, 500));
    assert_false(token_bucket_has(&b, 2, 1, 1000));
    assert_true(token_bucket_has(&b, 2, 1, 1500));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_refill),
        cmocka_unit_test(test_bytes_limit_and_refusal_costs_nothing),
        cmocka_unit_test(test_packet_larger_than_burst_needs_full_bucket),
        cmocka_unit_test(test_sustained_excess_disconnects),
        cmocka_unit_test(test_pause_resets_the_run),
        cmocka_unit_test(test_log_once_a_second),
        cmocka_unit_test(test_clock_going_back_refills_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
