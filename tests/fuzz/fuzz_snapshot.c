/* Fuzz target for shared/snapshot (ns_policy_parse and client_perms). The
 * input is a snapshot document. Besides memory safety it checks that:
 *  - a refusal says where ("path: message") and fits the buffer;
 *  - every client is found by its authentication name in any ASCII case;
 *  - for a parsed policy, each client's permissions are built twice equal,
 *    every filter they hold is a valid non-shared filter, and the trie
 *    agrees with a plain scan (mqtt_topic_matches / mqtt_filter_covers) on
 *    topics derived from the filters and a few fixed ones;
 *  - every Subscriber filter may be subscribed to (also shared), and a topic
 *    it matches may be received. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_require.h"
#include "mqtt_topic.h"
#include "policy/filter_cover.h"
#include "snapshot/client_perms.h"
#include "snapshot/ns_policy.h"

#define MAX_CLIENTS 8  /* checked per input: the checks cost more than parsing */
#define MAX_FILTERS 16 /* per set */
#define TOPIC_MAX 2048 /* derived topics longer than this are skipped */

static const char *const fixed_topics[] = {
    "a", "a/b", "x", "x/x", "/", "$SYS/x", "$share/g/x", "alerts/x", "devices/device1/telemetry/x", "devices",
};

/* A topic name the filter matches: each '+' or '#' level becomes "x"
 * (never '$', so a leading wildcard still matches). False if too long. */
static bool topic_for(const char *filter, char *out, size_t size)
{
    size_t o = 0, len = strlen(filter);
    for (size_t i = 0; i <= len; i++) {
        bool level_start = i == 0 || filter[i - 1] == '/';
        char c = filter[i];
        if (level_start && (c == '+' || c == '#') && (filter[i + 1] == '/' || filter[i + 1] == '\0'))
            c = 'x';
        if (o + 1 >= size)
            return false;
        out[o++] = c;
    }
    return true;
}

static bool scan_matches(const client_perms *cp, bool publish, const char *topic)
{
    for (size_t i = 0; i < client_perms_count(cp, publish); i++)
        if (mqtt_topic_matches(mqtt_bytes_from_cstr(client_perms_filter(cp, publish, i)),
                               mqtt_bytes_from_cstr(topic)))
            return true;
    return false;
}

static bool scan_covers(const client_perms *cp, const char *filter)
{
    for (size_t i = 0; i < client_perms_count(cp, false); i++) {
        const char *s = client_perms_filter(cp, false, i);
        if (mqtt_filter_covers(s, strlen(s), filter, strlen(filter)))
            return true;
    }
    return false;
}

/* The trie and the scan agree on topic (if it is a valid name) and on it as
 * a filter (if it is a valid non-shared one). */
static void compare(const client_perms *cp, const char *topic)
{
    size_t len = strlen(topic);
    mqtt_bytes b = mqtt_bytes_from_cstr(topic);
    if (mqtt_topic_name_check(b) == 0) {
        FUZZ_REQUIRE(client_perms_can_publish(cp, topic, len) == scan_matches(cp, true, topic),
                     "the publish trie agrees with a scan of the Publisher filters");
        FUZZ_REQUIRE(client_perms_can_receive(cp, topic, len) == scan_matches(cp, false, topic),
                     "the receive trie agrees with a scan of the Subscriber filters");
    }
    if (mqtt_topic_filter_check(b) == 0 && mqtt_topic_shared_split(b, NULL, NULL) == 0)
        FUZZ_REQUIRE(client_perms_can_subscribe(cp, topic, len) == scan_covers(cp, topic),
                     "can_subscribe agrees with a scan of the Subscriber filters");
}

