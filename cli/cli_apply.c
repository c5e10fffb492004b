/* egctl apply and export. */
#include "cli_apply.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_config.h"
#include "cli_http.h"
#include "cli_json.h"
#include "cli_output.h"
#include "cli_resources.h"

#define MAX_KINDS 8

typedef struct item {
    char *name;
    json_t *body;
    char *origin; /* the file (or file and index) it came from, for messages */
} item;

/* A namespace as read from a directory or file. Index k of items is cli_kind_at(k). */
typedef struct definition {
    char *ns;
    json_t *ns_body; /* NULL: the directory has no namespace.json */
    item *items[MAX_KINDS];
    size_t n_items[MAX_KINDS];
} definition;

static void definition_free(definition *d)
{
    free(d->ns);
    json_decref(d->ns_body);
    for (size_t k = 0; k < MAX_KINDS; k++) {
        for (size_t i = 0; i < d->n_items[k]; i++) {
            free(d->items[k][i].name);
            json_decref(d->items[k][i].body);
            free(d->items[k][i].origin);
        }
        free(d->items[k]);
    }
    memset(d, 0, sizeof *d);
}

static int add_item(definition *d, size_t k, const char *name, json_t *body, const char *origin)
{
    item *v = realloc(d->items[k], (d->n_items[k] + 1) * sizeof *v);
    if (!v) {
        json_decref(body);
        return cli_error("out of memory");
    }
    d->items[k] = v;
    v[d->n_items[k]++] = (item){strdup(name), body, strdup(origin)};
    return CLI_OK;
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *out = cli_nonnull(malloc(n));
    snprintf(out, n, "%s/%s", a, b);
    return out;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of the NAME.json files in dir, sorted; *n = 0 and NULL when dir does not exist. */
static char **json_files(const char *dir, size_t *n, int *rc)
{
    *n = 0;
    *rc = CLI_OK;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno != ENOENT)
            *rc = cli_error("cannot read %s: %s", dir, strerror(errno));
        return NULL;
    }
    char **names = NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len <= 5 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        names = cli_nonnull(realloc(names, (*n + 1) * sizeof *names));
        names[(*n)++] = cli_nonnull(strndup(e->d_name, len - 5));
    }
    closedir(d);
    if (*n)
        qsort(names, *n, sizeof *names, cmp_str);
    return names;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static bool is_collection(const char *name)
{
    for (size_t k = 1; k < cli_kind_count(); k++)
        if (strcmp(cli_kind_collection(cli_kind_at(k)), name) == 0)
            return true;
    return false;
}

static int load_dir(const char *path, definition *d)
{
    char *nsfile = join(path, "namespace.json");
    if (access(nsfile, F_OK) == 0 && !(d->ns_body = cli_json_load_object(nsfile))) {
        free(nsfile);
        return CLI_ERROR;
    }
    free(nsfile);
    int rc = CLI_OK;
    for (size_t k = 1; k < cli_kind_count() && rc == CLI_OK; k++) {
        char *dir = join(path, cli_kind_collection(cli_kind_at(k)));
        size_t n;
        char **names = json_files(dir, &n, &rc);
        for (size_t i = 0; i < n && rc == CLI_OK; i++) {
            char file[PATH_MAX];
            snprintf(file, sizeof file, "%s/%s.json", dir, names[i]);
            json_t *body = cli_json_load_object(file);
            rc = body ? add_item(d, k, names[i], body, file) : CLI_ERROR;
        }
        free_names(names, n);
        free(dir);
    }
    /* A misspelt directory would be skipped without a word: say so. */
    DIR *dp = opendir(path);
    struct dirent *e;
    while (dp && (e = readdir(dp))) {
        struct stat st;
        char *sub = join(path, e->d_name);
        if (e->d_name[0] != '.' && stat(sub, &st) == 0 && S_ISDIR(st.st_mode) && !is_collection(e->d_name))
            fprintf(stderr,
                    "egctl: ignoring %s: not one of caCertificates, clients, clientGroups, topicSpaces, "
                    "permissionBindings\n",
                    sub);
        free(sub);
    }
    if (dp)
        closedir(dp);
    if (rc == CLI_OK && !d->ns) {
        const char *name = json_string_value(json_object_get(d->ns_body, "name"));
        char real[PATH_MAX];
        if (name)
            d->ns = strdup(name);
        else if (realpath(path, real))
            d->ns = strdup(basename(real));
        else
            rc = cli_error("cannot resolve %s: %s", path, strerror(errno));
    }
    return rc;
}

