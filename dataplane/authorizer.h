/* The authorization seam: consulted at CONNECT, PUBLISH and SUBSCRIBE. Open
 * mode allows everything; enforcer.c plugs the control-plane snapshot in. */
#ifndef EG_AUTHORIZER_H
#define EG_AUTHORIZER_H

#include <stdbool.h>
#include <stdint.h>

#include "mqtt_packet.h"

struct conn;
struct session;

/* What an accepted CONNECT is granted; the session takes it over. */
typedef struct auth_grant {
    char auth_name[256]; /* the authentication name ("" in open mode) */
    void *perms;         /* per-session permissions (NULL in open mode), released with release() */
    uint32_t
        max_session_expiry; /* seconds: the session expiry cap (namespace maximum); 0 = the broker's limit */
    /* The connection already counts among its realm's sessions of auth_name (reserved under the
     * limit by the authorizer, realm_reserve_auth_session): a CONNECT refused after the grant
     * gives it back. */
    bool counted;
} auth_grant;

typedef struct authorizer {
    void *ctx;
    /* Returns 0 to accept (grant filled), else a v5 CONNACK reason code (0x86, 0x87, 0x97, ...)
     * with *why set to a reason for the log and the v5 reason string. */
    uint8_t (*connect)(void *ctx, struct conn *c, const mqtt_connect *pkt, mqtt_bytes client_id,
                       auth_grant *grant, const char **why);
    bool (*can_publish)(void *ctx, const struct session *s, mqtt_bytes topic);
    bool (*can_subscribe)(void *ctx, const struct session *s, mqtt_bytes filter);
    void (*release)(void *ctx, void *perms);
} authorizer;

/* Allows every client and every topic (no control plane configured). */
const authorizer *authorizer_open(void);

#endif
