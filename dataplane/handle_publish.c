/* PUBLISH from a client (QoS 0/1/2, topic aliases, authorization, payload
 * format), PUBREL, and the client's acknowledgements of our PUBLISHes. */
#include <stdlib.h>
#include <string.h>

#include "authorizer.h"
#include "compat_eventgrid.h"
#include "flow_control.h"
#include "handlers.h"
#include "lifecycle_events.h"
#include "log.h"
#include "rate_limit.h"
#include "realm.h"
#include "session.h"
#include "session_store.h"
#include "worker.h"

static void send_ack(conn *c, uint8_t type, uint16_t packet_id, uint8_t reason)
{
    mqtt_packet p = {.type = type};
    p.u.ack.packet_id = packet_id;
    p.u.ack.reason_code = reason;
    conn_send(c, &p);
}

/* Resolves the Topic Alias (section 3.3.2.3.4). False when the connection was closed. */
static bool resolve_topic(conn *c, const mqtt_publish *pub, mqtt_bytes *topic)
{
    *topic = pub->topic;
    if (!mqtt_prop_has(&pub->props, MQTT_PROP_TOPIC_ALIAS))
        return true;
    uint16_t alias = pub->props.topic_alias;
    uint16_t max = c->broker->config.limits.topic_alias_maximum;
    if (alias == 0 || alias > max) {
        conn_close(c, MQTT_RC_TOPIC_ALIAS_INVALID, true, "topic alias out of range");
        return false;
    }
    if (!c->topic_aliases) {
        c->topic_aliases = calloc(max, sizeof *c->topic_aliases);
        if (!c->topic_aliases) {
            conn_close_as(c, MQTT_RC_UNSPECIFIED_ERROR, DISC_SERVER_ERROR, true, "out of memory");
            return false;
        }
        c->topic_alias_count = max;
    }
    char **slot = &c->topic_aliases[alias - 1];
    if (pub->topic.len == 0) {
        if (!*slot) {
            conn_close(c, MQTT_RC_PROTOCOL_ERROR, true, "topic alias not set");
            return false;
        }
        *topic = (mqtt_bytes){(const uint8_t *)*slot, (uint32_t)strlen(*slot)};
        return true;
    }
    char *copy = strndup((const char *)pub->topic.data, pub->topic.len);
    if (!copy) {
        conn_close_as(c, MQTT_RC_UNSPECIFIED_ERROR, DISC_SERVER_ERROR, true, "out of memory");
        return false;
    }
    free(*slot);
    *slot = copy;
    return true;
}

/* A PUBLISH taken (reason below 0x80: routed, acknowledged if QoS 1/2) or refused (its
 * reason code, whether acknowledged, dropped (QoS 0) or answered by a disconnect). */
static void count_outcome(conn *c, uint8_t qos, uint8_t reason)
{
    ns_stats *st = worker_ns_stats(c->worker, c->realm);
    if (reason < 0x80)
        st->publish_succeeded[qos]++;
    else
        st->publish_failed[reason - 0x80]++;
}

/* Negative outcome of a PUBLISH before routing: v5 acknowledges QoS 1/2 with the reason,
 * QoS 0 is dropped; v3.1.1 has no way to say no and is disconnected. */
static bool refuse_publish(conn *c, const mqtt_publish *pub, uint8_t reason, const char *why)
{
    count_outcome(c, pub->qos, reason);
    if (c->version != MQTT_V5) {
        conn_close(c, reason, false, why);
        return false;
    }
    if (pub->qos == 1)
        send_ack(c, MQTT_PUBACK, pub->packet_id, reason);
    else if (pub->qos == 2)
        send_ack(c, MQTT_PUBREC, pub->packet_id, reason);
    return true;
}

/* The session's publish rate quota (a namespace with throughputUnits): true when the PUBLISH
 * may go on. Over the rate it is refused like any PUBLISH (v5 QoS 1/2: 0x97; QoS 0 dropped;
 * v3.1.1 QoS 1/2: disconnected, as acknowledging a message it dropped would break QoS 1/2's
 * promise silently while its session resends after a reconnect); refusals for
 * publish_rate_sustained seconds in a row: DISCONNECT 0x96. *keep: the connection stays. */
