/* The authorization seam: consulted at CONNECT, PUBLISH and SUBSCRIBE. Open
 * mode allows everything; the enforcement issue plugs the snapshot in here. */
#ifndef EG_AUTHORIZER_H
#define EG_AUTHORIZER_H

#include <stdbool.h>
#include <stdint.h>

#include "mqtt_packet.h"

struct conn;

typedef struct authorizer {
    void *ctx;
    /* Returns 0 to accept, else a v5 CONNACK reason code (0x86, 0x87, 0x97, ...). */
    uint8_t (*connect)(void *ctx, struct conn *c, const mqtt_connect *pkt);
    bool (*can_publish)(void *ctx, const struct conn *c, mqtt_bytes topic);
    bool (*can_subscribe)(void *ctx, const struct conn *c, mqtt_bytes filter);
} authorizer;

/* Allows every client and every topic (no control plane configured). */
const authorizer *authorizer_open(void);

#endif
