/* Moving a connection's transport between event bases (conn_transport.h).
 *
 * A plain socket's bufferevent closes its socket when freed, unless told first that it has
 * none (bufferevent_setfd -1). A TLS bufferevent is made without BEV_OPT_CLOSE_ON_FREE: its
 * destruction is deferred by libevent, and with the option it would close whatever socket the
 * SSL object holds by then, which after a hand-over is the new bufferevent's. */
#include "conn_transport.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <stdlib.h>

/* The bufferevent on the socket: `top` itself, or the one under its WebSocket framing. */
static struct bufferevent *socket_bev(struct bufferevent *top)
{
    struct bufferevent *under = bufferevent_get_underlying(top);
    return under ? under : top;
}

struct bufferevent *conn_transport_socket_bev(struct event_base *base, evutil_socket_t fd, SSL *ssl,
                                              int ssl_state)
{
    struct bufferevent *bev;
    if (!ssl) {
        bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    } else {
        bev = bufferevent_openssl_socket_new(base, fd, ssl, (enum bufferevent_ssl_state)ssl_state, 0);
        if (bev) /* a client that just closes without close_notify is not an error */
            bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    }
    if (!bev)
        return NULL;
    /* libevent reads 4 KiB and writes 16 KiB per call by default: one 4 KiB PUBLISH
     * would take two reads, and a busy subscriber many writes per loop turn. */
    bufferevent_set_max_single_read(bev, 64 * 1024);
    bufferevent_set_max_single_write(bev, 1024 * 1024);
    return bev;
}

/* What the bufferevents do not free: a TLS connection's SSL object and socket. */
static void close_tls(evutil_socket_t fd, SSL *ssl)
{
    if (!ssl)
        return; /* a plain socket went with its bufferevent */
    SSL_free(ssl);
    if (fd >= 0)
        evutil_closesocket(fd);
}

void conn_transport_free_bev(struct bufferevent *top)
{
    struct bufferevent *sock = socket_bev(top);
    SSL *ssl = bufferevent_openssl_get_ssl(sock);
    evutil_socket_t fd = bufferevent_getfd(sock);
    bufferevent_free(top);
    close_tls(fd, ssl);
}

/* Moves `from` (NULL: nothing) into a bufferevent's buffer `to`, at its start or its end. A
 * socket bufferevent keeps its input's end and its output's start frozen (only it touches
 * them): that end is thawed for this, and frozen again. */
static void put(struct evbuffer *to, struct evbuffer *from, bool at_start)
{
    if (!from)
        return;
    int (*move)(struct evbuffer *, struct evbuffer *) =
        at_start ? evbuffer_prepend_buffer : evbuffer_add_buffer;
    if (move(to, from) == 0)
        return;
    evbuffer_unfreeze(to, at_start);
    move(to, from);
    evbuffer_freeze(to, at_start);
}

/* Frees the buffers a transport carries. */
static void free_buffers(conn_transport *t)
{
    struct evbuffer *bufs[] = {t->in, t->out, t->wire_in};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i])
            evbuffer_free(bufs[i]);
    t->in = t->out = t->wire_in = NULL;
}

/* Moves what `from` holds to a new buffer in *to. */
static bool take(struct evbuffer *from, struct evbuffer **to)
{
    if (!(*to = evbuffer_new()))
        return false;
    return evbuffer_add_buffer(*to, from) == 0;
}

/* Appends what OpenSSL decrypted and holds (the rest of a record the bufferevent read only
 * part of) to `to`: the socket will not say it is readable for those bytes. */
static bool drain_ssl(SSL *ssl, struct evbuffer *to)
{
    char buf[4096];
    while (SSL_has_pending(ssl)) {
        int n = SSL_read(ssl, buf, sizeof buf);
        if (n <= 0) {
            ERR_clear_error(); /* want-read: the rest of a record is still on the socket */
            break;
        }
        if (evbuffer_add(to, buf, (size_t)n) != 0)
            return false;
    }
    return true;
}

bool conn_transport_detach(struct bufferevent *bev, ws_filter *ws, conn_transport *t)
{
    struct bufferevent *sock = socket_bev(bev);
    *t = (conn_transport){.fd = bufferevent_getfd(sock), .ssl = bufferevent_openssl_get_ssl(sock)};
    if (!take(bufferevent_get_input(bev), &t->in) || !take(bufferevent_get_output(sock), &t->out) ||
        (ws && !take(bufferevent_get_input(sock), &t->wire_in)) ||
        (t->ssl && !drain_ssl(t->ssl, ws ? t->wire_in : t->in))) {
        /* Put back what moved: the connection goes on where it is. */
        put(bufferevent_get_input(bev), t->in, true);
        put(bufferevent_get_output(sock), t->out, true);
        if (ws)
            put(bufferevent_get_input(sock), t->wire_in, true);
        free_buffers(t);
        *t = (conn_transport){.fd = -1};
        return false;
    }
    if (ws)
        t->ws = ws_filter_detach(ws);
    bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
    bufferevent_disable(bev, EV_READ | EV_WRITE);
    if (!t->ssl)
        bufferevent_setfd(sock, -1); /* the socket stays open */
    bufferevent_free(bev);
    return true;
}

struct bufferevent *conn_transport_attach(struct event_base *base, conn_transport *t, ws_filter **ws)
{
    *ws = NULL;
    struct bufferevent *sock = conn_transport_socket_bev(base, t->fd, t->ssl, BUFFEREVENT_SSL_OPEN);
    if (!sock)
        return NULL;
    struct bufferevent *top = sock;
    if (t->ws && !(top = ws_filter_wrap(sock, t->ws, ws))) {
        if (!t->ssl)
            bufferevent_setfd(sock, -1); /* the transport keeps its socket */
        bufferevent_free(sock);
        return NULL;
    }
    /* The bufferevents own the socket (plain) and the framing state from here. The one under
     * the framing reads for it (the filter only lets it, as ws.c's upgrade had it reading). */
    if (t->ws)
        bufferevent_enable(sock, EV_READ | EV_WRITE);
    t->ws = NULL;
    put(bufferevent_get_output(sock), t->out, false);
    put(bufferevent_get_input(top), t->in, false);
    if (t->wire_in) { /* unwrapped once the filter looks at them: now, not at the next read */
        put(bufferevent_get_input(sock), t->wire_in, false);
        bufferevent_trigger(sock, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
    }
    free_buffers(t);
    t->fd = -1;
    t->ssl = NULL;
    return top;
}

void conn_transport_free(conn_transport *t)
{
    free_buffers(t);
    ws_frames_free(t->ws);
    if (t->ssl)
        close_tls(t->fd, t->ssl);
    else if (t->fd >= 0)
        evutil_closesocket(t->fd);
    *t = (conn_transport){.fd = -1};
}
