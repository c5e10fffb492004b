/* shared/snapshot/client_perms: the demo of SPEC.md section 1 (who may
 * publish and subscribe to what), a table of template / client / topic or
 * filter cases with the expected answer, group membership, templates a
 * client cannot fill, '$' topics, shared subscriptions, equality across
 * snapshots, a randomized cross-check of the publish trie against a plain
 * scan with mqtt_topic_matches, and the cost of a 10,000-client snapshot
 * (parse, lookups, permission builds, publish checks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "mqtt_topic.h"
#include "policy/filter_cover.h"
#include "snapshot/client_perms.h"
#include "snapshot/ns_policy.h"

#define HEAD                                                                                                 \
    "{\"schema\":1,\"namespace\":\"demo\",\"version\":3,\"settings\":{\"state\":\"Enabled\","                \
    "\"maximumSessionExpiryInHours\":1,\"maximumClientSessionsPerAuthenticationName\":1},"                   \
    "\"caCertificates\":[],"

/* The demo namespace, without its CA certificate (not needed here). */
static const char demo[] = HEAD
    "\"clients\":[{\"name\":\"device1\",\"authenticationName\":\"device1\",\"state\":\"Enabled\","
    "\"validationScheme\":\"SubjectMatchesAuthenticationName\",\"attributes\":{\"type\":\"sensor\"}},"
    "{\"name\":\"device2\",\"authenticationName\":\"device2\",\"state\":\"Enabled\",\"validationScheme\":"
    "\"ThumbprintMatch\",\"allowedThumbprints\":[\"B54DC6C18C9B228007BC4E76D33EA962BB2550E8800858AF6C599B025"
    "04083E5\"],\"attributes\":{\"type\":\"actuator\"}}],"
    "\"clientGroups\":[{\"name\":\"$all\",\"query\":null},{\"name\":\"sensors\",\"query\":\"attributes.type "
    "= "
    "'sensor'\"}],"
    "\"topicSpaces\":[{\"name\":\"alerts\",\"topicTemplates\":[\"alerts/#\"]},{\"name\":\"all-telemetry\","
    "\"topicTemplates\":[\"devices/+/telemetry/#\"]},{\"name\":\"own-telemetry\",\"topicTemplates\":"
    "[\"devices/${client.authenticationName}/telemetry/#\"]}],"
    "\"permissionBindings\":[{\"name\":\"alerts-pub\",\"clientGroupName\":\"$all\",\"topicSpaceName\":"
    "\"alerts\",\"permission\":\"Publisher\"},{\"name\":\"alerts-sub\",\"clientGroupName\":\"$all\","
    "\"topicSpaceName\":\"alerts\",\"permission\":\"Subscriber\"},{\"name\":\"all-telemetry-sub\","
    "\"clientGroupName\":\"$all\",\"topicSpaceName\":\"all-telemetry\",\"permission\":\"Subscriber\"},"
    "{\"name\":\"sensors-own-telemetry\",\"clientGroupName\":\"sensors\",\"topicSpaceName\":"
    "\"own-telemetry\",\"permission\":\"Publisher\"}]}";

