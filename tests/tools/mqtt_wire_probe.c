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
 * A packet that does not decode is logged with its reason code and rule, answered like a
 * broker would (v5: CONNACK or DISCONNECT with the reason), and the connection is closed.
 *
 * --publish-on-subscribe: after each SUBACK, send one PUBLISH per granted filter (a topic
 * it matches) at the granted QoS, payload "probe-message", with v5 properties. If the
 * client accepts topic aliases (Topic Alias Maximum in CONNECT), the PUBLISH carries topic
 * alias 1 and is followed by a second one with an empty topic and the same alias.
 * Not product code: single-threaded, poll(), no sessions, no routing. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "mqtt_codec.h"

#define MAX_CONNS 64
#define MAX_PACKET (512u * 1024u)
#define ALIAS_MAX 10
#define LOG_PAYLOAD_MAX 4096

/* ---- a growing text buffer that writes JSON */
typedef struct jbuf {
    char *p;
    size_t len, cap;
} jbuf;

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        perror("realloc");
        exit(2);
    }
    return q;
}

static void jb_put(jbuf *j, const char *s, size_t n)
{
    if (j->len + n + 1 > j->cap) {
        j->cap = (j->len + n + 1) * 2;
        j->p = xrealloc(j->p, j->cap);
    }
    memcpy(j->p + j->len, s, n);
    j->len += n;
    j->p[j->len] = '\0';
}

