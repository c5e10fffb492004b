/* MQTT client connection: non-blocking connect, optional TLS handshake, CONNECT,
 * read loop, batched writes. */
#include "loadgen_client.h"

#include <errno.h>
#include <event2/buffer.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mqtt_codec.h"
#include "mqtt_evbuffer.h"

enum client_state { ST_TCP_CONNECTING, ST_TLS_HANDSHAKE, ST_AWAIT_CONNACK, ST_ACTIVE, ST_CLOSED };

/* Plaintext per SSL_write: one full TLS record. */
#define TLS_RECORD 16384

struct lg_client {
    enum client_state state;
    evutil_socket_t fd;
    struct event *rev, *wev;
    bool wev_added;
    bool want_writable;
    struct evbuffer *out;
    uint8_t *rbuf;
    size_t rlen, rcap, read_size;
    size_t low_water;
    uint8_t version;
    uint16_t keep_alive;
    uint32_t session_expiry;
    char *client_id;
    char username[80];
    lg_client_handlers h;
    void *ctx;
    /* TLS */
    SSL *ssl;
    bool tls_wants_write; /* the handshake, or SSL_read, waits for the socket to be writable */
};

static void on_readable(evutil_socket_t fd, short what, void *arg);
static void on_writable(evutil_socket_t fd, short what, void *arg);

static void release_socket(lg_client *c)
{
    if (c->state == ST_CLOSED)
        return;
    c->state = ST_CLOSED;
    event_del(c->rev);
    event_del(c->wev);
    c->wev_added = false;
    evutil_closesocket(c->fd);
    c->fd = -1;
}

static void fail(lg_client *c, const char *why)
{
    if (c->state == ST_CLOSED)
        return;
    release_socket(c);
    c->h.closed(c->ctx, why);
}

static bool send_packet(lg_client *c, const mqtt_packet *p)
{
    if (c->state == ST_CLOSED)
        return false;
    return mqtt_encode_evbuffer(c->out, p, c->version) != 0;
}

lg_client *lg_client_start(struct event_base *base, const struct sockaddr_in *addr,
                           const lg_client_config *cfg, const lg_client_handlers *handlers, void *ctx)
{
    lg_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    c->client_id = strdup(cfg->client_id);
    snprintf(c->username, sizeof c->username, "%s", cfg->username ? cfg->username : "");
    c->out = evbuffer_new();
    c->read_size = cfg->read_size;
    c->rcap = cfg->read_size;
    c->rbuf = malloc(c->rcap);
    if (c->fd < 0 || !c->client_id || !c->out || !c->rbuf)
        goto fail;
    if (cfg->tls_ctx) {
        c->ssl = SSL_new(cfg->tls_ctx);
        if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1 ||
            (cfg->tls_servername && SSL_set_tlsext_host_name(c->ssl, cfg->tls_servername) != 1) ||
            (cfg->tls_session && SSL_set_session(c->ssl, cfg->tls_session) != 1))
            goto fail;
        SSL_set_connect_state(c->ssl);
        /* Subscribers read many records per read(), like their plain read()s. */
        if (cfg->read_size > TLS_RECORD)
            SSL_set_default_read_buffer_len(c->ssl, cfg->read_size + 1024);
    }
    /* Small packets, and latency is measured: no Nagle delay. */
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->rev = event_new(base, c->fd, EV_READ | EV_PERSIST, on_readable, c);
    c->wev = event_new(base, c->fd, EV_WRITE | EV_PERSIST, on_writable, c);
    if (!c->rev || !c->wev)
        goto fail;
    c->version = cfg->version;
    c->keep_alive = cfg->keep_alive;
    c->session_expiry = cfg->session_expiry;
    c->low_water = cfg->low_water;
    c->h = *handlers;
    c->ctx = ctx;
    c->state = ST_TCP_CONNECTING;
    /* A source address of its own, the port left to connect() so that a port
     * is only taken per (source, destination) pair: each source address of
     * 127.0.0.0/8 brings the whole ephemeral port range again. */
    if (cfg->source && (setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one) != 0 ||
                        bind(c->fd, (const struct sockaddr *)cfg->source, sizeof *cfg->source) != 0))
        goto fail;
    if (connect(c->fd, (const struct sockaddr *)addr, sizeof *addr) != 0 && errno != EINPROGRESS)
        goto fail;
    /* Writable means connected (or failed): on_writable finds out which. */
    if (event_add(c->wev, NULL) != 0)
        goto fail;
    c->wev_added = true;
    return c;
