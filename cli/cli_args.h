/* egctl command-line parsing: long flags (`--name VALUE`, `--name=VALUE`), short
 * flags (`-n VALUE`), positionals in any order, `--` ending the flags. The global
 * flags (--endpoint, --token, --token-file, --cacert, -o/--output, -h/--help) are
 * accepted by every command, before or after its words. */
#ifndef EG_CLI_ARGS_H
#define EG_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Exit codes of egctl. */
enum { CLI_OK = 0, CLI_ERROR = 1, CLI_USAGE = 2 };

typedef struct cli_opt {
    const char *name;    /* long name without "--" */
    char short_name;     /* 0: none */
    const char *metavar; /* NULL: a boolean flag that takes no value */
    bool repeatable;
    const char *help;
} cli_opt;

/* The global flags as given (NULL: not given). Later occurrences override earlier ones. */
typedef struct cli_globals {
    const char *endpoint;
    const char *token;
    const char *token_file;
    const char *cacert;
    const char *output;
    bool help;
} cli_globals;

typedef struct cli_optval {
    size_t opt; /* index into the command's option table */
    const char *value;
} cli_optval;

typedef struct cli_args {
    cli_optval *vals; /* in command-line order */
    size_t n_vals;
    const char **pos; /* positional arguments */
    size_t n_pos;
} cli_args;

/* Parses argv[0..argc). Global flags go to *g, the command's to *out. Returns 0, or
 * -1 with a one-line message in err (unknown flag, missing value, flag repeated). */
int cli_args_parse(int argc, char **argv, const cli_opt *opts, size_t n_opts, cli_args *out, cli_globals *g,
                   char *err, size_t errlen);
void cli_args_free(cli_args *a);

/* The last value of option `opt` (NULL if absent; "" for a boolean flag that is present). */
const char *cli_args_get(const cli_args *a, size_t opt);
size_t cli_args_count(const cli_args *a, size_t opt);

/* Parses a decimal integer flag value; false if it is not one. */
bool cli_parse_int(const char *s, long long *out);

/* Prints "usage: egctl USAGE", the summary, and the command's flags aligned, then a
 * line naming the global flags. */
void cli_usage_print(FILE *f, const char *usage, const char *summary, const cli_opt *opts, size_t n_opts);

/* Flags, aligned, one per line. */
void cli_opts_print(FILE *f, const cli_opt *opts, size_t n_opts);

/* The global flags, aligned, for `egctl --help`. */
void cli_globals_print(FILE *f);

/* A usage error: "egctl: MESSAGE" and the usage to stderr; returns CLI_USAGE. */
int cli_usage_error(const char *usage, const cli_opt *opts, size_t n_opts, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* p, or when it is NULL (out of memory) "egctl: out of memory" and exit(CLI_ERROR). */
void *cli_nonnull(void *p);

/* "egctl: MESSAGE" to stderr; returns CLI_ERROR. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
