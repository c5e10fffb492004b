/* Session state and message delivery to one client. */
#include "session.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "authorizer.h"
#include "conn.h"
#include "flow_control.h"
#include "lifecycle_events.h"
#include "log.h"
#include "realm.h"
#include "session_store.h"
#include "strmap.h"
#include "worker.h"

session *session_find(realm *r, mqtt_bytes client_id)
{
    worker *home = broker_home(r->broker, r, client_id);
    return strmap_get(worker_realm_of(home, r->index)->sessions, client_id.data, client_id.len);
}

session *session_create(realm *r, mqtt_bytes client_id)
{
    broker *b = r->broker;
    session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->client_id = malloc(client_id.len + 1);
    if (!s->client_id) {
        free(s);
        return NULL;
    }
    memcpy(s->client_id, client_id.data, client_id.len);
    s->client_id[client_id.len] = '\0';
    s->client_id_len = client_id.len;
    s->broker = b;
    s->realm = r;
    s->worker = broker_home(b, r, client_id);
    s->id = worker_next_id(s->worker, &s->worker->next_session_id);
    if (strmap_put(worker_realm_of(s->worker, r->index)->sessions, client_id.data, client_id.len, s) != 0) {
        free(s->client_id);
        free(s);
        return NULL;
    }
    return s;
}

void session_save(session *s)
{
    if (s->expiry_interval == 0) {
        /* Persistent once, not any more (resumed with expiry 0): it must not come back after a restart. */
        if (s->stored) {
            s->broker->store->session_deleted(s->broker->store->ctx, s);
            s->stored = false;
        }
        return;
    }
    s->stored = true;
    s->broker->store->session_saved(s->broker->store->ctx, s);
}

static void store_delivery(session *s, const delivery *d)
{
    if (s->expiry_interval > 0)
        s->broker->store->delivery_saved(s->broker->store->ctx, s, d);
}

static void unstore_delivery(session *s, const delivery *d)
{
    if (s->stored)
        s->broker->store->delivery_deleted(s->broker->store->ctx, s, d);
}

static void delivery_free(delivery *d)
{
    broker_msg_unref(d->msg);
    free(d->sub_ids);
    free(d->share_group);
    free(d);
}

static void free_delivery_list(delivery *d)
{
    while (d) {
        delivery *next = d->next;
        delivery_free(d);
        d = next;
    }
}

/* The store keeps the will of a persistent session until it is published or
 * cleared. A broker stopping leaves it there (realm_destroy_sessions clears
 * wills in memory only): the next start publishes what the stop left pending. */
static void store_will(session *s)
{
    if (!s->broker->shutting_down && (s->will ? s->expiry_interval > 0 : s->stored))
        s->broker->store->will_saved(s->broker->store->ctx, s);
}

static void publish_will_now(session *s)
{
    broker_msg *will = s->will;
    s->will = NULL;
    if (s->will_timer)
        evtimer_del(s->will_timer);
    if (!will)
        return;
    const authorizer *auth = s->broker->auth;
    /* A will is a publish of the client that set it, judged by its permissions now. */
    if (lifecycle_topic_reserved(will->topic) || !auth->can_publish(auth->ctx, s, will->topic)) {
        log_msg(LOG_INFO, "auth", "will denied client=%s topic=%.*s", s->client_id, (int)will->topic.len,
                (const char *)will->topic.data);
    } else {
        log_msg(LOG_INFO, "session", "publishing will client=%s topic=%.*s", s->client_id,
                (int)will->topic.len, (const char *)will->topic.data);
        if (s->will_expiry) {
            /* Its lifetime starts now: it is the will's Publication Expiry Interval (MQTT 5,
             * 3.1.3.2.4). Not shared yet (the session holds the one reference), so it may still
             * change; its stored row (no deadline) stays the will's, the deliveries write anew. */
            will->expires_at_ms = broker_now_ms() + (int64_t)s->will_expiry * 1000;
            will->store_id = 0;
        }
        broker_publish(s->worker, s->realm, will, NULL, NULL);
    }
    store_will(s); /* after the publish: the deliveries it stored keep the message's row */
    broker_msg_unref(will);
}