/* s with its first `from` replaced by `to`; the caller frees it. */
static char *replace(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    assert_non_null(at);
    size_t len = strlen(s) - strlen(from) + strlen(to) + 1;
    char *out = malloc(len);
    snprintf(out, len, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
    return out;
}

static ns_policy *parse(const char *text)
{
    char err[NS_POLICY_ERR_SIZE];
    ns_policy *p = ns_policy_parse(text, strlen(text), err, sizeof err);
    if (!p)
        fail_msg("snapshot refused: %s\n%s", err, text);
    return p;
}

static client_perms *perms_of(const ns_policy *p, const char *auth)
{
    const ns_client *c = ns_policy_find_client(p, auth, strlen(auth));
    assert_non_null(c);
    client_perms *cp = client_perms_build(p, c);
    assert_non_null(cp);
    return cp;
}

static bool pub(const client_perms *cp, const char *topic)
{
    return client_perms_can_publish(cp, topic, strlen(topic));
}

static bool sub(const client_perms *cp, const char *filter)
{
    return client_perms_can_subscribe(cp, filter, strlen(filter));
}

static bool recv_(const client_perms *cp, const char *topic)
{
    return client_perms_can_receive(cp, topic, strlen(topic));
}

static void test_demo(void **state)
{
    (void)state;
    ns_policy *p = parse(demo);
    client_perms *d1 = perms_of(p, "device1"), *d2 = perms_of(p, "device2");

    assert_true(pub(d1, "devices/device1/telemetry/x"));
    assert_true(pub(d1, "devices/device1/telemetry"));
    assert_false(pub(d1, "devices/device2/telemetry"));
    assert_false(pub(d1, "devices/device2/telemetry/x"));
    assert_false(pub(d2, "devices/device2/telemetry/x"));
    assert_false(pub(d2, "devices/device1/telemetry/x"));
    for (int i = 0; i < 2; i++) {
        client_perms *cp = i ? d2 : d1;
        assert_true(sub(cp, "devices/+/telemetry/#"));
        assert_true(sub(cp, "devices/device1/telemetry/x"));
        assert_true(sub(cp, "alerts/#"));
        assert_true(sub(cp, "$share/team/alerts/fire"));
        assert_false(sub(cp, "#"));
        assert_false(sub(cp, "devices/#"));
        assert_true(pub(cp, "alerts/fire"));
        assert_true(pub(cp, "alerts"));
        assert_false(pub(cp, "alert"));
        assert_true(recv_(cp, "devices/device2/telemetry/t"));
        assert_false(recv_(cp, "devices/device2/status"));
    }

    assert_int_equal(client_perms_count(d1, true), 2);
    assert_string_equal(client_perms_filter(d1, true, 0), "alerts/#");
    assert_string_equal(client_perms_filter(d1, true, 1), "devices/device1/telemetry/#");
    assert_null(client_perms_filter(d1, true, 2));
    assert_int_equal(client_perms_count(d1, false), 2);
    assert_int_equal(client_perms_count(d2, true), 1);
    assert_false(client_perms_equal(d1, d2));

    /* Built again (as for the next snapshot): equal. */
    client_perms *again = perms_of(p, "DEVICE1");
    assert_true(client_perms_equal(d1, again));
    assert_true(client_perms_equal(NULL, NULL));
    assert_false(client_perms_equal(d1, NULL));
    client_perms_free(again);
    client_perms_free(d1);
    client_perms_free(d2);
    ns_policy_free(p);
}

/* ---- a table of cases. Each builds a namespace with one client ("Dev1",
 * with the given attributes) and one topic space of the given templates,
 * bound to $all both as Publisher and as Subscriber. */

typedef struct perm_case {
    const char *templates; /* JSON array */
    const char *attrs;     /* JSON object */
    char op;               /* 'p' publish, 's' subscribe, 'r' receive */
    const char *subject;   /* topic name or filter */
    bool expected;
} perm_case;

#define OWN "[\"devices/${client.authenticationName}/telemetry/#\"]"
#define NOATTR "{}"
#define SITE                                                                                                 \
    "{\"site\": \"berlin\", \"floor\": 3, \"line\": -7, \"tags\": [\"x\"], \"path\": \"a/b\", \"e\": \"\"}"

static const perm_case cases[] = {
    /* the authentication name, as the snapshot spells it */
    {OWN, NOATTR, 'p', "devices/Dev1/telemetry", true},
    {OWN, NOATTR, 'p', "devices/Dev1/telemetry/x/y", true},
    {OWN, NOATTR, 'p', "devices/dev1/telemetry/x", false},
    {OWN, NOATTR, 'p', "devices/Dev2/telemetry/x", false},
    {OWN, NOATTR, 'p', "devices/Dev1", false},
    {OWN, NOATTR, 'p', "devices/Dev1/telemetryx", false},
    {OWN, NOATTR, 's', "devices/Dev1/telemetry/#", true},
    {OWN, NOATTR, 's', "devices/Dev1/telemetry/+", true},
    {OWN, NOATTR, 's', "devices/Dev1/telemetry", true},
    {OWN, NOATTR, 's', "devices/+/telemetry/#", false},
    {OWN, NOATTR, 's', "devices/Dev1/#", false},
    {OWN, NOATTR, 's', "$share/g/devices/Dev1/telemetry/x", true},
    {OWN, NOATTR, 's', "$share/g/devices/Dev2/telemetry/x", false},
    {OWN, NOATTR, 's', "$share//devices/Dev1/telemetry/x", false},
    {OWN, NOATTR, 's', "$share/g", false},
    {OWN, NOATTR, 's', "devices/Dev1/telemetry/#/x", false},
    {OWN, NOATTR, 's', "", false},
    {OWN, NOATTR, 'r', "devices/Dev1/telemetry/x", true},
    {OWN, NOATTR, 'r', "devices/Dev2/telemetry/x", false},
    {"[\"${client.authenticationName}\"]", NOATTR, 'p', "Dev1", true},
    {"[\"${client.authenticationName}\"]", NOATTR, 'p', "Dev1/x", false},
    {"[\"${client.authenticationName}\"]", NOATTR, 'p', "DEV1", false},
    /* '#' and '$' topics */
    {"[\"#\"]", NOATTR, 'p', "a", true},
    {"[\"#\"]", NOATTR, 'p', "/a", true},
    {"[\"#\"]", NOATTR, 'p', "$SYS/x", false},
    {"[\"#\"]", NOATTR, 'p', "$", false},
    {"[\"#\"]", NOATTR, 'p', "", false},
    {"[\"#\"]", NOATTR, 's', "#", true},
    {"[\"#\"]", NOATTR, 's', "+/x", true},
    {"[\"#\"]", NOATTR, 's', "$SYS/#", false},
    {"[\"#\"]", NOATTR, 's', "$share/g/#", true},
    {"[\"#\"]", NOATTR, 's', "$share/g/$SYS/x", false},
    {"[\"#\"]", NOATTR, 'r', "$SYS/x", false},
    {"[\"$SYS/#\"]", NOATTR, 'p', "$SYS/broker/load", true},
    {"[\"$SYS/#\"]", NOATTR, 'p', "$SYS", true},
    {"[\"$SYS/#\"]", NOATTR, 'p', "$sys/x", false},
    {"[\"$SYS/#\"]", NOATTR, 's', "$SYS/+", true},
    {"[\"$SYS/#\"]", NOATTR, 's', "#", false},
    {"[\"$SYS/#\", \"#\"]", NOATTR, 'p', "$SYS/x", true},
    {"[\"+/#\"]", NOATTR, 'p', "$x/y", false},
    {"[\"+/#\"]", NOATTR, 'p', "x", true},
    {"[\"+/#\"]", NOATTR, 's', "#", true},
    /* '+' */
    {"[\"+/+\"]", NOATTR, 'p', "a/b", true},
    {"[\"+/+\"]", NOATTR, 'p', "/", true},
    {"[\"+/+\"]", NOATTR, 'p', "a", false},
    {"[\"+/+\"]", NOATTR, 'p', "a/b/c", false},
    {"[\"+/+\"]", NOATTR, 'p', "$SYS/x", false},
    {"[\"+/+\"]", NOATTR, 's', "a/+", true},
    {"[\"+/+\"]", NOATTR, 's', "+", false},
    {"[\"+/+\"]", NOATTR, 's', "+/#", false},
    {"[\"a/+\"]", NOATTR, 'p', "a/", true},
    {"[\"a/+\"]", NOATTR, 'p', "a", false},
    {"[\"a//b\"]", NOATTR, 'p', "a//b", true},
    {"[\"a//b\"]", NOATTR, 'p', "a/b", false},
    {"[\"a//b\"]", NOATTR, 's', "a/+/b", false},
    {"[\"a/+/b\"]", NOATTR, 's', "a//b", true},
    /* several templates: the trie branches */
    {"[\"a/b\", \"a/+\", \"a/#\"]", NOATTR, 'p', "a", true},
    {"[\"a/b\", \"a/+\", \"a/#\"]", NOATTR, 'p', "a/b/c", true},
    {"[\"a/b/c\", \"a/+/d\", \"+/b/e\"]", NOATTR, 'p', "a/b/d", true},
    {"[\"a/b/c\", \"a/+/d\", \"+/b/e\"]", NOATTR, 'p', "a/b/e", true},
    {"[\"a/b/c\", \"a/+/d\", \"+/b/e\"]", NOATTR, 'p', "a/b/f", false},
    {"[\"a/b/c\", \"a/+/d\", \"+/b/e\"]", NOATTR, 'p', "a/b", false},
    {"[\"a/b/c\", \"a/+/d\", \"+/b/e\"]", NOATTR, 's', "a/+/d", true},
    {"[\"a/b/c\", \"a/+/d\", \"+/b/e\"]", NOATTR, 's', "a/+/+", false},
    {"[\"a\", \"a-x\", \"a/b\", \"ab\", \"a!\"]", NOATTR, 'p', "a", true},
    {"[\"a\", \"a-x\", \"a/b\", \"ab\", \"a!\"]", NOATTR, 'p', "a/b", true},
    {"[\"a\", \"a-x\", \"a/b\", \"ab\", \"a!\"]", NOATTR, 'p', "a-x", true},
    {"[\"a\", \"a-x\", \"a/b\", \"ab\", \"a!\"]", NOATTR, 'p', "a!", true},
    {"[\"a\", \"a-x\", \"a/b\", \"ab\", \"a!\"]", NOATTR, 'p', "a/", false},
    {"[\"a\", \"a-x\", \"a/b\", \"ab\", \"a!\"]", NOATTR, 'p', "b", false},
    {"[\"a/b/c\"]", NOATTR, 's', "a/b/c", true},
    {"[\"a/b/c\"]", NOATTR, 's', "a/b/+", false},
    {"[\"a/#\"]", NOATTR, 's', "a", true},
    /* attributes */
    {"[\"a/${client.attributes.site}/b\"]", SITE, 'p', "a/berlin/b", true},
    {"[\"a/${client.attributes.site}/b\"]", SITE, 'p', "a/paris/b", false},
    {"[\"a/${client.attributes.site}/b\"]", SITE, 's', "a/berlin/b", true},
    {"[\"a/${client.attributes.site}/b\"]", SITE, 's', "a/+/b", false},
    {"[\"a/${client.attributes.site}/b\"]", NOATTR, 'p', "a/berlin/b", false},
    {"[\"floors/${client.attributes.floor}/#\"]", SITE, 'p', "floors/3/temp", true},
    {"[\"floors/${client.attributes.floor}/#\"]", SITE, 'p', "floors/03/temp", false},
    {"[\"m-${client.attributes.line}/+\"]", SITE, 'p', "m--7/x", true},
    {"[\"m-${client.attributes.line}/+\"]", SITE, 'p', "m-7/x", false},
    {"[\"t/${client.attributes.tags}\"]", SITE, 'p', "t/x", false},              /* arrays do not expand */
    {"[\"t/${client.attributes.path}\"]", SITE, 'p', "t/a/b", false},            /* nor values with '/' */
    {"[\"t/${client.attributes.e}/u\"]", SITE, 'p', "t//u", false},              /* nor empty ones */
    {"[\"t/${client.attributes.missing}\", \"t/ok\"]", SITE, 'p', "t/ok", true}, /* the others stand */
    {"[\"${client.attributes.site}-${client.authenticationName}\"]", SITE, 'p', "berlin-Dev1", true},
};

static void test_table(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const perm_case *c = &cases[i];
        char text[4096];
        snprintf(text, sizeof text,
                 HEAD
                 "\"clients\":[{\"name\":\"dev1\",\"authenticationName\":\"Dev1\",\"state\":\"Enabled\","
                 "\"validationScheme\":\"SubjectMatchesAuthenticationName\",\"attributes\":%s}],"
                 "\"clientGroups\":[{\"name\":\"$all\",\"query\":null}],"
                 "\"topicSpaces\":[{\"name\":\"space\",\"topicTemplates\":%s}],"
                 "\"permissionBindings\":[{\"name\":\"pub\",\"clientGroupName\":\"$all\",\"topicSpaceName\":"
                 "\"space\",\"permission\":\"Publisher\"},{\"name\":\"sub\",\"clientGroupName\":\"$all\","
                 "\"topicSpaceName\":\"space\",\"permission\":\"Subscriber\"}]}",
                 c->attrs, c->templates);
        ns_policy *p = parse(text);
        client_perms *cp = perms_of(p, "dev1");
        bool got = c->op == 'p'   ? pub(cp, c->subject)
                   : c->op == 's' ? sub(cp, c->subject)
                                  : recv_(cp, c->subject);
        if (got != c->expected) {
            print_error("case %zu: templates %s, attributes %s: %s '%s' gave %s\n", i, c->templates, c->attrs,
                        c->op == 'p'   ? "publish"
                        : c->op == 's' ? "subscribe"
                                       : "receive",
                        c->subject, got ? "true" : "false");
            failures++;
        }
        client_perms_free(cp);
        ns_policy_free(p);
    }
    printf("%zu table cases\n", sizeof cases / sizeof cases[0]);
    assert_int_equal(failures, 0);
}

