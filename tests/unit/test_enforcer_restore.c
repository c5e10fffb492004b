/* Enforcement of restored sessions: the session store restores persistent
 * sessions first, then enforcer_new applies the snapshot saved in data_dir to
 * them as a live change would (egbroker's start order, main.c): subscriptions
 * no longer covered are removed, queued messages no longer receivable dropped,
 * sessions of deleted clients ended, and the store follows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "broker.h"
#include "enforcer.h"
#include "mqtt_topic.h"
#include "realm.h"
#include "session.h"
#include "worker.h"
#include "session_store_sqlite.h"
#include "store_test_util.h"

/* egbroker's start: the store restores, then the enforcer loads the saved snapshot. */
static void start(fixture *f)
{
    broker_config cfg;
    config_defaults(&cfg);
    snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", f->dir);
    snprintf(cfg.namespace_name, sizeof cfg.namespace_name, "ns1");
    char err[128];
    assert_int_equal(config_resolve_namespaces(&cfg, NULL, 0, err, sizeof err), 0);
    assert_int_equal(cfg.served_count, 1);
    f->base = event_base_new();
    f->broker = broker_new(f->base, &cfg);
    assert_non_null(f->broker);
    assert_int_equal(session_store_sqlite_open(f->broker), 0);
    assert_non_null(enforcer_new(f->broker));
}

static int setup(void **state)
{
    return store_fixture_setup(state, "/tmp/egenfrestore-XXXXXX");
}

/* A snapshot of ns1 (controlplane/snapshot.c's shape): client reader, and gone unless
 * `without_gone`; $all may subscribe t/#, and s/# too unless `revoked`. */
static int snapshot_json(char *out, size_t len, int version, bool revoked, bool without_gone)
{
    return snprintf(
        out, len,
        "{\"schema\":1,\"namespace\":\"ns1\",\"version\":%d,\"deleted\":false,"
        "\"settings\":{\"state\":\"Enabled\",\"maximumSessionExpiryInHours\":1,"
        "\"maximumClientSessionsPerAuthenticationName\":1,\"alternativeAuthenticationNameSources\":[],"
        "\"hostname\":\"ns1.localhost\",\"throughputUnits\":null},"
        "\"caCertificates\":[],"
        "\"clients\":[{\"name\":\"reader\",\"authenticationName\":\"reader\",\"state\":\"Enabled\","
        "\"validationScheme\":\"SubjectMatchesAuthenticationName\",\"allowedThumbprints\":[],"
        "\"attributes\":{}}%s],"
        "\"clientGroups\":[{\"name\":\"$all\",\"query\":null}],"
        "\"topicSpaces\":[{\"name\":\"space\",\"topicTemplates\":[\"t/#\"%s]}],"
        "\"permissionBindings\":[{\"name\":\"sub\",\"clientGroupName\":\"$all\",\"topicSpaceName\":\"space\","
        "\"permission\":\"Subscriber\"}]}",
        version,
        without_gone ? ""
                     : ",{\"name\":\"gone\",\"authenticationName\":\"gone\",\"state\":\"Enabled\","
                       "\"validationScheme\":\"SubjectMatchesAuthenticationName\",\"allowedThumbprints\":[],"
                       "\"attributes\":{}}",
        revoked ? "" : ",\"s/#\"");
}

/* The snapshot saved in data_dir, as the enforcer saves a pushed one. */
static void save_snapshot(fixture *f, int version, bool revoked, bool without_gone)
{
    char path[128], json[2048];
    snprintf(path, sizeof path, "%s/snapshot-ns1.json", f->dir);
    int len = snapshot_json(json, sizeof json, version, revoked, without_gone);
    assert_true(len > 0 && (size_t)len < sizeof json);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fwrite(json, 1, (size_t)len, fp), (size_t)len);
    fclose(fp);
}

static session *stored_session(broker *b, const char *client_id, const char *auth_name)
{
    session *s = session_create(b->realms[0], mqtt_bytes_from_cstr(client_id));
    assert_non_null(s);
    s->auth_name = strdup(auth_name);
    s->expiry_interval = 600;
    session_save(s);
    return s;
}

static void publish(broker *b, const char *topic, const char *payload)
{
    broker_msg *m = broker_msg_new_raw(mqtt_bytes_from_cstr(topic), mqtt_bytes_from_cstr(payload), 1, false,
                                       NULL, 0, broker_now_ms());
    broker_publish(b->workers[0], b->realms[0], m, NULL, NULL);
    broker_msg_unref(m);
}

static session *find(fixture *f, const char *client_id)
{
    return session_find(f->broker->realms[0], mqtt_bytes_from_cstr(client_id));
}

static void test_saved_snapshot_applies_to_restored_sessions(void **state)
{
    fixture *f = *state;
    save_snapshot(f, 1, false, false);
    start(f);
    session *s = stored_session(f->broker, "rd", "reader");
    assert_int_equal(session_subscribe(s, mqtt_bytes_from_cstr("t/#"), 1, 0), 1);
    assert_int_equal(session_subscribe(s, mqtt_bytes_from_cstr("s/#"), 1, 0), 1);
    session *g = stored_session(f->broker, "gn", "gone");
    assert_int_equal(session_subscribe(g, mqtt_bytes_from_cstr("t/#"), 1, 0), 1);
    publish(f->broker, "s/1", "secret");
    publish(f->broker, "t/1", "open");
    assert_int_equal(s->queue_count, 2);
    stop(f);

    /* While down: s/# no longer covered, gone deleted (a newer snapshot in data_dir). */
    save_snapshot(f, 2, true, true);
    start(f);
    assert_null(find(f, "gn"));
    s = find(f, "rd");
    assert_non_null(s);
    assert_non_null(s->auth_perms);
    assert_int_equal(s->sub_count, 1);
    assert_string_equal(s->subs[0].filter, "t/#");
    assert_int_equal(s->queue_count, 1);
    assert_memory_equal(s->queue->msg->payload.data, "open", 4);
    publish(f->broker, "s/2", "secret again");
    assert_int_equal(s->queue_count, 1);
    stop(f);

    /* The store followed: the same state without any snapshot change. */
    start(f);
    assert_null(find(f, "gn"));
    s = find(f, "rd");
    assert_non_null(s);
    assert_int_equal(s->sub_count, 1);
    assert_int_equal(s->queue_count, 1);
    stop(f);
}

static void test_restored_sessions_wait_for_the_first_snapshot(void **state)
{
    fixture *f = *state;
    start(f); /* no saved snapshot: nothing is decided about the restored sessions */
    session *s = stored_session(f->broker, "rd", "reader");
    assert_int_equal(session_subscribe(s, mqtt_bytes_from_cstr("s/#"), 1, 0), 1);
    publish(f->broker, "s/1", "secret");
    stop(f);
    start(f);
    s = find(f, "rd");
    assert_non_null(s);
    assert_null(s->auth_perms);
    assert_int_equal(s->sub_count, 1);
    assert_int_equal(s->queue_count, 1);
    /* The first push applies to them as to any session. */
    char json[2048], err[256];
    int len = snapshot_json(json, sizeof json, 3, true, false);
    uint64_t version = 0;
    assert_int_equal(enforcer_apply(f->broker->enforcer, json, (size_t)len, &version, err, sizeof err), 0);
    assert_int_equal(version, 3);
    assert_ptr_equal(find(f, "rd"), s);
    assert_non_null(s->auth_perms);
    assert_int_equal(s->sub_count, 0);
    assert_int_equal(s->queue_count, 0);
    stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_saved_snapshot_applies_to_restored_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restored_sessions_wait_for_the_first_snapshot, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
