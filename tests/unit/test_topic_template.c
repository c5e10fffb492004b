/* Topic templates (shared/policy/topic_template.c): parsing, every parse
 * error with its offset, expansion results including NOT_APPLICABLE and
 * TOO_LONG, and an exhaustive cross-check of short templates against an
 * independent oracle built on mqtt_topic.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy_test_util.h"

#include "mqtt_topic.h"
#include "policy/topic_template.h"

static const char *const arr_items[] = {"a"};

#define STR(k, v)                                                                                            \
    {                                                                                                        \
        .key = (k), .type = CLIENT_ATTR_STRING, .str = (v)                                                   \
    }
#define INT(k, v)                                                                                            \
    {                                                                                                        \
        .key = (k), .type = CLIENT_ATTR_INT, .num = (v)                                                      \
    }

static const client_attr v1_attrs[] = {
    STR("site", "berlin"),
    INT("line", 7),
    INT("neg", -3),
    INT("big", (-9223372036854775807LL - 1)),
    {.key = "arr", .type = CLIENT_ATTR_STRING_ARRAY, .items = arr_items, .n_items = 1},
    STR("empty", ""),
    STR("slash", "a/b"),
    STR("plus", "a+"),
    STR("hash", "#x"),
    STR("share", "$share"),
    STR("e", "e"),
    STR("bad_utf8", "\xff"),
    STR("dollar", "$SYS"),
    STR("uni", "\xc3\xbc"),
    STR("space", "a b"),
    STR("null", NULL),
};
static const client_view V1 = {"device1", v1_attrs, sizeof v1_attrs / sizeof v1_attrs[0]};
static const client_view NONAME = {NULL, NULL, 0};

/* ---- parsing */

static const char *const ok_templates[] = {
    "devices/${client.authenticationName}/telemetry/#",
    "devices/+/telemetry/#",
    "alerts/#",
    "#",
    "+",
    "+/+",
    "/",
    "a/",
    "a//b",
    "$SYS/x",
    "$SYS/#",
    "$",
    "a$",
    "a/$/b",
    "$x{y}",
    "a/{b}/c",
    "a/}/c",
    "$share",
    "$sharex/a",
    "$${client.authenticationName}",
    "machines/${client.authenticationName}.factory1/temp",
    "${client.attributes.site}/${client.attributes.line_2}",
    "a/${client.attributes.x}${client.attributes.y}/b",
    "pre${client.authenticationName}post",
    "${client.authenticationName}",
    "x/${client.attributes.K_9}/+/#",
    "${client.attributes.0}",
    "\xc3\xbc/${client.authenticationName}",
    "a b/c d",
};

static void test_parse_ok(void **state)
{
    (void)state;
    size_t failures = 0;
    for (size_t i = 0; i < sizeof ok_templates / sizeof ok_templates[0]; i++) {
        policy_error err = {0};
        topic_template *t = topic_template_parse(ok_templates[i], &err);
        if (!t) {
            print_error("template \"%s\" refused: %s\n", ok_templates[i], err.message);
            failures++;
            continue;
        }
        assert_string_equal(topic_template_text(t), ok_templates[i]);
        assert_int_equal(topic_template_has_variables(t), strstr(ok_templates[i], "${") != NULL);
        topic_template_free(t);
    }
    assert_int_equal(failures, 0);
}

struct error_case {
    const char *text;
    size_t offset;
    const char *message;
};

