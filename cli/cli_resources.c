/* egctl RESOURCE VERB, table-driven over the six resource kinds. */
#include "cli_resources.h"

#include <stdlib.h>
#include <string.h>

#include "cli_config.h"
#include "cli_http.h"
#include "cli_json.h"
#include "cli_output.h"

typedef enum {
    P_STRING,  /* a string */
    P_INT,     /* a decimal integer */
    P_STRINGS, /* repeatable: an array of strings ("" alone: the empty array) */
    P_ATTRS,   /* repeatable KEY=VALUE into an object; integers, [a,b] arrays, strings */
    P_TAGS,    /* repeatable KEY=VALUE into an object of strings */
    P_UNSET,   /* repeatable KEY: null in the object (update only: merge patch removes it) */
    P_FILE,    /* the contents of a file, as a string */
} prop_type;

typedef struct prop {
    cli_opt opt;
    const char *path; /* dotted JSON path in the request body */
    prop_type type;
} prop;

typedef struct column {
    const char *header;
    const char *path;
} column;

struct cli_kind {
    const char *name;       /* on the command line */
    const char *collection; /* REST collection under the namespace; NULL: the namespace itself */
    const char *noun;
    const char *summary;
    const prop *props;
    size_t n_props;
    const column *cols;
    size_t n_cols;
    /* After the flags are applied to a body: what they imply. */
    void (*fixup)(json_t *body, const cli_args *a, const cli_opt *opts, size_t n_opts);
};

#define TSC "properties.topicSpacesConfiguration."
#define CCA "properties.clientCertificateAuthentication."
#define N(a) (sizeof(a) / sizeof((a)[0]))
#define DESCRIPTION                                                                                          \
    {                                                                                                        \
        {"description", 0, "TEXT", false, "description"}, "properties.description", P_STRING                 \
    }

static const prop namespace_props[] = {
    {{"state", 0, "STATE", false, "Enabled or Disabled (a Disabled namespace refuses MQTT connections)"},
     TSC "state",
     P_STRING},
    {{"max-session-expiry-hours", 0, "N", false, "maximum session expiry, 1-8 hours"},
     TSC "maximumSessionExpiryInHours",
     P_INT},
    {{"max-sessions-per-auth-name", 0, "N", false, "maximum sessions per authentication name, 1-100"},
     TSC "maximumClientSessionsPerAuthenticationName",
     P_INT},
    {{"alt-auth-source", 0, "SOURCE", true,
      "alternative authentication name source: ClientCertificateSubject, ClientCertificateDns, "
      "ClientCertificateUri, ClientCertificateIp, ClientCertificateEmail ('' for none)"},
     TSC "clientAuthentication.alternativeAuthenticationNameSources",
     P_STRINGS},
    {{"throughput-units", 0, "N", false, "throughput units, 1-40 (sku.capacity)"}, "sku.capacity", P_INT},
    {{"location", 0, "LOCATION", false, "location (kept for Azure compatibility)"}, "location", P_STRING},
    {{"tag", 0, "KEY=VALUE", true, "tag (kept for Azure compatibility)"}, "tags", P_TAGS},
};

static const prop client_props[] = {
    {{"auth-name", 0, "NAME", false, "authentication name (default: the client name; cannot change)"},
     "properties.authenticationName",
     P_STRING},
    {{"validation-scheme", 0, "SCHEME", false,
      "SubjectMatchesAuthenticationName (default), DnsMatchesAuthenticationName, "
      "UriMatchesAuthenticationName, IpMatchesAuthenticationName, EmailMatchesAuthenticationName, "
      "ThumbprintMatch"},
     CCA "validationScheme",
     P_STRING},
    {{"thumbprint", 0, "HEX", true,
      "allowed certificate thumbprint (SHA-256, 64 hex digits; implies ThumbprintMatch)"},
     CCA "allowedThumbprints",
     P_STRINGS},
    {{"state", 0, "STATE", false, "Enabled or Disabled"}, "properties.state", P_STRING},
    {{"attribute", 0, "KEY=VALUE", true,
      "attribute: integers stay integers, [a,b] is an array of strings, quote to force a string"},
     "properties.attributes",
     P_ATTRS},
    {{"remove-attribute", 0, "KEY", true, "update: remove an attribute"}, "properties.attributes", P_UNSET},
    DESCRIPTION,
};

