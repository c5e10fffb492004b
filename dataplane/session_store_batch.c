/* The session store's writes as batches (session_store_sqlite_int.h): built on
 * the event loop as row operations with their values copied, executed as one
 * transaction on the store's own thread, one batch at a time. The loop keeps
 * reading and routing while a batch commits; what it writes meanwhile goes into
 * the next batch, which grows with the commit time (group commit). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "log.h"
#include "realm.h"
#include "session.h"
#include "session_store_sqlite_int.h"
#include "xthread_ring.h"

enum op_kind { OP_STMT, OP_RETAINED };
enum param_type { P_NULL, P_INT, P_BLOB, P_TEXT };

typedef struct op_param {
    uint8_t type;
    uint32_t len;
    union {
        int64_t i;
        size_t off; /* in the batch's arena */
    };
} op_param;

/* Its parameters are batch->params[first .. first + nparams), as many as its statement has
 * (st->nparams), so an operation costs what it binds. */
struct store_op {
    uint8_t kind;
    uint8_t stmt; /* enum sqlstore_stmt */
    uint8_t nparams;
    uint32_t first;
    store_batch *batch;
};

struct store_batch {
    store_op *ops;
    uint32_t count, cap;
    op_param *params;
    uint32_t params_used, params_cap;
    uint8_t *arena; /* the values, copied: the loop may free what they came from */
    size_t used, room;
    uint64_t seq;
    uint64_t errors;   /* written by the store thread */
    bool committed;    /* written by the store thread */
    store_batch *next; /* free list */
};

static store_batch *batch_new(void)
{
    return calloc(1, sizeof(store_batch));
}

static void batch_free(store_batch *b)
{
    if (!b)
        return;
    free(b->ops);
    free(b->params);
    free(b->arena);
    free(b);
}

static void batch_reset(store_batch *b)
{
    b->count = 0;
    b->params_used = 0;
    b->used = 0;
    b->errors = 0;
    b->committed = false;
}

/* The batch being built, made on first use. */
static store_batch *building(sqlstore *st)
{
    if (!st->building)
        st->building = batch_new();
    return st->building;
}

store_op *sqlstore_op(sqlstore *st, enum sqlstore_stmt id)
{
    store_batch *b = building(st);
    if (!b)
        return NULL;
    if (b->count == b->cap) {
        uint32_t cap = b->cap ? b->cap * 2 : 256;
        store_op *grown = realloc(b->ops, cap * sizeof *grown);
        if (!grown)
            return NULL;
        b->ops = grown;
        b->cap = cap;
    }
    uint8_t n = st->nparams[id];
    if (b->params_used + n > b->params_cap) {
        uint32_t cap = b->params_cap ? b->params_cap * 2 : 2048;
        while (cap < b->params_used + n)
            cap *= 2;
        op_param *grown = realloc(b->params, cap * sizeof *grown);
        if (!grown)
            return NULL;
        b->params = grown;
        b->params_cap = cap;
    }
    memset(&b->params[b->params_used], 0, n * sizeof *b->params);
    store_op *op = &b->ops[b->count++];
    *op = (store_op){.kind = OP_STMT, .stmt = (uint8_t)id, .nparams = n, .first = b->params_used, .batch = b};
    b->params_used += n;
    sqlstore_arm_commit(st);
    return op;
}

/* Parameter `index` (1-based) of `op`; NULL past its statement's count (logged: a bug). */
static op_param *param(store_op *op, int index)
{
    if (index < 1 || index > op->nparams) {
        log_msg(LOG_ERROR, "store", "statement %d has no parameter %d", op->stmt, index);
        return NULL;
    }
    return &op->batch->params[op->first + (uint32_t)index - 1];
}

void op_int(store_op *op, int index, int64_t v)
{
    op_param *p = op ? param(op, index) : NULL;
    if (p)
        *p = (op_param){.type = P_INT, .i = v};
}

static bool copy_value(store_op *op, int index, uint8_t type, const void *data, uint32_t len)
{
    store_batch *b = op->batch;
    op_param *p = param(op, index);
    if (!p)
        return true; /* logged */
    if (b->used + len > b->room) {
        size_t room = b->room ? b->room : 64 * 1024;
        while (room < b->used + len)
            room *= 2;
        uint8_t *grown = realloc(b->arena, room);
        if (!grown) {
            *p = (op_param){.type = P_NULL};
            return false;
        }
        b->arena = grown;
        b->room = room;
    }
    if (len)
        memcpy(b->arena + b->used, data, len);
    *p = (op_param){.type = type, .len = len, .off = b->used};
    b->used += len;
    return true;
}

