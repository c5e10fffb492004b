/* SQLite persistence. Every statement is prepared once from a fixed text and
 * bound with values (no SQL is ever built from input). WAL + synchronous=FULL:
 * a change is on disk before its HTTP answer, and kill -9 loses nothing acked. */
#include "store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* Each entry migrates from user_version == index to index + 1. Never edit a
 * released entry: add a new one. */
static const char *const migrations[] = {
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO meta(key, value) VALUES('change_sequence', 0);"
    "CREATE TABLE namespaces(name TEXT PRIMARY KEY, doc TEXT NOT NULL, etag INTEGER NOT NULL,"
    "  created_at TEXT NOT NULL, modified_at TEXT NOT NULL, version INTEGER NOT NULL) WITHOUT ROWID;"
    /* Bindings point at their group and topic space through (ns, kind, name)
     * foreign keys, so the database itself refuses a dangling reference. */
    "CREATE TABLE resources(ns TEXT NOT NULL REFERENCES namespaces(name) ON DELETE CASCADE,"
    "  kind TEXT NOT NULL, name TEXT NOT NULL, doc TEXT NOT NULL, etag INTEGER NOT NULL,"
    "  created_at TEXT NOT NULL, modified_at TEXT NOT NULL, auth_key TEXT,"
    "  group_kind TEXT, group_name TEXT, space_kind TEXT, space_name TEXT,"
    "  PRIMARY KEY(ns, kind, name),"
    "  FOREIGN KEY(ns, group_kind, group_name) REFERENCES resources(ns, kind, name),"
    "  FOREIGN KEY(ns, space_kind, space_name) REFERENCES resources(ns, kind, name)) WITHOUT ROWID;"
    "CREATE UNIQUE INDEX resources_auth_key ON resources(ns, auth_key) WHERE auth_key IS NOT NULL;"
    "CREATE INDEX resources_group_ref ON resources(ns, group_kind, group_name) WHERE group_name IS NOT NULL;"
    "CREATE INDEX resources_space_ref ON resources(ns, space_kind, space_name) WHERE space_name IS NOT NULL;"
    "CREATE TABLE namespace_tombstones(name TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID;",
};

