/* Start-up restore of the SQLite session store: sessions with the expiry they
 * have left, their subscriptions, deliveries in order, inbound QoS 2 ids and
 * pending will, retained messages. What expired while the broker was down is
 * deleted, not restored. Any read error fails the start (session_store_sqlite_open). */
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
#include "worker.h"

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
    "DELETE FROM qos2_in WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.realm = qos2_in.realm"
    "  AND s.client_id = qos2_in.client_id);"
    "DELETE FROM wills WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.realm = wills.realm"
    "  AND s.client_id = wills.client_id);"
    "DELETE FROM messages WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.msg_id = messages.id)"
    "  AND NOT EXISTS (SELECT 1 FROM retained r WHERE r.msg_id = messages.id)"
    "  AND NOT EXISTS (SELECT 1 FROM wills w WHERE w.msg_id = messages.id);";
static const char SQL_HEARTBEAT[] = "SELECT alive_at FROM meta";
static const char SQL_SESSIONS[] =
    "SELECT realm, client_id, auth_name, expiry, disconnected_at FROM sessions";
static const char SQL_SUBS[] = "SELECT filter, options, sub_id FROM subs WHERE realm = ?1 AND client_id = ?2";
static const char SQL_QOS2[] = "SELECT packet_id FROM qos2_in WHERE realm = ?1 AND client_id = ?2";
static const char SQL_WILL[] =
    "SELECT w.delay, w.expiry, " MSG_COLS " FROM wills w JOIN messages m ON m.id = w.msg_id"
    " WHERE w.realm = ?1 AND w.client_id = ?2";
/* Every delivery in one pass, in creation order. An inline message (msg_id NULL) is in the
 * delivery's m_ columns; a shared one in messages (whose columns are NULL in the row). */
static const char SQL_DELIVERIES[] =
    "SELECT d.seq, d.realm, d.client_id, d.qos, d.state, d.packet_id, d.retain, d.sub_ids, d.share_group,"
    " d.msg_id, coalesce(m.topic, d.m_topic), coalesce(m.payload, d.m_payload), coalesce(m.qos, d.m_qos),"
    " coalesce(m.retain, d.m_retain), coalesce(m.expires_at, d.m_expires_at),"
    " coalesce(m.props_present, d.m_props_present), coalesce(m.payload_format, d.m_payload_format),"
    " coalesce(m.content_type, d.m_content_type), coalesce(m.response_topic, d.m_response_topic),"
    " coalesce(m.correlation_data, d.m_correlation_data), coalesce(m.user_props, d.m_user_props)"
    " FROM deliveries d LEFT JOIN messages m ON m.id = d.msg_id ORDER BY d.seq";
static const char SQL_RETAINED[] =
    "SELECT r.realm, r.topic, " MSG_COLS " FROM retained r JOIN messages m ON m.id = r.msg_id";
static const char SQL_DELETE_RETAINED[] = "DELETE FROM retained WHERE realm = ?1 AND topic = ?2";
static const char SQL_MAX_IDS[] =
    "SELECT (SELECT coalesce(max(id), 0) FROM messages), (SELECT coalesce(max(seq), 0) FROM deliveries)";

typedef struct restore {
    sqlstore *st;
    broker *b;
    int64_t wall_now, mono_now;
    strmap *msgs;     /* message id (8 bytes) -> broker_msg* (one reference each) */
    strmap *unserved; /* namespace not served -> unserved_count* (owned) */
    uint32_t sessions, expired, deliveries, dropped, retained, wills;
} restore;

typedef struct unserved_count {
    uint32_t kept, deleted;
} unserved_count;

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

/* The message of columns first..first+11 (MSG_COLS), shared across rows by its id (an
 * inline one, id NULL, is its row's own); NULL when it expired while the broker was down
 * (or on allocation failure, *oom). */
static broker_msg *load_message(restore *r, sqlite3_stmt *q, int first, bool *oom)
{
    int64_t id = sqlite3_column_int64(q, first);
    broker_msg *m = id ? strmap_get(r->msgs, &id, sizeof id) : NULL;
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
    /* Mapped, the map holds the reference; inline, the caller releases it. */
    if (!m || (id && strmap_put(r->msgs, &id, sizeof id, m) != 0)) {
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

static int restore_qos2(restore *r, session *s)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(r->st->db, SQL_QOS2, -1, &q, NULL) != SQLITE_OK)
        return fail(r, "inbound QoS 2");
    sqlstore_bind_key(q, s);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (session_qos2_restore(s, (uint16_t)sqlite3_column_int(q, 0)) < 0) {
            sqlite3_finalize(q);
            log_msg(LOG_ERROR, "store", "out of memory restoring inbound QoS 2 client=%s", s->client_id);
            return -1;
        }
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : fail(r, "inbound QoS 2");
}