fail:;
    int saved = errno;
    c->state = ST_CLOSED;
    lg_client_free(c);
    errno = saved;
    return NULL;
}

void lg_client_free(lg_client *c)
{
    if (!c)
        return;
    if (c->state != ST_CLOSED && c->fd >= 0)
        release_socket(c);
    else if (c->fd >= 0)
        evutil_closesocket(c->fd);
    if (c->rev)
        event_free(c->rev);
    if (c->wev)
        event_free(c->wev);
    if (c->out)
        evbuffer_free(c->out);
    SSL_free(c->ssl);
    free(c->rbuf);
    free(c->client_id);
    free(c);
}

static void send_connect(lg_client *c)
{
    mqtt_packet p = {.type = MQTT_CONNECT};
    mqtt_connect *cn = &p.u.connect;
    cn->protocol_version = c->version;
    cn->clean_start = c->session_expiry == 0;
    if (c->session_expiry && c->version == MQTT_V5) {
        cn->props.present |= MQTT_PROP_BIT(MQTT_PROP_SESSION_EXPIRY_INTERVAL);
        cn->props.session_expiry_interval = c->session_expiry;
    }
    cn->keep_alive = c->keep_alive;
    cn->client_id = (mqtt_bytes){(const uint8_t *)c->client_id, (uint32_t)strlen(c->client_id)};
    cn->has_username = c->username[0] != '\0';
    cn->username = (mqtt_bytes){(const uint8_t *)c->username, (uint32_t)strlen(c->username)};
    send_packet(c, &p);
}

bool lg_client_subscribe(lg_client *c, const char *filter, uint8_t qos)
{
    mqtt_subscription entry = {.filter = {(const uint8_t *)filter, (uint32_t)strlen(filter)}, .qos = qos};
    mqtt_packet p = {.type = MQTT_SUBSCRIBE};
    p.u.subscribe.packet_id = 1;
    p.u.subscribe.count = 1;
    p.u.subscribe.entries = &entry;
    return send_packet(c, &p);
}

bool lg_client_publish(lg_client *c, mqtt_bytes topic, mqtt_bytes payload, uint8_t qos, uint16_t packet_id)
{
    mqtt_packet p = {.type = MQTT_PUBLISH};
    p.u.publish.qos = qos;
    p.u.publish.topic = topic;
    p.u.publish.packet_id = packet_id;
    p.u.publish.payload = payload;
    return send_packet(c, &p);
}

static void send_puback(lg_client *c, uint16_t packet_id)
{
    mqtt_packet p = {.type = MQTT_PUBACK};
    p.u.ack.packet_id = packet_id;
    send_packet(c, &p);
}

size_t lg_client_pending(const lg_client *c)
{
    return evbuffer_get_length(c->out);
}

bool lg_client_is_open(const lg_client *c)
{
    return c->state != ST_CLOSED;
}

SSL_SESSION *lg_client_tls_session(const lg_client *c)
{
    SSL_SESSION *s = c->ssl ? SSL_get1_session(c->ssl) : NULL;
    if (s && !SSL_SESSION_is_resumable(s)) {
        SSL_SESSION_free(s);
        s = NULL;
    }
    return s;
}

bool lg_client_tls_resumed(const lg_client *c)
{
    return c->ssl && SSL_session_reused(c->ssl);
}

const char *lg_client_tls_version(const lg_client *c)
{
    return c->ssl ? SSL_get_version(c->ssl) : NULL;
}

