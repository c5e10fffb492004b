/* egctl status: egcontrol's health and change sequence (GET /healthz) and each
 * broker's applied snapshot version per namespace (GET /brokers). */
#ifndef EG_CLI_STATUS_H
#define EG_CLI_STATUS_H

#include "cli_args.h"

/* Runs `egctl status`. Returns the exit code. */
int cli_status_main(int argc, char **argv, cli_globals *g);

#endif
