/* mqtt_wire_probe: a test-only MQTT endpoint that speaks MQTT through our codec only.
 *
 *   mqtt_wire_probe --port P --log FILE [--publish-on-subscribe]
 *
 * Listens on 127.0.0.1:P. Every packet received is framed (mqtt_frame_parse), decoded
 * (mqtt_decode, role server) and logged as one JSON line with all its decoded fields, then
 * re-encoded and decoded again to check that the fields survive ("reencode":"ok"). Every
 * packet sent is built with mqtt_encode, decoded back (role client) and logged ("dir":"out").
 * Replies are those of a broker that accepts everything: CONNACK (v5 with properties),
 * PUBACK / PUBREC / PUBCOMP, SUBACK granting the requested QoS, UNSUBACK, PINGRESP.
 * A packet that does not decode is logged with its reason code and rule, answered as a
 * broker would (v5: CONNACK or DISCONNECT with that reason), and the connection is closed.
 *
 * --publish-on-subscribe: after each SUBACK, send one PUBLISH per granted filter (to a topic
 * it matches) at the granted QoS, payload "probe-message", with v5 properties. If the client
 * accepts topic aliases (Topic Alias Maximum in its CONNECT), that PUBLISH carries topic
 * alias 1 and is followed by a copy with an empty topic and the same alias.
 * Not product code: single-threaded, poll(), no sessions, no routing. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "mqtt_codec.h"

#define MAX_CONNS 64
#define MAX_PACKET (512u * 1024u)
#define ALIAS_MAX 10
#define LOG_PAYLOAD_MAX 4096
#define BSTR(s) ((mqtt_bytes){(const uint8_t *)(s), (uint32_t)strlen(s)})
#define TF(b) ((b) ? "true" : "false")

/* ---- JSON text in a growing buffer. jb() adds a comma where one is due: before a
 * key or value that follows another one. jb_raw() appends as is. */
typedef struct jbuf {
    char *p;
    size_t len, cap;
} jbuf;

