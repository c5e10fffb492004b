/* egctl command-line parsing and usage text. */
#include "cli_args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum { G_ENDPOINT, G_TOKEN, G_TOKEN_FILE, G_CACERT, G_OUTPUT, G_HELP, G_COUNT };

static const cli_opt global_opts[G_COUNT] = {
    [G_ENDPOINT] = {"endpoint", 0, "URL", false, "egcontrol's base URL (env EGCTL_ENDPOINT)"},
    [G_TOKEN] = {"token", 0, "TOKEN", false, "bearer token (env EGCTL_TOKEN)"},
    [G_TOKEN_FILE] = {"token-file", 0, "FILE", false, "read the bearer token from FILE"},
    [G_CACERT] = {"cacert", 0, "FILE", false, "CA certificate(s) to trust for an https endpoint"},
    [G_OUTPUT] = {"output", 'o', "table|json", false, "output format (default table)"},
    [G_HELP] = {"help", 'h', NULL, false, "show help"},
};

static void set_global(cli_globals *g, size_t which, const char *value)
{
    switch (which) {
    case G_ENDPOINT: g->endpoint = value; break;
    case G_TOKEN: g->token = value; break;
    case G_TOKEN_FILE: g->token_file = value; break;
    case G_CACERT: g->cacert = value; break;
    case G_OUTPUT: g->output = value; break;
    default: g->help = true; break;
    }
}

/* Finds a flag by long name (len bytes of name) or short letter in a table; -1 if absent. */
static long find_opt(const cli_opt *opts, size_t n, const char *name, size_t len, char short_name)
{
    for (size_t i = 0; i < n; i++) {
        if (short_name ? opts[i].short_name == short_name
                       : strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
            return (long)i;
    }
    return -1;
}

static int add_val(cli_args *a, size_t opt, const char *value)
{
    cli_optval *v = realloc(a->vals, (a->n_vals + 1) * sizeof *v);
    if (!v)
        return -1;
    a->vals = v;
    a->vals[a->n_vals++] = (cli_optval){opt, value};
    return 0;
}

static int add_pos(cli_args *a, const char *value)
{
    const char **p = realloc(a->pos, (a->n_pos + 1) * sizeof *p);
    if (!p)
        return -1;
    a->pos = p;
    a->pos[a->n_pos++] = value;
    return 0;
}

int cli_args_parse(int argc, char **argv, const cli_opt *opts, size_t n_opts, cli_args *out, cli_globals *g,
                   char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    bool flags_done = false;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (flags_done || arg[0] != '-' || strcmp(arg, "-") == 0) {
            if (add_pos(out, arg) < 0)
                goto oom;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            flags_done = true;
            continue;
        }
        const char *name, *inline_value = NULL, *shown = arg;
        size_t len;
        char short_name = 0;
        if (arg[1] == '-') {
            name = arg + 2;
            const char *eq = strchr(name, '=');
            len = eq ? (size_t)(eq - name) : strlen(name);
            if (eq)
                inline_value = eq + 1;
        } else {
            name = arg + 1;
            len = 1;
            short_name = arg[1];
            if (arg[2] != '\0')
                inline_value = arg + 2; /* -nVALUE */
        }
        bool global = false;
        long idx = find_opt(opts, n_opts, name, len, short_name);
        const cli_opt *o = idx >= 0 ? &opts[idx] : NULL;
        if (!o) {
            idx = find_opt(global_opts, G_COUNT, name, len, short_name);
            if (idx < 0) {
                snprintf(err, errlen, "unknown flag %.*s", (int)(arg[1] == '-' ? len + 2 : strlen(arg)), arg);
                return cli_args_free(out), -1;
            }
            o = &global_opts[idx];
            global = true;
        }
        const char *value = "";
        if (o->metavar) {
            if (inline_value) {
                value = inline_value;
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                snprintf(err, errlen, "flag %s needs a value (%s)", shown, o->metavar);
                return cli_args_free(out), -1;
            }
        } else if (inline_value) {
            snprintf(err, errlen, "flag --%s takes no value", o->name);
            return cli_args_free(out), -1;
        }
        if (global) {
            set_global(g, (size_t)idx, value);
            continue;
        }
        if (!o->repeatable && cli_args_count(out, (size_t)idx) > 0) {
            snprintf(err, errlen, "flag --%s given more than once", o->name);
            return cli_args_free(out), -1;
        }
        if (add_val(out, (size_t)idx, value) < 0)
            goto oom;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    cli_args_free(out);
    return -1;
}

void cli_args_free(cli_args *a)
{
    free(a->vals);
    free(a->pos);
    memset(a, 0, sizeof *a);
}

const char *cli_args_get(const cli_args *a, size_t opt)
{
    const char *v = NULL;
    for (size_t i = 0; i < a->n_vals; i++)
        if (a->vals[i].opt == opt)
            v = a->vals[i].value;
    return v;
}

size_t cli_args_count(const cli_args *a, size_t opt)
{
    size_t n = 0;
    for (size_t i = 0; i < a->n_vals; i++)
        n += a->vals[i].opt == opt;
    return n;
}

bool cli_parse_int(const char *s, long long *out)
{
    char *end;
    errno = 0;
    if (!*s || (*s != '-' && (*s < '0' || *s > '9')))
        return false;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s || (s[0] == '-' && s[1] == '\0'))
        return false;
    *out = v;
    return true;
}

