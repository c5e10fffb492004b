/* Event Grid compatibility (compat_eventgrid.h). */
#include "compat_eventgrid.h"

#include "mqtt_topic.h"
#include "mqtt_types.h"

uint8_t compat_eventgrid_connect_refusal(const mqtt_connect *in, const char **why)
{
    if (in->will_flag) {
        *why = "will messages are not supported (Event Grid compatibility)";
        return MQTT_RC_IMPLEMENTATION_SPECIFIC_ERROR;
    }
    if (in->client_id.len == 0) {
        *why = "a client identifier is required: none is assigned (Event Grid compatibility)";
        return MQTT_RC_CLIENT_IDENTIFIER_NOT_VALID;
    }
    return 0;
}

void compat_eventgrid_connack(mqtt_properties *p)
{
    p->present |= MQTT_PROP_BIT(MQTT_PROP_MAXIMUM_QOS);
    p->present &= ~MQTT_PROP_BIT(MQTT_PROP_RESPONSE_INFORMATION);
    p->maximum_qos = 1;
    p->retain_available = 0;
    p->subscription_identifier_available = 0;
    p->shared_subscription_available = 0;
}

uint8_t compat_eventgrid_publish_refusal(const mqtt_publish *pub, const char **why)
{
    /* MQTT 5 section 3.3.1.3 and 3.2.2.3.4: what a server that announced Retain Available 0
     * and Maximum QoS 1 answers; v3.1.1 clients just see the connection close. */
    if (pub->retain) {
        *why = "retained messages are not supported (Event Grid compatibility)";
        return MQTT_RC_RETAIN_NOT_SUPPORTED;
    }
    if (pub->qos == 2) {
        *why = "QoS 2 is not supported (Event Grid compatibility)";
        return MQTT_RC_QOS_NOT_SUPPORTED;
    }
    return 0;
}

bool compat_eventgrid_subscribe_refused(const mqtt_subscribe *sub)
{
    return sub->props.subscription_id_count > 0; /* repeatable: counted, no presence bit */
}

uint8_t compat_eventgrid_subscription(mqtt_subscription *e, bool v5)
{
    if (mqtt_topic_shared_split(e->filter, NULL, NULL) != 0)
        return v5 ? MQTT_RC_SHARED_SUBSCRIPTIONS_NOT_SUPPORTED : MQTT_V311_SUBACK_FAILURE;
    if (e->qos > 1)
        e->qos = 1;
    return 0;
}

bool compat_eventgrid_puback_refused(const mqtt_ack *ack)
{
    return ack->reason_code >= 0x80;
}
