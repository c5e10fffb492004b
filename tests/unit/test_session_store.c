/* The persistence seam: what the broker tells its session store, driven
 * through real sessions of a real broker instance (no sockets needed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "broker.h"
#include "mqtt_topic.h"
#include "realm.h"
#include "session.h"
#include "worker.h"
#include "session_store.h"

typedef struct recording {
    int session_saved, session_deleted, delivery_saved, delivery_deleted, retained_saved, retained_deleted;
    int qos2_saved, qos2_deleted, will_saved, will_deleted;
} recording;

static void rec_session_saved(void *ctx, const struct session *s)
{
    (void)s;
    ((recording *)ctx)->session_saved++;
}

static void rec_session_deleted(void *ctx, const struct session *s)
{
    (void)s;
    ((recording *)ctx)->session_deleted++;
}

static void rec_delivery_saved(void *ctx, const struct session *s, const struct delivery *d)
{
    (void)s;
    assert_true(d->qos > 0); /* QoS 0 never reaches the store */
    ((recording *)ctx)->delivery_saved++;
}

static void rec_delivery_deleted(void *ctx, const struct session *s, const struct delivery *d)
{
    (void)s, (void)d;
    ((recording *)ctx)->delivery_deleted++;
}

static void rec_qos2(void *ctx, const struct session *s, uint16_t packet_id, bool pending)
{
    (void)s, (void)packet_id;
    if (pending)
        ((recording *)ctx)->qos2_saved++;
    else
        ((recording *)ctx)->qos2_deleted++;
}

static void rec_will(void *ctx, const struct session *s)
{
    if (s->will)
        ((recording *)ctx)->will_saved++;
    else
        ((recording *)ctx)->will_deleted++;
}

static void rec_retained(void *ctx, const struct realm *r, mqtt_bytes topic, const broker_msg *m)
{
    (void)r, (void)topic;
    if (m)
        ((recording *)ctx)->retained_saved++;
    else
        ((recording *)ctx)->retained_deleted++;
}

static void rec_noop(void *ctx)
{
    (void)ctx;
}

static void rec_noop_session(void *ctx, const struct session *s)
{
    (void)ctx, (void)s;
}

static uint64_t rec_zero(void *ctx)
{
    (void)ctx;
    return 0;
}

static uint64_t rec_commit(void *ctx, int worker)
{
    (void)ctx, (void)worker;
    return 0;
}

static bool rec_never(void *ctx, int worker)
{
    (void)ctx, (void)worker;
    return false;
}

typedef struct fixture {
    struct event_base *base;
    broker *broker;
    recording rec;
    session_store store;
} fixture;

static int setup(void **state)
{
    static fixture f;
    memset(&f, 0, sizeof f);
    broker_config cfg;
    config_defaults(&cfg);
    cfg.limits.queue_max_messages = 3;
    f.base = event_base_new();
    f.broker = broker_new(f.base, &cfg);
    f.store = (session_store){.ctx = &f.rec,
                              .session_saved = rec_session_saved,
                              .session_deleted = rec_session_deleted,
                              .session_closing = rec_noop_session,
                              .delivery_saved = rec_delivery_saved,
                              .delivery_deleted = rec_delivery_deleted,
                              .qos2_saved = rec_qos2,
                              .will_saved = rec_will,
                              .retained_saved = rec_retained,
                              .ack_must_wait = rec_never,
                              .commit = rec_commit,
                              .committed = rec_zero,
                              .close = rec_noop};
    f.broker->store = &f.store;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    broker_free(f->broker);
    event_base_free(f->base);
    return 0;
}

static broker_msg *message(const char *topic, uint8_t qos, bool retain, const char *payload)
{
    return broker_msg_new_raw(mqtt_bytes_from_cstr(topic), mqtt_bytes_from_cstr(payload), qos, retain, NULL,
                              0, 0);
}

static void publish(broker *b, const char *topic, uint8_t qos, bool retain, const char *payload)
{
    broker_msg *m = message(topic, qos, retain, payload);
    broker_publish(b->workers[0], b->realms[0], m, NULL, NULL);
    broker_msg_unref(m);
}

static void test_clean_session_never_stored(void **state)
{
    fixture *f = *state;
    session *s = session_create(f->broker->realms[0], mqtt_bytes_from_cstr("clean"));
    s->expiry_interval = 0;
    session_save(s);
    assert_int_equal(session_subscribe(s, mqtt_bytes_from_cstr("a/#"), 1, 0), 1);
    publish(f->broker, "a/b", 1, false, "x");
    assert_int_equal(s->queue_count, 1); /* queued in memory, disconnected */
    session_destroy(s);
    assert_int_equal(f->rec.session_saved + f->rec.session_deleted + f->rec.delivery_saved, 0);
    assert_int_equal(f->rec.delivery_deleted, 0);
}

