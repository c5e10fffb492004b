/* Strict JSON walking for the resource validators: see json_check.h. */
#include "json_check.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mqtt_codec.h"

const char *const jc_props_readonly[] = {"provisioningState", NULL};

void jc_join(char out[JC_PATH_MAX], const char *parent, const char *key)
{
    if (!parent || !*parent)
        snprintf(out, JC_PATH_MAX, "%s", key);
    else
        snprintf(out, JC_PATH_MAX, "%s.%s", parent, key);
}

void jc_index(char out[JC_PATH_MAX], const char *parent, size_t i)
{
    snprintf(out, JC_PATH_MAX, "%s[%zu]", parent, i);
}

/* Cuts s at its first byte that does not start a complete, valid UTF-8
 * character (a truncated multi-byte character at the end, typically). */
static void utf8_clip(char *s)
{
    size_t len = strlen(s);
    size_t i = 0;
    while (i < len) {
        size_t n = 1;
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80)
            n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        if (i + n > len || !mqtt_utf8_valid((const uint8_t *)s + i, n))
            break;
        i += n;
    }
    s[i] = '\0';
}

bool jc_fail(api_error *err, const char *code, const char *target, const char *fmt, ...)
{
    if (!err)
        return false;
    api_fail(err, 400, code, target, "%s", "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    utf8_clip(err->message);
    utf8_clip(err->target);
    return false;
}

bool jc_oom(api_error *err)
{
    return api_fail(err, 500, "InternalError", "", "out of memory while validating the request");
}

static bool in_list(const char *key, size_t len, const char *const *list)
{
    for (; list && *list; list++)
        if (strlen(*list) == len && memcmp(key, *list, len) == 0)
            return true;
    return false;
}

bool jc_known_fields(const json_t *obj, const char *path, const char *const *known,
                     const char *const *ignored, api_error *err)
{
    if (!obj)
        return true;
    const char *key;
    size_t len;
    json_t *value;
    /* json_object_iter does not take a const object; iteration does not modify it.
     * Keys are compared with their length: a key may hold a NUL. */
    json_object_keylen_foreach((json_t *)obj, key, len, value)
    {
        if (in_list(key, len, known) || in_list(key, len, ignored))
            continue;
        char p[JC_PATH_MAX];
        jc_join(p, path, key);
        /* The message has room for a longer path than the target. */
        return jc_fail(err, "UnknownField", p, "%s%s%s is not a known field", path, *path ? "." : "", key);
    }
    return true;
}

const char *jc_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number with a fraction or exponent";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "a JSON value";
}

static bool wrong_type(const json_t *v, const char *path, const char *want, api_error *err)
{
    return jc_fail(err, "InvalidProperty", path, "%s must be %s, not %s", path, want, jc_type_name(v));
}

bool jc_is_object(const json_t *v, const char *path, api_error *err)
{
    return json_is_object(v) || wrong_type(v, path, "an object", err);
}

bool jc_is_array(const json_t *v, const char *path, api_error *err)
{
    return json_is_array(v) || wrong_type(v, path, "an array", err);
}

bool jc_is_string(const json_t *v, const char *path, const char **out, size_t *len, api_error *err)
{
    if (!json_is_string(v))
        return wrong_type(v, path, "a string", err);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (memchr(s, '\0', n))
        return jc_fail(err, "InvalidProperty", path, "%s must not contain NUL characters", path);
    *out = s;
    if (len)
        *len = n;
    return true;
}

/* The member, NULL when absent or null; fails when it is required and missing. */
static bool member(const json_t *obj, const char *path, const char *key, bool required, const json_t **out,
                   char p[JC_PATH_MAX], api_error *err)
{
    jc_join(p, path, key);
    const json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (json_is_null(v))
        v = NULL;
    *out = v;
    if (!v && required)
        return jc_fail(err, "InvalidProperty", p, "%s is required", p);
    return true;
}

bool jc_object(const json_t *obj, const char *path, const char *key, bool required, const json_t **out,
               api_error *err)
{
    char p[JC_PATH_MAX];
    if (!member(obj, path, key, required, out, p, err))
        return false;
    return !*out || jc_is_object(*out, p, err);
}

