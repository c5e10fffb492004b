/* The snapshot parser: JSON text to an ns_policy, validated whole. Every
 * refusal names the JSON path of the offending item, so that egcontrol's
 * push log and the broker's admin answer say what to fix. The rules are the
 * control plane's (controlplane/validate_*.c), re-checked here because a
 * broker must never run half a policy: the file it restarts from may have
 * been edited by hand, and a snapshot may come from a newer or buggy
 * egcontrol. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "snapshot/ns_policy_json.h"
#include "snapshot/resource_names.h"
#include "util/cert_util.h"

#define ALL_GROUP "$all"

/* ---- settings */

static bool parse_settings(sj_ctx *x, const json_t *doc)
{
    const char *const *sources = ns_name_source_names;
    const char *P = "settings";
    ns_settings *st = &x->p->settings;
    const json_t *s, *list;
    int state;
    json_int_t expiry, sessions, units;
    const char *host;
    size_t host_len;
    if (!sj_container(x, doc, "snapshot", "settings", true, JSON_OBJECT, &s) ||
        !sj_enum(x, s, P, "state", ns_state_names, &state) ||
        !sj_int(x, s, P, "maximumSessionExpiryInHours", true, 1, 8, &expiry) ||
        !sj_int(x, s, P, "maximumClientSessionsPerAuthenticationName", true, 1, 100, &sessions) ||
        !sj_int(x, s, P, "throughputUnits", false, 1, 40, &units) ||
        !sj_string(x, s, P, "hostname", false, &host, &host_len) ||
        !sj_container(x, s, P, "alternativeAuthenticationNameSources", false, JSON_ARRAY, &list))
        return false;
    st->enabled = state == 0;
    st->max_session_expiry_hours = (uint32_t)expiry;
    st->max_sessions_per_auth_name = (uint32_t)sessions;
    st->throughput_units = (long)units;
    if (host && !(st->hostname = ns_arena_strndup(&x->p->mem, host, host_len)))
        return sj_oom(x);
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v)
    {
        char p[PATH_SIZE];
        int src;
        sj_path_index(p, "settings.alternativeAuthenticationNameSources", i);
        if (!sj_is_enum(x, v, p, sources, &src))
            return false;
        for (size_t j = 0; j < st->n_alt_sources; j++)
            if (st->alt_sources[j] == (ns_name_source)src)
                return sj_fail(x, p, "repeats %s", sources[src]);
        st->alt_sources[st->n_alt_sources++] = (ns_name_source)src; /* distinct, so at most 5 */
    }
    return true;
}

/* ---- CA certificates */

static int digest_cmp(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

static bool parse_cas(sj_ctx *x, const json_t *list)
{
    ns_policy *p = x->p;
    size_t n = json_array_size(list);
    sj_named *names = calloc(n ? n : 1, sizeof *names);
    p->ca_digests = ns_arena_alloc(&p->mem, (n ? n : 1) * 32);
    if (!names || !p->ca_digests) {
        free(names);
        return sj_oom(x);
    }
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        char path[PATH_SIZE], pp[PATH_SIZE];
        const json_t *item = json_array_get(list, i);
        const char *pem;
        size_t len;
        sj_path_index(path, "caCertificates", i);
        sj_path_key(pp, path, "encodedCertificate");
        ok = sj_object(x, item, path) && sj_item_name(x, item, path, false, false, &names[i].name) &&
             sj_string(x, item, path, "encodedCertificate", true, &pem, &len);
        if (!ok)
            break;
        names[i].index = i;
        const char *why;
        X509 *cert = pem_read_one_certificate(pem, len, &why);
        if (why == pem_cert_extra_block || why == pem_cert_extra_text)
            why = "must hold exactly one certificate and nothing after its END line";
        unsigned int md_len = 0;
        ok = cert ? true : why ? sj_fail(x, pp, "%s", why) : sj_oom(x);
        if (ok && (X509_digest(cert, EVP_sha256(), p->ca_digests[i], &md_len) != 1 || md_len != 32 ||
                   X509_STORE_add_cert(p->cas, cert) != 1))
            ok = sj_fail(x, pp, "could not be added to the certificate store");
        X509_free(cert);
        ERR_clear_error();
    }
    if (ok) {
        ok = sj_unique_names(x, names, n, "caCertificates");
        p->n_cas = n;
        qsort(p->ca_digests, n, 32, digest_cmp);
    }
    free(names);
    return ok;
}