static void __attribute__((format(printf, 3, 4))) jb_add(jbuf *j, bool comma, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (j->len + (size_t)n + 2 > j->cap && !(j->p = realloc(j->p, j->cap = (j->len + (size_t)n + 2) * 2)))
        abort();
    if (comma && j->len && !strchr("{[:", j->p[j->len - 1]) && !strchr("}]", fmt[0]))
        j->p[j->len++] = ',';
    va_start(ap, fmt);
    vsnprintf(j->p + j->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    j->len += (size_t)n;
}
#define jb(j, ...) jb_add(j, true, __VA_ARGS__)
#define jb_raw(j, ...) jb_add(j, false, __VA_ARGS__)

/* "key":"escaped UTF-8" (key NULL: an array element). */
static void jb_str(jbuf *j, const char *key, mqtt_bytes b)
{
    key ? jb(j, "\"%s\":\"", key) : jb(j, "\"");
    for (uint32_t i = 0; i < b.len; i++) {
        uint8_t ch = b.data[i];
        if (ch == '"' || ch == '\\')
            jb_raw(j, "\\%c", ch);
        else
            jb_raw(j, ch < 0x20 ? "\\u%04x" : "%c", ch);
    }
    jb_raw(j, "\"");
}

static void jb_hex(jbuf *j, const char *key, const uint8_t *s, size_t n)
{
    jb(j, "\"%s\":\"", key);
    for (size_t i = 0; i < n; i++)
        jb_raw(j, "%02x", s[i]);
    jb_raw(j, "\"");
}

/* Binary data: as text when it is UTF-8 ("key"), else as hex ("key_hex"). */
static void jb_bin(jbuf *j, const char *key, mqtt_bytes b)
{
    char k[64];
    snprintf(k, sizeof k, "%s_hex", key);
    mqtt_utf8_valid(b.data, b.len) ? jb_str(j, key, b) : jb_hex(j, k, b.data, b.len);
}

/* Payloads: the text or hex (if short), and always the length and SHA-256. */
static void jb_payload(jbuf *j, const char *key, mqtt_bytes b)
{
    char k[64];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (b.len <= LOG_PAYLOAD_MAX)
        jb_bin(j, key, b);
    jb(j, "\"%s_len\":%u", key, b.len);
    EVP_Digest(b.data, b.len, md, &mdlen, EVP_sha256(), NULL);
    snprintf(k, sizeof k, "%s_sha256", key);
    jb_hex(j, k, md, mdlen);
}

struct propdesc {
    uint8_t id;
    char kind; /* b: byte, h: two byte int, w: four byte int, s: UTF-8 string, d: binary data */
    const char *name;
    size_t off;
};
/* clang-format off */
#define P(id, kind, field) {MQTT_PROP_##id, kind, #field, offsetof(mqtt_properties, field)}
static const struct propdesc prop_table[] = {
    P(TOPIC_ALIAS, 'h', topic_alias), P(TOPIC_ALIAS_MAXIMUM, 'h', topic_alias_maximum),
    P(MAXIMUM_QOS, 'b', maximum_qos), P(WILDCARD_SUBSCRIPTION_AVAILABLE, 'b', wildcard_subscription_available),
    P(CONTENT_TYPE, 's', content_type), P(SHARED_SUBSCRIPTION_AVAILABLE, 'b', shared_subscription_available),
    P(REASON_STRING, 's', reason_string), P(REQUEST_RESPONSE_INFORMATION, 'b', request_response_information),
    P(RESPONSE_TOPIC, 's', response_topic), P(REQUEST_PROBLEM_INFORMATION, 'b', request_problem_information),
    P(RECEIVE_MAXIMUM, 'h', receive_maximum), P(ASSIGNED_CLIENT_IDENTIFIER, 's', assigned_client_identifier),
    P(CORRELATION_DATA, 'd', correlation_data), P(PAYLOAD_FORMAT_INDICATOR, 'b', payload_format_indicator),
    P(SERVER_REFERENCE, 's', server_reference), P(SESSION_EXPIRY_INTERVAL, 'w', session_expiry_interval),
    P(RETAIN_AVAILABLE, 'b', retain_available), P(MESSAGE_EXPIRY_INTERVAL, 'w', message_expiry_interval),
    P(SERVER_KEEP_ALIVE, 'h', server_keep_alive), P(AUTHENTICATION_METHOD, 's', authentication_method),
    P(AUTHENTICATION_DATA, 'd', authentication_data), P(RESPONSE_INFORMATION, 's', response_information),
    P(WILL_DELAY_INTERVAL, 'w', will_delay_interval), P(MAXIMUM_PACKET_SIZE, 'w', maximum_packet_size),
    P(SUBSCRIPTION_IDENTIFIER_AVAILABLE, 'b', subscription_identifier_available),
};
/* clang-format on */

static void jb_props(jbuf *j, const char *key, const mqtt_properties *p)
{
    size_t pos = 0;
    mqtt_user_property up;
    uint32_t id;
    jb(j, "\"%s\":{", key);
    for (size_t i = 0; i < sizeof prop_table / sizeof prop_table[0]; i++) {
        const struct propdesc *d = &prop_table[i];
        const char *f = (const char *)p + d->off;
        if (!mqtt_prop_has(p, d->id))
            continue;
        switch (d->kind) {
        case 'b': jb(j, "\"%s\":%u", d->name, *(const uint8_t *)f); break;
        case 'h': jb(j, "\"%s\":%u", d->name, *(const uint16_t *)f); break;
        case 'w': jb(j, "\"%s\":%u", d->name, *(const uint32_t *)f); break;
        case 's': jb_str(j, d->name, *(const mqtt_bytes *)f); break;
        default: jb_bin(j, d->name, *(const mqtt_bytes *)f); break;
        }
    }
    if (p->user_property_count) { /* in order, as [key, value] pairs */
        jb(j, "\"user_properties\":[");
        while (mqtt_props_user_next(p, &pos, &up)) {
            jb(j, "[");
            jb_str(j, NULL, up.key);
            jb_str(j, NULL, up.value);
            jb(j, "]");
        }
        jb(j, "]");
    }
    if (p->subscription_id_count) {
        jb(j, "\"subscription_ids\":[");
        for (pos = 0; mqtt_props_subscription_id_next(p, &pos, &id);)
            jb(j, "%u", id);
        jb(j, "]");
    }
    jb(j, "}");
}

/* The decoded fields of `p`, without braces, so that two decodings compare as strings. */
static void jb_packet(jbuf *j, const mqtt_packet *p, uint8_t ver)
{
    const mqtt_properties *props = NULL;
    size_t pos = 0;
    if (p->type == MQTT_CONNECT)
        ver = p->u.connect.protocol_version;
    jb(j, "\"type\":\"%s\",\"flags\":%u,\"version\":%u", mqtt_packet_type_name(p->type), p->flags, ver);
    switch (p->type) {
    case MQTT_CONNECT: {
        const mqtt_connect *c = &p->u.connect;
        props = &c->props;
        jb(j, "\"clean_start\":%s,\"keep_alive\":%u", TF(c->clean_start), c->keep_alive);
        jb_str(j, "client_id", c->client_id);
        if (c->has_username)
            jb_str(j, "username", c->username);
        if (c->has_password)
            jb_bin(j, "password", c->password);
        jb(j, "\"will_flag\":%s", TF(c->will_flag));
        if (c->will_flag) {
            jb_str(j, "will_topic", c->will_topic);
            jb_payload(j, "will_payload", c->will_payload);
            jb(j, "\"will_qos\":%u,\"will_retain\":%s", c->will_qos, TF(c->will_retain));
            if (ver == MQTT_V5)
                jb_props(j, "will_props", &c->will_props);
        }
        break;
    }
    case MQTT_CONNACK:
        props = &p->u.connack.props;
        jb(j, "\"session_present\":%s,\"reason_code\":%u", TF(p->u.connack.session_present),
           p->u.connack.reason_code);
        break;
    case MQTT_PUBLISH: {
        const mqtt_publish *m = &p->u.publish;
        props = &m->props;
        jb_str(j, "topic", m->topic);
        jb(j, "\"qos\":%u,\"retain\":%s,\"dup\":%s", m->qos, TF(m->retain), TF(m->dup));
        if (m->qos)
            jb(j, "\"packet_id\":%u", m->packet_id);
        jb_payload(j, "payload", m->payload);
        break;
    }
    case MQTT_PUBACK:
    case MQTT_PUBREC:
    case MQTT_PUBREL:
    case MQTT_PUBCOMP:
        props = &p->u.ack.props;
        jb(j, "\"packet_id\":%u,\"reason_code\":%u", p->u.ack.packet_id, p->u.ack.reason_code);
        break;
    case MQTT_SUBSCRIBE: {
        mqtt_subscription s;
        props = &p->u.subscribe.props;
        jb(j, "\"packet_id\":%u,\"subscriptions\":[", p->u.subscribe.packet_id);
        while (mqtt_subscribe_next(&p->u.subscribe, &pos, &s)) {
            jb(j, "{");
            jb_str(j, "filter", s.filter);
            jb(j, "\"qos\":%u,\"no_local\":%s,\"retain_as_published\":%s,\"retain_handling\":%u", s.qos,
               TF(s.no_local), TF(s.retain_as_published), s.retain_handling);
            jb(j, "}");
        }
        jb(j, "]");
        break;
    }
    case MQTT_UNSUBSCRIBE: {
        mqtt_bytes f;
        props = &p->u.unsubscribe.props;
        jb(j, "\"packet_id\":%u,\"filters\":[", p->u.unsubscribe.packet_id);
        while (mqtt_unsubscribe_next(&p->u.unsubscribe, &pos, &f))
            jb_str(j, NULL, f);
        jb(j, "]");
        break;
    }
    case MQTT_SUBACK:
    case MQTT_UNSUBACK:
        props = &p->u.suback.props;
        jb(j, "\"packet_id\":%u,\"reason_codes\":[", p->u.suback.packet_id);
        for (uint32_t i = 0; i < p->u.suback.reason_codes.len; i++)
            jb(j, "%u", p->u.suback.reason_codes.data[i]);
        jb(j, "]");
        break;
    case MQTT_DISCONNECT:
    case MQTT_AUTH:
        props = &p->u.disconnect.props;
        jb(j, "\"reason_code\":%u", p->u.disconnect.reason_code);
        break;
    default: break;
    }
    if (ver == MQTT_V5 && props)
        jb_props(j, "props", props);
}

static void jb_error(jbuf *j, const mqtt_error *e)
{
    jb(j, "\"error\":{\"reason\":%u,\"reason_name\":\"%s\"", e->reason, mqtt_reason_name(e->reason));
    jb_str(j, "rule", BSTR(e->rule ? e->rule : ""));
    jb(j, "\"version\":%u}", e->version);
}

/* Encodes the decoded `p` again, decodes that, and compares the fields with `orig`. */
static void reencode_check(jbuf *line, const mqtt_packet *p, uint8_t ver, int rc0, const char *orig)
{
    mqtt_packet q = *p, r;
    mqtt_error err = {0};
    mqtt_subscription *subs = NULL;
    mqtt_bytes *filters = NULL;
    size_t pos = 0, i = 0;
    char why[200] = "";
    jbuf again = {0};
    if (p->type == MQTT_SUBSCRIBE) { /* the encoder takes entries, not the decoded payload */
        subs = calloc(p->u.subscribe.count + 1, sizeof *subs);
        while (i < p->u.subscribe.count && mqtt_subscribe_next(&p->u.subscribe, &pos, &subs[i]))
            i++;
        q.u.subscribe.entries = subs;
    } else if (p->type == MQTT_UNSUBSCRIBE) {
        filters = calloc(p->u.unsubscribe.count + 1, sizeof *filters);
        while (i < p->u.unsubscribe.count && mqtt_unsubscribe_next(&p->u.unsubscribe, &pos, &filters[i]))
            i++;
        q.u.unsubscribe.filters = filters;
    }
    size_t n = mqtt_encoded_length(&q, ver);
    uint8_t *buf = malloc(n + 1);
    size_t m = n ? mqtt_encode(&q, ver, buf, n) : 0;
    int rc = -1;
    if (n == 0 || m != n)
        snprintf(why, sizeof why, "mqtt_encoded_length %zu, mqtt_encode wrote %zu", n, m);
    else if ((rc = mqtt_decode(buf, m, ver, MQTT_ROLE_SERVER, &r, &err)) != rc0)
        snprintf(why, sizeof why, "decoding the re-encoded packet gave 0x%02x: %s", (unsigned)rc,
                 err.rule ? err.rule : "");
    else if (jb_packet(&again, &r, ver), strcmp(again.p, orig) != 0)
        snprintf(why, sizeof why, "fields differ after re-encoding");
    jb_str(line, "reencode", BSTR(why[0] ? why : "ok"));
    if (why[0] && again.p)
        jb(line, "\"reencoded\":{%s}", again.p);
    free(again.p);
    free(buf);
    free(subs);
    free(filters);
}

/* ---- connections */
typedef struct conn {
    int fd;
    unsigned id;
    uint8_t version; /* 0 until CONNECT */
    bool connected;
    bool closing;  /* flush output, then half-close */
    bool draining; /* half-closed: discard input until EOF or deadline */
    time_t deadline;
    uint8_t *in;
    size_t in_len, in_cap;
    uint16_t next_pid;
    uint16_t client_alias_max; /* Topic Alias Maximum the client accepts */
} conn;

static FILE *g_log;
static bool g_publish_on_subscribe;
static volatile sig_atomic_t g_stop;

static void log_line(jbuf *j)
{
    fprintf(g_log, "%s}\n", j->p);
    fflush(g_log);
    free(j->p);
}

/* Encodes, logs (decoded back as a client would) and sends one packet. Sockets block on
 * send (with a timeout): the packets are small and the peers are test clients. */
static void send_packet(conn *c, const mqtt_packet *p, uint8_t ver)
{
    jbuf j = {0};
    mqtt_packet back;
    mqtt_error err = {0};
    size_t n = mqtt_encoded_length(p, ver), done = 0;
    uint8_t *buf = malloc(n + 1);
    size_t m = n ? mqtt_encode(p, ver, buf, n) : 0;
    jb(&j, "{\"conn\":%u,\"dir\":\"out\",\"len\":%zu", c->id, m);
    if (m == 0 || m != n) {
        jb(&j, "\"encode_error\":\"type %u: encoded_length %zu, mqtt_encode wrote %zu\"", p->type, n, m);
        m = 0;
    } else if (mqtt_decode(buf, m, ver, MQTT_ROLE_CLIENT, &back, &err) != 0) {
        jb(&j, "\"type\":\"%s\"", mqtt_packet_type_name(p->type));
        jb_error(&j, &err);
    } else {
        jb_packet(&j, &back, ver);
    }
    log_line(&j);
    while (done < m && !c->closing) {
        ssize_t w = send(c->fd, buf + done, m - done, MSG_NOSIGNAL);
        if (w < 0 && errno != EINTR)
            c->closing = true; /* peer gone or not reading */
        done += w > 0 ? (size_t)w : 0;
    }
    free(buf);
}

static void send_simple(conn *c, uint8_t type, uint16_t pid, uint8_t rc)
{
    mqtt_packet p = {.type = type};
    if (type == MQTT_DISCONNECT)
        p.u.disconnect.reason_code = rc;
    else
        p.u.ack.packet_id = pid, p.u.ack.reason_code = rc;
    send_packet(c, &p, c->version);
}

/* A topic that `filter` matches: the filter with each wildcard level replaced by "probe". */
static void topic_for(mqtt_bytes filter, char *out, size_t cap)
{
    const char *f = (const char *)filter.data, *end = f + filter.len, *slash;
    size_t o = 0;
    if (filter.len > 7 && !memcmp(f, "$share/", 7)) /* $share/{group}/{filter} */
        f = (slash = memchr(f + 7, '/', filter.len - 7)) ? slash + 1 : end;
    for (; f < end && o + 8 < cap; f++) {
        if ((*f == '+' || *f == '#') && (o == 0 || out[o - 1] == '/'))
            o += (size_t)snprintf(out + o, cap - o, "probe");
        else
            out[o++] = *f;
    }
    out[o] = '\0';
}

static void publish_to(conn *c, mqtt_bytes filter, uint8_t qos, const mqtt_properties *sub_props)
{
    static const mqtt_user_property ups[] = {
        {{(const uint8_t *)"k1", 2}, {(const uint8_t *)"v1", 2}},
        {{(const uint8_t *)"k2", 2}, {(const uint8_t *)"v2", 2}},
    };
    char topic[1024];
    uint32_t sub_id;
    size_t pos = 0;
    mqtt_packet p = {.type = MQTT_PUBLISH};
    mqtt_publish *m = &p.u.publish;
    mqtt_properties *pr = &m->props;
    topic_for(filter, topic, sizeof topic);
    m->qos = qos;
    m->topic = BSTR(topic);
    m->payload = BSTR("probe-message");
    if (c->version == MQTT_V5) {
        pr->present = MQTT_PROP_BIT(MQTT_PROP_CONTENT_TYPE) | MQTT_PROP_BIT(MQTT_PROP_RESPONSE_TOPIC) |
                      MQTT_PROP_BIT(MQTT_PROP_PAYLOAD_FORMAT_INDICATOR) |
                      MQTT_PROP_BIT(MQTT_PROP_CORRELATION_DATA) |
                      MQTT_PROP_BIT(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL);
        pr->user_properties = ups;
        pr->user_property_count = 2;
        pr->content_type = BSTR("text/plain");
        pr->payload_format_indicator = 1;
        pr->response_topic = BSTR("resp/topic");
        pr->correlation_data = BSTR("corr-1");
        pr->message_expiry_interval = 3600;
        if (mqtt_props_subscription_id_next(sub_props, &pos, &sub_id)) {
            pr->subscription_ids = &sub_id;
            pr->subscription_id_count = 1;
        }
        if (c->client_alias_max >= 1) {
            pr->present |= MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS);
            pr->topic_alias = 1;
        }
    }
    for (int copy = 0; copy < (pr->topic_alias ? 2 : 1); copy++) {
        if (copy == 1)
            m->topic = BSTR(""); /* the second time, the alias alone names the topic */
        if (qos && ++c->next_pid == 0)
            c->next_pid = 1;
        m->packet_id = qos ? c->next_pid : 0;
        send_packet(c, &p, c->version);
    }
}