bool jc_array(const json_t *obj, const char *path, const char *key, bool required, const json_t **out,
              api_error *err)
{
    char p[JC_PATH_MAX];
    if (!member(obj, path, key, required, out, p, err))
        return false;
    return !*out || jc_is_array(*out, p, err);
}

bool jc_string(const json_t *obj, const char *path, const char *key, bool required, const char **out,
               size_t *len, api_error *err)
{
    char p[JC_PATH_MAX];
    const json_t *v;
    *out = NULL;
    if (len)
        *len = 0;
    if (!member(obj, path, key, required, &v, p, err))
        return false;
    return !v || jc_is_string(v, p, out, len, err);
}

bool jc_integer(const json_t *obj, const char *path, const char *key, json_int_t min, json_int_t max,
                json_int_t def, json_int_t *out, api_error *err)
{
    char p[JC_PATH_MAX];
    const json_t *v;
    if (!member(obj, path, key, false, &v, p, err))
        return false;
    if (!v) {
        *out = def;
        return true;
    }
    if (!json_is_integer(v))
        return wrong_type(v, p, "an integer", err);
    json_int_t n = json_integer_value(v);
    if (n < min || n > max)
        return jc_fail(err, "InvalidProperty", p,
                       "%s must be between %" JSON_INTEGER_FORMAT " and %" JSON_INTEGER_FORMAT
                       ", not %" JSON_INTEGER_FORMAT,
                       p, min, max, n);
    *out = n;
    return true;
}

bool jc_is_enum(const json_t *v, const char *path, const char *const *values, const char **out,
                api_error *err)
{
    const char *s;
    if (!jc_is_string(v, path, &s, NULL, err))
        return false;
    for (const char *const *e = values; *e; e++) {
        if (strcmp(s, *e) == 0) {
            *out = *e;
            return true;
        }
    }
    char allowed[300] = "";
    size_t used = 0;
    for (const char *const *e = values; *e && used < sizeof allowed; e++) {
        int n = snprintf(allowed + used, sizeof allowed - used, "%s%s", e == values ? "" : ", ", *e);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return jc_fail(err, "InvalidProperty", path, "%s must be one of %s", path, allowed);
}

bool jc_enum(const json_t *obj, const char *path, const char *key, const char *const *values, const char *def,
             const char **out, api_error *err)
{
    char p[JC_PATH_MAX];
    const json_t *v;
    if (!member(obj, path, key, def == NULL, &v, p, err))
        return false;
    if (!v) {
        *out = def;
        return true;
    }
    return jc_is_enum(v, p, values, out, err);
}

size_t jc_utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

#define DESCRIPTION_MAX_CHARS 256

bool jc_description(const json_t *obj, const char *path, json_t *out, api_error *err)
{
    const char *s;
    size_t len;
    if (!jc_string(obj, path, "description", false, &s, &len, err))
        return false;
    if (!s)
        return true;
    size_t chars = jc_utf8_chars(s, len);
    if (chars > DESCRIPTION_MAX_CHARS) {
        char p[JC_PATH_MAX];
        jc_join(p, path, "description");
        return jc_fail(err, "InvalidProperty", p, "%s must be at most %d characters long, not %zu", p,
                       DESCRIPTION_MAX_CHARS, chars);
    }
    return jc_set(out, "description", json_stringn(s, len), err);
}

bool jc_set(json_t *obj, const char *key, json_t *value, api_error *err)
{
    if (!value)
        return err && err->status ? false : jc_oom(err);
    if (!obj) {
        json_decref(value);
        return jc_oom(err);
    }
    if (json_object_set_new(obj, key, value) != 0)
        return jc_oom(err);
    return true;
}

bool jc_append_distinct(json_t *list, const char *s, size_t len, const char *path, const char *what,
                        api_error *err)
{
    for (size_t j = 0; j < json_array_size(list); j++) {
        const json_t *v = json_array_get(list, j);
        if (json_string_length(v) != len || memcmp(json_string_value(v), s, len) != 0)
            continue;
        if (what)
            return jc_fail(err, "InvalidProperty", path, "%s repeats %s at index %zu", path, what, j);
        return jc_fail(err, "InvalidProperty", path, "%s repeats %s, already at index %zu", path, s, j);
    }
    if (json_array_append_new(list, json_stringn(s, len)) != 0)
        return jc_oom(err);
    return true;
}
