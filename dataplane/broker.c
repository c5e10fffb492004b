/* The broker instance and message routing. */
#include "broker.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authorizer.h"
#include "conn.h"
#include "enforcer.h"
#include "log.h"
#include "realm.h"
#include "retain_store.h"
#include "session.h"
#include "session_store.h"
#include "sub_tree.h"
#include "worker.h"

int64_t broker_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

broker *broker_new(struct event_base *base, const broker_config *cfg)
{
    broker *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->base = base;
    b->config = *cfg;
    b->auth = authorizer_open();
    b->store = session_store_none();
    int n = cfg->served_count ? cfg->served_count : 1;
    int workers = cfg->workers ? (int)cfg->workers : 1;
    if (!(b->realms = calloc((size_t)n, sizeof *b->realms)) ||
        !(b->workers = calloc((size_t)workers, sizeof *b->workers))) {
        broker_free(b);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        if (!(b->realms[i] = realm_new(b, cfg->served_count ? cfg->served[i] : "", i))) {
            broker_free(b);
            return NULL;
        }
        b->realm_count++;
    }
    for (int i = 0; i < workers; i++) {
        if (!(b->workers[i] = worker_new(b, i, base))) {
            broker_free(b);
            return NULL;
        }
        b->worker_count++;
    }
    return b;
}

/* Closes every connection of every worker (conn_close may free the connection at once). */
static void close_all(broker *b, bool now)
{
    for (int i = 0; i < b->worker_count; i++) {
        worker *w = b->workers[i];
        conn_adopt_moved(w); /* connections on their way to it close with the others */
        for (conn *c = w->conns, *next; c; c = next) {
            next = c->next;
            conn_close(c, MQTT_RC_SERVER_SHUTTING_DOWN, true, "server shutting down");
        }
        while (now && w->conns) /* still flushing their DISCONNECT: let them go now */
            conn_free_now(w->conns);
    }
}

void broker_shutdown(broker *b)
{
    b->shutting_down = true;
    close_all(b, false);
}

void broker_free(broker *b)
{
    if (!b)
        return;
    b->shutting_down = true;
    close_all(b, true);
    /* Written and closed before the sessions go: freeing them is not deleting them. */
    if (b->store)
        b->store->close(b->store->ctx);
    b->store = session_store_none();
    for (int i = 0; i < b->worker_count; i++)
        worker_destroy_sessions(b->workers[i]);
    for (int i = 0; i < b->worker_count; i++)
        worker_free(b->workers[i]);
    free(b->workers);
    for (int i = 0; i < b->realm_count; i++)
        realm_free(b->realms[i]);
    free(b->realms);
    enforcer_free(b->enforcer); /* after the sessions: they release their permissions through it */
    free(b);
}

void broker_stats_total(const broker *b, broker_stats *out)
{
    /* The counters are 64-bit fields summed field by field: the struct is all uint64_t. */
    uint64_t *sum = (uint64_t *)out;
    size_t fields = sizeof *out / sizeof(uint64_t);
    memset(out, 0, sizeof *out);
    for (int i = 0; i < b->worker_count; i++) {
        const uint64_t *one = (const uint64_t *)&b->workers[i]->stats;
        for (size_t f = 0; f < fields; f++)
            sum[f] += one[f];
    }
}

void broker_store_committed(broker *b, uint64_t seq)
{
    for (int i = 0; i < b->worker_count; i++)
        conn_release_committed(b->workers[i], seq);
}

bool broker_has_connections(const broker *b)
{
    for (int i = 0; i < b->worker_count; i++)
        if (b->workers[i]->conns)
            return true;
    return false;
}

/* One recipient of a message, merged over all its matching subscriptions. */
typedef struct route_target {
    session *session;
    uint8_t qos;
    bool retain;
    bool plain;             /* at least one non-shared subscription matched */
    mqtt_bytes share_group; /* a shared group that chose this session */
    uint16_t sub_id_count;
    uint32_t
        sub_ids[8]; /* matching subscription identifiers; more than 8 overlapping ones are not reported */
} route_target;

/* Targets a routing holds without allocating: most PUBLISHes reach fewer. */
#define ROUTE_INLINE_TARGETS 16

typedef struct route {
    broker_msg *msg;
    uint64_t gen;
    route_target *targets; /* `inline_targets`, or owned once it outgrew them */
    uint32_t count, cap;
    route_target inline_targets[ROUTE_INLINE_TARGETS];
    bool oom;
    bool congested; /* a recipient is congested: the publisher should pause */
    /* Redelivery of a shared message: only this group, never back to `exclude`. */
    mqtt_bytes only_group;
    const session *exclude;
} route;

/* A routing of `m`; the inline targets are left uninitialised (a routing writes each before use). */
static void route_init(route *r, broker_msg *m, mqtt_bytes only_group, const session *exclude)
{
    r->msg = m;
    r->gen = 0;
    r->targets = NULL;
    r->count = r->cap = 0;
    r->oom = r->congested = false;
    r->only_group = only_group;
    r->exclude = exclude;
}

static bool session_eligible(void *ctx, void *subscriber)
{
    const route *r = ctx;
    const session *s = subscriber;
    return s->conn != NULL && s != r->exclude;
}

