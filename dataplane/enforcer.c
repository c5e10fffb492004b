/* Snapshot enforcement (enforcer.h). Decisions are made against the applied
 * ns_policy; each session holds the client_perms compiled for its client, so
 * a PUBLISH check is a walk of that session's filter trie. A new snapshot is
 * validated whole, saved, then applied to every session in one loop turn. */
#include "enforcer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "authorizer.h"
#include "broker.h"
#include "broker_metrics.h"
#include "conn.h"
#include "enforcer_identity.h"
#include "file_util.h"
#include "lifecycle_events.h"
#include "log.h"
#include "prom_text.h"
#include "realm.h"
#include "session.h"
#include "snapshot/client_perms.h"
#include "snapshot/ns_policy.h"
#include "strmap.h"
#include "worker.h"

/* Why a CONNECT was refused, for the metrics. */
enum deny_reason {
    DENY_NO_SNAPSHOT,
    DENY_NAMESPACE_DISABLED,
    DENY_WRONG_NAMESPACE,
    DENY_NO_AUTH_NAME,
    DENY_UNKNOWN_CLIENT,
    DENY_CLIENT_DISABLED,
    DENY_CERTIFICATE,
    DENY_SESSION_OWNER,
    DENY_SESSION_LIMIT,
    DENY_COUNT
};

static const char *const deny_names[DENY_COUNT] = {
    "no_snapshot",     "namespace_disabled", "wrong_namespace",    "no_authentication_name", "unknown_client",
    "client_disabled", "certificate",        "session_name_taken", "session_limit",
};

/* The enforcement state of one served namespace (its realm has the same index). */
typedef struct ns_state {
    broker *b;
    realm *realm;
    ns_policy *policy; /* applied (owned); NULL until the first snapshot */
    char applied_at[32];
    time_t applied_time; /* when applied_at was taken (snapshot age) */
    const char *source;  /* "push" or "file" */
    char last_error[256];
    char path[512]; /* where the last good snapshot is saved; "" without a data directory */
    /* Counted by any worker, hence atomic; the others only while the workers are parked. */
    _Atomic uint64_t connect_denied[DENY_COUNT];
    _Atomic uint64_t publish_denied, subscribe_denied;
    uint64_t subscriptions_revoked, disconnected;
    uint64_t snapshots_applied, snapshots_refused;
} ns_state;

struct enforcer {
    broker *b;
    authorizer auth; /* b->auth points here */
    ns_state *ns;    /* one per realm of the broker, same index (owned) */
    int ns_count;
};

static const char *ns_name(const ns_state *e)
{
    return e->realm->name;
}

static ns_state *state_of(void *ctx, const realm *r)
{
    return &((enforcer *)ctx)->ns[r->index];
}

static uint8_t deny(ns_state *e, const conn *c, enum deny_reason r, uint8_t code, const char *why,
                    const char **why_out, const char *name)
{
    atomic_fetch_add_explicit(&e->connect_denied[r], 1, memory_order_relaxed); /* any worker */
    *why_out = why;
    log_msg(LOG_INFO, "auth", "connect denied namespace=%s conn=%llu peer=%s auth_name=\"%s\" reason=%s: %s",
            ns_name(e), (unsigned long long)c->id, c->peer, name ? name : "", deny_names[r], why);
    return code;
}

/* Whether `held` (the session of the CONNECT's client id) is connected under `auth_name`: the
 * new connection takes it over, so it does not count against the limit. */
static bool takes_over(const session *held, const char *auth_name)
{
    return held && held->conn && held->conn->state == CONN_ACTIVE && held->auth_name &&
           strcasecmp(held->auth_name, auth_name) == 0;
}

