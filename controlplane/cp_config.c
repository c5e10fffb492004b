#include "cp_config.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool fail(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return false;
}

static void set_str(char **slot, const char *value)
{
    char *copy = strdup(value);
    if (!copy)
        abort(); /* configuration happens once at start: out of memory there is fatal */
    free(*slot);
    *slot = copy;
}

void cp_config_defaults(cp_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    set_str(&cfg->listen_address, "127.0.0.1");
    cfg->port = 8080;
    set_str(&cfg->database, "var/control.db");
    set_str(&cfg->token_file, "var/control.token");
    set_str(&cfg->hostname_suffix, "localhost");
    set_str(&cfg->log_level, "info");
    set_str(&cfg->log_format, "text");
    cfg->max_body_bytes = 256 * 1024;
    cp_quotas_default(&cfg->quotas);
    cfg->push = (pusher_options){
        .initial_backoff_ms = 200, .max_backoff_ms = 10000, .coalesce_ms = 50, .timeout_ms = 5000};
}

/* Reads the first line of a secret file, without its line end. */
static bool read_token_file(const char *path, char **out, char *err, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return fail(err, len, "cannot read token file %s: %s", path, strerror(errno));
    char line[512];
    bool ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    if (!ok)
        return fail(err, len, "token file %s is empty", path);
    line[strcspn(line, "\r\n")] = '\0';
    if (!line[0])
        return fail(err, len, "token file %s is empty", path);
    set_str(out, line);
    return true;
}

static bool check_keys(json_t *obj, const char *const *keys, const char *where, char *err, size_t len)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        bool known = false;
        for (size_t i = 0; keys[i] && !known; i++)
            known = strcmp(keys[i], key) == 0;
        if (!known)
            return fail(err, len, "unknown key \"%s\" in %s", key, where);
    }
    return true;
}

static bool get_string(json_t *obj, const char *key, char **slot, char *err, size_t len)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return true;
    if (!json_is_string(v))
        return fail(err, len, "\"%s\" must be a string", key);
    set_str(slot, json_string_value(v));
    return true;
}

static bool get_long(json_t *obj, const char *key, long *slot, long min, long max, char *err, size_t len)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return true;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return fail(err, len, "\"%s\" must be an integer from %ld to %ld", key, min, max);
    *slot = (long)json_integer_value(v);
    return true;
}

static bool load_quotas(json_t *q, cp_quotas *out, char *err, size_t len)
{
    static const char *const keys[] = {"namespaces",
                                       "clients",
                                       "clientGroups",
                                       "topicSpaces",
                                       "topicTemplatesPerTopicSpace",
                                       "permissionBindings",
                                       "caCertificates",
                                       NULL};
    if (!json_is_object(q))
        return fail(err, len, "%s", "\"quotas\" must be an object");
    if (!check_keys(q, keys, "quotas", err, len))
        return false;
    long max = 10000000;
    return get_long(q, "namespaces", &out->namespaces, 1, max, err, len) &&
           get_long(q, "clients", &out->clients, 1, max, err, len) &&
           get_long(q, "clientGroups", &out->client_groups, 1, max, err, len) &&
           get_long(q, "topicSpaces", &out->topic_spaces, 1, max, err, len) &&
           get_long(q, "topicTemplatesPerTopicSpace", &out->templates_per_space, 1, max, err, len) &&
           get_long(q, "permissionBindings", &out->permission_bindings, 1, max, err, len) &&
           get_long(q, "caCertificates", &out->ca_certificates, 1, max, err, len);
}

static cp_broker_config *add_broker(cp_config *cfg)
{
    cp_broker_config *b = realloc(cfg->brokers, (cfg->n_brokers + 1) * sizeof *b);
    if (!b)
        abort();
    cfg->brokers = b;
    b = &cfg->brokers[cfg->n_brokers++];
    memset(b, 0, sizeof *b);
    return b;
}