static route_target *target_for(route *r, session *s)
{
    if (s->match_gen == r->gen)
        return &r->targets[s->match_index];
    if (!r->targets) {
        r->targets = r->inline_targets;
        r->cap = ROUTE_INLINE_TARGETS;
    }
    if (r->count == r->cap) {
        uint32_t cap = r->cap * 2;
        route_target *grown = malloc(cap * sizeof *grown);
        if (!grown) {
            r->oom = true;
            return NULL;
        }
        memcpy(grown, r->targets, r->count * sizeof *grown);
        if (r->targets != r->inline_targets)
            free(r->targets);
        r->targets = grown;
        r->cap = cap;
    }
    s->match_gen = r->gen;
    s->match_index = r->count;
    route_target *t = &r->targets[r->count++];
    memset(t, 0, sizeof *t);
    t->session = s;
    return t;
}

static bool same_bytes(mqtt_bytes a, mqtt_bytes b)
{
    return a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
}

static void route_add(void *ctx, void *subscriber, uint8_t options, uint32_t subscription_id,
                      const mqtt_bytes *share_group)
{
    route *r = ctx;
    session *s = subscriber;
    uint8_t granted = options & 0x03;
    bool no_local = options & 0x04, retain_as_published = options & 0x08;
    if (r->only_group.len && (!share_group || !same_bytes(*share_group, r->only_group) || s == r->exclude))
        return;
    if (no_local && !share_group && r->msg->origin == s->id)
        return;
    route_target *t = target_for(r, s);
    if (!t)
        return;
    if (share_group)
        t->share_group = *share_group;
    else
        t->plain = true;
    /* Overlapping subscriptions: highest QoS, all identifiers [MQTT-3.3.4-3..5]. */
    if (granted > t->qos)
        t->qos = granted;
    if (retain_as_published && r->msg->retain)
        t->retain = true;
    if (subscription_id && t->sub_id_count < sizeof t->sub_ids / sizeof t->sub_ids[0])
        t->sub_ids[t->sub_id_count++] = subscription_id;
}

static int route_message(realm *rl, route *r)
{
    broker_msg *m = r->msg;
    /* Every worker's tree holds the subscriptions of its own sessions. */
    for (int i = 0; i < rl->broker->worker_count; i++) {
        worker *w = rl->broker->workers[i];
        r->gen = worker_next_id(w, &w->route_gen);
        sub_tree_match(worker_realm_of(w, rl->index)->subs, m->topic, session_eligible, route_add, r);
    }
    /* Shared groups: a member matched here is a second target even when its session also has
     * a matching ordinary subscription, which MQTT allows (two copies, MQTT 5 4.8.2). */
    r->gen = (++rl->shared_route_gen << WORKER_ID_BITS) | WORKER_SHARED_PASS;
    sub_tree_match(rl->shared, m->topic, session_eligible, route_add, r);
    if (r->oom)
        log_msg(LOG_ERROR, "route", "out of memory routing topic=%.*s: some subscribers missed it",
                (int)m->topic.len, (const char *)m->topic.data);
    for (uint32_t i = 0; i < r->count; i++) {
        route_target *t = &r->targets[i];
        delivery_spec spec = {
            .qos = m->qos < t->qos ? m->qos : t->qos,
            .retain = t->retain,
            .sub_ids = t->sub_ids,
            .sub_id_count = t->sub_id_count,
            .share_group = t->plain ? (mqtt_bytes){0} : t->share_group,
        };
        r->congested |= session_deliver(t->session, m, &spec);
    }
    if (r->targets != r->inline_targets)
        free(r->targets);
    return (int)r->count;
}

int broker_publish(realm *rl, broker_msg *m, bool *congested)
{
    broker *b = rl->broker;
    if (m->retain) {
        bool too_big = m->payload.len > b->config.limits.max_retained_size;
        if (too_big)
            log_msg(LOG_WARN, "retain", "retained message not kept topic=%.*s size=%u limit=%u",
                    (int)m->topic.len, (const char *)m->topic.data, m->payload.len,
                    b->config.limits.max_retained_size);
        else if (retain_store_set(rl->retained, m->topic, m->payload.len ? m : NULL) < 0)
            log_msg(LOG_ERROR, "retain", "out of memory storing retained topic=%.*s", (int)m->topic.len,
                    (const char *)m->topic.data);
        else
            b->store->retained_saved(b->store->ctx, rl, m->topic, m->payload.len ? m : NULL);
    }
    route r;
    route_init(&r, m, (mqtt_bytes){0}, NULL);
    int n = route_message(rl, &r);
    if (congested)
        *congested = r.congested;
    return n;
}

void broker_redeliver_shared(realm *rl, broker_msg *m, mqtt_bytes group, struct session *from)
{
    route r;
    route_init(&r, m, group, from);
    if (route_message(rl, &r) == 0)
        log_msg(LOG_INFO, "route", "shared message kept by no member group=%.*s topic=%.*s", (int)group.len,
                (const char *)group.data, (int)m->topic.len, (const char *)m->topic.data);
}