static void jb_printf(jbuf *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jb_printf(jbuf *j, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    jb_put(j, tmp, n < 0 ? 0 : (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A comma unless this starts an object, an array or a value. */
static void jb_sep(jbuf *j)
{
    if (j->len && !strchr("{[:", j->p[j->len - 1]))
        jb_put(j, ",", 1);
}

static void jb_key(jbuf *j, const char *key)
{
    jb_sep(j);
    jb_printf(j, "\"%s\":", key);
}

static void jb_str(jbuf *j, const uint8_t *s, size_t n) /* s: UTF-8 */
{
    jb_sep(j);
    jb_put(j, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\')
            jb_printf(j, "\\%c", s[i]);
        else if (s[i] < 0x20)
            jb_printf(j, "\\u%04x", s[i]);
        else
            jb_put(j, (const char *)s + i, 1);
    }
    jb_put(j, "\"", 1);
}

static void jb_kstr(jbuf *j, const char *key, mqtt_bytes b)
{
    jb_key(j, key);
    jb_str(j, b.data, b.len);
}

static void jb_hex(jbuf *j, const uint8_t *s, size_t n)
{
    jb_sep(j);
    jb_put(j, "\"", 1);
    for (size_t i = 0; i < n; i++)
        jb_printf(j, "%02x", s[i]);
    jb_put(j, "\"", 1);
}

/* Binary data: as text when it is UTF-8 (key), else as hex (key_hex). */
static void jb_bin(jbuf *j, const char *key, mqtt_bytes b)
{
    if (mqtt_utf8_valid(b.data, b.len)) {
        jb_kstr(j, key, b);
    } else {
        char k[64];
        snprintf(k, sizeof k, "%s_hex", key);
        jb_key(j, k);
        jb_hex(j, b.data, b.len);
    }
}

static void jb_u(jbuf *j, const char *key, unsigned long v)
{
    jb_key(j, key);
    jb_printf(j, "%lu", v);
}

static void jb_bool(jbuf *j, const char *key, bool v)
{
    jb_key(j, key);
    jb_put(j, v ? "true" : "false", v ? 4 : 5);
}

/* ---- packets as JSON */
struct propdesc {
    uint8_t id;
    char kind; /* b: byte, h: two byte int, w: four byte int, s: UTF-8 string, d: binary data */
    const char *name;
    size_t off;
};
#define PD(id, kind, field) {id, kind, #field, offsetof(mqtt_properties, field)}
static const struct propdesc prop_table[] = {
    PD(MQTT_PROP_PAYLOAD_FORMAT_INDICATOR, 'b', payload_format_indicator),
    PD(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, 'w', message_expiry_interval),
    PD(MQTT_PROP_CONTENT_TYPE, 's', content_type),
    PD(MQTT_PROP_RESPONSE_TOPIC, 's', response_topic),
    PD(MQTT_PROP_CORRELATION_DATA, 'd', correlation_data),
    PD(MQTT_PROP_SESSION_EXPIRY_INTERVAL, 'w', session_expiry_interval),
    PD(MQTT_PROP_ASSIGNED_CLIENT_IDENTIFIER, 's', assigned_client_identifier),
    PD(MQTT_PROP_SERVER_KEEP_ALIVE, 'h', server_keep_alive),
    PD(MQTT_PROP_AUTHENTICATION_METHOD, 's', authentication_method),
    PD(MQTT_PROP_AUTHENTICATION_DATA, 'd', authentication_data),
    PD(MQTT_PROP_REQUEST_PROBLEM_INFORMATION, 'b', request_problem_information),
    PD(MQTT_PROP_WILL_DELAY_INTERVAL, 'w', will_delay_interval),
    PD(MQTT_PROP_REQUEST_RESPONSE_INFORMATION, 'b', request_response_information),
    PD(MQTT_PROP_RESPONSE_INFORMATION, 's', response_information),
    PD(MQTT_PROP_SERVER_REFERENCE, 's', server_reference),
    PD(MQTT_PROP_REASON_STRING, 's', reason_string),
    PD(MQTT_PROP_RECEIVE_MAXIMUM, 'h', receive_maximum),
    PD(MQTT_PROP_TOPIC_ALIAS_MAXIMUM, 'h', topic_alias_maximum),
    PD(MQTT_PROP_TOPIC_ALIAS, 'h', topic_alias),
    PD(MQTT_PROP_MAXIMUM_QOS, 'b', maximum_qos),
    PD(MQTT_PROP_RETAIN_AVAILABLE, 'b', retain_available),
    PD(MQTT_PROP_MAXIMUM_PACKET_SIZE, 'w', maximum_packet_size),
    PD(MQTT_PROP_WILDCARD_SUBSCRIPTION_AVAILABLE, 'b', wildcard_subscription_available),
    PD(MQTT_PROP_SUBSCRIPTION_IDENTIFIER_AVAILABLE, 'b', subscription_identifier_available),
    PD(MQTT_PROP_SHARED_SUBSCRIPTION_AVAILABLE, 'b', shared_subscription_available),
};

static void jb_props(jbuf *j, const char *key, const mqtt_properties *p)
{
    jb_key(j, key);
    jb_put(j, "{", 1);
    for (size_t i = 0; i < sizeof prop_table / sizeof prop_table[0]; i++) {
        const struct propdesc *d = &prop_table[i];
        const char *f = (const char *)p + d->off;
        if (!mqtt_prop_has(p, d->id))
            continue;
        switch (d->kind) {
        case 'b': jb_u(j, d->name, *(const uint8_t *)f); break;
        case 'h': jb_u(j, d->name, *(const uint16_t *)f); break;
        case 'w': jb_u(j, d->name, *(const uint32_t *)f); break;
        case 's': jb_kstr(j, d->name, *(const mqtt_bytes *)f); break;
        default: jb_bin(j, d->name, *(const mqtt_bytes *)f); break;
        }
    }
    size_t pos = 0;
    mqtt_user_property up;
    if (p->user_property_count) {
        jb_key(j, "user_properties");
        jb_put(j, "[", 1);
        while (mqtt_props_user_next(p, &pos, &up)) {
            jb_sep(j);
            jb_put(j, "[", 1);
            jb_str(j, up.key.data, up.key.len);
            jb_str(j, up.value.data, up.value.len);
            jb_put(j, "]", 1);
        }
        jb_put(j, "]", 1);
    }
    if (p->subscription_id_count) {
        uint32_t id;
        pos = 0;
        jb_key(j, "subscription_ids");
        jb_put(j, "[", 1);
        while (mqtt_props_subscription_id_next(p, &pos, &id)) {
            jb_sep(j);
            jb_printf(j, "%u", id);
        }
        jb_put(j, "]", 1);
    }
    jb_put(j, "}", 1);
}

static void jb_payload(jbuf *j, const char *key, mqtt_bytes b)
{
    char k[64];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (b.len <= LOG_PAYLOAD_MAX)
        jb_bin(j, key, b);
    snprintf(k, sizeof k, "%s_len", key);
    jb_u(j, k, b.len);
    EVP_Digest(b.data, b.len, md, &mdlen, EVP_sha256(), NULL);
    snprintf(k, sizeof k, "%s_sha256", key);
    jb_key(j, k);
    jb_hex(j, md, mdlen);
}

/* The decoded fields of `p` (no braces), so that two decodings compare as strings. */
static void jb_packet(jbuf *j, const mqtt_packet *p, uint8_t ver)
{
    jb_key(j, "type");
    jb_printf(j, "\"%s\"", mqtt_packet_type_name(p->type));
    jb_u(j, "flags", p->flags);
    jb_u(j, "version", p->type == MQTT_CONNECT ? p->u.connect.protocol_version : ver);
    bool v5 = (p->type == MQTT_CONNECT ? p->u.connect.protocol_version : ver) == MQTT_V5;
    size_t pos = 0;
    switch (p->type) {
    case MQTT_CONNECT: {
        const mqtt_connect *c = &p->u.connect;
        jb_bool(j, "clean_start", c->clean_start);
        jb_u(j, "keep_alive", c->keep_alive);
        jb_kstr(j, "client_id", c->client_id);
        if (c->has_username)
            jb_kstr(j, "username", c->username);
        if (c->has_password)
            jb_bin(j, "password", c->password);
        jb_bool(j, "will_flag", c->will_flag);
        if (c->will_flag) {
            jb_kstr(j, "will_topic", c->will_topic);
            jb_payload(j, "will_payload", c->will_payload);
            jb_u(j, "will_qos", c->will_qos);
            jb_bool(j, "will_retain", c->will_retain);
            if (v5)
                jb_props(j, "will_props", &c->will_props);
        }
        break;
    }
    case MQTT_CONNACK:
        jb_bool(j, "session_present", p->u.connack.session_present);
        jb_u(j, "reason_code", p->u.connack.reason_code);
        break;
    case MQTT_PUBLISH: {
        const mqtt_publish *m = &p->u.publish;
        jb_kstr(j, "topic", m->topic);
        jb_u(j, "qos", m->qos);
        jb_bool(j, "retain", m->retain);
        jb_bool(j, "dup", m->dup);
        if (m->qos)
            jb_u(j, "packet_id", m->packet_id);
        jb_payload(j, "payload", m->payload);
        break;
    }
    case MQTT_PUBACK:
    case MQTT_PUBREC:
    case MQTT_PUBREL:
    case MQTT_PUBCOMP:
        jb_u(j, "packet_id", p->u.ack.packet_id);
        jb_u(j, "reason_code", p->u.ack.reason_code);
        break;
    case MQTT_SUBSCRIBE: {
        mqtt_subscription s;
        jb_u(j, "packet_id", p->u.subscribe.packet_id);
        jb_key(j, "subscriptions");
        jb_put(j, "[", 1);
        while (mqtt_subscribe_next(&p->u.subscribe, &pos, &s)) {
            jb_sep(j);
            jb_put(j, "{", 1);
            jb_kstr(j, "filter", s.filter);
            jb_u(j, "qos", s.qos);
            jb_bool(j, "no_local", s.no_local);
            jb_bool(j, "retain_as_published", s.retain_as_published);
            jb_u(j, "retain_handling", s.retain_handling);
            jb_put(j, "}", 1);
        }
        jb_put(j, "]", 1);
        break;
    }
    case MQTT_UNSUBSCRIBE: {
        mqtt_bytes f;
        jb_u(j, "packet_id", p->u.unsubscribe.packet_id);
        jb_key(j, "filters");
        jb_put(j, "[", 1);
        while (mqtt_unsubscribe_next(&p->u.unsubscribe, &pos, &f))
            jb_str(j, f.data, f.len);
        jb_put(j, "]", 1);
        break;
    }
    case MQTT_SUBACK:
    case MQTT_UNSUBACK:
        jb_u(j, "packet_id", p->u.suback.packet_id);
        jb_key(j, "reason_codes");
        jb_put(j, "[", 1);
        for (uint32_t i = 0; i < p->u.suback.reason_codes.len; i++) {
            jb_sep(j);
            jb_printf(j, "%u", p->u.suback.reason_codes.data[i]);
        }
        jb_put(j, "]", 1);
        break;
    case MQTT_DISCONNECT:
    case MQTT_AUTH:
        jb_u(j, "reason_code", p->u.disconnect.reason_code);
        break;
    default: break;
    }
    /* Every packet type that has properties in v5 has them in the same union slot layout
     * only by accident, so pick them by type. */
    const mqtt_properties *props = NULL;
    switch (p->type) {
    case MQTT_CONNECT: props = &p->u.connect.props; break;
    case MQTT_CONNACK: props = &p->u.connack.props; break;
    case MQTT_PUBLISH: props = &p->u.publish.props; break;
    case MQTT_PUBACK:
    case MQTT_PUBREC:
    case MQTT_PUBREL:
    case MQTT_PUBCOMP: props = &p->u.ack.props; break;
    case MQTT_SUBSCRIBE: props = &p->u.subscribe.props; break;
    case MQTT_UNSUBSCRIBE: props = &p->u.unsubscribe.props; break;
    case MQTT_SUBACK:
    case MQTT_UNSUBACK: props = &p->u.suback.props; break;
    case MQTT_DISCONNECT: props = &p->u.disconnect.props; break;
    case MQTT_AUTH: props = &p->u.auth.props; break;
    default: break;
    }
    if (v5 && props)
        jb_props(j, "props", props);
}

static void jb_error(jbuf *j, const mqtt_error *e)
{
    jb_key(j, "error");
    jb_put(j, "{", 1);
    jb_u(j, "reason", e->reason);
    jb_key(j, "reason_name");
    jb_printf(j, "\"%s\"", mqtt_reason_name(e->reason));
    jb_key(j, "rule");
    jb_str(j, (const uint8_t *)(e->rule ? e->rule : ""), e->rule ? strlen(e->rule) : 0);
    jb_u(j, "version", e->version);
    jb_put(j, "}", 1);
}

/* Encode the decoded `p` again, decode that, and compare the fields with `orig`. */
static void reencode_check(jbuf *line, const mqtt_packet *p, uint8_t ver, int rc0, const char *orig)
{
    mqtt_packet q = *p, r;
    mqtt_error err = {0};
    mqtt_subscription *subs = NULL;
    mqtt_bytes *filters = NULL;
    size_t pos = 0, i = 0;
    char why[160] = "";
    jbuf again = {0};
    if (p->type == MQTT_SUBSCRIBE) { /* the encoder takes entries, not the raw payload */
        subs = xrealloc(NULL, sizeof *subs * (p->u.subscribe.count + 1));
        while (i < p->u.subscribe.count && mqtt_subscribe_next(&p->u.subscribe, &pos, &subs[i]))
            i++;
        q.u.subscribe.entries = subs;
    } else if (p->type == MQTT_UNSUBSCRIBE) {
        filters = xrealloc(NULL, sizeof *filters * (p->u.unsubscribe.count + 1));
        while (i < p->u.unsubscribe.count && mqtt_unsubscribe_next(&p->u.unsubscribe, &pos, &filters[i]))
            i++;
        q.u.unsubscribe.filters = filters;
    }
    size_t n = mqtt_encoded_length(&q, ver);
    uint8_t *buf = xrealloc(NULL, n + 16);
    size_t m = n ? mqtt_encode(&q, ver, buf, n) : 0;
    int rc;
    if (n == 0 || m != n)
        snprintf(why, sizeof why, "encoded_length %zu, mqtt_encode wrote %zu", n, m);
    else if ((rc = mqtt_decode(buf, m, ver, MQTT_ROLE_SERVER, &r, &err)) != rc0)
        snprintf(why, sizeof why, "decode of re-encoded packet returned 0x%02x (%s)", (unsigned)rc,
                 err.rule ? err.rule : "");
    else {
        jb_packet(&again, &r, ver);
        if (strcmp(again.p, orig) != 0)
            snprintf(why, sizeof why, "fields differ after re-encoding");
    }
    jb_key(line, "reencode");
    jb_printf(line, "\"%s\"", why[0] ? why : "ok");
    if (why[0] && again.p) {
        jb_key(line, "reencoded");
        jb_put(line, "{", 1);
        jb_put(line, again.p, again.len);
        jb_put(line, "}", 1);
    }
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
    uint8_t *in, *out;
    size_t in_len, in_cap, out_len, out_cap;
    uint16_t next_pid;
    uint16_t client_alias_max; /* Topic Alias Maximum the client accepts */
    char *alias[ALIAS_MAX + 1];  /* topic aliases the client set */
} conn;

static FILE *g_log;
static bool g_publish_on_subscribe;
static volatile sig_atomic_t g_stop;

static void log_line(jbuf *j)
{
    fprintf(g_log, "%s\n", j->p);
    fflush(g_log);
    free(j->p);
}

static void log_event(conn *c, const char *event)
{
    jbuf j = {0};
    jb_printf(&j, "{\"conn\":%u,\"event\":\"%s\"}", c->id, event);
    log_line(&j);
}

static void flush_out(conn *c)
{
    while (c->out_len) {
        ssize_t w = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                c->out_len = 0, c->closing = true; /* peer gone: drop the output */
            return;
        }
        memmove(c->out, c->out + w, c->out_len - (size_t)w);
        c->out_len -= (size_t)w;
    }
}

/* Encode, log (decoded back as a client would) and queue one packet. */
static void send_packet(conn *c, const mqtt_packet *p, uint8_t ver)
{
    jbuf j = {0};
    mqtt_packet back;
    mqtt_error err = {0};
    size_t n = mqtt_encoded_length(p, ver);
    if (c->out_len + n > c->out_cap)
        c->out = xrealloc(c->out, c->out_cap = (c->out_len + n) * 2);
    size_t m = n ? mqtt_encode(p, ver, c->out + c->out_len, n) : 0;
    jb_printf(&j, "{\"conn\":%u,\"dir\":\"out\",\"len\":%zu", c->id, m);
    if (m == 0 || m != n) {
        jb_key(&j, "encode_error");
        jb_printf(&j, "\"type %u: encoded_length %zu, mqtt_encode wrote %zu\"", p->type, n, m);
        m = 0;
    } else if (mqtt_decode(c->out + c->out_len, m, ver, MQTT_ROLE_CLIENT, &back, &err) != 0) {
        jb_key(&j, "type");
        jb_printf(&j, "\"%s\"", mqtt_packet_type_name(p->type));
        jb_error(&j, &err);
    } else {
        jb_packet(&j, &back, ver);
    }
    jb_put(&j, "}", 1);
    log_line(&j);
    c->out_len += m;
    flush_out(c);
}

static void send_simple(conn *c, uint8_t type, uint16_t pid, uint8_t rc)
{
    mqtt_packet p = {.type = type};
    if (type == MQTT_DISCONNECT)
        p.u.disconnect.reason_code = rc;
    else
        p.u.ack.packet_id = pid, p.u.ack.reason_code = rc;
    send_packet(c, &p, c->version ? c->version : MQTT_V5);
}

/* A topic that `filter` matches: the filter itself with each wildcard level as "probe". */
static void topic_for(mqtt_bytes filter, char *out, size_t cap)
{
    const char *f = (const char *)filter.data, *end = f + filter.len;
    size_t o = 0;
    if (filter.len > 7 && memcmp(f, "$share/", 7) == 0) { /* $share/group/inner */
        const char *slash = memchr(f + 7, '/', filter.len - 7);
        f = slash ? slash + 1 : end;
    }
    for (; f < end && o + 8 < cap; f++) {
        bool level_start = o == 0 || out[o - 1] == '/';
        if ((*f == '+' || *f == '#') && level_start)
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
    topic_for(filter, topic, sizeof topic);
    mqtt_packet p = {.type = MQTT_PUBLISH};
    mqtt_publish *m = &p.u.publish;
    m->qos = qos;
    m->topic = (mqtt_bytes){(const uint8_t *)topic, (uint32_t)strlen(topic)};
    m->payload = (mqtt_bytes){(const uint8_t *)"probe-message", 13};
    if (c->version == MQTT_V5) {
        mqtt_properties *pr = &m->props;
        pr->present = MQTT_PROP_BIT(MQTT_PROP_CONTENT_TYPE) | MQTT_PROP_BIT(MQTT_PROP_PAYLOAD_FORMAT_INDICATOR) |
                      MQTT_PROP_BIT(MQTT_PROP_RESPONSE_TOPIC) | MQTT_PROP_BIT(MQTT_PROP_CORRELATION_DATA) |
                      MQTT_PROP_BIT(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL);
        pr->user_properties = ups;
        pr->user_property_count = 2;
        pr->content_type = (mqtt_bytes){(const uint8_t *)"text/plain", 10};
        pr->payload_format_indicator = 1;
        pr->response_topic = (mqtt_bytes){(const uint8_t *)"resp/topic", 10};
        pr->correlation_data = (mqtt_bytes){(const uint8_t *)"corr-1", 6};
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
    for (int copy = 0; copy < (m->props.topic_alias ? 2 : 1); copy++) {
        if (copy == 1)
            m->topic = (mqtt_bytes){(const uint8_t *)"", 0}; /* the alias alone */
        if (qos && ++c->next_pid == 0)
            c->next_pid = 1;
        m->packet_id = qos ? c->next_pid : 0;
        send_packet(c, &p, c->version);
    }
}

/* A packet that broke a rule: answer as a broker would, then close. */
static void protocol_fail(conn *c, const mqtt_error *err)
{
    if (!c->connected) {
        mqtt_packet p = {.type = MQTT_CONNACK};
        if (err->version == MQTT_V5) {
            p.u.connack.reason_code = err->reason;
            send_packet(c, &p, MQTT_V5);
        } else if (err->reason == MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION ||
                   err->reason == MQTT_RC_CLIENT_IDENTIFIER_NOT_VALID) {
            p.u.connack.reason_code = mqtt_v311_connack_code(err->reason);
            send_packet(c, &p, MQTT_V311);
        }
    } else if (c->version == MQTT_V5) {
        send_simple(c, MQTT_DISCONNECT, 0, err->reason);
    }
    c->closing = true;
}

static void on_connect(conn *c, const mqtt_connect *in)
{
    char assigned[32];
    mqtt_packet p = {.type = MQTT_CONNACK};
    c->version = in->protocol_version;
    c->connected = true;
    if (mqtt_prop_has(&in->props, MQTT_PROP_TOPIC_ALIAS_MAXIMUM))
        c->client_alias_max = in->props.topic_alias_maximum;
    if (c->version == MQTT_V5) {
        mqtt_properties *pr = &p.u.connack.props;
        pr->present = MQTT_PROP_BIT(MQTT_PROP_TOPIC_ALIAS_MAXIMUM) | MQTT_PROP_BIT(MQTT_PROP_RECEIVE_MAXIMUM) |
                      MQTT_PROP_BIT(MQTT_PROP_MAXIMUM_PACKET_SIZE) | MQTT_PROP_BIT(MQTT_PROP_SERVER_KEEP_ALIVE);
        pr->topic_alias_maximum = ALIAS_MAX;
        pr->receive_maximum = 1000;
        pr->maximum_packet_size = MAX_PACKET;
        pr->server_keep_alive = in->keep_alive == 0 || in->keep_alive > 1160 ? 1160 : in->keep_alive;
        if (in->client_id.len == 0) {
            snprintf(assigned, sizeof assigned, "probe-%u", c->id);
            pr->present |= MQTT_PROP_BIT(MQTT_PROP_ASSIGNED_CLIENT_IDENTIFIER);
            pr->assigned_client_identifier = (mqtt_bytes){(const uint8_t *)assigned, (uint32_t)strlen(assigned)};
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
    if (!g_publish_on_subscribe)
        return;
    pos = 0;
    for (size_t i = 0; i < n && mqtt_subscribe_next(s, &pos, &e); i++)
        publish_to(c, e.filter, e.qos, &s->props);
}

/* The topic a v5 PUBLISH names, resolving (and recording) its Topic Alias; NULL if unknown. */
static const char *alias_topic(conn *c, const mqtt_publish *m)
{
    uint16_t a = m->props.topic_alias;
    if (a == 0 || a > ALIAS_MAX)
        return NULL;
    if (m->topic.len) {
        free(c->alias[a]);
        c->alias[a] = strndup((const char *)m->topic.data, m->topic.len);
    }
    return c->alias[a];
}

static void handle_packet(conn *c, const uint8_t *pkt, size_t len)
{
    mqtt_packet p;
    mqtt_error err = {0};
    jbuf j = {0}, fields = {0};
    uint8_t type = pkt[0] >> 4;
    if (!c->connected && type != MQTT_CONNECT) {
        err = (mqtt_error){MQTT_RC_PROTOCOL_ERROR, "probe: first packet is not CONNECT", 0};
        jb_printf(&j, "{\"conn\":%u,\"dir\":\"in\",\"len\":%zu", c->id, len);
        jb_error(&j, &err);
        jb_put(&j, "}", 1);
        log_line(&j);
        c->closing = true;
        return;
    }
    int rc = mqtt_decode(pkt, len, c->version, MQTT_ROLE_SERVER, &p, &err);
    jb_printf(&j, "{\"conn\":%u,\"dir\":\"in\",\"len\":%zu", c->id, len);
    if (rc != 0 && !(rc == MQTT_RC_PAYLOAD_FORMAT_INVALID && type == MQTT_PUBLISH)) {
        jb_key(&j, "type");
        jb_printf(&j, "\"%s\"", mqtt_packet_type_name(type));
        jb_u(&j, "decode_rc", (unsigned)rc);
        jb_error(&j, &err);
        jb_key(&j, "raw_hex");
        jb_hex(&j, pkt, len < 128 ? len : 128);
        jb_put(&j, "}", 1);
        log_line(&j);
        protocol_fail(c, &err);
        return;
    }
    uint8_t ver = type == MQTT_CONNECT ? p.u.connect.protocol_version : c->version;
    jb_packet(&fields, &p, ver);
    jb_put(&j, ",", 1);
    jb_put(&j, fields.p, fields.len);
    jb_u(&j, "decode_rc", (unsigned)rc);
    if (type == MQTT_PUBLISH && mqtt_prop_has(&p.u.publish.props, MQTT_PROP_TOPIC_ALIAS)) {
        const char *t = alias_topic(c, &p.u.publish);
        jb_key(&j, "alias_topic");
        if (t)
            jb_str(&j, (const uint8_t *)t, strlen(t));
        else
            jb_put(&j, "null", 4);
    }
    reencode_check(&j, &p, ver, rc, fields.p);
    jb_put(&j, "}", 1);
    log_line(&j);
    free(fields.p);

    switch (type) {
    case MQTT_CONNECT:
        if (c->connected) { /* a second CONNECT */
            err = (mqtt_error){MQTT_RC_PROTOCOL_ERROR, "probe: second CONNECT", 0};
            protocol_fail(c, &err);
        } else {
            on_connect(c, &p.u.connect);
        }
        break;
    case MQTT_PUBLISH:
        if (p.u.publish.qos == 1)
            send_simple(c, MQTT_PUBACK, p.u.publish.packet_id, (uint8_t)rc);
        else if (p.u.publish.qos == 2)
            send_simple(c, MQTT_PUBREC, p.u.publish.packet_id, (uint8_t)rc);
        break;
    case MQTT_PUBREL: send_simple(c, MQTT_PUBCOMP, p.u.ack.packet_id, 0); break;
    case MQTT_PUBREC: send_simple(c, MQTT_PUBREL, p.u.ack.packet_id, 0); break;
    case MQTT_SUBSCRIBE: on_subscribe(c, &p.u.subscribe); break;
    case MQTT_UNSUBSCRIBE: {
        static const uint8_t zeros[256];
        mqtt_packet u = {.type = MQTT_UNSUBACK};
        u.u.suback.packet_id = p.u.unsubscribe.packet_id;
        uint32_t n = p.u.unsubscribe.count < sizeof zeros ? p.u.unsubscribe.count : sizeof zeros;
        u.u.suback.reason_codes = (mqtt_bytes){zeros, c->version == MQTT_V5 ? n : 0};
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
    while (!c->closing) {
        mqtt_frame fr;
        mqtt_error err = {0};
        enum mqtt_frame_status st = mqtt_frame_parse(c->in + off, c->in_len - off, MAX_PACKET, &fr, &err);
        if (st == MQTT_FRAME_INCOMPLETE)
            break;
        if (st == MQTT_FRAME_ERROR) {
            jbuf j = {0};
            jb_printf(&j, "{\"conn\":%u,\"dir\":\"in\",\"stage\":\"frame\"", c->id);
            jb_error(&j, &err);
            jb_key(&j, "raw_hex");
            jb_hex(&j, c->in + off, c->in_len - off < 16 ? c->in_len - off : 16);
            jb_put(&j, "}", 1);
            log_line(&j);
            protocol_fail(c, &err);
            break;
        }
        if (c->in_len - off < fr.total_len)
            break;
        handle_packet(c, c->in + off, fr.total_len);
        off += fr.total_len;
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
}

static void close_conn(conn *c)
{
    log_event(c, "closed");
    close(c->fd);
    free(c->in);
    free(c->out);
    for (int i = 0; i <= ALIAS_MAX; i++)
        free(c->alias[i]);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

/* Returns false when the connection is gone. */
static bool conn_read(conn *c)
{
    uint8_t discard[4096];
    if (c->draining || c->closing) { /* nothing more is processed: discard */
        ssize_t r = read(c->fd, discard, sizeof discard);
        return !(r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR));
    }
    if (c->in_cap - c->in_len < 65536)
        c->in = xrealloc(c->in, c->in_cap = c->in_len + 65536);
    ssize_t r = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
    if (r < 0)
        return errno == EAGAIN || errno == EINTR;
    if (r == 0)
        return false;
    c->in_len += (size_t)r;
    process_input(c);
    return true;
}

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

int main(int argc, char **argv)
{
    int port = 0;
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

    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 16) < 0) {
        perror("bind/listen");
        return 2;
    }
    static conn conns[MAX_CONNS];
    for (int i = 0; i < MAX_CONNS; i++)
        conns[i].fd = -1;
    unsigned next_id = 1;
    struct pollfd pfd[MAX_CONNS + 1];

    while (!g_stop) {
        pfd[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
        for (int i = 0; i < MAX_CONNS; i++)
            pfd[i + 1] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN | (conns[i].out_len ? POLLOUT : 0)};
        if (poll(pfd, MAX_CONNS + 1, 200) < 0 && errno != EINTR) {
            perror("poll");
            return 1;
        }
        if (pfd[0].revents & POLLIN) {
            int fd = accept(lfd, NULL, NULL);
            int i = 0;
            while (i < MAX_CONNS && conns[i].fd >= 0)
                i++;
            if (fd >= 0 && i == MAX_CONNS) {
                close(fd);
            } else if (fd >= 0) {
                fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
                conns[i].fd = fd;
                conns[i].id = next_id++;
                log_event(&conns[i], "open");
            }
        }
        for (int i = 0; i < MAX_CONNS; i++) {
            conn *c = &conns[i];
            if (c->fd < 0)
                continue;
            if (pfd[i + 1].revents & POLLOUT)
                flush_out(c);
            if ((pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)) && !conn_read(c)) {
                close_conn(c);
                continue;
            }
            if (c->closing && !c->draining && c->out_len == 0) {
                /* Half-close so that the peer reads our last packet before EOF. */
                shutdown(c->fd, SHUT_WR);
                c->draining = true;
                c->deadline = time(NULL) + 2;
            }
            if (c->draining && time(NULL) > c->deadline)
                close_conn(c);
        }
    }
    for (int i = 0; i < MAX_CONNS; i++)
        if (conns[i].fd >= 0)
            close_conn(&conns[i]);
    close(lfd);
    fclose(g_log);
    return 0;
}
