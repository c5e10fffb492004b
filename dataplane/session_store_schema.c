/* The session store's SQL (session_store_sqlite_int.h): the schema's migrations and every
 * statement, each a fixed text bound with values, so no SQL is ever built from input. */
#include <stddef.h>

#include "session_store_sqlite_int.h"

/* Each entry migrates from user_version == index to index + 1. Never edit a
 * released entry: add a new one. */
const char *const sqlstore_migrations[] = {
    /* disconnected_at: wall-clock ms when the client went away, 0 while connected
     * (stamped at a clean stop), so time spent down counts against expiry. */
    "CREATE TABLE sessions(realm TEXT NOT NULL, client_id BLOB NOT NULL, auth_name TEXT NOT NULL,"
    "  expiry INTEGER NOT NULL, disconnected_at INTEGER NOT NULL,"
    "  PRIMARY KEY(realm, client_id)) WITHOUT ROWID;"
    "CREATE TABLE subs(realm TEXT NOT NULL, client_id BLOB NOT NULL, filter BLOB NOT NULL,"
    "  options INTEGER NOT NULL, sub_id INTEGER NOT NULL,"
    "  PRIMARY KEY(realm, client_id, filter)) WITHOUT ROWID;"
    /* expires_at: wall-clock ms deadline (the broker's is monotonic), 0: never. */
    "CREATE TABLE messages(id INTEGER PRIMARY KEY, topic BLOB NOT NULL, payload BLOB NOT NULL,"
    "  qos INTEGER NOT NULL, retain INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
    "  props_present INTEGER NOT NULL, payload_format INTEGER NOT NULL, content_type BLOB,"
    "  response_topic BLOB, correlation_data BLOB, user_props BLOB);"
    /* seq: the broker's delivery creation order, which is the order of sending. */
    "CREATE TABLE deliveries(realm TEXT NOT NULL, client_id BLOB NOT NULL, seq INTEGER NOT NULL,"
    "  msg_id INTEGER NOT NULL, qos INTEGER NOT NULL, state INTEGER NOT NULL,"
    "  packet_id INTEGER NOT NULL, retain INTEGER NOT NULL, sub_ids BLOB, share_group TEXT,"
    "  PRIMARY KEY(realm, client_id, seq)) WITHOUT ROWID;"
    "CREATE INDEX deliveries_msg ON deliveries(msg_id);"
    "CREATE TABLE retained(realm TEXT NOT NULL, topic BLOB NOT NULL, msg_id INTEGER NOT NULL,"
    "  PRIMARY KEY(realm, topic)) WITHOUT ROWID;"
    "CREATE INDEX retained_msg ON retained(msg_id);",
    /* qos2_in: inbound QoS 2 packet ids awaiting PUBREL. wills: the pending will of a session
     * (delay in seconds, counted from its disconnected_at). meta.alive_at: wall-clock ms of the
     * last commit, the heartbeat that dates a crash. */
    "CREATE TABLE qos2_in(realm TEXT NOT NULL, client_id BLOB NOT NULL, packet_id INTEGER NOT NULL,"
    "  PRIMARY KEY(realm, client_id, packet_id)) WITHOUT ROWID;"
    "CREATE TABLE wills(realm TEXT NOT NULL, client_id BLOB NOT NULL, msg_id INTEGER NOT NULL,"
    "  delay INTEGER NOT NULL, PRIMARY KEY(realm, client_id)) WITHOUT ROWID;"
    "CREATE INDEX wills_msg ON wills(msg_id);"
    "CREATE TABLE meta(id INTEGER PRIMARY KEY CHECK (id = 1), alive_at INTEGER NOT NULL);"
    "INSERT INTO meta(id, alive_at) VALUES(1, 0);",
    /* Deliveries keyed by seq alone: a commit appends to one B-tree page instead of dirtying
     * one per session (sync on pairs: +15% throughput). msg_id NULL: the message is inline (the
     * m_ columns, as in messages), the usual case of a message stored for one delivery only,
     * which then costs one row written and one deleted. Old rows keep their order (rowid). */
    "CREATE TABLE deliveries_v3(seq INTEGER PRIMARY KEY, realm TEXT NOT NULL, client_id BLOB NOT NULL,"
    "  msg_id INTEGER, qos INTEGER NOT NULL, state INTEGER NOT NULL, packet_id INTEGER NOT NULL,"
    "  retain INTEGER NOT NULL, sub_ids BLOB, share_group TEXT,"
    "  m_topic BLOB, m_payload BLOB, m_qos INTEGER, m_retain INTEGER, m_expires_at INTEGER,"
    "  m_props_present INTEGER, m_payload_format INTEGER, m_content_type BLOB, m_response_topic BLOB,"
    "  m_correlation_data BLOB, m_user_props BLOB);"
    "INSERT INTO deliveries_v3(realm, client_id, msg_id, qos, state, packet_id, retain, sub_ids, share_group)"
    "  SELECT realm, client_id, msg_id, qos, state, packet_id, retain, sub_ids, share_group FROM deliveries"
    "  ORDER BY realm, client_id, seq;"
    "DROP TABLE deliveries;"
    "ALTER TABLE deliveries_v3 RENAME TO deliveries;"
    "CREATE INDEX deliveries_msg ON deliveries(msg_id) WHERE msg_id IS NOT NULL;"
    /* expiry: the will's Message Expiry Interval (s), which starts at its publication; its
     * message row has no deadline. 0 in rows from before (their deadline ran from CONNECT). */
    "ALTER TABLE wills ADD COLUMN expiry INTEGER NOT NULL DEFAULT 0;",
};