static const prop client_group_props[] = {
    {{"query", 0, "QUERY", false, "client group query, e.g. \"attributes.type = 'sensor'\""},
     "properties.query",
     P_STRING},
    DESCRIPTION,
};

static const prop topic_space_props[] = {
    {{"template", 0, "TEMPLATE", true, "topic template, e.g. 'devices/${client.authenticationName}/#'"},
     "properties.topicTemplates",
     P_STRINGS},
    DESCRIPTION,
};

static const prop permission_binding_props[] = {
    {{"client-group", 0, "GROUP", false, "client group name ($all: every client)"},
     "properties.clientGroupName",
     P_STRING},
    {{"topic-space", 0, "SPACE", false, "topic space name"}, "properties.topicSpaceName", P_STRING},
    {{"permission", 0, "PERMISSION", false, "Publisher or Subscriber"}, "properties.permission", P_STRING},
    DESCRIPTION,
};

static const prop ca_certificate_props[] = {
    {{"certificate", 0, "FILE.pem", false, "the CA certificate (PEM)"},
     "properties.encodedCertificate",
     P_FILE},
    DESCRIPTION,
};

static const column namespace_cols[] = {
    {"NAME", "name"},
    {"STATE", TSC "state"},
    {"HOSTNAME", TSC "hostname"},
    {"MAX-EXPIRY-HOURS", TSC "maximumSessionExpiryInHours"},
    {"MAX-SESSIONS", TSC "maximumClientSessionsPerAuthenticationName"},
    {"ALT-AUTH-SOURCES", TSC "clientAuthentication.alternativeAuthenticationNameSources"},
    {"TU", "sku.capacity"},
};
static const column client_cols[] = {
    {"NAME", "name"},
    {"AUTH-NAME", "properties.authenticationName"},
    {"SCHEME", CCA "validationScheme"},
    {"STATE", "properties.state"},
    {"ATTRIBUTES", "properties.attributes"},
};
static const column client_group_cols[] = {
    {"NAME", "name"},
    {"QUERY", "properties.query"},
    {"DESCRIPTION", "properties.description"},
};
static const column topic_space_cols[] = {
    {"NAME", "name"},
    {"TEMPLATES", "properties.topicTemplates"},
    {"DESCRIPTION", "properties.description"},
};
static const column permission_binding_cols[] = {
    {"NAME", "name"},
    {"CLIENT-GROUP", "properties.clientGroupName"},
    {"TOPIC-SPACE", "properties.topicSpaceName"},
    {"PERMISSION", "properties.permission"},
};
static const column ca_certificate_cols[] = {
    {"NAME", "name"},
    {"ISSUED", "properties.issueTimeInUtc"},
    {"EXPIRES", "properties.expiryTimeInUtc"},
    {"DESCRIPTION", "properties.description"},
};

static void client_fixup(json_t *body, const cli_args *a, const cli_opt *opts, size_t n_opts);

#define PROPS(p) p, N(p)
static const cli_kind kinds[] = {
    {"namespace", NULL, "namespace", "A namespace: the MQTT settings every resource in it shares.",
     PROPS(namespace_props), PROPS(namespace_cols), NULL},
    {"ca-certificate", "caCertificates", "CA certificate",
     "A CA certificate that signs client certificates of the namespace.", PROPS(ca_certificate_props),
     PROPS(ca_certificate_cols), NULL},
    {"client", "clients", "client", "An MQTT client: how it authenticates and the attributes groups match.",
     PROPS(client_props), PROPS(client_cols), client_fixup},
    {"client-group", "clientGroups", "client group",
     "A client group: the clients whose attributes match its query ($all: every client).",
     PROPS(client_group_props), PROPS(client_group_cols), NULL},
    {"topic-space", "topicSpaces", "topic space", "A topic space: topic templates that bindings grant.",
     PROPS(topic_space_props), PROPS(topic_space_cols), NULL},
    {"permission-binding", "permissionBindings", "permission binding",
     "A permission binding: a client group may publish to or subscribe in a topic space.",
     PROPS(permission_binding_props), PROPS(permission_binding_cols), NULL},
};