static const struct error_case error_cases[] = {
    {"", 0, "empty template"},
    {"a/${client.authenticationName", 2, "unterminated variable"},
    {"${", 0, "unterminated variable"},
    {"a/b/${client.attributes.x", 4, "unterminated variable"},
    {"${client.authenticationname}", 0, "unknown variable '${client.authenticationname}'"},
    {"${client.attributes.}", 0, "unknown variable '${client.attributes.}'"},
    {"${client.attributes.a-b}", 0, "unknown variable"},
    {"${client.attributes.a.b}", 0, "unknown variable"},
    {"${client.attributes}", 0, "unknown variable"},
    {"${}", 0, "unknown variable '${}'"},
    {"x/${foo}", 2, "unknown variable '${foo}'"},
    {"${client.clientId}", 0, "unknown variable"},
    {"${ client.authenticationName}", 0, "unknown variable"},
    {"${client.authenticationName }", 0, "unknown variable"},
    {"${Client.authenticationName}", 0, "unknown variable"},
    {"a/${client.attributes.x/y}", 2, "unknown variable"},
    {"a/${client.attributes.x\x01}", 2, "unknown variable '${client.attributes.x?}'"},
    {"a/${client.authenticationName}/${client.attributes.}", 31, "unknown variable"},
    {"a/+${client.authenticationName}", 2, "'+' cannot share a level with a variable"},
    {"a/${client.authenticationName}#", 30, "'#' cannot share a level with a variable"},
    {"${client.attributes.a}+/b", 22, "'+' cannot share a level with a variable"},
    {"a/${client.authenticationName}/+x", 31, "'+' must be a whole level"},
    {"a+", 1, "'+' must be a whole level"},
    {"+a/b", 0, "'+' must be a whole level"},
    {"a/++", 2, "'+' must be a whole level"},
    {"a/b#", 3, "'#' must be a whole level"},
    {"a/#/b", 2, "'#' must be the last level"},
    {"#/a", 0, "'#' must be the last level"},
    {"#/", 0, "'#' must be the last level"},
    {"$share/g/a", 0, "shared subscription"},
    {"$share/${client.authenticationName}/a", 0, "shared subscription"},
    {"$share/g", 0, "shared subscription"},
    {"a\xff", 1, "invalid UTF-8"},
    {"ab\xc3", 2, "invalid UTF-8"},
    {"\xed\xa0\x80/a", 0, "invalid UTF-8"},
    {"a/\xc0\xaf", 2, "invalid UTF-8"},
};

static void test_parse_errors(void **state)
{
    (void)state;
    size_t failures = 0;
    for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
        const struct error_case *c = &error_cases[i];
        policy_error err = {.offset = 9999};
        topic_template *t = topic_template_parse(c->text, &err);
        if (t) {
            print_error("template \"%s\" parsed; expected \"%s\"\n", c->text, c->message);
            topic_template_free(t);
            failures++;
            continue;
        }
        if (!policy_error_is("template", c->text, &err, c->offset, c->message))
            failures++;
        assert_null(topic_template_parse(c->text, NULL));
    }
    assert_int_equal(failures, 0);
}

static void test_parse_limits(void **state)
{
    (void)state;
    char buf[TOPIC_TEMPLATE_MAX_LEN + 2];
    memset(buf, 'a', sizeof buf);
    buf[TOPIC_TEMPLATE_MAX_LEN] = '\0';
    topic_template *t = topic_template_parse(buf, NULL);
    assert_non_null(t);
    topic_template_free(t);
    buf[TOPIC_TEMPLATE_MAX_LEN] = 'a';
    buf[TOPIC_TEMPLATE_MAX_LEN + 1] = '\0';
    policy_error err;
    assert_null(topic_template_parse(buf, &err));
    assert_int_equal(err.offset, TOPIC_TEMPLATE_MAX_LEN);
    assert_non_null(strstr(err.message, "longer than 1024 bytes"));

    /* As many of the shortest variable as fit in 1024 bytes. */
    static const char var[] = "${client.attributes.k}/";
    size_t len = 0;
    while (len + sizeof var - 1 <= TOPIC_TEMPLATE_MAX_LEN) {
        memcpy(buf + len, var, sizeof var - 1);
        len += sizeof var - 1;
    }
    buf[len - 1] = '\0'; /* no trailing '/' */
    t = topic_template_parse(buf, &err);
    assert_non_null(t);
    const client_attr k = STR("k", "v");
    const client_view kv = {"x", &k, 1};
    char out[TOPIC_TEMPLATE_MAX_LEN];
    size_t out_len;
    assert_int_equal(topic_template_expand(t, &kv, out, sizeof out, &out_len), TEMPLATE_EXPANDED);
    assert_int_equal(out_len, 2 * (len / (sizeof var - 1)) - 1);
    topic_template_free(t);

    assert_null(topic_template_parse(NULL, &err));
    assert_non_null(strstr(err.message, "no template"));
    topic_template_free(NULL);
    assert_false(topic_template_has_variables(NULL));
    assert_null(topic_template_text(NULL));
}

