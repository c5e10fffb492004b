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
    if (!(b->realms = calloc((size_t)n, sizeof *b->realms))) {
        free(b);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        if (!(b->realms[i] = realm_new(b, cfg->served_count ? cfg->served[i] : "", i))) {
            broker_free(b);
            return NULL;
        }
        b->realm_count++;
    }
    return b;
}

void broker_shutdown(broker *b)
{
    b->shutting_down = true;
    for (conn *c = b->conns, *next; c; c = next) {
        next = c->next; /* conn_close may free c at once */
        conn_close(c, MQTT_RC_SERVER_SHUTTING_DOWN, true, "server shutting down");
    }
}

void broker_free(broker *b)
{
    if (!b)
        return;
    b->shutting_down = true;
    while (b->conns) {
        conn *c = b->conns;
        conn_close(c, MQTT_RC_SERVER_SHUTTING_DOWN, true, "server shutting down");
        if (b->conns == c) /* still flushing its DISCONNECT: let it go now */
            conn_free_now(c);
    }
    /* Written and closed before the sessions go: freeing them is not deleting them. */
    b->store->close(b->store->ctx);
    if (b->group_commit)
        event_free(b->group_commit);
    b->store = session_store_none();
    for (int i = 0; i < b->realm_count; i++)
        realm_destroy_sessions(b->realms[i]);
    for (int i = 0; i < b->realm_count; i++)
        realm_free(b->realms[i]);
    free(b->realms);
    enforcer_free(b->enforcer); /* after the sessions: they release their permissions through it */
    free(b);
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

typedef struct route {
    broker_msg *msg;
    uint64_t gen;
    route_target *targets;
    uint32_t count, cap;
    bool oom;
    bool congested; /* a recipient is congested: the publisher should pause */
    /* Redelivery of a shared message: only this group, never back to `exclude`. */
    mqtt_bytes only_group;
    const session *exclude;
} route;

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
    if (r->count == r->cap) {
        uint32_t cap = r->cap ? r->cap * 2 : 16;
        route_target *grown = realloc(r->targets, cap * sizeof *grown);
        if (!grown) {
            r->oom = true;
            return NULL;
        }
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
    r->gen = ++rl->broker->route_gen;
    sub_tree_match(rl->subs, m->topic, session_eligible, route_add, r);
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
    route r = {.msg = m};
    int n = route_message(rl, &r);
    if (congested)
        *congested = r.congested;
    return n;
}

void broker_redeliver_shared(realm *rl, broker_msg *m, mqtt_bytes group, struct session *from)
{
    route r = {.msg = m, .only_group = group, .exclude = from};
    if (route_message(rl, &r) == 0)
        log_msg(LOG_INFO, "route", "shared message kept by no member group=%.*s topic=%.*s", (int)group.len,
                (const char *)group.data, (int)m->topic.len, (const char *)m->topic.data);
}
