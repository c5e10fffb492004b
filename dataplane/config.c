/* Broker configuration: Event Grid's limits as defaults, a JSON file over them. */
#include "config.h"
#include "net_addr.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void config_defaults(broker_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->listener_count = 1;
    cfg->listeners[0] = (listener_config){.type = LISTENER_MQTT, .bind = "127.0.0.1", .port = 1883};
    cfg->limits = (broker_limits){
        .max_packet_size = 512 * 1024,
        .topic_alias_maximum = 10,
        .receive_maximum = 1000,
        .max_keep_alive = 1160,
        .max_session_expiry = 3600,
        .queue_max_messages = 100,
        .queue_max_bytes = 1024 * 1024,
        .max_inflight_out = 100,
        .max_retained_size = 64 * 1024,
        .connect_timeout = 10,
        .output_high_water = 4 * 1024 * 1024,
        .slow_subscriber_timeout = 30,
        .publish_rate_per_session = 1000,
        .publish_bytes_per_session = 1024 * 1024,
        .publish_rate_sustained = 3,
        .sessions_per_throughput_unit = 10000,
        .retained_per_throughput_unit = 10000,
    };
    snprintf(cfg->data_dir, sizeof cfg->data_dir, "var/broker");
    cfg->persistence = PERSIST_OFF; /* periodic once a configuration names a data_dir */
    cfg->persistence_interval_ms = 100;
    snprintf(cfg->log_level, sizeof cfg->log_level, "info");
    cfg->events.publish = true;
    snprintf(cfg->log_format, sizeof cfg->log_format, "text");
}

const char *listener_type_name(enum listener_type t)
{
    static const char *const names[] = {"mqtt", "mqtts", "ws", "wss"};
    return t <= LISTENER_WSS ? names[t] : "?";
}

static int fail(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return -1;
}

/* Reads an integer member within [min, max] into *out (width given by size). */
static int read_uint(json_t *obj, const char *key, json_int_t min, json_int_t max, void *out, size_t size,
                     char *err, size_t len)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        snprintf(err, len, "\"%s\" must be an integer from %lld to %lld", key, (long long)min,
                 (long long)max);
        return -1;
    }
    json_int_t n = json_integer_value(v);
    if (size == sizeof(uint16_t))
        *(uint16_t *)out = (uint16_t)n;
    else
        *(uint32_t *)out = (uint32_t)n;
    return 0;
}

static int check_keys(json_t *obj, const char *const *allowed, const char *where, char *err, size_t len)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            ok |= strcmp(key, *a) == 0;
        if (!ok) {
            snprintf(err, len, "unknown key \"%s\" in %s", key, where);
            return -1;
        }
    }
    return 0;
}

static int load_listener(json_t *j, listener_config *l, char *err, size_t len)
{
    static const char *const keys[] = {"type",      "bind", "port", "insecure",
                                       "cert",      "key",  "path", "request_client_certificate",
                                       "namespace", NULL};
    if (!json_is_object(j))
        return fail(err, len, "%s", "each listener must be an object");
    if (check_keys(j, keys, "a listener", err, len))
        return -1;
    const char *type = json_string_value(json_object_get(j, "type"));
    const char *bind = json_string_value(json_object_get(j, "bind"));
    int t;
    for (t = LISTENER_MQTT; t <= LISTENER_WSS; t++)
        if (type && strcmp(type, listener_type_name((enum listener_type)t)) == 0)
            break;
    if (t > LISTENER_WSS)
        return fail(err, len, "%s", "listener \"type\" must be one of mqtt, mqtts, ws, wss");
    l->type = (enum listener_type)t;
    snprintf(l->bind, sizeof l->bind, "%s", bind ? bind : "127.0.0.1");
    l->port = 0;
    if (read_uint(j, "port", 0, 65535, &l->port, sizeof l->port, err, len))
        return -1;
    if (!json_object_get(j, "port"))
        return fail(err, len, "%s", "listener needs a \"port\"");
    l->insecure = json_is_true(json_object_get(j, "insecure"));
    bool plain = l->type == LISTENER_MQTT || l->type == LISTENER_WS;
    const char *cert = json_string_value(json_object_get(j, "cert"));
    const char *key = json_string_value(json_object_get(j, "key"));
    if (!plain && (!cert || !key))
        return fail(err, len, "%s", "a TLS listener needs \"cert\" and \"key\" (PEM files)");
    if (plain && (cert || key))
        return fail(err, len, "%s", "\"cert\" and \"key\" are for mqtts and wss listeners");
    const char *path = json_string_value(json_object_get(j, "path"));
    bool websocket = l->type == LISTENER_WS || l->type == LISTENER_WSS;
    if (path && (!websocket || path[0] != '/' || strlen(path) >= sizeof l->path))
        return fail(err, len, "%s",
                    "\"path\" is for ws and wss listeners: an absolute path of up to 63 characters");
    snprintf(l->path, sizeof l->path, "%s", path ? path : "/mqtt");
    json_t *request = json_object_get(j, "request_client_certificate");
    if (request && (plain || !json_is_boolean(request)))
        return fail(err, len, "%s",
                    "\"request_client_certificate\" is a boolean for mqtts and wss listeners");
    l->request_client_certificate = !request || json_is_true(request);
    snprintf(l->cert, sizeof l->cert, "%s", cert ? cert : "");
    snprintf(l->key, sizeof l->key, "%s", key ? key : "");
    json_t *ns = json_object_get(j, "namespace");
    if (ns && (!json_is_string(ns) || !json_string_value(ns)[0] ||
               strlen(json_string_value(ns)) >= sizeof l->namespace_name))
        return fail(err, len, "%s", "listener \"namespace\" must be a string of 1 to 63 characters");
    snprintf(l->namespace_name, sizeof l->namespace_name, "%s", ns ? json_string_value(ns) : "");
    if (plain && !net_addr_is_loopback(l->bind) && !l->insecure)
        return fail(err, len, "plain listener on %s needs \"insecure\": true", l->bind);
    return 0;
}

