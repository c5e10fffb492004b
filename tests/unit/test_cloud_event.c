/* Life-cycle events as CloudEvents 1.0 (shared/util/cloud_event.h) and their JSON-lines audit
 * file (event_audit.h): the envelope, each type's data, ids, times, and concurrent appends. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cloud_event.h"
#include "event_audit.h"
#include "file_util.h"

static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static bool is_uuid_v4(const char *s)
{
    if (!s || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
            return false;
    }
    return s[14] == '4' && strchr("89ab", s[19]);
}

static bool is_rfc3339_utc(const char *s)
{
    struct tm tm;
    const char *rest = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    return rest && rest[0] == '.' && strlen(rest) == 8 && rest[7] == 'Z';
}

/* The CloudEvents 1.0 attributes every event has. */
static void assert_envelope(const json_t *ev, const char *type, const char *source, const char *subject)
{
    assert_non_null(ev);
    assert_string_equal(str(ev, "specversion"), "1.0");
    assert_string_equal(str(ev, "type"), type);
    assert_string_equal(cloud_event_type(ev), type);
    assert_string_equal(str(ev, "source"), source);
    assert_string_equal(str(ev, "subject"), subject);
    assert_string_equal(str(ev, "datacontenttype"), "application/json");
    assert_true(is_uuid_v4(str(ev, "id")));
    assert_true(is_rfc3339_utc(str(ev, "time")));
    assert_true(json_is_object(json_object_get(ev, "data")));
}

static void test_session_connected(void **state)
{
    (void)state;
    json_t *ev = cloud_event_session("demo", "device1", "session-1", 42, NULL);
    assert_envelope(ev, CLOUD_EVENT_SESSION_CONNECTED, "/namespaces/demo",
                    "clients/device1/sessions/session-1");
    json_t *expected =
        json_pack("{s:s, s:s, s:s, s:I}", "namespaceName", "demo", "clientAuthenticationName", "device1",
                  "clientSessionName", "session-1", "sequenceNumber", (json_int_t)42);
    assert_true(json_equal(json_object_get(ev, "data"), expected));
    json_decref(expected);
    json_decref(ev);
}

static void test_session_disconnected_has_its_reason(void **state)
{
    (void)state;
    json_t *ev = cloud_event_session("demo", "device1", "s", 43, "SessionTakenOver");
    assert_envelope(ev, CLOUD_EVENT_SESSION_DISCONNECTED, "/namespaces/demo", "clients/device1/sessions/s");
    json_t *data = json_object_get(ev, "data");
    assert_string_equal(str(data, "disconnectionReason"), "SessionTakenOver");
    assert_int_equal(json_integer_value(json_object_get(data, "sequenceNumber")), 43);
    assert_int_equal(json_object_size(data), 5);
    json_decref(ev);
}

static void test_open_mode_has_no_namespace(void **state)
{
    (void)state;
    json_t *ev = cloud_event_session("", "dev", "dev", 1, NULL);
    assert_envelope(ev, CLOUD_EVENT_SESSION_CONNECTED, "/broker", "clients/dev/sessions/dev");
    assert_null(json_object_get(json_object_get(ev, "data"), "namespaceName"));
    json_decref(ev);
}

static void test_client_created_or_updated(void **state)
{
    (void)state;
    json_t *attrs = json_pack("{s:s, s:i, s:[s,s]}", "type", "sensor", "floor", 3, "tags", "a", "b");
    cloud_event_client_info info = {.name = "device1",
                                    .auth_name = "device1-auth",
                                    .state = "Disabled",
                                    .attributes = attrs,
                                    .created_on = "2026-12-07T04:00:00.000Z",
                                    .updated_on = "2026-12-07T04:05:00.000Z"};
    json_t *ev = cloud_event_client("demo", &info, false);
    assert_envelope(ev, CLOUD_EVENT_CLIENT_CREATED_OR_UPDATED, "/namespaces/demo", "clients/device1");
    json_t *expected =
        json_pack("{s:s, s:s, s:s, s:s, s:O, s:s, s:s}", "clientName", "device1", "clientAuthenticationName",
                  "device1-auth", "namespaceName", "demo", "state", "Disabled", "attributes", attrs,
                  "createdOn", "2026-12-07T04:00:00.000Z", "updatedOn", "2026-12-07T04:05:00.000Z");
    assert_true(json_equal(json_object_get(ev, "data"), expected));
    /* The event holds a copy: the caller's attributes are its own. */
    assert_ptr_not_equal(json_object_get(json_object_get(ev, "data"), "attributes"), attrs);
    json_decref(expected);
    json_decref(ev);
    json_decref(attrs);
}

