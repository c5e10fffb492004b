/* CONNECT: validation outcome, authorization, client identifier, session
 * take-over / resumption, keep alive and session expiry caps, CONNACK. */
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "authorizer.h"
#include "compat_eventgrid.h"
#include "handlers.h"
#include "lifecycle_events.h"
#include "log.h"
#include "realm.h"
#include "session.h"
#include "worker.h"

/* Answers a refused CONNECT in the client's protocol version: v5 `reason`, or v3.1.1 return
 * code `v311_code`; then closes as `as`. */
static bool refuse_as(conn *c, uint8_t version, uint8_t reason, uint8_t v311_code, disconnect_reason as,
                      const char *why)
{
    mqtt_packet ack = {.type = MQTT_CONNACK};
    if (version >= MQTT_V5) {
        c->version = MQTT_V5;
        ack.u.connack.reason_code = reason;
        if (why) {
            ack.u.connack.props.present = MQTT_PROP_BIT(MQTT_PROP_REASON_STRING);
            ack.u.connack.props.reason_string = (mqtt_bytes){(const uint8_t *)why, (uint32_t)strlen(why)};
        }
        conn_send(c, &ack);
    } else if (reason != MQTT_RC_MALFORMED_PACKET && reason != MQTT_RC_PROTOCOL_ERROR) {
        /* v3.1.1 has return codes only for these refusals; other violations just close. */
        c->version = MQTT_V311;
        ack.u.connack.reason_code = v311_code;
        conn_send(c, &ack);
    }
    conn_close_as(c, reason, as, false, why);
    return false;
}

static bool refuse(conn *c, uint8_t version, uint8_t reason, const char *why)
{
    return refuse_as(c, version, reason, mqtt_v311_connack_code(reason), disconnect_reason_of(reason, false),
                     why);
}

/* Server-assigned identifiers: "eg-" and 16 random hex digits. */
static bool assign_client_id(char *out, size_t len)
{
    unsigned char rnd[8];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return false;
    int n = snprintf(out, len, "eg-");
    for (size_t i = 0; i < sizeof rnd; i++)
        n += snprintf(out + n, len - (size_t)n, "%02x", rnd[i]);
    return true;
}

static uint32_t session_expiry_for(const mqtt_connect *in, uint32_t max)
{
    if (in->protocol_version != MQTT_V5)
        return in->clean_start ? 0 : max; /* v3.1.1 persistent sessions use the maximum */
    uint32_t requested =
        mqtt_prop_has(&in->props, MQTT_PROP_SESSION_EXPIRY_INTERVAL) ? in->props.session_expiry_interval : 0;
    return requested < max ? requested : max;
}

static void read_client_limits(conn *c, const mqtt_connect *in)
{
    const mqtt_properties *p = &in->props;
    if (mqtt_prop_has(p, MQTT_PROP_RECEIVE_MAXIMUM))
        c->client_receive_maximum = p->receive_maximum;
    if (mqtt_prop_has(p, MQTT_PROP_MAXIMUM_PACKET_SIZE))
        c->client_max_packet = p->maximum_packet_size;
    c->request_problem_information =
        !mqtt_prop_has(p, MQTT_PROP_REQUEST_PROBLEM_INFORMATION) || p->request_problem_information;
}

static bool attach_will(session *s, const mqtt_connect *in)
{
    if (!in->will_flag)
        return true;
    /* Its expiry counts from its publication, not from now: set then (publish_will_now). */
    mqtt_properties props = in->will_props;
    props.present &= ~MQTT_PROP_BIT(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL);
    broker_msg *will = broker_msg_new_raw(in->will_topic, in->will_payload, in->will_qos, in->will_retain,
                                          &props, s->id, broker_now_ms());
    if (!will)
        return false;
    const mqtt_properties *p = &in->will_props;
    uint32_t delay = mqtt_prop_has(p, MQTT_PROP_WILL_DELAY_INTERVAL) ? p->will_delay_interval : 0;
    uint32_t expiry = mqtt_prop_has(p, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL) ? p->message_expiry_interval : 0;
    session_set_will(s, will, delay, expiry);
    return true;
}

