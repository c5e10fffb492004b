/* Internals shared by the SQLite session store and its restore
 * (session_store_sqlite.c, session_store_restore.c). */
#ifndef EG_SESSION_STORE_SQLITE_INT_H
#define EG_SESSION_STORE_SQLITE_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "session_store.h"

struct broker;
struct event;

enum sqlstore_stmt {
    S_BEGIN,
    S_COMMIT,
    S_SESSION_PUT,
    S_SESSION_DEL,
    S_SUBS_DEL,
    S_SUB_PUT,
    S_SESSION_MSGS_DEL,
    S_SESSION_DELIVERIES_DEL,
    S_MSG_PUT,
    S_MSG_GC,
    S_DELIVERY_PUT,
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

typedef struct sqlstore {
    session_store iface; /* what the broker calls (ctx: this) */
    struct broker *broker;
    sqlite3 *db;
    sqlite3_stmt *stmts[S_COUNT]; /* prepared on first use, finalized at close */
    char path[300];
    bool sync;
    bool in_tx;     /* the group-commit transaction is open */
    bool restoring; /* hooks are ignored while the store feeds the broker */
    uint32_t interval_ms;
    struct event *timer;     /* commits the open transaction */
    struct event *heartbeat; /* commits "alive" when nothing else did (idle broker) */
    int lock_fd;             /* {data_dir}/broker.lock, flock()ed for the store's life */
    uint64_t next_msg_id;
    uint64_t write_errors;
    uint64_t commits; /* logged at close: with acks counted by clients, shows the grouping */
    /* Deliveries saved since the last commit, written at the commit with their state then:
     * one acknowledged before it never touches the disk. Borrowed pointers; an entry is
     * cleared when its delivery or session ends (delivery->store_slot finds it). */
    struct pending_put {
        const struct session *s;
        struct delivery *d;
    } * pending;
    uint32_t pending_count, pending_cap;
} sqlstore;

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
void sqlstore_begin(sqlstore *st);
void sqlstore_commit(sqlstore *st);
/* Deletes a session's rows, its deliveries, will and QoS 2 state, and the messages only they used. */
void sqlstore_delete_session(sqlstore *st, const char *realm, const void *client_id, int client_id_len);

/* Reads everything back into the broker's realms (session_store_restore.c).
 * 0, or -1 after logging why. */
int sqlstore_restore(sqlstore *st);

#endif