size_t cli_kind_count(void)
{
    return N(kinds);
}

const cli_kind *cli_kind_at(size_t i)
{
    return i < N(kinds) ? &kinds[i] : NULL;
}

const cli_kind *cli_kind_find(const char *name)
{
    for (size_t i = 0; i < N(kinds); i++)
        if (strcmp(kinds[i].name, name) == 0)
            return &kinds[i];
    return NULL;
}

const char *cli_kind_name(const cli_kind *k)
{
    return k->name;
}

const char *cli_kind_collection(const cli_kind *k)
{
    return k->collection;
}

const char *cli_kind_noun(const cli_kind *k)
{
    return k->noun;
}

/* ---- verbs and their flags */

typedef enum { V_CREATE, V_UPDATE, V_SHOW, V_LIST, V_DELETE, V_COUNT } verb;
static const char *const verb_names[V_COUNT] = {"create", "update", "show", "list", "delete"};
static const char *const verb_summaries[V_COUNT] = {
    "Creates the %s (PUT with If-None-Match: *: fails if it exists).",
    "Changes the given properties of the %s (PATCH: a JSON merge patch).",
    "Shows the %s.",
    "Lists every %s (all pages).",
    "Deletes the %s.",
};

/* One verb's flag table: [--namespace] [--file] [property flags]. */
typedef struct verb_opts {
    cli_opt opts[24];
    const prop *prop_of[24]; /* NULL for --namespace and --file */
    size_t n;
    long ns_idx, file_idx;
    char usage[160];
} verb_opts;

static void build_verb_opts(const cli_kind *k, verb v, verb_opts *vo)
{
    memset(vo, 0, sizeof *vo);
    vo->ns_idx = vo->file_idx = -1;
    if (k->collection) {
        vo->ns_idx = (long)vo->n;
        vo->opts[vo->n++] = (cli_opt){"namespace", 'n', "NS", false, "the namespace (required)"};
    }
    if (v == V_CREATE || v == V_UPDATE) {
        vo->file_idx = (long)vo->n;
        vo->opts[vo->n++] =
            (cli_opt){"file", 'f', "FILE.json", false,
                      v == V_CREATE ? "the REST request body ('-': stdin); flags override its values"
                                    : "the JSON merge patch ('-': stdin); flags override its values"};
        for (size_t i = 0; i < k->n_props && vo->n < N(vo->opts); i++) {
            if (k->props[i].type == P_UNSET && v != V_UPDATE)
                continue;
            vo->prop_of[vo->n] = &k->props[i];
            vo->opts[vo->n++] = k->props[i].opt;
        }
    }
    const char *ns = k->collection ? " -n NS" : "";
    const char *args = v == V_LIST ? "" : v == V_DELETE ? " NAME..." : " NAME";
    const char *flags = v == V_CREATE || v == V_UPDATE ? " [flags]" : "";
    snprintf(vo->usage, sizeof vo->usage, "%s %s%s%s%s", k->name, verb_names[v], ns, args, flags);
}

static long find_opt_index(const cli_opt *opts, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(opts[i].name, name) == 0)
            return (long)i;
    return -1;
}

static void client_fixup(json_t *body, const cli_args *a, const cli_opt *opts, size_t n_opts)
{
    long tp = find_opt_index(opts, n_opts, "thumbprint");
    long vs = find_opt_index(opts, n_opts, "validation-scheme");
    if (tp < 0 || cli_args_count(a, (size_t)tp) == 0 || (vs >= 0 && cli_args_count(a, (size_t)vs) > 0))
        return;
    if (!cli_json_get_path(body, CCA "validationScheme"))
        cli_json_set_path(body, CCA "validationScheme", json_string("ThumbprintMatch"));
}

/* ---- request bodies from flags */

static bool is_json_integer(const char *s)
{
    const char *p = s + (*s == '-');
    if (!*p || (p[0] == '0' && p[1]))
        return false;
    for (const char *c = p; *c; c++)
        if (*c < '0' || *c > '9')
            return false;
    long long v;
    return cli_parse_int(s, &v);
}