enum stmt_id {
    S_BEGIN_WRITE,
    S_BEGIN_READ,
    S_COMMIT,
    S_ROLLBACK,
    S_SEQ_NEXT,
    S_SEQ_GET,
    S_NS_GET,
    S_NS_VERSION,
    S_TOMB_GET,
    S_NS_PUT,
    S_TOMB_DEL,
    S_NS_DEL,
    S_TOMB_PUT,
    S_NS_TOUCH,
    S_NS_COUNT,
    S_NS_LIST,
    S_RES_GET,
    S_RES_PUT,
    S_RES_DEL,
    S_RES_COUNT,
    S_RES_LIST,
    S_AUTH_FIND,
    S_REF_GROUP,
    S_REF_SPACE,
    S_NS_VERSIONS,
    S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
    [S_BEGIN_WRITE] = "BEGIN IMMEDIATE",
    [S_BEGIN_READ] = "BEGIN",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_SEQ_NEXT] = "UPDATE meta SET value = value + 1 WHERE key = 'change_sequence' RETURNING value",
    [S_SEQ_GET] = "SELECT value FROM meta WHERE key = 'change_sequence'",
    [S_NS_GET] = "SELECT name, doc, etag, created_at, modified_at FROM namespaces WHERE name = ?1",
    [S_NS_VERSION] = "SELECT version FROM namespaces WHERE name = ?1",
    [S_TOMB_GET] = "SELECT version FROM namespace_tombstones WHERE name = ?1",
    [S_NS_PUT] = "INSERT INTO namespaces(name, doc, etag, created_at, modified_at, version)"
                 " VALUES(?1, ?2, ?3, ?4, ?4, ?3) ON CONFLICT(name) DO UPDATE SET doc = excluded.doc,"
                 " etag = excluded.etag, modified_at = excluded.modified_at, version = excluded.version",
    [S_TOMB_DEL] = "DELETE FROM namespace_tombstones WHERE name = ?1",
    [S_NS_DEL] = "DELETE FROM namespaces WHERE name = ?1",
    [S_TOMB_PUT] = "INSERT INTO namespace_tombstones(name, version) VALUES(?1, ?2)"
                   " ON CONFLICT(name) DO UPDATE SET version = excluded.version",
    [S_NS_TOUCH] = "UPDATE namespaces SET version = ?2 WHERE name = ?1",
    [S_NS_COUNT] = "SELECT count(*) FROM namespaces",
    [S_NS_LIST] = "SELECT name, doc, etag, created_at, modified_at FROM namespaces"
                  " WHERE ?1 IS NULL OR name > ?1 ORDER BY name LIMIT ?2",
    [S_RES_GET] = "SELECT name, doc, etag, created_at, modified_at FROM resources"
                  " WHERE ns = ?1 AND kind = ?2 AND name = ?3",
    [S_RES_PUT] = "INSERT INTO resources(ns, kind, name, doc, etag, created_at, modified_at, auth_key,"
                  " group_kind, group_name, space_kind, space_name)"
                  " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, ?9, ?10, ?11)"
                  " ON CONFLICT(ns, kind, name) DO UPDATE SET doc = excluded.doc, etag = excluded.etag,"
                  " modified_at = excluded.modified_at, auth_key = excluded.auth_key,"
                  " group_kind = excluded.group_kind, group_name = excluded.group_name,"
                  " space_kind = excluded.space_kind, space_name = excluded.space_name",
    [S_RES_DEL] = "DELETE FROM resources WHERE ns = ?1 AND kind = ?2 AND name = ?3",
    [S_RES_COUNT] = "SELECT count(*) FROM resources WHERE ns = ?1 AND kind = ?2 AND name <> '$all'",
    [S_RES_LIST] = "SELECT name, doc, etag, created_at, modified_at FROM resources"
                   " WHERE ns = ?1 AND kind = ?2 AND (?3 IS NULL OR name > ?3) ORDER BY name LIMIT ?4",
    [S_AUTH_FIND] = "SELECT name FROM resources WHERE ns = ?1 AND auth_key = ?2 AND name <> ?3 LIMIT 1",
    [S_REF_GROUP] = "SELECT name FROM resources WHERE ns = ?1 AND group_kind = ?2 AND group_name = ?3"
                    " ORDER BY name LIMIT 1",
    [S_REF_SPACE] = "SELECT name FROM resources WHERE ns = ?1 AND space_kind = ?2 AND space_name = ?3"
                    " ORDER BY name LIMIT 1",
    [S_NS_VERSIONS] =
        "SELECT name, version FROM namespaces UNION ALL SELECT name, version FROM namespace_tombstones",
};

struct store {
    sqlite3 *db;
    sqlite3_stmt *stmts[S_COUNT]; /* prepared on first use, finalized at close */
};

void stored_resource_clear(stored_resource *r)
{
    free(r->name);
    json_decref(r->doc);
    memset(r, 0, sizeof *r);
}

static void log_db_error(store *s, const char *what)
{
    log_msg(LOG_ERROR, "store", "%s: %s", what, sqlite3_errmsg(s->db));
}

/* The statement, reset and unbound, ready for binding. NULL on error (logged). */
static sqlite3_stmt *stmt(store *s, enum stmt_id id)
{
    if (!s->stmts[id]) {
        if (sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s->stmts[id], NULL) !=
            SQLITE_OK) {
            log_db_error(s, "prepare");
            return NULL;
        }
    }
    sqlite3_reset(s->stmts[id]);
    sqlite3_clear_bindings(s->stmts[id]);
    return s->stmts[id];
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* Runs a statement that returns no rows (or whose rows do not matter). */
static bool run(store *s, sqlite3_stmt *st, const char *what)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        log_db_error(s, what);
        return false;
    }
    return true;
}

static bool exec_simple(store *s, enum stmt_id id)
{
    sqlite3_stmt *st = stmt(s, id);
    return st && run(s, st, stmt_sql[id]);
}