static uint8_t enforcer_connect(void *ctx, conn *c, const mqtt_connect *in, mqtt_bytes client_id,
                                auth_grant *grant, const char **why)
{
    /* The namespace: the one SNI "{namespace}.{sni_domain}" names, else the listener's. */
    realm *r = c->realm;
    if (!realm_select_by_sni(c->broker, conn_tls_server_name(c), &r))
        return deny(state_of(ctx, c->realm), c, DENY_WRONG_NAMESPACE, MQTT_RC_NOT_AUTHORIZED,
                    "the TLS server name names a namespace this broker does not serve", why, NULL);
    c->realm = r;
    ns_state *e = state_of(ctx, r);
    const ns_policy *p = e->policy;
    if (!p || ns_policy_deleted(p))
        return deny(e, c, DENY_NO_SNAPSHOT, MQTT_RC_SERVER_UNAVAILABLE,
                    "the namespace is not configured on this broker (no snapshot from the control plane)",
                    why, NULL);
    if (!ns_policy_settings(p)->enabled)
        return deny(e, c, DENY_NAMESPACE_DISABLED, MQTT_RC_SERVER_UNAVAILABLE,
                    "the namespace's MQTT is disabled", why, NULL);
    X509 *cert = conn_peer_certificate(c);
    char name[256];
    const ns_client *client = identity_find_client(p, in, cert, name, sizeof name);
    if (!name[0])
        return deny(e, c, DENY_NO_AUTH_NAME, MQTT_RC_BAD_USER_NAME_OR_PASSWORD,
                    "no authentication name: set the Username (or a certificate field the namespace accepts)",
                    why, NULL);
    if (!client)
        return deny(e, c, DENY_UNKNOWN_CLIENT, MQTT_RC_BAD_USER_NAME_OR_PASSWORD,
                    "no client has this authentication name", why, name);
    if (!ns_client_enabled(client))
        return deny(e, c, DENY_CLIENT_DISABLED, MQTT_RC_NOT_AUTHORIZED, "the client is disabled", why, name);
    /* Plain listeners (development) take the Username at its word; TLS ones check the certificate. */
    const char *cert_why = NULL;
    if (c->tls && !identity_check_certificate(p, client, cert, conn_peer_chain(c), &cert_why))
        return deny(e, c, DENY_CERTIFICATE, MQTT_RC_BAD_USER_NAME_OR_PASSWORD, cert_why, why, name);
    const char *auth_name = ns_client_auth_name(client);
    const session *held = session_find(e->realm, client_id);
    if (held && held->auth_name && held->auth_name[0] && strcasecmp(held->auth_name, auth_name) != 0)
        return deny(e, c, DENY_SESSION_OWNER, MQTT_RC_NOT_AUTHORIZED,
                    "the client identifier is a session of another authentication name", why, name);
    const ns_settings *st = ns_policy_settings(p);
    grant->perms = client_perms_build(p, client);
    if (!grant->perms) {
        *why = "out of memory";
        return MQTT_RC_SERVER_UNAVAILABLE;
    }
    /* Last: the place it takes is given back if the CONNECT fails after this. */
    if (!realm_reserve_auth_session(e->realm, auth_name, st->max_sessions_per_auth_name,
                                    takes_over(held, auth_name))) {
        client_perms_free(grant->perms);
        grant->perms = NULL;
        return deny(e, c, DENY_SESSION_LIMIT, MQTT_RC_QUOTA_EXCEEDED,
                    "the authentication name has its maximum number of sessions", why, name);
    }
    grant->counted = true;
    snprintf(grant->auth_name, sizeof grant->auth_name, "%s", auth_name);
    grant->max_session_expiry = st->max_session_expiry_hours * 3600;
    log_msg(LOG_DEBUG, "auth",
            "connect allowed namespace=%s auth_name=\"%s\" publish_filters=%zu subscribe_filters=%zu",
            ns_name(e), auth_name, client_perms_count(grant->perms, true),
            client_perms_count(grant->perms, false));
    return 0;
}

static bool enforcer_can_publish(void *ctx, const session *s, mqtt_bytes topic)
{
    ns_state *e = state_of(ctx, s->realm);
    bool ok = s->auth_perms && client_perms_can_publish(s->auth_perms, (const char *)topic.data, topic.len);
    if (!ok)
        e->publish_denied++;
    /* Denials are also logged at info by the caller, with the packet's context. */
    log_msg(LOG_DEBUG, "auth", "publish %s namespace=%s client=%s auth_name=\"%s\" topic=%.*s",
            ok ? "allowed" : "denied", ns_name(e), s->client_id, s->auth_name ? s->auth_name : "",
            (int)topic.len, (const char *)topic.data);
    return ok;
}

static bool enforcer_can_subscribe(void *ctx, const session *s, mqtt_bytes filter)
{
    ns_state *e = state_of(ctx, s->realm);
    bool ok =
        s->auth_perms && client_perms_can_subscribe(s->auth_perms, (const char *)filter.data, filter.len);
    if (!ok)
        e->subscribe_denied++;
    log_msg(LOG_DEBUG, "auth", "subscribe %s namespace=%s client=%s auth_name=\"%s\" filter=%.*s",
            ok ? "allowed" : "denied", ns_name(e), s->client_id, s->auth_name ? s->auth_name : "",
            (int)filter.len, (const char *)filter.data);
    return ok;
}

