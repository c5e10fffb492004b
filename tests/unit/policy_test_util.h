/* Shared by the policy parser suites: checks a parse error against the
 * expected offset and message (the message must also name the offset). */
#ifndef EG_POLICY_TEST_UTIL_H
#define EG_POLICY_TEST_UTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "policy/client_view.h"

/* False, with the difference printed, when err is not the expected error for `text`. */
static inline bool policy_error_is(const char *kind, const char *text, const policy_error *err, size_t offset,
                                   const char *message)
{
    char offset_text[40];
    snprintf(offset_text, sizeof offset_text, " at offset %zu", offset);
    if (err->offset == offset && strstr(err->message, message) && strstr(err->message, offset_text))
        return true;
    fprintf(stderr, "%s \"%s\": expected \"%s\" at %zu, got \"%s\" at %zu\n", kind, text, message, offset,
            err->message, err->offset);
    return false;
}

#endif
