/* egcontrol: the REST control plane. Loads its config, opens the database,
 * starts the snapshot pusher and the HTTP server, and runs until SIGINT/SIGTERM. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "cp_config.h"
#include "http_server.h"
#include "log.h"
#include "net_addr.h"
#include "pusher.h"
#include "snapshot.h"
#include "store.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: egcontrol [--config FILE] [--listen ADDR:PORT | -p PORT] [--db FILE]\n"
                 "                 [--token-file FILE] [--tls-cert FILE --tls-key FILE]\n"
                 "                 [--broker NAME=URL,TOKENFILE]... [--log-level debug|info|warn|error]\n"
                 "                 [--log-format text|json] [--log-file FILE]\n"
                 "The REST control plane (api/README.md). Defaults: 127.0.0.1:8080, var/control.db,\n"
                 "token in var/control.token (generated at first start).\n");
}

/* mkdir -p of the directory that will hold `file`. */
static bool make_parent_dir(const char *file)
{
    char *copy = strdup(file);
    if (!copy)
        return false;
    char *dir = dirname(copy);
    bool ok = true;
    for (char *p = dir + 1; ok && *p; p++) {
        if (*p == '/') {
            *p = '\0';
            ok = mkdir(dir, 0755) == 0 || errno == EEXIST;
            *p = '/';
        }
    }
    ok = ok && (mkdir(dir, 0755) == 0 || errno == EEXIST);
    free(copy);
    return ok;
}

/* Reads the API token, or generates one into a new 0600 file. */
static char *load_or_create_token(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f) {
        char line[512] = "";
        bool ok = fgets(line, sizeof line, f) != NULL;
        fclose(f);
        line[strcspn(line, "\r\n")] = '\0';
        if (!ok || strlen(line) < 16) {
            log_msg(LOG_ERROR, "egcontrol", "token file %s must hold a token of at least 16 characters",
                    path);
            return NULL;
        }
        return strdup(line);
    }
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1 || !make_parent_dir(path)) {
        log_msg(LOG_ERROR, "egcontrol", "cannot create a token in %s", path);
        return NULL;
    }
    char token[65];
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(token + 2 * i, 3, "%02x", raw[i]);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || write(fd, token, 64) != 64 || write(fd, "\n", 1) != 1 || close(fd) != 0) {
        log_msg(LOG_ERROR, "egcontrol", "cannot write token file %s: %s", path, strerror(errno));
        return NULL;
    }
    /* The token itself is a secret: it stays in the file, out of every log line. */
    log_msg(LOG_INFO, "egcontrol", "generated an API token into %s (mode 0600)", path);
    return strdup(token);
}

/* The pusher's snapshot source: its own connection, opened on the pusher thread. */
typedef struct snapshot_source {
    const char *db_path;
    const char *hostname_suffix;
    store *db;
} snapshot_source;

static char *build_snapshot_text(void *ctx, const char *ns, uint64_t *version)
{
    snapshot_source *src = ctx;
    if (!src->db) {
        char err[256];
        if (!(src->db = store_open(src->db_path, err, sizeof err))) {
            log_msg(LOG_ERROR, "egcontrol", "snapshot: %s", err);
            return NULL;
        }
    }
    bool db_error;
    json_t *snap = snapshot_build(src->db, ns, src->hostname_suffix, version, &db_error);
    char *text = snap ? json_dumps(snap, JSON_COMPACT) : NULL;
    json_decref(snap);
    return text;
}

static void notify_version(void *ctx, const char *ns, uint64_t version)
{
    pusher_notify(ctx, ns, version);
}

static pusher *start_pusher(const cp_config *cfg, snapshot_source *src)
{
    if (cfg->n_brokers == 0)
        return NULL;
    pusher_broker *brokers = calloc(cfg->n_brokers, sizeof *brokers);
    if (!brokers)
        return NULL;
    for (size_t i = 0; i < cfg->n_brokers; i++) {
        brokers[i] = (pusher_broker){.name = cfg->brokers[i].name,
                                     .url = cfg->brokers[i].url,
                                     .token = cfg->brokers[i].token,
                                     .namespaces = (const char *const *)cfg->brokers[i].namespaces,
                                     .n_namespaces = cfg->brokers[i].n_namespaces};
    }
    pusher *p = pusher_start(brokers, cfg->n_brokers, &cfg->push, build_snapshot_text, src);
    free(brokers);
    return p;
}

