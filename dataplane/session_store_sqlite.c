/* The disk-backed session store (session_store_sqlite.h). Every statement is
 * prepared from a fixed text and bound with values: no SQL is built from input. */
#include "session_store_sqlite.h"

#include <errno.h>
#include <stdatomic.h>
#include <event2/event.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"
#include "realm.h"
#include "session.h"
#include "session_store.h"
#include "session_store_sqlite_int.h"
#include "worker.h"

/* The idle heartbeat's period floor: expiry is counted in seconds, so a finer one would only
 * add commits (an fsync each in sync mode) to an idle broker. */
#define HEARTBEAT_MIN_MS 1000

/* The highest ?N of `sql`: the parameters an operation on it carries. */
static uint8_t highest_param(const char *sql)
{
    long most = 0;
    for (const char *p = strchr(sql, '?'); p; p = strchr(p + 1, '?')) {
        long n = strtol(p + 1, NULL, 10);
        if (n > most)
            most = n;
    }
    return (uint8_t)most;
}

int64_t sqlstore_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

sqlite3_stmt *sqlstore_stmt(sqlstore *st, enum sqlstore_stmt id)
{
    if (!st->stmts[id] && sqlite3_prepare_v3(st->db, sqlstore_stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                             &st->stmts[id], NULL) != SQLITE_OK) {
        log_msg(LOG_ERROR, "store", "prepare: %s", sqlite3_errmsg(st->db));
        return NULL;
    }
    sqlite3_reset(st->stmts[id]);
    sqlite3_clear_bindings(st->stmts[id]);
    return st->stmts[id];
}

/* Steps a write statement to its end. A failed write cannot be undone for the
 * clients already answered, so it is logged (the first ones, then counted). */
bool sqlstore_run(sqlstore *st, sqlite3_stmt *s)
{
    if (!s)
        return false;
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        return true;
    if (atomic_fetch_add_explicit(&st->errors_logged, 1, memory_order_relaxed) < 10)
        log_msg(LOG_ERROR, "store", "write failed: %s", sqlite3_errmsg(st->db));
    return false;
}

void sqlstore_bind_key(sqlite3_stmt *s, const struct session *ses)
{
    if (!s)
        return;
    sqlite3_bind_text(s, 1, ses->realm->name, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, ses->client_id, (int)ses->client_id_len, SQLITE_STATIC);
}

static void write_delivery(sqlstore *st, const session *s, delivery *d, bool inline_msg);

/* The per-worker part of session `s`: its home worker's. */
static struct store_worker *home_of(sqlstore *st, const session *s)
{
    return &st->workers[s->worker->index];
}

/* Writes pending entry `p` into the batch being built, with the delivery's state now. */
static void seal_one(sqlstore *st, struct pending_put *p, bool inline_msg)
{
    write_delivery(st, p->s, p->d, inline_msg);
    p->d->store_slot = 0;
    p->d->store_written = true;
    *p = (struct pending_put){0};
}

/* Counts the pending deliveries of each message (open addressing on the message pointer, in
 * st->seal_counts): a message that only one of them carries goes inline in its row. A message
 * pending on two workers goes inline in both rows: each seals its own. */
static uint32_t *count_slot(sqlstore *st, const broker_msg *m, uint32_t mask)
{
    uintptr_t h = ((uintptr_t)m >> 4) * 0x9E3779B97F4A7C15ULL;
    for (uint32_t i = (uint32_t)(h >> 32) & mask;; i = (i + 1) & mask)
        if (!st->seal_keys[i] || st->seal_keys[i] == m) {
            st->seal_keys[i] = m;
            return &st->seal_counts[i];
        }
}

/* Room for twice `count` entries, zeroed; false when there is none (no inlining then). */
static bool seal_table(sqlstore *st, uint32_t count, uint32_t *mask)
{
    uint32_t cap = 64;
    while (cap < count * 2)
        cap *= 2;
    if (cap > st->seal_cap) {
        const broker_msg **keys = realloc(st->seal_keys, cap * sizeof *keys);
        if (keys)
            st->seal_keys = keys;
        uint32_t *counts = keys ? realloc(st->seal_counts, cap * sizeof *counts) : NULL;
        if (!counts)
            return false;
        st->seal_counts = counts;
        st->seal_cap = cap;
    }
    memset(st->seal_keys, 0, cap * sizeof *st->seal_keys);
    memset(st->seal_counts, 0, cap * sizeof *st->seal_counts);
    *mask = cap - 1;
    return true;
}

