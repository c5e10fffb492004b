/* One MQTT client connection of the load generator, on a libevent loop.
 *
 * Speaks MQTT through the project's codec (frame, decode as a client, encode
 * into an evbuffer). Reads go straight into a linear buffer of the configured
 * size, so that one read() can bring many packets; writes are batched: the
 * send functions only append, lg_client_flush() writes. Packets received are
 * reported through the handlers; QoS 1 PUBLISHes are acknowledged by the
 * client itself. A client is never freed from inside its own handlers.
 *
 * With a TLS context, the same client speaks TLS over the same non-blocking
 * socket: OpenSSL reads and writes the socket itself (SSL_read into the
 * linear buffer, SSL_write of up to one 16 KiB record per call from the
 * output evbuffer), and the handshake runs on the same read/write events
 * before CONNECT is sent. */
#ifndef LG_CLIENT_H
#define LG_CLIENT_H

#include <event2/event.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqtt_packet.h"

typedef struct lg_client lg_client;

typedef struct lg_client_handlers {
    void (*connected)(void *ctx);                      /* CONNACK accepted */
    void (*subscribed)(void *ctx, uint8_t granted);    /* SUBACK, first reason code */
    void (*message)(void *ctx, const mqtt_publish *p); /* QoS 1 is acknowledged after it returns */
    void (*acked)(void *ctx, uint16_t packet_id);      /* PUBACK */
    void (*writable)(void *ctx);                       /* asked for with lg_client_want_writable */
    void (*closed)(void *ctx, const char *why);        /* failed, refused or lost: inert from now on */
} lg_client_handlers;

typedef struct lg_client_config {
    const char *client_id;
    const char *username;             /* NULL: CONNECT without a Username */
    uint8_t version;                  /* 4 or 5 */
    uint16_t keep_alive;              /* seconds; runs are shorter, so no PINGREQ is ever sent */
    uint32_t session_expiry;          /* 0: Clean Start 1; else Clean Start 0 and (v5) this expiry */
    const struct sockaddr_in *source; /* bound to before connecting (NULL: the kernel picks) */
    size_t read_size;                 /* bytes asked of each read() */
    size_t low_water;                 /* `writable` fires once at most this much output is left */
    /* TLS when set: the context (shared, verification set up in it), the
     * name sent as SNI (NULL: none), and a session to resume (NULL: none). */
    SSL_CTX *tls_ctx;
    const char *tls_servername;
    SSL_SESSION *tls_session;
} lg_client_config;

/* Starts a TCP connection and, once it is up, sends CONNECT. NULL if the
 * socket could not even be created or connected (errno set). */
lg_client *lg_client_start(struct event_base *base, const struct sockaddr_in *addr,
                           const lg_client_config *cfg, const lg_client_handlers *handlers, void *ctx);

/* Append one packet to the output; false if it could not be encoded or the
 * connection is closed. */
bool lg_client_subscribe(lg_client *c, const char *filter, uint8_t qos);
bool lg_client_publish(lg_client *c, mqtt_bytes topic, mqtt_bytes payload, uint8_t qos, uint16_t packet_id);

/* Writes what the socket takes now; the rest goes out when it is writable. */
void lg_client_flush(lg_client *c);
size_t lg_client_pending(const lg_client *c);
/* Calls `writable` once the output is down to the low-water mark (maybe on
 * the next loop iteration if it is already). */
void lg_client_want_writable(lg_client *c);

bool lg_client_is_open(const lg_client *c);

/* TLS, once connected: the session to resume later (a reference the caller
 * frees with SSL_SESSION_free; NULL if none or not resumable), whether this
 * handshake resumed one, and the version and cipher (static strings). */
SSL_SESSION *lg_client_tls_session(const lg_client *c);
bool lg_client_tls_resumed(const lg_client *c);
const char *lg_client_tls_version(const lg_client *c);
const char *lg_client_tls_cipher(const lg_client *c);
/* Sends DISCONNECT if it can go out at once and closes; no `closed` call. */
void lg_client_disconnect(lg_client *c);
void lg_client_free(lg_client *c);

#endif