void session_destroy(session *s)
{
    broker *b = s->broker;
    /* A will still waiting for its delay goes out when the session ends [MQTT-3.1.3-9]. */
    publish_will_now(s);
    session_drop_subscriptions(s);
    flow_session_forget(s);
    /* A broker stopping is not the session ending: it stays on disk for the restart, with the
     * writes still pending. A session that ends goes, deliveries included (still listed). */
    if (s->stored)
        (b->shutting_down ? b->store->session_closing : b->store->session_deleted)(b->store->ctx, s);
    free_delivery_list(s->inflight);
    free_delivery_list(s->queue);
    free(s->qos2_pending);
    if (s->expiry_timer)
        event_free(s->expiry_timer);
    if (s->will_timer)
        event_free(s->will_timer);
    strmap_remove(worker_realm_of(s->worker, s->realm->index)->sessions, s->client_id, s->client_id_len);
    b->auth->release(b->auth->ctx, s->auth_perms);
    realm_give_back_session(s->realm);
    free(s->auth_name);
    free(s->client_id);
    free(s);
}

bool session_set_auth(session *s, auth_grant *grant)
{
    const authorizer *auth = s->broker->auth;
    char *name = strdup(grant->auth_name);
    if (!name) {
        auth->release(auth->ctx, grant->perms);
        grant->perms = NULL;
        return false;
    }
    free(s->auth_name);
    s->auth_name = name;
    auth->release(auth->ctx, s->auth_perms);
    s->auth_perms = grant->perms;
    grant->perms = NULL;
    return true;
}

static bool connected(const session *s)
{
    return s->conn && s->conn->state == CONN_ACTIVE;
}

static uint32_t window(const session *s)
{
    uint32_t w = s->broker->config.limits.max_inflight_out;
    if (s->conn && s->conn->client_receive_maximum < w)
        w = s->conn->client_receive_maximum;
    return w;
}

/* Encodes the PUBLISH for one delivery. False if the client cannot take it
 * (bigger than its Maximum Packet Size): the caller drops it for this client. */
static bool send_publish(session *s, const delivery *d, bool dup)
{
    broker_msg *m = d->msg;
    mqtt_packet p = {.type = MQTT_PUBLISH};
    mqtt_publish *pub = &p.u.publish;
    pub->dup = dup;
    pub->qos = d->qos;
    pub->retain = d->retain;
    pub->topic = m->topic;
    pub->packet_id = d->packet_id;
    pub->payload = m->payload;
    pub->props = m->props;
    uint32_t left = broker_msg_remaining_expiry(m, broker_now_ms());
    if (left != UINT32_MAX) {
        pub->props.present |= MQTT_PROP_BIT(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL);
        pub->props.message_expiry_interval = left ? left : 1;
    }
    pub->props.subscription_ids = d->sub_ids;
    pub->props.subscription_id_count = d->sub_id_count;
    if (!conn_send_publish(s->conn, &p, d->msg)) {
        worker_ns_stats(s->worker, s->realm)->dropped[DROP_TOO_LARGE]++;
        log_msg(LOG_INFO, "session", "message dropped for client=%s topic=%.*s reason=too-large-for-client",
                s->client_id, (int)m->topic.len, (const char *)m->topic.data);
        return false;
    }
    ns_stats *st = worker_ns_stats(s->worker, s->realm);
    st->publish_out[d->qos]++;
    st->publish_out_bytes[d->qos] += m->payload.len;
    return true;
}

static bool packet_id_in_use(const session *s, uint16_t id)
{
    for (const delivery *d = s->inflight; d; d = d->next)
        if (d->packet_id == id)
            return true;
    return false;
}

static uint16_t next_packet_id(session *s)
{
    do {
        s->next_packet_id = (uint16_t)(s->next_packet_id + 1);
    } while (s->next_packet_id == 0 || packet_id_in_use(s, s->next_packet_id));
    return s->next_packet_id;
}

static void inflight_append(session *s, delivery *d)
{
    d->next = NULL;
    if (s->inflight_tail)
        s->inflight_tail->next = d;
    else
        s->inflight = d;
    s->inflight_tail = d;
    s->inflight_count++;
}

/* Moves a delivery into the in-flight window and sends it. */
static void start_delivery(session *s, delivery *d)
{
    d->packet_id = next_packet_id(s);
    d->state = DELIVERY_AWAIT_ACK;
    if (!send_publish(s, d, false)) {
        unstore_delivery(s, d);
        delivery_free(d);
        return;
    }
    inflight_append(s, d);
    store_delivery(s, d);
}

