/* Client-group queries (shared/policy/client_query.c): parsing, every parse
 * error with its offset, the limits, and evaluation truth tables over a few
 * fixed clients. Failing rows are printed one by one before the test fails,
 * so one run shows them all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy_test_util.h"

#include "policy/client_query.h"

/* ---- the clients every evaluation row is checked against */

static const char *const s_sensors[] = {"motion", "humidity"};
static const char *const s_nums[] = {"1", "10", "x"};
static const char *const g_sensors[] = {"temperature"};

#define STR(k, v)                                                                                            \
    {                                                                                                        \
        .key = (k), .type = CLIENT_ATTR_STRING, .str = (v)                                                   \
    }
#define INT(k, v)                                                                                            \
    {                                                                                                        \
        .key = (k), .type = CLIENT_ATTR_INT, .num = (v)                                                      \
    }
#define ARR(k, a, n)                                                                                         \
    {                                                                                                        \
        .key = (k), .type = CLIENT_ATTR_STRING_ARRAY, .items = (a), .n_items = (n)                           \
    }

static const client_attr sensor_attrs[] = {
    STR("type", "sensor"),
    INT("floor", 3),
    ARR("sensors", s_sensors, 2),
    STR("code", "42"),
    STR("zip", "007"),
    INT("level", -5),
    ARR("empty", NULL, 0),
    INT("big", 9223372036854775807LL),
    INT("small", (-9223372036854775807LL - 1)),
    STR("Type", "Upper"),
    STR("q", "it's"),
    STR("dq", "say \"hi\""),
    ARR("nums", s_nums, 3),
    STR("neg", "-12"),
};
static const client_attr gateway_attrs[] = {
    STR("type", "gateway"), INT("floor", 5),     ARR("sensors", g_sensors, 1),
    STR("code", "abc"),     STR("floor_s", "5"),
};

/* S: a sensor, G: a gateway, E: a client without attributes, N: not even an
 * authentication name. */
static const client_view S = {"client1", sensor_attrs, sizeof sensor_attrs / sizeof sensor_attrs[0]};
static const client_view G = {"client2", gateway_attrs, sizeof gateway_attrs / sizeof gateway_attrs[0]};
static const client_view E = {"client3", NULL, 0};
static const client_view N = {NULL, NULL, 0};

/* ---- evaluation */

struct eval_case {
    const char *query;
    bool s, g, e, n; /* expected for S, G, E, N */
};

