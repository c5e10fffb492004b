#include "listener.h"
#include "net_addr.h"

#include <arpa/inet.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "conn_transport.h"
#include "log.h"
#include "realm.h"
#include "tls.h"
#include "ws.h"
#include "worker.h"
#include "xthread_ring.h"

struct listener {
    broker *broker;
    struct evconnlistener *evl;
    listener_config cfg;
    struct realm *realm; /* where its clients go unless TLS SNI names another namespace */
    int port;
    tls_server *tls;      /* mqtts: owned; NULL for plain listeners */
    unsigned next_worker; /* accepted connections go to the workers in turn */
};

static void format_peer(const struct sockaddr *sa, char *out, size_t len)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
    }
    snprintf(out, len, "%s:%d", host, port);
}

/* A socket the main thread accepted for a worker thread (worker.accepted): what serving it
 * needs, copied, since the listener may stop before the worker gets to it. */
struct accepted_socket {
    struct accepted_socket *next;
    evutil_socket_t fd;
    SSL *ssl; /* TLS listeners: made on the main thread, which owns the certificates */
    struct realm *realm;
    uint8_t type; /* listener_type */
    char path[sizeof((listener_config *)0)->path];
    char peer[64];
};

/* Worker `w` serves an accepted socket (and its SSL object, for TLS listeners). */
static void serve(worker *w, const struct accepted_socket *a)
{
    struct bufferevent *bev = NULL;
    if (a->ssl) {
        if (!(bev = conn_transport_socket_bev(w->base, a->fd, a->ssl, BUFFEREVENT_SSL_ACCEPTING)))
            SSL_free(a->ssl);
    } else {
        bev = conn_transport_socket_bev(w->base, a->fd, NULL, 0);
    }
    if (!bev) {
        log_msg(LOG_ERROR, "listener", "cannot allocate a connection");
        evutil_closesocket(a->fd);
        return;
    }
    bool tls = a->type == LISTENER_MQTTS || a->type == LISTENER_WSS;
    if (a->type == LISTENER_WS || a->type == LISTENER_WSS) {
        ws_accept(w, a->realm, bev, a->path, tls, a->peer);
        return;
    }
    conn *c = conn_new(w, a->realm, bev, a->peer);
    if (c) {
        c->tls = tls;
        c->direct_write = !tls; /* plain TCP: the broker may write to the socket itself */
    }
}