void sqlstore_seal(sqlstore *st, int index)
{
    struct store_worker *sw = &st->workers[index];
    if (!sw->pending_count)
        return;
    uint32_t mask = 0;
    bool counted = seal_table(st, sw->pending_count, &mask);
    if (counted)
        for (uint32_t i = 0; i < sw->pending_count; i++)
            if (sw->pending[i].d)
                ++*count_slot(st, sw->pending[i].d->msg, mask);
    for (uint32_t i = 0; i < sw->pending_count; i++) {
        const delivery *d = sw->pending[i].d;
        if (d)
            seal_one(st, &sw->pending[i], counted && !d->msg->store_id && *count_slot(st, d->msg, mask) == 1);
    }
    sw->pending_count = 0;
}

/* A broker stopping is about to free session `s`: what it has pending is written now, while it
 * exists, so the restart finds it. Not inline: another session may share the message. */
static void session_closing(void *ctx, const session *s)
{
    sqlstore *st = ctx;
    struct store_worker *sw = home_of(st, s);
    for (uint32_t i = 0; i < sw->pending_count; i++)
        if (sw->pending[i].d && sw->pending[i].s == s)
            seal_one(st, &sw->pending[i], false);
}

bool sqlstore_commit(sqlstore *st)
{
    if (!st->in_tx)
        return false;
    st->in_tx = false;
    /* Every commit dates the broker alive: after a crash, the sessions it left connected count
     * their expiry from here (sqlstore_restore). One row, in a transaction already paid for. */
    sqlite3_stmt *q = sqlstore_stmt(st, S_HEARTBEAT);
    if (q)
        sqlite3_bind_int64(q, 1, sqlstore_wall_ms());
    sqlstore_run(st, q);
    return sqlstore_run(st, sqlstore_stmt(st, S_COMMIT));
}

/* Periodic, on the worker's own thread: its pending deliveries join the batch being built, which
 * goes to the store thread. */
static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct store_worker *sw = arg;
    sqlstore *st = sw->st;
    pthread_mutex_lock(&st->loop_mu);
    sqlstore_seal(st, sw->index);
    /* The persistent ticks of worker threads find nothing to do when idle. */
    if (!st->threaded || !sqlstore_building_empty(st) || st->submit_wanted)
        sqlstore_submit(st);
    pthread_mutex_unlock(&st->loop_mu);
}

/* An idle broker commits nothing: this keeps the heartbeat at most a period old. */
static void heartbeat_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    sqlstore *st = arg;
    pthread_mutex_lock(&st->loop_mu);
    if (sqlstore_building_empty(st) && !st->running) { /* else a commit due within the interval writes it */
        st->heartbeat_due = true;
        sqlstore_submit(st);
    }
    pthread_mutex_unlock(&st->loop_mu);
}

/* Opens the group-commit transaction the first write of an interval needs. */
void sqlstore_begin(sqlstore *st)
{
    if (st->in_tx)
        return;
    if (sqlstore_run(st, sqlstore_stmt(st, S_BEGIN)))
        st->in_tx = true;
}

void sqlstore_arm_commit(sqlstore *st)
{
    /* With worker threads the ticks run all the time (armed at open): which worker wrote is
     * not known here, and a thread may only touch its own loop's events. */
    struct event *tick = st->workers[0].tick;
    if (st->threaded || !tick || evtimer_pending(tick, NULL))
        return;
    struct timeval tv = {st->interval_ms / 1000, (st->interval_ms % 1000) * 1000};
    evtimer_add(tick, &tv);
}

/* The operation for statement `id` keyed by session `s`. */
static store_op *keyed_op(sqlstore *st, enum sqlstore_stmt id, const session *s)
{
    store_op *q = sqlstore_op(st, id);
    op_key(st, q, s->realm->name, s->client_id, s->client_id_len);
    return q;
}