static bool migrate(store *s, char *err, size_t len)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return snprintf(err, len, "%s", sqlite3_errmsg(s->db)), false;
    int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    int latest = (int)(sizeof migrations / sizeof migrations[0]);
    if (version < 0 || version > latest) {
        snprintf(err, len, "database schema version %d is newer than this egcontrol (%d)", version, latest);
        return false;
    }
    for (int v = version; v < latest; v++) {
        /* PRAGMA user_version takes no parameter; the value is our own integer. */
        char set_version[64];
        snprintf(set_version, sizeof set_version, "PRAGMA user_version = %d", v + 1);
        char *msg = NULL;
        if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(s->db, migrations[v], NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(s->db, set_version, NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(s->db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
            snprintf(err, len, "migration to schema %d failed: %s", v + 1, msg ? msg : "?");
            sqlite3_free(msg);
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return false;
        }
        log_msg(LOG_INFO, "store", "database schema migrated to version %d", v + 1);
    }
    return true;
}

store *store_open(const char *path, char *err, size_t len)
{
    store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, len, "out of memory");
        return NULL;
    }
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, len, "cannot open database %s: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : "out of memory");
        store_close(s);
        return NULL;
    }
    sqlite3_busy_timeout(s->db, 5000);
    char *msg = NULL;
    if (sqlite3_exec(s->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
                     NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, len, "cannot configure database %s: %s", path, msg ? msg : "?");
        sqlite3_free(msg);
        store_close(s);
        return NULL;
    }
    if (!migrate(s, err, len)) {
        store_close(s);
        return NULL;
    }
    return s;
}

void store_close(store *s)
{
    if (!s)
        return;
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(s->stmts[i]);
    sqlite3_close(s->db);
    free(s);
}

bool store_begin_write(store *s)
{
    return exec_simple(s, S_BEGIN_WRITE);
}

bool store_begin_read(store *s)
{
    return exec_simple(s, S_BEGIN_READ);
}

bool store_commit(store *s)
{
    return exec_simple(s, S_COMMIT);
}

void store_rollback(store *s)
{
    if (sqlite3_get_autocommit(s->db) == 0)
        exec_simple(s, S_ROLLBACK);
}

/* Runs a statement that yields one integer; -1 on error, `absent` without a row. */
static int64_t query_int(store *s, sqlite3_stmt *st, int64_t absent, const char *what)
{
    int rc = sqlite3_step(st);
    int64_t v = absent;
    if (rc == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE) {
        log_db_error(s, what);
        v = -1;
    }
    sqlite3_reset(st);
    return v;
}

uint64_t store_next_sequence(store *s)
{
    sqlite3_stmt *st = stmt(s, S_SEQ_NEXT);
    int64_t v = st ? query_int(s, st, -1, "next sequence") : -1;
    return v > 0 ? (uint64_t)v : 0;
}

uint64_t store_current_sequence(store *s)
{
    sqlite3_stmt *st = stmt(s, S_SEQ_GET);
    int64_t v = st ? query_int(s, st, 0, "sequence") : -1;
    return v > 0 ? (uint64_t)v : 0;
}

static char *dup_column(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return strdup(t ? (const char *)t : "");
}

/* Fills r from a row of (name, doc, etag, created_at, modified_at). */
static bool read_row(store *s, sqlite3_stmt *st, stored_resource *r)
{
    memset(r, 0, sizeof *r);
    json_error_t jerr;
    const char *doc = (const char *)sqlite3_column_text(st, 1);
    r->name = dup_column(st, 0);
    r->doc = doc ? json_loads(doc, 0, &jerr) : NULL;
    r->etag = (uint64_t)sqlite3_column_int64(st, 2);
    snprintf(r->created_at, sizeof r->created_at, "%s", (const char *)sqlite3_column_text(st, 3));
    snprintf(r->modified_at, sizeof r->modified_at, "%s", (const char *)sqlite3_column_text(st, 4));
    if (!r->name || !r->doc) {
        log_msg(LOG_ERROR, "store", "unreadable document for %s", r->name ? r->name : "?");
        (void)s;
        stored_resource_clear(r);
        return false;
    }
    return true;
}

