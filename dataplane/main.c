/* egbroker: the MQTT broker (data plane). With no arguments, open mode on
 * 127.0.0.1:1883 like mosquitto with no config. */
#include <errno.h>
#include <event2/event.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "broker.h"
#include "config.h"
#include "enforcer.h"
#include "lifecycle_events.h"
#include "listener.h"
#include "log.h"
#include "session_store_sqlite.h"
#include "worker.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: egbroker [-p PORT] [--config FILE] [--log-level debug|info|warn|error]\n"
                 "                [--log-format text|json] [--log-file FILE]\n"
                 "  -p PORT          plain MQTT on 127.0.0.1:PORT (open mode)\n"
                 "  --config FILE    JSON configuration: listeners, limits, data_dir, log_level, ...\n"
                 "  --log-file FILE  append log lines to FILE instead of stderr (reopened on SIGHUP)\n"
                 "  (docs/configuration.md lists every key)\n");
}

typedef struct runtime {
    broker *broker;
    listener *listeners[CONFIG_MAX_LISTENERS];
    int listener_count;
    admin_server *admin; /* NULL in open mode, and once stopped */
    struct event *sigterm, *sigint, *sighup, *drain_timer;
    struct event_base *base;
    int64_t drain_deadline_ms;
} runtime;

/* Exits the loop once every connection has flushed its DISCONNECT, or at the deadline. */
static void on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    runtime *rt = arg;
    if (!broker_has_connections(rt->broker) || broker_now_ms() >= rt->drain_deadline_ms)
        event_base_loopexit(rt->base, NULL);
}

/* SIGTERM/SIGINT: stop accepting, DISCONNECT 0x8B to v5 clients, exit 0. */
static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    runtime *rt = arg;
    log_msg(LOG_INFO, "egbroker", "signal %d: shutting down", (int)sig);
    for (int i = 0; i < rt->listener_count; i++)
        listener_stop(rt->listeners[i]);
    rt->listener_count = 0;
    /* No snapshot may land while connections drain: the admin's callbacks
     * reach into the broker being shut down. */
    admin_server_free(rt->admin);
    rt->admin = NULL;
    evsignal_del(rt->sigterm);
    evsignal_del(rt->sigint);
    evsignal_del(rt->sighup);
    broker_shutdown(rt->broker);
    rt->drain_deadline_ms = broker_now_ms() + 3000;
    rt->drain_timer = event_new(rt->base, -1, EV_PERSIST, on_drain_tick, rt);
    struct timeval tick = {0, 20 * 1000};
    if (!rt->drain_timer || event_add(rt->drain_timer, &tick) != 0)
        event_base_loopexit(rt->base, NULL);
}

/* SIGHUP: reopen the log file (after a rotation), reload TLS certificates and keys without
 * dropping connections. */
static void on_reload_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig, (void)what;
    runtime *rt = arg;
    if (log_reopen() != 0)
        log_msg(LOG_ERROR, "egbroker", "SIGHUP: cannot reopen the log file, still writing the old one: %s",
                strerror(errno));
    log_msg(LOG_INFO, "egbroker", "SIGHUP: log file reopened, reloading TLS files");
    lifecycle_events_reopen(rt->broker->events);
    for (int i = 0; i < rt->listener_count; i++)
        listener_reload_tls(rt->listeners[i]);
}

/* Level, format and file of the log lines, from the configuration and the flags over it. */
static int setup_logging(const broker_config *cfg)
{
    int lv = log_level_parse(cfg->log_level);
    if (lv < 0) {
        fprintf(stderr, "egbroker: bad log level: %s\n", cfg->log_level);
        return -1;
    }
    int format = log_format_parse(cfg->log_format);
    if (format < 0) {
        fprintf(stderr, "egbroker: bad log format: %s (text or json)\n", cfg->log_format);
        return -1;
    }
    if (cfg->log_file[0] && log_open_file(cfg->log_file) != 0) {
        fprintf(stderr, "egbroker: cannot open the log file %s: %s\n", cfg->log_file, strerror(errno));
        return -1;
    }
    log_set_level((enum log_level)lv);
    log_set_format((enum log_format)format);
    return 0;
}