/* A copy of s[0..n) without surrounding blanks and one pair of matching quotes. */
static json_t *unquoted(const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n >= 2 && (s[0] == '\'' || s[0] == '"') && s[n - 1] == s[0])
        s++, n -= 2;
    return json_stringn(s, n);
}

/* An attribute value: 'text' or "text" a string, [a,b] an array of strings, an integer, else a string. */
static json_t *attribute_value(const char *v)
{
    size_t n = strlen(v);
    if (n >= 2 && v[0] == '[' && v[n - 1] == ']') {
        json_t *arr = json_array();
        const char *p = v + 1, *end = v + n - 1;
        while (p < end) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            const char *stop = comma ? comma : end;
            json_t *e = unquoted(p, (size_t)(stop - p));
            if (json_string_length(e) || comma || json_array_size(arr))
                json_array_append(arr, e);
            json_decref(e);
            p = comma ? comma + 1 : end;
        }
        return arr;
    }
    if (is_json_integer(v))
        return json_integer(strtoll(v, NULL, 10));
    return unquoted(v, n);
}

/* The object at path in body, created if absent; NULL if something else is there. */
static json_t *object_at(json_t *body, const char *path)
{
    json_t *o = cli_json_get_path(body, path);
    if (!o || json_is_null(o)) {
        o = json_object();
        if (cli_json_set_path(body, path, o) < 0)
            return NULL;
    }
    return json_is_object(o) ? o : NULL;
}

/* Applies the property flags to body. Returns CLI_OK, CLI_USAGE or CLI_ERROR after printing why. */
static int apply_flags(const verb_opts *vo, const cli_args *a, json_t *body)
{
    /* Array flags replace what the file had; their values then accumulate. */
    for (size_t i = 0; i < vo->n; i++)
        if (vo->prop_of[i] && vo->prop_of[i]->type == P_STRINGS && cli_args_count(a, i) > 0)
            if (cli_json_set_path(body, vo->prop_of[i]->path, json_array()) < 0)
                return cli_error("--file: %s is not an object path", vo->prop_of[i]->path);
    for (size_t i = 0; i < a->n_vals; i++) {
        const prop *p = vo->prop_of[a->vals[i].opt];
        const char *val = a->vals[i].value;
        if (!p)
            continue;
        json_t *v = NULL;
        long long num;
        const char *eq;
        switch (p->type) {
        case P_STRING: v = json_string(val); break;
        case P_INT:
            if (!cli_parse_int(val, &num))
                return cli_usage_error(vo->usage, vo->opts, vo->n, "--%s needs an integer, not '%s'",
                                       p->opt.name, val);
            v = json_integer(num);
            break;
        case P_STRINGS: {
            json_t *arr = cli_json_get_path(body, p->path);
            if (*val || cli_args_count(a, a->vals[i].opt) > 1)
                json_array_append_new(arr, json_string(val));
            continue;
        }
        case P_FILE: {
            size_t len;
            char *text = cli_read_file(val, &len);
            if (!text)
                return CLI_ERROR;
            v = json_stringn(text, len);
            free(text);
            if (!v)
                return cli_error("%s is not UTF-8 text", val);
            break;
        }
        case P_ATTRS:
        case P_TAGS:
        case P_UNSET: {
            eq = strchr(val, '=');
            if (p->type != P_UNSET && (!eq || eq == val))
                return cli_usage_error(vo->usage, vo->opts, vo->n, "--%s needs KEY=VALUE, not '%s'",
                                       p->opt.name, val);
            if (p->type == P_UNSET && !*val)
                return cli_usage_error(vo->usage, vo->opts, vo->n, "--%s needs a KEY", p->opt.name);
            json_t *obj = object_at(body, p->path);
            if (!obj)
                return cli_error("--file: %s is not an object", p->path);
            if (p->type == P_UNSET) {
                json_object_set_new(obj, val, json_null());
                continue;
            }
            json_t *item = p->type == P_TAGS ? json_string(eq + 1) : attribute_value(eq + 1);
            char *key = strndup(val, (size_t)(eq - val));
            json_object_set_new(obj, key, item);
            free(key);
            continue;
        }
        }
        if (!v)
            return cli_error("--%s: the value is not UTF-8 text", p->opt.name);
        if (cli_json_set_path(body, p->path, v) < 0)
            return cli_error("--file: %s is not an object path", p->path);
    }
    return CLI_OK;
}