static int load_limits(json_t *j, broker_limits *lim, char *err, size_t len)
{
    static const char *const keys[] = {"max_packet_size",
                                       "topic_alias_maximum",
                                       "receive_maximum",
                                       "max_keep_alive",
                                       "max_session_expiry",
                                       "queue_max_messages",
                                       "queue_max_bytes",
                                       "max_inflight_out",
                                       "max_retained_size",
                                       "connect_timeout",
                                       "output_high_water",
                                       "slow_subscriber_timeout",
                                       "publish_rate_per_session",
                                       "publish_bytes_per_session",
                                       "publish_rate_sustained",
                                       "sessions_per_throughput_unit",
                                       "retained_per_throughput_unit",
                                       NULL};
    if (!json_is_object(j))
        return fail(err, len, "%s", "\"limits\" must be an object");
    if (check_keys(j, keys, "limits", err, len))
        return -1;
    return read_uint(j, "max_packet_size", 64, 268435460, &lim->max_packet_size, 4, err, len) ||
                   read_uint(j, "topic_alias_maximum", 0, 65535, &lim->topic_alias_maximum, 2, err, len) ||
                   read_uint(j, "receive_maximum", 1, 65535, &lim->receive_maximum, 2, err, len) ||
                   read_uint(j, "max_keep_alive", 1, 65535, &lim->max_keep_alive, 2, err, len) ||
                   read_uint(j, "max_session_expiry", 0, 4294967295, &lim->max_session_expiry, 4, err, len) ||
                   read_uint(j, "queue_max_messages", 1, 100000000, &lim->queue_max_messages, 4, err, len) ||
                   read_uint(j, "queue_max_bytes", 1, 4294967295, &lim->queue_max_bytes, 4, err, len) ||
                   read_uint(j, "max_inflight_out", 1, 65535, &lim->max_inflight_out, 2, err, len) ||
                   read_uint(j, "max_retained_size", 0, 268435455, &lim->max_retained_size, 4, err, len) ||
                   read_uint(j, "connect_timeout", 1, 3600, &lim->connect_timeout, 4, err, len) ||
                   read_uint(j, "output_high_water", 1024, 4294967295, &lim->output_high_water, 4, err,
                             len) ||
                   read_uint(j, "slow_subscriber_timeout", 1, 86400, &lim->slow_subscriber_timeout, 4, err,
                             len) ||
                   read_uint(j, "publish_rate_per_session", 1, 100000000, &lim->publish_rate_per_session, 4,
                             err, len) ||
                   read_uint(j, "publish_bytes_per_session", 1, 4294967295, &lim->publish_bytes_per_session,
                             4, err, len) ||
                   read_uint(j, "publish_rate_sustained", 1, 3600, &lim->publish_rate_sustained, 4, err,
                             len) ||
                   read_uint(j, "sessions_per_throughput_unit", 1, 100000000,
                             &lim->sessions_per_throughput_unit, 4, err, len) ||
                   read_uint(j, "retained_per_throughput_unit", 1, 100000000,
                             &lim->retained_per_throughput_unit, 4, err, len)
               ? -1
               : 0;
}