/* Groups: queries over attributes and the authentication name, several
 * bindings to one space, Publisher and Subscriber kept apart. */
static void test_groups(void **state)
{
    (void)state;
    static const char text[] = HEAD
        "\"clients\":[{\"name\":\"a\",\"state\":\"Enabled\",\"validationScheme\":"
        "\"SubjectMatchesAuthenticationName\",\"attributes\":{\"type\":\"sensor\",\"floor\":3,\"roles\":"
        "[\"reader\",\"ops\"]}},{\"name\":\"b\",\"state\":\"Enabled\",\"validationScheme\":"
        "\"SubjectMatchesAuthenticationName\",\"attributes\":{\"type\":\"gateway\",\"floor\":7}},"
        "{\"name\":\"c\",\"state\":\"Disabled\",\"validationScheme\":\"SubjectMatchesAuthenticationName\"}],"
        "\"clientGroups\":[{\"name\":\"low\",\"query\":\"attributes.type IN ['sensor', 'gateway'] AND "
        "attributes.floor <= 5\"},{\"name\":\"ops\",\"query\":\"attributes.roles = 'ops' OR "
        "authenticationName = 'b'\"},{\"name\":\"not-ops\",\"query\":\"NOT attributes.roles = 'ops'\"}],"
        "\"topicSpaces\":[{\"name\":\"low-space\",\"topicTemplates\":[\"low/${client.authenticationName}\"]},"
        "{\"name\":\"ops-space\",\"topicTemplates\":[\"ops/#\",\"cmd/${client.attributes.floor}/+\"]},"
        "{\"name\":\"misc\",\"topicTemplates\":[\"misc\"]}],"
        "\"permissionBindings\":[{\"name\":\"bind-1\",\"clientGroupName\":\"low\",\"topicSpaceName\":"
        "\"low-space\",\"permission\":\"Publisher\"},{\"name\":\"bind-2\",\"clientGroupName\":\"ops\","
        "\"topicSpaceName\":\"ops-space\",\"permission\":\"Subscriber\"},{\"name\":\"bind-3\","
        "\"clientGroupName\":\"$all\",\"topicSpaceName\":\"ops-space\",\"permission\":\"Subscriber\"},"
        "{\"name\":\"bind-4\",\"clientGroupName\":\"not-ops\",\"topicSpaceName\":\"misc\",\"permission\":"
        "\"Publisher\"}]}";
    ns_policy *p = parse(text);
    client_perms *a = perms_of(p, "a"), *b = perms_of(p, "b"), *c = perms_of(p, "c");
    assert_true(pub(a, "low/a"));
    assert_false(pub(a, "low/b"));
    assert_false(pub(b, "low/b")); /* floor 7 */
    assert_false(pub(a, "misc"));
    assert_true(pub(b, "misc")); /* b has no roles: NOT (false) */
    assert_true(pub(c, "misc"));
    assert_false(pub(a, "ops/x")); /* Subscriber only */
    assert_true(sub(a, "ops/#"));
    assert_true(sub(a, "cmd/3/+"));
    assert_false(sub(a, "cmd/7/x"));
    assert_true(sub(b, "cmd/7/x"));
    assert_false(sub(c, "cmd/+/x")); /* c has no floor */
    assert_true(sub(c, "ops/x"));
    /* "ops" and "$all" bind the same space: its filters appear once. */
    assert_int_equal(client_perms_count(a, false), 2);
    assert_int_equal(client_perms_count(c, false), 1);
    assert_int_equal(client_perms_count(c, true), 1);
    client_perms_free(a);
    client_perms_free(b);
    client_perms_free(c);
    ns_policy_free(p);
}