/* ---- output */

static void print_list(const cli_kind *k, const json_t *items)
{
    const char *headers[16];
    for (size_t c = 0; c < k->n_cols; c++)
        headers[c] = k->cols[c].header;
    cli_table *t = cli_table_new(k->n_cols, headers);
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item)
    {
        char *cells[16];
        for (size_t c = 0; c < k->n_cols; c++)
            cells[c] = cli_format_value(cli_json_get_path(item, k->cols[c].path));
        cli_table_add(t, (const char *const *)cells);
        for (size_t c = 0; c < k->n_cols; c++)
            free(cells[c]);
    }
    cli_table_print(t, stdout);
    cli_table_free(t);
}

/* ---- running a verb */

static int run_verb(const cli_kind *k, verb v, const verb_opts *vo, const cli_args *a, const cli_ctx *ctx)
{
    const char *ns = vo->ns_idx >= 0 ? cli_args_get(a, (size_t)vo->ns_idx) : NULL;
    int rc = CLI_OK;
    if (v == V_LIST) {
        char *path =
            k->collection ? cli_resource_path(ns, k->collection, NULL) : cli_resource_path(NULL, NULL, NULL);
        json_t *items;
        rc = cli_http_list(ctx, path, &items);
        free(path);
        if (rc == CLI_OK) {
            if (ctx->output == CLI_OUT_JSON)
                cli_print_json(stdout, items);
            else
                print_list(k, items);
            json_decref(items);
        }
        return rc;
    }
    if (v == V_DELETE) {
        for (size_t i = 0; i < a->n_pos; i++) {
            const char *name = a->pos[i];
            char *path = k->collection ? cli_resource_path(ns, k->collection, name)
                                       : cli_resource_path(name, NULL, NULL);
            if (cli_http_call(ctx, "DELETE", path, NULL, NULL, NULL, NULL) != CLI_OK)
                rc = CLI_ERROR;
            else if (ctx->output == CLI_OUT_TABLE)
                printf("%s \"%s\" deleted\n", k->noun, name);
            free(path);
        }
        return rc;
    }

    json_t *body = NULL;
    const char *name = a->n_pos ? a->pos[0] : NULL;
    if (v == V_CREATE || v == V_UPDATE) {
        const char *file = cli_args_get(a, (size_t)vo->file_idx);
        body = file ? cli_json_load_object(file) : json_object();
        if (!body)
            return CLI_ERROR;
        if (!name)
            name = json_string_value(json_object_get(body, "name"));
        if (!name) {
            json_decref(body);
            return cli_usage_error(vo->usage, vo->opts, vo->n,
                                   "missing NAME (an argument, or \"name\" in --file)");
        }
        if ((rc = apply_flags(vo, a, body)) != CLI_OK) {
            json_decref(body);
            return rc;
        }
        if (k->fixup)
            k->fixup(body, a, vo->opts, vo->n);
        if (v == V_UPDATE && json_object_size(body) == 0) {
            json_decref(body);
            return cli_usage_error(vo->usage, vo->opts, vo->n,
                                   "nothing to update: give property flags or --file");
        }
    }
    char *path =
        k->collection ? cli_resource_path(ns, k->collection, name) : cli_resource_path(name, NULL, NULL);
    static const char *const methods[] = {[V_CREATE] = "PUT", [V_UPDATE] = "PATCH", [V_SHOW] = "GET"};
    json_t *res = NULL;
    rc = cli_http_call(ctx, methods[v], path, body, v == V_CREATE ? "If-None-Match: *" : NULL, &res, NULL);
    if (rc == CLI_OK) {
        if (ctx->output == CLI_OUT_JSON)
            cli_print_json(stdout, res);
        else if (v == V_SHOW)
            cli_print_fields(stdout, res);
        else
            printf("%s \"%s\" %s\n", k->noun, name, v == V_CREATE ? "created" : "updated");
    }
    json_decref(res);
    json_decref(body);
    free(path);
    return rc;
}