static const struct eval_case eval_cases[] = {
    /* the examples Event Grid documents */
    {"attributes.type = 'sensor'", true, false, false, false},
    {"(attributes.sensors = \"motion\" or attributes.sensors = \"humidity\") or attributes.type = "
     "\"home-sensors\"",
     true, false, false, false},
    {"attributes.sensors IN [\"motion\", \"humidity\", \"temperature\"] and attributes.floor <= 5", true,
     true, false, false},
    {"authenticationName IN ['client1', 'client2']", true, true, false, false},
    {"attributes.type IN ['sensor', 'gateway'] AND attributes.floor = 3", true, false, false, false},
    {"NOT attributes.type = 'sensor'", false, true, true, true},
    {"attributes.type NOT IN ['a','b']", true, true, false, false},
    /* negated operators: false on a missing attribute, NOT flips that */
    {"attributes.type <> 'sensor'", false, true, false, false},
    {"attributes.type != 'sensor'", false, true, false, false},
    {"attributes.type NOT IN ['sensor']", false, true, false, false},
    {"attributes.nope <> 'x'", false, false, false, false},
    {"attributes.nope NOT IN ['x']", false, false, false, false},
    {"NOT attributes.nope = 'x'", true, true, true, true},
    {"NOT attributes.nope NOT IN ['x']", true, true, true, true},
    {"NOT attributes.type NOT IN ['sensor']", true, false, true, true},
    /* authenticationName, and clients without one */
    {"authenticationName = 'client1'", true, false, false, false},
    {"authenticationName <> 'client1'", false, true, true, false},
    {"NOT authenticationName = 'client1'", false, true, true, true},
    {"authenticationName = 'CLIENT1'", false, false, false, false},
    {"authenticationName NOT IN ['client1', 'client3']", false, true, false, false},
    /* string arrays: some element for '=' and IN, none for the negations */
    {"attributes.sensors = 'humidity'", true, false, false, false},
    {"attributes.sensors = 'temperature'", false, true, false, false},
    {"attributes.sensors <> 'humidity'", false, true, false, false},
    {"attributes.sensors != 'nothing'", true, true, false, false},
    {"attributes.sensors IN ['x', 'motion']", true, false, false, false},
    {"attributes.sensors NOT IN ['motion']", false, true, false, false},
    {"attributes.sensors NOT IN ['motion', 'humidity', 'temperature']", false, false, false, false},
    {"attributes.empty = 'x'", false, false, false, false},
    {"attributes.empty <> 'x'", true, false, false, false},
    {"attributes.empty NOT IN ['x']", true, false, false, false},
    {"attributes.empty IN ['x']", false, false, false, false},
    {"attributes.nums > 5", true, false, false, false},
    {"attributes.nums < 1", false, false, false, false},
    {"attributes.nums = 10", true, false, false, false},
    /* integers against strings: equal when the string is the canonical form */
    {"attributes.code = 42", true, false, false, false},
    {"attributes.code = '42'", true, false, false, false},
    {"attributes.code = 042", true, false, false, false},
    {"attributes.floor = '3'", true, false, false, false},
    {"attributes.floor = '03'", false, false, false, false},
    {"attributes.floor = '+3'", false, false, false, false},
    {"attributes.floor = 3", true, false, false, false},
    {"attributes.floor <> '3'", false, true, false, false},
    {"attributes.zip = 7", false, false, false, false},
    {"attributes.zip = '007'", true, false, false, false},
    {"attributes.zip > 0", false, false, false, false},
    {"attributes.code > 41", true, false, false, false},
    {"attributes.code < 100", true, false, false, false},
    {"attributes.neg = -12", true, false, false, false},
    {"attributes.neg < -11", true, false, false, false},
    {"attributes.floor_s >= 5", false, true, false, false},
    {"attributes.floor_s = 5", false, true, false, false},
    {"attributes.type > 1", false, false, false, false},
    {"attributes.type <> 5", true, true, false, false},
    {"attributes.floor IN [1, 2, 3]", true, false, false, false},
    {"attributes.floor IN ['3', 'x']", true, false, false, false},
    {"attributes.code IN [41, 42]", true, false, false, false},
    {"attributes.floor IN ['a', 5]", false, true, false, false},
    /* relational operators and the 64-bit edges */
    {"attributes.floor < 4", true, false, false, false},
    {"attributes.floor < 3", false, false, false, false},
    {"attributes.floor <= 3", true, false, false, false},
    {"attributes.floor > 3", false, true, false, false},
    {"attributes.floor >= 3", true, true, false, false},
    {"attributes.floor >= 6", false, false, false, false},
    {"attributes.level < 0", true, false, false, false},
    {"attributes.level = -5", true, false, false, false},
    {"attributes.level > -6", true, false, false, false},
    {"attributes.big = 9223372036854775807", true, false, false, false},
    {"attributes.big > 9223372036854775806", true, false, false, false},
    {"attributes.small = -9223372036854775808", true, false, false, false},
    {"attributes.small < -9223372036854775807", true, false, false, false},
    {"attributes.floor >= -9223372036854775808", true, true, false, false},
    {"attributes.floor = -0", false, false, false, false},
    {"attributes.level = '-05'", false, false, false, false},
    /* case: keys and values are exact, keywords and operand names are not */
    {"attributes.type = 'Sensor'", false, false, false, false},
    {"attributes.Type = 'Upper'", true, false, false, false},
    {"attributes.TYPE = 'sensor'", false, false, false, false},
    {"attributes.type = 'sensor' and not attributes.floor > 3", true, false, false, false},
    {"Attributes.type = 'sensor'", true, false, false, false},
    {"AUTHENTICATIONNAME = 'client1'", true, false, false, false},
    {"attributes.type in ['sensor'] Or attributes.type NoT iN ['sensor']", true, true, false, false},
    /* precedence: NOT > AND > OR */
    {"attributes.type = 'gateway' OR attributes.type = 'sensor' AND attributes.floor = 3", true, true, false,
     false},
    {"attributes.type = 'sensor' AND attributes.floor = 3 OR attributes.type = 'gateway'", true, true, false,
     false},
    {"(attributes.type = 'gateway' OR attributes.type = 'sensor') AND attributes.floor = 3", true, false,
     false, false},
    {"NOT attributes.type = 'gateway' AND attributes.floor = 3", true, false, false, false},
    {"NOT (attributes.type = 'gateway' AND attributes.floor = 3)", true, true, true, true},
    {"NOT (attributes.type = 'sensor' OR attributes.floor = 5)", false, false, true, true},
    {"NOT NOT attributes.type = 'sensor'", true, false, false, false},
    {"NOT NOT NOT attributes.type = 'sensor'", false, true, true, true},
    {"attributes.floor = 1 OR attributes.floor = 2 OR attributes.floor = 3 OR attributes.floor = 4", true,
     false, false, false},
    {"attributes.floor > 0 AND attributes.floor < 10 AND attributes.type = 'gateway'", false, true, false,
     false},
    {"((attributes.type = 'sensor'))", true, false, false, false},
    {"(NOT (attributes.type = 'sensor')) AND (authenticationName = 'client3' OR authenticationName = "
     "'client2')",
     false, true, true, false},
    /* strings: both quotes, doubled quotes, spacing */
    {"attributes.q = 'it''s'", true, false, false, false},
    {"attributes.q = \"it's\"", true, false, false, false},
    {"attributes.dq = \"say \"\"hi\"\"\"", true, false, false, false},
    {"attributes.dq = 'say \"hi\"'", true, false, false, false},
    {"attributes.type = ''", false, false, false, false},
    {"attributes.type = 'sensor '", false, false, false, false},
    {"\tattributes.type\n=\r'sensor'  ", true, false, false, false},
    {"attributes.type='sensor'AND(attributes.floor=3)", true, false, false, false},
    {"attributes.type IN['sensor','x']", true, false, false, false},
};

