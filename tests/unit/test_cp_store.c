/* The control plane's SQLite store: schema migration, transactions, the
 * change sequence, references enforced by foreign keys, tombstones, paging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"

typedef struct fixture {
    char dir[64];
    char path[96];
    store *s;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/egstore.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/control.db", f->dir);
    char err[256];
    f->s = store_open(f->path, err, sizeof err);
    assert_non_null(f->s);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    store_close(f->s);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static bool put(store *s, resource_kind kind, const char *ns, const char *name, const char *doc_text,
                const char *auth, const char *group, const char *space)
{
    json_t *doc = json_loads(doc_text, 0, NULL);
    assert_non_null(doc);
    uint64_t seq = store_next_sequence(s);
    assert_true(seq > 0);
    store_write w = {.kind = kind,
                     .ns = ns,
                     .name = name,
                     .doc = doc,
                     .seq = seq,
                     .now = "2026-11-25T00:00:00.000Z",
                     .auth_key = auth,
                     .ref_group = group,
                     .ref_space = space};
    bool ok = store_put(s, &w);
    json_decref(doc);
    return ok;
}

static void make_namespace(store *s, const char *ns)
{
    assert_true(store_begin_write(s));
    assert_true(put(s, KIND_NAMESPACE, NULL, ns, "{\"properties\":{}}", NULL, NULL, NULL));
    assert_true(put(s, KIND_CLIENT_GROUP, ns, "$all", "{\"properties\":{}}", NULL, NULL, NULL));
    assert_true(store_commit(s));
}

static int64_t pragma_int(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void test_schema_version_and_wal(void **state)
{
    fixture *f = *state;
    assert_int_equal(pragma_int(f->path, "PRAGMA user_version"), 1);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
    /* Reopening does not migrate again or lose the sequence. */
    make_namespace(f->s, "ns-one");
    uint64_t seq = store_current_sequence(f->s);
    store_close(f->s);
    char err[256];
    f->s = store_open(f->path, err, sizeof err);
    assert_non_null(f->s);
    assert_int_equal(store_current_sequence(f->s), seq);
}

static void test_newer_schema_refused(void **state)
{
    fixture *f = *state;
    store_close(f->s);
    f->s = NULL;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    char err[256] = "";
    f->s = store_open(f->path, err, sizeof err);
    assert_null(f->s);
    assert_non_null(strstr(err, "newer"));
}

static void test_put_get_versions(void **state)
{
    fixture *f = *state;
    make_namespace(f->s, "ns-one");
    assert_true(store_begin_write(f->s));
    assert_true(put(f->s, KIND_CLIENT, "ns-one", "device1", "{\"properties\":{\"state\":\"Enabled\"}}",
                    "device1", NULL, NULL));
    assert_true(store_commit(f->s));
    stored_resource r;
    assert_int_equal(store_get(f->s, KIND_CLIENT, "ns-one", "device1", &r), 1);
    assert_string_equal(r.name, "device1");
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.doc, "properties"), "state")),
                        "Enabled");
    uint64_t etag = r.etag;
    stored_resource_clear(&r);
    uint64_t version, tomb;
    assert_int_equal(store_namespace_version(f->s, "ns-one", &version, &tomb), 1);
    assert_int_equal(version, etag); /* the namespace version follows its last change */
    assert_int_equal(store_get(f->s, KIND_CLIENT, "ns-one", "nobody", &r), 0);
    assert_int_equal(store_get(f->s, KIND_CLIENT, "ns-two", "device1", &r), 0);
    assert_int_equal(store_count(f->s, KIND_CLIENT, "ns-one"), 1);
    assert_int_equal(store_count(f->s, KIND_CLIENT_GROUP, "ns-one"), 0); /* $all is not counted */
}

static void test_rollback_discards(void **state)
{
    fixture *f = *state;
    make_namespace(f->s, "ns-one");
    uint64_t before = store_current_sequence(f->s);
    assert_true(store_begin_write(f->s));
    assert_true(put(f->s, KIND_CLIENT, "ns-one", "ghost", "{}", "ghost", NULL, NULL));
    store_rollback(f->s);
    stored_resource r;
    assert_int_equal(store_get(f->s, KIND_CLIENT, "ns-one", "ghost", &r), 0);
    assert_int_equal(store_current_sequence(f->s), before);
}

static void test_unique_auth_key(void **state)
{
    fixture *f = *state;
    make_namespace(f->s, "ns-one");
    assert_true(store_begin_write(f->s));
    assert_true(put(f->s, KIND_CLIENT, "ns-one", "a", "{}", "dev", NULL, NULL));
    char *other = NULL;
    assert_int_equal(store_find_auth_key(f->s, "ns-one", "dev", "b", &other), 1);
    assert_string_equal(other, "a");
    free(other);
    assert_int_equal(store_find_auth_key(f->s, "ns-one", "dev", "a", &other), 0);
    /* The unique index is the last line of defence. */
    assert_false(put(f->s, KIND_CLIENT, "ns-one", "b", "{}", "dev", NULL, NULL));
    store_rollback(f->s);
}