const char *lg_client_tls_cipher(const lg_client *c)
{
    return c->ssl ? SSL_get_cipher_name(c->ssl) : NULL;
}

/* Why a TLS call failed, for the `closed` handler. */
static void tls_failure(lg_client *c, const char *what, int ret)
{
    char why[200];
    int saved_errno = errno;
    int err = SSL_get_error(c->ssl, ret);
    unsigned long e = ERR_peek_error();
    long verify = SSL_get_verify_result(c->ssl);
    if (err == SSL_ERROR_ZERO_RETURN ||
        (err == SSL_ERROR_SYSCALL && e == 0 && (ret == 0 || saved_errno == 0))) {
        snprintf(why, sizeof why, "%s: connection closed by the broker", what);
    } else if (err == SSL_ERROR_SYSCALL && e == 0) {
        snprintf(why, sizeof why, "%s: %s", what, strerror(saved_errno));
    } else if (verify != X509_V_OK) {
        snprintf(why, sizeof why, "%s: broker certificate not accepted: %s", what,
                 X509_verify_cert_error_string(verify));
    } else {
        char text[160];
        ERR_error_string_n(e, text, sizeof text);
        snprintf(why, sizeof why, "%s: %s", what, text);
    }
    ERR_clear_error();
    fail(c, why);
}

/* The write event is armed while there is output left or a `writable` call is owed. */
static void arm_write_event(lg_client *c)
{
    if (c->state == ST_CLOSED || c->state == ST_TCP_CONNECTING)
        return;
    bool need = c->tls_wants_write;
    if (c->state != ST_TLS_HANDSHAKE)
        need = need || c->want_writable || evbuffer_get_length(c->out) > 0;
    if (need && !c->wev_added) {
        event_add(c->wev, NULL);
        c->wev_added = true;
    } else if (!need && c->wev_added) {
        event_del(c->wev);
        c->wev_added = false;
    }
}

/* TLS: one record per SSL_write, until the socket pushes back. */
static bool tls_write_out(lg_client *c)
{
    size_t len;
    while ((len = evbuffer_get_length(c->out)) > 0) {
        size_t chunk = len < TLS_RECORD ? len : TLS_RECORD;
        /* Contiguous: the first chunk of the buffer in place, or a copy of it.
         * A retry after WANT_WRITE passes the same bytes, maybe moved and with
         * more after them: SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER allows that. */
        unsigned char *data = evbuffer_pullup(c->out, (ev_ssize_t)chunk);
        ERR_clear_error();
        int n = SSL_write(c->ssl, data, (int)chunk);
        if (n > 0) {
            evbuffer_drain(c->out, (size_t)n);
            continue;
        }
        int err = SSL_get_error(c->ssl, n);
        if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ)
            return true; /* the write event (armed: output is left), or the next read, resumes */
        tls_failure(c, "TLS write failed", n);
        return false;
    }
    return true;
}

/* False if the connection failed. */
static bool write_out(lg_client *c)
{
    if (evbuffer_get_length(c->out) == 0)
        return true;
    if (c->ssl)
        return tls_write_out(c);
    if (evbuffer_write(c->out, c->fd) < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        char why[96];
        snprintf(why, sizeof why, "write failed: %s", strerror(errno));
        fail(c, why);
        return false;
    }
    return true;
}

void lg_client_flush(lg_client *c)
{
    if (c->state == ST_CLOSED || c->state == ST_TCP_CONNECTING || c->state == ST_TLS_HANDSHAKE)
        return;
    if (write_out(c))
        arm_write_event(c);
}

void lg_client_want_writable(lg_client *c)
{
    c->want_writable = true;
    arm_write_event(c);
}