static int load_file(const char *path, definition *d)
{
    json_t *doc = cli_json_load_object(path);
    if (!doc)
        return CLI_ERROR;
    const char *shown = strcmp(path, "-") == 0 ? "standard input" : path;
    int rc = CLI_OK;
    for (size_t k = 1; k < cli_kind_count() && rc == CLI_OK; k++) {
        const char *coll = cli_kind_collection(cli_kind_at(k));
        json_t *arr = json_object_get(doc, coll);
        if (!arr)
            continue;
        if (!json_is_array(arr)) {
            rc = cli_error("%s: \"%s\" must be an array", shown, coll);
            break;
        }
        size_t i;
        json_t *body;
        json_array_foreach(arr, i, body)
        {
            char origin[PATH_MAX];
            snprintf(origin, sizeof origin, "%s: %s[%zu]", shown, coll, i);
            const char *name = json_string_value(json_object_get(body, "name"));
            if (!json_is_object(body) || !name) {
                rc = cli_error("%s: expected an object with a \"name\"", origin);
                break;
            }
            if ((rc = add_item(d, k, name, json_incref(body), origin)) != CLI_OK)
                break;
        }
        json_object_del(doc, coll);
    }
    if (rc == CLI_OK && !d->ns) {
        const char *name = json_string_value(json_object_get(doc, "name"));
        if (name)
            d->ns = strdup(name);
        else
            rc = cli_error("%s: no namespace name: give --namespace or \"name\"", shown);
    }
    d->ns_body = doc;
    return rc;
}

/* One line (table) or one JSON object (json) per resource written. */
static void report(const cli_ctx *ctx, json_t *results, const cli_kind *kind, const char *name,
                   const char *what)
{
    if (ctx->output == CLI_OUT_JSON)
        json_array_append_new(
            results, json_pack("{s:s, s:s, s:s}", "kind", cli_kind_name(kind), "name", name, "result", what));
    else
        printf("%s \"%s\" %s\n", cli_kind_noun(kind), name, what);
}

static int put(const cli_ctx *ctx, const char *path, const json_t *body, json_t *results,
               const cli_kind *kind, const char *name, const char *origin)
{
    long status = 0;
    if (cli_http_call(ctx, "PUT", path, body, NULL, NULL, &status) != CLI_OK)
        return cli_error("stopped at %s \"%s\"%s%s", cli_kind_noun(kind), name, origin ? " from " : "",
                         origin ? origin : "");
    report(ctx, results, kind, name, status == 201 ? "created" : "configured");
    return CLI_OK;
}

/* Deletes, bindings first, every resource of the namespace the definition does not hold. */
static int prune(const cli_ctx *ctx, const definition *d, json_t *results)
{
    for (size_t k = cli_kind_count() - 1; k >= 1; k--) {
        const cli_kind *kind = cli_kind_at(k);
        char *path = cli_resource_path(d->ns, cli_kind_collection(kind), NULL);
        json_t *existing;
        int rc = cli_http_list(ctx, path, &existing);
        free(path);
        if (rc != CLI_OK)
            return rc;
        size_t i;
        json_t *res;
        json_array_foreach(existing, i, res)
        {
            const char *name = json_string_value(json_object_get(res, "name"));
            bool keep = !name || strcmp(name, "$all") == 0;
            for (size_t j = 0; j < d->n_items[k] && !keep; j++)
                keep = strcmp(d->items[k][j].name, name) == 0;
            if (keep)
                continue;
            char *rpath = cli_resource_path(d->ns, cli_kind_collection(kind), name);
            rc = cli_http_call(ctx, "DELETE", rpath, NULL, NULL, NULL, NULL);
            free(rpath);
            if (rc != CLI_OK) {
                json_decref(existing);
                return rc;
            }
            report(ctx, results, kind, name, "deleted");
        }
        json_decref(existing);
    }
    return CLI_OK;
}