static bool load_broker(cp_config *cfg, json_t *j, char *err, size_t len)
{
    static const char *const keys[] = {"name", "url", "token", "tokenFile", "namespaces", NULL};
    if (!json_is_object(j))
        return fail(err, len, "%s", "each broker must be an object");
    if (!check_keys(j, keys, "a broker", err, len))
        return false;
    cp_broker_config *b = add_broker(cfg);
    char *token_file = NULL;
    bool ok = get_string(j, "name", &b->name, err, len) && get_string(j, "url", &b->url, err, len) &&
              get_string(j, "token", &b->token, err, len) &&
              get_string(j, "tokenFile", &token_file, err, len);
    if (ok && (!b->name || !b->url))
        ok = fail(err, len, "%s", "a broker needs \"name\" and \"url\"");
    if (ok && token_file)
        ok = read_token_file(token_file, &b->token, err, len);
    free(token_file);
    if (ok && !b->token)
        ok = fail(err, len, "broker \"%s\" needs \"token\" or \"tokenFile\"", b->name);
    json_t *ns = json_object_get(j, "namespaces");
    if (ok && ns) {
        if (!json_is_array(ns))
            return fail(err, len, "%s", "broker \"namespaces\" must be an array of names");
        b->namespaces = calloc(json_array_size(ns) + 1, sizeof *b->namespaces);
        if (!b->namespaces)
            abort();
        size_t i;
        json_t *v;
        json_array_foreach(ns, i, v)
        {
            if (!json_is_string(v))
                return fail(err, len, "%s", "broker \"namespaces\" must be an array of names");
            set_str(&b->namespaces[b->n_namespaces++], json_string_value(v));
        }
    }
    return ok;
}

bool cp_config_load_file(cp_config *cfg, const char *path, char *err, size_t len)
{
    static const char *const keys[] = {"listen",   "database",     "tokenFile", "tls",     "hostnameSuffix",
                                       "logLevel", "maxBodyBytes", "quotas",    "brokers", "push",
                                       "events",   "logFormat",    "logFile",   NULL};
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return fail(err, len, "%s:%d: %s", path, jerr.line, jerr.text);
    bool ok = json_is_object(root) || fail(err, len, "%s: the configuration must be a JSON object", path);
    ok = ok && check_keys(root, keys, "the configuration", err, len);
    json_t *listen = json_object_get(root, "listen");
    if (ok && listen) {
        static const char *const lkeys[] = {"address", "port", NULL};
        long port = cfg->port;
        ok = (json_is_object(listen) || fail(err, len, "%s", "\"listen\" must be an object")) &&
             check_keys(listen, lkeys, "listen", err, len) &&
             get_string(listen, "address", &cfg->listen_address, err, len) &&
             get_long(listen, "port", &port, 0, 65535, err, len);
        cfg->port = (int)port;
    }
    json_t *tls = json_object_get(root, "tls");
    if (ok && tls) {
        static const char *const tkeys[] = {"cert", "key", NULL};
        ok = (json_is_object(tls) || fail(err, len, "%s", "\"tls\" must be an object")) &&
             check_keys(tls, tkeys, "tls", err, len) && get_string(tls, "cert", &cfg->tls_cert, err, len) &&
             get_string(tls, "key", &cfg->tls_key, err, len);
    }
    ok = ok && get_string(root, "database", &cfg->database, err, len) &&
         get_string(root, "tokenFile", &cfg->token_file, err, len) &&
         get_string(root, "hostnameSuffix", &cfg->hostname_suffix, err, len) &&
         get_string(root, "logLevel", &cfg->log_level, err, len) &&
         get_string(root, "logFormat", &cfg->log_format, err, len) &&
         get_string(root, "logFile", &cfg->log_file, err, len) &&
         get_long(root, "maxBodyBytes", &cfg->max_body_bytes, 1024, 64L * 1024 * 1024, err, len);
    json_t *quotas = json_object_get(root, "quotas");
    if (ok && quotas)
        ok = load_quotas(quotas, &cfg->quotas, err, len);
    json_t *push = json_object_get(root, "push");
    if (ok && push) {
        static const char *const pkeys[] = {"initialBackoffMs", "maxBackoffMs", "coalesceMs", "timeoutMs",
                                            NULL};
        ok = (json_is_object(push) || fail(err, len, "%s", "\"push\" must be an object")) &&
             check_keys(push, pkeys, "push", err, len) &&
             get_long(push, "initialBackoffMs", &cfg->push.initial_backoff_ms, 1, 3600000, err, len) &&
             get_long(push, "maxBackoffMs", &cfg->push.max_backoff_ms, 1, 3600000, err, len) &&
             get_long(push, "coalesceMs", &cfg->push.coalesce_ms, 0, 60000, err, len) &&
             get_long(push, "timeoutMs", &cfg->push.timeout_ms, 10, 600000, err, len);
    }
    json_t *events = json_object_get(root, "events");
    if (ok && events) {
        static const char *const ekeys[] = {"auditFile", NULL};
        ok = (json_is_object(events) || fail(err, len, "%s", "\"events\" must be an object")) &&
             check_keys(events, ekeys, "events", err, len) &&
             get_string(events, "auditFile", &cfg->events_audit_file, err, len);
    }
    json_t *brokers = json_object_get(root, "brokers");
    if (ok && brokers) {
        ok = json_is_array(brokers) || fail(err, len, "%s", "\"brokers\" must be an array");
        size_t i;
        json_t *b;
        json_array_foreach(brokers, i, b)
        {
            if (ok)
                ok = load_broker(cfg, b, err, len);
        }
    }
    json_decref(root);
    return ok;
}