static void test_binding_references(void **state)
{
    fixture *f = *state;
    make_namespace(f->s, "ns-one");
    assert_true(store_begin_write(f->s));
    assert_true(put(f->s, KIND_TOPIC_SPACE, "ns-one", "space", "{}", NULL, NULL, NULL));
    /* A binding to a group that does not exist violates the foreign key. */
    assert_false(put(f->s, KIND_PERMISSION_BINDING, "ns-one", "bad", "{}", NULL, "missing", "space"));
    assert_true(put(f->s, KIND_PERMISSION_BINDING, "ns-one", "good", "{}", NULL, "$all", "space"));
    assert_true(store_commit(f->s));
    char *user = NULL;
    assert_int_equal(store_find_referrer(f->s, "ns-one", KIND_TOPIC_SPACE, "space", &user), 1);
    assert_string_equal(user, "good");
    free(user);
    assert_int_equal(store_find_referrer(f->s, "ns-one", KIND_CLIENT_GROUP, "$all", &user), 1);
    free(user);
    /* Deleting the referenced topic space is refused by the database too. */
    assert_true(store_begin_write(f->s));
    assert_int_equal(store_delete(f->s, KIND_TOPIC_SPACE, "ns-one", "space", store_next_sequence(f->s)), -1);
    store_rollback(f->s);
    assert_true(store_begin_write(f->s));
    assert_int_equal(store_delete(f->s, KIND_PERMISSION_BINDING, "ns-one", "good", store_next_sequence(f->s)),
                     1);
    assert_int_equal(store_delete(f->s, KIND_TOPIC_SPACE, "ns-one", "space", store_next_sequence(f->s)), 1);
    assert_int_equal(store_delete(f->s, KIND_TOPIC_SPACE, "ns-one", "space", store_next_sequence(f->s)), 0);
    assert_true(store_commit(f->s));
}

static void test_namespace_delete_cascades_and_tombstone(void **state)
{
    fixture *f = *state;
    make_namespace(f->s, "ns-one");
    assert_true(store_begin_write(f->s));
    assert_true(put(f->s, KIND_TOPIC_SPACE, "ns-one", "space", "{}", NULL, NULL, NULL));
    assert_true(put(f->s, KIND_PERMISSION_BINDING, "ns-one", "bind", "{}", NULL, "$all", "space"));
    assert_true(put(f->s, KIND_CLIENT, "ns-one", "dev", "{}", "dev", NULL, NULL));
    uint64_t seq = store_next_sequence(f->s);
    assert_int_equal(store_delete(f->s, KIND_NAMESPACE, NULL, "ns-one", seq), 1);
    assert_true(store_commit(f->s));
    stored_resource r;
    assert_int_equal(store_get(f->s, KIND_CLIENT, "ns-one", "dev", &r), 0);
    uint64_t version, tomb;
    assert_int_equal(store_namespace_version(f->s, "ns-one", &version, &tomb), 0);
    assert_int_equal(tomb, seq);
    /* Created again: the tombstone goes, the version keeps growing. */
    make_namespace(f->s, "ns-one");
    assert_int_equal(store_namespace_version(f->s, "ns-one", &version, &tomb), 1);
    assert_true(version > seq);
    assert_int_equal(tomb, 0);
    assert_int_equal(store_count(f->s, KIND_CLIENT, "ns-one"), 0);
}

typedef struct names {
    char list[64][16];
    int n;
} names;

static bool collect(void *ctx, const stored_resource *r)
{
    names *n = ctx;
    snprintf(n->list[n->n++], sizeof n->list[0], "%s", r->name);
    return true;
}

static void test_list_pages_in_order(void **state)
{
    fixture *f = *state;
    make_namespace(f->s, "ns-one");
    assert_true(store_begin_write(f->s));
    const char *order[] = {"c3", "a1", "b2", "e5", "d4"};
    for (int i = 0; i < 5; i++) {
        char auth[16];
        snprintf(auth, sizeof auth, "k%d", i);
        assert_true(put(f->s, KIND_CLIENT, "ns-one", order[i], "{}", auth, NULL, NULL));
    }
    assert_true(store_commit(f->s));
    names page = {0};
    assert_int_equal(store_list(f->s, KIND_CLIENT, "ns-one", NULL, 2, collect, &page), 2);
    assert_string_equal(page.list[0], "a1");
    assert_string_equal(page.list[1], "b2");
    page.n = 0;
    assert_int_equal(store_list(f->s, KIND_CLIENT, "ns-one", "b2", 10, collect, &page), 3);
    assert_string_equal(page.list[0], "c3");
    assert_string_equal(page.list[2], "e5");
    page.n = 0;
    assert_int_equal(store_list(f->s, KIND_CLIENT, "ns-one", "e5", 10, collect, &page), 0);
    page.n = 0;
    assert_int_equal(store_list(f->s, KIND_NAMESPACE, NULL, NULL, 10, collect, &page), 1);
    assert_string_equal(page.list[0], "ns-one");
}

static void count_versions(void *ctx, const char *ns, uint64_t version)
{
    (void)ns;
    assert_true(version > 0);
    (*(int *)ctx)++;
}

static void test_each_namespace_version(void **state)
{
    fixture *f = *state;
    make_namespace(f->s, "ns-one");
    make_namespace(f->s, "ns-two");
    assert_true(store_begin_write(f->s));
    assert_int_equal(store_delete(f->s, KIND_NAMESPACE, NULL, "ns-two", store_next_sequence(f->s)), 1);
    assert_true(store_commit(f->s));
    int n = 0;
    assert_true(store_each_namespace_version(f->s, count_versions, &n));
    assert_int_equal(n, 2); /* the live one and the tombstone */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_schema_version_and_wal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_get_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback_discards, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unique_auth_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binding_references, setup, teardown),
        cmocka_unit_test_setup_teardown(test_namespace_delete_cascades_and_tombstone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_pages_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_each_namespace_version, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