/* A packet that broke a rule: log it (line j), answer as a broker would, then close. */
static void fail(conn *c, jbuf *j, const mqtt_error *err, const uint8_t *raw, size_t len)
{
    mqtt_packet p = {.type = MQTT_CONNACK};
    jb_error(j, err);
    jb_hex(j, "raw_hex", raw, len < 128 ? len : 128);
    log_line(j);
    if (!c->connected && err->version == MQTT_V5) {
        p.u.connack.reason_code = err->reason;
        send_packet(c, &p, MQTT_V5);
    } else if (!c->connected && (err->reason == MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION ||
                                 err->reason == MQTT_RC_CLIENT_IDENTIFIER_NOT_VALID)) {
        p.u.connack.reason_code = mqtt_v311_connack_code(err->reason);
        send_packet(c, &p, MQTT_V311);
    } else if (c->connected && c->version == MQTT_V5) {
        send_simple(c, MQTT_DISCONNECT, 0, err->reason);
    }
    c->closing = true;
}

static void on_connect(conn *c, const mqtt_connect *in)
{
    char assigned[32];
    mqtt_packet p = {.type = MQTT_CONNACK};
    mqtt_properties *pr = &p.u.connack.props;
    c->version = in->protocol_version;
    c->connected = true;
    if (mqtt_prop_has(&in->props, MQTT_PROP_TOPIC_ALIAS_MAXIMUM))
        c->client_alias_max = in->props.topic_alias_maximum;
    if (c->version == MQTT_V5) {
        pr->present =
            MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS_MAXIMUM) | MQTT_PROP_BIT(MQTT_PROP_RECEIVE_MAXIMUM) |
            MQTT_PROP_BIT(MQTT_PROP_MAXIMUM_PACKET_SIZE) | MQTT_PROP_BIT(MQTT_PROP_SERVER_KEEP_ALIVE);
        pr->topic_alias_maximum = ALIAS_MAX;
        pr->receive_maximum = 1000;
        pr->maximum_packet_size = MAX_PACKET;
        pr->server_keep_alive = in->keep_alive == 0 || in->keep_alive > 1160 ? 1160 : in->keep_alive;
        if (in->client_id.len == 0) {
            snprintf(assigned, sizeof assigned, "probe-%u", c->id);
            pr->present |= MQTT_PROP_BIT(MQTT_PROP_ASSIGNED_CLIENT_IDENTIFIER);
            pr->assigned_client_identifier = BSTR(assigned);
        }
    }
    send_packet(c, &p, c->version);
}