/* ---- expansion */

struct expand_case {
    const char *text;
    const client_view *view;
    template_expand_result result;
    const char *expected; /* when EXPANDED */
};

static const struct expand_case expand_cases[] = {
    {"devices/${client.authenticationName}/telemetry/#", &V1, TEMPLATE_EXPANDED,
     "devices/device1/telemetry/#"},
    {"machines/${client.authenticationName}.factory1/temp", &V1, TEMPLATE_EXPANDED,
     "machines/device1.factory1/temp"},
    {"plants/${client.attributes.site}/m-${client.attributes.line}/+", &V1, TEMPLATE_EXPANDED,
     "plants/berlin/m-7/+"},
    {"${client.attributes.neg}", &V1, TEMPLATE_EXPANDED, "-3"},
    {"${client.attributes.big}/x", &V1, TEMPLATE_EXPANDED, "-9223372036854775808/x"},
    {"${client.attributes.site}${client.attributes.line}", &V1, TEMPLATE_EXPANDED, "berlin7"},
    {"$${client.authenticationName}", &V1, TEMPLATE_EXPANDED, "$device1"},
    {"alerts/#", &V1, TEMPLATE_EXPANDED, "alerts/#"},
    {"alerts/#", &NONAME, TEMPLATE_EXPANDED, "alerts/#"},
    {"$SYS/x", &NONAME, TEMPLATE_EXPANDED, "$SYS/x"},
    {"${client.attributes.uni}/x", &V1, TEMPLATE_EXPANDED, "\xc3\xbc/x"},
    {"${client.attributes.space}", &V1, TEMPLATE_EXPANDED, "a b"},
    /* A value may start a '$' level, and "$share" alone is an ordinary level. */
    {"${client.attributes.dollar}/#", &V1, TEMPLATE_EXPANDED, "$SYS/#"},
    {"${client.attributes.share}", &V1, TEMPLATE_EXPANDED, "$share"},
    {"${client.attributes.share}x/g", &V1, TEMPLATE_EXPANDED, "$sharex/g"},
    {"a/${client.attributes.share}/g/x", &V1, TEMPLATE_EXPANDED, "a/$share/g/x"},
    /* not applicable */
    {"${client.attributes.share}/g/x", &V1, TEMPLATE_NOT_APPLICABLE, NULL},
    {"$shar${client.attributes.e}/g/t", &V1, TEMPLATE_NOT_APPLICABLE, NULL},
    {"${client.attributes.missing}", &V1, TEMPLATE_NOT_APPLICABLE, NULL},
    {"a/${client.attributes.Site}", &V1, TEMPLATE_NOT_APPLICABLE, NULL},
    {"${client.attributes.arr}", &V1, TEMPLATE_NOT_APPLICABLE, NULL},
    {"${client.attributes.empty}", &V1, TEMPLATE_NOT_APPLICABLE, NULL},
    {"x/${client.attributes.empty}y", &V1, TEMPLATE_NOT_APPLICABLE, NULL},
    {"${client.attributes.slash}", &V1, TEMPLATE_NOT_APPLICABLE, NULL},
    {"${client.attributes.plus}", &V1, TEMPLATE_NOT_APPLICABLE, NULL},
    {"${client.attributes.hash}", &V1, TEMPLATE_NOT_APPLICABLE, NULL},
    {"${client.attributes.bad_utf8}", &V1, TEMPLATE_NOT_APPLICABLE, NULL},
    {"${client.attributes.null}", &V1, TEMPLATE_NOT_APPLICABLE, NULL},
    {"${client.authenticationName}", &NONAME, TEMPLATE_NOT_APPLICABLE, NULL},
    {"${client.attributes.site}", &NONAME, TEMPLATE_NOT_APPLICABLE, NULL},
    {"${client.attributes.site}/${client.attributes.missing}", &V1, TEMPLATE_NOT_APPLICABLE, NULL},
};

