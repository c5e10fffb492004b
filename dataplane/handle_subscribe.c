/* SUBSCRIBE (filter validation, authorization, options, retained messages) and UNSUBSCRIBE. */
#include <stdlib.h>

#include "authorizer.h"
#include "compat_eventgrid.h"
#include "handlers.h"
#include "log.h"
#include "mqtt_topic.h"
#include "realm.h"
#include "retain_store.h"
#include "session.h"
#include "worker.h"

#define SUBSCRIBED_NEW 0x01
#define SUBSCRIBED_OK 0x02

/* Decides one entry: returns the SUBACK code; *state gets SUBSCRIBED_* bits. */
static uint8_t subscribe_one(conn *c, mqtt_subscription *e, uint32_t sub_id, uint8_t *state)
{
    broker *b = c->broker;
    bool v5 = c->version == MQTT_V5;
    *state = 0;
    if (mqtt_topic_filter_check(e->filter) != 0)
        return v5 ? MQTT_RC_TOPIC_FILTER_INVALID : MQTT_V311_SUBACK_FAILURE;
    if (c->realm->eventgrid_compat) { /* may lower e->qos to 1 */
        uint8_t refusal = compat_eventgrid_subscription(e, v5);
        if (refusal)
            return refusal;
    }
    if (!b->auth->can_subscribe(b->auth->ctx, c->session, e->filter)) {
        log_msg(LOG_INFO, "auth", "subscribe denied client=%s filter=%.*s", c->session->client_id,
                (int)e->filter.len, (const char *)e->filter.data);
        return v5 ? MQTT_RC_NOT_AUTHORIZED : MQTT_V311_SUBACK_FAILURE;
    }
    uint8_t options = e->qos;
    if (v5)
        options |= (uint8_t)((e->no_local ? 0x04 : 0) | (e->retain_as_published ? 0x08 : 0) |
                             e->retain_handling << 4);
    int added = session_subscribe(c->session, e->filter, options, sub_id);
    if (added < 0)
        return v5 ? MQTT_RC_UNSPECIFIED_ERROR : MQTT_V311_SUBACK_FAILURE;
    *state = SUBSCRIBED_OK | (added ? SUBSCRIBED_NEW : 0);
    return e->qos;
}

/* The retained messages a subscription matched, each with a reference: collected under the
 * realm's lock, delivered after it (a delivery may reach the store, or publish a will). */
typedef struct retained_matches {
    broker_msg **msgs; /* owned array of references */
    size_t count, cap;
    bool oom;
} retained_matches;

static void collect_retained(void *ctx, broker_msg *m)
{
    retained_matches *rm = ctx;
    if (rm->count == rm->cap) {
        size_t cap = rm->cap ? rm->cap * 2 : 16;
        broker_msg **grown = realloc(rm->msgs, cap * sizeof *grown);
        if (!grown) {
            rm->oom = true;
            return;
        }
        rm->msgs = grown;
        rm->cap = cap;
    }
    rm->msgs[rm->count++] = broker_msg_ref(m);
}

/* Retain Handling: 0 always, 1 only for a new subscription, 2 never; never to shared subscriptions,
 * nor in Event Grid compatibility (none kept, even from before the mode was set). */
static void deliver_retained(conn *c, const mqtt_subscription *e, uint8_t state, uint32_t sub_id)
{
    if (!(state & SUBSCRIBED_OK) || c->realm->eventgrid_compat || e->retain_handling == 2 ||
        (e->retain_handling == 1 && !(state & SUBSCRIBED_NEW)))
        return;
    mqtt_bytes group, inner;
    if (mqtt_topic_shared_split(e->filter, &group, &inner) != 0)
        return;
    realm *r = c->session->realm;
    retained_matches rm = {0};
    pthread_mutex_lock(&r->retained_mu);
    retain_store_match(r->retained, e->filter, broker_now_ms(), collect_retained, &rm);
    pthread_mutex_unlock(&r->retained_mu);
    if (rm.oom)
        log_msg(LOG_ERROR, "subscribe", "out of memory sending retained messages client=%s filter=%.*s",
                c->session->client_id, (int)e->filter.len, (const char *)e->filter.data);
    for (size_t i = 0; i < rm.count; i++) {
        broker_msg *m = rm.msgs[i];
        /* Retained messages sent because of a subscription keep RETAIN=1 [MQTT-3.3.1-8]. */
        delivery_spec spec = {.qos = m->qos < e->qos ? m->qos : e->qos,
                              .retain = true,
                              .sub_ids = sub_id ? &sub_id : NULL,
                              .sub_id_count = sub_id ? 1 : 0};
        if (c->session)
            session_deliver(c->session, m, &spec);
        broker_msg_unref(m);
    }
    free(rm.msgs);
}