static int parse_args(int argc, char **argv, broker_config *cfg)
{
    const char *config_path = NULL, *port = NULL, *level = NULL, *format = NULL, *file = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "-p") == 0 && has_value) {
            port = argv[++i];
        } else if (strcmp(a, "--config") == 0 && has_value) {
            config_path = argv[++i];
        } else if (strcmp(a, "--log-level") == 0 && has_value) {
            level = argv[++i];
        } else if (strcmp(a, "--log-format") == 0 && has_value) {
            format = argv[++i];
        } else if (strcmp(a, "--log-file") == 0 && has_value) {
            file = argv[++i];
        } else {
            fprintf(stderr, "egbroker: unknown or incomplete argument: %s\n", a);
            usage(stderr);
            return -1;
        }
    }
    char err[256];
    if (config_path && config_load_file(cfg, config_path, err, sizeof err) != 0) {
        fprintf(stderr, "egbroker: bad configuration: %s\n", err);
        return -1;
    }
    if (port) {
        char *end;
        long p = strtol(port, &end, 10);
        if (*end || p < 0 || p > 65535) {
            fprintf(stderr, "egbroker: bad port: %s\n", port);
            return -1;
        }
        cfg->listener_count = 1;
        cfg->listeners[0] =
            (listener_config){.type = LISTENER_MQTT, .bind = "127.0.0.1", .port = (uint16_t)p};
        snprintf(cfg->listeners[0].namespace_name, sizeof cfg->listeners[0].namespace_name, "%s",
                 cfg->served_count ? cfg->served[0] : "");
    }
    if (level)
        snprintf(cfg->log_level, sizeof cfg->log_level, "%s", level);
    if (format)
        snprintf(cfg->log_format, sizeof cfg->log_format, "%s", format);
    if (file)
        snprintf(cfg->log_file, sizeof cfg->log_file, "%s", file);
    return setup_logging(cfg);
}

/* Enforcement of the namespaces served (cfg->served): the enforcer becomes the broker's
 * authorizer (the broker owns it), and the admin endpoint feeds it snapshots.
 * Before any listener starts, so no client is ever let in under open mode. */
static int start_enforcement(runtime *rt, const broker_config *cfg)
{
    enforcer *e = enforcer_new(rt->broker);
    if (!e) {
        log_msg(LOG_ERROR, "egbroker", "cannot set up enforcement of namespace %s", cfg->served[0]);
        return -1;
    }
    if (!cfg->admin.enabled) /* serves the snapshot saved in the data directory, if any */
        return 0;
    /* admin_server_start copies the callbacks. */
    rt->admin = admin_server_start(
        rt->base, &cfg->admin,
        &(admin_callbacks){e, enforcer_apply, enforcer_status, enforcer_write_metrics, enforcer_missing});
    return rt->admin ? 0 : -1; /* the reason is logged */
}

/* A start that failed after the broker was made: undoes what was started. Returns the exit status. */
static int abandon_start(runtime *rt)
{
    while (rt->listener_count > 0)
        listener_stop(rt->listeners[--rt->listener_count]);
    admin_server_free(rt->admin);
    broker_free(rt->broker);
    event_base_free(rt->base);
    return 1;
}

