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
 * (which it then owns); the result carries plain MQTT bytes, and *handle names its framing
 * state for ws_filter_detach. NULL on failure. */
typedef struct ws_frames ws_frames;
typedef struct ws_filter ws_filter;
struct bufferevent *ws_filter_new(struct bufferevent *under, uint32_t max_message, ws_filter **handle);
/* A connection moving to another worker: takes the framing state (partial frames included)
 * out of its filter, which may then be freed; ws_filter_wrap stacks it on the new worker's
 * bufferevent, or ws_frames_free drops it. */
ws_frames *ws_filter_detach(ws_filter *handle);
struct bufferevent *ws_filter_wrap(struct bufferevent *under, ws_frames *f, ws_filter **handle);
void ws_frames_free(ws_frames *f);

#endif
