/* Internals shared by the SQLite session store and its restore
 * (session_store_sqlite.c, session_store_restore.c). */
#ifndef EG_SESSION_STORE_SQLITE_INT_H
#define EG_SESSION_STORE_SQLITE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "mqtt_packet.h"
#include "session_store.h"

struct broker;
struct event;
struct xthread_ring;
struct xthread_waker;
typedef struct store_op store_op;
typedef struct store_batch store_batch;

enum sqlstore_stmt {
    S_BEGIN,
    S_COMMIT,
    S_SESSION_PUT,
    S_SESSION_DEL,
    S_SUBS_DEL,
    S_SUB_PUT,
    S_MSG_PUT,
    S_MSG_GC,
    S_DELIVERY_PUT,
    S_DELIVERY_INLINE_PUT,
    S_DELIVERY_DEL,
    S_DELIVERY_STATE,
    S_RETAINED_GET,
    S_RETAINED_PUT,
    S_RETAINED_DEL,
    S_STAMP_CONNECTED,
    S_QOS2_PUT,
    S_QOS2_DEL,
    S_SESSION_QOS2_DEL,
    S_WILL_PUT,
    S_WILL_MSG_DEL,
    S_WILL_DEL,
    S_HEARTBEAT,
    S_COUNT
};

/* What the store keeps per worker. */
struct store_worker {
    struct sqlstore *st;
    int index;
    struct pending_put {
        const struct session *s;
        struct delivery *d;
    } * pending; /* borrowed pointers; an entry is cleared when its delivery or session ends */
    uint32_t pending_count, pending_cap;
    struct event *tick; /* periodic: seals and submits (persistent with threads, else on demand) */
};

typedef struct sqlstore {
    session_store iface; /* what the broker calls (ctx: this) */
    struct broker *broker;
    /* The workers call the hooks from their threads, the loop's timers and the commit reports
     * run on the main thread: everything here but the store thread's part (`mu`) is under
     * loop_mu. Recursive: a commit report may lead back into a hook on the same thread. */
    pthread_mutex_t loop_mu;
    bool loop_mu_made;
    /* Several worker threads: each seals its own pending deliveries and has its own tick. */
    bool threaded;
    sqlite3 *db;
    sqlite3_stmt *stmts[S_COUNT]; /* prepared on first use, finalized at close */
    uint8_t nparams[S_COUNT];     /* each statement's parameter count (its highest ?N) */
    char path[300];
    bool sync;
    bool in_tx;     /* a transaction is open (on the thread running a batch) */
    bool restoring; /* hooks are ignored while the store feeds the broker */
    uint32_t interval_ms;
    struct event *heartbeat; /* commits "alive" when nothing else did (idle broker) */
    int lock_fd;             /* {data_dir}/broker.lock, flock()ed for the store's life */
    uint64_t next_msg_id;
    uint64_t write_errors;          /* counted by the loop from each batch's failures */
    _Atomic uint32_t errors_logged; /* the first failures are logged, by whichever thread */
    uint64_t ops;                   /* row operations committed, logged at close */
    uint64_t commits;               /* logged at close: with acks counted by clients, shows the grouping */
    /* Deliveries saved since their worker's last commit, one list per worker (by index), each
     * touched only by its worker's thread (or the main thread while the workers are parked):
     * written at that worker's commit or tick with their state then, so one acknowledged before
     * it never touches the disk. */
    struct store_worker *workers;
    int worker_count;
    /* Scratch of sqlstore_seal: pending deliveries per message (open addressing), owned. */
    const struct broker_msg **seal_keys;
    uint32_t *seal_counts;
    uint32_t seal_cap;

    /* Batches (session_store_batch.c). The loop builds one while the store thread runs
     * the previous one; the hand-over is under `mu`. */
    store_batch *building, *spare;         /* loop thread */
    bool running;                          /* a submitted batch is not back yet (loop thread) */
    bool submit_wanted;                    /* submit again once it is back (loop thread) */
    bool heartbeat_due;                    /* submit even an empty batch: it dates the broker alive */
    uint64_t submitted_seq, committed_seq; /* batch numbers (loop thread) */
    pthread_t thread;
    bool thread_running;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    store_batch *to_run; /* under mu */
    bool stop;           /* under mu */
    struct xthread_ring *done;
    struct xthread_waker *waker;
} sqlstore;

