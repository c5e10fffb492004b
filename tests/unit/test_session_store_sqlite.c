/* The SQLite session store: what one broker instance writes, the next one
 * restores (same data_dir), driven through real sessions (no sockets). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <sqlite3.h>

#include "broker.h"
#include "mqtt_topic.h"
#include "realm.h"
#include "retain_store.h"
#include "session.h"
#include "session_store.h"
#include "worker.h"
#include "session_store_sqlite.h"
#include "store_test_util.h"
#include "strmap.h"

/* A broker over the fixture's data_dir serving namespace `ns` (NULL: open mode), with its
 * store opened (restored). */
static int start_mode(fixture *f, const char *ns, enum persistence_mode mode)
{
    broker_config cfg;
    config_defaults(&cfg);
    cfg.persistence = mode;
    snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", f->dir);
    if (ns) {
        cfg.served_count = 1;
        snprintf(cfg.served[0], sizeof cfg.served[0], "%s", ns);
    }
    f->base = event_base_new();
    f->broker = broker_new(f->base, &cfg);
    return session_store_sqlite_open(f->broker);
}

static int start_serving(fixture *f, const char *ns)
{
    return start_mode(f, ns, PERSIST_PERIODIC);
}

static int start(fixture *f)
{
    return start_serving(f, NULL);
}