static bool parse_port(const char *s, int *port)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > 65535)
        return false;
    *port = (int)v;
    return true;
}

bool cp_config_set_flag(cp_config *cfg, const char *flag, const char *value, char *err, size_t len)
{
    if (strcmp(flag, "--listen") == 0) {
        const char *colon = strrchr(value, ':');
        if (!colon || !parse_port(colon + 1, &cfg->port))
            return fail(err, len, "--listen takes ADDRESS:PORT, not \"%s\"", value);
        char addr[256];
        snprintf(addr, sizeof addr, "%.*s", (int)(colon - value), value);
        /* [::1]:8080 */
        if (addr[0] == '[' && addr[strlen(addr) - 1] == ']') {
            memmove(addr, addr + 1, strlen(addr));
            addr[strlen(addr) - 1] = '\0';
        }
        set_str(&cfg->listen_address, addr);
    } else if (strcmp(flag, "-p") == 0 || strcmp(flag, "--port") == 0) {
        if (!parse_port(value, &cfg->port))
            return fail(err, len, "%s takes a port number, not \"%s\"", flag, value);
    } else if (strcmp(flag, "--db") == 0) {
        set_str(&cfg->database, value);
    } else if (strcmp(flag, "--token-file") == 0) {
        set_str(&cfg->token_file, value);
    } else if (strcmp(flag, "--tls-cert") == 0) {
        set_str(&cfg->tls_cert, value);
    } else if (strcmp(flag, "--tls-key") == 0) {
        set_str(&cfg->tls_key, value);
    } else if (strcmp(flag, "--log-level") == 0) {
        set_str(&cfg->log_level, value);
    } else if (strcmp(flag, "--log-format") == 0) {
        set_str(&cfg->log_format, value);
    } else if (strcmp(flag, "--log-file") == 0) {
        set_str(&cfg->log_file, value);
    } else if (strcmp(flag, "--broker") == 0) {
        /* NAME=URL,TOKENFILE */
        const char *eq = strchr(value, '=');
        const char *comma = eq ? strchr(eq, ',') : NULL;
        if (!eq || !comma || eq == value || comma == eq + 1 || !comma[1])
            return fail(err, len, "--broker takes NAME=URL,TOKENFILE, not \"%s\"", value);
        cp_broker_config *b = add_broker(cfg);
        b->name = strndup(value, (size_t)(eq - value));
        b->url = strndup(eq + 1, (size_t)(comma - eq - 1));
        if (!b->name || !b->url)
            abort();
        return read_token_file(comma + 1, &b->token, err, len);
    } else {
        return fail(err, len, "unknown option %s", flag);
    }
    return true;
}

void cp_config_free(cp_config *cfg)
{
    free(cfg->listen_address);
    free(cfg->database);
    free(cfg->token_file);
    free(cfg->tls_cert);
    free(cfg->tls_key);
    free(cfg->hostname_suffix);
    free(cfg->log_level);
    free(cfg->events_audit_file);
    free(cfg->log_format);
    free(cfg->log_file);
    for (size_t i = 0; i < cfg->n_brokers; i++) {
        cp_broker_config *b = &cfg->brokers[i];
        free(b->name);
        free(b->url);
        free(b->token);
        for (size_t j = 0; j < b->n_namespaces; j++)
            free(b->namespaces[j]);
        free(b->namespaces);
    }
    free(cfg->brokers);
    memset(cfg, 0, sizeof *cfg);
}
