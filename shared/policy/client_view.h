/* A client as policy code sees it (its authentication name and attributes),
 * and the error report shared by the policy parsers.
 *
 * Every pointer here is borrowed: the control plane builds views over its
 * parsed JSON, the broker over its snapshot, and policy code never keeps a
 * view beyond the call it was passed to. */
#ifndef EG_POLICY_CLIENT_VIEW_H
#define EG_POLICY_CLIENT_VIEW_H

#include <stdbool.h>
#include <stddef.h>

typedef enum client_attr_type {
    CLIENT_ATTR_STRING,
    CLIENT_ATTR_INT,
    CLIENT_ATTR_STRING_ARRAY
} client_attr_type;

typedef struct client_attr {
    const char *key; /* NUL-terminated */
    client_attr_type type;
    const char *str;          /* CLIENT_ATTR_STRING, NUL-terminated */
    long long num;            /* CLIENT_ATTR_INT */
    const char *const *items; /* CLIENT_ATTR_STRING_ARRAY, each NUL-terminated */
    size_t n_items;
} client_attr;

typedef struct client_view {
    const char *authentication_name; /* NULL: the client has none (nothing compares equal to it) */
    const client_attr *attrs;
    size_t n_attrs;
} client_view;

/* The first attribute whose key is exactly the `key_len` bytes at `key`
 * (case-sensitive), or NULL. Linear in n_attrs; no allocation. */
const client_attr *client_view_find_attr(const client_view *c, const char *key, size_t key_len);

/* Can `c` be part of an attribute KEY in a query ("attributes.KEY") or a
 * template ("${client.attributes.KEY}")? ASCII letters, digits and '_',
 * whatever the locale. */
bool policy_key_char(char c);

/* Why a query or template was refused: the byte offset in the text, and a
 * message for people that already names the offset ("... at offset 17"). */
typedef struct policy_error {
    size_t offset;
    char message[200];
} policy_error;

/* Fills *err (if err is not NULL) with offset and the printf-formatted
 * message followed by " at offset N". For the policy parsers. */
void policy_error_set(policy_error *err, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