static void send_connack(conn *c, const mqtt_connect *in, bool present, uint32_t expiry, uint16_t keep_alive,
                         mqtt_bytes assigned_id, char *response_info)
{
    const broker_limits *lim = &c->broker->config.limits;
    mqtt_packet ack = {.type = MQTT_CONNACK};
    ack.u.connack.session_present = present;
    mqtt_properties *p = &ack.u.connack.props;
    if (c->version == MQTT_V5) {
        p->present = MQTT_PROP_BIT(MQTT_PROP_RECEIVE_MAXIMUM) | MQTT_PROP_BIT(MQTT_PROP_MAXIMUM_PACKET_SIZE) |
                     MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS_MAXIMUM) |
                     MQTT_PROP_BIT(MQTT_PROP_RETAIN_AVAILABLE) |
                     MQTT_PROP_BIT(MQTT_PROP_WILDCARD_SUBSCRIPTION_AVAILABLE) |
                     MQTT_PROP_BIT(MQTT_PROP_SUBSCRIPTION_IDENTIFIER_AVAILABLE) |
                     MQTT_PROP_BIT(MQTT_PROP_SHARED_SUBSCRIPTION_AVAILABLE);
        p->receive_maximum = lim->receive_maximum;
        p->maximum_packet_size = lim->max_packet_size;
        p->topic_alias_maximum = lim->topic_alias_maximum;
        p->retain_available = p->wildcard_subscription_available = 1;
        p->subscription_identifier_available = p->shared_subscription_available = 1;
        uint32_t requested = mqtt_prop_has(&in->props, MQTT_PROP_SESSION_EXPIRY_INTERVAL)
                                 ? in->props.session_expiry_interval
                                 : 0;
        if (requested != expiry) {
            p->present |= MQTT_PROP_BIT(MQTT_PROP_SESSION_EXPIRY_INTERVAL);
            p->session_expiry_interval = expiry;
        }
        if (keep_alive != in->keep_alive) {
            p->present |= MQTT_PROP_BIT(MQTT_PROP_SERVER_KEEP_ALIVE);
            p->server_keep_alive = keep_alive;
        }
        if (assigned_id.len) {
            p->present |= MQTT_PROP_BIT(MQTT_PROP_ASSIGNED_CLIENT_IDENTIFIER);
            p->assigned_client_identifier = assigned_id;
        }
        if (response_info) {
            p->present |= MQTT_PROP_BIT(MQTT_PROP_RESPONSE_INFORMATION);
            p->response_information =
                (mqtt_bytes){(const uint8_t *)response_info, (uint32_t)strlen(response_info)};
        }
        if (c->realm->eventgrid_compat)
            compat_eventgrid_connack(p);
    }
    conn_send(c, &ack);
}

/* A CONNECT refused after the authorizer counted it among its name's sessions. */
static void give_back_place(conn *c, auth_grant *grant)
{
    if (grant->counted)
        realm_count_auth_session(c->realm, grant->auth_name, -1);
    grant->counted = false;
}

/* A new session takes a place among the namespace's (sessions_per_throughput_unit per unit
 * when it sets throughputUnits). At the quota: CONNACK 0x97, or 0x03 Server unavailable for
 * v3.1.1 (its 0x05, where 0x97 usually maps, would blame the client's rights). */
static bool take_namespace_place(conn *c, auth_grant *grant)
{
    uint32_t quota = realm_quota(c->realm, c->broker->config.limits.sessions_per_throughput_unit);
    if (realm_take_session(c->realm, quota))
        return true;
    c->broker->auth->release(c->broker->auth->ctx, grant->perms);
    give_back_place(c, grant);
    worker_ns_stats(c->worker, c->realm)->throttled[THROTTLE_NAMESPACE_SESSION_LIMIT]++;
    log_msg(LOG_INFO, "quota", "connect refused conn=%llu peer=%s namespace=%s auth_name=\"%s\" quota=%u: %s",
            (unsigned long long)c->id, c->peer, c->realm->name, grant->auth_name, quota,
            "the namespace has its maximum number of sessions");
    return refuse_as(c, c->version, MQTT_RC_QUOTA_EXCEEDED, MQTT_V311_CONNACK_SERVER_UNAVAILABLE,
                     DISC_QUOTA_EXCEEDED, "the namespace has its maximum number of sessions");
}