static bool within_publish_rate(conn *c, const mqtt_publish *pub, size_t packet_len, bool *keep)
{
    const broker_limits *lim = &c->broker->config.limits;
    const publish_rate_limits rates = {.messages_per_second = lim->publish_rate_per_session,
                                       .bytes_per_second = lim->publish_bytes_per_session,
                                       .sustained_ms = lim->publish_rate_sustained * 1000};
    int64_t now = broker_now_ms();
    if (!c->publish_quota) {
        if (!(c->publish_quota = malloc(sizeof *c->publish_quota))) {
            log_msg(LOG_ERROR, "quota", "out of memory for the publish quota conn=%llu: not limited",
                    (unsigned long long)c->id);
            return true;
        }
        publish_quota_init(c->publish_quota, &rates, now);
    }
    enum publish_verdict verdict = publish_quota_check(c->publish_quota, &rates, packet_len, now);
    if (verdict == PUBLISH_ALLOWED)
        return true;
    ns_stats *st = worker_ns_stats(c->worker, c->realm);
    uint32_t refused;
    if (verdict == PUBLISH_OVER_RATE_LONG) {
        st->throttled[THROTTLE_PUBLISH_RATE_DISCONNECT]++;
        count_outcome(c, pub->qos, MQTT_RC_MESSAGE_RATE_TOO_HIGH);
        conn_close(c, MQTT_RC_MESSAGE_RATE_TOO_HIGH, true,
                   "publish rate over the session's quota for too long");
        *keep = false;
        return false;
    }
    st->throttled[THROTTLE_PUBLISH_RATE]++;
    if (publish_quota_log_due(c->publish_quota, now, &refused))
        log_msg(LOG_INFO, "quota",
                "publish refused conn=%llu client=%s namespace=%s refused=%u rate=%u/s bytes=%u/s: over the "
                "session's publish rate",
                (unsigned long long)c->id, c->session->client_id, c->realm->name, refused,
                rates.messages_per_second, rates.bytes_per_second);
    *keep = refuse_publish(c, pub, MQTT_RC_QUOTA_EXCEEDED, "publish rate over the session's quota");
    return false;
}