static delivery *queue_pop(session *s)
{
    delivery *d = s->queue;
    if (!d)
        return NULL;
    s->queue = d->next;
    if (!s->queue)
        s->queue_tail = NULL;
    s->queue_count--;
    s->queue_bytes -= broker_msg_size(d->msg);
    return d;
}

/* Re-sends, with DUP, messages that were in flight before the reconnect, as
 * the window allows: they count against it already, so only those actually
 * re-sent on this connection are "active". */
static void resend_inflight(session *s)
{
    uint32_t active = s->inflight_count - s->resend_count;
    for (delivery *d = s->inflight; d && s->resend_count && active < window(s) && connected(s); d = d->next) {
        if (!d->resend)
            continue;
        d->resend = false;
        s->resend_count--;
        active++;
        send_publish(s, d, true);
    }
}

void session_flush_queue(session *s)
{
    int64_t now = broker_now_ms();
    resend_inflight(s);
    while (connected(s) && s->queue && s->inflight_count < window(s)) {
        delivery *d = queue_pop(s);
        if (broker_msg_remaining_expiry(d->msg, now) == 0) {
            worker_ns_stats(s->worker, s->realm)->dropped[DROP_EXPIRED]++;
            unstore_delivery(s, d);
            delivery_free(d);
            continue;
        }
        start_delivery(s, d);
    }
    flow_session_backlog_changed(s);
}

/* Session overflow (Event Grid): a disconnected session whose queue passes its
 * limits is terminated. A connected one pauses its publishers at those limits
 * (flow_control.h); the far larger hard bound only guards memory. */
#define CONNECTED_QUEUE_HARD_FACTOR 64
#define QOS0_DROP_FACTOR 4

static bool over_offline_limits(const session *s)
{
    const broker_limits *lim = &s->broker->config.limits;
    return s->queue_count > lim->queue_max_messages || s->queue_bytes > lim->queue_max_bytes;
}

static bool queue_has_room(session *s, const broker_msg *m)
{
    const broker_limits *lim = &s->broker->config.limits;
    /* Connected, the pace of its publishers bounds its queue; stopped, the session limit does. */
    uint64_t factor = connected(s) && !s->stalled ? CONNECTED_QUEUE_HARD_FACTOR : 1;
    return s->queue_count + 1 <= lim->queue_max_messages * factor &&
           s->queue_bytes + broker_msg_size(m) <= lim->queue_max_bytes * factor;
}

static void expiry_timer_cb(evutil_socket_t fd, short what, void *arg);

/* Destroyed from the event loop, not here: the caller may be walking a list
 * of sessions that includes this one. */
static void terminate_overflowed(session *s)
{
    worker_ns_stats(s->worker, s->realm)->sessions_dropped_overflow++;
    log_msg(LOG_WARN, "session", "session terminated client=%s reason=SessionOverflow queued=%u bytes=%llu",
            s->client_id, s->queue_count, (unsigned long long)s->queue_bytes);
    s->overflowed = true;
    if (!s->expiry_timer && !(s->expiry_timer = evtimer_new(s->worker->base, expiry_timer_cb, s)))
        return; /* it will still expire through session_detach's path or at shutdown */
    struct timeval now = {0, 0};
    evtimer_add(s->expiry_timer, &now);
}

static void queue_append(session *s, delivery *d)
{
    d->state = DELIVERY_QUEUED;
    d->next = NULL;
    if (s->queue_tail)
        s->queue_tail->next = d;
    else
        s->queue = d;
    s->queue_tail = d;
    s->queue_count++;
    s->queue_bytes += broker_msg_size(d->msg);
    store_delivery(s, d);
}

static delivery *delivery_new(session *s, broker_msg *m, const delivery_spec *spec)
{
    delivery *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->seq = worker_next_id(s->worker, &s->worker->next_delivery_seq);
    d->msg = broker_msg_ref(m);
    d->qos = spec->qos;
    d->retain = spec->retain;
    if (spec->sub_id_count) {
        d->sub_ids = malloc(spec->sub_id_count * sizeof *d->sub_ids);
        if (!d->sub_ids)
            goto oom;
        memcpy(d->sub_ids, spec->sub_ids, spec->sub_id_count * sizeof *d->sub_ids);
        d->sub_id_count = spec->sub_id_count;
    }
    if (spec->share_group.len &&
        !(d->share_group = strndup((const char *)spec->share_group.data, spec->share_group.len)))
        goto oom;
    return d;
oom:
    delivery_free(d);
    return NULL;
}