static void save_session(void *ctx, const session *s)
{
    sqlstore *st = ctx;
    if (st->restoring)
        return;
    store_op *q = keyed_op(st, S_SESSION_PUT, s);
    op_text(st, q, 3, s->auth_name ? s->auth_name : "");
    op_int(q, 4, s->expiry_interval);
    op_int(q, 5, s->conn ? 0 : sqlstore_wall_ms());
    /* Subscriptions change rarely (SUBSCRIBE, UNSUBSCRIBE, CONNECT): rewritten whole. */
    keyed_op(st, S_SUBS_DEL, s);
    for (uint32_t i = 0; i < s->sub_count; i++) {
        q = keyed_op(st, S_SUB_PUT, s);
        op_bytes(st, q, 3, (mqtt_bytes){(const uint8_t *)s->subs[i].filter, s->subs[i].filter_len});
        op_int(q, 4, s->subs[i].options);
        op_int(q, 5, s->subs[i].subscription_id);
    }
}

bool sqlstore_run_keyed(sqlstore *st, enum sqlstore_stmt id, const char *realm, const void *client_id,
                        int client_id_len)
{
    sqlite3_stmt *q = sqlstore_stmt(st, id);
    if (!q)
        return false;
    sqlite3_bind_text(q, 1, realm, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 2, client_id, client_id_len, SQLITE_STATIC);
    return sqlstore_run(st, q);
}

/* The rows keyed by the session. Its deliveries are keyed by seq alone: the broker deletes
 * them one by one (delete_session), the restore with its final cleanup. The will's message
 * before the will, so the query can still find it. */
static const enum sqlstore_stmt delete_session_order[] = {S_WILL_MSG_DEL, S_WILL_DEL, S_SESSION_QOS2_DEL,
                                                          S_SUBS_DEL, S_SESSION_DEL};

void sqlstore_delete_session(sqlstore *st, const char *realm, const void *client_id, int client_id_len)
{
    for (size_t i = 0; i < sizeof delete_session_order / sizeof delete_session_order[0]; i++)
        if (!sqlstore_run_keyed(st, delete_session_order[i], realm, client_id, client_id_len))
            return;
}

static void delete_delivery(void *ctx, const session *s, const delivery *d);

/* The session ends, or stays in memory but stops being persistent (expiry 0): its deliveries,
 * still listed, go with it (pending ones are dropped unwritten). */
static void delete_session(void *ctx, const session *s)
{
    sqlstore *st = ctx;
    if (st->restoring)
        return;
    const delivery *lists[] = {s->inflight, s->queue};
    for (size_t i = 0; i < 2; i++)
        for (const delivery *d = lists[i]; d; d = d->next)
            delete_delivery(st, s, d);
    for (size_t i = 0; i < sizeof delete_session_order / sizeof delete_session_order[0]; i++)
        keyed_op(st, delete_session_order[i], s);
}

/* Binds message `m`'s 11 columns (messages' order, after the id) from parameter `first` on. */
static void op_message(sqlstore *st, store_op *q, int first, const broker_msg *m)
{
    int64_t expires_at = 0;
    if (m->expires_at_ms)
        expires_at = sqlstore_wall_ms() + (m->expires_at_ms - broker_now_ms());
    op_bytes(st, q, first, m->topic);
    op_bytes(st, q, first + 1, m->payload);
    op_int(q, first + 2, m->qos);
    op_int(q, first + 3, m->retain);
    op_int(q, first + 4, expires_at);
    op_int(q, first + 5, (int64_t)m->props.present);
    op_int(q, first + 6, m->props.payload_format_indicator);
    op_bytes(st, q, first + 7, m->props.content_type);
    op_bytes(st, q, first + 8, m->props.response_topic);
    op_bytes(st, q, first + 9, m->props.correlation_data);
    op_bytes(st, q, first + 10, m->props.block);
}

/* Writes the message row once; its id lives in the message itself, so every
 * delivery and retained entry sharing it points at one row. */
static int64_t save_message(sqlstore *st, broker_msg *m)
{
    if (!m->store_id)
        m->store_id = ++st->next_msg_id;
    store_op *q = sqlstore_op(st, S_MSG_PUT);
    op_int(q, 1, (int64_t)m->store_id);
    op_message(st, q, 2, m);
    return (int64_t)m->store_id;
}

static void gc_message(sqlstore *st, int64_t id)
{
    op_int(sqlstore_op(st, S_MSG_GC), 1, id);
}