const size_t sqlstore_migration_count = sizeof sqlstore_migrations / sizeof sqlstore_migrations[0];

const char *const sqlstore_stmt_sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN",
    [S_COMMIT] = "COMMIT",
    [S_SESSION_PUT] = "INSERT OR REPLACE INTO sessions(realm, client_id, auth_name, expiry, disconnected_at)"
                      " VALUES(?1, ?2, ?3, ?4, ?5)",
    [S_SESSION_DEL] = "DELETE FROM sessions WHERE realm = ?1 AND client_id = ?2",
    [S_SUBS_DEL] = "DELETE FROM subs WHERE realm = ?1 AND client_id = ?2",
    [S_SUB_PUT] = "INSERT OR REPLACE INTO subs(realm, client_id, filter, options, sub_id)"
                  " VALUES(?1, ?2, ?3, ?4, ?5)",
    /* OR IGNORE: a message already written for another delivery is not written twice. */
    [S_MSG_PUT] = "INSERT OR IGNORE INTO messages(id, topic, payload, qos, retain, expires_at, props_present,"
                  " payload_format, content_type, response_topic, correlation_data, user_props)"
                  " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [S_MSG_GC] =
        "DELETE FROM messages WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM deliveries WHERE msg_id = ?1)"
        " AND NOT EXISTS (SELECT 1 FROM retained WHERE msg_id = ?1)"
        " AND NOT EXISTS (SELECT 1 FROM wills WHERE msg_id = ?1)",
    [S_DELIVERY_PUT] =
        "INSERT OR REPLACE INTO deliveries(realm, client_id, seq, msg_id, qos, state, packet_id,"
        " retain, sub_ids, share_group) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    /* ?11..?21: the message, as in S_MSG_PUT's ?2..?12. */
    [S_DELIVERY_INLINE_PUT] =
        "INSERT OR REPLACE INTO deliveries(realm, client_id, seq, msg_id, qos, state, packet_id,"
        " retain, sub_ids, share_group, m_topic, m_payload, m_qos, m_retain, m_expires_at, m_props_present,"
        " m_payload_format, m_content_type, m_response_topic, m_correlation_data, m_user_props)"
        " VALUES(?1, ?2, ?3, NULL, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, "
        "?20, ?21)",
    [S_DELIVERY_DEL] = "DELETE FROM deliveries WHERE seq = ?1",
    [S_DELIVERY_STATE] = "UPDATE deliveries SET state = ?2, packet_id = ?3 WHERE seq = ?1",
    [S_RETAINED_GET] = "SELECT msg_id FROM retained WHERE realm = ?1 AND topic = ?2",
    [S_RETAINED_PUT] = "INSERT OR REPLACE INTO retained(realm, topic, msg_id) VALUES(?1, ?2, ?3)",
    [S_RETAINED_DEL] = "DELETE FROM retained WHERE realm = ?1 AND topic = ?2",
    [S_STAMP_CONNECTED] = "UPDATE sessions SET disconnected_at = ?1 WHERE disconnected_at = 0",
    [S_QOS2_PUT] = "INSERT OR IGNORE INTO qos2_in(realm, client_id, packet_id) VALUES(?1, ?2, ?3)",
    [S_QOS2_DEL] = "DELETE FROM qos2_in WHERE realm = ?1 AND client_id = ?2 AND packet_id = ?3",
    [S_SESSION_QOS2_DEL] = "DELETE FROM qos2_in WHERE realm = ?1 AND client_id = ?2",
    [S_WILL_PUT] =
        "INSERT OR REPLACE INTO wills(realm, client_id, msg_id, delay, expiry) VALUES(?1, ?2, ?3, ?4, ?5)",
    /* The will's message, unless a publication of it shares the row (run before the will goes). */
    [S_WILL_MSG_DEL] =
        "DELETE FROM messages WHERE id IN (SELECT msg_id FROM wills WHERE realm = ?1 AND client_id = ?2)"
        " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.msg_id = messages.id)"
        " AND NOT EXISTS (SELECT 1 FROM retained r WHERE r.msg_id = messages.id)",
    [S_WILL_DEL] = "DELETE FROM wills WHERE realm = ?1 AND client_id = ?2",
    [S_HEARTBEAT] = "UPDATE meta SET alive_at = ?1",
};