/* The schema (session_store_schema.c): entry i migrates from user_version i to i + 1, and the
 * text of each statement. */
extern const char *const sqlstore_migrations[];
extern const size_t sqlstore_migration_count;
extern const char *const sqlstore_stmt_sql[S_COUNT];

int64_t sqlstore_wall_ms(void);
/* The statement, reset and unbound. NULL on error (logged). */
sqlite3_stmt *sqlstore_stmt(sqlstore *st, enum sqlstore_stmt id);
/* Steps a write to its end; false on error (logged). */
bool sqlstore_run(sqlstore *st, sqlite3_stmt *s);
/* Runs a statement whose only parameters are ?1 realm name and ?2 client id. */
bool sqlstore_run_keyed(sqlstore *st, enum sqlstore_stmt id, const char *realm, const void *client_id,
                        int client_id_len);
/* Binds ?1 realm name and ?2 client id of `ses`. */
struct session;
void sqlstore_bind_key(sqlite3_stmt *s, const struct session *ses);
/* Direct transactions: the batch runner (store thread), and the restore and the close
 * (event loop, no store thread running). sqlstore_commit dates the broker alive and
 * returns whether the COMMIT succeeded. */
void sqlstore_begin(sqlstore *st);
bool sqlstore_commit(sqlstore *st);
/* Worker `index`'s deliveries waiting for a batch go into the one being built, with their state
 * now (session_store_sqlite.c); under loop_mu. */
void sqlstore_seal(sqlstore *st, int index);
/* Arms the periodic submission when a batch starts (one worker: its tick runs on demand). */
void sqlstore_arm_commit(sqlstore *st);

/* ---- batches (session_store_batch.c), built on the event loop only.
 * An operation runs statement `id` with parameters bound by index (1-based); values are
 * copied, so the caller's memory may go once the call returns. NULL on allocation
 * failure (logged by the binders, which accept NULL). */
store_op *sqlstore_op(sqlstore *st, enum sqlstore_stmt id);
void op_int(store_op *op, int index, int64_t v);
void op_bytes(sqlstore *st, store_op *op, int index, mqtt_bytes v);
void op_text(sqlstore *st, store_op *op, int index, const char *text);
/* ?1 realm name, ?2 client id. */
void op_key(sqlstore *st, store_op *op, const char *realm, const void *client_id, uint32_t len);
/* Sets (msg_id) or deletes (0) a retained message, dropping the previous message's row. */
void sqlstore_op_retained(sqlstore *st, const char *realm, mqtt_bytes topic, int64_t msg_id);
bool sqlstore_building_empty(const sqlstore *st);
/* Hands the batch being built to the store thread (runs it here when there is none);
 * when one is running, it follows once that one is back. Returns the number of the batch
 * that holds every write made so far (pending deliveries count once their worker sealed them):
 * committed once st->committed_seq reaches it. */
uint64_t sqlstore_submit(sqlstore *st);
/* The number of the batch that will hold every write made so far, without submitting. */
uint64_t sqlstore_pending_seq(const sqlstore *st);
int sqlstore_thread_start(sqlstore *st);
/* Waits for the running batch, runs what is left here, stops the thread. */
void sqlstore_thread_stop(sqlstore *st);
/* Deletes a session's rows, its deliveries, will and QoS 2 state, and the messages only they used. */
void sqlstore_delete_session(sqlstore *st, const char *realm, const void *client_id, int client_id_len);

/* Reads everything back into the broker's realms (session_store_restore.c).
 * 0, or -1 after logging why. */
int sqlstore_restore(sqlstore *st);

#endif
