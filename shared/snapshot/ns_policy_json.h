/* Typed access to the snapshot's JSON with messages that name the path of
 * the offending item ("clients[3].state: must be one of ..."), for
 * ns_policy_parse.c. Not an API: nothing outside shared/snapshot/ includes it. */
#ifndef EG_SNAPSHOT_NS_POLICY_JSON_H
#define EG_SNAPSHOT_NS_POLICY_JSON_H

#include <jansson.h>

#include "snapshot/ns_policy_impl.h"

#define PATH_SIZE 160 /* longest path: "clients[N].attributes.<64 chars>[N]" */

typedef struct sj_ctx {
    ns_policy *p; /* being filled (borrowed) */
    char *err;    /* the caller's buffer (borrowed), or NULL */
    size_t err_len;
} sj_ctx;

/* Writes "path: message" into the error buffer and returns false, so that
 * checks read as `return sj_fail(...)`. */
__attribute__((format(printf, 3, 4))) bool sj_fail(sj_ctx *x, const char *path, const char *fmt, ...);
bool sj_oom(sj_ctx *x);

/* A path one step deeper ("path.key", "path[i]"); truncated, never
 * overflowing, if absurdly long. */
void sj_path_key(char out[PATH_SIZE], const char *path, const char *key);
void sj_path_index(char out[PATH_SIZE], const char *path, size_t i);

/* "an object", "a string", ... for messages. */
const char *sj_type_name(const json_t *v);
/* A value quoted for a message when it is short printable ASCII; otherwise
 * only its size, so that logs never carry control bytes. */
const char *sj_shown(const char *s, size_t len, char out[80]);

/* Members of obj (the item at `path`). Absent and JSON null are the same:
 * a failure when required, else success with NULL / 0 outputs. */
bool sj_string(sj_ctx *x, const json_t *obj, const char *path, const char *key, bool required, const char **s,
               size_t *len);
bool sj_int(sj_ctx *x, const json_t *obj, const char *path, const char *key, bool required, json_int_t min,
            json_int_t max, json_int_t *out);
/* Required; one of names (NULL-terminated); *index is its position. */
bool sj_enum(sj_ctx *x, const json_t *obj, const char *path, const char *key, const char *const *names,
             int *index);
/* The same for a value that is not a member (an array element at path p). */
bool sj_is_enum(sj_ctx *x, const json_t *v, const char *p, const char *const *names, int *index);
/* An array or object member (type JSON_ARRAY or JSON_OBJECT). */
bool sj_container(sj_ctx *x, const json_t *obj, const char *path, const char *key, bool required,
                  json_type type, const json_t **out);
bool sj_object(sj_ctx *x, const json_t *v, const char *p);

/* Resource names as the control plane allows them: clients 1-128 letters,
 * digits, '-', ':', '.', '_'; everything else 3-50 letters, digits, '-'. */
bool sj_check_name(sj_ctx *x, const char *p, const char *s, size_t len, bool client);
/* The checked "name" of the item at path, copied into the policy's ns_arena;
 * allow_all admits "$all" (client groups). */
bool sj_item_name(sj_ctx *x, const json_t *item, const char *path, bool client, bool allow_all,
                  const char **out);

typedef struct sj_named {
    const char *name; /* borrowed from the policy */
    size_t index;     /* in its snapshot array */
} sj_named;

/* Sorts names (index order breaks ties) and refuses a repeated one, naming
 * both items of `array`. The sorted list then serves sj_find_named. */
bool sj_unique_names(sj_ctx *x, sj_named *names, size_t n, const char *array);
/* The index of the item called `name` in a list sorted by sj_unique_names, or -1. */
long sj_find_named(const sj_named *names, size_t n, const char *name);

#endif
