/* Internal to the resource validators (resource_validate.c, validate_*.c):
 * strict walking of request JSON with errors that name the JSON path of the
 * offending field, and the per-kind validators the dispatcher calls.
 *
 * Conventions of the getters: `obj` is an object (or NULL, meaning "absent",
 * so that a missing `properties` reads as an empty one) whose JSON path is
 * `path` ("" at the top level); `key` is a member of it. A member that is
 * absent or JSON null counts as absent: the getter succeeds with a NULL /
 * default result, or, when the member is required, fails with
 * "PATH.KEY is required". A member of the wrong JSON type fails with
 * "PATH.KEY must be a T". Every failure is a 400 with the member's path as
 * target, except running out of memory (500 InternalError). */
#ifndef EG_JSON_CHECK_H
#define EG_JSON_CHECK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "api_error.h"
#include "cp_quotas.h"
#include "resource_validate.h"

/* Size of a JSON path buffer: that of api_error.target; longer paths are cut. */
#define JC_PATH_MAX 160

/* "parent.key", or "key" when parent is empty. */
void jc_join(char out[JC_PATH_MAX], const char *parent, const char *key);
/* "parent[i]". */
void jc_index(char out[JC_PATH_MAX], const char *parent, size_t i);

/* api_fail with status 400; message and target are cut back to valid UTF-8
 * when truncation split a character, so that the error can be rendered as JSON. */
bool jc_fail(api_error *err, const char *code, const char *target, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* 500 InternalError: jansson could not allocate. */
bool jc_oom(api_error *err);

/* Refuses with 400 UnknownField (target "PATH.KEY") the first member of obj,
 * in document order, that is in neither NULL-terminated list; `ignored` (the
 * read-only fields) may be NULL. obj NULL: nothing to check. */
bool jc_known_fields(const json_t *obj, const char *path, const char *const *known,
                     const char *const *ignored, api_error *err);

/* "a string", "an integer", "a boolean", ... for messages. */
const char *jc_type_name(const json_t *v);

/* Type checks of a value whose path is given. */
bool jc_is_object(const json_t *v, const char *path, api_error *err);
bool jc_is_array(const json_t *v, const char *path, api_error *err);
/* A string without NUL characters; *len gets its length in bytes (len may be NULL). */
bool jc_is_string(const json_t *v, const char *path, const char **out, size_t *len, api_error *err);

/* One of the NULL-terminated `values`, compared exactly; *out points into
 * `values`. The message lists the allowed values. */
bool jc_is_enum(const json_t *v, const char *path, const char *const *values, const char **out,
                api_error *err);

/* Members (see the conventions above). */
bool jc_object(const json_t *obj, const char *path, const char *key, bool required, const json_t **out,
               api_error *err);
bool jc_array(const json_t *obj, const char *path, const char *key, bool required, const json_t **out,
              api_error *err);
bool jc_string(const json_t *obj, const char *path, const char *key, bool required, const char **out,
               size_t *len, api_error *err);
/* A JSON integer (2.0 and true are not) in [min, max]; def when absent. */
bool jc_integer(const json_t *obj, const char *path, const char *key, json_int_t min, json_int_t max,
                json_int_t def, json_int_t *out, api_error *err);
/* jc_is_enum on a member. def NULL: required; otherwise the value when absent. */
bool jc_enum(const json_t *obj, const char *path, const char *key, const char *const *values, const char *def,
             const char **out, api_error *err);

/* Number of Unicode characters of a valid UTF-8 string. */
size_t jc_utf8_chars(const char *s, size_t len);

/* Optional "description" of obj (at most 256 characters), copied into out when present. */
bool jc_description(const json_t *obj, const char *path, json_t *out, api_error *err);

/* Appends the string s (len bytes) to the array list, unless list already
 * holds it: then fails with 400 InvalidProperty at path (the new item's),
 * "PATH repeats WHAT at index J", or when what is NULL
 * "PATH repeats S, already at index J". */
bool jc_append_distinct(json_t *list, const char *s, size_t len, const char *path, const char *what,
                        api_error *err);

/* json_object_set_new that reports a NULL obj, or a failed insertion, as
 * jc_oom. A NULL value is the failure of whatever produced it: its error, if
 * err holds one, is kept (so `jc_set(out, "k", check_k(..., err), err)`
 * chains); otherwise it is jc_oom. Always consumes value. */
bool jc_set(json_t *obj, const char *key, json_t *value, api_error *err);

/* The read-only member every resource's properties may carry back from a GET. */
extern const char *const jc_props_readonly[];

/* ---- Per-kind validators, called by resource_validate() ---- */

typedef struct vctx {
    resource_kind kind;
    const char *name;        /* the resource name from the path, already validated */
    const json_t *old_props; /* "properties" of the stored resource, NULL when creating */
    const cp_quotas *quotas; /* never NULL */
    api_error *err;
} vctx;

/* Each takes the request's "properties" (NULL when absent) and returns the
 * normalized properties object, or NULL with ctx->err filled. */
json_t *validate_namespace_props(const json_t *props, const vctx *ctx);
json_t *validate_client_props(const json_t *props, const vctx *ctx);
json_t *validate_client_group_props(const json_t *props, const vctx *ctx);
json_t *validate_topic_space_props(const json_t *props, const vctx *ctx);
json_t *validate_permission_binding_props(const json_t *props, const vctx *ctx);
json_t *validate_ca_certificate_props(const json_t *props, const vctx *ctx);

/* Namespaces' top-level "sku", "location" and "tags": checked and copied into out. */
bool validate_namespace_top(const json_t *body, json_t *out, api_error *err);

/* Checks a resource name given inside a body (permission bindings' references):
 * the reason it is not valid for `kind`, written into why; true when valid. */
bool resource_name_check(resource_kind kind, const char *name, size_t len, char *why, size_t why_size);

#endif