static void check_set(const client_perms *cp, bool publish)
{
    size_t n = client_perms_count(cp, publish);
    FUZZ_REQUIRE(client_perms_filter(cp, publish, n) == NULL, "no filter past the count");
    for (size_t i = 0; i < n && i < MAX_FILTERS; i++) {
        const char *f = client_perms_filter(cp, publish, i);
        mqtt_bytes b = mqtt_bytes_from_cstr(f);
        FUZZ_REQUIRE(mqtt_topic_filter_check(b) == 0, "an expanded filter is valid");
        FUZZ_REQUIRE(mqtt_topic_shared_split(b, NULL, NULL) == 0, "an expanded filter is not shared");
        if (i > 0)
            FUZZ_REQUIRE(strcmp(client_perms_filter(cp, publish, i - 1), f) != 0, "filters are distinct");
        char topic[TOPIC_MAX];
        if (topic_for(f, topic, sizeof topic)) {
            FUZZ_REQUIRE(mqtt_topic_matches(b, mqtt_bytes_from_cstr(topic)), "the derived topic matches");
            if (publish)
                FUZZ_REQUIRE(client_perms_can_publish(cp, topic, strlen(topic)),
                             "a topic a Publisher filter matches may be published");
            else
                FUZZ_REQUIRE(client_perms_can_receive(cp, topic, strlen(topic)),
                             "a topic a Subscriber filter matches may be received");
            compare(cp, topic);
        }
        if (!publish) {
            FUZZ_REQUIRE(client_perms_can_subscribe(cp, f, strlen(f)), "a Subscriber filter covers itself");
            char shared[TOPIC_MAX];
            if (strlen(f) + 10 < sizeof shared) {
                strcpy(shared, "$share/g/");
                strcat(shared, f);
                FUZZ_REQUIRE(client_perms_can_subscribe(cp, shared, strlen(shared)),
                             "a shared subscription is judged by its filter");
            }
        }
    }
}

static void check_client(const ns_policy *p, const ns_client *c)
{
    const char *auth = ns_client_auth_name(c);
    size_t len = strlen(auth);
    FUZZ_REQUIRE(ns_policy_find_client(p, auth, len) == c, "a client is found by its authentication name");
    char *upper = strdup(auth);
    FUZZ_REQUIRE(upper, "out of memory");
    for (size_t i = 0; i < len; i++)
        if (upper[i] >= 'a' && upper[i] <= 'z')
            upper[i] = (char)(upper[i] - 32);
    FUZZ_REQUIRE(ns_policy_find_client(p, upper, len) == c, "lookup ignores ASCII case");
    free(upper);
    FUZZ_REQUIRE(ns_client_same_identity(c, c), "a client is itself");

    client_perms *cp = client_perms_build(p, c);
    FUZZ_REQUIRE(cp, "building permissions only fails out of memory");
    client_perms *again = client_perms_build(p, c);
    FUZZ_REQUIRE(again && client_perms_equal(cp, again), "building is deterministic");
    client_perms_free(again);
    check_set(cp, true);
    check_set(cp, false);
    for (size_t i = 0; i < sizeof fixed_topics / sizeof fixed_topics[0]; i++)
        compare(cp, fixed_topics[i]);
    compare(cp, auth);
    client_perms_free(cp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0; /* larger documents only repeat what smaller ones do */
    char err[NS_POLICY_ERR_SIZE];
    ns_policy *p = ns_policy_parse((const char *)data, size, err, sizeof err);
    if (!p) {
        FUZZ_REQUIRE(err[0] != '\0', "a refusal says why");
        FUZZ_REQUIRE(strstr(err, ": ") != NULL, "a refusal starts with a path");
        return 0;
    }
    FUZZ_REQUIRE(ns_policy_version(p) > 0, "versions are positive");
    FUZZ_REQUIRE(ns_policy_ca_store(p) != NULL, "there is always a store");
    if (ns_policy_deleted(p))
        FUZZ_REQUIRE(ns_policy_client_count(p) == 0, "a deleted namespace has no clients");
    const ns_settings *s = ns_policy_settings(p);
    FUZZ_REQUIRE(s->n_alt_sources <= 5, "at most five distinct name sources");
    for (size_t i = 0; i < ns_policy_client_count(p) && i < MAX_CLIENTS; i++)
        check_client(p, ns_policy_client_at(p, i));
    ns_policy_free(p);
    return 0;
}