static void accept_cb(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa, int socklen,
                      void *arg)
{
    (void)evl, (void)socklen;
    listener *l = arg;
    if (l->broker->shutting_down) {
        evutil_closesocket(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
               sizeof one); /* MQTT packets are small and latency matters */
    worker *w = l->broker->workers[l->next_worker++ % (unsigned)l->broker->worker_count];
    struct accepted_socket a = {.fd = fd, .realm = l->realm, .type = (uint8_t)l->cfg.type};
    snprintf(a.path, sizeof a.path, "%s", l->cfg.path);
    format_peer(sa, a.peer, sizeof a.peer);
    if (l->tls && !(a.ssl = tls_server_accept(l->tls))) {
        log_msg(LOG_ERROR, "listener", "cannot allocate a TLS connection");
        evutil_closesocket(fd);
        return;
    }
    if (w->base == l->broker->base) { /* the worker runs on this thread */
        serve(w, &a);
        return;
    }
    struct accepted_socket *handed = malloc(sizeof *handed);
    if (!handed) {
        log_msg(LOG_ERROR, "listener", "cannot allocate a connection");
        SSL_free(a.ssl);
        evutil_closesocket(fd);
        return;
    }
    *handed = a;
    pthread_mutex_lock(&w->moving_mu);
    *w->accepted_tail = handed;
    w->accepted_tail = &handed->next;
    pthread_mutex_unlock(&w->moving_mu);
    xthread_waker_signal(w->moving_waker);
}

/* Takes worker `w`'s accepted sockets out of its inbox. */
static struct accepted_socket *take_accepted(worker *w)
{
    pthread_mutex_lock(&w->moving_mu);
    struct accepted_socket *a = w->accepted;
    w->accepted = NULL;
    w->accepted_tail = &w->accepted;
    pthread_mutex_unlock(&w->moving_mu);
    return a;
}

void listener_serve_accepted(worker *w)
{
    for (struct accepted_socket *a = take_accepted(w), *next; a; a = next) {
        next = a->next;
        if (w->broker->shutting_down) {
            SSL_free(a->ssl);
            evutil_closesocket(a->fd);
        } else {
            serve(w, a);
        }
        free(a);
    }
}

void listener_drop_accepted(worker *w)
{
    for (struct accepted_socket *a = take_accepted(w), *next; a; a = next) {
        next = a->next;
        SSL_free(a->ssl);
        evutil_closesocket(a->fd);
        free(a);
    }
}

static void accept_error_cb(struct evconnlistener *evl, void *arg)
{
    (void)evl;
    listener *l = arg;
    /* EMFILE and friends: log and keep listening; the next accept may succeed. */
    log_msg(LOG_ERROR, "listener", "accept failed on port %d: %s", l->port,
            evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

listener *listener_start(broker *b, const listener_config *cfg)
{
    tls_server *tls = NULL;
    bool secure = cfg->type == LISTENER_MQTTS || cfg->type == LISTENER_WSS;
    if (secure && !(tls = tls_server_new(cfg->cert, cfg->key, cfg->request_client_certificate)))
        return NULL;
    struct sockaddr_storage ss;
    int sslen = sizeof ss;
    char addr[96];
    snprintf(addr, sizeof addr, strchr(cfg->bind, ':') ? "[%s]:%u" : "%s:%u", cfg->bind, cfg->port);
    memset(&ss, 0, sizeof ss);
    if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &sslen) != 0) {
        log_msg(LOG_ERROR, "listener", "cannot parse address %s", addr);
        return NULL;
    }
    listener *l = calloc(1, sizeof *l);
    if (!l) {
        tls_server_free(tls);
        return NULL;
    }
    l->broker = b;
    l->cfg = *cfg;
    l->realm = realm_find(b, cfg->namespace_name);
    if (!l->realm) /* open mode, or a listener built in code: the broker's first realm */
        l->realm = b->realms[0];
    l->tls = tls;
    l->evl = evconnlistener_new_bind(b->base, accept_cb, l, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 1024,
                                     (struct sockaddr *)&ss, sslen);
    if (!l->evl) {
        log_msg(LOG_ERROR, "listener", "cannot listen on %s: %s", addr,
                evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        tls_server_free(tls);
        free(l);
        return NULL;
    }
    evconnlistener_set_error_cb(l->evl, accept_error_cb);
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    getsockname(evconnlistener_get_fd(l->evl), (struct sockaddr *)&bound, &blen);
    l->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                : ((struct sockaddr_in *)&bound)->sin_port);
    log_msg(LOG_INFO, "listener", "listening type=%s address=%s port=%d", listener_type_name(cfg->type),
            cfg->bind, l->port);
    if ((cfg->type == LISTENER_MQTT || cfg->type == LISTENER_WS) && !net_addr_is_loopback(cfg->bind))
        log_msg(LOG_WARN, "listener",
                "insecure plain listener on %s:%d: credentials and messages cross the network unencrypted",
                cfg->bind, l->port);
    return l;
}

int listener_port(const listener *l)
{
    return l->port;
}

void listener_stop(listener *l)
{
    if (!l)
        return;
    evconnlistener_free(l->evl);
    tls_server_free(l->tls);
    free(l);
}

int listener_reload_tls(listener *l)
{
    if (!l->tls)
        return 0;
    tls_server *fresh = tls_server_new(l->cfg.cert, l->cfg.key, l->cfg.request_client_certificate);
    if (!fresh) {
        log_msg(LOG_ERROR, "listener", "TLS files of port %d not reloaded: keeping the current ones",
                l->port);
        return -1;
    }
    /* Live connections keep their SSL objects, which hold the old context alive. */
    tls_server_free(l->tls);
    l->tls = fresh;
    log_msg(LOG_INFO, "listener", "TLS certificate and key reloaded port=%d cert=%s", l->port, l->cfg.cert);
    return 0;
}