static void write_delivery(sqlstore *st, const session *s, delivery *d, bool inline_msg)
{
    if (d->store_written) { /* on disk already, with its message: only sending changes it */
        store_op *q = sqlstore_op(st, S_DELIVERY_STATE);
        op_int(q, 1, (int64_t)d->seq);
        op_int(q, 2, d->state);
        op_int(q, 3, d->packet_id);
        return;
    }
    d->store_inline = inline_msg;
    int64_t msg_id = inline_msg ? 0 : save_message(st, d->msg);
    store_op *q = keyed_op(st, inline_msg ? S_DELIVERY_INLINE_PUT : S_DELIVERY_PUT, s);
    op_int(q, 3, (int64_t)d->seq);
    if (inline_msg)
        op_message(st, q, 11, d->msg);
    else
        op_int(q, 4, msg_id);
    op_int(q, 5, d->qos);
    op_int(q, 6, d->state);
    op_int(q, 7, d->packet_id);
    op_int(q, 8, d->retain);
    if (d->sub_id_count)
        op_bytes(st, q, 9,
                 (mqtt_bytes){(const uint8_t *)d->sub_ids, (uint32_t)(d->sub_id_count * sizeof *d->sub_ids)});
    if (d->share_group)
        op_text(st, q, 10, d->share_group);
}

/* Written when its worker seals its pending deliveries (sqlstore_seal), in whatever state it has
 * then: one acknowledged before that never touches the disk. Only the home worker's list is
 * touched, so no lock is taken unless the delivery is written now. */
static void save_delivery(void *ctx, const session *s, const delivery *d)
{
    sqlstore *st = ctx;
    if (st->restoring)
        return;
    sqlstore_arm_commit(st); /* the commit it waits for; acks wait for it in sync mode */
    if (d->store_slot)
        return;
    struct store_worker *sw = home_of(st, s);
    if (sw->pending_count == sw->pending_cap) {
        uint32_t cap = sw->pending_cap ? sw->pending_cap * 2 : 256;
        struct pending_put *grown = realloc(sw->pending, cap * sizeof *grown);
        if (!grown) { /* no room to wait: written now */
            pthread_mutex_lock(&st->loop_mu);
            write_delivery(st, s, (delivery *)d, false);
            pthread_mutex_unlock(&st->loop_mu);
            ((delivery *)d)->store_written = true;
            return;
        }
        sw->pending = grown;
        sw->pending_cap = cap;
    }
    sw->pending[sw->pending_count++] = (struct pending_put){s, (delivery *)d};
    ((delivery *)d)->store_slot = sw->pending_count;
}

/* Locks only to write: a delivery still pending is dropped from its worker's list. */
static void delete_delivery(void *ctx, const session *s, const delivery *d)
{
    sqlstore *st = ctx;
    if (st->restoring)
        return;
    bool on_disk = d->store_written;
    if (d->store_slot) {
        home_of(st, s)->pending[d->store_slot - 1].d = NULL;
        ((delivery *)d)->store_slot = 0;
    }
    if (!on_disk)
        return; /* acknowledged before its commit: it never reached the disk */
    ((delivery *)d)->store_written = false;
    pthread_mutex_lock(&st->loop_mu);
    op_int(sqlstore_op(st, S_DELIVERY_DEL), 1, (int64_t)d->seq);
    if (!d->store_inline && d->msg->store_id)
        gc_message(st, (int64_t)d->msg->store_id);
    pthread_mutex_unlock(&st->loop_mu);
}

static void save_qos2(void *ctx, const session *s, uint16_t packet_id, bool pending)
{
    sqlstore *st = ctx;
    if (st->restoring)
        return;
    op_int(keyed_op(st, pending ? S_QOS2_PUT : S_QOS2_DEL, s), 3, packet_id);
}

static void save_will(void *ctx, const session *s)
{
    sqlstore *st = ctx;
    if (st->restoring)
        return;
    /* The previous will (a reconnect replaces it) goes with its message. */
    keyed_op(st, S_WILL_MSG_DEL, s);
    keyed_op(st, S_WILL_DEL, s);
    if (!s->will)
        return;
    int64_t msg_id = save_message(st, s->will);
    store_op *q = keyed_op(st, S_WILL_PUT, s);
    op_int(q, 3, msg_id);
    op_int(q, 4, s->will_delay);
    op_int(q, 5, s->will_expiry);
}

