/* The broker instance and message routing. */
#include "broker.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authorizer.h"
#include "conn.h"
#include "enforcer.h"
#include "lifecycle_events.h"
#include "log.h"
#include "realm.h"
#include "retain_store.h"
#include "session.h"
#include "session_store.h"
#include "sub_tree.h"
#include "worker.h"
#include "worker_mail.h"

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
    b->threaded = workers > 1;
    pthread_mutex_init(&b->world_mu, NULL); /* default attributes: cannot fail on Linux */
    pthread_cond_init(&b->world_cv, NULL);
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
        b->realms[i]->eventgrid_compat = config_compatibility_of(cfg, b->realms[i]->name) == COMPAT_EVENTGRID;
        b->realm_count++;
    }
    for (int i = 0; i < workers; i++) {
        if (!(b->workers[i] = worker_new(b, i, b->threaded ? NULL : base))) {
            broker_free(b);
            return NULL;
        }
        b->worker_count++;
    }
    bool events_failed;
    b->events = lifecycle_events_new(&cfg->events, &events_failed);
    if (worker_mail_setup(b) != 0 || events_failed) {
        broker_free(b);
        return NULL;
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
    broker_world_stop(b);
    b->shutting_down = true;
    close_all(b, false);
    broker_world_resume(b);
}

void broker_free(broker *b)
{
    if (!b)
        return;
    broker_join_workers(b); /* from here on, this thread is every worker */
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
    lifecycle_events_free(b->events);
    pthread_mutex_destroy(&b->world_mu);
    pthread_cond_destroy(&b->world_cv);
    free(b);
}

/* Counter structs are all uint64_t fields: summed field by field. */
static void add_counters(void *sum, const void *part, size_t size)
{
    uint64_t *to = sum;
    const uint64_t *from = part;
    for (size_t f = 0; f < size / sizeof(uint64_t); f++)
        to[f] += from[f];
}

void broker_stats_total(const broker *b, broker_stats *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < b->worker_count; i++)
        add_counters(out, &b->workers[i]->stats, sizeof *out);
}

void broker_ns_stats_total(const broker *b, int realm_index, ns_stats *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < b->worker_count; i++)
        add_counters(out, &worker_realm_of(b->workers[i], realm_index)->stats, sizeof *out);
}

void broker_store_committed(broker *b, uint64_t seq)
{
    for (int i = 0; i < b->worker_count; i++) {
        worker *w = b->workers[i];
        if (w->base == b->base) /* this thread's: released now */
            conn_release_committed(w, seq);
        else /* the worker looks at its held acks on its own thread */
            worker_mail_poke(w);
    }
}

bool broker_has_connections(broker *b)
{
    bool any = false;
    broker_world_stop(b);
    for (int i = 0; i < b->worker_count && !any; i++)
        any = b->workers[i]->conns != NULL;
    broker_world_resume(b);
    return any;
}

/* One recipient of a message on this worker, merged over all its matching subscriptions. */
typedef struct route_target {
    session *session;
    uint8_t qos;
    bool retain;
    uint16_t sub_id_count;
    uint32_t
        sub_ids[8]; /* matching subscription identifiers; more than 8 overlapping ones are not reported */
} route_target;

/* A member a shared group picked (any worker's session), merged over its groups that matched. */
typedef struct shared_target {
    shared_member *member; /* one reference */
    uint8_t qos;
    bool retain;
    uint16_t sub_id_count;
    uint32_t sub_ids[8];
    char *group; /* owned copy: the tree's name is valid under its lock only */
} shared_target;

/* Targets a routing holds without allocating: most PUBLISHes reach fewer. */
#define ROUTE_INLINE_TARGETS 16

typedef struct route {
    broker_msg *msg;
    worker *worker; /* the one routing (its tree, its sessions) */
    uint64_t gen;
    route_target *targets; /* `inline_targets`, or owned once it outgrew them */
    uint32_t count, cap;
    route_target inline_targets[ROUTE_INLINE_TARGETS];
    shared_target *shared; /* owned */
    uint32_t shared_count, shared_cap;
    bool oom;
    bool congested; /* a recipient is congested: the publisher should pause */
    /* Redelivery of a shared message: only this group, never back to `exclude`. */
    mqtt_bytes only_group;
    const shared_member *exclude;
} route;

/* A routing of `m` on worker `w`; the inline targets are left uninitialised (a routing writes
 * each before use). */