static bool eval_text(const char *text, const client_view *c, bool *ok)
{
    policy_error err = {0};
    client_query *q = client_query_parse(text, &err);
    *ok = q != NULL;
    if (!q) {
        print_error("query \"%s\" does not parse: %s\n", text, err.message);
        return false;
    }
    bool r = client_query_matches(q, c);
    client_query_free(q);
    return r;
}

static void test_eval_table(void **state)
{
    (void)state;
    size_t failures = 0;
    const client_view *views[] = {&S, &G, &E, &N};
    const char *names = "SGEN";
    for (size_t i = 0; i < sizeof eval_cases / sizeof eval_cases[0]; i++) {
        const struct eval_case *c = &eval_cases[i];
        bool expected[] = {c->s, c->g, c->e, c->n};
        for (size_t v = 0; v < 4; v++) {
            bool ok;
            bool got = eval_text(c->query, views[v], &ok);
            if (!ok || got != expected[v]) {
                print_error("query \"%s\" on client %c: expected %d, got %d\n", c->query, names[v],
                            expected[v], got);
                failures++;
            }
            if (!ok)
                break;
        }
    }
    assert_int_equal(failures, 0);
}

/* ---- parse errors */

struct error_case {
    const char *query;
    size_t offset;
    const char *message; /* a substring of the message */
};