/* ---- clients */

static bool parse_thumbprints(sj_ctx *x, ns_client *c, const json_t *list, const char *path)
{
    char p[PATH_SIZE];
    sj_path_key(p, path, "allowedThumbprints");
    size_t n = json_array_size(list);
    if (c->scheme != NS_SCHEME_THUMBPRINT) {
        /* An empty list says nothing (Azure exports carry one). */
        return n == 0 || sj_fail(x, p, "is only allowed with validationScheme ThumbprintMatch");
    }
    if (n < 1 || n > NS_MAX_THUMBPRINTS)
        return sj_fail(x, p,
                       "must hold 1 or %d SHA-256 thumbprints with validationScheme ThumbprintMatch, not %zu",
                       NS_MAX_THUMBPRINTS, n);
    for (size_t i = 0; i < n; i++) {
        char pi[PATH_SIZE];
        const json_t *v = json_array_get(list, i);
        sj_path_index(pi, p, i);
        if (!json_is_string(v))
            return sj_fail(x, pi, "must be a string, not %s", sj_type_name(v));
        const char *s = json_string_value(v);
        if (json_string_length(v) != NS_THUMBPRINT_HEX)
            return sj_fail(x, pi, "must be exactly %d hexadecimal digits, not %zu characters",
                           NS_THUMBPRINT_HEX, json_string_length(v));
        size_t k = ns_hex_upper(s, NS_THUMBPRINT_HEX, c->thumbprints[i]);
        if (k != NS_THUMBPRINT_HEX)
            return sj_fail(x, pi,
                           "must be exactly %d hexadecimal digits; byte 0x%02X at position %zu is not one",
                           NS_THUMBPRINT_HEX, (unsigned char)s[k], k);
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->thumbprints[j], c->thumbprints[i]) == 0)
                return sj_fail(x, pi, "repeats the thumbprint at index %zu", j);
        c->n_thumbprints = i + 1;
    }
    return true;
}

static bool parse_attribute(sj_ctx *x, client_attr *a, const json_t *v, const char *p)
{
    ns_arena *mem = &x->p->mem;
    if (json_is_integer(v)) {
        a->type = CLIENT_ATTR_INT;
        a->num = json_integer_value(v);
        return true;
    }
    if (json_is_string(v)) {
        a->type = CLIENT_ATTR_STRING;
        a->str = ns_arena_strndup(mem, json_string_value(v), json_string_length(v));
        return a->str || sj_oom(x);
    }
    if (!json_is_array(v))
        return sj_fail(x, p, "must be a string, an integer or an array of strings, not %s", sj_type_name(v));
    a->type = CLIENT_ATTR_STRING_ARRAY;
    a->n_items = json_array_size(v);
    const char **items = ns_arena_alloc(mem, (a->n_items ? a->n_items : 1) * sizeof *items);
    if (!items)
        return sj_oom(x);
    for (size_t i = 0; i < a->n_items; i++) {
        const json_t *item = json_array_get(v, i);
        if (!json_is_string(item)) {
            char pi[PATH_SIZE];
            sj_path_index(pi, p, i);
            return sj_fail(x, pi, "must be a string, not %s", sj_type_name(item));
        }
        if (!(items[i] = ns_arena_strndup(mem, json_string_value(item), json_string_length(item))))
            return sj_oom(x);
    }
    a->items = items;
    return true;
}

static bool parse_attributes(sj_ctx *x, ns_client *c, const json_t *obj, const char *path)
{
    char pa[PATH_SIZE];
    sj_path_key(pa, path, "attributes");
    c->attrs =
        ns_arena_alloc(&x->p->mem, (json_object_size(obj) ? json_object_size(obj) : 1) * sizeof *c->attrs);
    if (!c->attrs)
        return sj_oom(x);
    const char *key;
    size_t key_len;
    json_t *v;
    json_object_keylen_foreach((json_t *)obj, key, key_len, v)
    {
        char p[PATH_SIZE];
        client_attr *a = &c->attrs[c->n_attrs];
        if (!ns_attribute_key_valid(key, key_len)) {
            char q[80];
            return sj_fail(x, pa, "attribute names must be 1-%d letters, digits or '_', not %s",
                           NS_ATTRIBUTE_KEY_MAX, sj_shown(key, key_len, q));
        }
        sj_path_key(p, pa, key);
        if (!(a->key = ns_arena_strndup(&x->p->mem, key, key_len)))
            return sj_oom(x);
        if (!parse_attribute(x, a, v, p))
            return false;
        c->n_attrs++;
    }
    return true;
}