static void enforcer_release(void *ctx, void *perms)
{
    (void)ctx;
    client_perms_free(perms);
}

/* ---- applying a snapshot to live sessions */

static void collect_session(void *ctx, const void *key, size_t len, void *value)
{
    (void)key, (void)len;
    session ***cursor = ctx;
    *(*cursor)++ = value;
}

/* Ends a session whose client the control plane removed or disabled: its
 * connection gets DISCONNECT 0x98 and nothing of it survives. `as`: the Event Grid
 * disconnection reason its connection ends with. */
static void end_session_as(ns_state *e, session *s, disconnect_reason as, const char *why)
{
    char *id = strndup(s->client_id, s->client_id_len);
    if (!id)
        return;
    mqtt_bytes key = {(const uint8_t *)id, s->client_id_len};
    log_msg(LOG_INFO, "auth", "session ended namespace=%s client=%s auth_name=\"%s\": %s", ns_name(e), id,
            s->auth_name ? s->auth_name : "", why);
    /* Nothing of the client's outlives it, its will included: no permissions left. */
    client_perms_free(s->auth_perms);
    s->auth_perms = NULL;
    if (s->conn) {
        e->disconnected++;
        conn_close_as(s->conn, MQTT_RC_ADMINISTRATIVE_ACTION, as, true, why);
    }
    session *still = session_find(e->realm, key); /* conn_close destroys sessions without expiry */
    if (still)
        session_destroy(still);
    free(id);
}

/* Drops the subscriptions the new permissions no longer cover. */
static void revoke_subscriptions(ns_state *e, session *s, const client_perms *perms)
{
    for (uint32_t i = s->sub_count; i-- > 0;) {
        session_sub *sub = &s->subs[i];
        if (client_perms_can_subscribe(perms, sub->filter, sub->filter_len))
            continue;
        e->subscriptions_revoked++;
        log_msg(LOG_INFO, "auth", "subscription revoked namespace=%s client=%s filter=%s", ns_name(e),
                s->client_id, sub->filter);
        session_unsubscribe(s, (mqtt_bytes){(const uint8_t *)sub->filter, sub->filter_len});
    }
}

static bool still_receivable(void *ctx, const broker_msg *m)
{
    return client_perms_can_receive(ctx, (const char *)m->topic.data, m->topic.len);
}

/* The client itself was removed, disabled or no longer proves who it is. */
static void end_session(ns_state *e, session *s, const char *why)
{
    end_session_as(e, s, DISC_CLIENT_AUTHENTICATION_ERROR, why);
}

static void apply_to_session(ns_state *e, session *s, const ns_policy *old)
{
    const ns_policy *p = e->policy;
    if (!s->auth_name || !s->auth_name[0])
        return; /* from before enforcement */
    if (ns_policy_deleted(p))
        return end_session_as(e, s, DISC_SERVER_INITIATED, "the namespace was deleted");
    if (!ns_policy_settings(p)->enabled)
        return end_session_as(e, s, DISC_SERVER_INITIATED, "the namespace's MQTT was disabled");
    const ns_client *client = ns_policy_find_client(p, s->auth_name, strlen(s->auth_name));
    if (!client)
        return end_session(e, s, "the client was deleted");
    if (!ns_client_enabled(client))
        return end_session(e, s, "the client was disabled");
    const ns_client *before = old ? ns_policy_find_client(old, s->auth_name, strlen(s->auth_name)) : NULL;
    const char *why = NULL;
    /* A connected client's certificate is judged again when its identity or the CAs changed. */
    bool recheck = !before || !ns_client_same_identity(before, client) ||
                   (ns_client_scheme(client) != NS_SCHEME_THUMBPRINT && !ns_policy_same_cas(old, p));
    if (s->conn && s->conn->tls && recheck &&
        !identity_check_certificate(p, client, conn_peer_certificate(s->conn), conn_peer_chain(s->conn),
                                    &why))
        return end_session(e, s, why);
    client_perms *perms = client_perms_build(p, client);
    if (!perms)
        return end_session_as(e, s, DISC_SERVER_ERROR, "out of memory");
    if (!s->auth_perms || !client_perms_equal(s->auth_perms, perms)) {
        revoke_subscriptions(e, s, perms);
        /* Delivery stops at once: what was queued under the old permissions is not sent. */
        uint32_t dropped = session_drop_queued(s, still_receivable, perms);
        if (dropped)
            log_msg(LOG_INFO, "auth", "dropped %u queued messages client=%s: no longer permitted", dropped,
                    s->client_id);
    }
    client_perms_free(s->auth_perms);
    s->auth_perms = perms;
}