void lg_client_disconnect(lg_client *c)
{
    if (c->state == ST_CLOSED)
        return;
    if (c->state == ST_AWAIT_CONNACK || c->state == ST_ACTIVE) {
        mqtt_packet p = {.type = MQTT_DISCONNECT};
        send_packet(c, &p);
        /* One attempt: a broker that does not read any more is not waited for.
         * TLS: one record, then close_notify. */
        if (c->ssl) {
            size_t len = evbuffer_get_length(c->out);
            len = len < TLS_RECORD ? len : TLS_RECORD;
            ERR_clear_error();
            SSL_write(c->ssl, evbuffer_pullup(c->out, (ev_ssize_t)len), (int)len);
            /* close_notify, like libmosquitto: OpenSSL marks the session of an
             * SSL freed without it as not resumable (--tls-resume needs it). */
            SSL_shutdown(c->ssl);
            ERR_clear_error();
        } else {
            evbuffer_write(c->out, c->fd);
        }
    }
    release_socket(c);
}

/* Drives the TLS handshake; once it is done, CONNECT goes out (TLS 1.3: in
 * the same flight as the client's Finished). */
static void tls_handshake(lg_client *c)
{
    ERR_clear_error();
    int r = SSL_do_handshake(c->ssl);
    c->tls_wants_write = false;
    if (r == 1) {
        c->state = ST_AWAIT_CONNACK;
        send_connect(c);
        lg_client_flush(c);
        /* Records read ahead with the handshake's would not wake the loop. */
        if (c->state != ST_CLOSED && SSL_has_pending(c->ssl))
            event_active(c->rev, EV_READ, 0);
        return;
    }
    int err = SSL_get_error(c->ssl, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        c->tls_wants_write = err == SSL_ERROR_WANT_WRITE;
        arm_write_event(c);
        return;
    }
    tls_failure(c, "TLS handshake failed", r);
}

static void tcp_connected(lg_client *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err) {
        char why[96];
        snprintf(why, sizeof why, "connect failed: %s", strerror(err));
        fail(c, why);
        return;
    }
    event_add(c->rev, NULL);
    if (c->ssl) {
        c->state = ST_TLS_HANDSHAKE;
        tls_handshake(c);
        return;
    }
    c->state = ST_AWAIT_CONNACK;
    send_connect(c);
    lg_client_flush(c);
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    lg_client *c = arg;
    if (c->state == ST_TCP_CONNECTING) {
        tcp_connected(c);
        return;
    }
    if (c->state == ST_TLS_HANDSHAKE) {
        tls_handshake(c);
        return;
    }
    if (c->tls_wants_write) { /* SSL_read could not finish: let it try again */
        c->tls_wants_write = false;
        on_readable(c->fd, EV_READ, c);
        if (c->state == ST_CLOSED)
            return;
    }
    if (!write_out(c))
        return;
    if (c->want_writable && evbuffer_get_length(c->out) <= c->low_water) {
        c->want_writable = false;
        c->h.writable(c->ctx);
    }
    arm_write_event(c);
}

static void dispatch(lg_client *c, const mqtt_packet *p)
{
    char why[96];
    switch (p->type) {
    case MQTT_CONNACK:
        if (c->state != ST_AWAIT_CONNACK) {
            fail(c, "unexpected CONNACK");
        } else if (p->u.connack.reason_code != 0) {
            snprintf(why, sizeof why, "CONNACK refused: 0x%02x", p->u.connack.reason_code);
            fail(c, why);
        } else {
            c->state = ST_ACTIVE;
            c->h.connected(c->ctx);
        }
        return;
    case MQTT_SUBACK: {
        mqtt_bytes rc = p->u.suback.reason_codes;
        c->h.subscribed(c->ctx, rc.len ? rc.data[0] : 0x80);
        return;
    }
    case MQTT_PUBLISH:
        c->h.message(c->ctx, &p->u.publish);
        if (p->u.publish.qos == 1)
            send_puback(c, p->u.publish.packet_id);
        return;
    case MQTT_PUBACK: c->h.acked(c->ctx, p->u.ack.packet_id); return;
    case MQTT_DISCONNECT:
        snprintf(why, sizeof why, "DISCONNECT from the broker: 0x%02x", p->u.disconnect.reason_code);
        fail(c, why);
        return;
    default: return; /* PINGRESP and the rest: nothing to do for a load generator */
    }
}

