/* In-memory form of every MQTT 3.1.1 / 5.0 control packet.
 *
 * Ownership: a decoded packet owns nothing. Every mqtt_bytes in it points into
 * the buffer it was decoded from, which must outlive the packet (zero-copy).
 * A packet built for encoding points at memory owned by the caller. */
#ifndef EG_MQTT_PACKET_H
#define EG_MQTT_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqtt_types.h"

/* A UTF-8 string or binary data: a view, never NUL-terminated. */
typedef struct mqtt_bytes {
    const uint8_t *data;
    uint32_t len;
} mqtt_bytes;

typedef struct mqtt_user_property {
    mqtt_bytes key;
    mqtt_bytes value;
} mqtt_user_property;

/* v5 properties of one packet (or of a Will). Single-valued properties are
 * present when their bit is set in `present` (see mqtt_prop_has).
 *
 * User Property and Subscription Identifier may repeat. In a decoded packet
 * their counts are set, `user_properties`/`subscription_ids` are NULL, and the
 * values are walked zero-copy over `block` (the raw property bytes) with
 * mqtt_props_user_next()/mqtt_props_subscription_id_next(). To encode, either
 * set the arrays, or leave them NULL and keep `block` from a decoded packet:
 * the encoder copies the values from there (used to forward a message). */
typedef struct mqtt_properties {
    uint64_t present; /* bit (1 << property id) for each single-valued property present */

    uint8_t payload_format_indicator;
    uint8_t request_problem_information;
    uint8_t request_response_information;
    uint8_t maximum_qos;
    uint8_t retain_available;
    uint8_t wildcard_subscription_available;
    uint8_t subscription_identifier_available;
    uint8_t shared_subscription_available;

    uint16_t server_keep_alive;
    uint16_t receive_maximum;
    uint16_t topic_alias_maximum;
    uint16_t topic_alias;

    uint32_t message_expiry_interval;
    uint32_t session_expiry_interval;
    uint32_t will_delay_interval;
    uint32_t maximum_packet_size;

    mqtt_bytes content_type;
    mqtt_bytes response_topic;
    mqtt_bytes correlation_data;
    mqtt_bytes assigned_client_identifier;
    mqtt_bytes authentication_method;
    mqtt_bytes authentication_data;
    mqtt_bytes response_information;
    mqtt_bytes server_reference;
    mqtt_bytes reason_string;

    mqtt_bytes block; /* decoded: the whole property block, for the iterators */
    uint32_t user_property_count;
    const mqtt_user_property *user_properties; /* encode only; NULL: use block */
    uint32_t subscription_id_count;
    const uint32_t *subscription_ids; /* encode only; NULL: use block */
} mqtt_properties;

#define MQTT_PROP_BIT(id) (UINT64_C(1) << (id))

static inline bool mqtt_prop_has(const mqtt_properties *p, enum mqtt_property_id id)
{
    return (p->present & MQTT_PROP_BIT(id)) != 0;
}

typedef struct mqtt_connect {
    uint8_t protocol_version; /* MQTT_V311 or MQTT_V5 */
    bool clean_start;         /* Clean Session in v3.1.1 */
    uint16_t keep_alive;
    mqtt_properties props;
    mqtt_bytes client_id;
    bool will_flag;
    uint8_t will_qos;
    bool will_retain;
    mqtt_properties will_props;
    mqtt_bytes will_topic;
    mqtt_bytes will_payload;
    bool has_username;
    mqtt_bytes username;
    bool has_password;
    mqtt_bytes password;
} mqtt_connect;

typedef struct mqtt_connack {
    bool session_present;
    uint8_t reason_code; /* v3.1.1: the return code (enum mqtt_v311_connack_code) */
    mqtt_properties props;
} mqtt_connack;

typedef struct mqtt_publish {
    bool dup;
    uint8_t qos;
    bool retain;
    mqtt_bytes topic;   /* may be empty in v5 when a Topic Alias is present */
    uint16_t packet_id; /* 0 for QoS 0 */
    mqtt_properties props;
    mqtt_bytes payload;
} mqtt_publish;

/* PUBACK, PUBREC, PUBREL and PUBCOMP. */
typedef struct mqtt_ack {
    uint16_t packet_id;
    uint8_t reason_code; /* always 0 in v3.1.1 */
    mqtt_properties props;
} mqtt_ack;

/* Subscription Options byte, split (section 3.8.3.1). v3.1.1 uses qos only. */
typedef struct mqtt_subscription {
    mqtt_bytes filter;
    uint8_t qos;
    bool no_local;
    bool retain_as_published;
    uint8_t retain_handling;
} mqtt_subscription;

/* SUBSCRIBE. Decoded: `entries` is NULL and the `count` entries are walked
 * zero-copy with mqtt_subscribe_next() over `payload`. To encode: set
 * `entries` (count items). */
typedef struct mqtt_subscribe {
    uint16_t packet_id;
    mqtt_properties props;
    uint32_t count;
    const mqtt_subscription *entries;
    mqtt_bytes payload;
} mqtt_subscribe;

/* UNSUBSCRIBE: same scheme with topic filters only (mqtt_unsubscribe_next). */
typedef struct mqtt_unsubscribe {
    uint16_t packet_id;
    mqtt_properties props;
    uint32_t count;
    const mqtt_bytes *filters;
    mqtt_bytes payload;
} mqtt_unsubscribe;

/* SUBACK and UNSUBACK: one reason code per filter (UNSUBACK v3.1.1 has none). */
typedef struct mqtt_suback {
    uint16_t packet_id;
    mqtt_properties props;
    mqtt_bytes reason_codes;
} mqtt_suback;

/* DISCONNECT and AUTH. */
typedef struct mqtt_reason_packet {
    uint8_t reason_code;
    mqtt_properties props;
} mqtt_reason_packet;

typedef struct mqtt_packet {
    uint8_t type;  /* enum mqtt_packet_type */
    uint8_t flags; /* low nibble of the fixed header, as received or computed */
    union {
        mqtt_connect connect;
        mqtt_connack connack;
        mqtt_publish publish;
        mqtt_ack ack; /* PUBACK, PUBREC, PUBREL, PUBCOMP */
        mqtt_subscribe subscribe;
        mqtt_suback suback; /* SUBACK, UNSUBACK */
        mqtt_unsubscribe unsubscribe;
        mqtt_reason_packet disconnect;
        mqtt_reason_packet auth;
    } u;
} mqtt_packet;

#endif