static int apply(const cli_ctx *ctx, definition *d, bool do_prune)
{
    json_t *results = json_array();
    char *nspath = cli_resource_path(d->ns, NULL, NULL);
    int rc = CLI_OK;
    if (d->ns_body) {
        json_object_del(d->ns_body, "name"); /* the target may differ (--namespace) */
        rc = put(ctx, nspath, d->ns_body, results, cli_kind_at(0), d->ns, NULL);
    } else {
        /* No namespace.json: the namespace is created with defaults, or left as it is. */
        cli_response r;
        rc = cli_http_request(ctx, "GET", nspath, NULL, NULL, &r);
        long status = rc == CLI_OK ? r.status : 0;
        if (rc == CLI_OK && status != 404 && (status < 200 || status > 299))
            rc = cli_http_report(ctx, &r);
        cli_response_free(&r);
        if (status == 404) {
            json_t *empty = json_object();
            rc = put(ctx, nspath, empty, results, cli_kind_at(0), d->ns, NULL);
            json_decref(empty);
        }
    }
    for (size_t k = 1; k < cli_kind_count() && rc == CLI_OK; k++) {
        const cli_kind *kind = cli_kind_at(k);
        for (size_t i = 0; i < d->n_items[k] && rc == CLI_OK; i++) {
            const item *it = &d->items[k][i];
            char *path = cli_resource_path(d->ns, cli_kind_collection(kind), it->name);
            rc = put(ctx, path, it->body, results, kind, it->name, it->origin);
            free(path);
        }
    }
    if (rc == CLI_OK && do_prune)
        rc = prune(ctx, d, results);
    if (ctx->output == CLI_OUT_JSON)
        cli_print_json(stdout, results);
    json_decref(results);
    free(nspath);
    return rc;
}

enum { A_FILE, A_NAMESPACE, A_PRUNE };
static const cli_opt apply_opts[] = {
    [A_FILE] = {"file", 'f', "DIR|FILE", false, "the namespace: a directory, or one JSON file ('-': stdin)"},
    [A_NAMESPACE] = {"namespace", 'n', "NS", false,
                     "the namespace to apply to (default: \"name\" in the file or namespace.json, else the "
                     "directory's name)"},
    [A_PRUNE] = {"prune", 0, NULL, false, "also delete the namespace's resources that the definition lacks"},
};
#define APPLY_USAGE "apply -f DIR|FILE [-n NS] [--prune]"
#define APPLY_SUMMARY                                                                                        \
    "Creates or updates a whole namespace in dependency order (namespace, CA certificates, clients, client " \
    "groups,\ntopic spaces, permission bindings) with PUTs; applying twice changes nothing.\n"               \
    "DIR: namespace.json and caCertificates/ clients/ clientGroups/ topicSpaces/ permissionBindings/, one "  \
    "REST body\nper resource in NAME.json (examples/demo). FILE: one JSON document, the namespace's body "   \
    "with "                                                                                                  \
    "an array\nper collection of resource bodies with their \"name\" (what `egctl export` prints)."

