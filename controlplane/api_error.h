/* The error a REST request ends with: HTTP status, Event Grid style code, message
 * and the JSON path of the offending field. Filled by validators and handlers,
 * rendered as {"error": {"code", "message", "target"}}. */
#ifndef EG_API_ERROR_H
#define EG_API_ERROR_H

#include <stdbool.h>

typedef struct api_error {
    int status;        /* HTTP status, 0 while no error */
    char code[40];     /* e.g. "InvalidProperty" */
    char message[400]; /* one sentence for a person */
    char target[160];  /* JSON path such as "properties.topicTemplates[2]", or "" */
} api_error;

/* Records the error and returns false, so validators can `return api_fail(...)`. */
bool api_fail(api_error *err, int status, const char *code, const char *target, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