static void print_kind_help(FILE *f, const cli_kind *k)
{
    fprintf(f, "usage: egctl %s VERB%s [args] [flags]\n\n%s\n\nverbs:\n", k->name,
            k->collection ? " -n NS" : "", k->summary);
    for (verb v = 0; v < V_COUNT; v++) {
        verb_opts vo;
        build_verb_opts(k, v, &vo);
        char summary[256];
        snprintf(summary, sizeof summary, verb_summaries[v], k->noun);
        fprintf(f, "  egctl %s\n      %s\n", vo.usage, summary);
    }
    verb_opts vo;
    build_verb_opts(k, V_UPDATE, &vo);
    fprintf(f, "\nflags of create and update:\n");
    cli_opts_print(f, vo.opts, vo.n);
    fprintf(f, "\nglobal flags: egctl --help\n");
}

int cli_resource_main(const cli_kind *k, int argc, char **argv, cli_globals *g)
{
    char usage[96];
    snprintf(usage, sizeof usage, "%s VERB [args] [flags]  (egctl %s --help)", k->name, k->name);
    if (argc == 0 || argv[0][0] == '-') {
        cli_args a;
        char err[256];
        if (cli_args_parse(argc, argv, NULL, 0, &a, g, err, sizeof err) < 0)
            return cli_usage_error(usage, NULL, 0, "%s", err);
        cli_args_free(&a);
        if (g->help) {
            print_kind_help(stdout, k);
            return CLI_OK;
        }
        return cli_usage_error(usage, NULL, 0, "%s: missing VERB (create, update, show, list, delete)",
                               k->name);
    }
    verb v;
    for (v = 0; v < V_COUNT && strcmp(argv[0], verb_names[v]) != 0; v++)
        ;
    if (v == V_COUNT)
        return cli_usage_error(usage, NULL, 0, "%s: unknown verb '%s' (create, update, show, list, delete)",
                               k->name, argv[0]);
    verb_opts vo;
    build_verb_opts(k, v, &vo);
    cli_args a;
    char err[256];
    if (cli_args_parse(argc - 1, argv + 1, vo.opts, vo.n, &a, g, err, sizeof err) < 0)
        return cli_usage_error(vo.usage, vo.opts, vo.n, "%s", err);
    int rc = CLI_OK;
    char summary[256];
    snprintf(summary, sizeof summary, verb_summaries[v], k->noun);
    if (g->help) {
        cli_usage_print(stdout, vo.usage, summary, vo.opts, vo.n);
    } else if (vo.ns_idx >= 0 && !cli_args_get(&a, (size_t)vo.ns_idx)) {
        rc = cli_usage_error(vo.usage, vo.opts, vo.n, "missing --namespace NS");
    } else if ((v == V_SHOW && a.n_pos != 1) || (v == V_DELETE && a.n_pos == 0) ||
               ((v == V_CREATE || v == V_UPDATE) && a.n_pos > 1) || (v == V_LIST && a.n_pos > 0)) {
        if (a.n_pos == 0)
            rc = cli_usage_error(vo.usage, vo.opts, vo.n, "missing NAME");
        else
            rc = cli_usage_error(vo.usage, vo.opts, vo.n, "unexpected argument '%s'", a.pos[a.n_pos - 1]);
    } else {
        cli_ctx ctx;
        rc = cli_config_resolve(g, &ctx);
        if (rc == CLI_OK) {
            rc = run_verb(k, v, &vo, &a, &ctx);
            cli_ctx_free(&ctx);
        }
    }
    cli_args_free(&a);
    return rc;
}

void cli_resources_overview(FILE *f)
{
    for (size_t i = 0; i < N(kinds); i++)
        fprintf(f, "  %-20s %s\n", kinds[i].name, kinds[i].summary);
    fprintf(f, "\n  verbs: create, update, show, list, delete; sub-resources take -n NS\n");
}