static const struct error_case error_cases[] = {
    {"", 0, "empty query"},
    {"  \t\n ", 0, "empty query"},
    {"attributes.type =", 17, "expected a value after '='"},
    {"attributes.type = ", 18, "expected a value after '='"},
    {"attributes.type = AND", 18, "expected a value after '='"},
    {"attributes.a == 1", 14, "expected a value after '='"},
    {"attributes.a => 1", 14, "expected a value after '='"},
    {"attributes.a = [1]", 15, "expected a value after '='"},
    {"attributes.a = attributes.b", 15, "expected a value after '='"},
    {"attributes.a <> ", 16, "expected a value after '<>'"},
    {"attributes.a != x", 16, "expected a value after '!='"},
    {"attributes.a <=", 15, "expected a value after '<='"},
    {"attributes.type", 15, "expected an operator"},
    {"attributes.a ! 1", 13, "expected an operator"},
    {"attributes.a-b = 1", 12, "expected an operator"},
    {"attributes.a.b = 1", 12, "expected an operator"},
    {"attributes.a LIKE 'x'", 13, "expected an operator"},
    {"authenticationName", 18, "expected an operator"},
    {"attributes.a = 1 AND attributes.b", 33, "expected an operator"},
    {"attributes", 10, "expected '.' and an attribute key"},
    {"attributes type = 1", 10, "expected '.' and an attribute key"},
    {"attributes .type = 1", 10, "expected '.' and an attribute key"},
    {"attributes. = 1", 11, "expected an attribute key"},
    {"attributes.-a = 1", 11, "expected an attribute key"},
    {"foo = 1", 0, "expected attributes.KEY, authenticationName, NOT or '('"},
    {"authenticationNameX = 1", 0, "expected attributes.KEY"},
    {"attribute.a = 1", 0, "expected attributes.KEY"},
    {"'x' = attributes.a", 0, "expected attributes.KEY"},
    {"5 = 5", 0, "expected attributes.KEY"},
    {"AND attributes.a = 1", 0, "expected attributes.KEY"},
    {"attributes.a = 1 AND", 20, "expected attributes.KEY"},
    {"attributes.a = 1 OR OR attributes.b = 1", 20, "expected attributes.KEY"},
    {"attributes.a = 1 AND NOT", 24, "expected attributes.KEY"},
    {"attributes.a = 1 AND (", 22, "expected attributes.KEY"},
    {"()", 1, "expected attributes.KEY"},
    {"NOT", 3, "expected attributes.KEY"},
    {"NOT NOT", 7, "expected attributes.KEY"},
    {"attributes.a = 'x", 15, "unterminated string"},
    {"attributes.a = 'x''", 15, "unterminated string"},
    {"attributes.a = \"x'", 15, "unterminated string"},
    {"attributes.a IN ['a', 'b]", 22, "unterminated string"},
    {"attributes.a = 99999999999999999999", 15, "out of the 64-bit range"},
    {"attributes.a = 9223372036854775808", 15, "out of the 64-bit range"},
    {"attributes.a = -9223372036854775809", 15, "out of the 64-bit range"},
    {"attributes.a = -", 15, "expected digits after '-'"},
    {"attributes.a = - 1", 15, "expected digits after '-'"},
    {"attributes.a = 1.5", 15, "invalid integer"},
    {"attributes.a = 12abc", 15, "invalid integer"},
    {"attributes.a = 1and attributes.b = 2", 15, "invalid integer"},
    {"attributes.a < 'x'", 15, "expected an integer after '<'"},
    {"attributes.a >= \"5\"", 16, "expected an integer after '>='"},
    {"attributes.a > '5'", 15, "expected an integer after '>'"},
    {"attributes.a <= ''", 16, "expected an integer after '<='"},
    {"attributes.a IN", 15, "expected '[' after IN"},
    {"attributes.a IN 'x'", 16, "expected '[' after IN"},
    {"attributes.a IN ('x')", 16, "expected '[' after IN"},
    {"attributes.a NOT IN 1", 20, "expected '[' after NOT IN"},
    {"attributes.a IN []", 17, "expected a value in the list"},
    {"attributes.a IN [ ]", 18, "expected a value in the list"},
    {"attributes.a IN [1,]", 19, "expected a value in the list"},
    {"attributes.a IN [,1]", 17, "expected a value in the list"},
    {"attributes.a IN [1 2]", 19, "expected ',' or ']'"},
    {"attributes.a IN [1", 18, "expected ',' or ']'"},
    {"attributes.a IN [1;2]", 18, "expected ',' or ']'"},
    {"attributes.a NOT [1]", 17, "expected IN after NOT"},
    {"attributes.a NOT", 16, "expected IN after NOT"},
    {"attributes.a NOT = 1", 17, "expected IN after NOT"},
    {"attributes.a = 1 attributes.b = 2", 17, "expected AND, OR or the end of the query"},
    {"attributes.a = 1)", 16, "expected AND, OR or the end of the query"},
    {"attributes.a = 1 ANDattributes.b = 2", 17, "expected AND, OR or the end of the query"},
    {"attributes.a = 'x' \x01", 19, "expected AND, OR or the end of the query"},
    {"attributes.a = 1 NOT attributes.b = 2", 17, "expected AND, OR or the end of the query"},
    {"(attributes.a = 1", 17, "expected AND, OR or ')'"},
    {"(attributes.a = 1 attributes.b = 2)", 18, "expected AND, OR or ')'"},
    {"((attributes.a = 1)", 19, "expected AND, OR or ')'"},
};

