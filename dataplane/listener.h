/* Listening sockets: accept connections and hand them to conn_new as
 * bufferevents (the transport seam: TLS and WebSockets add their own here).
 * Listeners run on the main thread; accepted sockets go to the workers in turn,
 * through the worker's inbox when it runs on its own thread. */
#ifndef EG_LISTENER_H
#define EG_LISTENER_H

#include "broker.h"
#include "config.h"

typedef struct listener listener;

/* Binds and starts accepting. NULL on failure (logged). */
listener *listener_start(broker *b, const listener_config *cfg);
/* The port actually bound (useful with port 0). */
int listener_port(const listener *l);
void listener_stop(listener *l);
/* Re-reads a TLS listener's certificate and key for new connections (SIGHUP);
 * existing ones are untouched. On failure the current files stay in use: -1. */
int listener_reload_tls(listener *l);

struct worker;
/* Worker `w`'s thread: serves the sockets accepted for it (its inbox's waker). */
void listener_serve_accepted(struct worker *w);
/* Closes the sockets accepted for `w` that it never served (shutdown). */
void listener_drop_accepted(struct worker *w);

#endif