static void apply_to_sessions(ns_state *e, const ns_policy *old)
{
    size_t n = 0;
    for (int w = 0; w < e->b->worker_count; w++)
        n += strmap_count(worker_realm_of(e->b->workers[w], e->realm->index)->sessions);
    session **all = n ? malloc(n * sizeof *all) : NULL;
    if (n && !all) {
        log_msg(LOG_ERROR, "auth", "out of memory applying a snapshot to %zu sessions", n);
        return;
    }
    session **cursor = all;
    for (int w = 0; w < e->b->worker_count; w++)
        strmap_foreach(worker_realm_of(e->b->workers[w], e->realm->index)->sessions, collect_session,
                       &cursor);
    /* Ending one session never ends another, so the collected pointers stay valid. */
    for (size_t i = 0; i < n; i++)
        apply_to_session(e, all[i], old);
    free(all);
}

/* ---- persistence of the last good snapshot */

static bool save_snapshot(const ns_state *e, const char *json, size_t len)
{
    if (!e->path[0])
        return true;
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", e->path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    bool ok = fd >= 0;
    for (size_t off = 0; ok && off < len;) {
        ssize_t w = write(fd, json + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        ok = w > 0;
        off += ok ? (size_t)w : 0;
    }
    /* fsync before rename: after a crash the file is the old or the new snapshot, never a torn one. */
    ok = ok && fsync(fd) == 0;
    if (fd >= 0)
        ok = close(fd) == 0 && ok;
    ok = ok && rename(tmp, e->path) == 0;
    if (!ok) {
        log_msg(LOG_WARN, "auth", "cannot save the snapshot to %s: %s", e->path, strerror(errno));
        unlink(tmp);
    }
    return ok;
}

static void now_utc(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "a", "b", ...: the namespaces served, for messages. */
static void served_list(const enforcer *en, char *out, size_t len)
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < en->ns_count && n < len; i++)
        n += (size_t)snprintf(out + n, len - n, "%s\"%s\"", i ? ", " : "", ns_name(&en->ns[i]));
}

/* Validates and applies to the namespace the snapshot names (`only`: that namespace or refused;
 * NULL: any namespace served); `source` is "push" or "file". */
static int apply(enforcer *en, ns_state *only, const char *json, size_t len, const char *source,
                 uint64_t *version, char *err, size_t err_len)
{
    ns_state *e = only ? only : &en->ns[0]; /* a refused snapshot with no namespace of ours counts here */
    ns_policy *p = ns_policy_parse(json, len, err, err_len);
    if (p) {
        ns_state *target = NULL;
        for (int i = 0; i < en->ns_count && !target; i++)
            if (strcmp(ns_policy_namespace(p), ns_name(&en->ns[i])) == 0)
                target = &en->ns[i];
        if (!target || (only && target != only)) {
            char served[512];
            served_list(en, served, sizeof served);
            snprintf(err, err_len, "the snapshot is for namespace \"%s\"; this broker serves %s",
                     ns_policy_namespace(p), only ? ns_name(only) : served);
            ns_policy_free(p);
            p = NULL; /* refused below, counted against the first namespace like an unreadable one */
        } else {
            e = target;
        }
    }
    if (!p) {
        e->snapshots_refused++;
        snprintf(e->last_error, sizeof e->last_error, "%s", err);
        log_msg(LOG_WARN, "auth", "snapshot refused namespace=%s source=%s: %s", ns_name(e), source, err);
        return -1;
    }
    if (e->policy && ns_policy_version(p) <= ns_policy_version(e->policy)) {
        *version = ns_policy_version(e->policy);
        ns_policy_free(p);
        return 0; /* already applied (a retry), or older than what we have */
    }
    if (strcmp(source, "push") == 0)
        save_snapshot(e, json, len);
    ns_policy *old = e->policy;
    e->policy = p;
    /* The quotas follow (existing sessions and retained messages are kept over a lowered one). */
    atomic_store_explicit(&e->realm->throughput_units, (uint32_t)ns_policy_settings(p)->throughput_units,
                          memory_order_relaxed);
    apply_to_sessions(e, old);
    lifecycle_client_changes(e->b, e->realm, old, p);
    ns_policy_free(old);
    e->snapshots_applied++;
    e->source = source;
    e->last_error[0] = '\0';
    now_utc(e->applied_at);
    e->applied_time = time(NULL);
    *version = ns_policy_version(p);
    log_msg(LOG_INFO, "auth", "snapshot applied namespace=%s version=%llu source=%s", ns_name(e),
            (unsigned long long)*version, source);
    return 0;
}

