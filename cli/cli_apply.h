/* egctl apply and export: a whole namespace as files.
 *
 * A directory holds namespace.json and one directory per collection
 * (caCertificates/, clients/, clientGroups/, topicSpaces/, permissionBindings/) with
 * one REST body per resource in NAME.json (examples/demo). A single file holds the
 * same as one JSON document: the namespace's REST body plus one array per
 * collection of resource bodies that carry their "name". */
#ifndef EG_CLI_APPLY_H
#define EG_CLI_APPLY_H

#include "cli_args.h"

/* egctl apply -f DIR|FILE [-n NS] [--prune]. Returns the exit code. */
int cli_apply_main(int argc, char **argv, cli_globals *g);

/* egctl export NAMESPACE [-d DIR [--force]]. Returns the exit code. */
int cli_export_main(int argc, char **argv, cli_globals *g);

#endif