bool handle_subscribe(conn *c, const mqtt_packet *p)
{
    const mqtt_subscribe *sub = &p->u.subscribe;
    uint32_t sub_id = 0;
    size_t pos = 0;
    mqtt_props_subscription_id_next(&sub->props, &pos, &sub_id);
    if (c->realm->eventgrid_compat && compat_eventgrid_subscribe_refused(sub)) {
        conn_close(c, MQTT_RC_SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED, true,
                   "subscription identifiers are not supported (Event Grid compatibility)");
        return false;
    }
    uint8_t *codes = malloc(sub->count * 2u);
    if (!codes) {
        conn_close_as(c, MQTT_RC_UNSPECIFIED_ERROR, DISC_SERVER_ERROR, true, "out of memory");
        return false;
    }
    uint8_t *states = codes + sub->count;
    mqtt_subscription e;
    pos = 0;
    ns_stats *st = worker_ns_stats(c->worker, c->realm);
    for (uint32_t i = 0; mqtt_subscribe_next(sub, &pos, &e) && i < sub->count; i++) {
        codes[i] = subscribe_one(c, &e, sub_id, &states[i]);
        st->subscription_ops[SUB_OP_SUBSCRIBE][codes[i] >= 0x80]++;
    }

    mqtt_packet ack = {.type = MQTT_SUBACK};
    ack.u.suback.packet_id = sub->packet_id;
    ack.u.suback.reason_codes = (mqtt_bytes){codes, sub->count};
    conn_send(c, &ack);

    pos = 0;
    for (uint32_t i = 0; mqtt_subscribe_next(sub, &pos, &e) && i < sub->count; i++)
        deliver_retained(c, &e, states[i], sub_id);
    free(codes);
    return true;
}

bool handle_unsubscribe(conn *c, const mqtt_packet *p)
{
    const mqtt_unsubscribe *unsub = &p->u.unsubscribe;
    uint8_t *codes = malloc(unsub->count ? unsub->count : 1);
    if (!codes) {
        conn_close_as(c, MQTT_RC_UNSPECIFIED_ERROR, DISC_SERVER_ERROR, true, "out of memory");
        return false;
    }
    size_t pos = 0;
    mqtt_bytes filter;
    for (uint32_t i = 0; mqtt_unsubscribe_next(unsub, &pos, &filter) && i < unsub->count; i++) {
        codes[i] = session_unsubscribe(c->session, filter) ? 0 : MQTT_RC_NO_SUBSCRIPTION_EXISTED;
        worker_ns_stats(c->worker, c->realm)
            ->subscription_ops[SUB_OP_UNSUBSCRIBE][0]++; /* 0x11 is no failure */
    }
    mqtt_packet ack = {.type = MQTT_UNSUBACK};
    ack.u.suback.packet_id = unsub->packet_id;
    ack.u.suback.reason_codes = (mqtt_bytes){codes, unsub->count};
    conn_send(c, &ack);
    free(codes);
    return true;
}

bool handle_disconnect(conn *c, const mqtt_packet *p)
{
    const mqtt_reason_packet *d = &p->u.disconnect;
    session *s = c->session;
    if (c->version == MQTT_V5 && mqtt_prop_has(&d->props, MQTT_PROP_SESSION_EXPIRY_INTERVAL)) {
        /* A session that was to end at disconnect cannot be made persistent now [MQTT-3.14.2-2]. */
        if (s->expiry_interval == 0 && d->props.session_expiry_interval != 0) {
            conn_close(c, MQTT_RC_PROTOCOL_ERROR, true,
                       "session expiry set at DISCONNECT after 0 at CONNECT");
            return false;
        }
        uint32_t max = c->broker->config.limits.max_session_expiry;
        s->expiry_interval = d->props.session_expiry_interval < max ? d->props.session_expiry_interval : max;
        session_save(s);
    }
    if (d->reason_code != MQTT_RC_DISCONNECT_WITH_WILL)
        session_clear_will(s);
    conn_close(c, 0, false, "client disconnected");
    return false;
}