static int apply_pushed(void *ctx, const char *json, size_t len, uint64_t *version, char *err, size_t err_len)
{
    return apply(ctx, NULL, json, len, "push", version, err, err_len);
}

static void load_saved(enforcer *en, ns_state *e)
{
    if (!e->path[0])
        return;
    size_t len;
    char *buf = file_read_all(e->path, &len);
    if (!buf)
        return;
    char err[256];
    uint64_t version;
    if (apply(en, e, buf, len, "file", &version, err, sizeof err) != 0)
        log_msg(LOG_WARN, "auth", "the saved snapshot %s is not usable: %s", e->path, err);
    free(buf);
}

enforcer *enforcer_new(broker *b)
{
    enforcer *en = calloc(1, sizeof *en);
    if (!en || !(en->ns = calloc((size_t)b->realm_count, sizeof *en->ns))) {
        free(en);
        return NULL;
    }
    en->b = b;
    en->ns_count = b->realm_count;
    en->auth =
        (authorizer){en, enforcer_connect, enforcer_can_publish, enforcer_can_subscribe, enforcer_release};
    if (b->config.data_dir[0])
        mkdir(b->config.data_dir, 0755);
    for (int i = 0; i < en->ns_count; i++) {
        ns_state *e = &en->ns[i];
        e->b = b;
        e->realm = b->realms[i];
        e->source = "none";
        if (b->config.data_dir[0])
            snprintf(e->path, sizeof e->path, "%s/snapshot-%s.json", b->config.data_dir, ns_name(e));
    }
    b->auth = &en->auth;
    b->enforcer = en;
    for (int i = 0; i < en->ns_count; i++)
        load_saved(en, &en->ns[i]);
    return en;
}

void enforcer_free(enforcer *en)
{
    if (!en)
        return;
    for (int i = 0; i < en->ns_count; i++)
        ns_policy_free(en->ns[i].policy);
    free(en->ns);
    free(en);
}

static json_t *ns_status(const ns_state *e)
{
    return json_pack("{s:s, s:I, s:s?, s:s, s:s?}", "namespace", ns_name(e), "appliedVersion",
                     (json_int_t)(e->policy ? ns_policy_version(e->policy) : 0), "appliedAt",
                     e->applied_at[0] ? e->applied_at : NULL, "source", e->source, "lastError",
                     e->last_error[0] ? e->last_error : NULL);
}

