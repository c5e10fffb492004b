/* Where egctl sends its requests. Each setting is taken from, in order: the command
 * line (--endpoint, --token, --token-file, --cacert, -o), the environment
 * (EGCTL_ENDPOINT, EGCTL_TOKEN, EGCTL_TOKEN_FILE, EGCTL_CACERT), the config file
 * ~/.config/egctl/config (key=value lines: endpoint, token, token_file, cacert, output;
 * `#` comments), then the defaults: http://127.0.0.1:8080 and the token in
 * var/control.token when that file exists. */
#ifndef EG_CLI_CONFIG_H
#define EG_CLI_CONFIG_H

#include "cli_args.h"

typedef enum { CLI_OUT_TABLE, CLI_OUT_JSON } cli_output_format;

typedef struct cli_ctx {
    char *endpoint;     /* without a trailing slash */
    char *token;        /* NULL: none found */
    char *token_source; /* where the token came from, for messages */
    char *cacert;       /* NULL: the system's trust store */
    cli_output_format output;
} cli_ctx;

/* Only the output format (-o), for commands that do not talk to egcontrol. Returns
 * CLI_OK, or CLI_USAGE after printing a message. */
int cli_output_resolve(const cli_globals *g, cli_ctx *ctx);

/* Resolves everything. Returns CLI_OK, or an exit code after printing the reason
 * (CLI_USAGE for a bad -o, CLI_ERROR for an unreadable token or config file). */
int cli_config_resolve(const cli_globals *g, cli_ctx *ctx);

void cli_ctx_free(cli_ctx *ctx);

#endif
