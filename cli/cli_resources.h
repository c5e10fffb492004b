/* egctl RESOURCE VERB: create, update, show, list and delete for the six resource
 * kinds, driven by one table that gives each kind its REST collection, its flags
 * (one per property, each with the JSON path it sets) and its table columns. */
#ifndef EG_CLI_RESOURCES_H
#define EG_CLI_RESOURCES_H

#include <stddef.h>
#include <stdio.h>

#include "cli_args.h"

typedef struct cli_kind cli_kind;

/* The kinds in dependency order: namespace, ca-certificate, client, client-group,
 * topic-space, permission-binding. */
size_t cli_kind_count(void);
const cli_kind *cli_kind_at(size_t i);
/* By command-line name ("client-group"); NULL if there is none. */
const cli_kind *cli_kind_find(const char *name);
const char *cli_kind_name(const cli_kind *k);
/* The REST collection ("clientGroups"); NULL for namespace. */
const char *cli_kind_collection(const cli_kind *k);
/* For messages: "client group". */
const char *cli_kind_noun(const cli_kind *k);

/* Runs `egctl KIND ARGS...` (args start at the verb). Returns the exit code. */
int cli_resource_main(const cli_kind *k, int argc, char **argv, cli_globals *g);

/* One line per kind and its verbs, for `egctl --help`. */
void cli_resources_overview(FILE *f);

#endif