/* "  SPEC  HELP", the help wrapped at HELP_WIDTH columns and continued under itself. */
static void print_wrapped(FILE *f, size_t indent, const char *spec, const char *help)
{
    enum { HELP_WIDTH = 100 };
    size_t room = indent + 20 < HELP_WIDTH ? HELP_WIDTH - indent : 20;
    fprintf(f, "  %-*s  ", (int)(indent - 4), spec);
    while (strlen(help) > room) {
        size_t cut = room;
        while (cut > 0 && help[cut] != ' ')
            cut--;
        if (cut == 0)
            cut = strcspn(help, " ");
        fprintf(f, "%.*s\n%*s", (int)cut, help, (int)indent, "");
        help += cut;
        while (*help == ' ')
            help++;
    }
    fprintf(f, "%s\n", help);
}

void cli_opts_print(FILE *f, const cli_opt *opts, size_t n)
{
    char spec[96];
    size_t width = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            const cli_opt *o = &opts[i];
            char shortp[8] = "    ";
            if (o->short_name)
                snprintf(shortp, sizeof shortp, "-%c, ", o->short_name);
            snprintf(spec, sizeof spec, "%s--%s%s%s", shortp, o->name, o->metavar ? " " : "",
                     o->metavar ? o->metavar : "");
            if (pass == 0) {
                if (strlen(spec) > width)
                    width = strlen(spec);
            } else {
                char help[512];
                snprintf(help, sizeof help, "%s%s", o->help, o->repeatable ? " (repeatable)" : "");
                print_wrapped(f, width + 4, spec, help);
            }
        }
    }
}

void cli_usage_print(FILE *f, const char *usage, const char *summary, const cli_opt *opts, size_t n_opts)
{
    fprintf(f, "usage: egctl %s\n", usage);
    if (summary)
        fprintf(f, "\n%s\n", summary);
    if (n_opts) {
        fprintf(f, "\nflags:\n");
        cli_opts_print(f, opts, n_opts);
    }
    fprintf(f, "\nglobal flags: --endpoint URL, --token TOKEN, --token-file FILE, --cacert FILE, "
               "-o table|json, -h (egctl --help)\n");
}

void cli_globals_print(FILE *f)
{
    cli_opts_print(f, global_opts, G_COUNT);
}

/* "egctl: MESSAGE\n" on stderr. */
__attribute__((format(printf, 1, 0))) static void print_error(const char *fmt, va_list ap)
{
    fputs("egctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_usage_error(const char *usage, const cli_opt *opts, size_t n_opts, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    print_error(fmt, ap);
    va_end(ap);
    cli_usage_print(stderr, usage, NULL, opts, n_opts);
    return CLI_USAGE;
}

int cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    print_error(fmt, ap);
    va_end(ap);
    return CLI_ERROR;
}

void *cli_nonnull(void *p)
{
    if (!p) {
        fputs("egctl: out of memory\n", stderr);
        exit(CLI_ERROR);
    }
    return p;
}