int store_get(store *s, resource_kind kind, const char *ns, const char *name, stored_resource *out)
{
    sqlite3_stmt *st;
    if (kind == KIND_NAMESPACE) {
        if (!(st = stmt(s, S_NS_GET)))
            return -1;
        bind_text(st, 1, name);
    } else {
        if (!(st = stmt(s, S_RES_GET)))
            return -1;
        bind_text(st, 1, ns);
        bind_text(st, 2, resource_kind_collection(kind));
        bind_text(st, 3, name);
    }
    int rc = sqlite3_step(st);
    int result;
    if (rc == SQLITE_ROW)
        result = read_row(s, st, out) ? 1 : -1;
    else if (rc == SQLITE_DONE)
        result = 0;
    else {
        log_db_error(s, "get");
        result = -1;
    }
    sqlite3_reset(st);
    return result;
}

int store_namespace_version(store *s, const char *ns, uint64_t *version, uint64_t *tombstone_version)
{
    *version = 0;
    *tombstone_version = 0;
    sqlite3_stmt *st = stmt(s, S_NS_VERSION);
    if (!st)
        return -1;
    bind_text(st, 1, ns);
    int64_t v = query_int(s, st, 0, "namespace version");
    if (v < 0)
        return -1;
    if (v > 0) {
        *version = (uint64_t)v;
        return 1;
    }
    if (!(st = stmt(s, S_TOMB_GET)))
        return -1;
    bind_text(st, 1, ns);
    v = query_int(s, st, 0, "tombstone");
    if (v < 0)
        return -1;
    *tombstone_version = (uint64_t)v;
    return 0;
}

static bool touch_namespace(store *s, const char *ns, uint64_t seq)
{
    sqlite3_stmt *st = stmt(s, S_NS_TOUCH);
    if (!st)
        return false;
    bind_text(st, 1, ns);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
    return run(s, st, "touch namespace");
}

bool store_put(store *s, const store_write *w)
{
    char *doc = json_dumps(w->doc, JSON_COMPACT);
    if (!doc)
        return false;
    bool ok;
    sqlite3_stmt *st;
    if (w->kind == KIND_NAMESPACE) {
        ok = (st = stmt(s, S_NS_PUT)) != NULL;
        if (ok) {
            bind_text(st, 1, w->name);
            bind_text(st, 2, doc);
            sqlite3_bind_int64(st, 3, (sqlite3_int64)w->seq);
            bind_text(st, 4, w->now);
            ok = run(s, st, "put namespace");
        }
        if (ok && (ok = (st = stmt(s, S_TOMB_DEL)) != NULL)) {
            bind_text(st, 1, w->name);
            ok = run(s, st, "drop tombstone");
        }
    } else {
        ok = (st = stmt(s, S_RES_PUT)) != NULL;
        if (ok) {
            bind_text(st, 1, w->ns);
            bind_text(st, 2, resource_kind_collection(w->kind));
            bind_text(st, 3, w->name);
            bind_text(st, 4, doc);
            sqlite3_bind_int64(st, 5, (sqlite3_int64)w->seq);
            bind_text(st, 6, w->now);
            bind_text(st, 7, w->auth_key);
            bind_text(st, 8, w->ref_group ? resource_kind_collection(KIND_CLIENT_GROUP) : NULL);
            bind_text(st, 9, w->ref_group);
            bind_text(st, 10, w->ref_space ? resource_kind_collection(KIND_TOPIC_SPACE) : NULL);
            bind_text(st, 11, w->ref_space);
            ok = run(s, st, "put resource") && touch_namespace(s, w->ns, w->seq);
        }
    }
    free(doc);
    return ok;
}