/* The first (top-level) namespace's fields, and "namespaces": every one's. */
static json_t *status(void *ctx)
{
    enforcer *en = ctx;
    json_t *doc = ns_status(&en->ns[0]), *list = json_array();
    for (int i = 0; doc && list && i < en->ns_count; i++)
        if (json_array_append_new(list, ns_status(&en->ns[i])) != 0) {
            json_decref(list);
            list = NULL;
        }
    if (!doc || !list || json_object_set_new(doc, "namespaces", list) != 0) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* The enforcement families: one HELP/TYPE pair each, then a sample per namespace. */
static void write_metrics(void *ctx, FILE *out)
{
    enforcer *en = ctx;
    int n = en->ns_count;
    metric_label *ns = calloc((size_t)n, sizeof *ns);
    if (!ns) {
        log_msg(LOG_ERROR, "metrics", "%s", "out of memory: the enforcement metrics are left out");
        broker_metrics_write(en->b, out);
        return;
    }
    for (int i = 0; i < n; i++)
        ns[i] = metric_label_of(ns_name(&en->ns[i]));
    prom_family(out, BROKER_METRIC_PREFIX, "snapshot_version", "gauge",
                "Version of the snapshot applied (0: none yet).");
    for (int i = 0; i < n; i++)
        fprintf(out, BROKER_METRIC_PREFIX "snapshot_version{namespace=\"%s\"} %llu\n", ns[i].text,
                (unsigned long long)(en->ns[i].policy ? ns_policy_version(en->ns[i].policy) : 0));
    prom_family(out, BROKER_METRIC_PREFIX, "snapshot_age_seconds", "gauge",
                "Seconds since the applied snapshot was applied (no sample before the first).");
    time_t now = time(NULL);
    for (int i = 0; i < n; i++)
        if (en->ns[i].policy)
            fprintf(out, BROKER_METRIC_PREFIX "snapshot_age_seconds{namespace=\"%s\"} %lld\n", ns[i].text,
                    (long long)(now - en->ns[i].applied_time));
    prom_family(out, BROKER_METRIC_PREFIX, "snapshots_total", "counter",
                "Snapshots received (pushed, or read from the data directory), applied or refused.");
    for (int i = 0; i < n; i++)
        fprintf(out,
                BROKER_METRIC_PREFIX
                "snapshots_total{namespace=\"%s\",result=\"applied\"} %llu\n" BROKER_METRIC_PREFIX
                "snapshots_total{namespace=\"%s\",result=\"refused\"} %llu\n",
                ns[i].text, (unsigned long long)en->ns[i].snapshots_applied, ns[i].text,
                (unsigned long long)en->ns[i].snapshots_refused);
    prom_family(out, BROKER_METRIC_PREFIX, "connect_denied_total", "counter", "CONNECTs refused, by reason.");
    for (int i = 0; i < n; i++)
        for (int r = 0; r < DENY_COUNT; r++)
            fprintf(out, BROKER_METRIC_PREFIX "connect_denied_total{namespace=\"%s\",reason=\"%s\"} %llu\n",
                    ns[i].text, deny_names[r], (unsigned long long)en->ns[i].connect_denied[r]);
    static const char *const simple[][2] = {
        {"publish_denied_total", "PUBLISHes (wills too) the permissions deny (not authorized, 0x87)."},
        {"subscribe_denied_total", "Topic filters of SUBSCRIBE the permissions deny (not authorized, 0x87)."},
        {"subscriptions_revoked_total",
         "Subscriptions removed because a new snapshot no longer allows them."},
        {"admin_disconnects_total",
         "Connections closed because a new snapshot removed or disabled their client."},
    };
    for (size_t f = 0; f < sizeof simple / sizeof simple[0]; f++) {
        prom_family(out, BROKER_METRIC_PREFIX, simple[f][0], "counter", simple[f][1]);
        for (int i = 0; i < n; i++) {
            const ns_state *e = &en->ns[i];
            uint64_t values[] = {e->publish_denied, e->subscribe_denied, e->subscriptions_revoked,
                                 e->disconnected};
            fprintf(out, BROKER_METRIC_PREFIX "%s{namespace=\"%s\"} %llu\n", simple[f][0], ns[i].text,
                    (unsigned long long)values[f]);
        }
    }
    free(ns);
    broker_metrics_write(en->b, out);
}

/* ---- the admin endpoint's callbacks (main thread): the workers are parked meanwhile, since
 * these read or change their sessions and counters (and the policy a CONNECT reads). */

int enforcer_apply(void *ctx, const char *json, size_t len, uint64_t *version, char *err, size_t err_len)
{
    broker *b = ((enforcer *)ctx)->b;
    broker_world_stop(b);
    int rc = apply_pushed(ctx, json, len, version, err, err_len);
    broker_world_resume(b);
    return rc;
}

json_t *enforcer_status(void *ctx)
{
    broker *b = ((enforcer *)ctx)->b;
    broker_world_stop(b);
    json_t *doc = status(ctx);
    broker_world_resume(b);
    return doc;
}

void enforcer_write_metrics(void *ctx, FILE *out)
{
    broker *b = ((enforcer *)ctx)->b;
    broker_world_stop(b);
    write_metrics(ctx, out);
    broker_world_resume(b);
}

json_t *enforcer_missing(void *ctx)
{
    /* The policies change on this (the main) thread only: no need to park the workers. */
    enforcer *en = ctx;
    json_t *missing = json_array();
    for (int i = 0; missing && i < en->ns_count; i++) {
        if (en->ns[i].policy)
            continue;
        char what[96];
        snprintf(what, sizeof what, "snapshot of namespace %s", ns_name(&en->ns[i]));
        if (json_array_append_new(missing, json_string(what)) != 0) {
            json_decref(missing);
            missing = NULL;
        }
    }
    return missing;
}
