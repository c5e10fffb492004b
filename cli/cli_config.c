/* egctl endpoint, token and output resolution: flags > environment > config file > defaults. */
#include "cli_config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_ENDPOINT "http://127.0.0.1:8080"
#define DEFAULT_TOKEN_FILE "var/control.token"

enum { K_ENDPOINT, K_TOKEN, K_TOKEN_FILE, K_CACERT, K_OUTPUT, K_COUNT };
static const char *const file_keys[K_COUNT] = {"endpoint", "token", "token_file", "cacert", "output"};

typedef struct file_config {
    char *path;
    char *val[K_COUNT];
} file_config;

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* "~/x" relative to $HOME. */
static char *expand_home(const char *path)
{
    const char *home = getenv("HOME");
    if (path[0] == '~' && path[1] == '/' && home) {
        size_t n = strlen(home) + strlen(path);
        char *out = malloc(n);
        if (out)
            snprintf(out, n, "%s%s", home, path + 1);
        return out;
    }
    return strdup(path);
}

/* Reads ~/.config/egctl/config if it exists. Returns 0, or -1 after printing why. */
static int read_config_file(file_config *fc)
{
    memset(fc, 0, sizeof *fc);
    const char *home = getenv("HOME");
    if (!home || !*home)
        return 0;
    size_t n = strlen(home) + sizeof "/.config/egctl/config";
    fc->path = malloc(n);
    if (!fc->path)
        return -1;
    snprintf(fc->path, n, "%s/.config/egctl/config", home);
    FILE *f = fopen(fc->path, "r");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        cli_error("cannot read %s: %s", fc->path, strerror(errno));
        return -1;
    }
    char line[4096];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = -1;
            cli_error("%s:%d: expected key=value", fc->path, lineno);
            break;
        }
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        size_t k;
        for (k = 0; k < K_COUNT && strcmp(key, file_keys[k]) != 0; k++)
            ;
        if (k == K_COUNT) {
            rc = -1;
            cli_error("%s:%d: unknown key '%s' (endpoint, token, token_file, cacert, output)", fc->path,
                      lineno, key);
            break;
        }
        free(fc->val[k]);
        fc->val[k] = strdup(value);
    }
    fclose(f);
    return rc;
}

static void file_config_free(file_config *fc)
{
    free(fc->path);
    for (size_t k = 0; k < K_COUNT; k++)
        free(fc->val[k]);
}

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* The first line of a token file, trimmed. NULL (and *missing set when it does not exist). */
static char *read_token_file(const char *path, bool *missing)
{
    char *p = expand_home(path);
    if (!p)
        return NULL;
    FILE *f = fopen(p, "r");
    if (!f) {
        if (errno == ENOENT && missing)
            *missing = true;
        else
            cli_error("cannot read token file %s: %s", p, strerror(errno));
        free(p);
        return NULL;
    }
    free(p);
    char line[4096] = "";
    if (!fgets(line, sizeof line, f))
        line[0] = '\0';
    fclose(f);
    return strdup(trim(line));
}

static int parse_output(const char *v, cli_output_format *out)
{
    if (strcmp(v, "table") == 0)
        *out = CLI_OUT_TABLE;
    else if (strcmp(v, "json") == 0)
        *out = CLI_OUT_JSON;
    else
        return -1;
    return 0;
}

int cli_output_resolve(const cli_globals *g, cli_ctx *ctx)
{
    ctx->output = CLI_OUT_TABLE;
    if (g->output && parse_output(g->output, &ctx->output) < 0) {
        fprintf(stderr, "egctl: unknown output format '%s' (table or json)\n", g->output);
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* A token source: literal token, or a file to read. */
static int resolve_token(const cli_globals *g, const file_config *fc, cli_ctx *ctx)
{
    const char *lit = NULL, *file = NULL, *src = NULL;
    if (g->token)
        lit = g->token, src = "--token";
    else if (g->token_file)
        file = g->token_file, src = "--token-file";
    else if ((lit = env_nonempty("EGCTL_TOKEN")))
        src = "EGCTL_TOKEN";
    else if ((file = env_nonempty("EGCTL_TOKEN_FILE")))
        src = "EGCTL_TOKEN_FILE";
    else if ((lit = fc->val[K_TOKEN]))
        src = fc->path;
    else if ((file = fc->val[K_TOKEN_FILE]))
        src = fc->path;
    if (lit) {
        ctx->token = strdup(lit);
    } else if (file) {
        bool missing = false;
        ctx->token = read_token_file(file, &missing);
        if (!ctx->token) {
            if (missing)
                cli_error("cannot read token file %s (from %s): it does not exist", file, src);
            return CLI_ERROR;
        }
    } else {
        bool missing = false;
        ctx->token = read_token_file(DEFAULT_TOKEN_FILE, &missing);
        if (!ctx->token && !missing)
            return CLI_ERROR;
        src = DEFAULT_TOKEN_FILE;
    }
    ctx->token_source = strdup(src);
    return CLI_OK;
}

int cli_config_resolve(const cli_globals *g, cli_ctx *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    file_config fc;
    int rc = CLI_ERROR;
    if (read_config_file(&fc) < 0)
        goto out;
    const char *out_fmt = g->output ? g->output : fc.val[K_OUTPUT];
    if (out_fmt && parse_output(out_fmt, &ctx->output) < 0) {
        rc = cli_error("unknown output format '%s' (table or json)", out_fmt);
        if (g->output)
            rc = CLI_USAGE;
        goto out;
    }
    const char *ep = g->endpoint;
    if (!ep)
        ep = env_nonempty("EGCTL_ENDPOINT");
    if (!ep)
        ep = fc.val[K_ENDPOINT];
    if (!ep)
        ep = DEFAULT_ENDPOINT;
    ctx->endpoint = cli_nonnull(strdup(ep));
    size_t n = strlen(ctx->endpoint);
    while (n && ctx->endpoint[n - 1] == '/')
        ctx->endpoint[--n] = '\0';
    if (!n || (strncmp(ep, "http://", 7) != 0 && strncmp(ep, "https://", 8) != 0)) {
        rc = cli_error("endpoint '%s' is not an http:// or https:// URL", ep);
        goto out;
    }
    const char *ca = g->cacert ? g->cacert : env_nonempty("EGCTL_CACERT");
    if (!ca)
        ca = fc.val[K_CACERT];
    if (ca)
        ctx->cacert = expand_home(ca);
    rc = resolve_token(g, &fc, ctx);
out:
    file_config_free(&fc);
    if (rc != CLI_OK)
        cli_ctx_free(ctx);
    return rc;
}

void cli_ctx_free(cli_ctx *ctx)
{
    free(ctx->endpoint);
    free(ctx->token);
    free(ctx->token_source);
    free(ctx->cacert);
    memset(ctx, 0, sizeof *ctx);
}