/* client_perms_equal across snapshots: the broker re-checks subscriptions
 * only when it says false. */
static void test_equal_across_snapshots(void **state)
{
    (void)state;
    ns_policy *p1 = parse(demo);
    /* sensors->own-telemetry becomes a Subscriber binding */
    char *patched = replace(demo, "\"own-telemetry\",\"permission\":\"Publisher\"",
                            "\"own-telemetry\",\"permission\":\"Subscriber\"");
    ns_policy *p2 = parse(patched);
    client_perms *a1 = perms_of(p1, "device1"), *a2 = perms_of(p2, "device1");
    client_perms *b1 = perms_of(p1, "device2"), *b2 = perms_of(p2, "device2");
    assert_false(client_perms_equal(a1, a2));
    assert_true(client_perms_equal(b1, b2)); /* device2 is not a sensor: unchanged */
    assert_false(pub(a2, "devices/device1/telemetry/x"));
    assert_true(sub(a2, "devices/device1/telemetry/#"));
    client_perms_free(a1);
    client_perms_free(a2);
    client_perms_free(b1);
    client_perms_free(b2);
    ns_policy_free(p1);
    ns_policy_free(p2);
    free(patched);
}

static void test_no_binding_grants_nothing(void **state)
{
    (void)state;
    char *text = strdup(demo);
    char *bindings = strstr(text, "\"permissionBindings\":[");
    strcpy(bindings, "\"permissionBindings\":[]}");
    ns_policy *p = parse(text);
    client_perms *cp = perms_of(p, "device1");
    assert_false(pub(cp, "alerts/x"));
    assert_false(sub(cp, "alerts/#"));
    assert_false(recv_(cp, "alerts/x"));
    assert_int_equal(client_perms_count(cp, true) + client_perms_count(cp, false), 0);
    client_perms_free(cp);
    ns_policy_free(p);
    free(text);
}

