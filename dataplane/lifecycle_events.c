/* Client life-cycle events in the broker (lifecycle_events.h). */
#include "lifecycle_events.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker.h"
#include "cloud_event.h"
#include "event_audit.h"
#include "log.h"
#include "mqtt_topic.h"
#include "realm.h"
#include "session.h"
#include "snapshot/ns_policy.h"
#include "strmap.h"
#include "worker.h"

struct lifecycle_events {
    bool publish;
    event_audit *audit; /* owned; NULL: no audit file */
    /* The session events' sequenceNumber: one counter for the broker, so each session's
     * events increase (shared by all sessions: numbers of one session have gaps). It starts
     * at the start time in microseconds, so numbers keep increasing across restarts. */
    _Atomic uint64_t next_sequence;
};

lifecycle_events *lifecycle_events_new(const events_config *cfg, bool *failed)
{
    *failed = false;
    if (!cfg->publish && !cfg->audit_file[0])
        return NULL;
    lifecycle_events *ev = calloc(1, sizeof *ev);
    if (!ev || (cfg->audit_file[0] && !(ev->audit = event_audit_open(cfg->audit_file)))) {
        log_msg(LOG_ERROR, "events", "cannot open the events audit file %s: %s", cfg->audit_file,
                ev ? strerror(errno) : "out of memory");
        free(ev);
        *failed = true;
        return NULL;
    }
    ev->publish = cfg->publish;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    atomic_init(&ev->next_sequence, (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u);
    return ev;
}

void lifecycle_events_reopen(lifecycle_events *ev)
{
    if (ev && ev->audit && !event_audit_reopen(ev->audit))
        log_msg(LOG_ERROR, "events",
                "SIGHUP: cannot reopen the events audit file, still writing the old one: %s",
                strerror(errno));
}

void lifecycle_events_free(lifecycle_events *ev)
{
    if (!ev)
        return;
    event_audit_close(ev->audit);
    free(ev);
}

/* "$events/namespaces/{ns}/clients/{name}", or "$events/clients/{name}" in open mode. NULL when
 * out of memory or when the name does not make a valid topic (a '+' or '#' in it): the event
 * is then audited only. */
static char *topic_for(const char *ns, const char *name)
{
    size_t n = strlen("$events/namespaces//clients/") + strlen(ns) + strlen(name) + 1;
    char *topic = malloc(n);
    if (!topic)
        return NULL;
    if (ns[0])
        snprintf(topic, n, "$events/namespaces/%s/clients/%s", ns, name);
    else
        snprintf(topic, n, "$events/clients/%s", name);
    mqtt_bytes t = mqtt_bytes_from_cstr(topic);
    if (t.len > UINT16_MAX || mqtt_topic_name_check(t) != 0) {
        log_msg(LOG_DEBUG, "events", "not published: \"%s\" is not a topic name", topic);
        free(topic);
        return NULL;
    }
    return topic;
}

/* Whether an event in realm `r` goes anywhere: the audit file, or a subscriber that may
 * want it. Building one costs a JSON document and a random id per connect and close. */
static bool wanted(const lifecycle_events *ev, const realm *r)
{
    return ev &&
           (ev->audit || (ev->publish && atomic_load_explicit(&r->events_subs, memory_order_relaxed) > 0));
}

/* Audits `event` (taken: freed here) and returns it as a message on the topic of `name` in
 * realm `r`, or NULL when not published (not configured, nobody subscribed, not a topic, out of
 * memory). */
static broker_msg *finish(lifecycle_events *ev, const realm *r, const char *name, json_t *event)
{
    const char *ns = r->name;
    if (!event) {
        log_msg(LOG_ERROR, "events", "out of memory building an event namespace=%s client=%s", ns, name);
        return NULL;
    }
    if (ev->audit)
        event_audit_append(ev->audit, event);
    bool publish = ev->publish && atomic_load_explicit(&r->events_subs, memory_order_relaxed) > 0;
    char *topic = publish ? topic_for(ns, name) : NULL;
    char *payload = topic ? json_dumps(event, JSON_COMPACT) : NULL;
    broker_msg *m = NULL;
    if (payload) {
        static const char content_type[] = "application/cloudevents+json";
        mqtt_properties props = {
            .present =
                MQTT_PROP_BIT(MQTT_PROP_PAYLOAD_FORMAT_INDICATOR) | MQTT_PROP_BIT(MQTT_PROP_CONTENT_TYPE),
            .payload_format_indicator = 1,
            .content_type = {(const uint8_t *)content_type, sizeof content_type - 1},
        };
        /* QoS 1: a monitoring client with a persistent session gets what happened while it was
         * away, within its queue limits, as Event Grid delivers system events at least once. */
        m = broker_msg_new_raw(mqtt_bytes_from_cstr(topic), mqtt_bytes_from_cstr(payload), 1, false, &props,
                               0, broker_now_ms());
    }
    if (topic && !m)
        log_msg(LOG_ERROR, "events", "out of memory publishing event type=%s client=%s",
                cloud_event_type(event), name);
    free(payload);
    free(topic);
    json_decref(event);
    return m;
}

/* The session's authentication name; in open mode, where there is none, its client id. */
static const char *auth_name_of(const session *s)
{
    return s->auth_name && s->auth_name[0] ? s->auth_name : s->client_id;
}

static broker_msg *session_event(const session *s, const char *reason)
{
    lifecycle_events *ev = s->broker->events;
    if (!wanted(ev, s->realm))
        return NULL;
    uint64_t seq = atomic_fetch_add_explicit(&ev->next_sequence, 1, memory_order_relaxed);
    const char *auth = auth_name_of(s);
    return finish(ev, s->realm, auth, cloud_event_session(s->realm->name, auth, s->client_id, seq, reason));
}

bool lifecycle_topic_reserved(mqtt_bytes topic)
{
    static const char root[] = "$events";
    size_t n = sizeof root - 1;
    return topic.len >= n && memcmp(topic.data, root, n) == 0 && (topic.len == n || topic.data[n] == '/');
}

void lifecycle_publish(worker *w, realm *r, broker_msg *m)
{
    if (!m)
        return;
    /* At shutdown the event is in the audit file only: the subscribers are going too. */
    if (!w->broker->shutting_down)
        broker_publish(w, r, m, NULL, NULL);
    broker_msg_unref(m);
}

void lifecycle_session_connected(session *s)
{
    lifecycle_publish(s->worker, s->realm, session_event(s, NULL));
}

broker_msg *lifecycle_session_disconnected(const session *s, disconnect_reason why)
{
    return session_event(s, disconnect_reason_name(why));
}

/* ---- client events derived from snapshots */

/* A client's attributes as the REST API shows them (NULL when out of memory). */
static json_t *attributes_json(const client_view *v)
{
    json_t *obj = json_object();
    for (size_t i = 0; obj && i < v->n_attrs; i++) {
        const client_attr *a = &v->attrs[i];
        json_t *val = NULL;
        if (a->type == CLIENT_ATTR_STRING)
            val = json_string(a->str);
        else if (a->type == CLIENT_ATTR_INT)
            val = json_integer(a->num);
        else if ((val = json_array()))
            for (size_t k = 0; k < a->n_items; k++)
                if (json_array_append_new(val, json_string(a->items[k])) != 0) {
                    json_decref(val);
                    val = NULL;
                    break;
                }
        if (json_object_set_new(obj, a->key, val) != 0) {
            json_decref(obj);
            obj = NULL;
        }
    }
    return obj;
}

static bool same_attr(const client_attr *a, const client_attr *b)
{
    if (!b || a->type != b->type)
        return false;
    if (a->type == CLIENT_ATTR_STRING)
        return strcmp(a->str, b->str) == 0;
    if (a->type == CLIENT_ATTR_INT)
        return a->num == b->num;
    if (a->n_items != b->n_items)
        return false;
    for (size_t k = 0; k < a->n_items; k++)
        if (strcmp(a->items[k], b->items[k]) != 0)
            return false;
    return true;
}

/* Whether what an event tells of the client changed (snapshots carry no modification time). */
static bool client_changed(const ns_client *before, const ns_client *now)
{
    if (!ns_client_same_identity(before, now) || ns_client_enabled(before) != ns_client_enabled(now))
        return true;
    client_view a = ns_client_view(before), b = ns_client_view(now);
    if (a.n_attrs != b.n_attrs)
        return true;
    for (size_t i = 0; i < a.n_attrs; i++)
        if (!same_attr(&a.attrs[i], client_view_find_attr(&b, a.attrs[i].key, strlen(a.attrs[i].key))))
            return true;
    return false;
}

static void client_event(broker *b, realm *r, const ns_client *c, bool deleted)
{
    client_view v = ns_client_view(c);
    json_t *attrs = deleted ? NULL : attributes_json(&v);
    cloud_event_client_info info = {.name = ns_client_name(c),
                                    .auth_name = ns_client_auth_name(c),
                                    .state = ns_client_enabled(c) ? "Enabled" : "Disabled",
                                    .attributes = attrs};
    json_t *event = cloud_event_client(r->name, &info, deleted);
    json_decref(attrs);
    log_msg(LOG_INFO, "events", "client %s namespace=%s client=%s",
            deleted ? "deleted" : "created or updated", r->name, info.name);
    /* Acting for worker 0 (parked): its order is kept to every other worker. */
    lifecycle_publish(b->workers[0], r, finish(b->events, r, info.name, event));
}

/* Its clients by resource name (NULL when out of memory): the caller frees it. */
static strmap *clients_by_name(const struct ns_policy *p)
{
    strmap *m = strmap_new();
    for (size_t i = 0, n = ns_policy_client_count(p); m && i < n; i++) {
        const ns_client *c = ns_policy_client_at(p, i);
        if (strmap_put(m, ns_client_name(c), strlen(ns_client_name(c)), (void *)c) != 0) {
            strmap_free(m);
            m = NULL;
        }
    }
    return m;
}

void lifecycle_client_changes(broker *b, realm *r, const struct ns_policy *old, const struct ns_policy *now)
{
    if (!b->events || !old || ns_policy_deleted(now))
        return;
    strmap *old_names = clients_by_name(old), *new_names = clients_by_name(now);
    if (!old_names || !new_names) {
        log_msg(LOG_ERROR, "events", "out of memory: no client events for snapshot version %llu namespace=%s",
                (unsigned long long)ns_policy_version(now), r->name);
    } else {
        for (size_t i = 0, n = ns_policy_client_count(now); i < n; i++) {
            const ns_client *c = ns_policy_client_at(now, i);
            const ns_client *before = strmap_get(old_names, ns_client_name(c), strlen(ns_client_name(c)));
            if (!before || client_changed(before, c))
                client_event(b, r, c, false);
        }
        for (size_t i = 0, n = ns_policy_client_count(old); i < n; i++) {
            const ns_client *c = ns_policy_client_at(old, i);
            if (!strmap_get(new_names, ns_client_name(c), strlen(ns_client_name(c))))
                client_event(b, r, c, true);
        }
    }
    strmap_free(old_names);
    strmap_free(new_names);
}
