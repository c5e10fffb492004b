/* strmap: insert, replace, lookup, removal with probe-run repair, growth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "strmap.h"

static void test_put_get_replace(void **state)
{
    (void)state;
    strmap *m = strmap_new();
    int a = 1, b = 2;
    assert_int_equal(strmap_put(m, "k", 1, &a), 0);
    assert_ptr_equal(strmap_get(m, "k", 1), &a);
    assert_int_equal(strmap_put(m, "k", 1, &b), 0);
    assert_ptr_equal(strmap_get(m, "k", 1), &b);
    assert_int_equal(strmap_count(m), 1);
    assert_null(strmap_get(m, "kk", 2));
    /* Keys are bytes, not C strings: embedded NUL and the empty key work. */
    assert_int_equal(strmap_put(m, "a\0b", 3, &a), 0);
    assert_int_equal(strmap_put(m, "", 0, &b), 0);
    assert_ptr_equal(strmap_get(m, "a\0b", 3), &a);
    assert_null(strmap_get(m, "a", 1));
    assert_ptr_equal(strmap_get(m, "", 0), &b);
    strmap_free(m);
}

static void count_entry(void *ctx, const void *key, size_t len, void *value)
{
    (void)key, (void)len, (void)value;
    (*(size_t *)ctx)++;
}

/* Many keys force growth and long probe runs; removing every other key must
 * keep the rest reachable (the removal re-seats its probe run). */
static void test_growth_and_removal(void **state)
{
    (void)state;
    enum { N = 20000 };
    static int values[N];
    strmap *m = strmap_new();
    char key[32];
    for (int i = 0; i < N; i++) {
        int n = snprintf(key, sizeof key, "client-%d", i);
        assert_int_equal(strmap_put(m, key, (size_t)n, &values[i]), 0);
    }
    assert_int_equal(strmap_count(m), N);
    for (int i = 0; i < N; i += 2) {
        int n = snprintf(key, sizeof key, "client-%d", i);
        assert_ptr_equal(strmap_remove(m, key, (size_t)n), &values[i]);
        assert_null(strmap_remove(m, key, (size_t)n));
    }
    for (int i = 0; i < N; i++) {
        int n = snprintf(key, sizeof key, "client-%d", i);
        void *want = (i % 2) ? &values[i] : NULL;
        assert_ptr_equal(strmap_get(m, key, (size_t)n), want);
    }
    size_t seen = 0;
    strmap_foreach(m, count_entry, &seen);
    assert_int_equal(seen, N / 2);
    strmap_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_replace),
        cmocka_unit_test(test_growth_and_removal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