/* Reads the first line of a secret file into out. */
static int read_secret_file(const char *path, char *out, size_t out_len, char *err, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return fail(err, len, "cannot read token file %s", path);
    char line[512] = "";
    bool ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    if (!ok || strlen(line) < 16 || strlen(line) >= out_len)
        return fail(err, len, "token file %s must hold a token of 16 to %zu characters", path, out_len - 1);
    memcpy(out, line, strlen(line) + 1);
    return 0;
}

static int load_admin(json_t *j, admin_config *a, char *err, size_t len)
{
    static const char *const keys[] = {"bind", "port", "token", "token_file", "cert", "key", NULL};
    if (!json_is_object(j))
        return fail(err, len, "%s", "\"admin\" must be an object");
    if (check_keys(j, keys, "admin", err, len))
        return -1;
    a->enabled = true;
    const char *bind = json_string_value(json_object_get(j, "bind"));
    snprintf(a->bind, sizeof a->bind, "%s", bind ? bind : "127.0.0.1");
    a->port = 9090;
    if (read_uint(j, "port", 0, 65535, &a->port, sizeof a->port, err, len))
        return -1;
    const char *token = json_string_value(json_object_get(j, "token"));
    const char *token_file = json_string_value(json_object_get(j, "token_file"));
    if (!token == !token_file)
        return fail(err, len, "%s", "\"admin\" needs one of \"token\" or \"token_file\"");
    if (token && (strlen(token) < 16 || strlen(token) >= sizeof a->token))
        return fail(err, len, "%s", "the admin token must be 16 to 255 characters");
    if (token)
        snprintf(a->token, sizeof a->token, "%s", token);
    else if (read_secret_file(token_file, a->token, sizeof a->token, err, len))
        return -1;
    const char *cert = json_string_value(json_object_get(j, "cert"));
    const char *key = json_string_value(json_object_get(j, "key"));
    if (!cert != !key)
        return fail(err, len, "%s", "\"admin\" needs both \"cert\" and \"key\" for HTTPS");
    snprintf(a->cert, sizeof a->cert, "%s", cert ? cert : "");
    snprintf(a->key, sizeof a->key, "%s", key ? key : "");
    if (!cert && !net_addr_is_loopback(a->bind))
        return fail(
            err, len,
            "the admin endpoint on %s needs \"cert\" and \"key\" (it is reachable from other machines)",
            a->bind);
    return 0;
}

static int read_string(json_t *root, const char *key, char *out, size_t out_len, char *err, size_t len);

static int load_events(json_t *j, events_config *ev, char *err, size_t len)
{
    static const char *const keys[] = {"publish", "audit_file", NULL};
    if (!json_is_object(j))
        return fail(err, len, "%s", "\"events\" must be an object");
    if (check_keys(j, keys, "events", err, len))
        return -1;
    json_t *publish = json_object_get(j, "publish");
    if (publish && !json_is_boolean(publish))
        return fail(err, len, "%s", "\"events.publish\" must be true or false");
    if (publish)
        ev->publish = json_is_true(publish);
    if (read_string(j, "audit_file", ev->audit_file, sizeof ev->audit_file, err, len))
        return -1;
    return 0;
}

static int read_string(json_t *root, const char *key, char *out, size_t out_len, char *err, size_t len)
{
    json_t *v = json_object_get(root, key);
    if (!v)
        return 0;
    if (!json_is_string(v) || strlen(json_string_value(v)) >= out_len)
        return fail(err, len, "\"%s\" must be a string of at most %zu characters", key, out_len - 1);
    snprintf(out, out_len, "%s", json_string_value(v));
    return 0;
}

static int add_served(broker_config *cfg, const char *name, char *err, size_t len)
{
    for (int i = 0; i < cfg->served_count; i++)
        if (strcmp(cfg->served[i], name) == 0)
            return 0;
    if (cfg->served_count == CONFIG_MAX_NAMESPACES)
        return fail(err, len, "at most %d namespaces per broker", CONFIG_MAX_NAMESPACES);
    snprintf(cfg->served[cfg->served_count++], sizeof cfg->served[0], "%s", name);
    return 0;
}

