/* The disk-backed session store: SQLite in WAL mode in {data_dir}/sessions.db.
 *
 * Modes (config "persistence"):
 *   periodic  the hooks write inside an open transaction that a timer commits
 *             every persistence_interval_ms (group commit). A crash loses at
 *             most that window; a SIGTERM loses nothing.
 *   sync      the same, plus a commit (synchronous=FULL) before a QoS 1/2
 *             PUBLISH is acknowledged, so a PUBACKed message survives kill -9.
 *   off       session_store_none(): the store is never opened.
 *
 * Rows are keyed by realm (namespace) name + client id, so namespaces never
 * mix. Messages are shared by deliveries and retained entries and are deleted
 * when the last row that points at them goes.
 *
 * Ownership: the broker owns the store once installed (b->store); its close
 * hook frees it (broker_free calls it). */
#ifndef EG_SESSION_STORE_SQLITE_H
#define EG_SESSION_STORE_SQLITE_H

struct broker;

/* Opens (creating data_dir and the schema when needed) and migrates the store,
 * restores every session, subscription, queued/in-flight delivery and
 * retained message into the broker's realms, deletes what expired while the
 * broker was down, and installs the store as b->store. Call before any
 * listener starts. Returns 0, or -1 after logging why (the broker must not
 * start: a store it cannot read is never silently discarded). */
int session_store_sqlite_open(struct broker *b);

#endif
