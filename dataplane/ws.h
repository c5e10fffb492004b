/* MQTT over WebSockets (RFC 6455): the HTTP/1.1 upgrade on a configured path
 * with subprotocol "mqtt" (or "mqttv3.1"), then binary frames carrying MQTT
 * bytes in any split, framed by libwslay. A bad upgrade gets 400, 404 or 426.
 *
 * Ownership: ws_accept takes the accepted (plain or TLS) bufferevent; after the
 * upgrade the connection owns a filter bufferevent stacked on it, which frees
 * the framing state and the socket with itself. */
#ifndef EG_WS_H
#define EG_WS_H

#include <stdbool.h>
#include <stdint.h>

#include "broker.h"

struct bufferevent;

/* Serves the upgrade on `under`, then hands a bufferevent of plain MQTT bytes to conn_new. */
struct realm;
/* `r`: the listener's realm (namespace), the connection's until CONNECT chooses. */
struct worker;
void ws_accept(struct worker *w, struct realm *r, struct bufferevent *under, const char *path, bool tls,
               const char *peer);

/* Internal to the transport (ws_frames.c): stacks WebSocket framing on `under`
 * (which it then owns); the result carries plain MQTT bytes. NULL on failure. */
struct bufferevent *ws_filter_new(struct bufferevent *under, uint32_t max_message);

#endif
