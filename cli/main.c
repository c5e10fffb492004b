/* egctl: the command-line tool over egcontrol's REST API (docs/egctl.md).
 * Global flags, then a command: a resource kind and a verb, apply, export, cert or status. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli_apply.h"
#include "cli_args.h"
#include "cli_cert.h"
#include "cli_http.h"
#include "cli_resources.h"
#include "cli_status.h"

#define USAGE "[global flags] COMMAND [args] [flags]  (egctl --help)"

static void print_help(void)
{
    printf("usage: egctl [global flags] RESOURCE VERB [args] [flags]\n"
           "       egctl [global flags] apply|export|cert|status [args] [flags]\n\n"
           "egctl manages egcontrol's resources (api/README.md) from a terminal.\n\n"
           "resources:\n");
    cli_resources_overview(stdout);
    printf("\n"
           "  egctl namespace create|update|show|delete NAME [flags]      egctl namespace list\n"
           "  egctl client create|update|show|delete -n NS NAME [flags]   egctl client list -n NS\n"
           "  (likewise ca-certificate, client-group, topic-space, permission-binding)\n\n"
           "other commands:\n"
           "  apply -f DIR|FILE [-n NS] [--prune]   create or update a whole namespace from files\n"
           "  export NAMESPACE [-d DIR]             write a namespace out as apply reads it\n"
           "  cert create-ca|issue|thumbprint       CA and device certificates, SHA-256 thumbprints\n"
           "  status                                egcontrol's health, each broker's applied versions\n\n"
           "global flags (anywhere on the line):\n");
    cli_globals_print(stdout);
    printf("\n"
           "The endpoint and token come from the flags, else EGCTL_ENDPOINT and EGCTL_TOKEN (or\n"
           "EGCTL_TOKEN_FILE), else ~/.config/egctl/config (lines endpoint=URL, token=TOKEN or\n"
           "token_file=FILE, cacert=FILE, output=json), else http://127.0.0.1:8080 and var/control.token.\n\n"
           "exit codes: 0 success, 1 error (the API's code and message, or egcontrol unreachable),\n"
           "2 usage error. `egctl RESOURCE --help` and `egctl RESOURCE VERB --help` show every flag.\n");
}

static int run(int argc, char **argv)
{
    cli_globals g = {0};
    /* Global flags before the command: each alone, with its value when it takes one. */
    int i = 1;
    while (i < argc && argv[i][0] == '-' && strcmp(argv[i], "-") != 0) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        bool alone = strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0 || strchr(arg, '=') ||
                     (arg[1] != '-' && arg[2] != '\0');
        int n = alone || i + 1 >= argc ? 1 : 2;
        cli_args a;
        char err[256];
        if (cli_args_parse(n, argv + i, NULL, 0, &a, &g, err, sizeof err) < 0)
            return cli_usage_error(USAGE, NULL, 0, "%s", err);
        cli_args_free(&a);
        i += n;
    }
    if (i >= argc) {
        if (g.help) {
            print_help();
            return CLI_OK;
        }
        return cli_usage_error(USAGE, NULL, 0, "missing COMMAND (egctl --help lists them)");
    }
    const char *cmd = argv[i];
    int rest = argc - i - 1;
    char **args = argv + i + 1;
    const cli_kind *k = cli_kind_find(cmd);
    if (k)
        return cli_resource_main(k, rest, args, &g);
    if (strcmp(cmd, "apply") == 0)
        return cli_apply_main(rest, args, &g);
    if (strcmp(cmd, "export") == 0)
        return cli_export_main(rest, args, &g);
    if (strcmp(cmd, "cert") == 0)
        return cli_cert_main(rest, args, &g);
    if (strcmp(cmd, "status") == 0)
        return cli_status_main(rest, args, &g);
    if (strcmp(cmd, "help") == 0) {
        print_help();
        return CLI_OK;
    }
    return cli_usage_error(USAGE, NULL, 0, "unknown command '%s' (egctl --help lists them)", cmd);
}

int main(int argc, char **argv)
{
    cli_http_init();
    int rc = run(argc, argv);
    cli_http_cleanup();
    fflush(stdout);
    if (ferror(stdout)) {
        fprintf(stderr, "egctl: cannot write the output\n");
        return CLI_ERROR;
    }
    return rc;
}