void op_bytes(sqlstore *st, store_op *op, int index, mqtt_bytes v)
{
    (void)st;
    if (op && !copy_value(op, index, P_BLOB, v.data, v.len))
        log_msg(LOG_ERROR, "store", "out of memory queueing a write");
}

void op_text(sqlstore *st, store_op *op, int index, const char *text)
{
    (void)st;
    if (op && !copy_value(op, index, P_TEXT, text, (uint32_t)strlen(text)))
        log_msg(LOG_ERROR, "store", "out of memory queueing a write");
}

void op_key(sqlstore *st, store_op *op, const char *realm, const void *client_id, uint32_t len)
{
    op_text(st, op, 1, realm);
    op_bytes(st, op, 2, (mqtt_bytes){client_id, len});
}

void sqlstore_op_retained(sqlstore *st, const char *realm, mqtt_bytes topic, int64_t msg_id)
{
    store_op *op = sqlstore_op(st, S_RETAINED_PUT);
    if (!op)
        return;
    op->kind = OP_RETAINED;
    op_text(st, op, 1, realm);
    op_bytes(st, op, 2, topic);
    op_int(op, 3, msg_id);
}

bool sqlstore_building_empty(const sqlstore *st)
{
    return !st->building || st->building->count == 0;
}

/* ---- execution (the store thread, or the loop before the thread starts) */

/* Binds parameters 1..n of `q` from `params`. */
static void bind_params(const store_batch *b, const op_param *params, int n, sqlite3_stmt *q)
{
    for (int i = 1; i <= n; i++) {
        const op_param *p = &params[i - 1];
        const void *data = p->len ? (const void *)(b->arena + p->off) : "";
        switch (p->type) {
        case P_INT: sqlite3_bind_int64(q, i, p->i); break;
        /* A zero-length blob, not NULL: NOT NULL columns take empty payloads. */
        case P_BLOB: sqlite3_bind_blob(q, i, data, (int)p->len, SQLITE_STATIC); break;
        case P_TEXT: sqlite3_bind_text(q, i, data, (int)p->len, SQLITE_STATIC); break;
        default: break;
        }
    }
}

/* A retained message set (msg id) or deleted (0): the previous one's row goes when nothing
 * else points at it. Needs a read, hence its own operation. */
static void run_retained(sqlstore *st, store_batch *b, const store_op *op)
{
    int64_t old = 0;
    const op_param *p = &b->params[op->first]; /* realm, topic, msg id */
    sqlite3_stmt *q = sqlstore_stmt(st, S_RETAINED_GET);
    if (!q)
        return;
    bind_params(b, p, 2, q);
    if (sqlite3_step(q) == SQLITE_ROW)
        old = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    int64_t id = p[2].i;
    if ((q = sqlstore_stmt(st, id ? S_RETAINED_PUT : S_RETAINED_DEL))) {
        bind_params(b, p, id ? 3 : 2, q);
        if (!sqlstore_run(st, q))
            b->errors++;
    }
    if (old && old != id && (q = sqlstore_stmt(st, S_MSG_GC))) {
        sqlite3_bind_int64(q, 1, old);
        if (!sqlstore_run(st, q))
            b->errors++;
    }
}

static void run_batch(sqlstore *st, store_batch *b)
{
    sqlstore_begin(st);
    for (uint32_t i = 0; i < b->count; i++) {
        const store_op *op = &b->ops[i];
        if (op->kind == OP_RETAINED) {
            run_retained(st, b, op);
            continue;
        }
        sqlite3_stmt *q = sqlstore_stmt(st, (enum sqlstore_stmt)op->stmt);
        if (!q) {
            b->errors++;
            continue;
        }
        bind_params(b, &b->params[op->first], op->nparams, q);
        if (!sqlstore_run(st, q))
            b->errors++;
    }
    b->committed = sqlstore_commit(st);
}

