/* egcontrol's configuration: defaults, command-line flags and the JSON file of
 * `--config`. Every string is owned by the cp_config and freed by cp_config_free. */
#ifndef EG_CP_CONFIG_H
#define EG_CP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "cp_quotas.h"
#include "pusher.h"

typedef struct cp_broker_config {
    char *name;
    char *url;
    char *token;       /* read from token_file at load time when given as a file */
    char **namespaces; /* NULL = every namespace */
    size_t n_namespaces;
} cp_broker_config;

typedef struct cp_config {
    char *listen_address; /* default 127.0.0.1 */
    int port;             /* default 8080; 0 picks a free port (printed) */
    char *database;       /* default var/control.db */
    char *token_file;     /* default var/control.token */
    char *tls_cert;       /* both set: HTTPS, and non-loopback addresses are allowed */
    char *tls_key;
    char *hostname_suffix; /* namespace hostname = {ns}.{suffix}; default localhost */
    char *log_level;
    char *log_format;        /* "text" (default) or "json" (log.h) */
    char *log_file;          /* NULL = stderr; reopened on SIGHUP */
    long max_body_bytes;     /* default 256 KiB */
    char *events_audit_file; /* client life-cycle events appended there (client_events.h); NULL: none */
    cp_quotas quotas;
    cp_broker_config *brokers;
    size_t n_brokers;
    pusher_options push;
} cp_config;

void cp_config_defaults(cp_config *cfg);
/* Loads the JSON file over the current values. Unknown keys and bad values are
 * errors: returns false with a message in err. */
bool cp_config_load_file(cp_config *cfg, const char *path, char *err, size_t err_len);
/* Command-line flags (after the file): --listen ADDR:PORT, -p PORT, --db FILE,
 * --token-file FILE, --tls-cert, --tls-key, --log-level, --log-format, --log-file,
 * --broker NAME=URL[,TOKENFILE]. */
bool cp_config_set_flag(cp_config *cfg, const char *flag, const char *value, char *err, size_t err_len);
void cp_config_free(cp_config *cfg);

#endif
