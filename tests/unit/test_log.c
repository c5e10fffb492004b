/* Log lines (log.h): the text and JSON formats, the key=value split, escaping, the log file and
 * its reopening after a rotation. Each test logs into a file of its own and reads it back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

static char path[64];

static int open_temp_log(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "/tmp/test_log_%d.log", (int)getpid());
    unlink(path);
    log_set_level(LOG_INFO);
    return log_open_file(path);
}

static int remove_temp_log(void **state)
{
    (void)state;
    log_set_format(LOG_FORMAT_TEXT);
    return unlink(path);
}

/* The file's last line without its timestamp (text) or the whole line (JSON), newline removed. */
static void last_line(char *out, size_t len)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[8192] = "";
    out[0] = '\0';
    while (fgets(line, sizeof line, f))
        snprintf(out, len, "%s", line);
    fclose(f);
    out[strcspn(out, "\n")] = '\0';
}

static void test_text_line(void **state)
{
    (void)state;
    log_msg(LOG_INFO, "conn", "connected conn=%d client=%s", 7, "d1");
    char line[8192];
    last_line(line, sizeof line);
    assert_non_null(strstr(line, "Z level=info conn: connected conn=7 client=d1"));
    log_msg(LOG_DEBUG, "conn", "dropped below the level");
    last_line(line, sizeof line);
    assert_null(strstr(line, "dropped"));
    /* A client's bytes cannot start a line of their own. */
    log_msg(LOG_WARN, "conn", "client=%s", "a\nts level=error forged");
    last_line(line, sizeof line);
    assert_non_null(strstr(line, "level=warn conn: client=a?ts level=error forged"));
}

static void test_json_fields(void **state)
{
    (void)state;
    log_set_format(LOG_FORMAT_JSON);
    log_msg(LOG_WARN, "auth", "connect denied namespace=%s auth_name=\"%s\" reason=%s: %s", "demo",
            "my device", "ClientNotFound", "no such client");
    char line[8192];
    last_line(line, sizeof line);
    assert_non_null(strstr(line, "{\"ts\":\""));
    assert_non_null(strstr(line, "\"level\":\"warn\",\"component\":\"auth\",\"msg\":\"connect denied no such "
                                 "client\",\"namespace\":\"demo\",\"auth_name\":\"my device\",\"reason\":"
                                 "\"ClientNotFound\"}"));
}

static void test_json_escapes(void **state)
{
    (void)state;
    log_set_format(LOG_FORMAT_JSON);
    /* A quote, a backslash, a control character and a byte that is not UTF-8. */
    log_msg(LOG_ERROR, "x", "why=\"a \\ b\" raw=%s ts=1", "q\"\x01\xff\xc3\xa9");
    char line[8192];
    last_line(line, sizeof line);
    assert_non_null(
        strstr(line, "\"msg\":\"ts=1\",\"why\":\"a \\\\ b\",\"raw\":\"q\\\"\\u0001\\ufffd\xc3\xa9\"}"));
}

static void test_log_value_quotes_blanks(void **state)
{
    (void)state;
    char buf[8];
    assert_string_equal(log_value("device1", buf, sizeof buf), "device1");
    assert_string_equal(log_value("a b", buf, sizeof buf), "\"a b\"");
    assert_string_equal(log_value("", buf, sizeof buf), "\"\"");
    assert_string_equal(log_value("a very long id", buf, sizeof buf), "\"a ver\"");
}

static void test_reopen_after_rotation(void **state)
{
    (void)state;
    char rotated[80];
    snprintf(rotated, sizeof rotated, "%s.1", path);
    log_msg(LOG_INFO, "t", "before");
    assert_int_equal(rename(path, rotated), 0);
    log_msg(LOG_INFO, "t", "still the old file");
    assert_int_equal(log_reopen(), 0);
    log_msg(LOG_INFO, "t", "after");
    char line[8192];
    last_line(line, sizeof line);
    assert_non_null(strstr(line, "t: after"));
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char first[256] = "";
    assert_non_null(fgets(first, sizeof first, f));
    fclose(f);
    assert_non_null(strstr(first, "t: after")); /* the new file holds only what came after */
    unlink(rotated);
}

static void test_parse_names(void **state)
{
    (void)state;
    assert_int_equal(log_format_parse("text"), LOG_FORMAT_TEXT);
    assert_int_equal(log_format_parse("json"), LOG_FORMAT_JSON);
    assert_int_equal(log_format_parse("JSON"), -1);
    assert_int_equal(log_level_parse("warn"), LOG_WARN);
    assert_int_equal(log_level_parse("trace"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_text_line, open_temp_log, remove_temp_log),
        cmocka_unit_test_setup_teardown(test_json_fields, open_temp_log, remove_temp_log),
        cmocka_unit_test_setup_teardown(test_json_escapes, open_temp_log, remove_temp_log),
        cmocka_unit_test(test_log_value_quotes_blanks),
        cmocka_unit_test_setup_teardown(test_reopen_after_rotation, open_temp_log, remove_temp_log),
        cmocka_unit_test(test_parse_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