bool handle_publish(conn *c, const mqtt_packet *p, int decode_rc, size_t packet_len)
{
    broker *b = c->broker;
    session *s = c->session;
    const mqtt_publish *pub = &p->u.publish;
    mqtt_bytes topic;
    if (!resolve_topic(c, pub, &topic))
        return false;
    ns_stats *st = worker_ns_stats(c->worker, c->realm);
    st->publish_in[pub->qos]++;
    st->publish_in_bytes[pub->qos] += pub->payload.len;
    if (c->realm->eventgrid_compat) {
        const char *why;
        uint8_t refusal = compat_eventgrid_publish_refusal(pub, &why);
        if (refusal) {
            count_outcome(c, pub->qos, refusal);
            conn_close(c, refusal, true, why);
            return false;
        }
    }
    bool keep = true;
    if (atomic_load_explicit(&c->realm->throughput_units, memory_order_relaxed) &&
        !within_publish_rate(c, pub, packet_len, &keep))
        return keep;
    if (decode_rc == MQTT_RC_PAYLOAD_FORMAT_INVALID)
        return refuse_publish(c, pub, MQTT_RC_PAYLOAD_FORMAT_INVALID, "payload is not UTF-8 as announced");
    if (lifecycle_topic_reserved(topic) || !b->auth->can_publish(b->auth->ctx, s, topic)) {
        log_msg(LOG_INFO, "auth", "publish denied client=%s topic=%.*s%s", s->client_id, (int)topic.len,
                (const char *)topic.data,
                lifecycle_topic_reserved(topic) ? " (reserved for the broker's events)" : "");
        return refuse_publish(c, pub, MQTT_RC_NOT_AUTHORIZED, "not authorized to publish");
    }
    if (pub->qos == 2) {
        int added = session_qos2_add(s, pub->packet_id, pub->dup);
        if (added == 0) { /* a re-sent PUBLISH whose PUBREC was lost: not routed twice */
            send_ack(c, MQTT_PUBREC, pub->packet_id, 0);
            return true;
        }
        if (added < 0 || s->qos2_count > b->config.limits.receive_maximum) {
            session_qos2_remove(s, pub->packet_id);
            count_outcome(c, pub->qos, MQTT_RC_RECEIVE_MAXIMUM_EXCEEDED);
            conn_close(c, MQTT_RC_RECEIVE_MAXIMUM_EXCEEDED, true, "receive maximum exceeded");
            return false;
        }
    }
    broker_msg *m = broker_msg_new(pub, topic, s->id, broker_now_ms());
    if (!m) {
        log_msg(LOG_ERROR, "publish", "out of memory client=%s", s->client_id);
        return refuse_publish(c, pub, MQTT_RC_UNSPECIFIED_ERROR, "out of memory");
    }
    bool congested = false;
    int receivers = broker_publish(c->worker, s->realm, m, c, &congested);
    broker_msg_unref(m);
    if (receivers == BROKER_RETAINED_QUOTA_EXCEEDED) {
        if (pub->qos == 2)
            session_qos2_remove(s, pub->packet_id);
        return refuse_publish(c, pub, MQTT_RC_QUOTA_EXCEEDED,
                              "the namespace has its maximum of retained messages");
    }
    if (congested || conn_brake_pulled(c))
        flow_pause_publisher(c);
    uint8_t reason = (receivers == 0 && c->version == MQTT_V5) ? MQTT_RC_NO_MATCHING_SUBSCRIBERS : 0;
    /* sync persistence: the ack waits for the commit of what this PUBLISH queued, here and on
     * the workers it went to. */
    if (pub->qos > 0 && b->store->acks_wait_for_commit &&
        (b->store->ack_must_wait(b->store->ctx, c->worker->index) || conn_gate_pending(c)))
        conn_hold_output(c);
    count_outcome(c, pub->qos, reason);
    if (pub->qos == 1)
        send_ack(c, MQTT_PUBACK, pub->packet_id, reason);
    else if (pub->qos == 2)
        send_ack(c, MQTT_PUBREC, pub->packet_id, reason);
    return true;
}

bool handle_pubrel(conn *c, const mqtt_packet *p)
{
    bool known = session_qos2_remove(c->session, p->u.ack.packet_id);
    /* sync persistence: the id is released on disk before PUBCOMP lets the client reuse it (a
     * crash must not bring it back, or a new PUBLISH with that id would be taken for a resend). */
    const session_store *st = c->broker->store;
    if (st->ack_must_wait(st->ctx, c->worker->index))
        conn_hold_output(c);
    send_ack(c, MQTT_PUBCOMP, p->u.ack.packet_id, known ? 0 : MQTT_RC_PACKET_IDENTIFIER_NOT_FOUND);
    return true;
}

bool handle_outbound_ack(conn *c, const mqtt_packet *p)
{
    session *s = c->session;
    uint16_t id = p->u.ack.packet_id;
    if (p->type == MQTT_PUBREC) {
        int outcome = session_on_pubrec(s, id, p->u.ack.reason_code);
        if (outcome != 0)
            send_ack(c, MQTT_PUBREL, id, outcome > 0 ? 0 : MQTT_RC_PACKET_IDENTIFIER_NOT_FOUND);
        return true;
    }
    if (p->type == MQTT_PUBACK) {
        session_on_puback(s, id);
        /* The exchange is complete either way (MQTT 5 section 4.3.2): the message is not sent
         * again. 0x83: the PUBACK is valid, this mode just does not take a refusal. */
        if (c->realm->eventgrid_compat && compat_eventgrid_puback_refused(&p->u.ack)) {
            conn_close_as(c, MQTT_RC_IMPLEMENTATION_SPECIFIC_ERROR, DISC_CLIENT_ERROR, true,
                          "the client refused a message (Event Grid compatibility)");
            return false;
        }
    } else
        session_on_pubcomp(s, id);
    return true;
}
