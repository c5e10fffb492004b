/* Prometheus text helpers (prom_text.h): label escaping and family headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prom_text.h"

static void test_escapes_backslash_quote_newline(void **state)
{
    (void)state;
    char out[64];
    assert_true(prom_escape_label("ns-1", out, sizeof out));
    assert_string_equal(out, "ns-1");
    assert_true(prom_escape_label("a\\b\"c\nd", out, sizeof out));
    assert_string_equal(out, "a\\\\b\\\"c\\nd");
    assert_true(prom_escape_label("", out, sizeof out));
    assert_string_equal(out, "");
    /* Other bytes (tab, UTF-8) are kept as they are: the format allows them. */
    assert_true(prom_escape_label("t\t\xc3\xa9", out, sizeof out));
    assert_string_equal(out, "t\t\xc3\xa9");
}

static void test_too_long_is_cut_at_a_whole_escape(void **state)
{
    (void)state;
    char out[5];
    assert_false(prom_escape_label("abc\"d", out, sizeof out)); /* "abc" fits, \" does not */
    assert_string_equal(out, "abc");
    assert_true(prom_escape_label("abcd", out, sizeof out));
    assert_string_equal(out, "abcd");
    assert_false(prom_escape_label("abcde", out, sizeof out));
    assert_string_equal(out, "abcd");
    assert_false(prom_escape_label("x", out, 0));
}

static void test_family_header(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    prom_family(f, "egbroker_", "sessions", "gauge", "Sessions held.");
    assert_int_equal(fclose(f), 0);
    assert_string_equal(text, "# HELP egbroker_sessions Sessions held.\n# TYPE egbroker_sessions gauge\n");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes_backslash_quote_newline),
        cmocka_unit_test(test_too_long_is_cut_at_a_whole_escape),
        cmocka_unit_test(test_family_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
