/* Packet handlers, one file per packet family. Each returns true to keep the
 * connection, false when it has closed it. */
#ifndef EG_HANDLERS_H
#define EG_HANDLERS_H

#include <stdbool.h>
#include <stddef.h>

#include "conn.h"
#include "mqtt_codec.h"

/* decode_rc: mqtt_decode's result for a CONNECT (0 or an error with err). */
bool handle_connect(conn *c, const mqtt_packet *p, int decode_rc, const mqtt_error *err);
/* packet_len: the PUBLISH packet's bytes (the per-session byte rate counts them). */
bool handle_publish(conn *c, const mqtt_packet *p, int decode_rc, size_t packet_len);
bool handle_pubrel(conn *c, const mqtt_packet *p);
bool handle_outbound_ack(conn *c, const mqtt_packet *p); /* PUBACK, PUBREC, PUBCOMP */
bool handle_subscribe(conn *c, const mqtt_packet *p);
bool handle_unsubscribe(conn *c, const mqtt_packet *p);
bool handle_disconnect(conn *c, const mqtt_packet *p);

#endif