static void test_persistent_session_and_deliveries(void **state)
{
    fixture *f = *state;
    session *s = session_create(f->broker->realms[0], mqtt_bytes_from_cstr("durable"));
    s->expiry_interval = 60;
    session_save(s);
    assert_int_equal(f->rec.session_saved, 1);
    session_subscribe(s, mqtt_bytes_from_cstr("t/+"), 1, 0);
    assert_int_equal(f->rec.session_saved, 2);
    publish(f->broker, "t/1", 1, false, "one");
    publish(f->broker, "t/2", 0, false, "qos0 is dropped for an offline session, never stored");
    assert_int_equal(f->rec.delivery_saved, 1);
    assert_int_equal(s->queue_count, 1);
    assert_true(session_unsubscribe(s, mqtt_bytes_from_cstr("t/+")));
    assert_int_equal(f->rec.session_saved, 3);
    session_destroy(s);
    assert_int_equal(f->rec.session_deleted, 1);
}

/* A persistent session (expiry 60 s) subscribed to `filter` at QoS 1, disconnected. */
static session *persistent_subscriber(fixture *f, const char *client_id, const char *filter)
{
    session *s = session_create(f->broker->realms[0], mqtt_bytes_from_cstr(client_id));
    s->expiry_interval = 60;
    session_save(s);
    session_subscribe(s, mqtt_bytes_from_cstr(filter), 1, 0);
    return s;
}

/* The counters of the (only) realm, every worker summed. */
static ns_stats stats_of(fixture *f)
{
    ns_stats total;
    broker_ns_stats_total(f->broker, 0, &total);
    return total;
}

/* A message whose expiry passed before its onward delivery started is not delivered, not
 * queued and not stored [MQTT-3.3.2-5]. */
static void test_expired_message_not_delivered(void **state)
{
    fixture *f = *state;
    session *s = persistent_subscriber(f, "late", "e");
    broker_msg *m = message("e", 1, false, "stale");
    m->expires_at_ms = broker_now_ms() - 1;
    delivery_spec spec = {.qos = 1};
    assert_false(session_deliver(s, m, &spec));
    broker_msg_unref(m);
    assert_int_equal(s->queue_count, 0);
    assert_int_equal(f->rec.delivery_saved, 0);
    assert_int_equal(stats_of(f).dropped[DROP_EXPIRED], 1);
    session_destroy(s);
}

static void test_overflow_deletes_the_session(void **state)
{
    fixture *f = *state;
    session *s = persistent_subscriber(f, "overflowing", "q");
    for (int i = 0; i < 4; i++) /* the queue holds 3 */
        publish(f->broker, "q", 1, false, "m");
    assert_int_equal(f->rec.delivery_saved, 3);
    assert_true(s->overflowed);
    event_base_loop(f->base, EVLOOP_NONBLOCK); /* the session ends on the next loop turn */
    assert_null(session_find(f->broker->realms[0], mqtt_bytes_from_cstr("overflowing")));
    assert_int_equal(f->rec.session_deleted, 1);
    assert_int_equal(stats_of(f).sessions_dropped_overflow, 1);
}

static void test_retained_saved_and_deleted(void **state)
{
    fixture *f = *state;
    publish(f->broker, "r/1", 1, true, "kept");
    publish(f->broker, "r/1", 0, false, "not retained");
    publish(f->broker, "r/1", 0, true, "");
    assert_int_equal(f->rec.retained_saved, 1);
    assert_int_equal(f->rec.retained_deleted, 1);
}

static void test_qos2_and_will_of_persistent_sessions_only(void **state)
{
    fixture *f = *state;
    session *clean = session_create(f->broker->realms[0], mqtt_bytes_from_cstr("clean"));
    session *kept = session_create(f->broker->realms[0], mqtt_bytes_from_cstr("kept"));
    kept->expiry_interval = 60;
    session_save(kept);
    for (int i = 0; i < 2; i++) {
        session *s = i ? kept : clean;
        assert_int_equal(session_qos2_add(s, 7, false), 1);
        assert_int_equal(session_qos2_add(s, 7, true), 0); /* a resend: already pending, not stored again */
        assert_true(session_qos2_remove(s, 7));
        assert_false(session_qos2_remove(s, 7)); /* unknown id: nothing to release */
        session_set_will(s, message("will/x", 1, false, "gone"), 5, 0);
        session_clear_will(s);
        session_clear_will(s); /* no will left: nothing to tell the store */
    }
    assert_int_equal(f->rec.qos2_saved, 1);
    assert_int_equal(f->rec.qos2_deleted, 1);
    assert_int_equal(f->rec.will_saved, 1);
    assert_int_equal(f->rec.will_deleted, 1);
    /* A published will leaves the store once published. */
    session_set_will(kept, message("will/x", 1, false, "gone"), 0, 0);
    session_trigger_will(kept);
    assert_null(kept->will);
    assert_int_equal(f->rec.will_saved, 2);
    assert_int_equal(f->rec.will_deleted, 2);
    /* A broker stopping leaves the will on disk for the restart. */
    session_set_will(kept, message("will/x", 1, false, "gone"), 0, 0);
    f->broker->shutting_down = true;
    session_clear_will(kept);
    assert_int_equal(f->rec.will_deleted, 2);
    f->broker->shutting_down = false;
    session_destroy(clean);
    session_destroy(kept);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_clean_session_never_stored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persistent_session_and_deliveries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_message_not_delivered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overflow_deletes_the_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retained_saved_and_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qos2_and_will_of_persistent_sessions_only, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