int store_delete(store *s, resource_kind kind, const char *ns, const char *name, uint64_t seq)
{
    sqlite3_stmt *st;
    if (kind == KIND_NAMESPACE) {
        if (!(st = stmt(s, S_NS_DEL)))
            return -1;
        bind_text(st, 1, name);
        if (!run(s, st, "delete namespace"))
            return -1;
        if (sqlite3_changes(s->db) == 0)
            return 0;
        if (!(st = stmt(s, S_TOMB_PUT)))
            return -1;
        bind_text(st, 1, name);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
        return run(s, st, "tombstone") ? 1 : -1;
    }
    if (!(st = stmt(s, S_RES_DEL)))
        return -1;
    bind_text(st, 1, ns);
    bind_text(st, 2, resource_kind_collection(kind));
    bind_text(st, 3, name);
    if (!run(s, st, "delete resource"))
        return -1;
    if (sqlite3_changes(s->db) == 0)
        return 0;
    return touch_namespace(s, ns, seq) ? 1 : -1;
}

long store_count(store *s, resource_kind kind, const char *ns)
{
    sqlite3_stmt *st = stmt(s, kind == KIND_NAMESPACE ? S_NS_COUNT : S_RES_COUNT);
    if (!st)
        return -1;
    if (kind != KIND_NAMESPACE) {
        bind_text(st, 1, ns);
        bind_text(st, 2, resource_kind_collection(kind));
    }
    return (long)query_int(s, st, 0, "count");
}

/* Runs a statement yielding at most one name. */
static int query_name(store *s, sqlite3_stmt *st, char **out)
{
    int rc = sqlite3_step(st);
    int result = 0;
    if (rc == SQLITE_ROW) {
        *out = dup_column(st, 0);
        result = *out ? 1 : -1;
    } else if (rc != SQLITE_DONE) {
        log_db_error(s, "lookup");
        result = -1;
    }
    sqlite3_reset(st);
    return result;
}

int store_find_auth_key(store *s, const char *ns, const char *auth_key, const char *except, char **other)
{
    sqlite3_stmt *st = stmt(s, S_AUTH_FIND);
    if (!st)
        return -1;
    bind_text(st, 1, ns);
    bind_text(st, 2, auth_key);
    bind_text(st, 3, except ? except : "");
    return query_name(s, st, other);
}

int store_find_referrer(store *s, const char *ns, resource_kind kind, const char *name, char **binding)
{
    sqlite3_stmt *st = stmt(s, kind == KIND_CLIENT_GROUP ? S_REF_GROUP : S_REF_SPACE);
    if (!st)
        return -1;
    bind_text(st, 1, ns);
    bind_text(st, 2, resource_kind_collection(kind));
    bind_text(st, 3, name);
    return query_name(s, st, binding);
}

long store_list(store *s, resource_kind kind, const char *ns, const char *after, long limit,
                store_visit_fn fn, void *ctx)
{
    sqlite3_stmt *st;
    if (kind == KIND_NAMESPACE) {
        if (!(st = stmt(s, S_NS_LIST)))
            return -1;
        bind_text(st, 1, after);
        sqlite3_bind_int64(st, 2, limit);
    } else {
        if (!(st = stmt(s, S_RES_LIST)))
            return -1;
        bind_text(st, 1, ns);
        bind_text(st, 2, resource_kind_collection(kind));
        bind_text(st, 3, after);
        sqlite3_bind_int64(st, 4, limit);
    }
    long n = 0;
    int rc;
    bool go = true;
    while (go && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        stored_resource r;
        if (!read_row(s, st, &r)) {
            sqlite3_reset(st);
            return -1;
        }
        n++;
        go = fn(ctx, &r);
        stored_resource_clear(&r);
    }
    if (go && rc != SQLITE_DONE) {
        log_db_error(s, "list");
        n = -1;
    }
    sqlite3_reset(st);
    return n;
}

bool store_each_namespace_version(store *s, store_version_fn fn, void *ctx)
{
    sqlite3_stmt *st = stmt(s, S_NS_VERSIONS);
    if (!st)
        return false;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        fn(ctx, (const char *)sqlite3_column_text(st, 0), (uint64_t)sqlite3_column_int64(st, 1));
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        log_db_error(s, "namespace versions");
        return false;
    }
    return true;
}