/* The session's pending will into *will (borrowed from r->msgs): NULL when it has none, or
 * when its message expired while the broker was down (that will is deleted). */
static int load_will(restore *r, const char *realm_name, mqtt_bytes client_id, broker_msg **will,
                     uint32_t *delay, uint32_t *expiry)
{
    *will = NULL;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(r->st->db, SQL_WILL, -1, &q, NULL) != SQLITE_OK)
        return fail(r, "wills");
    sqlite3_bind_text(q, 1, realm_name, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 2, client_id.data, (int)client_id.len, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    bool oom = false;
    if (rc == SQLITE_ROW) {
        *delay = (uint32_t)sqlite3_column_int64(q, 0);
        *expiry = (uint32_t)sqlite3_column_int64(q, 1);
        *will = load_message(r, q, 2, &oom);
    }
    sqlite3_finalize(q);
    if (oom) {
        log_msg(LOG_ERROR, "store", "out of memory restoring wills");
        return -1;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return fail(r, "wills");
    if (rc == SQLITE_ROW && !*will) /* its message row goes with the final cleanup */
        sqlstore_run_keyed(r->st, S_WILL_DEL, realm_name, client_id.data, (int)client_id.len);
    return 0;
}

/* Deletes the rows of deliveries whose message expired, once the scan is over. */
static int delete_expired_deliveries(restore *r, const int64_t *seqs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sqlite3_stmt *q = sqlstore_stmt(r->st, S_DELIVERY_DEL); /* the broker's own delete */
        if (!q)
            return -1; /* logged */
        sqlite3_bind_int64(q, 1, seqs[i]);
        sqlstore_run(r->st, q);
    }
    return 0;
}

/* The session a delivery row belongs to; NULL when it is not restored (its namespace is not
 * served: the row stays; it expired: the final cleanup deletes the row). */
static session *owner_of(restore *r, sqlite3_stmt *q)
{
    const char *realm_name = (const char *)sqlite3_column_text(q, 1);
    realm *rl = realm_find(r->b, realm_name ? realm_name : "");
    return rl ? session_find(rl, col_bytes(q, 2)) : NULL;
}

/* One delivery row into its session; false when out of memory. An expired one is counted and
 * its seq kept for deletion in *expired. */
static bool restore_delivery(restore *r, sqlite3_stmt *q, session *s, int64_t **expired, size_t *n_expired,
                             size_t *cap)
{
    int64_t seq = sqlite3_column_int64(q, 0);
    if (sqlite3_column_type(q, 10) == SQLITE_NULL) { /* its message row is missing */
        log_msg(LOG_WARN, "store", "delivery without its message dropped client=%s", s->client_id);
    } else {
        bool oom = false;
        broker_msg *m = load_message(r, q, 9, &oom);
        if (oom)
            return false;
        if (m) {
            mqtt_bytes group = col_bytes(q, 8);
            delivery_spec spec = {
                .qos = (uint8_t)sqlite3_column_int(q, 3),
                .retain = sqlite3_column_int(q, 6) != 0,
                .sub_ids = sqlite3_column_blob(q, 7),
                .sub_id_count = (uint16_t)((size_t)sqlite3_column_bytes(q, 7) / sizeof(uint32_t)),
                .share_group = group.data ? group : (mqtt_bytes){0},
            };
            bool inline_msg = sqlite3_column_type(q, 9) == SQLITE_NULL;
            bool ok = session_restore_delivery(s, m, &spec, (uint8_t)sqlite3_column_int(q, 4),
                                               (uint16_t)sqlite3_column_int(q, 5), (uint64_t)seq, inline_msg);
            if (inline_msg)
                broker_msg_unref(m); /* the delivery holds its own reference */
            if (ok)
                r->deliveries++;
            return ok;
        }
        r->dropped++; /* expired while the broker was down */
        worker_ns_stats(s->worker, s->realm)->dropped[DROP_EXPIRED]++;
    }
    if (*n_expired == *cap) {
        size_t grown_cap = *cap ? *cap * 2 : 64;
        int64_t *grown = realloc(*expired, grown_cap * sizeof *grown);
        if (!grown)
            return false;
        *expired = grown;
        *cap = grown_cap;
    }
    (*expired)[(*n_expired)++] = seq;
    return true;
}