static void save_retained(void *ctx, const realm *r, mqtt_bytes topic, const broker_msg *m)
{
    sqlstore *st = ctx;
    if (st->restoring)
        return;
    /* The store's row id is bookkeeping, not message content: the one field written after the
     * message is shared, and only on the event loop. */
    int64_t id = m ? save_message(st, (broker_msg *)m) : 0;
    sqlstore_op_retained(st, r->name, topic, id);
}

static bool ack_must_wait(void *ctx, int worker)
{
    sqlstore *st = ctx;
    return st->sync &&
           (st->workers[worker].pending_count > 0 || sqlstore_pending_seq(st) > st->committed_seq);
}

/* Group commit (sync mode): what the worker wrote so far goes to the store thread now, or right
 * after the batch it is committing; the acks waiting for it go when it is back. */
static uint64_t commit(void *ctx, int worker)
{
    sqlstore_seal(ctx, worker);
    return sqlstore_submit(ctx);
}

static uint64_t committed(void *ctx)
{
    return ((sqlstore *)ctx)->committed_seq;
}

/* Frees what the store holds; the data_dir lock goes last, once the database is closed. */
static void release(sqlstore *st)
{
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(st->stmts[i]);
    for (int i = 0; st->workers && i < st->worker_count; i++) {
        if (st->workers[i].tick)
            event_free(st->workers[i].tick);
        free(st->workers[i].pending);
    }
    free(st->workers);
    if (st->heartbeat)
        event_free(st->heartbeat);
    if (sqlite3_close(st->db) != SQLITE_OK)
        log_msg(LOG_ERROR, "store", "cannot close session store %s: %s", st->path, sqlite3_errmsg(st->db));
    if (st->lock_fd >= 0 && close(st->lock_fd) != 0)
        log_msg(LOG_WARN, "store", "cannot close the data_dir lock: %s", strerror(errno));
    free(st->seal_keys);
    free(st->seal_counts);
    if (st->loop_mu_made)
        pthread_mutex_destroy(&st->loop_mu);
    free(st);
}

static void close_store(void *ctx)
{
    sqlstore *st = ctx;
    for (int i = 0; i < st->worker_count; i++) /* the workers are joined: this thread is each */
        sqlstore_seal(st, i);
    sqlstore_thread_stop(st); /* everything built or pending is committed */
    /* Sessions still connected at a clean stop start their expiry (and their will delay) now. */
    sqlstore_begin(st);
    sqlite3_stmt *q = sqlstore_stmt(st, S_STAMP_CONNECTED);
    if (q) {
        sqlite3_bind_int64(q, 1, sqlstore_wall_ms());
        sqlstore_run(st, q);
    }
    sqlstore_commit(st);
    uint64_t commits = st->commits, ops = st->ops, write_errors = st->write_errors;
    release(st);
    log_msg(LOG_INFO, "store", "session store closed commits=%llu operations=%llu write_errors=%llu",
            (unsigned long long)commits, (unsigned long long)ops, (unsigned long long)write_errors);
}

static int exec(sqlstore *st, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        log_msg(LOG_ERROR, "store", "cannot use session store %s: %s", st->path, msg ? msg : "?");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int migrate(sqlstore *st)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &q, NULL) != SQLITE_OK) {
        log_msg(LOG_ERROR, "store", "cannot read session store %s: %s", st->path, sqlite3_errmsg(st->db));
        return -1;
    }
    int version = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int(q, 0) : -1;
    sqlite3_finalize(q);
    int latest = (int)sqlstore_migration_count;
    if (version < 0 || version > latest) {
        log_msg(LOG_ERROR, "store", "session store %s has unknown schema version %d (this broker knows %d)",
                st->path, version, latest);
        return -1;
    }
    for (; version < latest; version++) {
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d;", version + 1);
        /* One transaction per step: a failed migration leaves the previous version intact. */
        if (exec(st, "BEGIN") || exec(st, sqlstore_migrations[version]) || exec(st, bump) ||
            exec(st, "COMMIT")) {
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    }
    return 0;
}

/* ---- the hooks as the workers call them: under loop_mu */