static void on_subscribe(conn *c, const mqtt_subscribe *s)
{
    uint8_t codes[256];
    mqtt_subscription e;
    size_t pos = 0, n = 0;
    while (n < sizeof codes && mqtt_subscribe_next(s, &pos, &e))
        codes[n++] = e.qos; /* granted as requested */
    mqtt_packet p = {.type = MQTT_SUBACK};
    p.u.suback.packet_id = s->packet_id;
    p.u.suback.reason_codes = (mqtt_bytes){codes, (uint32_t)n};
    send_packet(c, &p, c->version);
    for (size_t i = 0, pos2 = 0; g_publish_on_subscribe && i < n && mqtt_subscribe_next(s, &pos2, &e); i++)
        publish_to(c, e.filter, e.qos, &s->props);
}

static void handle_packet(conn *c, const uint8_t *pkt, size_t len)
{
    mqtt_packet p;
    mqtt_error err = {0};
    jbuf j = {0}, fields = {0};
    uint8_t type = pkt[0] >> 4;
    int rc = 0;
    jb(&j, "{\"conn\":%u,\"dir\":\"in\",\"len\":%zu", c->id, len);
    if (!c->connected && type != MQTT_CONNECT)
        err = (mqtt_error){MQTT_RC_PROTOCOL_ERROR, "probe: the first packet is not CONNECT", 0};
    else if ((rc = mqtt_decode(pkt, len, c->version, MQTT_ROLE_SERVER, &p, &err)) == 0 ||
             (rc == MQTT_RC_PAYLOAD_FORMAT_INVALID && type == MQTT_PUBLISH))
        err.reason = 0; /* decoded (0x99 too: the PUBLISH is then answered with 0x99) */
    else if (!err.reason)
        err.reason = (uint8_t)rc;
    if (err.reason) {
        jb(&j, "\"type\":\"%s\",\"decode_rc\":%d", mqtt_packet_type_name(type), rc);
        fail(c, &j, &err, pkt, len);
        return;
    }
    uint8_t ver = type == MQTT_CONNECT ? p.u.connect.protocol_version : c->version;
    jb_packet(&fields, &p, ver);
    jb(&j, "%s", fields.p);
    jb(&j, "\"decode_rc\":%d", rc);
    reencode_check(&j, &p, ver, rc, fields.p);
    log_line(&j);
    free(fields.p);

    switch (type) {
    case MQTT_CONNECT:
        if (c->connected) /* a second CONNECT */
            send_simple(c, MQTT_DISCONNECT, 0, MQTT_RC_PROTOCOL_ERROR), c->closing = true;
        else
            on_connect(c, &p.u.connect);
        break;
    case MQTT_PUBLISH:
        if (p.u.publish.qos)
            send_simple(c, p.u.publish.qos == 1 ? MQTT_PUBACK : MQTT_PUBREC, p.u.publish.packet_id,
                        (uint8_t)rc);
        break;
    case MQTT_PUBREL: send_simple(c, MQTT_PUBCOMP, p.u.ack.packet_id, 0); break;
    case MQTT_PUBREC: send_simple(c, MQTT_PUBREL, p.u.ack.packet_id, 0); break;
    case MQTT_SUBSCRIBE: on_subscribe(c, &p.u.subscribe); break;
    case MQTT_UNSUBSCRIBE: {
        static const uint8_t success[256];
        mqtt_packet u = {.type = MQTT_UNSUBACK};
        uint32_t n = p.u.unsubscribe.count < sizeof success ? p.u.unsubscribe.count : sizeof success;
        u.u.suback.packet_id = p.u.unsubscribe.packet_id;
        u.u.suback.reason_codes = (mqtt_bytes){success, c->version == MQTT_V5 ? n : 0};
        send_packet(c, &u, c->version);
        break;
    }
    case MQTT_PINGREQ: send_simple(c, MQTT_PINGRESP, 0, 0); break;
    case MQTT_DISCONNECT: c->closing = true; break;
    default: break; /* PUBACK, PUBCOMP, AUTH: logged only */
    }
}