/* ---- randomized: the trie against a scan with mqtt_topic_matches */

static unsigned rng = 12345;

static unsigned next_rand(void)
{
    rng = rng * 1103515245u + 12345u;
    return (rng >> 16) & 0x7fff;
}

static void random_levels(char *out, size_t size, bool filter)
{
    static const char *const lit[] = {"a", "b", "ab", "", "$", "$a", "a-b"};
    size_t n = 1 + next_rand() % 4, used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *level = lit[next_rand() % 7];
        unsigned w = filter ? next_rand() % 6 : 9;
        if (w == 0)
            level = "+";
        else if (w == 1 && i == n - 1)
            level = "#";
        used += (size_t)snprintf(out + used, size - used, "%s%s", i ? "/" : "", level);
    }
    if (!out[0])
        strcpy(out, "a"); /* neither a topic nor a filter may be empty */
}

static void test_random_against_scan(void **state)
{
    (void)state;
    size_t checks = 0;
    for (int round = 0; round < 300; round++) {
        char filters[8][64], templates[1024] = "[";
        size_t nf = 1 + next_rand() % 8;
        for (size_t i = 0; i < nf; i++) {
            random_levels(filters[i], sizeof filters[i], true);
            size_t used = strlen(templates);
            snprintf(templates + used, sizeof templates - used, "%s\"%s\"", i ? "," : "", filters[i]);
        }
        strcat(templates, "]");
        char text[4096];
        snprintf(text, sizeof text,
                 HEAD
                 "\"clients\":[{\"name\":\"dev1\",\"state\":\"Enabled\",\"validationScheme\":"
                 "\"SubjectMatchesAuthenticationName\"}],\"clientGroups\":[],"
                 "\"topicSpaces\":[{\"name\":\"space\",\"topicTemplates\":%s}],"
                 "\"permissionBindings\":[{\"name\":\"pub\",\"clientGroupName\":\"$all\",\"topicSpaceName\":"
                 "\"space\",\"permission\":\"Publisher\"},{\"name\":\"sub\",\"clientGroupName\":\"$all\","
                 "\"topicSpaceName\":\"space\",\"permission\":\"Subscriber\"}]}",
                 templates);
        ns_policy *p = parse(text);
        client_perms *cp = perms_of(p, "dev1");
        for (int t = 0; t < 40; t++) {
            char topic[64];
            random_levels(topic, sizeof topic, t % 2 == 0);
            mqtt_bytes b = mqtt_bytes_from_cstr(topic);
            bool is_topic = mqtt_topic_name_check(b) == 0;
            bool is_filter = mqtt_topic_filter_check(b) == 0 && mqtt_topic_shared_split(b, NULL, NULL) == 0;
            bool want_pub = false, want_sub = false;
            for (size_t i = 0; i < nf; i++) {
                if (is_topic)
                    want_pub |= mqtt_topic_matches(mqtt_bytes_from_cstr(filters[i]), b);
                if (is_filter)
                    want_sub |= mqtt_filter_covers(filters[i], strlen(filters[i]), topic, strlen(topic));
            }
            if (is_topic) {
                if (pub(cp, topic) != want_pub || recv_(cp, topic) != want_pub)
                    fail_msg("templates %s, topic %s: trie says %d, scan %d", templates, topic,
                             pub(cp, topic), want_pub);
                checks++;
            }
            if (is_filter) {
                if (sub(cp, topic) != want_sub)
                    fail_msg("templates %s, filter %s: says %d, scan %d", templates, topic, sub(cp, topic),
                             want_sub);
                checks++;
            }
        }
        client_perms_free(cp);
        ns_policy_free(p);
    }
    printf("%zu randomized checks\n", checks);
}