bool session_deliver(session *s, broker_msg *m, const delivery_spec *spec)
{
    broker *b = s->broker;
    if (m->expires_at_ms && broker_msg_remaining_expiry(m, broker_now_ms()) == 0) {
        /* Expired before its onward delivery started: deleted for this subscriber [MQTT-3.3.2-5]
         * (a shared message re-offered late, a retained one sent on SUBSCRIBE). */
        worker_ns_stats(s->worker, s->realm)->dropped[DROP_EXPIRED]++;
        return false;
    }
    if (spec->qos == 0) {
        /* QoS 0 is never queued: sent now, or dropped (and counted) for an offline
         * client or one whose output is far past its high-water mark (the publishers
         * feeding it were paused at the mark itself). */
        delivery now = {.msg = m,
                        .retain = spec->retain,
                        .sub_ids = (uint32_t *)spec->sub_ids,
                        .sub_id_count = spec->sub_id_count};
        size_t limit = (s->stalled ? 1 : QOS0_DROP_FACTOR) * (size_t)b->config.limits.output_high_water;
        if (connected(s) && conn_output_pending(s->conn) < limit)
            send_publish(s, &now, false);
        else
            worker_ns_stats(s->worker, s->realm)->dropped[DROP_QOS0_CONGESTED]++;
        return flow_session_backlog_changed(s);
    }
    if (s->overflowed)
        return false;
    if (!queue_has_room(s, m)) {
        if (!connected(s)) {
            terminate_overflowed(s);
        } else if (s->stalled) {
            worker_ns_stats(s->worker, s->realm)->dropped[DROP_QUEUE_FULL]++;
            flow_session_stalled_full(s);
        } else {
            worker_ns_stats(s->worker, s->realm)->dropped[DROP_QUEUE_FULL]++;
            log_msg(LOG_WARN, "session", "message dropped client=%s reason=queue-hard-limit queued=%u",
                    s->client_id, s->queue_count);
        }
        return flow_session_pauses(s);
    }
    delivery *d = delivery_new(s, m, spec);
    if (!d) {
        log_msg(LOG_ERROR, "session", "out of memory queueing for client=%s", s->client_id);
        return false;
    }
    if (connected(s) && !s->queue && s->inflight_count < window(s)) {
        start_delivery(s, d);
        return flow_session_pauses(s);
    }
    queue_append(s, d);
    return flow_session_backlog_changed(s);
}

static delivery *inflight_take(session *s, uint16_t packet_id, uint8_t qos, uint8_t state)
{
    delivery *prev = NULL;
    for (delivery *d = s->inflight; d; prev = d, d = d->next) {
        if (d->packet_id != packet_id || d->qos != qos || d->state != state)
            continue;
        if (prev)
            prev->next = d->next;
        else
            s->inflight = d->next;
        if (s->inflight_tail == d)
            s->inflight_tail = prev;
        s->inflight_count--;
        if (d->resend) {
            d->resend = false;
            s->resend_count--;
        }
        return d;
    }
    return NULL;
}

static void complete_delivery(session *s, delivery *d)
{
    if (!d)
        return; /* unknown or in another state: nothing to complete */
    unstore_delivery(s, d);
    delivery_free(d);
    s->completed++;
    session_flush_queue(s);
}

void session_on_puback(session *s, uint16_t packet_id)
{
    complete_delivery(s, inflight_take(s, packet_id, 1, DELIVERY_AWAIT_ACK));
}

void session_on_pubcomp(session *s, uint16_t packet_id)
{
    complete_delivery(s, inflight_take(s, packet_id, 2, DELIVERY_AWAIT_PUBCOMP));
}

