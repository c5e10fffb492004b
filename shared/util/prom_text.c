#include <stdbool.h>

#include "prom_text.h"

void prom_family(FILE *out, const char *prefix, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s%s %s\n# TYPE %s%s %s\n", prefix, name, help, prefix, name, type);
}

bool prom_escape_label(const char *value, char *out, size_t len)
{
    size_t n = 0;
    if (len == 0)
        return false;
    for (const char *p = value; *p; p++) {
        char esc = *p == '\\' ? '\\' : *p == '"' ? '"' : *p == '\n' ? 'n' : 0;
        size_t need = esc ? 2 : 1;
        if (n + need >= len) {
            out[n] = '\0';
            return false;
        }
        if (esc) {
            out[n++] = '\\';
            out[n++] = esc;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
    return true;
}
