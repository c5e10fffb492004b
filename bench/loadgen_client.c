/* MQTT client connection: non-blocking connect, CONNECT, read loop, batched writes. */
#include "loadgen_client.h"

#include <errno.h>
#include <event2/buffer.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mqtt_codec.h"
#include "mqtt_evbuffer.h"

enum client_state { ST_TCP_CONNECTING, ST_AWAIT_CONNACK, ST_ACTIVE, ST_CLOSED };

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
    char *client_id;
    lg_client_handlers h;
    void *ctx;
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
    c->out = evbuffer_new();
    c->read_size = cfg->read_size;
    c->rcap = cfg->read_size;
    c->rbuf = malloc(c->rcap);
    if (c->fd < 0 || !c->client_id || !c->out || !c->rbuf)
        goto fail;
    /* Small packets, and latency is measured: no Nagle delay. */
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->rev = event_new(base, c->fd, EV_READ | EV_PERSIST, on_readable, c);
    c->wev = event_new(base, c->fd, EV_WRITE | EV_PERSIST, on_writable, c);
    if (!c->rev || !c->wev)
        goto fail;
    c->version = cfg->version;
    c->keep_alive = cfg->keep_alive;
    c->low_water = cfg->low_water;
    c->h = *handlers;
    c->ctx = ctx;
    c->state = ST_TCP_CONNECTING;
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
    free(c->rbuf);
    free(c->client_id);
    free(c);
}

static void send_connect(lg_client *c)
{
    mqtt_packet p = {.type = MQTT_CONNECT};
    mqtt_connect *cn = &p.u.connect;
    cn->protocol_version = c->version;
    cn->clean_start = true;
    cn->keep_alive = c->keep_alive;
    cn->client_id = (mqtt_bytes){(const uint8_t *)c->client_id, (uint32_t)strlen(c->client_id)};
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

/* The write event is armed while there is output left or a `writable` call is owed. */
static void arm_write_event(lg_client *c)
{
    if (c->state == ST_CLOSED || c->state == ST_TCP_CONNECTING)
        return;
    bool need = c->want_writable || evbuffer_get_length(c->out) > 0;
    if (need && !c->wev_added) {
        event_add(c->wev, NULL);
        c->wev_added = true;
    } else if (!need && c->wev_added) {
        event_del(c->wev);
        c->wev_added = false;
    }
}

/* False if the connection failed. */
static bool write_out(lg_client *c)
{
    if (evbuffer_get_length(c->out) == 0)
        return true;
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
    if (c->state == ST_CLOSED || c->state == ST_TCP_CONNECTING)
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
    if (c->state != ST_TCP_CONNECTING) {
        mqtt_packet p = {.type = MQTT_DISCONNECT};
        send_packet(c, &p);
        /* One attempt: a broker that does not read any more is not waited for. */
        evbuffer_write(c->out, c->fd);
    }
    release_socket(c);
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
    c->state = ST_AWAIT_CONNACK;
    event_add(c->rev, NULL);
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

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    lg_client *c = arg;
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
    c->rlen += (size_t)n;
    size_t used = parse_packets(c);
    if (c->state == ST_CLOSED)
        return;
    c->rlen -= used;
    if (c->rlen && used)
        memmove(c->rbuf, c->rbuf + used, c->rlen);
    /* Acknowledgements and whatever the handlers queued go out in one write. */
    lg_client_flush(c);
}