int session_on_pubrec(session *s, uint16_t packet_id, uint8_t reason)
{
    for (delivery *d = s->inflight; d; d = d->next) {
        if (d->packet_id != packet_id || d->qos != 2)
            continue;
        if (reason >= 0x80) { /* the receiver refused it: the flow ends here */
            complete_delivery(s, inflight_take(s, packet_id, 2, d->state));
            return 0;
        }
        d->state = DELIVERY_AWAIT_PUBCOMP;
        store_delivery(s, d);
        return 1;
    }
    return -1;
}

static void send_pubrel(session *s, uint16_t packet_id)
{
    mqtt_packet p = {.type = MQTT_PUBREL};
    p.u.ack.packet_id = packet_id;
    conn_send(s->conn, &p);
}

void session_attach(session *s, struct conn *c)
{
    s->conn = c;
    c->session = s;
    if (s->member)
        atomic_store_explicit(&s->member->connected, true, memory_order_relaxed);
    if (s->expiry_timer)
        evtimer_del(s->expiry_timer);
    session_clear_will(s);
}

void session_resume(session *s)
{
    s->resend_count = 0;
    for (delivery *d = s->inflight; d && connected(s); d = d->next) {
        d->resend = d->state == DELIVERY_AWAIT_ACK;
        s->resend_count += d->resend;
        if (d->state == DELIVERY_AWAIT_PUBCOMP)
            send_pubrel(s, d->packet_id);
    }
    session_flush_queue(s);
}

static int qos2_append(session *s, uint16_t packet_id, bool restored)
{
    if (s->qos2_count == s->qos2_cap) {
        uint32_t cap = s->qos2_cap ? s->qos2_cap * 2 : 8;
        struct qos2_id *grown = realloc(s->qos2_pending, cap * sizeof *grown);
        if (!grown)
            return -1;
        s->qos2_pending = grown;
        s->qos2_cap = cap;
    }
    s->qos2_pending[s->qos2_count++] = (struct qos2_id){packet_id, restored};
    return 1;
}

int session_qos2_restore(session *s, uint16_t packet_id)
{
    return qos2_append(s, packet_id, true);
}

int session_qos2_add(session *s, uint16_t packet_id, bool dup)
{
    for (uint32_t i = 0; i < s->qos2_count; i++) {
        struct qos2_id *q = &s->qos2_pending[i];
        if (q->id != packet_id)
            continue;
        bool fresh = q->restored && !dup; /* the id stays pending, on disk already */
        q->restored = false;
        return fresh ? 1 : 0;
    }
    if (qos2_append(s, packet_id, false) < 0)
        return -1;
    /* A restart must still know the id: a re-sent PUBLISH is not routed twice, and its PUBREL
     * gets PUBCOMP 0x00. */
    if (s->expiry_interval > 0)
        s->broker->store->qos2_saved(s->broker->store->ctx, s, packet_id, true);
    return 1;
}

bool session_qos2_remove(session *s, uint16_t packet_id)
{
    for (uint32_t i = 0; i < s->qos2_count; i++) {
        if (s->qos2_pending[i].id == packet_id) {
            s->qos2_pending[i] = s->qos2_pending[--s->qos2_count];
            if (s->stored)
                s->broker->store->qos2_saved(s->broker->store->ctx, s, packet_id, false);
            return true;
        }
    }
    return false;
}

static void drop_will(session *s)
{
    if (s->will_timer)
        evtimer_del(s->will_timer);
    broker_msg_unref(s->will);
    s->will = NULL;
}

void session_set_will(session *s, broker_msg *will, uint32_t delay, uint32_t expiry)
{
    drop_will(s);
    s->will = will;
    s->will_delay = delay;
    s->will_expiry = expiry;
    store_will(s);
}

void session_clear_will(session *s)
{
    bool had = s->will != NULL;
    drop_will(s);
    if (had)
        store_will(s);
}

static void will_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    publish_will_now(arg);
}

static bool arm_will(session *s, int64_t ms)
{
    if (!s->will_timer && !(s->will_timer = evtimer_new(s->worker->base, will_timer_cb, s)))
        return false;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    return evtimer_add(s->will_timer, &tv) == 0;
}

void session_trigger_will(session *s)
{
    if (!s->will)
        return;
    /* Published after the Will Delay or when the session ends, whichever is first. */
    uint32_t delay = s->will_delay < s->expiry_interval ? s->will_delay : s->expiry_interval;
    if (delay == 0 || !arm_will(s, (int64_t)delay * 1000))
        publish_will_now(s);
}