#define LOCKED(call)                                                                                         \
    do {                                                                                                     \
        pthread_mutex_lock(&st->loop_mu);                                                                    \
        call;                                                                                                \
        pthread_mutex_unlock(&st->loop_mu);                                                                  \
    } while (0)

static void locked_save_session(void *ctx, const session *s)
{
    sqlstore *st = ctx;
    LOCKED(save_session(ctx, s));
}

static void locked_delete_session(void *ctx, const session *s)
{
    sqlstore *st = ctx;
    LOCKED(delete_session(ctx, s));
}

static void locked_session_closing(void *ctx, const session *s)
{
    sqlstore *st = ctx;
    LOCKED(session_closing(ctx, s));
}

static void locked_save_qos2(void *ctx, const session *s, uint16_t packet_id, bool pending)
{
    sqlstore *st = ctx;
    LOCKED(save_qos2(ctx, s, packet_id, pending));
}

static void locked_save_will(void *ctx, const session *s)
{
    sqlstore *st = ctx;
    LOCKED(save_will(ctx, s));
}

static void locked_save_retained(void *ctx, const realm *r, mqtt_bytes topic, const broker_msg *m)
{
    sqlstore *st = ctx;
    LOCKED(save_retained(ctx, r, topic, m));
}

static bool locked_ack_must_wait(void *ctx, int worker)
{
    sqlstore *st = ctx;
    if (!st->sync)
        return false;
    bool wait;
    LOCKED(wait = ack_must_wait(ctx, worker));
    return wait;
}

static uint64_t locked_commit(void *ctx, int worker)
{
    sqlstore *st = ctx;
    uint64_t seq;
    LOCKED(seq = commit(ctx, worker));
    return seq;
}

static uint64_t locked_committed(void *ctx)
{
    sqlstore *st = ctx;
    uint64_t seq;
    LOCKED(seq = committed(ctx));
    return seq;
}

static const session_store *install(sqlstore *st)
{
    st->iface = (session_store){.ctx = st,
                                .acks_wait_for_commit = st->sync,
                                .session_saved = locked_save_session,
                                .session_deleted = locked_delete_session,
                                .delivery_saved = save_delivery,     /* locks to write */
                                .delivery_deleted = delete_delivery, /* locks to write */
                                .qos2_saved = locked_save_qos2,
                                .will_saved = locked_save_will,
                                .retained_saved = locked_save_retained,
                                .ack_must_wait = locked_ack_must_wait,
                                .session_closing = locked_session_closing,
                                .commit = locked_commit,
                                .committed = locked_committed,
                                .close = close_store};
    return &st->iface;
}

/* The per-worker lists and ticks, each tick on its worker's loop (persistent with threads). */
static int make_workers(sqlstore *st)
{
    broker *b = st->broker;
    if (!(st->workers = calloc((size_t)b->worker_count, sizeof *st->workers)))
        return -1;
    st->worker_count = b->worker_count;
    for (int i = 0; i < st->worker_count; i++) {
        struct store_worker *sw = &st->workers[i];
        sw->st = st;
        sw->index = i;
        if (!(sw->tick = event_new(b->workers[i]->base, -1, st->threaded ? EV_PERSIST : 0, tick_cb, sw)))
            return -1;
    }
    return 0;
}