int config_resolve_namespaces(broker_config *cfg, const char *const *extra, int extra_count, char *err,
                              size_t err_len)
{
    cfg->served_count = 0;
    bool any = cfg->namespace_name[0] || extra_count > 0;
    for (int i = 0; i < cfg->listener_count; i++) {
        listener_config *l = &cfg->listeners[i];
        if (!l->namespace_name[0])
            snprintf(l->namespace_name, sizeof l->namespace_name, "%s", cfg->namespace_name);
        any |= l->namespace_name[0] != '\0';
    }
    if (!any)
        return 0; /* open mode */
    if (cfg->namespace_name[0] && add_served(cfg, cfg->namespace_name, err, err_len))
        return -1;
    for (int i = 0; i < cfg->listener_count; i++) {
        if (!cfg->listeners[i].namespace_name[0])
            return fail(err, err_len, "%s",
                        "with namespaces configured every listener needs one: set the top-level "
                        "\"namespace\" or the listener's");
        if (add_served(cfg, cfg->listeners[i].namespace_name, err, err_len))
            return -1;
    }
    for (int i = 0; i < extra_count; i++)
        if (add_served(cfg, extra[i], err, err_len))
            return -1;
    return 0;
}

/* "mqtt" or "eventgrid" into *mode; -1 for anything else. */
static int parse_compatibility(json_t *v, const char *what, enum compatibility_mode *mode, char *err,
                               size_t len)
{
    const char *s = json_string_value(v);
    if (s && strcmp(s, "mqtt") == 0)
        *mode = COMPAT_MQTT;
    else if (s && strcmp(s, "eventgrid") == 0)
        *mode = COMPAT_EVENTGRID;
    else
        return fail(err, len, "%s must be \"mqtt\" or \"eventgrid\"", what);
    return 0;
}

/* "compatibility" and "namespace_compatibility" (after the served namespaces are known: an
 * override names one of them). */
static int load_compatibility(json_t *root, broker_config *cfg, char *err, size_t len)
{
    json_t *top = json_object_get(root, "compatibility");
    if (top && parse_compatibility(top, "\"compatibility\"", &cfg->compatibility, err, len))
        return -1;
    json_t *per_ns = json_object_get(root, "namespace_compatibility"), *v;
    if (!per_ns)
        return 0;
    if (!json_is_object(per_ns))
        return fail(err, len, "%s", "\"namespace_compatibility\" must be an object: namespace -> mode");
    const char *name;
    cfg->namespace_compat_count = 0;
    json_object_foreach(per_ns, name, v)
    {
        bool served = false;
        for (int i = 0; i < cfg->served_count; i++)
            served |= strcmp(cfg->served[i], name) == 0;
        if (!served)
            return fail(err, len,
                        "\"namespace_compatibility\" names \"%.63s\", which this broker does not serve",
                        name);
        namespace_compatibility *nc = &cfg->namespace_compat[cfg->namespace_compat_count++];
        snprintf(nc->name, sizeof nc->name, "%s", name);
        if (parse_compatibility(v, "a \"namespace_compatibility\" value", &nc->mode, err, len))
            return -1;
    }
    return 0;
}

enum compatibility_mode config_compatibility_of(const broker_config *cfg, const char *name)
{
    for (int i = 0; i < cfg->namespace_compat_count; i++)
        if (strcmp(cfg->namespace_compat[i].name, name) == 0)
            return cfg->namespace_compat[i].mode;
    return cfg->compatibility;
}

/* The top-level "namespaces": names reachable by SNI only. */
static int read_namespaces(json_t *root, const char **names, int *count, char *err, size_t len)
{
    json_t *list = json_object_get(root, "namespaces"), *v;
    size_t i;
    *count = 0;
    if (!list)
        return 0;
    if (!json_is_array(list) || json_array_size(list) > CONFIG_MAX_NAMESPACES)
        return fail(err, len, "\"namespaces\" must be an array of at most %d names", CONFIG_MAX_NAMESPACES);
    json_array_foreach(list, i, v)
    {
        const char *name = json_string_value(v);
        if (!name || !name[0] || strlen(name) >= 64)
            return fail(err, len, "%s", "\"namespaces\" entries must be strings of 1 to 63 characters");
        names[(*count)++] = name;
    }
    return 0;
}

