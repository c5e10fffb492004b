/* Start-up restore of the SQLite session store: sessions with the expiry they
 * have left, their subscriptions and deliveries in order, retained messages.
 * What expired while the broker was down is deleted, not restored. Any read
 * error fails the start (session_store_sqlite_open). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "log.h"
#include "realm.h"
#include "retain_store.h"
#include "session.h"
#include "session_store_sqlite_int.h"
#include "strmap.h"

/* Restore-only statements: prepared, used once, finalized. */
#define MSG_COLS                                                                                             \
    "m.id, m.topic, m.payload, m.qos, m.retain, m.expires_at, m.props_present, m.payload_format,"            \
    " m.content_type, m.response_topic, m.correlation_data, m.user_props"
static const char SQL_CLEAN[] =
    /* Rows a crash between two statements could leave without their owner. */
    "DELETE FROM subs WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.realm = subs.realm"
    "  AND s.client_id = subs.client_id);"
    "DELETE FROM deliveries WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.realm = deliveries.realm"
    "  AND s.client_id = deliveries.client_id);"
    "DELETE FROM messages WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.msg_id = messages.id)"
    "  AND NOT EXISTS (SELECT 1 FROM retained r WHERE r.msg_id = messages.id);";
static const char SQL_SESSIONS[] =
    "SELECT realm, client_id, auth_name, expiry, disconnected_at FROM sessions";
static const char SQL_SUBS[] = "SELECT filter, options, sub_id FROM subs WHERE realm = ?1 AND client_id = ?2";
static const char SQL_DELIVERIES[] =
    "SELECT d.seq, d.qos, d.state, d.packet_id, d.retain, d.sub_ids, d.share_group, " MSG_COLS
    " FROM deliveries d JOIN messages m ON m.id = d.msg_id"
    " WHERE d.realm = ?1 AND d.client_id = ?2 ORDER BY d.seq";
static const char SQL_RETAINED[] =
    "SELECT r.realm, r.topic, " MSG_COLS " FROM retained r JOIN messages m ON m.id = r.msg_id";
static const char SQL_DELETE_RETAINED[] = "DELETE FROM retained WHERE realm = ?1 AND topic = ?2";
static const char SQL_MAX_IDS[] =
    "SELECT (SELECT coalesce(max(id), 0) FROM messages), (SELECT coalesce(max(seq), 0) FROM deliveries)";

typedef struct restore {
    sqlstore *st;
    broker *b;
    int64_t wall_now, mono_now;
    strmap *msgs; /* message id (8 bytes) -> broker_msg* (one reference each) */
    uint32_t sessions, expired, deliveries, dropped, retained;
} restore;

static int fail(restore *r, const char *what)
{
    log_msg(LOG_ERROR, "store", "cannot read session store %s (%s): %s", r->st->path, what,
            sqlite3_errmsg(r->st->db));
    return -1;
}

static mqtt_bytes col_bytes(sqlite3_stmt *q, int i)
{
    const void *p = sqlite3_column_blob(q, i);
    return (mqtt_bytes){p, (uint32_t)sqlite3_column_bytes(q, i)};
}

/* The message of columns first..first+11 (MSG_COLS), shared across rows; NULL
 * when it expired while the broker was down (or on allocation failure, *oom). */
static broker_msg *load_message(restore *r, sqlite3_stmt *q, int first, bool *oom)
{
    int64_t id = sqlite3_column_int64(q, first);
    broker_msg *m = strmap_get(r->msgs, &id, sizeof id);
    if (m)
        return m;
    int64_t expires_at = sqlite3_column_int64(q, first + 5);
    if (expires_at && expires_at <= r->wall_now)
        return NULL;
    mqtt_properties props = {0};
    props.present = (uint64_t)sqlite3_column_int64(q, first + 6);
    props.payload_format_indicator = (uint8_t)sqlite3_column_int(q, first + 7);
    props.content_type = col_bytes(q, first + 8);
    props.response_topic = col_bytes(q, first + 9);
    props.correlation_data = col_bytes(q, first + 10);
    props.block = col_bytes(q, first + 11);
    /* The expiry is set below from the stored deadline, not from an interval. */
    props.present &= ~MQTT_PROP_BIT(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL);
    m = broker_msg_new_raw(col_bytes(q, first + 1), col_bytes(q, first + 2),
                           (uint8_t)sqlite3_column_int(q, first + 3), sqlite3_column_int(q, first + 4) != 0,
                           &props, 0, r->mono_now);
    if (!m || strmap_put(r->msgs, &id, sizeof id, m) != 0) {
        broker_msg_unref(m);
        *oom = true;
        return NULL;
    }
    /* Time passed while down is taken off: the deadline is wall-clock. */
    m->expires_at_ms = expires_at ? r->mono_now + (expires_at - r->wall_now) : 0;
    m->store_id = (uint64_t)id;
    return m;
}