static int parse_args(int argc, char **argv, cp_config *cfg)
{
    char err[512];
    /* The file first, so that flags override it wherever they appear. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc &&
            !cp_config_load_file(cfg, argv[i + 1], err, sizeof err)) {
            fprintf(stderr, "egcontrol: %s\n", err);
            return 2;
        }
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "egcontrol: %s needs a value (or is unknown)\n", argv[i]);
            usage(stderr);
            return 2;
        }
        if (strcmp(argv[i], "--config") != 0 &&
            !cp_config_set_flag(cfg, argv[i], argv[i + 1], err, sizeof err)) {
            fprintf(stderr, "egcontrol: %s\n", err);
            usage(stderr);
            return 2;
        }
        i++;
    }
    return -1;
}

/* Level, format and file of the log lines. False with the reason on stderr. */
static bool setup_logging(const cp_config *cfg)
{
    int level = log_level_parse(cfg->log_level);
    if (level < 0) {
        fprintf(stderr, "egcontrol: unknown log level %s\n", cfg->log_level);
        return false;
    }
    int format = log_format_parse(cfg->log_format);
    if (format < 0) {
        fprintf(stderr, "egcontrol: unknown log format %s (text or json)\n", cfg->log_format);
        return false;
    }
    if (cfg->log_file && log_open_file(cfg->log_file) != 0) {
        fprintf(stderr, "egcontrol: cannot open the log file %s: %s\n", cfg->log_file, strerror(errno));
        return false;
    }
    log_set_level((enum log_level)level);
    log_set_format((enum log_format)format);
    return true;
}

/* Waits for SIGINT or SIGTERM; SIGHUP in between reopens the log file and the events audit
 * file (after a rotation). */
static int wait_for_stop(const sigset_t *signals, event_audit *events)
{
    for (;;) {
        int sig = 0;
        if (sigwait(signals, &sig) != 0)
            return 0;
        if (sig != SIGHUP)
            return sig;
        if (log_reopen() != 0)
            log_msg(LOG_ERROR, "egcontrol",
                    "SIGHUP: cannot reopen the log file, still writing the old one: %s", strerror(errno));
        else
            log_msg(LOG_INFO, "egcontrol", "SIGHUP: log file reopened");
        if (events && !event_audit_reopen(events))
            log_msg(LOG_ERROR, "egcontrol",
                    "SIGHUP: cannot reopen the events audit file, still writing the old one: %s",
                    strerror(errno));
    }
}

int main(int argc, char **argv)
{
    cp_config cfg;
    cp_config_defaults(&cfg);
    int rc = parse_args(argc, argv, &cfg);
    if (rc >= 0) {
        cp_config_free(&cfg);
        return rc;
    }
    if (!setup_logging(&cfg)) {
        cp_config_free(&cfg);
        return 2;
    }
    bool tls = cfg.tls_cert && cfg.tls_key;
    if (!tls && !net_addr_is_loopback(cfg.listen_address)) {
        log_msg(LOG_ERROR, "egcontrol",
                "refusing to listen on %s without TLS: give --tls-cert and --tls-key, or a loopback address",
                cfg.listen_address);
        cp_config_free(&cfg);
        return 2;
    }

    /* Signals are taken with sigwait on this thread; block them before any thread starts. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    char err[512];
    char *token = load_or_create_token(cfg.token_file);
    store *db = NULL;
    if (token && make_parent_dir(cfg.database) && !(db = store_open(cfg.database, err, sizeof err)))
        log_msg(LOG_ERROR, "egcontrol", "%s", err);
    const char *audit_path = cfg.events_audit_file && cfg.events_audit_file[0] ? cfg.events_audit_file : NULL;
    event_audit *events = NULL;
    if (token && db && audit_path &&
        !(make_parent_dir(audit_path) && (events = event_audit_open(audit_path))))
        log_msg(LOG_ERROR, "egcontrol", "cannot open the events audit file %s: %s", audit_path,
                strerror(errno));
    if (!token || !db || (audit_path && !events)) {
        free(token);
        store_close(db);
        cp_config_free(&cfg);
        return 1;
    }
    snapshot_source src = {.db_path = cfg.database, .hostname_suffix = cfg.hostname_suffix};
    api a = {.db = db, .cfg = &cfg, .push = start_pusher(&cfg, &src), .events = events};
    if (cfg.n_brokers && !a.push)
        log_msg(LOG_ERROR, "egcontrol", "cannot start the snapshot pusher");
    else if (a.push && !store_each_namespace_version(db, notify_version, a.push))
        log_msg(LOG_WARN, "egcontrol", "cannot list namespaces to push at start");

    http_server_options hopt = {.address = cfg.listen_address,
                                .port = cfg.port,
                                .token = token,
                                .max_body_bytes = cfg.max_body_bytes,
                                .tls_cert = cfg.tls_cert,
                                .tls_key = cfg.tls_key};
    if ((!cfg.n_brokers || a.push) && (a.http = http_server_start(&hopt, api_handle, &a, err, sizeof err))) {
        log_msg(LOG_INFO, "egcontrol", "listening on %s://%s:%d, database %s, token file %s, %zu broker(s)",
                tls ? "https" : "http", cfg.listen_address, http_server_port(a.http), cfg.database,
                cfg.token_file, cfg.n_brokers);
        int sig = wait_for_stop(&stop_signals, events);
        log_msg(LOG_INFO, "egcontrol", "signal %d: stopping", sig);
        rc = 0;
    } else {
        if (!a.http && (!cfg.n_brokers || a.push))
            log_msg(LOG_ERROR, "egcontrol", "%s", err);
        rc = 1;
    }
    http_server_stop(a.http); /* no request runs after this */
    if (a.push)
        pusher_stop(a.push);
    store_close(src.db);
    store_close(db);
    event_audit_close(events);
    free(token);
    cp_config_free(&cfg);
    return rc;
}