static void test_parse_errors(void **state)
{
    (void)state;
    size_t failures = 0;
    for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
        const struct error_case *c = &error_cases[i];
        policy_error err = {.offset = 9999};
        client_query *q = client_query_parse(c->query, &err);
        if (q) {
            print_error("query \"%s\" parsed; expected \"%s\" at %zu\n", c->query, c->message, c->offset);
            client_query_free(q);
            failures++;
            continue;
        }
        if (!policy_error_is("query", c->query, &err, c->offset, c->message))
            failures++;
        /* The error report is optional. */
        assert_null(client_query_parse(c->query, NULL));
    }
    assert_int_equal(failures, 0);
}

static void test_error_message_format(void **state)
{
    (void)state;
    policy_error err;
    assert_null(client_query_parse("attributes.type =", &err));
    assert_string_equal(err.message, "expected a value after '=' at offset 17");
    assert_int_equal(err.offset, 17);
    assert_null(client_query_parse(NULL, &err));
    assert_non_null(strstr(err.message, "no query"));
}

/* ---- limits */

/* Fills buf with `n` copies of `open`, the comparison, then `n` of `close`. */
static void nest(char *buf, size_t cap, int n, const char *open, const char *close)
{
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s", open);
    len += (size_t)snprintf(buf + len, cap - len, "attributes.type = 'sensor'");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s", close);
}

static void expect_nesting(const char *text, bool ok, size_t error_offset, bool value_on_s)
{
    policy_error err;
    client_query *q = client_query_parse(text, &err);
    if (!ok) {
        assert_null(q);
        assert_int_equal(err.offset, error_offset);
        assert_non_null(strstr(err.message, "nesting deeper than 32"));
        return;
    }
    assert_non_null(q);
    assert_int_equal(client_query_matches(q, &S), value_on_s);
    client_query_free(q);
}