static void process_input(conn *c)
{
    size_t off = 0;
    mqtt_frame fr;
    mqtt_error err = {0};
    while (!c->closing) {
        enum mqtt_frame_status st = mqtt_frame_parse(c->in + off, c->in_len - off, MAX_PACKET, &fr, &err);
        if (st == MQTT_FRAME_ERROR) {
            jbuf j = {0};
            jb(&j, "{\"conn\":%u,\"dir\":\"in\",\"stage\":\"frame\"", c->id);
            fail(c, &j, &err, c->in + off, c->in_len - off);
        }
        if (st != MQTT_FRAME_OK || c->in_len - off < fr.total_len)
            break;
        handle_packet(c, c->in + off, fr.total_len);
        off += fr.total_len;
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
}

/* Returns false when the peer has gone. */
static bool conn_read(conn *c)
{
    uint8_t discard[4096];
    ssize_t r;
    if (c->closing) /* nothing more is processed */
        return read(c->fd, discard, sizeof discard) > 0;
    if (c->in_cap - c->in_len < 65536 && !(c->in = realloc(c->in, c->in_cap = c->in_len + 65536)))
        abort();
    if ((r = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len)) > 0)
        c->in_len += (size_t)r, process_input(c);
    return r > 0 || (r < 0 && errno == EINTR);
}

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