int cli_apply_main(int argc, char **argv, cli_globals *g)
{
    cli_args a;
    char err[256];
    const size_t n_opts = sizeof apply_opts / sizeof apply_opts[0];
    if (cli_args_parse(argc, argv, apply_opts, n_opts, &a, g, err, sizeof err) < 0)
        return cli_usage_error(APPLY_USAGE, apply_opts, n_opts, "%s", err);
    int rc;
    const char *src = cli_args_get(&a, A_FILE);
    if (g->help) {
        cli_usage_print(stdout, APPLY_USAGE, APPLY_SUMMARY, apply_opts, n_opts);
        rc = CLI_OK;
    } else if (!src) {
        rc = cli_usage_error(APPLY_USAGE, apply_opts, n_opts, "missing -f DIR|FILE");
    } else if (a.n_pos) {
        rc = cli_usage_error(APPLY_USAGE, apply_opts, n_opts, "unexpected argument '%s'", a.pos[0]);
    } else {
        cli_ctx ctx;
        definition d = {0};
        const char *ns = cli_args_get(&a, A_NAMESPACE);
        if (ns)
            d.ns = strdup(ns);
        struct stat st;
        if (strcmp(src, "-") != 0 && stat(src, &st) != 0)
            rc = cli_error("cannot read %s: %s", src, strerror(errno));
        else if (strcmp(src, "-") != 0 && S_ISDIR(st.st_mode))
            rc = load_dir(src, &d);
        else
            rc = load_file(src, &d);
        if (rc == CLI_OK && (rc = cli_config_resolve(g, &ctx)) == CLI_OK) {
            rc = apply(&ctx, &d, cli_args_get(&a, A_PRUNE) != NULL);
            cli_ctx_free(&ctx);
        }
        definition_free(&d);
    }
    cli_args_free(&a);
    return rc;
}

/* ---- export */

static const char *const read_only[] = {"id",
                                        "type",
                                        "systemData",
                                        "properties.provisioningState",
                                        "properties.topicSpacesConfiguration.hostname",
                                        "properties.issueTimeInUtc",
                                        "properties.expiryTimeInUtc"};

static void strip_read_only(json_t *res)
{
    for (size_t i = 0; i < sizeof read_only / sizeof read_only[0]; i++)
        cli_json_del_path(res, read_only[i]);
}

static bool dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return true;
    struct dirent *e;
    bool empty = true;
    while (empty && (e = readdir(d)))
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    return empty;
}

/* Writes the export as a directory. */
static int write_dir(const char *dir, json_t *ns_body, json_t *const *lists, bool force)
{
    if (!force && !dir_is_empty(dir))
        return cli_error("%s is not empty (--force replaces the namespace files in it)", dir);
    if (cli_mkdir_p(dir) < 0)
        return cli_error("cannot create %s: %s", dir, strerror(errno));
    char *path = join(dir, "namespace.json");
    int rc = cli_json_write_file(path, ns_body) < 0 ? CLI_ERROR : CLI_OK;
    free(path);
    for (size_t k = 1; k < cli_kind_count() && rc == CLI_OK; k++) {
        char *sub = join(dir, cli_kind_collection(cli_kind_at(k)));
        if (cli_mkdir_p(sub) < 0)
            rc = cli_error("cannot create %s: %s", sub, strerror(errno));
        size_t n;
        char **stale = rc == CLI_OK ? json_files(sub, &n, &rc) : NULL;
        for (size_t i = 0; stale && i < n; i++) { /* --force: resources no longer there */
            char file[PATH_MAX];
            snprintf(file, sizeof file, "%s/%s.json", sub, stale[i]);
            unlink(file);
        }
        free_names(stale, stale ? n : 0);
        size_t i;
        json_t *res;
        json_array_foreach(lists[k], i, res)
        {
            if (rc != CLI_OK)
                break;
            char file[PATH_MAX];
            snprintf(file, sizeof file, "%s/%s.json", sub, json_string_value(json_object_get(res, "name")));
            json_t *body = json_deep_copy(res);
            json_object_del(body, "name"); /* the file name carries it */
            rc = cli_json_write_file(file, body) < 0 ? CLI_ERROR : CLI_OK;
            json_decref(body);
        }
        free(sub);
    }
    return rc;
}

