/* One client connection: reads and frames packets, dispatches them to the
 * handlers, writes encoded packets, enforces keep alive, and closes with the
 * right reason. The transport below is a libevent bufferevent (plain TCP now;
 * TLS and WebSockets plug in as other bufferevents).
 *
 * Ownership: the broker's connection list owns each conn; a conn owns its
 * bufferevent and its topic alias table. `session` is borrowed (see session.h). */
#ifndef EG_CONN_H
#define EG_CONN_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker.h"
#include "disconnect_reason.h"
#include "mqtt_packet.h"

struct bufferevent;
struct evbuffer;
struct event;
struct session;
struct realm;
struct worker;

enum conn_state { CONN_AWAIT_CONNECT, CONN_ACTIVE, CONN_CLOSING };

typedef struct conn {
    struct conn *prev, *next; /* the worker's connection list */
    broker *broker;
    struct worker *worker;       /* serves it (runs its callbacks) */
    struct bufferevent *bev;     /* the top of its transport (conn_transport.h) */
    struct ws_filter *ws;        /* its WebSocket framing, NULL when none */
    struct event *connect_timer; /* CONNECT deadline (freed once connected), then the close deadline */
    struct event *drain_poll;    /* closing a framed connection: waits for the layer below to drain */
    struct session *session;
    struct realm *realm; /* the namespace: the listener's, or the one TLS SNI names (at CONNECT) */
    uint64_t id;
    uint8_t state;                       /* enum conn_state */
    uint8_t version;                     /* MQTT_V311 or MQTT_V5 once CONNECT is read */
    uint8_t disconnect_reason;           /* enum disconnect_reason, set by conn_close */
    uint16_t keep_alive;                 /* effective, seconds; 0 = none */
    uint16_t client_receive_maximum;     /* how many QoS 1/2 we may have unacknowledged */
    uint32_t client_max_packet;          /* largest packet the client accepts */
    uint16_t topic_alias_count;          /* size of topic_aliases */
    char **topic_aliases;                /* client->server aliases, owned, lazily allocated */
    struct publish_quota *publish_quota; /* owned; made at its first PUBLISH in a namespace with
                                            throughputUnits (rate_limit.h), else NULL */
    bool request_problem_information;
    bool paused;       /* not read: a subscriber it feeds is congested (flow_control.h) */
    bool direct_write; /* plain socket: output may be written to the fd directly */
    bool tls;          /* the bufferevent is an OpenSSL one */
    bool written;      /* in the broker's list of connections to flush after this read */
    struct conn *written_next;
    struct evbuffer *held; /* output waiting for the store's group commit (owned), NULL when none */
    struct conn *held_next;
    uint64_t held_seq;             /* the store batch it waits for; 0: the next group commit assigns it */
    struct ack_gate *gate;         /* what `held` also waits for on other workers (one reference), or NULL */
    struct publisher_brake *brake; /* how other workers' subscribers slow it (one reference), or NULL */
    char peer[64];
} conn;

/* Takes ownership of an accepted socket's bufferevent (built on w->base); `r` is the listener's
 * realm. NULL on failure (the bufferevent is freed). */
conn *conn_new(struct worker *w, struct realm *r, struct bufferevent *bev, const char *peer);

/* Encodes and queues a packet for the client. Returns false if it could not
 * be encoded (e.g. over the client's Maximum Packet Size). */
bool conn_send(conn *c, const mqtt_packet *p);
/* Sends a PUBLISH whose payload belongs to `m`. Large payloads are not copied:
 * the output buffer references them and holds a message reference until written. */
bool conn_send_publish(conn *c, const mqtt_packet *p, broker_msg *m);
/* sync persistence: everything sent to `c` from now (its acks first of all) is
 * held back until the store has committed the batch with what was written so
 * far, so no ack leaves before what it acknowledges is on disk. One request per
 * loop turn serves every connection (group commit). */
void conn_hold_output(conn *c);

/* The store committed batch `seq`: connections whose held output waited for it (and whose
 * gate is open) are written. */
void conn_release_committed(struct worker *w, uint64_t seq);
/* Runs the worker's group commit after this loop turn's reads (answers the gates it holds). */
void conn_group_commit_soon(struct worker *w);
/* sync persistence: the gate the held output of `c` also waits for, made on first use (a
 * reference stays with `c`); NULL when out of memory. */
struct ack_gate *conn_gate(conn *c);
/* Whether `c` waits for answers from other workers. */
bool conn_gate_pending(const conn *c);
/* The brake of `c` (worker_mail.h), made on first use; NULL when out of memory. */
struct publisher_brake *conn_brake(conn *c);
/* Whether a subscriber on another worker pulled the brake of `c` since the last call, with
 * no subscriber resuming publishers after that. */
bool conn_brake_pulled(conn *c);

/* Bytes waiting in the output buffer (held output included). */
size_t conn_output_pending(const conn *c);

/* Enforces Keep Alive: the connection closes after 1.5x `seconds` without a packet (0: never). */
void conn_set_keep_alive(conn *c, uint16_t seconds);

/* Closes the connection. v5 clients first get DISCONNECT `reason` when
 * `send_disconnect` (v3.1.1 clients just see the socket close). The will is
 * published unless the client disconnected normally. */
void conn_close(conn *c, uint8_t reason, bool send_disconnect, const char *why);
/* The same, where the Event Grid disconnection reason (disconnect_reason.h) is not the one
 * `reason` usually has. */
void conn_close_as(conn *c, uint8_t reason, disconnect_reason as, bool send_disconnect, const char *why);

/* Reads again after flow control paused the connection, including bytes already buffered. */
void conn_resume_reading(conn *c);

/* TLS connections (conn_tls.c): the SNI server name, the client's certificate
 * and the chain it sent (all NULL for plain connections or without one), and
 * a " key=value" summary of them for logs ("" for plain connections). */
const char *conn_tls_server_name(const conn *c);
X509 *conn_peer_certificate(const conn *c);
STACK_OF(X509) * conn_peer_chain(const conn *c);
void conn_describe_tls(const conn *c, char *out, size_t len);
/* The connection's transport as a listener type names it: "mqtt", "mqtts", "ws" or "wss". */
const char *conn_transport_name(const conn *c);

/* Writes out what the connections given output during this read have pending. */
void conn_flush_written(struct worker *w);

/* CONNECT chose a session whose home is another worker: the connection moves there, so
 * that a session and its connection are served by one worker. Its transport is rebuilt on
 * the home worker, which reads the CONNECT (still in the input) again. Returns true when `c`
 * stays (home is its worker); false when it moved or was closed: the caller stops using it. */
bool conn_move_to(conn *c, struct worker *home);
/* The home worker's side (its moving_waker's callback): adopts the connections handed over to
 * worker `w` (void * for the waker). Returns false (none left). */
bool conn_adopt_moved(void *w);

/* Frees a closing connection without waiting for its output (shutdown). */
void conn_free_now(conn *c);

#endif