static bool parse_client(sj_ctx *x, ns_client *c, const json_t *item, const char *path)
{
    const char *auth;
    size_t auth_len;
    int state, scheme;
    const json_t *thumbs, *attrs;
    if (!sj_object(x, item, path) || !sj_item_name(x, item, path, true, false, &c->name) ||
        !sj_string(x, item, path, "authenticationName", false, &auth, &auth_len) ||
        !sj_enum(x, item, path, "state", ns_state_names, &state) ||
        !sj_enum(x, item, path, "validationScheme", ns_validation_scheme_names, &scheme) ||
        !sj_container(x, item, path, "allowedThumbprints", false, JSON_ARRAY, &thumbs) ||
        !sj_container(x, item, path, "attributes", false, JSON_OBJECT, &attrs))
        return false;
    if (auth) {
        if (auth_len < 1 || auth_len > NS_AUTH_NAME_MAX) {
            char p[PATH_SIZE];
            sj_path_key(p, path, "authenticationName");
            return sj_fail(x, p, "must be 1-%d bytes long, not %zu", NS_AUTH_NAME_MAX, auth_len);
        }
        /* Jansson has checked the UTF-8 and refused U+0000. */
        if (!(c->auth_name = ns_arena_strndup(&x->p->mem, auth, auth_len)))
            return sj_oom(x);
        c->auth_len = auth_len;
    } else {
        c->auth_name = c->name; /* the REST default */
        c->auth_len = strlen(c->name);
    }
    c->enabled = state == 0;
    c->scheme = (ns_validation_scheme)scheme;
    return parse_thumbprints(x, c, thumbs, path) && (!attrs || parse_attributes(x, c, attrs, path));
}

static bool parse_clients(sj_ctx *x, const json_t *list)
{
    ns_policy *p = x->p;
    size_t n = json_array_size(list);
    sj_named *names = calloc(n ? n : 1, sizeof *names);
    p->clients = ns_arena_alloc(&p->mem, (n ? n : 1) * sizeof *p->clients);
    if (!names || !p->clients) {
        free(names);
        return sj_oom(x);
    }
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        char path[PATH_SIZE];
        sj_path_index(path, "clients", i);
        ok = parse_client(x, &p->clients[i], json_array_get(list, i), path);
        names[i] = (sj_named){p->clients[i].name, i};
    }
    p->n_clients = n;
    ok = ok && sj_unique_names(x, names, n, "clients");
    free(names);
    if (!ok)
        return false;
    size_t dup, dup_of;
    int r = ns_policy_index_clients(p, &dup, &dup_of);
    if (r < 0)
        return sj_oom(x);
    if (r == 0) {
        char path[PATH_SIZE], pa[PATH_SIZE];
        sj_path_index(path, "clients", dup);
        sj_path_key(pa, path, "authenticationName");
        return sj_fail(x, pa, "repeats the authentication name of clients[%zu] (%s), ignoring ASCII case",
                       dup_of, p->clients[dup_of].name);
    }
    return true;
}

/* ---- client groups, topic spaces, permission bindings */

/* Groups, with $all added when the snapshot leaves it out; names sorted for
 * the bindings' lookups (the caller frees *sorted). */
static bool parse_groups(sj_ctx *x, const json_t *list, sj_named **sorted)
{
    ns_policy *p = x->p;
    size_t n = json_array_size(list);
    sj_named *names = *sorted = calloc(n + 1, sizeof *names);
    p->groups = ns_arena_alloc(&p->mem, (n + 1) * sizeof *p->groups);
    if (!names || !p->groups)
        return sj_oom(x);
    bool have_all = false;
    for (size_t i = 0; i < n; i++) {
        char path[PATH_SIZE], pq[PATH_SIZE];
        const json_t *item = json_array_get(list, i);
        ns_group *g = &p->groups[i];
        const char *query;
        size_t len;
        sj_path_index(path, "clientGroups", i);
        sj_path_key(pq, path, "query");
        if (!sj_object(x, item, path) || !sj_item_name(x, item, path, false, true, &g->name))
            return false;
        names[i] = (sj_named){g->name, i};
        p->n_groups = i + 1;
        bool all = strcmp(g->name, ALL_GROUP) == 0;
        have_all |= all;
        if (!sj_string(x, item, path, "query", !all, &query, &len))
            return false;
        if (all && query)
            return sj_fail(x, pq, "must be null: the built-in group $all holds every client");
        if (all)
            continue;
        policy_error perr = {0};
        if (!(g->query = client_query_parse(query, &perr)))
            return sj_fail(x, pq, "does not parse: %s", perr.message);
    }
    if (!have_all) {
        p->groups[n] = (ns_group){.name = ALL_GROUP};
        names[n] = (sj_named){ALL_GROUP, n};
        p->n_groups = n + 1;
    }
    return sj_unique_names(x, names, p->n_groups, "clientGroups");
}