static int restore_deliveries(restore *r)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(r->st->db, SQL_DELIVERIES, -1, &q, NULL) != SQLITE_OK)
        return fail(r, "deliveries");
    int64_t *expired = NULL;
    size_t n_expired = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        session *s = owner_of(r, q);
        if (s && !restore_delivery(r, q, s, &expired, &n_expired, &cap)) {
            rc = SQLITE_NOMEM;
            break;
        }
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) {
        free(expired);
        log_msg(LOG_ERROR, "store", "cannot restore deliveries (%s)",
                rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(r->st->db));
        return -1;
    }
    rc = delete_expired_deliveries(r, expired, n_expired);
    free(expired);
    return rc;
}

/* A session of a namespace this broker does not serve: kept on disk while its expiry runs (a
 * configuration mistake must not destroy data; serving the namespace again restores it),
 * deleted once it ran out, will included (there is no namespace to publish it in). Counted
 * per namespace, logged once each at the end. */
static int keep_unserved(restore *r, const char *ns, mqtt_bytes client_id, int64_t left_ms)
{
    unserved_count *c = strmap_get(r->unserved, ns, strlen(ns));
    if (!c && (!(c = calloc(1, sizeof *c)) || strmap_put(r->unserved, ns, strlen(ns), c) != 0)) {
        free(c);
        log_msg(LOG_ERROR, "store", "out of memory restoring sessions");
        return -1;
    }
    if (left_ms > 0) {
        c->kept++;
        return 0;
    }
    c->deleted++;
    sqlstore_delete_session(r->st, ns, client_id.data, (int)client_id.len);
    return 0;
}

static void log_unserved(void *ctx, const void *key, size_t len, void *value)
{
    unserved_count *c = value;
    if (*(const bool *)ctx)
        log_msg(
            LOG_WARN, "store",
            "sessions of namespace=%.*s not restored: the namespace is not served (kept=%u, deleted=%u whose "
            "expiry ran out)",
            (int)len, (const char *)key, c->kept, c->deleted);
    free(c);
}

/* One session row: deleted when its expiry ran out while the broker was down,
 * else recreated with the time it has left. */
static int restore_session(restore *r, sqlite3_stmt *q)
{
    const char *realm_name = (const char *)sqlite3_column_text(q, 0);
    mqtt_bytes client_id = col_bytes(q, 1);
    const char *auth_name = (const char *)sqlite3_column_text(q, 2);
    int64_t expiry = sqlite3_column_int64(q, 3);
    int64_t gone_at = sqlite3_column_int64(q, 4); /* never 0 here: date_crash stamped those */
    int64_t left_ms = expiry * 1000 - (r->wall_now - gone_at);
    realm *rl = realm_find(r->b, realm_name ? realm_name : "");
    if (!rl)
        return keep_unserved(r, realm_name ? realm_name : "", client_id, left_ms);
    broker_msg *will;
    uint32_t will_delay = 0, will_expiry = 0;
    if (load_will(r, rl->name, client_id, &will, &will_delay, &will_expiry) != 0)
        return -1;
    if (left_ms <= 0 && !will) {
        r->expired++;
        worker_ns_stats(broker_home(r->b, rl, client_id), rl)->sessions_expired++;
        log_msg(LOG_INFO, "store", "session expired while down client=%.*s namespace=%s", (int)client_id.len,
                (const char *)client_id.data, rl->name);
        sqlstore_delete_session(r->st, rl->name, client_id.data, (int)client_id.len);
        return 0;
    }
    realm_take_session(rl, 0); /* no limit: a session the broker already had */
    session *s = session_create(rl, client_id);
    if (!s)
        realm_give_back_session(rl);
    if (!s || !(s->auth_name = strdup(auth_name ? auth_name : ""))) {
        log_msg(LOG_ERROR, "store", "out of memory restoring sessions");
        return -1;
    }
    s->expiry_interval = (uint32_t)expiry;
    s->stored = true;
    if (restore_subs(r, s) || restore_qos2(r, s))
        return -1;
    if (will) {
        /* The stop closed its connection: the delay ran from then, cut short by the session's
         * end. Due ones go out on the loop's first turn, once the namespace's snapshot gave the
         * session its permissions (main.c), judged like any will by can_publish. */
        int64_t wait_s = will_delay < expiry ? will_delay : expiry;
        will->origin = s->id; /* its own publish, for No Local (not shared: one row per will) */
        if (!session_restore_will(s, will, will_delay, will_expiry, gone_at + wait_s * 1000 - r->wall_now)) {
            log_msg(LOG_ERROR, "store", "cannot restore the will of client=%s", s->client_id);
            return -1;
        }
        r->wills++;
    }
    if (left_ms <= 0)
        log_msg(LOG_INFO, "store",
                "session expired while down client=%s namespace=%s: ends at start, will first", s->client_id,
                rl->name);
    /* An expired session with a will ends on the loop's first turn, publishing it then. */
    if (!session_arm_expiry(s, left_ms > 0 ? (uint32_t)((left_ms + 999) / 1000) : 0)) {
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
        /* Every worker continues past it (its counter is the seq without the worker bits): a
         * session may have a new home if the worker count changed. */
        for (int i = 0; i < r->b->worker_count; i++)
            if ((seq >> WORKER_ID_BITS) > r->b->workers[i]->next_delivery_seq)
                r->b->workers[i]->next_delivery_seq = seq >> WORKER_ID_BITS;
    }
    sqlite3_finalize(q);
    return rc == SQLITE_ROW ? 0 : fail(r, "ids");
}