static void test_expand_table(void **state)
{
    (void)state;
    size_t failures = 0;
    for (size_t i = 0; i < sizeof expand_cases / sizeof expand_cases[0]; i++) {
        const struct expand_case *c = &expand_cases[i];
        topic_template *t = topic_template_parse(c->text, NULL);
        assert_non_null(t);
        char out[256];
        size_t out_len = 12345;
        template_expand_result r = topic_template_expand(t, c->view, out, sizeof out, &out_len);
        bool ok = r == c->result;
        if (ok && r == TEMPLATE_EXPANDED)
            ok = strcmp(out, c->expected) == 0 && out_len == strlen(out) &&
                 mqtt_topic_filter_check(mqtt_bytes_from_cstr(out)) == 0;
        if (ok && r != TEMPLATE_EXPANDED)
            ok = out[0] == '\0';
        if (!ok) {
            print_error("template \"%s\": expected %d \"%s\", got %d \"%s\"\n", c->text, c->result,
                        c->expected ? c->expected : "", r, out);
            failures++;
        }
        topic_template_free(t);
    }
    assert_int_equal(failures, 0);
}

static void test_expand_too_long(void **state)
{
    (void)state;
    topic_template *t = topic_template_parse("devices/${client.authenticationName}", NULL);
    assert_non_null(t);
    /* "devices/device1" is 15 bytes: 16 with its NUL fit, 15 do not, and
     * nothing is written past out_size. */
    char out[32];
    size_t len = 0;
    memset(out, '@', sizeof out);
    assert_int_equal(topic_template_expand(t, &V1, out, 15, &len), TEMPLATE_TOO_LONG);
    assert_int_equal(len, 15);
    assert_int_equal(out[0], '\0');
    for (size_t i = 15; i < sizeof out; i++)
        assert_int_equal(out[i], '@');
    assert_int_equal(topic_template_expand(t, &V1, out, 16, &len), TEMPLATE_EXPANDED);
    assert_string_equal(out, "devices/device1");
    assert_int_equal(len, 15);
    assert_int_equal(out[16], '@');
    /* Sizing without a buffer, and no length wanted. */
    assert_int_equal(topic_template_expand(t, &V1, NULL, 0, &len), TEMPLATE_TOO_LONG);
    assert_int_equal(len, 15);
    assert_int_equal(topic_template_expand(t, &V1, out, 1, NULL), TEMPLATE_TOO_LONG);
    assert_int_equal(topic_template_expand(t, &V1, out, sizeof out, NULL), TEMPLATE_EXPANDED);
    /* A literal-only template, too. */
    topic_template_free(t);
    t = topic_template_parse("alerts/#", NULL);
    assert_int_equal(topic_template_expand(t, &NONAME, out, 8, &len), TEMPLATE_TOO_LONG);
    assert_int_equal(len, 8);
    assert_int_equal(topic_template_expand(t, &NONAME, out, 9, &len), TEMPLATE_EXPANDED);
    topic_template_free(t);

    /* NOT_APPLICABLE wins over TOO_LONG, wherever the variable is. */
    t = topic_template_parse("aaaaaaaaaa/${client.attributes.missing}", NULL);
    assert_int_equal(topic_template_expand(t, &V1, out, 2, &len), TEMPLATE_NOT_APPLICABLE);
    assert_int_equal(topic_template_expand(t, NULL, out, sizeof out, &len), TEMPLATE_NOT_APPLICABLE);
    topic_template_free(t);
    assert_int_equal(topic_template_expand(NULL, &V1, out, sizeof out, &len), TEMPLATE_NOT_APPLICABLE);

    /* Past MQTT's 65535 bytes no buffer is big enough. */
    enum { BIG = 70000 };
    char *value = malloc(BIG + 1);
    char *big_out = malloc(2 * BIG);
    assert_non_null(value);
    assert_non_null(big_out);
    memset(value, 'v', BIG);
    value[BIG] = '\0';
    const client_attr big = STR("big", value);
    const client_view bv = {"x", &big, 1};
    t = topic_template_parse("${client.attributes.big}", NULL);
    assert_int_equal(topic_template_expand(t, &bv, big_out, 2 * BIG, &len), TEMPLATE_TOO_LONG);
    assert_int_equal(len, BIG);
    value[65535] = '\0';
    assert_int_equal(topic_template_expand(t, &bv, big_out, 2 * BIG, &len), TEMPLATE_EXPANDED);
    assert_int_equal(len, 65535);
    topic_template_free(t);
    free(value);
    free(big_out);
}