static bool parse_space(sj_ctx *x, ns_space *s, const json_t *item, const char *path)
{
    const json_t *list;
    char pt[PATH_SIZE];
    sj_path_key(pt, path, "topicTemplates");
    if (!sj_object(x, item, path) || !sj_item_name(x, item, path, false, false, &s->name) ||
        !sj_container(x, item, path, "topicTemplates", true, JSON_ARRAY, &list))
        return false;
    size_t n = json_array_size(list);
    if (n == 0)
        return sj_fail(x, pt, "must hold at least one topic template");
    if (!(s->templates = ns_arena_alloc(&x->p->mem, n * sizeof *s->templates)))
        return sj_oom(x);
    for (size_t i = 0; i < n; i++) {
        char p[PATH_SIZE];
        const json_t *v = json_array_get(list, i);
        sj_path_index(p, pt, i);
        if (!json_is_string(v))
            return sj_fail(x, p, "must be a string, not %s", sj_type_name(v));
        policy_error perr = {0};
        if (!(s->templates[i] = topic_template_parse(json_string_value(v), &perr)))
            return sj_fail(x, p, "is not a valid topic template: %s", perr.message);
        s->n_templates = i + 1;
    }
    return true;
}

static bool parse_spaces(sj_ctx *x, const json_t *list, sj_named **sorted)
{
    ns_policy *p = x->p;
    size_t n = json_array_size(list);
    sj_named *names = *sorted = calloc(n ? n : 1, sizeof *names);
    p->spaces = ns_arena_alloc(&p->mem, (n ? n : 1) * sizeof *p->spaces);
    if (!names || !p->spaces)
        return sj_oom(x);
    for (size_t i = 0; i < n; i++) {
        char path[PATH_SIZE];
        sj_path_index(path, "topicSpaces", i);
        p->n_spaces = i + 1; /* so that ns_policy_free frees what was parsed */
        if (!parse_space(x, &p->spaces[i], json_array_get(list, i), path))
            return false;
        names[i] = (sj_named){p->spaces[i].name, i};
    }
    return sj_unique_names(x, names, n, "topicSpaces");
}

/* clientGroupName or topicSpaceName: the index of an existing item. */
static bool reference(sj_ctx *x, const json_t *item, const char *path, const char *key, const sj_named *names,
                      size_t n, const char *what, size_t *out)
{
    const char *s;
    size_t len;
    char p[PATH_SIZE], q[80];
    if (!sj_string(x, item, path, key, true, &s, &len))
        return false;
    sj_path_key(p, path, key);
    long i = strlen(s) == len ? sj_find_named(names, n, s) : -1;
    if (i < 0)
        return sj_fail(x, p, "names no %s of this namespace: %s", what, sj_shown(s, len, q));
    *out = (size_t)i;
    return true;
}

static bool parse_bindings(sj_ctx *x, const json_t *list, const sj_named *groups, const sj_named *spaces)
{
    static const char *const permissions[] = {"Publisher", "Subscriber", NULL};
    ns_policy *p = x->p;
    size_t n = json_array_size(list);
    sj_named *names = calloc(n ? n : 1, sizeof *names);
    p->bindings = ns_arena_alloc(&p->mem, (n ? n : 1) * sizeof *p->bindings);
    if (!names || !p->bindings) {
        free(names);
        return sj_oom(x);
    }
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        char path[PATH_SIZE];
        const json_t *item = json_array_get(list, i);
        ns_binding *b = &p->bindings[i];
        int perm = 0;
        sj_path_index(path, "permissionBindings", i);
        ok = sj_object(x, item, path) && sj_item_name(x, item, path, false, false, &names[i].name) &&
             reference(x, item, path, "clientGroupName", groups, p->n_groups, "client group", &b->group) &&
             reference(x, item, path, "topicSpaceName", spaces, p->n_spaces, "topic space", &b->space) &&
             sj_enum(x, item, path, "permission", permissions, &perm);
        names[i].index = i;
        b->publisher = perm == 0;
    }
    p->n_bindings = n;
    ok = ok && sj_unique_names(x, names, n, "permissionBindings");
    free(names);
    return ok;
}