static int restore_subs(restore *r, session *s)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(r->st->db, SQL_SUBS, -1, &q, NULL) != SQLITE_OK)
        return fail(r, "subscriptions");
    sqlstore_bind_key(q, s);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        mqtt_bytes filter = col_bytes(q, 0);
        if (session_subscribe(s, filter, (uint8_t)sqlite3_column_int(q, 1),
                              (uint32_t)sqlite3_column_int64(q, 2)) < 0) {
            sqlite3_finalize(q);
            log_msg(LOG_ERROR, "store", "out of memory restoring subscriptions client=%s", s->client_id);
            return -1;
        }
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : fail(r, "subscriptions");
}

static void delete_delivery_row(restore *r, session *s, int64_t seq)
{
    sqlite3_stmt *q = sqlstore_stmt(r->st, S_DELIVERY_DEL);
    sqlstore_bind_key(q, s);
    if (q)
        sqlite3_bind_int64(q, 3, seq);
    sqlstore_run(r->st, q);
}

static int restore_deliveries(restore *r, session *s)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(r->st->db, SQL_DELIVERIES, -1, &q, NULL) != SQLITE_OK)
        return fail(r, "deliveries");
    sqlstore_bind_key(q, s);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(q, 0);
        bool oom = false;
        broker_msg *m = load_message(r, q, 7, &oom);
        if (oom)
            break;
        if (!m) { /* expired while the broker was down */
            r->dropped++;
            s->broker->stats.messages_expired++;
            delete_delivery_row(r, s, seq);
            continue;
        }
        mqtt_bytes group = col_bytes(q, 6);
        delivery_spec spec = {
            .qos = (uint8_t)sqlite3_column_int(q, 1),
            .retain = sqlite3_column_int(q, 4) != 0,
            .sub_ids = sqlite3_column_blob(q, 5),
            .sub_id_count = (uint16_t)((size_t)sqlite3_column_bytes(q, 5) / sizeof(uint32_t)),
            .share_group = group.data ? group : (mqtt_bytes){0},
        };
        if (!session_restore_delivery(s, m, &spec, (uint8_t)sqlite3_column_int(q, 2),
                                      (uint16_t)sqlite3_column_int(q, 3), (uint64_t)seq)) {
            rc = SQLITE_NOMEM;
            break;
        }
        r->deliveries++;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) {
        log_msg(LOG_ERROR, "store", "cannot restore the deliveries of client=%s (%s)", s->client_id,
                rc == SQLITE_ROW || rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(r->st->db));
        return -1;
    }
    return 0;
}

/* One session row: deleted when its expiry ran out while the broker was down,
 * else recreated with the time it has left. */
static int restore_session(restore *r, sqlite3_stmt *q)
{
    const char *realm_name = (const char *)sqlite3_column_text(q, 0);
    mqtt_bytes client_id = col_bytes(q, 1);
    const char *auth_name = (const char *)sqlite3_column_text(q, 2);
    int64_t expiry = sqlite3_column_int64(q, 3);
    int64_t gone_at = sqlite3_column_int64(q, 4);
    /* Connected when the broker crashed (a clean stop stamps it): the full expiry, from now. */
    int64_t left_ms = expiry * 1000 - (gone_at ? r->wall_now - gone_at : 0);
    realm *rl = realm_find(r->b, realm_name ? realm_name : "");
    if (!rl) {
        /* Kept on disk: the namespace may be served again after a configuration change. */
        log_msg(LOG_WARN, "store",
                "session not restored client=%.*s namespace=%s reason=namespace-not-served",
                (int)client_id.len, (const char *)client_id.data, realm_name ? realm_name : "");
        return 0;
    }
    if (left_ms <= 0) {
        r->expired++;
        r->b->stats.sessions_expired++;
        log_msg(LOG_INFO, "store", "session expired while down client=%.*s namespace=%s", (int)client_id.len,
                (const char *)client_id.data, rl->name);
        sqlstore_delete_session(r->st, rl->name, client_id.data, (int)client_id.len);
        return 0;
    }
    session *s = session_create(rl, client_id);
    if (!s || !(s->auth_name = strdup(auth_name ? auth_name : ""))) {
        log_msg(LOG_ERROR, "store", "out of memory restoring sessions");
        return -1;
    }
    s->expiry_interval = (uint32_t)expiry;
    s->stored = true;
    if (restore_subs(r, s) || restore_deliveries(r, s))
        return -1;
    if (!session_arm_expiry(s, (uint32_t)((left_ms + 999) / 1000))) {
        log_msg(LOG_ERROR, "store", "cannot arm the expiry of client=%s", s->client_id);
        return -1;
    }
    r->sessions++;
    return 0;
}

