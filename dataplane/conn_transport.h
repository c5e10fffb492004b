/* A connection's transport taken apart on one worker and rebuilt on another, so that a
 * connection can move to its session's home worker at CONNECT (docs/design-threads.md).
 * libevent's bufferevents belong to one event base; what moves is what they wrap: the
 * socket, the TLS session (its SSL object, handshake done), the WebSocket framing state, and
 * the bytes read or to be sent that they held.
 *
 * Ownership: a conn_transport owns everything in it until attached (or freed). The socket
 * and the SSL object are the connection's, not its bufferevent's: conn_transport_close frees
 * them once the bufferevent is gone. */
#ifndef EG_CONN_TRANSPORT_H
#define EG_CONN_TRANSPORT_H

#include <event2/util.h>
#include <openssl/ssl.h>
#include <stdbool.h>

#include "ws.h"

struct bufferevent;
struct evbuffer;
struct event_base;

typedef struct conn_transport {
    evutil_socket_t fd;
    SSL *ssl;                 /* NULL: plain */
    ws_frames *ws;            /* NULL: no WebSocket framing */
    struct evbuffer *in;      /* MQTT bytes read and not handled yet (the CONNECT first) */
    struct evbuffer *wire_in; /* WebSocket: socket bytes not unwrapped yet */
    struct evbuffer *out;     /* bytes for the socket, not written yet (a WebSocket 101 reply) */
} conn_transport;

/* The bufferevent for an accepted socket: plain, or TLS over `ssl` in `state` (accepting, or
 * open after a hand-over). Neither frees the socket or the SSL object with itself. */
struct bufferevent *conn_transport_socket_bev(struct event_base *base, evutil_socket_t fd, SSL *ssl,
                                              int ssl_state);

/* Takes the transport out of `bev` (the connection's top bufferevent; `ws`: its WebSocket
 * framing handle, or NULL) and frees the bufferevents. False when out of memory: nothing
 * changed. */
bool conn_transport_detach(struct bufferevent *bev, ws_filter *ws, conn_transport *t);

/* Rebuilds the bufferevents on `base`; the bytes carried are put back (input first in line).
 * Returns the top bufferevent and sets *ws; NULL on failure, the transport left to free. */
struct bufferevent *conn_transport_attach(struct event_base *base, conn_transport *t, ws_filter **ws);

/* Frees what a detached transport still holds, closing the socket. */
void conn_transport_free(conn_transport *t);

/* Frees a connection's bufferevents (`top` and any below it), its socket and its SSL object. */
void conn_transport_free_bev(struct bufferevent *top);

#endif
