/* egctl output: aligned tables and field listings for people, JSON for scripts. */
#ifndef EG_CLI_OUTPUT_H
#define EG_CLI_OUTPUT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

typedef struct cli_table cli_table;

cli_table *cli_table_new(size_t n_cols, const char *const *headers);
/* Adds a row of n_cols cells (copied; NULL prints as ""). */
void cli_table_add(cli_table *t, const char *const *cells);
/* Columns padded to their widest cell, three spaces apart; the last column is not padded. */
void cli_table_print(const cli_table *t, FILE *f);
void cli_table_free(cli_table *t);

/* A JSON value, indented by two spaces, with a final newline. */
void cli_print_json(FILE *f, const json_t *value);

/* A value as one cell: strings as they are, numbers and booleans in JSON, arrays as
 * "a,b", objects as "k=v,k2=[a,b]", null or absent as "". malloc'ed. */
char *cli_format_value(const json_t *value);

/* An object as an indented tree, "key: value" per line (YAML-like): nested objects
 * below their key, arrays of scalars as [a, b], multi-line strings indented below. */
void cli_print_fields(FILE *f, const json_t *obj);

#endif
