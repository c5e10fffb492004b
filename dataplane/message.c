#include "message.h"

#include "refcount.h"

#include <stdlib.h>
#include <string.h>

#include "mqtt_codec.h"

/* Appends src to the data area at *cursor and returns the view of the copy. */
static mqtt_bytes copy_into(uint8_t **cursor, mqtt_bytes src)
{
    mqtt_bytes out = {*cursor, src.len};
    if (src.len)
        memcpy(*cursor, src.data, src.len);
    *cursor += src.len;
    return out;
}

static size_t user_block_size(const mqtt_properties *props)
{
    size_t n = 0, pos = 0;
    mqtt_user_property up;
    while (mqtt_props_user_next(props, &pos, &up))
        n += 5 + (size_t)up.key.len + up.value.len;
    return n;
}

/* Writes the user properties as a block of 0x26 entries, keeping their order. */
static mqtt_bytes write_user_block(uint8_t **cursor, const mqtt_properties *props, uint32_t *count)
{
    uint8_t *start = *cursor, *w = *cursor;
    size_t pos = 0;
    mqtt_user_property up;
    *count = 0;
    while (mqtt_props_user_next(props, &pos, &up)) {
        *w++ = MQTT_PROP_USER_PROPERTY;
        *w++ = (uint8_t)(up.key.len >> 8);
        *w++ = (uint8_t)up.key.len;
        memcpy(w, up.key.data, up.key.len);
        w += up.key.len;
        *w++ = (uint8_t)(up.value.len >> 8);
        *w++ = (uint8_t)up.value.len;
        memcpy(w, up.value.data, up.value.len);
        w += up.value.len;
        (*count)++;
    }
    *cursor = w;
    return (mqtt_bytes){start, (uint32_t)(w - start)};
}

static const uint64_t forwarded_props =
    MQTT_PROP_BIT(MQTT_PROP_PAYLOAD_FORMAT_INDICATOR) | MQTT_PROP_BIT(MQTT_PROP_CONTENT_TYPE) |
    MQTT_PROP_BIT(MQTT_PROP_RESPONSE_TOPIC) | MQTT_PROP_BIT(MQTT_PROP_CORRELATION_DATA);

broker_msg *broker_msg_new_raw(mqtt_bytes topic, mqtt_bytes payload, uint8_t qos, bool retain,
                               const mqtt_properties *props, uint64_t origin, int64_t now_ms)
{
    static const mqtt_properties none;
    if (!props)
        props = &none;
    size_t size = sizeof(broker_msg) + topic.len + payload.len + props->content_type.len +
                  props->response_topic.len + props->correlation_data.len + user_block_size(props);
    broker_msg *m = malloc(size);
    if (!m)
        return NULL;
    memset(m, 0, sizeof *m);
    atomic_init(&m->refs, 1);
    m->qos = qos;
    m->retain = retain;
    m->origin = origin;
    if (mqtt_prop_has(props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL) && props->message_expiry_interval)
        m->expires_at_ms = now_ms + (int64_t)props->message_expiry_interval * 1000;

    uint8_t *cursor = m->data;
    m->topic = copy_into(&cursor, topic);
    m->payload = copy_into(&cursor, payload);
    mqtt_properties *p = &m->props;
    p->present = props->present & forwarded_props;
    p->payload_format_indicator = props->payload_format_indicator;
    p->content_type = copy_into(&cursor, props->content_type);
    p->response_topic = copy_into(&cursor, props->response_topic);
    p->correlation_data = copy_into(&cursor, props->correlation_data);
    p->block = write_user_block(&cursor, props, &p->user_property_count);
    return m;
}

broker_msg *broker_msg_new(const mqtt_publish *pub, mqtt_bytes topic, uint64_t origin, int64_t now_ms)
{
    return broker_msg_new_raw(topic, pub->payload, pub->qos, pub->retain, &pub->props, origin, now_ms);
}

/* Relaxed: taking a reference needs no ordering, the caller already holds one
 * (which keeps the message alive) and the contents were published when that
 * reference reached this thread. */
broker_msg *broker_msg_ref(broker_msg *m)
{
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
    return m;
}

/* Release, so this thread's last reads of the message happen before the free on
 * whichever thread drops the last reference; acquire, so that thread's free
 * happens after every other thread's reads. */
void broker_msg_unref(broker_msg *m)
{
    if (m && atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1) {
        publisher_brake_unref(m->brake);
        free(m);
    }
}

publisher_brake *publisher_brake_new(void)
{
    publisher_brake *b = calloc(1, sizeof *b);
    if (b)
        refcount_init(&b->refs);
    return b;
}

publisher_brake *publisher_brake_ref(publisher_brake *b)
{
    refcount_take(&b->refs);
    return b;
}

void publisher_brake_unref(publisher_brake *b)
{
    if (b && refcount_drop(&b->refs))
        free(b);
}

void publisher_brake_pull(publisher_brake *b, uint64_t resume_gen)
{
    if (b)
        atomic_store_explicit(&b->pulled, resume_gen + 1, memory_order_relaxed);
}

uint32_t broker_msg_remaining_expiry(const broker_msg *m, int64_t now_ms)
{
    if (m->expires_at_ms == 0)
        return UINT32_MAX;
    if (now_ms >= m->expires_at_ms)
        return 0;
    int64_t left_ms = m->expires_at_ms - now_ms;
    return (uint32_t)((left_ms + 999) / 1000);
}

uint32_t broker_msg_size(const broker_msg *m)
{
    return m->topic.len + m->payload.len + m->props.content_type.len + m->props.response_topic.len +
           m->props.correlation_data.len + m->props.block.len;
}