static void *store_thread(void *arg)
{
    sqlstore *st = arg;
    pthread_mutex_lock(&st->mu);
    for (;;) {
        while (!st->to_run && !st->stop)
            pthread_cond_wait(&st->cv, &st->mu);
        if (!st->to_run)
            break; /* stopping, nothing left */
        store_batch *b = st->to_run;
        st->to_run = NULL;
        pthread_mutex_unlock(&st->mu);
        run_batch(st, b);
        /* One batch runs at a time, so the ring never holds more than one. */
        while (!xthread_ring_push(st->done, b))
            ;
        xthread_waker_signal(st->waker);
        pthread_mutex_lock(&st->mu);
    }
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

/* Back on the loop: the batch is committed (or failed, logged); the acks waiting for it go. */
static bool batch_done(void *arg)
{
    sqlstore *st = arg;
    store_batch *b;
    if (xthread_ring_pop_batch(st->done, (void **)&b, 1) == 0)
        return false;
    pthread_mutex_lock(&st->loop_mu);
    st->running = false;
    if (b->committed)
        st->commits++;
    st->ops += b->count;
    st->write_errors += b->errors;
    st->committed_seq = b->seq;
    batch_reset(b);
    if (st->spare)
        batch_free(b);
    else
        st->spare = b;
    if (st->submit_wanted)
        sqlstore_submit(st);
    uint64_t seq = st->committed_seq;
    pthread_mutex_unlock(&st->loop_mu);
    broker_store_committed(st->broker, seq);
    return false;
}

uint64_t sqlstore_submit(sqlstore *st)
{
    bool work = !sqlstore_building_empty(st) || st->heartbeat_due;
    if (st->running) { /* one at a time: this one follows, with what arrives meanwhile */
        if (!work && !st->submit_wanted)
            return st->submitted_seq; /* every write so far is in the running batch */
        st->submit_wanted = true;
        return st->submitted_seq + 1;
    }
    st->submit_wanted = false;
    store_batch *b = building(st);
    if (!b || (b->count == 0 && !st->heartbeat_due)) {
        /* Nothing to write (what was pending was acknowledged meanwhile): whoever waits for
         * the next batch waits for nothing. */
        st->committed_seq = ++st->submitted_seq;
        broker_store_committed(st->broker, st->committed_seq);
        return st->submitted_seq;
    }
    st->heartbeat_due = false;
    b->seq = ++st->submitted_seq;
    st->building = st->spare;
    st->spare = NULL;
    if (!st->thread_running) { /* before the thread starts (restore) or after it stopped */
        run_batch(st, b);
        if (b->committed)
            st->commits++;
        st->write_errors += b->errors;
        st->committed_seq = b->seq;
        batch_free(b);
        return st->submitted_seq;
    }
    st->running = true;
    pthread_mutex_lock(&st->mu);
    st->to_run = b;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
    return st->submitted_seq;
}

uint64_t sqlstore_pending_seq(const sqlstore *st)
{
    if (!sqlstore_building_empty(st) || st->submit_wanted)
        return st->submitted_seq + 1;
    return st->submitted_seq;
}

int sqlstore_thread_start(sqlstore *st)
{
    if (!(st->done = xthread_ring_new(4)) ||
        !(st->waker = xthread_waker_new(st->broker->base, batch_done, st)))
        return -1;
    if (pthread_mutex_init(&st->mu, NULL) != 0 || pthread_cond_init(&st->cv, NULL) != 0)
        return -1;
    st->thread_running = true;
    int rc = pthread_create(&st->thread, NULL, store_thread, st);
    if (rc != 0) {
        st->thread_running = false;
        log_msg(LOG_ERROR, "store", "cannot start the store thread: %s", strerror(rc));
        return -1;
    }
    return 0;
}

void sqlstore_thread_stop(sqlstore *st)
{
    if (st->thread_running) {
        /* What is built goes too: wait for the running batch, then run the rest here. */
        pthread_mutex_lock(&st->mu);
        st->stop = true;
        pthread_cond_signal(&st->cv);
        pthread_mutex_unlock(&st->mu);
        pthread_join(st->thread, NULL);
        st->thread_running = false;
        batch_done(st); /* the batch it ran last, if not collected yet */
        pthread_mutex_destroy(&st->mu);
        pthread_cond_destroy(&st->cv);
    }
    st->running = false;
    sqlstore_submit(st);
    xthread_waker_free(st->waker);
    st->waker = NULL;
    xthread_ring_free(st->done);
    st->done = NULL;
    batch_free(st->building);
    batch_free(st->spare);
    st->building = st->spare = NULL;
}
