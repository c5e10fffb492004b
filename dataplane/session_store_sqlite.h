/* The disk-backed session store: SQLite in WAL mode in {data_dir}/sessions.db.
 *
 * The hooks run on the event loop and turn what changed into batches of row
 * operations (session_store_batch.c); SQLite runs on the store's own thread,
 * one batch per transaction, while the loop builds the next.
 *
 * Modes (config "persistence"):
 *   periodic  a timer hands the batch over every persistence_interval_ms
 *             (group commit). A crash loses at most that window; a SIGTERM
 *             loses nothing.
 *   sync      the same, plus: the acks of QoS 1/2 PUBLISHes (and PUBCOMPs) wait
 *             for the batch holding what they wrote (synchronous=FULL), so a
 *             PUBACKed message survives kill -9 and power loss. Batches are
 *             handed over as soon as the previous one is back.
 *   off       session_store_none(): the store is never opened.
 *
 * Rows are keyed by realm (namespace) name + client id, so namespaces never
 * mix. Messages are shared by deliveries, retained entries and wills and are
 * deleted when the last row that points at them goes.
 *
 * What a persistent session keeps besides subscriptions and deliveries:
 *   inbound QoS 2  the packet ids PUBRECed and not yet released: after a
 *             restart a PUBLISH re-sent with one of them is not routed again
 *             and its PUBREL gets PUBCOMP 0x00. In sync mode PUBREC and PUBCOMP
 *             are written only after the commit that records or releases the id.
 *   will      from CONNECT until published or cleared. A stop or crash closes
 *             the client's connection, which starts the will [MQTT-3.1.2-8]:
 *             the delay (cut short by the session's end) runs from the stop, or
 *             from the last heartbeat after a crash. At the next start a will
 *             due while the broker was down is published on the loop's first
 *             turn (before any CONNECT is read), the others when their delay
 *             ends unless the client is back first; a session that expired
 *             while down ends on that first turn too, will first. (Mosquitto's
 *             persistence also publishes them at restart.)
 *             Permissions: a restored will is judged by can_publish like any
 *             will. main.c restores the store before the enforcer applies the
 *             saved snapshot, which gives the restored sessions the permissions
 *             of their authentication name (as a snapshot push would), so the
 *             will of a client that may still publish its topic goes out, that
 *             of a client deleted, disabled or no longer permitted does not
 *             (fail closed, also when no snapshot was saved). Wills of clean
 *             sessions are not kept: clean sessions never reach the disk.
 *
 * Crash dating: every commit (and, on an idle broker, a commit every
 * max(interval, 1 s)) writes the wall-clock time into meta.alive_at. Sessions
 * a crash left marked connected (disconnected_at 0) are taken as gone at that
 * heartbeat, so their expiry (and will delay) counts the time spent down.
 *
 * Namespaces not served: their sessions are not restored, but kept on disk
 * until their expiry runs out (a configuration mistake must not destroy data),
 * then deleted, will included; one warning per namespace says how many.
 *
 * One broker per data_dir: {data_dir}/broker.lock is flock()ed (LOCK_EX|LOCK_NB)
 * before sessions.db is opened and holds the broker's pid; a second broker
 * exits 1 naming the directory and that pid. The kernel releases the lock when
 * its process dies, so a crash leaves none behind.
 *
 * Ownership: the broker owns the store once installed (b->store); its close
 * hook frees it (broker_free calls it). */
#ifndef EG_SESSION_STORE_SQLITE_H
#define EG_SESSION_STORE_SQLITE_H

struct broker;

/* Locks data_dir, opens (creating data_dir and the schema when needed) and
 * migrates the store, restores every session, subscription, queued/in-flight
 * delivery, inbound QoS 2 id, pending will and retained message into the
 * broker's realms, deletes what expired while the broker was down, and
 * installs the store as b->store. Call before any listener starts. Returns 0,
 * or -1 after logging why (the broker must not start: a store it cannot read
 * is never silently discarded; another broker holding data_dir is refused). */
int session_store_sqlite_open(struct broker *b);

#endif