static int restore_sessions(restore *r)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(r->st->db, SQL_SESSIONS, -1, &q, NULL) != SQLITE_OK)
        return fail(r, "sessions");
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (restore_session(r, q) != 0) {
            sqlite3_finalize(q);
            return -1;
        }
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : fail(r, "sessions");
}

static int restore_retained(restore *r)
{
    sqlite3_stmt *q, *del;
    if (sqlite3_prepare_v2(r->st->db, SQL_RETAINED, -1, &q, NULL) != SQLITE_OK)
        return fail(r, "retained");
    if (sqlite3_prepare_v2(r->st->db, SQL_DELETE_RETAINED, -1, &del, NULL) != SQLITE_OK) {
        sqlite3_finalize(q);
        return fail(r, "retained");
    }
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *realm_name = (const char *)sqlite3_column_text(q, 0);
        realm *rl = realm_find(r->b, realm_name ? realm_name : "");
        if (!rl)
            continue; /* kept, like the sessions of a namespace not served */
        bool oom = false;
        broker_msg *m = load_message(r, q, 2, &oom);
        if (oom || (m && retain_store_set(rl->retained, col_bytes(q, 1), m) != 0)) {
            rc = SQLITE_NOMEM;
            break;
        }
        if (m) {
            r->retained++;
            continue;
        }
        /* Expired while down. Deleted after the read (not under the open cursor). */
        sqlite3_bind_text(del, 1, rl->name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_blob(del, 2, col_bytes(q, 1).data, (int)col_bytes(q, 1).len, SQLITE_TRANSIENT);
        sqlstore_run(r->st, del);
        sqlite3_clear_bindings(del);
    }
    sqlite3_finalize(q);
    sqlite3_finalize(del);
    if (rc != SQLITE_DONE) {
        log_msg(LOG_ERROR, "store", "cannot restore retained messages (%s)",
                rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(r->st->db));
        return -1;
    }
    return 0;
}

static int read_max_ids(restore *r)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(r->st->db, SQL_MAX_IDS, -1, &q, NULL) != SQLITE_OK)
        return fail(r, "ids");
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        r->st->next_msg_id = (uint64_t)sqlite3_column_int64(q, 0);
        uint64_t seq = (uint64_t)sqlite3_column_int64(q, 1);
        if (seq > r->b->next_delivery_seq)
            r->b->next_delivery_seq = seq;
    }
    sqlite3_finalize(q);
    return rc == SQLITE_ROW ? 0 : fail(r, "ids");
}

static void unref_msg(void *ctx, const void *key, size_t len, void *value)
{
    (void)ctx, (void)key, (void)len;
    broker_msg_unref(value);
}

int sqlstore_restore(sqlstore *st)
{
    restore r = {.st = st, .b = st->broker, .wall_now = sqlstore_wall_ms(), .mono_now = broker_now_ms()};
    if (!(r.msgs = strmap_new()))
        return -1;
    /* Deletions (expired sessions and messages) go in one transaction. */
    sqlstore_begin(st);
    char *err = NULL;
    int rc = -1;
    if (sqlite3_exec(st->db, SQL_CLEAN, NULL, NULL, &err) != SQLITE_OK) {
        log_msg(LOG_ERROR, "store", "cannot read session store %s: %s", st->path, err ? err : "?");
        sqlite3_free(err);
    } else if (read_max_ids(&r) == 0 && restore_sessions(&r) == 0 && restore_retained(&r) == 0) {
        /* Messages of deliveries that expired: their last reference went above. */
        rc = sqlite3_exec(st->db, SQL_CLEAN, NULL, NULL, NULL) == SQLITE_OK ? 0 : fail(&r, "cleanup");
    }
    strmap_foreach(r.msgs, unref_msg, NULL);
    strmap_free(r.msgs);
    if (rc == 0)
        log_msg(LOG_INFO, "store",
                "restored sessions=%u deliveries=%u retained=%u expired_sessions=%u expired_messages=%u",
                r.sessions, r.deliveries, r.retained, r.expired, r.dropped);
    return rc;
}