enum { E_DIR, E_FORCE };
static const cli_opt export_opts[] = {
    [E_DIR] = {"dir", 'd', "DIR", false,
               "write the directory layout there (default: one JSON document on stdout)"},
    [E_FORCE] = {"force", 0, NULL, false,
                 "write into a non-empty DIR, removing resource files no longer there"},
};
#define EXPORT_USAGE "export NAMESPACE [-d DIR [--force]]"
#define EXPORT_SUMMARY                                                                                       \
    "Writes a namespace out as `egctl apply` reads it, read-only fields (id, type, systemData, "             \
    "provisioningState,\nhostname, issue and expiry times) left out, and the built-in $all group too. "      \
    "With -d: DIR/namespace.json\n(with the namespace's \"name\") and one NAME.json per resource; else one " \
    "JSON document on stdout."

static int export_ns(const cli_ctx *ctx, const char *ns, const char *dir, bool force)
{
    json_t *lists[MAX_KINDS] = {0};
    json_t *ns_body = NULL;
    char *path = cli_resource_path(ns, NULL, NULL);
    int rc = cli_http_call(ctx, "GET", path, NULL, NULL, &ns_body, NULL);
    free(path);
    for (size_t k = 1; k < cli_kind_count() && rc == CLI_OK; k++) {
        path = cli_resource_path(ns, cli_kind_collection(cli_kind_at(k)), NULL);
        rc = cli_http_list(ctx, path, &lists[k]);
        free(path);
        size_t i;
        json_t *res;
        for (i = 0; rc == CLI_OK && i < json_array_size(lists[k]);) {
            res = json_array_get(lists[k], i);
            const char *name = json_string_value(json_object_get(res, "name"));
            if (name && strcmp(name, "$all") == 0) {
                json_array_remove(lists[k], i);
                continue;
            }
            strip_read_only(res);
            i++;
        }
    }
    if (rc == CLI_OK) {
        strip_read_only(ns_body);
        if (dir) {
            rc = write_dir(dir, ns_body, lists, force);
            if (rc == CLI_OK && ctx->output == CLI_OUT_TABLE) {
                printf("namespace \"%s\" exported to %s:", ns, dir);
                for (size_t k = 1; k < cli_kind_count(); k++)
                    printf(" %zu %s%s", json_array_size(lists[k]), cli_kind_collection(cli_kind_at(k)),
                           k + 1 < cli_kind_count() ? "," : "\n");
            }
        } else {
            for (size_t k = 1; k < cli_kind_count(); k++)
                json_object_set(ns_body, cli_kind_collection(cli_kind_at(k)), lists[k]);
            cli_print_json(stdout, ns_body);
        }
    }
    for (size_t k = 0; k < MAX_KINDS; k++)
        json_decref(lists[k]);
    json_decref(ns_body);
    return rc;
}

int cli_export_main(int argc, char **argv, cli_globals *g)
{
    cli_args a;
    char err[256];
    const size_t n_opts = sizeof export_opts / sizeof export_opts[0];
    if (cli_args_parse(argc, argv, export_opts, n_opts, &a, g, err, sizeof err) < 0)
        return cli_usage_error(EXPORT_USAGE, export_opts, n_opts, "%s", err);
    int rc;
    if (g->help) {
        cli_usage_print(stdout, EXPORT_USAGE, EXPORT_SUMMARY, export_opts, n_opts);
        rc = CLI_OK;
    } else if (a.n_pos != 1) {
        rc = a.n_pos
                 ? cli_usage_error(EXPORT_USAGE, export_opts, n_opts, "unexpected argument '%s'", a.pos[1])
                 : cli_usage_error(EXPORT_USAGE, export_opts, n_opts, "missing NAMESPACE");
    } else if (cli_args_get(&a, E_FORCE) && !cli_args_get(&a, E_DIR)) {
        rc = cli_usage_error(EXPORT_USAGE, export_opts, n_opts, "--force needs -d DIR");
    } else {
        cli_ctx ctx;
        if ((rc = cli_config_resolve(g, &ctx)) == CLI_OK) {
            rc = export_ns(&ctx, a.pos[0], cli_args_get(&a, E_DIR), cli_args_get(&a, E_FORCE) != NULL);
            cli_ctx_free(&ctx);
        }
    }
    cli_args_free(&a);
    return rc;
}