/* ---- scale */

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* A snapshot at the default quotas' edges: 10,000 clients with attributes,
 * half of them ThumbprintMatch, 10 groups, 10 topic spaces of 10 templates,
 * 100 bindings. */
static char *big_snapshot(size_t n_clients, size_t *len)
{
    char *text;
    FILE *f = open_memstream(&text, len);
    fprintf(f,
            "{\"schema\":1,\"namespace\":\"big\",\"version\":1,\"deleted\":false,\"settings\":{\"state\":"
            "\"Enabled\",\"maximumSessionExpiryInHours\":1,\"maximumClientSessionsPerAuthenticationName\":1,"
            "\"alternativeAuthenticationNameSources\":[],\"hostname\":\"big.localhost\",\"throughputUnits\":"
            "null},\"caCertificates\":[],\"clients\":[");
    for (size_t i = 0; i < n_clients; i++) {
        bool thumb = i % 2;
        fprintf(f,
                "%s{\"name\":\"client-%05zu\",\"authenticationName\":\"Client-%05zu\",\"state\":\"Enabled\","
                "\"validationScheme\":\"%s\",\"allowedThumbprints\":[",
                i ? "," : "", i, i, thumb ? "ThumbprintMatch" : "SubjectMatchesAuthenticationName");
        if (thumb)
            fprintf(f, "\"%064zX\"", i);
        fprintf(f,
                "],\"attributes\":{\"type\":\"%s\",\"floor\":%zu,\"site\":\"site-%zu\",\"tags\":[\"t%zu\","
                "\"all\"]}}",
                i % 3 ? "sensor" : "actuator", i % 10, i % 7, i % 5);
    }
    fprintf(f, "],\"clientGroups\":[{\"name\":\"$all\",\"query\":null}");
    for (int g = 0; g < 10; g++)
        fprintf(f,
                ",{\"name\":\"group-%d\",\"query\":\"attributes.floor = %d OR (attributes.type IN ['sensor', "
                "'gateway'] AND NOT attributes.tags = 't%d')\"}",
                g, g, g % 5);
    fprintf(f, "],\"topicSpaces\":[");
    for (int s = 0; s < 10; s++) {
        fprintf(f, "%s{\"name\":\"space-%d\",\"topicTemplates\":[", s ? "," : "", s);
        for (int t = 0; t < 10; t++)
            fprintf(f, "%s\"s%d/t%d/${client.authenticationName}/f-${client.attributes.floor}/+/%s\"",
                    t ? "," : "", s, t, t % 2 ? "#" : "x");
        fprintf(f, "]}");
    }
    fprintf(f, "],\"permissionBindings\":[");
    for (int b = 0; b < 100; b++) {
        char group[16];
        snprintf(group, sizeof group, b % 11 == 10 ? "$all" : "group-%d", b % 11);
        fprintf(f,
                "%s{\"name\":\"binding-%d\",\"clientGroupName\":\"%s\",\"topicSpaceName\":\"space-%d\","
                "\"permission\":\"%s\"}",
                b ? "," : "", b, group, b % 10, b % 2 ? "Publisher" : "Subscriber");
    }
    fprintf(f, "]}");
    fclose(f);
    return text;
}

