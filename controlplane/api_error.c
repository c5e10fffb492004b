#include "api_error.h"

#include <stdarg.h>
#include <stdio.h>

bool api_fail(api_error *err, int status, const char *code, const char *target, const char *fmt, ...)
{
    if (!err)
        return false;
    err->status = status;
    snprintf(err->code, sizeof err->code, "%s", code);
    snprintf(err->target, sizeof err->target, "%s", target ? target : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return false;
}