static void test_depth_limit(void **state)
{
    (void)state;
    char buf[CLIENT_QUERY_MAX_LEN];
    nest(buf, sizeof buf, 32, "(", ")");
    expect_nesting(buf, true, 0, true);
    nest(buf, sizeof buf, 33, "(", ")");
    expect_nesting(buf, false, 32, false);
    nest(buf, sizeof buf, 32, "NOT ", "");
    expect_nesting(buf, true, 0, true);
    nest(buf, sizeof buf, 33, "NOT ", "");
    expect_nesting(buf, false, 128, false);
    nest(buf, sizeof buf, 31, "NOT ", "");
    expect_nesting(buf, true, 0, false);
    /* '(' and NOT share the budget: 16 of each is 32 levels, 17 is 34. */
    nest(buf, sizeof buf, 16, "NOT (", ")");
    expect_nesting(buf, true, 0, true);
    nest(buf, sizeof buf, 17, "NOT (", ")");
    expect_nesting(buf, false, 5 * 16, false);
    /* Depth is nesting, not length: a long flat chain is fine. */
    size_t len = 0;
    for (int i = 0; i < 60; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%sattributes.floor = %d", i ? " OR " : "", i);
    expect_nesting(buf, true, 0, true);
}

static void test_length_limit(void **state)
{
    (void)state;
    char buf[CLIENT_QUERY_MAX_LEN + 2];
    const char *base = "attributes.type = 'sensor'";
    /* Exactly 2048 bytes (trailing blanks are part of the text) parses. */
    memset(buf, ' ', sizeof buf);
    memcpy(buf, base, strlen(base));
    buf[CLIENT_QUERY_MAX_LEN] = '\0';
    client_query *q = client_query_parse(buf, NULL);
    assert_non_null(q);
    assert_true(client_query_matches(q, &S));
    client_query_free(q);
    /* One more byte does not, wherever the excess is. */
    buf[CLIENT_QUERY_MAX_LEN] = ' ';
    buf[CLIENT_QUERY_MAX_LEN + 1] = '\0';
    policy_error err;
    assert_null(client_query_parse(buf, &err));
    assert_int_equal(err.offset, CLIENT_QUERY_MAX_LEN);
    assert_non_null(strstr(err.message, "longer than 2048 bytes"));
    /* A long string literal counts too. */
    int n = snprintf(buf, sizeof buf, "attributes.type = '");
    memset(buf + n, 'x', sizeof buf - (size_t)n - 2);
    buf[sizeof buf - 2] = '\'';
    buf[sizeof buf - 1] = '\0';
    assert_null(client_query_parse(buf, &err));
    assert_int_equal(err.offset, CLIENT_QUERY_MAX_LEN);
}

/* IN lists: 100 values are allowed, the 101st is an error at its offset,
 * and every value of a long list is compared. */
static void test_list_limit(void **state)
{
    (void)state;
    char buf[1024];
    size_t len = (size_t)snprintf(buf, sizeof buf, "attributes.floor IN [");
    size_t offsets[101];
    for (int i = 0; i < 101; i++) {
        if (i)
            len += (size_t)snprintf(buf + len, sizeof buf - len, ",");
        offsets[i] = len;
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%d", 100 - i);
    }
    snprintf(buf + len, sizeof buf - len, "]");
    policy_error err;
    assert_null(client_query_parse(buf, &err));
    assert_int_equal(err.offset, offsets[100]);
    assert_non_null(strstr(err.message, "at most 100 values"));
    /* Cut the 101st value: the list ends with 1, ..., and the value 3 is
     * the 98th. */
    snprintf(buf + offsets[100] - 1, sizeof buf - offsets[100] + 1, "]");
    client_query *q = client_query_parse(buf, &err);
    assert_non_null(q);
    assert_true(client_query_matches(q, &S));
    assert_true(client_query_matches(q, &G));
    assert_false(client_query_matches(q, &E));
    client_query_free(q);
}

/* ---- odds and ends */

static void test_null_and_reuse(void **state)
{
    (void)state;
    client_query_free(NULL);
    client_query *q = client_query_parse("attributes.type = 'sensor'", NULL);
    assert_non_null(q);
    assert_false(client_query_matches(q, NULL));
    assert_false(client_query_matches(NULL, &S));
    /* A compiled query does not depend on its text, and can be evaluated
     * any number of times for any client. */
    for (int i = 0; i < 3; i++) {
        assert_true(client_query_matches(q, &S));
        assert_false(client_query_matches(q, &G));
    }
    client_query_free(q);
}

/* Attributes that are malformed views: a NULL string is missing, an array
 * with NULL items skips them, duplicate keys take the first. */
static void test_odd_views(void **state)
{
    (void)state;
    static const char *const items[] = {NULL, "b"};
    const client_attr attrs[] = {
        STR("s", NULL), ARR("a", items, 2), ARR("n", NULL, 3), STR("d", "first"), STR("d", "second"),
    };
    const client_view v = {"x", attrs, 5};
    struct {
        const char *query;
        bool expected;
    } rows[] = {
        {"attributes.s = 'x'", false},      {"attributes.s <> 'x'", false}, {"attributes.a = 'b'", true},
        {"attributes.a <> 'a'", true},      {"attributes.n <> 'a'", true},  {"attributes.d = 'first'", true},
        {"attributes.d = 'second'", false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        bool ok;
        assert_int_equal(eval_text(rows[i].query, &v, &ok), rows[i].expected);
        assert_true(ok);
    }
    assert_null(client_view_find_attr(&v, "dd", 2));
    assert_null(client_view_find_attr(&v, "d", 0));
    assert_ptr_equal(client_view_find_attr(&v, "dx", 1), &attrs[3]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eval_table),           cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_error_message_format), cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_length_limit),         cmocka_unit_test(test_list_limit),
        cmocka_unit_test(test_null_and_reuse),       cmocka_unit_test(test_odd_views),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