static void test_ten_thousand_clients(void **state)
{
    (void)state;
    size_t len;
    char *text = big_snapshot(10000, &len);
    char err[NS_POLICY_ERR_SIZE];
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ns_policy *p = ns_policy_parse(text, len, err, sizeof err);
    double parse_s = seconds_since(&t0);
    if (!p)
        fail_msg("refused: %s", err);
    assert_int_equal(ns_policy_client_count(p), 10000);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 10000; i++) {
        char name[32];
        int n = snprintf(name, sizeof name, "CLIENT-%05d", i);
        const ns_client *c = ns_policy_find_client(p, name, (size_t)n);
        assert_non_null(c);
        assert_ptr_equal(c, ns_policy_client_at(p, (size_t)i));
    }
    double lookup_s = seconds_since(&t0);
    size_t filters = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t i = 0; i < 10000; i++) {
        client_perms *cp = client_perms_build(p, ns_policy_client_at(p, i));
        assert_non_null(cp);
        filters += client_perms_count(cp, true) + client_perms_count(cp, false);
        client_perms_free(cp);
    }
    double perms_s = seconds_since(&t0);
    /* PUBLISH checks of one client: allowed through '#', through '+', denied. */
    client_perms *cp = client_perms_build(p, ns_policy_client_at(p, 1));
    static const char *const topics[] = {"s1/t1/Client-00001/f-1/x/y/z", "s1/t0/Client-00001/f-1/q/x",
                                         "s1/t0/Client-00002/f-1/q/x"};
    size_t allowed = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 300000; i++)
        allowed += client_perms_can_publish(cp, topics[i % 3], strlen(topics[i % 3]));
    double check_s = seconds_since(&t0);
    assert_int_equal(allowed, 200000);
    printf("10,000 clients (%zu bytes of JSON): parse %.1f ms, 10,000 lookups %.2f ms, 10,000 permission "
           "builds %.1f ms (%zu filters), publish check %.0f ns (%zu Publisher filters)\n",
           len, parse_s * 1e3, lookup_s * 1e3, perms_s * 1e3, filters, check_s / 300000 * 1e9,
           client_perms_count(cp, true));
    client_perms_free(cp);
    ns_policy_free(p);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_equal_across_snapshots),
        cmocka_unit_test(test_no_binding_grants_nothing),
        cmocka_unit_test(test_random_against_scan),
        cmocka_unit_test(test_ten_thousand_clients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