bool session_restore_will(session *s, broker_msg *will, uint32_t delay, uint32_t expiry, int64_t due_in_ms)
{
    drop_will(s);
    s->will = broker_msg_ref(will);
    s->will_delay = delay;
    s->will_expiry = expiry;
    return arm_will(s, due_in_ms > 0 ? due_in_ms : 0);
}

static void expiry_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    session *s = arg;
    if (s->conn)
        return; /* resumed meanwhile (the timer is also cancelled on attach) */
    if (!s->overflowed) {
        worker_ns_stats(s->worker, s->realm)->sessions_expired++;
        log_msg(LOG_INFO, "session", "session expired client=%s", s->client_id);
    }
    session_destroy(s);
}

/* Unlinks from `list` every delivery that came through a shared subscription
 * and offers it to another member of its group. Returns the new tail. */
static delivery *release_shared(session *s, delivery **list, uint32_t *count)
{
    delivery *tail = NULL, **link = list;
    while (*link) {
        delivery *d = *link;
        if (!d->share_group) {
            tail = d;
            link = &d->next;
            continue;
        }
        *link = d->next;
        (*count)--;
        mqtt_bytes group = {(const uint8_t *)d->share_group, (uint32_t)strlen(d->share_group)};
        broker_redeliver_shared(s->worker, s->realm, d->msg, group, s->member);
        unstore_delivery(s, d);
        delivery_free(d);
    }
    return tail;
}

uint32_t session_drop_queued(session *s, bool (*keep)(void *ctx, const broker_msg *m), void *ctx)
{
    uint32_t dropped = 0;
    delivery **link = &s->queue;
    s->queue_tail = NULL;
    s->queue_bytes = 0;
    while (*link) {
        delivery *d = *link;
        if (keep(ctx, d->msg)) {
            s->queue_tail = d;
            s->queue_bytes += broker_msg_size(d->msg);
            link = &d->next;
            continue;
        }
        *link = d->next;
        s->queue_count--;
        dropped++;
        unstore_delivery(s, d);
        delivery_free(d);
    }
    return dropped;
}

void session_detach(session *s)
{
    s->conn = NULL;
    if (s->member)
        atomic_store_explicit(&s->member->connected, false, memory_order_relaxed);
    flow_session_forget(s);
    if (s->broker->shutting_down)
        return; /* a broker shutdown is not the client's failure: no will, no expiry bookkeeping */
    s->inflight_tail = release_shared(s, &s->inflight, &s->inflight_count);
    uint32_t before = s->queue_count;
    s->queue_tail = release_shared(s, &s->queue, &s->queue_count);
    if (before != s->queue_count) {
        s->queue_bytes = 0;
        for (delivery *d = s->queue; d; d = d->next)
            s->queue_bytes += broker_msg_size(d->msg);
    }
    session_trigger_will(s);
    if (s->expiry_interval > 0 && over_offline_limits(s)) {
        terminate_overflowed(s); /* a slow subscriber's backlog falls back to the offline limits */
        return;
    }
    if (s->expiry_interval == 0) {
        session_destroy(s);
        return;
    }
    session_save(s); /* the store records when it went away: down time counts after a restart */
    if (!session_arm_expiry(s, s->expiry_interval))
        session_destroy(s);
}

bool session_arm_expiry(session *s, uint32_t seconds)
{
    if (!s->expiry_timer && !(s->expiry_timer = evtimer_new(s->worker->base, expiry_timer_cb, s)))
        return false;
    struct timeval tv = {seconds, 0};
    evtimer_add(s->expiry_timer, &tv);
    return true;
}

bool session_restore_delivery(session *s, broker_msg *m, const delivery_spec *spec, uint8_t state,
                              uint16_t packet_id, uint64_t seq, bool inline_msg)
{
    delivery *d = delivery_new(s, m, spec);
    if (!d)
        return false;
    d->seq = seq;
    d->store_written = true; /* it comes from the store: its row exists */
    d->store_inline = inline_msg;
    d->packet_id = packet_id;
    if (state == DELIVERY_QUEUED) {
        queue_append(s, d);
        return true;
    }
    d->state = state;
    inflight_append(s, d);
    if (packet_id > s->next_packet_id)
        s->next_packet_id = packet_id;
    return true;
}
