/* Prometheus text exposition format (version 0.0.4) helpers: a family's HELP and TYPE lines,
 * and label values escaped as the format requires (backslash, double quote, line feed). */
#ifndef EG_PROM_TEXT_H
#define EG_PROM_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* "# HELP egbroker_{name} {help}\n# TYPE egbroker_{name} {type}\n"; `prefix` is the metric
 * name prefix ("egbroker_"), `type` "counter" or "gauge". */
void prom_family(FILE *out, const char *prefix, const char *name, const char *type, const char *help);

/* Writes `value` escaped for a label value into `out` (room for `len` bytes, NUL-terminated).
 * Returns false (with `out` cut at a whole escape) when it does not fit. */
bool prom_escape_label(const char *value, char *out, size_t len);

#endif