int config_load_file(broker_config *cfg, const char *path, char *err, size_t err_len)
{
    static const char *const keys[] = {"listeners",
                                       "limits",
                                       "data_dir",
                                       "log_level",
                                       "admin",
                                       "namespace",
                                       "sni_domain",
                                       "namespaces",
                                       "persistence",
                                       "persistence_interval_ms",
                                       "workers",
                                       "events",
                                       "log_format",
                                       "log_file",
                                       "compatibility",
                                       "namespace_compatibility",
                                       NULL};
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, err_len, "%s:%d: %s", path, jerr.line, jerr.text);
        return -1;
    }
    int rc = -1;
    if (!json_is_object(root)) {
        fail(err, err_len, "%s", "the configuration must be a JSON object");
        goto out;
    }
    if (check_keys(root, keys, "the configuration", err, err_len))
        goto out;
    json_t *listeners = json_object_get(root, "listeners");
    if (listeners) {
        if (!json_is_array(listeners) || json_array_size(listeners) == 0 ||
            json_array_size(listeners) > CONFIG_MAX_LISTENERS) {
            fail(err, err_len, "\"listeners\" must be an array of 1 to %s listeners", "16");
            goto out;
        }
        cfg->listener_count = 0;
        size_t i;
        json_t *l;
        json_array_foreach(listeners, i, l)
        {
            if (load_listener(l, &cfg->listeners[cfg->listener_count++], err, err_len))
                goto out;
        }
    }
    json_t *limits = json_object_get(root, "limits");
    if (limits && load_limits(limits, &cfg->limits, err, err_len))
        goto out;
    json_t *admin = json_object_get(root, "admin");
    if (admin && load_admin(admin, &cfg->admin, err, err_len))
        goto out;
    json_t *events = json_object_get(root, "events");
    if (events && load_events(events, &cfg->events, err, err_len))
        goto out;
    if (read_string(root, "namespace", cfg->namespace_name, sizeof cfg->namespace_name, err, err_len) ||
        read_string(root, "sni_domain", cfg->sni_domain, sizeof cfg->sni_domain, err, err_len))
        goto out;
    const char *extra[CONFIG_MAX_NAMESPACES];
    int extra_count = 0;
    if (read_namespaces(root, extra, &extra_count, err, err_len) ||
        config_resolve_namespaces(cfg, extra, extra_count, err, err_len) ||
        load_compatibility(root, cfg, err, err_len))
        goto out;
    if (cfg->admin.enabled && !cfg->served_count) {
        fail(err, err_len, "%s", "an \"admin\" endpoint needs the \"namespace\" this broker enforces");
        goto out;
    }
    const char *dir = json_string_value(json_object_get(root, "data_dir"));
    if (dir)
        snprintf(cfg->data_dir, sizeof cfg->data_dir, "%s", dir);
    json_t *mode = json_object_get(root, "persistence");
    /* A configuration that names where data goes keeps sessions there by default;
     * one that does not keeps nothing, like mosquitto without persistence. */
    if (!mode && dir)
        cfg->persistence = PERSIST_PERIODIC;
    if (mode) {
        const char *m = json_string_value(mode);
        if (m && strcmp(m, "periodic") == 0)
            cfg->persistence = PERSIST_PERIODIC;
        else if (m && strcmp(m, "sync") == 0)
            cfg->persistence = PERSIST_SYNC;
        else if (m && strcmp(m, "off") == 0)
            cfg->persistence = PERSIST_OFF;
        else {
            fail(err, err_len, "%s", "\"persistence\" must be \"periodic\", \"sync\" or \"off\"");
            goto out;
        }
    }
    if (read_uint(root, "persistence_interval_ms", 1, 60000, &cfg->persistence_interval_ms,
                  sizeof cfg->persistence_interval_ms, err, err_len))
        goto out;
    if (read_uint(root, "workers", 1, 255, &cfg->workers, sizeof cfg->workers, err, err_len))
        goto out;
    if (read_string(root, "log_level", cfg->log_level, sizeof cfg->log_level, err, err_len) ||
        read_string(root, "log_format", cfg->log_format, sizeof cfg->log_format, err, err_len) ||
        read_string(root, "log_file", cfg->log_file, sizeof cfg->log_file, err, err_len))
        goto out;
    rc = 0;
out:
    json_decref(root);
    return rc;
}