int main(int argc, char **argv)
{
    static conn conns[MAX_CONNS];
    struct pollfd pfd[MAX_CONNS + 1];
    unsigned next_id = 1;
    int port = 0, one = 1;
    const char *log_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc)
            port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--log") && i + 1 < argc)
            log_path = argv[++i];
        else if (!strcmp(argv[i], "--publish-on-subscribe"))
            g_publish_on_subscribe = true;
        else
            port = -1;
    }
    if (port <= 0 || port > 65535 || !log_path) {
        fprintf(stderr, "usage: %s --port P --log FILE [--publish-on-subscribe]\n", argv[0]);
        return 2;
    }
    if (!(g_log = fopen(log_path, "a"))) {
        perror(log_path);
        return 2;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 16) < 0) {
        perror("bind/listen");
        return 2;
    }
    for (int i = 0; i < MAX_CONNS; i++)
        conns[i].fd = -1;

    while (!g_stop) {
        pfd[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
        for (int i = 0; i < MAX_CONNS; i++)
            pfd[i + 1] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
        if (poll(pfd, MAX_CONNS + 1, 200) < 0)
            continue; /* EINTR: g_stop may be set */
        int fd = (pfd[0].revents & POLLIN) ? accept(lfd, NULL, NULL) : -1, slot = 0;
        while (slot < MAX_CONNS && conns[slot].fd >= 0)
            slot++;
        if (fd >= 0 && slot == MAX_CONNS) {
            close(fd);
        } else if (fd >= 0) {
            struct timeval tv = {.tv_sec = 2};
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
            conns[slot] = (conn){.fd = fd, .id = next_id++};
            fprintf(g_log, "{\"conn\":%u,\"event\":\"open\"}\n", conns[slot].id), fflush(g_log);
        }
        for (int i = 0; i < MAX_CONNS; i++) {
            conn *c = &conns[i];
            if (c->fd < 0)
                continue;
            bool gone = (pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)) && !conn_read(c);
            if (!gone && c->closing && !c->draining) {
                shutdown(c->fd, SHUT_WR); /* half-close: the peer reads our last packet, then EOF */
                c->draining = true;
                c->deadline = time(NULL) + 2;
            }
            if (gone || (c->draining && time(NULL) > c->deadline)) {
                fprintf(g_log, "{\"conn\":%u,\"event\":\"closed\"}\n", c->id), fflush(g_log);
                close(c->fd);
                free(c->in);
                *c = (conn){.fd = -1};
            }
        }
    }
    fclose(g_log);
    return 0;
}