/* Sessions still marked connected (disconnected_at 0) were connected when the broker died
 * without closing the store: they went away at its last heartbeat (now when it has none: a
 * store from before the heartbeat). Stamped in the store too, so that a second crash does not
 * date them again from a later heartbeat. */
static int date_crash(restore *r)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(r->st->db, SQL_HEARTBEAT, -1, &q, NULL) != SQLITE_OK)
        return fail(r, "heartbeat");
    int rc = sqlite3_step(q);
    int64_t alive_at = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW)
        return fail(r, "heartbeat");
    int64_t gone_at = alive_at > 0 && alive_at < r->wall_now ? alive_at : r->wall_now;
    if (!(q = sqlstore_stmt(r->st, S_STAMP_CONNECTED)))
        return -1;
    sqlite3_bind_int64(q, 1, gone_at);
    if (!sqlstore_run(r->st, q))
        return -1;
    int crashed = sqlite3_changes(r->st->db);
    if (crashed > 0)
        log_msg(LOG_WARN, "store",
                "the broker stopped without closing the store (crash): %d sessions connected then count "
                "their expiry from its last heartbeat, %lld ms ago",
                crashed, (long long)(r->wall_now - gone_at));
    return 0;
}

static void unref_msg(void *ctx, const void *key, size_t len, void *value)
{
    (void)ctx, (void)key, (void)len;
    broker_msg_unref(value);
}

int sqlstore_restore(sqlstore *st)
{
    restore r = {.st = st, .b = st->broker, .wall_now = sqlstore_wall_ms(), .mono_now = broker_now_ms()};
    if (!(r.msgs = strmap_new()) || !(r.unserved = strmap_new())) {
        strmap_free(r.msgs);
        return -1;
    }
    /* Deletions (expired sessions and messages) go in one transaction. */
    sqlstore_begin(st);
    char *err = NULL;
    int rc = -1;
    if (sqlite3_exec(st->db, SQL_CLEAN, NULL, NULL, &err) != SQLITE_OK) {
        log_msg(LOG_ERROR, "store", "cannot read session store %s: %s", st->path, err ? err : "?");
        sqlite3_free(err);
    } else if (date_crash(&r) == 0 && read_max_ids(&r) == 0 && restore_sessions(&r) == 0 &&
               restore_deliveries(&r) == 0 && restore_retained(&r) == 0) {
        /* Messages of deliveries that expired: their last reference went above. */
        rc = sqlite3_exec(st->db, SQL_CLEAN, NULL, NULL, NULL) == SQLITE_OK ? 0 : fail(&r, "cleanup");
    }
    strmap_foreach(r.msgs, unref_msg, NULL);
    strmap_free(r.msgs);
    bool restored = rc == 0;
    strmap_foreach(r.unserved, log_unserved, &restored);
    strmap_free(r.unserved);
    if (rc == 0)
        log_msg(LOG_INFO, "store",
                "restored sessions=%u deliveries=%u retained=%u wills=%u expired_sessions=%u "
                "expired_messages=%u",
                r.sessions, r.deliveries, r.retained, r.wills, r.expired, r.dropped);
    return rc;
}