/* Creates the directory and its missing parents (the default var/broker). */
static int mkdir_p(const char *dir)
{
    char path[256];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(path, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* Two brokers over one store would each restore it, then overwrite each other's rows. The
 * kernel drops a flock with its process, so a crash leaves no stale lock behind. */
static int lock_data_dir(sqlstore *st, const char *dir)
{
    char path[300];
    snprintf(path, sizeof path, "%s/broker.lock", dir);
    if ((st->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
        log_msg(LOG_ERROR, "store", "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(st->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) {
            log_msg(LOG_ERROR, "store", "cannot lock %s: %s", path, strerror(errno));
            return -1;
        }
        char text[24] = "";
        ssize_t n = pread(st->lock_fd, text, sizeof text - 1, 0);
        long pid = n > 0 ? strtol(text, NULL, 10) : 0;
        if (pid > 0)
            log_msg(LOG_ERROR, "store", "data_dir %s is in use by another egbroker (pid %ld, %s)", dir, pid,
                    path);
        else
            log_msg(LOG_ERROR, "store", "data_dir %s is in use by another egbroker (%s is locked)", dir,
                    path);
        return -1;
    }
    /* Who holds it, for the message of the next broker that tries. */
    char text[24];
    int len = snprintf(text, sizeof text, "%ld\n", (long)getpid());
    if (ftruncate(st->lock_fd, 0) != 0 || pwrite(st->lock_fd, text, (size_t)len, 0) != len)
        log_msg(LOG_WARN, "store", "cannot write the pid into %s: %s", path, strerror(errno));
    return 0;
}

int session_store_sqlite_open(broker *b)
{
    const broker_config *cfg = &b->config;
    const char *dir = cfg->data_dir[0] ? cfg->data_dir : ".";
    sqlstore *st = calloc(1, sizeof *st);
    if (!st)
        return -1;
    st->lock_fd = -1;
    st->broker = b;
    st->threaded = b->worker_count > 1;
    pthread_mutexattr_t recursive;
    pthread_mutexattr_init(&recursive);
    pthread_mutexattr_settype(&recursive, PTHREAD_MUTEX_RECURSIVE);
    st->loop_mu_made = pthread_mutex_init(&st->loop_mu, &recursive) == 0;
    pthread_mutexattr_destroy(&recursive);
    if (!st->loop_mu_made) {
        free(st);
        return -1;
    }
    for (int i = 0; i < S_COUNT; i++)
        st->nparams[i] = highest_param(sqlstore_stmt_sql[i]);
    st->sync = cfg->persistence == PERSIST_SYNC;
    st->interval_ms = cfg->persistence_interval_ms ? cfg->persistence_interval_ms : 100;
    if (cfg->data_dir[0] && mkdir_p(cfg->data_dir) != 0) {
        log_msg(LOG_ERROR, "store", "cannot create data_dir %s: %s", cfg->data_dir, strerror(errno));
        release(st);
        return -1;
    }
    if (lock_data_dir(st, dir) != 0) { /* before the database: the holder may be writing it */
        release(st);
        return -1;
    }
    snprintf(st->path, sizeof st->path, "%s/sessions.db", dir);
    /* NOMUTEX: one thread at a time uses the connection (the loop before the store thread starts
     * and after it stops, the thread in between), handed over under st->mu. */
    if (sqlite3_open_v2(st->path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        log_msg(LOG_ERROR, "store", "cannot open session store %s: %s", st->path,
                st->db ? sqlite3_errmsg(st->db) : "out of memory");
        release(st);
        return -1;
    }
    sqlite3_busy_timeout(st->db, 5000);
    /* sync: a COMMIT is on disk before the PUBACK it precedes. periodic: WAL with
     * NORMAL survives a process crash; a power loss may lose the last commits. */
    const char *pragmas = st->sync ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                                   : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";
    if (exec(st, pragmas) || migrate(st) || make_workers(st) != 0 ||
        !(st->heartbeat = event_new(b->base, -1, EV_PERSIST, heartbeat_cb, st))) {
        release(st);
        return -1;
    }
    st->restoring = true;
    int rc = sqlstore_restore(st);
    st->restoring = false;
    uint32_t beat_ms = st->interval_ms > HEARTBEAT_MIN_MS ? st->interval_ms : HEARTBEAT_MIN_MS;
    struct timeval beat = {beat_ms / 1000, (beat_ms % 1000) * 1000};
    struct timeval interval = {st->interval_ms / 1000, (st->interval_ms % 1000) * 1000};
    bool armed = event_add(st->heartbeat, &beat) == 0;
    for (int i = 0; st->threaded && i < st->worker_count; i++)
        armed = armed && event_add(st->workers[i].tick, &interval) == 0;
    if (rc == 0 && !armed) {
        log_msg(LOG_ERROR, "store", "cannot arm the session store's heartbeat and ticks");
        rc = -1;
    }
    if (rc != 0) {
        release(st);
        return -1;
    }
    sqlstore_commit(st); /* what the restore deleted (expired sessions, messages), and a heartbeat */
    if (sqlstore_thread_start(st) != 0) {
        sqlstore_thread_stop(st);
        release(st);
        return -1;
    }
    b->store = install(st);
    log_msg(LOG_INFO, "store", "session store %s mode=%s interval_ms=%u", st->path,
            st->sync ? "sync" : "periodic", st->interval_ms);
    return 0;
}