static void test_client_without_times_or_attributes(void **state)
{
    (void)state;
    cloud_event_client_info info = {.name = "c", .auth_name = "c", .state = "Enabled"};
    json_t *ev = cloud_event_client("demo", &info, false);
    json_t *data = json_object_get(ev, "data");
    assert_true(json_is_object(json_object_get(data, "attributes")));
    assert_int_equal(json_object_size(json_object_get(data, "attributes")), 0);
    assert_null(json_object_get(data, "createdOn"));
    assert_null(json_object_get(data, "updatedOn"));
    json_decref(ev);
}

static void test_client_deleted(void **state)
{
    (void)state;
    json_t *attrs = json_pack("{s:s}", "type", "sensor");
    cloud_event_client_info info = {.name = "device1", .auth_name = "device1-auth", .attributes = attrs};
    json_t *ev = cloud_event_client("demo", &info, true);
    assert_envelope(ev, CLOUD_EVENT_CLIENT_DELETED, "/namespaces/demo", "clients/device1");
    json_t *expected = json_pack("{s:s, s:s, s:s}", "clientName", "device1", "clientAuthenticationName",
                                 "device1-auth", "namespaceName", "demo");
    assert_true(json_equal(json_object_get(ev, "data"), expected));
    json_decref(expected);
    json_decref(ev);
    json_decref(attrs);
}

static int compare_ids(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_ids_are_distinct_uuid_v4(void **state)
{
    (void)state;
    enum { N = 2000 };
    char(*ids)[37] = calloc(N, sizeof *ids);
    assert_non_null(ids);
    for (int i = 0; i < N; i++) {
        assert_true(cloud_event_uuid(ids[i]));
        assert_true(is_uuid_v4(ids[i]));
    }
    qsort(ids, N, sizeof *ids, compare_ids);
    for (int i = 1; i < N; i++)
        assert_string_not_equal(ids[i - 1], ids[i]);
    free(ids);
}

static void test_time_is_now_in_utc(void **state)
{
    (void)state;
    char now[32];
    cloud_event_time_now(now);
    assert_true(is_rfc3339_utc(now));
    struct tm tm = {0};
    assert_non_null(strptime(now, "%Y-%m-%dT%H:%M:%S", &tm));
    time_t t = timegm(&tm);
    assert_true(labs((long)(t - time(NULL))) <= 2);
}

/* ---- the audit file */

enum { WRITERS = 4, PER_WRITER = 200 };

static void *append_events(void *arg)
{
    event_audit *a = arg;
    for (int i = 0; i < PER_WRITER; i++) {
        json_t *ev = cloud_event_session("demo", "device1", "s", (uint64_t)i, "ConnectionLost");
        assert_true(event_audit_append(a, ev));
        json_decref(ev);
    }
    return NULL;
}

static void test_audit_lines_from_several_threads(void **state)
{
    (void)state;
    char path[] = "/tmp/egaudit-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "{\"before\":1}\n", 13), 13); /* appended to, not truncated */
    close(fd);
    event_audit *a = event_audit_open(path);
    assert_non_null(a);
    pthread_t threads[WRITERS];
    for (int i = 0; i < WRITERS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, append_events, a), 0);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(threads[i], NULL);
    event_audit_close(a);

    size_t len;
    char *text = file_read_all(path, &len);
    assert_non_null(text);
    int lines = 0;
    for (char *line = text, *end; *line; line = end + 1, lines++) {
        end = strchr(line, '\n');
        assert_non_null(end); /* every line is complete */
        json_error_t err;
        json_t *ev = json_loadb(line, (size_t)(end - line), 0, &err);
        assert_non_null(ev);
        if (lines > 0)
            assert_string_equal(str(ev, "type"), CLOUD_EVENT_SESSION_DISCONNECTED);
        json_decref(ev);
    }
    assert_int_equal(lines, 1 + WRITERS * PER_WRITER);
    free(text);
    unlink(path);
}

static void test_audit_open_fails_cleanly(void **state)
{
    (void)state;
    assert_null(event_audit_open("/nonexistent-dir/events.jsonl"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_connected),
        cmocka_unit_test(test_session_disconnected_has_its_reason),
        cmocka_unit_test(test_open_mode_has_no_namespace),
        cmocka_unit_test(test_client_created_or_updated),
        cmocka_unit_test(test_client_without_times_or_attributes),
        cmocka_unit_test(test_client_deleted),
        cmocka_unit_test(test_ids_are_distinct_uuid_v4),
        cmocka_unit_test(test_time_is_now_in_utc),
        cmocka_unit_test(test_audit_lines_from_several_threads),
        cmocka_unit_test(test_audit_open_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
