/* The SQLite session store: what one broker instance writes, the next one
 * restores (same data_dir), driven through real sessions (no sockets). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "broker.h"
#include "mqtt_topic.h"
#include "realm.h"
#include "retain_store.h"
#include "session.h"
#include "session_store.h"
#include "session_store_sqlite.h"

typedef struct fixture {
    char dir[64];
    struct event_base *base;
    broker *broker;
} fixture;

/* A broker over the fixture's data_dir with its store opened (restored). */
static int start(fixture *f)
{
    broker_config cfg;
    config_defaults(&cfg);
    snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", f->dir);
    f->base = event_base_new();
    f->broker = broker_new(f->base, &cfg);
    return session_store_sqlite_open(f->broker);
}

static void stop(fixture *f)
{
    broker_free(f->broker); /* closes the store: everything pending is committed */
    event_base_free(f->base);
    f->broker = NULL;
}

static int setup(void **state)
{
    static fixture f;
    memset(&f, 0, sizeof f);
    snprintf(f.dir, sizeof f.dir, "/tmp/egstore-XXXXXX");
    assert_non_null(mkdtemp(f.dir));
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->broker)
        stop(f);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void publish(broker *b, const char *topic, bool retain, const char *payload)
{
    broker_msg *m = broker_msg_new_raw(mqtt_bytes_from_cstr(topic), mqtt_bytes_from_cstr(payload), 1, retain,
                                       NULL, 0, broker_now_ms());
    broker_publish(b->realms[0], m, NULL);
    broker_msg_unref(m);
}

static void test_restart_restores_sessions_queues_and_retained(void **state)
{
    fixture *f = *state;
    assert_int_equal(start(f), 0);
    session *s = session_create(f->broker->realms[0], mqtt_bytes_from_cstr("durable"));
    s->expiry_interval = 60;
    session_save(s);
    session_subscribe(s, mqtt_bytes_from_cstr("t/+"), 1, 7);
    session *gone = session_create(f->broker->realms[0], mqtt_bytes_from_cstr("gone"));
    gone->expiry_interval = 60;
    session_save(gone);
    session_subscribe(gone, mqtt_bytes_from_cstr("t/+"), 1, 0);
    for (int i = 0; i < 3; i++) {
        char p[16];
        snprintf(p, sizeof p, "m%d", i);
        publish(f->broker, "t/1", false, p);
    }
    publish(f->broker, "r/1", true, "kept");
    session_destroy(gone); /* expired or overflowed: its rows go */
    stop(f);

    assert_int_equal(start(f), 0);
    s = session_find(f->broker->realms[0], mqtt_bytes_from_cstr("durable"));
    assert_non_null(s);
    assert_null(session_find(f->broker->realms[0], mqtt_bytes_from_cstr("gone")));
    assert_int_equal(s->expiry_interval, 60);
    assert_int_equal(s->sub_count, 1);
    assert_int_equal(s->subs[0].subscription_id, 7);
    assert_int_equal(s->queue_count, 3);
    int i = 0;
    for (delivery *d = s->queue; d; d = d->next, i++) {
        char p[16];
        snprintf(p, sizeof p, "m%d", i);
        assert_int_equal(d->msg->payload.len, strlen(p));
        assert_memory_equal(d->msg->payload.data, p, strlen(p));
        assert_int_equal(d->sub_id_count, 1);
        assert_int_equal(d->sub_ids[0], 7);
    }
    assert_int_equal(retain_store_count(f->broker->realms[0]->retained), 1);
    /* The restored subscription routes again, after the restored queue. */
    publish(f->broker, "t/2", false, "after");
    assert_int_equal(s->queue_count, 4);
    stop(f);
}

static void test_unreadable_store_refuses_to_start(void **state)
{
    fixture *f = *state;
    char path[128];
    snprintf(path, sizeof path, "%s/sessions.db", f->dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    for (int i = 0; i < 4096; i++)
        fputc("not a database"[i % 14], fp);
    fclose(fp);
    assert_int_equal(start(f), -1);
    stop(f);
    /* Still there: never silently discarded. */
    assert_int_equal(access(path, F_OK), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_restart_restores_sessions_queues_and_retained, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_store_refuses_to_start, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
