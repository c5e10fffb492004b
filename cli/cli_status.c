/* egctl status. */
#include "cli_status.h"

#include <stdlib.h>
#include <string.h>

#include "cli_config.h"
#include "cli_http.h"
#include "cli_json.h"
#include "cli_output.h"

#define STATUS_USAGE "status"
#define STATUS_SUMMARY                                                                                       \
    "Shows egcontrol's health and change sequence (the newest snapshot version), then each broker's\n"       \
    "snapshot versions per namespace: desired (the namespace's newest), applied (acknowledged by the "       \
    "broker),\n"                                                                                             \
    "state (InSync, Pending, Failing) and the last error. -o json: {\"endpoint\", \"status\",\n"             \
    "\"changeSequence\", \"brokers\": [...]} with the brokers as GET /brokers shows them."

static void print_brokers(const json_t *brokers)
{
    static const char *const headers[] = {"BROKER",  "URL",   "NAMESPACE", "DESIRED",
                                          "APPLIED", "STATE", "ATTEMPTS",  "LAST-ERROR"};
    static const char *const paths[] = {"namespace", "desiredVersion", "appliedVersion",
                                        "state",     "attempts",       "lastError"};
    cli_table *t = cli_table_new(8, headers);
    size_t i, j;
    json_t *b, *ns;
    json_array_foreach(brokers, i, b)
    {
        char *cells[8] = {cli_format_value(json_object_get(b, "name")),
                          cli_format_value(json_object_get(b, "url"))};
        json_t *list = json_object_get(b, "namespaces");
        if (json_array_size(list) == 0) {
            for (size_t c = 2; c < 8; c++)
                cells[c] = strdup(c == 2 ? "-" : "");
            cli_table_add(t, (const char *const *)cells);
            for (size_t c = 2; c < 8; c++)
                free(cells[c]);
        }
        json_array_foreach(list, j, ns)
        {
            for (size_t c = 2; c < 8; c++)
                cells[c] = cli_format_value(json_object_get(ns, paths[c - 2]));
            cli_table_add(t, (const char *const *)cells);
            for (size_t c = 2; c < 8; c++)
                free(cells[c]);
        }
        free(cells[0]);
        free(cells[1]);
    }
    cli_table_print(t, stdout);
    cli_table_free(t);
}

static int status(const cli_ctx *ctx)
{
    json_t *health = NULL, *brokers = NULL;
    int rc = cli_http_call(ctx, "GET", "/healthz", NULL, NULL, &health, NULL);
    if (rc == CLI_OK)
        rc = cli_http_call(ctx, "GET", "/brokers", NULL, NULL, &brokers, NULL);
    if (rc == CLI_OK) {
        json_t *list = json_object_get(brokers, "value");
        const char *st = json_string_value(json_object_get(health, "status"));
        if (ctx->output == CLI_OUT_JSON) {
            json_t *out = json_pack("{s:s}", "endpoint", ctx->endpoint);
            json_object_update(out, health);
            json_object_set(out, "brokers", list ? list : json_array());
            cli_print_json(stdout, out);
            json_decref(out);
        } else {
            char *seq = cli_format_value(json_object_get(health, "changeSequence"));
            printf("egcontrol %s: %s, change sequence %s\n", ctx->endpoint, st ? st : "?", seq);
            free(seq);
            if (json_array_size(list) == 0) {
                printf("no brokers configured\n");
            } else {
                printf("\n");
                print_brokers(list);
            }
        }
        if (!st || strcmp(st, "ok") != 0)
            rc = cli_error("egcontrol reports status '%s'", st ? st : "(none)");
    }
    json_decref(health);
    json_decref(brokers);
    return rc;
}

int cli_status_main(int argc, char **argv, cli_globals *g)
{
    cli_args a;
    char err[256];
    if (cli_args_parse(argc, argv, NULL, 0, &a, g, err, sizeof err) < 0)
        return cli_usage_error(STATUS_USAGE, NULL, 0, "%s", err);
    int rc;
    if (g->help) {
        cli_usage_print(stdout, STATUS_USAGE, STATUS_SUMMARY, NULL, 0);
        rc = CLI_OK;
    } else if (a.n_pos) {
        rc = cli_usage_error(STATUS_USAGE, NULL, 0, "unexpected argument '%s'", a.pos[0]);
    } else {
        cli_ctx ctx;
        if ((rc = cli_config_resolve(g, &ctx)) == CLI_OK) {
            rc = status(&ctx);
            cli_ctx_free(&ctx);
        }
    }
    cli_args_free(&a);
    return rc;
}
