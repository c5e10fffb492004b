/* Event Grid compatibility ("compatibility": "eventgrid", docs/configuration.md): in such a
 * namespace the MQTT features Event Grid does not have are refused with the reason codes
 * Event Grid uses (its "Current limitations"), and the CONNACK announces them missing.
 *
 * The handlers call these only when the connection's realm has `eventgrid_compat` set, so a
 * namespace in the default "mqtt" mode pays one test of that flag per packet. Every refusal
 * is Event Grid's disconnection reason ClientError ("used one of the unsupported features"). */
#ifndef EG_COMPAT_EVENTGRID_H
#define EG_COMPAT_EVENTGRID_H

#include <stdbool.h>
#include <stdint.h>

#include "mqtt_packet.h"

/* CONNECT: 0, or the reason to refuse with and why: a will (0x83 Implementation specific
 * error; v3.1.1 CONNACK 3), an empty client identifier (0x85; v3.1.1 CONNACK 2). */
uint8_t compat_eventgrid_connect_refusal(const mqtt_connect *in, const char **why);

/* v5 CONNACK properties: Maximum QoS 1, Retain, Subscription Identifiers and Shared
 * Subscriptions not available, no Response Information. */
void compat_eventgrid_connack(mqtt_properties *p);

/* PUBLISH: 0, or the reason the connection ends with and why: the retain flag (0x9A Retain
 * not supported), QoS 2 (0x9B QoS not supported). */
uint8_t compat_eventgrid_publish_refusal(const mqtt_publish *pub, const char **why);

/* SUBSCRIBE: a Subscription Identifier ends the connection (0xA1): true when `sub` has one. */
bool compat_eventgrid_subscribe_refused(const mqtt_subscribe *sub);

/* One SUBSCRIBE entry: 0 and the requested QoS capped at 1 in *e, or the SUBACK code of a
 * shared subscription (0x9E; v3.1.1 0x80). */
uint8_t compat_eventgrid_subscription(mqtt_subscription *e, bool v5);

/* A PUBACK from the client: whether its reason code ends the connection (any failure). */
bool compat_eventgrid_puback_refused(const mqtt_ack *ack);

#endif