/* ---- exhaustive cross-check of short templates */

/* A piece of template: its text, its form with each variable replaced by
 * one character, and its expansion for V1. */
struct piece {
    const char *text, *placeholder, *expanded;
};

static const struct piece pieces[] = {
    {"a", "a", "a"},
    {"/", "/", "/"},
    {"+", "+", "+"},
    {"#", "#", "#"},
    {"$", "$", "$"},
    {"}", "}", "}"},
    {"${client.authenticationName}", "v", "device1"},
    {"${client.attributes.line}", "v", "7"},
};
#define N_PIECES (sizeof pieces / sizeof pieces[0])

/* The rules written down independently: a level never mixes a variable
 * with a wildcard, the placeholder form is a valid, non-shared filter. */
static bool oracle_valid(const char *text, const char *placeholder)
{
    mqtt_bytes ph = mqtt_bytes_from_cstr(placeholder);
    if (mqtt_topic_filter_check(ph) != 0 || mqtt_topic_shared_split(ph, NULL, NULL) != 0)
        return false;
    mqtt_bytes whole = mqtt_bytes_from_cstr(text), level;
    uint32_t pos = 0;
    while (mqtt_topic_level_next(whole, &pos, &level)) {
        bool var = memmem(level.data, level.len, "${", 2) != NULL;
        if (var && (memchr(level.data, '+', level.len) || memchr(level.data, '#', level.len)))
            return false;
    }
    return true;
}

static void test_exhaustive_short_templates(void **state)
{
    (void)state;
    size_t checked = 0, valid = 0;
    for (size_t n = 1; n <= 4; n++) {
        size_t combos = 1;
        for (size_t i = 0; i < n; i++)
            combos *= N_PIECES;
        for (size_t k = 0; k < combos; k++) {
            char text[256] = "", ph[64] = "", exp[64] = "";
            for (size_t i = 0, rest = k; i < n; i++, rest /= N_PIECES) {
                const struct piece *p = &pieces[rest % N_PIECES];
                strcat(text, p->text);
                strcat(ph, p->placeholder);
                strcat(exp, p->expanded);
            }
            policy_error err;
            topic_template *t = topic_template_parse(text, &err);
            bool expected = oracle_valid(text, ph);
            if ((t != NULL) != expected)
                fail_msg("template \"%s\": oracle says %d, parser %s", text, expected,
                         t ? "accepts" : err.message);
            checked++;
            if (!t)
                continue;
            valid++;
            char out[256];
            size_t len;
            assert_int_equal(topic_template_expand(t, &V1, out, sizeof out, &len), TEMPLATE_EXPANDED);
            assert_string_equal(out, exp);
            topic_template_free(t);
        }
    }
    assert_true(checked > 4000);
    assert_true(valid > 300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_limits),    cmocka_unit_test(test_expand_table),
        cmocka_unit_test(test_expand_too_long), cmocka_unit_test(test_exhaustive_short_templates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