/* ---- the document */

static bool parse_live(sj_ctx *x, const json_t *doc)
{
    const json_t *cas, *clients, *groups, *spaces, *bindings;
    if (!parse_settings(x, doc) ||
        !sj_container(x, doc, "snapshot", "caCertificates", true, JSON_ARRAY, &cas) ||
        !sj_container(x, doc, "snapshot", "clients", true, JSON_ARRAY, &clients) ||
        !sj_container(x, doc, "snapshot", "clientGroups", true, JSON_ARRAY, &groups) ||
        !sj_container(x, doc, "snapshot", "topicSpaces", true, JSON_ARRAY, &spaces) ||
        !sj_container(x, doc, "snapshot", "permissionBindings", true, JSON_ARRAY, &bindings) ||
        !parse_cas(x, cas) || !parse_clients(x, clients))
        return false;
    sj_named *group_names = NULL, *space_names = NULL;
    bool ok = parse_groups(x, groups, &group_names) && parse_spaces(x, spaces, &space_names) &&
              parse_bindings(x, bindings, group_names, space_names);
    free(group_names);
    free(space_names);
    return ok;
}

static bool parse_doc(sj_ctx *x, const json_t *doc)
{
    ns_policy *p = x->p;
    json_int_t schema, version;
    const char *ns;
    size_t ns_len;
    if (!json_is_object(doc))
        return sj_fail(x, "snapshot", "must be a JSON object, not %s", sj_type_name(doc));
    /* The schema first: a document of another schema may differ anywhere. */
    if (!sj_int(x, doc, "snapshot", "schema", true, LLONG_MIN, LLONG_MAX, &schema))
        return false;
    if (schema != NS_POLICY_SCHEMA)
        return sj_fail(x, "snapshot.schema", "this broker reads snapshot schema %d, not %lld",
                       NS_POLICY_SCHEMA, (long long)schema);
    if (!sj_string(x, doc, "snapshot", "namespace", true, &ns, &ns_len) ||
        !sj_check_name(x, "snapshot.namespace", ns, ns_len, false) ||
        !sj_int(x, doc, "snapshot", "version", true, 1, LLONG_MAX, &version))
        return false;
    if (!(p->ns = ns_arena_strndup(&p->mem, ns, ns_len)))
        return sj_oom(x);
    p->version = (uint64_t)version;
    const json_t *deleted = json_object_get(doc, "deleted");
    if (deleted && !json_is_boolean(deleted))
        return sj_fail(x, "snapshot.deleted", "must be a boolean, not %s", sj_type_name(deleted));
    p->deleted = json_is_true(deleted);
    if (p->deleted)
        return true; /* nothing else counts in a tombstone */
    return parse_live(x, doc);
}

ns_policy *ns_policy_parse(const char *json, size_t len, char *err, size_t err_len)
{
    ns_policy *p = calloc(1, sizeof *p);
    sj_ctx x = {.p = p, .err = err, .err_len = err_len};
    if (err && err_len)
        err[0] = '\0';
    if (!p || !(p->cas = X509_STORE_new())) {
        sj_oom(&x);
        ns_policy_free(p);
        return NULL;
    }
    /* An uploaded CA certificate is a trust anchor even when it is an
     * intermediate: a chain to any of them is what Event Grid asks for. */
    X509_STORE_set_flags(p->cas, X509_V_FLAG_PARTIAL_CHAIN);
    json_error_t je;
    json_t *doc = json ? json_loadb(json, len, JSON_REJECT_DUPLICATES, &je) : NULL;
    if (!doc) {
        if (json)
            sj_fail(&x, "snapshot", "invalid JSON at line %d, column %d: %s", je.line, je.column, je.text);
        else
            sj_fail(&x, "snapshot", "no document");
        ns_policy_free(p);
        return NULL;
    }
    bool ok = parse_doc(&x, doc);
    json_decref(doc);
    if (!ok) {
        ns_policy_free(p);
        return NULL;
    }
    return p;
}
