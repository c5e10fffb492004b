/* Typed JSON access and names for the snapshot parser (ns_policy_json.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/ns_policy_json.h"

#define RESOURCE_NAME_MIN 3 /* groups, topic spaces, bindings, CA certificates, namespaces */
#define RESOURCE_NAME_MAX 50
#define CLIENT_NAME_MAX 128
#define ALL_GROUP "$all"

/* Writes "path: message" and returns false, so that checks read as
 * `return sj_fail(...)`. */
bool sj_fail(sj_ctx *x, const char *path, const char *fmt, ...)
{
    if (!x->err || x->err_len == 0)
        return false;
    int n = snprintf(x->err, x->err_len, "%s: ", path);
    if (n >= 0 && (size_t)n < x->err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(x->err + n, x->err_len - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return false;
}

bool sj_oom(sj_ctx *x)
{
    return sj_fail(x, "snapshot", "out of memory");
}

/* A path one step deeper; truncated (never overflowing) if absurdly long. */
void sj_path_key(char out[PATH_SIZE], const char *path, const char *key)
{
    int n = snprintf(out, PATH_SIZE, "%s.%s", path, key);
    if (n < 0)
        out[0] = '\0';
}

void sj_path_index(char out[PATH_SIZE], const char *path, size_t i)
{
    int n = snprintf(out, PATH_SIZE, "%s[%zu]", path, i);
    if (n < 0)
        out[0] = '\0';
}

const char *sj_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* A value quoted for a message when it is short printable ASCII; otherwise
 * only its size, so that logs never carry control bytes. */
const char *sj_shown(const char *s, size_t len, char out[80])
{
    bool plain = len <= 64;
    for (size_t i = 0; plain && i < len; i++)
        plain = s[i] >= 0x20 && s[i] < 0x7F && s[i] != '\'';
    if (plain)
        snprintf(out, 80, "'%.*s'", (int)len, s);
    else
        snprintf(out, 80, "a value of %zu bytes", len);
    return out;
}

/* ---- typed members. Each reports "path.key: ..." itself. */

/* The member, or NULL when absent or JSON null (then *ok says whether that
 * is allowed). */
static const json_t *sj_member(sj_ctx *x, const json_t *obj, const char *path, const char *key, bool required,
                               bool *ok)
{
    const json_t *v = json_object_get(obj, key);
    *ok = true;
    if (v && !json_is_null(v))
        return v;
    if (required) {
        char p[PATH_SIZE];
        sj_path_key(p, path, key);
        *ok = sj_fail(x, p, "is required");
    }
    return NULL;
}

bool sj_string(sj_ctx *x, const json_t *obj, const char *path, const char *key, bool required, const char **s,
               size_t *len)
{
    bool ok;
    const json_t *v = sj_member(x, obj, path, key, required, &ok);
    *s = NULL;
    *len = 0;
    if (!v)
        return ok;
    if (!json_is_string(v)) {
        char p[PATH_SIZE];
        sj_path_key(p, path, key);
        return sj_fail(x, p, "must be a string, not %s", sj_type_name(v));
    }
    *s = json_string_value(v);
    *len = json_string_length(v);
    return true;
}

bool sj_int(sj_ctx *x, const json_t *obj, const char *path, const char *key, bool required, json_int_t min,
            json_int_t max, json_int_t *out)
{
    char p[PATH_SIZE];
    bool ok;
    const json_t *v = sj_member(x, obj, path, key, required, &ok);
    *out = 0;
    if (!v)
        return ok;
    sj_path_key(p, path, key);
    if (!json_is_integer(v))
        return sj_fail(x, p, "must be an integer, not %s", sj_type_name(v));
    *out = json_integer_value(v);
    if (*out < min || *out > max)
        return sj_fail(x, p, "must be %lld-%lld, not %lld", (long long)min, (long long)max, (long long)*out);
    return true;
}

/* A string from names[] (NULL-terminated); *index is its position. */
bool sj_is_enum(sj_ctx *x, const json_t *v, const char *p, const char *const *names, int *index)
{
    if (!json_is_string(v))
        return sj_fail(x, p, "must be a string, not %s", sj_type_name(v));
    const char *s = json_string_value(v);
    for (int i = 0; names[i]; i++) {
        if (strcmp(s, names[i]) == 0) {
            *index = i;
            return true;
        }
    }
    char list[400] = "", q[80];
    for (int i = 0; names[i]; i++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", names[i]);
    }
    return sj_fail(x, p, "must be one of %s, not %s", list, sj_shown(s, json_string_length(v), q));
}

bool sj_enum(sj_ctx *x, const json_t *obj, const char *path, const char *key, const char *const *names,
             int *index)
{
    char p[PATH_SIZE];
    bool ok;
    const json_t *v = sj_member(x, obj, path, key, true, &ok);
    if (!v)
        return ok;
    sj_path_key(p, path, key);
    return sj_is_enum(x, v, p, names, index);
}

/* An array (or object, with JSON_OBJECT) member; NULL when absent and optional. */
bool sj_container(sj_ctx *x, const json_t *obj, const char *path, const char *key, bool required,
                  json_type type, const json_t **out)
{
    bool ok;
    *out = sj_member(x, obj, path, key, required, &ok);
    if (!*out)
        return ok;
    if (json_typeof(*out) != type) {
        char p[PATH_SIZE];
        sj_path_key(p, path, key);
        return sj_fail(x, p, "must be %s, not %s", type == JSON_ARRAY ? "an array" : "an object",
                       sj_type_name(*out));
    }
    return true;
}

bool sj_object(sj_ctx *x, const json_t *v, const char *p)
{
    return json_is_object(v) || sj_fail(x, p, "must be an object, not %s", sj_type_name(v));
}

/* ---- names */

static bool name_char(unsigned char c, bool client)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')
        return true;
    return client && (c == ':' || c == '.' || c == '_');
}

/* Resource names as the control plane allows them (clients: also ':', '.'
 * and '_', 1-128; others 3-50). */
bool sj_check_name(sj_ctx *x, const char *p, const char *s, size_t len, bool client)
{
    size_t min = client ? 1 : RESOURCE_NAME_MIN, max = client ? CLIENT_NAME_MAX : RESOURCE_NAME_MAX;
    for (size_t i = 0; i < len; i++)
        if (!name_char((unsigned char)s[i], client))
            return sj_fail(x, p,
                           "may hold only letters, digits, '-'%s; byte 0x%02X at position %zu is not allowed",
                           client ? ", ':', '.' and '_'" : "", (unsigned char)s[i], i);
    if (len < min || len > max)
        return sj_fail(x, p, "must be %zu-%zu characters long, not %zu", min, max, len);
    return true;
}

/* The "name" of item `path`, checked and copied into the policy. */
bool sj_item_name(sj_ctx *x, const json_t *item, const char *path, bool client, bool allow_all,
                  const char **out)
{
    const char *s;
    size_t len;
    char p[PATH_SIZE];
    if (!sj_string(x, item, path, "name", true, &s, &len))
        return false;
    sj_path_key(p, path, "name");
    if (!(allow_all && strcmp(s, ALL_GROUP) == 0) && !sj_check_name(x, p, s, len, client))
        return false;
    *out = ns_arena_strndup(&x->p->mem, s, len);
    return *out || sj_oom(x);
}

static int named_cmp(const void *a, const void *b)
{
    const sj_named *l = a, *r = b;
    int c = strcmp(l->name, r->name);
    return c ? c : (l->index > r->index) - (l->index < r->index);
}

/* Sorts names (index order breaks ties) and refuses a repeated one, naming
 * both items of `array`. The sorted list then serves lookups by name. */
bool sj_unique_names(sj_ctx *x, sj_named *names, size_t n, const char *array)
{
    qsort(names, n, sizeof *names, named_cmp);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(names[i - 1].name, names[i].name) == 0) {
            char p[PATH_SIZE], p2[PATH_SIZE];
            sj_path_index(p2, array, names[i].index);
            sj_path_key(p, p2, "name");
            return sj_fail(x, p, "repeats the name of %s[%zu]", array, names[i - 1].index);
        }
    }
    return true;
}

/* The index of the item called `name` in a list sorted by sj_unique_names, or -1. */
long sj_find_named(const sj_named *names, size_t n, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(names[mid].name, name);
        if (c == 0)
            return (long)names[mid].index;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}
