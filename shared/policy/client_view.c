/* Attribute lookup and error reports shared by the query and template code. */
#include "policy/client_view.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const client_attr *client_view_find_attr(const client_view *c, const char *key, size_t key_len)
{
    if (!c || !key)
        return NULL;
    for (size_t i = 0; i < c->n_attrs; i++) {
        const char *k = c->attrs[i].key;
        /* strnlen first: it never reads past the NUL of a shorter k. */
        if (k && strnlen(k, key_len + 1) == key_len && memcmp(k, key, key_len) == 0)
            return &c->attrs[i];
    }
    return NULL;
}

bool policy_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

void policy_error_set(policy_error *err, size_t offset, const char *fmt, ...)
{
    if (!err)
        return;
    err->offset = offset;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    if (n < 0) {
        err->message[0] = '\0';
        n = 0;
    }
    size_t used = (size_t)n < sizeof err->message ? (size_t)n : sizeof err->message - 1;
    /* The messages are short by construction; a truncated one still ends
     * with the offset when it fits. */
    snprintf(err->message + used, sizeof err->message - used, " at offset %zu", offset);
}
