/* JSON helpers for egctl: dotted paths into objects, files in and out. */
#ifndef EG_CLI_JSON_H
#define EG_CLI_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The value at a dotted path ("properties.clientCertificateAuthentication.validationScheme"); NULL if absent.
 */
json_t *cli_json_get_path(const json_t *root, const char *path);

/* Sets the value at a dotted path, creating the objects on the way; steals `value`.
 * Returns 0, or -1 if a non-object value is in the way. */
int cli_json_set_path(json_t *root, const char *path, json_t *value);

/* Removes the value at a dotted path (no-op when absent). */
void cli_json_del_path(json_t *root, const char *path);

/* The whole of a file ("-": standard input), NUL-terminated, malloc'ed; NULL after
 * printing "egctl: cannot read FILE: reason". */
char *cli_read_file(const char *path, size_t *len);

/* A file holding one JSON object ("-": standard input); NULL after printing why. */
json_t *cli_json_load_object(const char *path);

/* Writes the JSON value, indented, with a final newline to path (mode 0644). Returns 0,
 * or -1 after printing why. */
int cli_json_write_file(const char *path, const json_t *value);

/* mkdir -p (mode 0755). Returns 0, or -1 with errno set. */
int cli_mkdir_p(const char *path);

#endif