int main(int argc, char **argv)
{
    broker_config cfg;
    config_defaults(&cfg);
    if (parse_args(argc, argv, &cfg) != 0)
        return 2;
    /* Worker threads: the configuration's "workers", else EGBROKER_WORKERS (the test suite
     * runs its end-to-end tests with 1 and with 3 this way), else one per core. */
    const char *workers = getenv("EGBROKER_WORKERS");
    if (!cfg.workers && workers) {
        char *end;
        unsigned long n = strtoul(workers, &end, 10);
        if (*workers == '\0' || *end != '\0' || n < 1 || n > WORKER_MAX) {
            log_msg(LOG_ERROR, "egbroker", "EGBROKER_WORKERS must be an integer from 1 to 255");
            return 2;
        }
        cfg.workers = (uint32_t)n;
    }
    if (!cfg.workers) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        cfg.workers = cores < 1 ? 1 : cores > WORKER_MAX ? WORKER_MAX : (uint32_t)cores;
    }
    signal(SIGPIPE, SIG_IGN);
    /* Messages are freed on another thread than the one that made them, and glibc then gave
     * the arena's free top back to the kernel after nearly every delivery, only to fault it in
     * again: 75,000 page faults a second in TLS fanin-q0-4096B. Up to 64 MiB stay mapped. */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    runtime rt = {0};
    /* The changelist folds an add and a delete of the same event within one loop
     * turn (a write armed, then done) into no epoll_ctl at all. */
    struct event_config *ecfg = event_config_new();
    if (ecfg)
        event_config_set_flag(ecfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    rt.base = ecfg ? event_base_new_with_config(ecfg) : NULL;
    if (ecfg)
        event_config_free(ecfg);
    if (!rt.base || !(rt.broker = broker_new(rt.base, &cfg))) {
        log_msg(LOG_ERROR, "egbroker", "cannot initialise the event loop");
        if (rt.base)
            event_base_free(rt.base);
        return 1;
    }
    /* Restored before any client can connect; a store that cannot be read stops
     * the start rather than lose what it holds. Before enforcement starts, so that
     * the saved snapshot applies to the restored sessions as a pushed one would
     * (subscriptions no longer covered removed, sessions of deleted clients ended,
     * permissions given), and the wills the restore left due are judged by it. */
    if (cfg.persistence != PERSIST_OFF && session_store_sqlite_open(rt.broker) != 0) {
        log_msg(LOG_ERROR, "egbroker", "cannot use the session store in %s: not starting", cfg.data_dir);
        return abandon_start(&rt);
    }
    if (cfg.served_count && start_enforcement(&rt, &cfg) != 0)
        return abandon_start(&rt);
    for (int i = 0; i < cfg.listener_count; i++) {
        listener *l = listener_start(rt.broker, &cfg.listeners[i]);
        if (!l) /* e.g. the port is taken: nothing may stay half-started */
            return abandon_start(&rt);
        rt.listeners[rt.listener_count++] = l;
    }
    if (broker_start_workers(rt.broker) != 0)
        return abandon_start(&rt);
    if (rt.admin)
        admin_server_set_listeners_up(rt.admin, true);
    rt.sigterm = evsignal_new(rt.base, SIGTERM, on_stop_signal, &rt);
    rt.sigint = evsignal_new(rt.base, SIGINT, on_stop_signal, &rt);
    rt.sighup = evsignal_new(rt.base, SIGHUP, on_reload_signal, &rt);
    evsignal_add(rt.sigterm, NULL);
    evsignal_add(rt.sigint, NULL);
    evsignal_add(rt.sighup, NULL);
    if (cfg.served_count) {
        char names[CONFIG_MAX_NAMESPACES * 66] = "";
        for (int i = 0, n = 0; i < cfg.served_count; i++)
            n += snprintf(names + n, sizeof names - (size_t)n, "%s%s", i ? "," : "", cfg.served[i]);
        log_msg(LOG_INFO, "egbroker", "ready mode=enforcing namespace=%s", names);
    } else
        log_msg(LOG_INFO, "egbroker", "ready mode=open");
    event_base_dispatch(rt.base);
    for (int i = 0; i < rt.listener_count; i++)
        listener_stop(rt.listeners[i]);
    admin_server_free(rt.admin); /* before the broker, which frees the enforcer it calls */
    broker_free(rt.broker);
    if (rt.drain_timer)
        event_free(rt.drain_timer);
    event_free(rt.sigterm);
    event_free(rt.sigint);
    event_free(rt.sighup);
    event_base_free(rt.base);
    log_msg(LOG_INFO, "egbroker", "stopped");
    return 0;
}