static void route_init(route *r, worker *w, broker_msg *m, mqtt_bytes only_group,
                       const shared_member *exclude)
{
    r->msg = m;
    r->worker = w;
    r->gen = 0;
    r->targets = NULL;
    r->count = r->cap = 0;
    r->shared = NULL;
    r->shared_count = r->shared_cap = 0;
    r->oom = r->congested = false;
    r->only_group = only_group;
    r->exclude = exclude;
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

/* Overlapping subscriptions: highest QoS, all identifiers [MQTT-3.3.4-3..5]. */
static void merge_options(const broker_msg *m, uint8_t options, uint32_t subscription_id, uint8_t *qos,
                          bool *retain, uint32_t *sub_ids, uint16_t *sub_id_count)
{
    uint8_t granted = options & 0x03;
    if (granted > *qos)
        *qos = granted;
    if ((options & 0x08) && m->retain) /* Retain As Published */
        *retain = true;
    if (subscription_id && *sub_id_count < 8)
        sub_ids[(*sub_id_count)++] = subscription_id;
}

/* A subscription of this worker's tree (ordinary: shared ones are in the realm's). */
static void route_add(void *ctx, void *subscriber, uint8_t options, uint32_t subscription_id,
                      const mqtt_bytes *share_group)
{
    (void)share_group;
    route *r = ctx;
    session *s = subscriber;
    if ((options & 0x04) && r->msg->origin == s->id) /* No Local */
        return;
    route_target *t = target_for(r, s);
    if (t)
        merge_options(r->msg, options, subscription_id, &t->qos, &t->retain, t->sub_ids, &t->sub_id_count);
}

static bool member_eligible(void *ctx, void *subscriber)
{
    const route *r = ctx;
    const shared_member *m = subscriber;
    return m != r->exclude && atomic_load_explicit(&m->connected, memory_order_relaxed);
}

/* A member a group of the realm's shared tree picked (under its lock). */
static void route_add_shared(void *ctx, void *subscriber, uint8_t options, uint32_t subscription_id,
                             const mqtt_bytes *share_group)
{
    route *r = ctx;
    shared_member *m = subscriber;
    if (!share_group || m == r->exclude || (r->only_group.len && !same_bytes(*share_group, r->only_group)))
        return;
    shared_target *t;
    if (m->match_gen == r->gen) {
        t = &r->shared[m->match_index];
    } else {
        if (r->shared_count == r->shared_cap) {
            uint32_t cap = r->shared_cap ? r->shared_cap * 2 : 4;
            shared_target *grown = realloc(r->shared, cap * sizeof *grown);
            if (!grown) {
                r->oom = true;
                return;
            }
            r->shared = grown;
            r->shared_cap = cap;
        }
        m->match_gen = r->gen;
        m->match_index = r->shared_count;
        t = &r->shared[r->shared_count++];
        memset(t, 0, sizeof *t);
        t->member = shared_member_ref(m);
    }
    char *group = malloc(share_group->len + 1);
    if (!group) {
        r->oom = true;
    } else {
        memcpy(group, share_group->data, share_group->len);
        group[share_group->len] = '\0';
        free(t->group);
        t->group = group;
    }
    merge_options(r->msg, options, subscription_id, &t->qos, &t->retain, t->sub_ids, &t->sub_id_count);
}

static uint8_t delivered_qos(const broker_msg *m, uint8_t granted)
{
    return m->qos < granted ? m->qos : granted;
}

/* Delivers to this worker's matching sessions. Returns how many. */
static uint32_t route_local(realm *rl, route *r)
{
    worker *w = r->worker;
    worker_realm *wr = worker_realm_of(w, rl->index);
    if (atomic_load_explicit(&wr->plain_subs, memory_order_relaxed) == 0)
        return 0;
    r->gen = worker_next_id(w, &w->route_gen);
    sub_tree_match(wr->subs, r->msg->topic, NULL, route_add, r);
    for (uint32_t i = 0; i < r->count; i++) {
        route_target *t = &r->targets[i];
        delivery_spec spec = {.qos = delivered_qos(r->msg, t->qos),
                              .retain = t->retain,
                              .sub_ids = t->sub_ids,
                              .sub_id_count = t->sub_id_count};
        r->congested |= session_deliver(t->session, r->msg, &spec);
    }
    uint32_t n = r->count;
    if (r->targets != r->inline_targets)
        free(r->targets);
    r->targets = NULL;
    r->count = r->cap = 0;
    return n;
}

/* On the member's home worker: the member's session takes the message, or, gone meanwhile,
 * another member of the group does. */
static bool deliver_to_member(worker *w, realm *rl, shared_member *member, broker_msg *m,
                              const delivery_spec *spec)
{
    if (member->session)
        return session_deliver(member->session, m, spec);
    broker_redeliver_shared(w, rl, m, spec->share_group, member);
    return false;
}

/* Whether mail of this routing carries the publisher's ack gate: its ack waits for the
 * commit of every worker's writes (sync persistence, QoS 1/2). */
static bool needs_gate(const route *r, const conn *publisher)
{
    return publisher && r->msg->qos > 0 && r->worker->broker->store->acks_wait_for_commit;
}

/* Hands `mail` to worker `to`, with its ack gate when it needs one. */
static void post_mail(route *r, worker *to, worker_mail *mail, conn *publisher)
{
    ack_gate *gate = needs_gate(r, publisher) ? conn_gate(publisher) : NULL;
    if (gate)
        mail->gate = ack_gate_expect(gate);
    worker_mail_post(r->worker, to, mail);
}

/* The realm's shared groups: each picks a member, delivered here when it is this worker's,
 * else mailed to its home. Returns how many members. */
static uint32_t route_shared(realm *rl, route *r, conn *publisher)
{
    if (atomic_load_explicit(&rl->shared_count, memory_order_relaxed) == 0)
        return 0;
    pthread_mutex_lock(&rl->shared_mu);
    r->gen = (++rl->shared_route_gen << WORKER_ID_BITS) | WORKER_SHARED_PASS;
    sub_tree_match(rl->shared, r->msg->topic, member_eligible, route_add_shared, r);
    pthread_mutex_unlock(&rl->shared_mu);
    uint32_t n = r->shared_count;
    for (uint32_t i = 0; i < n; i++) {
        shared_target *t = &r->shared[i];
        mqtt_bytes group = {(const uint8_t *)(t->group ? t->group : ""),
                            t->group ? (uint32_t)strlen(t->group) : 0};
        if (t->member->home == r->worker) {
            delivery_spec spec = {.qos = delivered_qos(r->msg, t->qos),
                                  .retain = t->retain,
                                  .sub_ids = t->sub_ids,
                                  .sub_id_count = t->sub_id_count,
                                  .share_group = group};
            r->congested |= deliver_to_member(r->worker, rl, t->member, r->msg, &spec);
        } else {
            worker_mail *mail = worker_mail_new(MAIL_SHARED, rl->index, r->msg, group.len);
            if (!mail) {
                r->oom = true;
            } else {
                mail->member = t->member;
                t->member = NULL; /* the mail's reference now */
                mail->qos = delivered_qos(r->msg, t->qos);
                mail->retain = t->retain;
                mail->sub_id_count = t->sub_id_count;
                memcpy(mail->sub_ids, t->sub_ids, sizeof mail->sub_ids);
                memcpy(mail->group, group.data, group.len);
                mail->group[group.len] = '\0';
                post_mail(r, mail->member->home, mail, publisher);
            }
        }
        shared_member_unref(t->member);
        free(t->group);
    }
    free(r->shared);
    r->shared = NULL;
    r->shared_count = r->shared_cap = 0;
    return n;
}

/* Every other worker with subscriptions in the realm gets the message by mail. Returns how many. */
static uint32_t broadcast(realm *rl, route *r, conn *publisher)
{
    broker *b = rl->broker;
    uint32_t sent = 0;
    for (int i = 0; i < b->worker_count; i++) {
        worker *to = b->workers[i];
        if (to == r->worker ||
            atomic_load_explicit(&worker_realm_of(to, rl->index)->plain_subs, memory_order_relaxed) == 0)
            continue;
        sent++;
        if (!needs_gate(r, publisher)) { /* the common case: the message itself, no allocation */
            worker_mail_post_message(r->worker, to, broker_msg_ref(r->msg));
            continue;
        }
        worker_mail *mail = worker_mail_new(MAIL_BROADCAST, rl->index, r->msg, 0);
        if (!mail) {
            r->oom = true;
            continue;
        }
        post_mail(r, to, mail, publisher);
    }
    return sent;
}

static void log_oom(const route *r)
{
    if (r->oom)
        log_msg(LOG_ERROR, "route", "out of memory routing topic=%.*s: some subscribers missed it",
                (int)r->msg->topic.len, (const char *)r->msg->topic.data);
}

/* Keeps `m` as its topic's retained message. False (nothing kept, logged) when it would add one
 * beyond the namespace's quota (retained_per_throughput_unit per throughput unit); replacing
 * or deleting one is always allowed. */
static bool store_retained(realm *rl, broker_msg *m)
{
    broker *b = rl->broker;
    if (m->payload.len > b->config.limits.max_retained_size) {
        log_msg(LOG_WARN, "retain", "retained message not kept topic=%.*s size=%u limit=%u",
                (int)m->topic.len, (const char *)m->topic.data, m->payload.len,
                b->config.limits.max_retained_size);
        return true;
    }
    uint32_t quota = realm_quota(rl, b->config.limits.retained_per_throughput_unit);
    bool room = true;
    /* The store's write under the same lock: the last retained message in memory is the last on disk.
     * The quota's count and check too: two workers cannot both take the last place. */
    pthread_mutex_lock(&rl->retained_mu);
    if (quota && m->payload.len && retain_store_count(rl->retained) >= quota &&
        !retain_store_contains(rl->retained, m->topic))
        room = false;
    else if (retain_store_set(rl->retained, m->topic, m->payload.len ? m : NULL) < 0)
        log_msg(LOG_ERROR, "retain", "out of memory storing retained topic=%.*s", (int)m->topic.len,
                (const char *)m->topic.data);
    else
        b->store->retained_saved(b->store->ctx, rl, m->topic, m->payload.len ? m : NULL);
    pthread_mutex_unlock(&rl->retained_mu);
    if (!room)
        log_msg(LOG_INFO, "quota", "retained message refused namespace=%s topic=%.*s quota=%u: %s", rl->name,
                (int)m->topic.len, (const char *)m->topic.data, quota,
                "the namespace has its maximum number of retained messages");
    return room;
}

int broker_publish(worker *w, realm *rl, broker_msg *m, conn *publisher, bool *congested)
{
    m->realm_index = (uint16_t)rl->index;
    publisher_brake *brake = publisher && !m->brake ? conn_brake(publisher) : NULL;
    if (brake)
        m->brake = publisher_brake_ref(brake);
    if (m->retain && !store_retained(rl, m)) {
        worker_ns_stats(w, rl)->throttled[THROTTLE_RETAINED_LIMIT]++;
        return BROKER_RETAINED_QUOTA_EXCEEDED;
    }
    route r;
    route_init(&r, w, m, (mqtt_bytes){0}, NULL);
    uint32_t n = route_local(rl, &r);
    n += route_shared(rl, &r, publisher);
    n += broadcast(rl, &r, publisher);
    log_oom(&r);
    if (congested)
        *congested = r.congested;
    return (int)n;
}

void broker_redeliver_shared(worker *w, realm *rl, broker_msg *m, mqtt_bytes group, const shared_member *from)
{
    route r;
    route_init(&r, w, m, group, from);
    uint32_t n = route_shared(rl, &r, NULL);
    log_oom(&r);
    if (n == 0)
        log_msg(LOG_INFO, "route", "shared message kept by no member group=%.*s topic=%.*s", (int)group.len,
                (const char *)group.data, (int)m->topic.len, (const char *)m->topic.data);
}

/* Mail reached a congested subscriber here: the publisher pauses at its next PUBLISH. */
static void pull_brake(worker *w, const broker_msg *m, bool congested)
{
    if (congested)
        publisher_brake_pull(m->brake, atomic_load_explicit(&w->broker->resume_gen, memory_order_relaxed));
}

/* A message another worker published, to this worker's subscriptions in its realm. */
static bool deliver_broadcast(worker *w, broker_msg *m)
{
    route r;
    route_init(&r, w, m, (mqtt_bytes){0}, NULL);
    route_local(w->broker->realms[m->realm_index], &r);
    log_oom(&r);
    return r.congested;
}

void broker_deliver_message(worker *w, broker_msg *m)
{
    pull_brake(w, m, deliver_broadcast(w, m));
}

void broker_deliver_mail(worker *w, worker_mail *mail)
{
    realm *rl = w->broker->realms[mail->realm_index];
    bool congested;
    if (mail->kind == MAIL_BROADCAST) {
        congested = deliver_broadcast(w, mail->msg);
    } else {
        delivery_spec spec = {.qos = mail->qos,
                              .retain = mail->retain,
                              .sub_ids = mail->sub_ids,
                              .sub_id_count = mail->sub_id_count,
                              .share_group = {(const uint8_t *)mail->group, (uint32_t)strlen(mail->group)}};
        congested = deliver_to_member(w, rl, mail->member, mail->msg, &spec);
    }
    pull_brake(w, mail->msg, congested);
}