bool handle_connect(conn *c, const mqtt_packet *p, int decode_rc, const mqtt_error *err)
{
    broker *b = c->broker;
    const broker_limits *lim = &b->config.limits;
    if (decode_rc != 0)
        return refuse(c, err->version, (uint8_t)decode_rc, err->rule);
    const mqtt_connect *in = &p->u.connect;
    const char *why = NULL;
    c->version = in->protocol_version;
    if (c->version == MQTT_V5 && mqtt_prop_has(&in->props, MQTT_PROP_AUTHENTICATION_METHOD))
        return refuse(c, c->version, MQTT_RC_BAD_AUTHENTICATION_METHOD,
                      "enhanced authentication is not supported");
    /* The namespace first (the one SNI names, else the listener's; the authorizer refuses a
     * name it cannot serve), then its home worker: the connection moves there before anything
     * reads the session registry, and the home worker authorizes it. */
    realm_select_by_sni(b, conn_tls_server_name(c), &c->realm);
    if (c->realm->eventgrid_compat) {
        uint8_t refusal = compat_eventgrid_connect_refusal(in, &why);
        if (refusal)
            return refuse_as(c, c->version, refusal, mqtt_v311_connack_code(refusal), DISC_CLIENT_ERROR, why);
    }
    char assigned[40] = "";
    mqtt_bytes client_id = in->client_id;
    if (client_id.len == 0) {
        /* An identifier of our own is drawn until its home is this worker: a move would not
         * end, as the home worker would draw another. */
        for (int draws = 0;
             !assigned[0] || (broker_home(b, c->realm, client_id) != c->worker && draws < 100000); draws++) {
            if (!assign_client_id(assigned, sizeof assigned))
                return refuse(c, c->version, MQTT_RC_SERVER_UNAVAILABLE,
                              "no randomness for a client identifier");
            client_id = (mqtt_bytes){(const uint8_t *)assigned, (uint32_t)strlen(assigned)};
        }
    }
    if (!conn_move_to(c, broker_home(b, c->realm, client_id)))
        return false; /* the home worker reads the CONNECT again */
    auth_grant grant = {.auth_name = ""};
    why = "not authorized";
    uint8_t verdict = b->auth->connect(b->auth->ctx, c, in, client_id, &grant, &why);
    if (verdict)
        return refuse(c, c->version, verdict, why);
    if (c->version == MQTT_V5)
        read_client_limits(c, in);

    session *s = session_find(c->realm, client_id);
    if (s && s->conn) /* take-over: the session may be destroyed here when it has no expiry */
        conn_close(s->conn, MQTT_RC_SESSION_TAKEN_OVER, true, "session taken over");
    s = session_find(c->realm, client_id);
    if (s && (in->clean_start || s->overflowed)) { /* an overflowed session has ended already */
        session_destroy(s);
        s = NULL;
    }
    bool present = s != NULL;
    if (!s && !take_namespace_place(c, &grant))
        return false;
    if (!s && !(s = session_create(c->realm, client_id)))
        realm_give_back_session(c->realm);
    if (!s || !session_set_auth(s, &grant)) {
        b->auth->release(b->auth->ctx, grant.perms);
        give_back_place(c, &grant);
        return refuse(c, c->version, MQTT_RC_SERVER_UNAVAILABLE, "out of memory");
    }
    /* Under enforcement the namespace's maximumSessionExpiryInHours is the cap (SPEC section 5). */
    uint32_t max_expiry = grant.max_session_expiry ? grant.max_session_expiry : lim->max_session_expiry;
    s->expiry_interval = session_expiry_for(in, max_expiry);
    session_attach(s, c);
    /* After the attach, so the store records it connected: after a crash its expiry counts
     * from the store's last heartbeat, not from this CONNECT. */
    session_save(s);
    if (!attach_will(s, in)) {
        give_back_place(c, &grant);
        conn_close(c, MQTT_RC_SERVER_UNAVAILABLE, false, "out of memory");
        return false;
    }

    uint16_t keep_alive = in->keep_alive;
    if (keep_alive == 0 || keep_alive > lim->max_keep_alive)
        keep_alive = lim->max_keep_alive;
    c->state = CONN_ACTIVE; /* its close gives its place back */
    worker_ns_stats(c->worker, c->realm)->connections_opened++;
    if (!grant.counted)
        realm_count_auth_session(s->realm, s->auth_name, +1);
    conn_set_keep_alive(c, keep_alive);

    char response_info[96];
    bool want_response_info = c->version == MQTT_V5 &&
                              mqtt_prop_has(&in->props, MQTT_PROP_REQUEST_RESPONSE_INFORMATION) &&
                              in->props.request_response_information;
    if (want_response_info)
        snprintf(response_info, sizeof response_info, "responses/%s", s->client_id);
    send_connack(c, in, present, s->expiry_interval, keep_alive,
                 (mqtt_bytes){(const uint8_t *)assigned, (uint32_t)strlen(assigned)},
                 want_response_info ? response_info : NULL);
    char tls_info[256];
    conn_describe_tls(c, tls_info, sizeof tls_info);
    char client[256];
    log_msg(LOG_INFO, "conn",
            "connected conn=%llu peer=%s client=%s namespace=%s auth_name=\"%s\" version=%u transport=%s "
            "clean=%d "
            "present=%d expiry=%u keepalive=%u%s",
            (unsigned long long)c->id, c->peer, log_value(s->client_id, client, sizeof client),
            c->realm->name[0] ? c->realm->name : "-", s->auth_name ? s->auth_name : "", c->version,
            conn_transport_name(c), in->clean_start, present, s->expiry_interval, keep_alive, tls_info);
    lifecycle_session_connected(s); /* before the resume, which may end the connection */
    session_resume(s);
    return true;
}
