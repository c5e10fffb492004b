/* realm: the count of sessions per authentication name, and its reservation under a limit
 * (one step, so that two worker threads cannot both take the last place); the same for the
 * namespace's sessions, and its quotas per throughput unit. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "broker.h"
#include "realm.h"

static void test_reserve_up_to_the_limit(void **state)
{
    (void)state;
    realm *r = realm_new(NULL, "ns", 0);
    assert_non_null(r);
    assert_true(realm_reserve_auth_session(r, "dev", 2, false));
    assert_true(realm_reserve_auth_session(r, "DEV", 2, false)); /* names compare without case */
    assert_false(realm_reserve_auth_session(r, "dev", 2, false));
    assert_int_equal(realm_auth_sessions(r, "Dev"), 2);
    /* A connection that takes over one of them does not count it. */
    assert_true(realm_reserve_auth_session(r, "dev", 2, true));
    assert_int_equal(realm_auth_sessions(r, "dev"), 3);
    realm_count_auth_session(r, "dev", -1); /* the taken-over one closes */
    assert_int_equal(realm_auth_sessions(r, "dev"), 2);
    /* Another name has its own count; closing them all removes the entry. */
    assert_true(realm_reserve_auth_session(r, "other", 1, false));
    for (int i = 0; i < 2; i++)
        realm_count_auth_session(r, "dev", -1);
    assert_int_equal(realm_auth_sessions(r, "dev"), 0);
    assert_true(realm_reserve_auth_session(r, "dev", 1, false));
    realm_count_auth_session(r, "dev", -1);
    realm_count_auth_session(r, "other", -1);
    realm_free(r);
}

#define THREADS 4
#define TRIES 2000
#define LIMIT 3000

typedef struct racer {
    realm *r;
    int granted;
} racer;

static void *reserve_many(void *arg)
{
    racer *x = arg;
    for (int i = 0; i < TRIES; i++)
        x->granted += realm_reserve_auth_session(x->r, "shared-name", LIMIT, false);
    return NULL;
}

/* THREADS threads running `attempts` on `r` at once; returns the places they got in all. */
static int race(realm *r, void *(*attempts)(void *))
{
    pthread_t t[THREADS];
    racer x[THREADS];
    for (int i = 0; i < THREADS; i++) {
        x[i] = (racer){r, 0};
        assert_int_equal(pthread_create(&t[i], NULL, attempts, &x[i]), 0);
    }
    int granted = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        granted += x[i].granted;
    }
    return granted;
}

/* 8,000 attempts from 4 threads at a limit of 3,000: exactly 3,000 get a place. */
static void test_reserve_from_threads(void **state)
{
    (void)state;
    realm *r = realm_new(NULL, "ns", 0);
    assert_non_null(r);
    assert_int_equal(race(r, reserve_many), LIMIT);
    assert_int_equal(realm_auth_sessions(r, "shared-name"), LIMIT);
    for (int i = 0; i < LIMIT; i++)
        realm_count_auth_session(r, "shared-name", -1);
    realm_free(r);
}

static void *take_many(void *arg)
{
    racer *x = arg;
    for (int i = 0; i < TRIES; i++)
        x->granted += realm_take_session(x->r, LIMIT);
    return NULL;
}

/* The namespace's sessions: up to the limit, 0 for none, from threads exactly the limit. */
static void test_namespace_sessions(void **state)
{
    (void)state;
    realm *r = realm_new(NULL, "ns", 0);
    assert_non_null(r);
    assert_int_equal(realm_quota(r, 10000), 0); /* no throughputUnits: unlimited */
    atomic_store(&r->throughput_units, 3);
    assert_int_equal(realm_quota(r, 10000), 30000);
    assert_int_equal(realm_quota(r, 4000000000u), UINT32_MAX);
    assert_true(realm_take_session(r, 2));
    assert_true(realm_take_session(r, 2));
    assert_false(realm_take_session(r, 2));
    assert_true(realm_take_session(r, 0));
    for (int i = 0; i < 3; i++)
        realm_give_back_session(r);
    assert_int_equal(atomic_load(&r->session_count), 0);

    assert_int_equal(race(r, take_many), LIMIT);
    assert_int_equal(atomic_load(&r->session_count), LIMIT);
    realm_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reserve_up_to_the_limit),
        cmocka_unit_test(test_reserve_from_threads),
        cmocka_unit_test(test_namespace_sessions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