static int setup(void **state)
{
    return store_fixture_setup(state, "/tmp/egstore-XXXXXX");
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs SQL on the store beside the broker, e.g. to leave what a crash leaves. Returns the
 * first column of the last row (0 when none). */
static int64_t sql(fixture *f, const char *query)
{
    char path[128];
    snprintf(path, sizeof path, "%s/sessions.db", f->dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(db, query, -1, &q, NULL), SQLITE_OK);
    int64_t value = 0;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        value = sqlite3_column_int64(q, 0);
    assert_int_equal(rc, SQLITE_DONE);
    sqlite3_finalize(q);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    return value;
}

static session *persistent(broker *b, const char *client_id, uint32_t expiry)
{
    session *s = session_create(b->realms[0], mqtt_bytes_from_cstr(client_id));
    assert_non_null(s);
    s->expiry_interval = expiry;
    session_save(s);
    return s;
}

static session *find(fixture *f, const char *client_id)
{
    return session_find(f->broker->realms[0], mqtt_bytes_from_cstr(client_id));
}

static void publish(broker *b, const char *topic, bool retain, const char *payload)
{
    broker_msg *m = broker_msg_new_raw(mqtt_bytes_from_cstr(topic), mqtt_bytes_from_cstr(payload), 1, retain,
                                       NULL, 0, broker_now_ms());
    broker_publish(b->workers[0], b->realms[0], m, NULL, NULL);
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

static void test_inbound_qos2_survives_restart(void **state)
{
    fixture *f = *state;
    assert_int_equal(start(f), 0);
    session *s = persistent(f->broker, "pub", 60);
    assert_int_equal(session_qos2_add(s, 7, false), 1);
    assert_int_equal(session_qos2_add(s, 9, false), 1);
    assert_int_equal(session_qos2_add(s, 9, false), 0); /* live: an id pending is a resend, DUP or not */
    assert_true(session_qos2_remove(s, 9));             /* PUBREL: released */
    stop(f);

    assert_int_equal(start(f), 0);
    s = find(f, "pub");
    assert_non_null(s);
    assert_int_equal(s->qos2_count, 1);
    assert_int_equal(s->qos2_pending[0].id, 7);
    assert_int_equal(session_qos2_add(s, 7, true), 0);  /* a re-sent PUBLISH (DUP): not routed twice */
    assert_int_equal(session_qos2_add(s, 7, false), 0); /* seen again: no longer in doubt */
    assert_true(session_qos2_remove(s, 7));             /* its PUBREL: PUBCOMP 0x00 */
    assert_int_equal(session_qos2_add(s, 8, false), 1);
    stop(f);

    /* Id 8 comes back pending (as after a periodic-mode crash that lost its release): a PUBLISH
     * with DUP 0 is a new message with that id, routed; the id stays pending until its PUBREL. */
    assert_int_equal(start(f), 0);
    s = find(f, "pub");
    assert_int_equal(s->qos2_count, 1);
    assert_int_equal(session_qos2_add(s, 8, false), 1);
    assert_int_equal(s->qos2_count, 1);
    assert_true(session_qos2_remove(s, 8));
    stop(f);

    assert_int_equal(start(f), 0);
    assert_int_equal(find(f, "pub")->qos2_count, 0);
    stop(f);
    assert_int_equal(sql(f, "SELECT count(*) FROM qos2_in"), 0);
}

static void set_will_expiring(session *s, const char *topic, uint32_t delay, uint32_t expiry)
{
    session_set_will(s,
                     broker_msg_new_raw(mqtt_bytes_from_cstr(topic), mqtt_bytes_from_cstr(s->client_id), 1,
                                        false, NULL, 0, broker_now_ms()),
                     delay, expiry);
}

static void set_will(session *s, const char *topic, uint32_t delay)
{
    set_will_expiring(s, topic, delay, 0);
}

static void test_pending_wills_published_at_restart(void **state)
{
    fixture *f = *state;
    assert_int_equal(start(f), 0);
    session *watcher = persistent(f->broker, "watcher", 600);
    session_subscribe(watcher, mqtt_bytes_from_cstr("will/#"), 1, 0);
    set_will(persistent(f->broker, "now", 600), "will/now", 0);
    set_will(persistent(f->broker, "later", 600), "will/later", 600);
    set_will(persistent(f->broker, "ending", 3), "will/ending", 600);
    stop(f);
    /* The session "ending" went away 5 s ago: its end (3 s) came before its will delay. */
    sql(f, "UPDATE sessions SET disconnected_at = disconnected_at - 5000 WHERE client_id = CAST('ending' AS "
           "BLOB)");

    assert_int_equal(start(f), 0);
    watcher = find(f, "watcher");
    assert_int_equal(watcher->queue_count, 0); /* not before the loop runs (permissions come first) */
    event_base_loop(f->base, EVLOOP_NONBLOCK);
    assert_int_equal(watcher->queue_count, 2);
    /* The wills of "now" and "ending" (their payload: the client id), in either order. */
    const delivery *first = watcher->queue, *second = first->next;
    if (first->msg->payload.len != 3)
        first = second, second = watcher->queue;
    assert_memory_equal(first->msg->payload.data, "now", 3);
    assert_int_equal(second->msg->payload.len, 6);
    assert_memory_equal(second->msg->payload.data, "ending", 6);
    assert_null(find(f, "now")->will);
    assert_non_null(find(f, "later")->will); /* its delay has 600 s to run */
    assert_null(find(f, "ending"));
    stop(f);
    assert_int_equal(sql(f, "SELECT count(*) FROM wills"), 1);
    /* The two queued wills and the pending one. */
    assert_int_equal(sql(f, "SELECT count(*) FROM messages"), 3);
}

static void test_second_broker_on_the_data_dir_refused(void **state)
{
    fixture *f = *state;
    assert_int_equal(start(f), 0);
    fixture other = *f;
    assert_int_equal(start(&other), -1);
    stop(&other);
    stop(f);
    assert_int_equal(start(&other), 0); /* released with the store */
    stop(&other);
}

static void test_crash_dates_expiry_from_the_heartbeat(void **state)
{
    fixture *f = *state;
    assert_int_equal(start(f), 0);
    persistent(f->broker, "short", 3);
    persistent(f->broker, "long", 60);
    stop(f);
    /* What kill -9 leaves: sessions marked connected, the last heartbeat 5 s ago. */
    int64_t alive_at = wall_ms() - 5000;
    char update[128];
    snprintf(update, sizeof update, "UPDATE meta SET alive_at = %lld", (long long)alive_at);
    sql(f, update);
    sql(f, "UPDATE sessions SET disconnected_at = 0");

    assert_int_equal(start(f), 0);
    assert_null(find(f, "short"));
    assert_non_null(find(f, "long"));
    /* Stamped at the restore: a second crash does not date it from a later heartbeat. */
    assert_int_equal(sql(f, "SELECT disconnected_at FROM sessions"), alive_at);
    assert_true(sql(f, "SELECT alive_at FROM meta") >= alive_at + 5000);
    stop(f);
}

static void test_sessions_of_unserved_namespaces_kept_until_expired(void **state)
{
    fixture *f = *state;
    assert_int_equal(start_serving(f, "nsa"), 0);
    persistent(f->broker, "old", 3);
    persistent(f->broker, "fresh", 600);
    stop(f);
    sql(f, "UPDATE sessions SET disconnected_at = disconnected_at - 10000 WHERE client_id = CAST('old' AS "
           "BLOB)");

    assert_int_equal(start_serving(f, "nsb"), 0); /* a configuration mistake */
    assert_int_equal(strmap_count(worker_realm_of(f->broker->workers[0], 0)->sessions), 0);
    stop(f);
    assert_int_equal(sql(f, "SELECT count(*) FROM sessions WHERE realm = 'nsa'"), 1);

    assert_int_equal(start_serving(f, "nsa"), 0); /* corrected: the session is back */
    assert_non_null(find(f, "fresh"));
    assert_null(find(f, "old"));
    stop(f);
}

static bool keep_payload(void *ctx, const broker_msg *m)
{
    const char *want = ctx;
    return m->payload.len == strlen(want) && memcmp(m->payload.data, want, m->payload.len) == 0;
}

/* Deliveries are written at the commit: one dropped before it never reaches the disk, and a
 * session that stops being persistent and becomes so again keeps the bookkeeping straight
 * (its older deliveries are not on disk; a newer one is written and restored). */
static void test_deferred_delivery_writes(void **state)
{
    fixture *f = *state;
    assert_int_equal(start(f), 0);
    const session_store *st = f->broker->store;
    session *s = persistent(f->broker, "toggling", 60);
    session_subscribe(s, mqtt_bytes_from_cstr("d/#"), 1, 0);
    publish(f->broker, "d/1", false, "dropped");
    assert_int_equal(session_drop_queued(s, keep_payload, "none"), 1);
    publish(f->broker, "d/1", false, "old");
    s->expiry_interval = 0; /* resumed with expiry 0: off the disk, "old" stays in memory */
    session_save(s);
    st->commit(st->ctx, 0);
    s->expiry_interval = 60;
    session_save(s);
    publish(f->broker, "d/1", false, "new"); /* pending again from the first slot: "old"'s */
    publish(f->broker, "d/1", false, "new"); /* slot must not be taken for its own */
    assert_int_equal(session_drop_queued(s, keep_payload, "new"), 1); /* "old" goes */
    stop(f);
    assert_int_equal(sql(f, "SELECT count(*) FROM deliveries"), 2);
    assert_int_equal(sql(f, "SELECT count(*) FROM deliveries WHERE CAST(m_payload AS TEXT) = 'new'"), 2);
    assert_int_equal(sql(f, "SELECT count(*) FROM messages"), 0); /* one delivery each: inline */

    assert_int_equal(start(f), 0);
    s = find(f, "toggling");
    assert_non_null(s);
    assert_int_equal(s->queue_count, 2);
    assert_true(keep_payload("new", s->queue->msg));
    assert_int_equal(session_drop_queued(s, keep_payload, "none"), 2); /* restored: deleted from disk */
    stop(f);
    assert_int_equal(sql(f, "SELECT count(*) FROM deliveries"), 0);
    assert_int_equal(sql(f, "SELECT count(*) FROM messages"), 0);
}

/* A message stored for one delivery is inline in its row; one shared by several deliveries, or
 * by a retained entry, is one messages row that goes with its last reference. */
static void test_messages_inline_or_shared(void **state)
{
    fixture *f = *state;
    assert_int_equal(start(f), 0);
    session *a = persistent(f->broker, "a", 60), *b = persistent(f->broker, "b", 60);
    session *c = persistent(f->broker, "c", 60);
    session_subscribe(a, mqtt_bytes_from_cstr("s/#"), 1, 0);
    session_subscribe(b, mqtt_bytes_from_cstr("s/#"), 1, 0);
    session_subscribe(c, mqtt_bytes_from_cstr("i/#"), 1, 0);
    session_subscribe(c, mqtt_bytes_from_cstr("r/#"), 1, 0);
    publish(f->broker, "s/1", false, "shared");
    publish(f->broker, "i/1", false, "inline");
    publish(f->broker, "r/1", true, "retained");
    stop(f);
    assert_int_equal(sql(f, "SELECT count(*) FROM deliveries WHERE msg_id IS NULL"), 1);
    assert_int_equal(sql(f, "SELECT count(*) FROM deliveries WHERE msg_id IS NOT NULL"), 3);
    assert_int_equal(sql(f, "SELECT count(*) FROM messages"), 2); /* "shared", "retained" */

    assert_int_equal(start(f), 0);
    a = find(f, "a"), b = find(f, "b"), c = find(f, "c");
    assert_int_equal(a->queue_count, 1);
    assert_int_equal(b->queue_count, 1);
    assert_ptr_equal(a->queue->msg, b->queue->msg); /* one message again after the restart */
    assert_int_equal(c->queue_count, 2);
    assert_true(keep_payload("inline", c->queue->msg));
    assert_true(keep_payload("retained", c->queue->next->msg));
    assert_int_equal(session_drop_queued(a, keep_payload, "none"), 1);
    f->broker->store->commit(f->broker->store->ctx, 0);
    stop(f);
    assert_int_equal(sql(f, "SELECT count(*) FROM messages"), 2); /* b still has "shared" */

    assert_int_equal(start(f), 0);
    assert_int_equal(session_drop_queued(find(f, "b"), keep_payload, "none"), 1);
    assert_int_equal(session_drop_queued(find(f, "c"), keep_payload, "none"), 2);
    stop(f);
    assert_int_equal(sql(f, "SELECT count(*) FROM deliveries"), 0);
    assert_int_equal(sql(f, "SELECT count(*) FROM messages"), 1); /* the retained one */
    assert_int_equal(sql(f, "SELECT count(*) FROM retained"), 1);
}

/* A store written by the previous schema (deliveries keyed by session and seq, user_version
 * 2) is migrated on open: its deliveries come back in order, and new ones follow them. */
static void test_schema_v2_store_migrated(void **state)
{
    fixture *f = *state;
    char path[128];
    snprintf(path, sizeof path, "%s/sessions.db", f->dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    /* Version 2 as released (session_store_sqlite.c's first two migrations), with data. */
    static const char v2[] =
        "CREATE TABLE sessions(realm TEXT NOT NULL, client_id BLOB NOT NULL, auth_name TEXT NOT NULL,"
        "  expiry INTEGER NOT NULL, disconnected_at INTEGER NOT NULL, PRIMARY KEY(realm, client_id)) WITHOUT "
        "ROWID;"
        "CREATE TABLE subs(realm TEXT NOT NULL, client_id BLOB NOT NULL, filter BLOB NOT NULL,"
        "  options INTEGER NOT NULL, sub_id INTEGER NOT NULL, PRIMARY KEY(realm, client_id, filter)) WITHOUT "
        "ROWID;"
        "CREATE TABLE messages(id INTEGER PRIMARY KEY, topic BLOB NOT NULL, payload BLOB NOT NULL,"
        "  qos INTEGER NOT NULL, retain INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
        "  props_present INTEGER NOT NULL, payload_format INTEGER NOT NULL, content_type BLOB,"
        "  response_topic BLOB, correlation_data BLOB, user_props BLOB);"
        "CREATE TABLE deliveries(realm TEXT NOT NULL, client_id BLOB NOT NULL, seq INTEGER NOT NULL,"
        "  msg_id INTEGER NOT NULL, qos INTEGER NOT NULL, state INTEGER NOT NULL,"
        "  packet_id INTEGER NOT NULL, retain INTEGER NOT NULL, sub_ids BLOB, share_group TEXT,"
        "  PRIMARY KEY(realm, client_id, seq)) WITHOUT ROWID;"
        "CREATE INDEX deliveries_msg ON deliveries(msg_id);"
        "CREATE TABLE retained(realm TEXT NOT NULL, topic BLOB NOT NULL, msg_id INTEGER NOT NULL,"
        "  PRIMARY KEY(realm, topic)) WITHOUT ROWID;"
        "CREATE INDEX retained_msg ON retained(msg_id);"
        "CREATE TABLE qos2_in(realm TEXT NOT NULL, client_id BLOB NOT NULL, packet_id INTEGER NOT NULL,"
        "  PRIMARY KEY(realm, client_id, packet_id)) WITHOUT ROWID;"
        "CREATE TABLE wills(realm TEXT NOT NULL, client_id BLOB NOT NULL, msg_id INTEGER NOT NULL,"
        "  delay INTEGER NOT NULL, PRIMARY KEY(realm, client_id)) WITHOUT ROWID;"
        "CREATE INDEX wills_msg ON wills(msg_id);"
        "CREATE TABLE meta(id INTEGER PRIMARY KEY CHECK (id = 1), alive_at INTEGER NOT NULL);"
        "INSERT INTO meta(id, alive_at) VALUES(1, 0);"
        /* Client ids are blobs, as the broker binds them (X'6f6c64': "old"). */
        "INSERT INTO sessions VALUES('', X'6f6c64', '', 600, 1);"
        "INSERT INTO messages VALUES(1, 'o/1', 'first', 1, 0, 0, 0, 0, NULL, NULL, NULL, NULL);"
        "INSERT INTO messages VALUES(2, 'o/1', 'second', 1, 0, 0, 0, 0, NULL, NULL, NULL, NULL);"
        /* Two workers' counters could give two sessions the same seq: per session, in order. */
        "INSERT INTO deliveries VALUES('', X'6f6c64', 7, 2, 1, 0, 0, 0, NULL, NULL);"
        "INSERT INTO deliveries VALUES('', X'6f6c64', 3, 1, 1, 0, 0, 0, NULL, NULL);"
        "PRAGMA user_version = 2;";
    assert_int_equal(sqlite3_exec(db, v2, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    /* disconnected_at 1 (1970): long expired unless dated now. */
    char stamp[96];
    snprintf(stamp, sizeof stamp, "UPDATE sessions SET disconnected_at = %lld", (long long)wall_ms());
    sql(f, stamp);

    assert_int_equal(start(f), 0);
    session *s = find(f, "old");
    assert_non_null(s);
    assert_int_equal(s->queue_count, 2);
    assert_true(keep_payload("first", s->queue->msg));
    assert_true(keep_payload("second", s->queue->next->msg));
    session_subscribe(s, mqtt_bytes_from_cstr("o/#"), 1, 0);
    publish(f->broker, "o/1", false, "third");
    stop(f);
    assert_int_equal(sql(f, "PRAGMA user_version"), 3);

    assert_int_equal(start(f), 0);
    s = find(f, "old");
    assert_int_equal(s->queue_count, 3);
    assert_true(keep_payload("third", s->queue->next->next->msg));
    assert_int_equal(session_drop_queued(s, keep_payload, "none"), 3);
    stop(f);
    assert_int_equal(sql(f, "SELECT count(*) FROM deliveries"), 0);
    assert_int_equal(sql(f, "SELECT count(*) FROM messages"), 0);
}

static void run_until_committed(fixture *f, uint64_t seq)
{
    const session_store *st = f->broker->store;
    for (int i = 0; i < 20000 && st->committed(st->ctx) < seq; i++) {
        struct timeval tick = {0, 1000};
        event_base_loopexit(f->base, &tick);
        event_base_dispatch(f->base);
    }
    assert_true(st->committed(st->ctx) >= seq);
}

/* sync mode: batches commit on the store thread while the loop builds the next ones; each
 * commit is reported back to the loop (the acks waiting for it go). ThreadSanitizer runs this. */
static void test_sync_batches_commit_on_the_store_thread(void **state)
{
    fixture *f = *state;
    assert_int_equal(start_mode(f, NULL, PERSIST_SYNC), 0);
    f->broker->config.limits.queue_max_messages = 10000; /* 1,000 queued, no overflow */
    f->broker->config.limits.queue_max_bytes = 1 << 24;
    const session_store *st = f->broker->store;
    session *s = persistent(f->broker, "batched", 600);
    session_subscribe(s, mqtt_bytes_from_cstr("b/#"), 1, 0);
    uint64_t last = 0;
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 20; i++) {
            char p[32];
            snprintf(p, sizeof p, "m%d", round * 20 + i);
            publish(f->broker, "b/1", false, p);
        }
        assert_true(st->ack_must_wait(st->ctx, 0));
        uint64_t seq = st->commit(st->ctx, 0);
        assert_true(seq >= last);
        last = seq;
        if (round % 5 == 4) /* sometimes wait, sometimes build the next batch meanwhile */
            run_until_committed(f, seq);
    }
    run_until_committed(f, last);
    assert_false(st->ack_must_wait(st->ctx, 0));
    stop(f);

    assert_int_equal(start(f), 0);
    s = find(f, "batched");
    assert_non_null(s);
    assert_int_equal(s->queue_count, 1000);
    int i = 0;
    for (delivery *d = s->queue; d; d = d->next, i++) {
        char p[32];
        snprintf(p, sizeof p, "m%d", i);
        assert_true(keep_payload(p, d->msg));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_restart_restores_sessions_queues_and_retained, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_store_refuses_to_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deferred_delivery_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_messages_inline_or_shared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_v2_store_migrated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_batches_commit_on_the_store_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inbound_qos2_survives_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_wills_published_at_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_broker_on_the_data_dir_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_dates_expiry_from_the_heartbeat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sessions_of_unserved_namespaces_kept_until_expired, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