/* Room for a whole packet of `total` bytes in the read buffer. */
static bool reserve(lg_client *c, size_t total)
{
    if (total <= c->rcap)
        return true;
    uint8_t *grown = realloc(c->rbuf, total);
    if (!grown)
        return false;
    c->rbuf = grown;
    c->rcap = total;
    return true;
}

/* Decodes every whole packet at the start of rbuf; returns the bytes used. */
static size_t parse_packets(lg_client *c)
{
    size_t off = 0;
    while (c->state != ST_CLOSED && c->rlen - off >= 2) {
        size_t avail = c->rlen - off;
        mqtt_frame frame;
        mqtt_error err = {0};
        enum mqtt_frame_status st = mqtt_frame_parse(c->rbuf + off, avail < 5 ? avail : 5, 0, &frame, &err);
        if (st == MQTT_FRAME_INCOMPLETE)
            break;
        if (st == MQTT_FRAME_ERROR) {
            fail(c, err.rule);
            break;
        }
        if (frame.total_len > avail) {
            if (!reserve(c, frame.total_len))
                fail(c, "out of memory for a large packet");
            break;
        }
        mqtt_packet p;
        if (mqtt_decode(c->rbuf + off, frame.total_len, c->version, MQTT_ROLE_CLIENT, &p, &err) != 0) {
            fail(c, err.rule);
            break;
        }
        dispatch(c, &p);
        off += frame.total_len;
    }
    return off;
}

/* Hands what was read to the parser, keeps the incomplete rest. False if closed. */
static bool consume(lg_client *c, size_t n)
{
    c->rlen += n;
    size_t used = parse_packets(c);
    if (c->state == ST_CLOSED)
        return false;
    c->rlen -= used;
    if (c->rlen && used)
        memmove(c->rbuf, c->rbuf + used, c->rlen);
    return true;
}

/* TLS: records are read until OpenSSL has nothing buffered (its read-ahead may
 * hold several; the socket will report readable again for the rest), at most
 * read_size bytes per call so that the other clients get their turn. */
static void tls_readable(lg_client *c)
{
    size_t total = 0;
    for (;;) {
        size_t room = c->rcap - c->rlen;
        if (room > c->read_size)
            room = c->read_size;
        if (room == 0) /* parse_packets makes room for any packet: not reached */
            break;
        ERR_clear_error();
        int n = SSL_read(c->ssl, c->rbuf + c->rlen, (int)room);
        if (n <= 0) {
            int err = SSL_get_error(c->ssl, n);
            if (err == SSL_ERROR_WANT_WRITE) {
                c->tls_wants_write = true;
                arm_write_event(c);
            } else if (err != SSL_ERROR_WANT_READ) {
                tls_failure(c, "TLS read failed", n);
                return;
            }
            break;
        }
        if (!consume(c, (size_t)n))
            return;
        total += (size_t)n;
        if (!SSL_has_pending(c->ssl))
            break;
        if (total >= c->read_size) { /* more is buffered in OpenSSL: come back on the next iteration */
            event_active(c->rev, EV_READ, 0);
            break;
        }
    }
    lg_client_flush(c);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    lg_client *c = arg;
    if (c->state == ST_TLS_HANDSHAKE) {
        tls_handshake(c);
        return;
    }
    if (c->state == ST_CLOSED)
        return;
    if (c->ssl) {
        tls_readable(c);
        return;
    }
    size_t room = c->rcap - c->rlen;
    if (room > c->read_size)
        room = c->read_size;
    ssize_t n = read(fd, c->rbuf + c->rlen, room);
    if (n == 0) {
        fail(c, "connection closed by the broker");
        return;
    }
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            char why[96];
            snprintf(why, sizeof why, "read failed: %s", strerror(errno));
            fail(c, why);
        }
        return;
    }
    if (!consume(c, (size_t)n))
        return;
    /* Acknowledgements and whatever the handlers queued go out in one write. */
    lg_client_flush(c);
}
