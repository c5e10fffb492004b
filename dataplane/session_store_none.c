#include "session_store.h"

static void no_session(void *ctx, const struct session *s)
{
    (void)ctx, (void)s;
}

static void no_delivery(void *ctx, const struct session *s, const struct delivery *d)
{
    (void)ctx, (void)s, (void)d;
}

static void no_qos2(void *ctx, const struct session *s, uint16_t packet_id, bool pending)
{
    (void)ctx, (void)s, (void)packet_id, (void)pending;
}

static void no_retained(void *ctx, const struct realm *r, mqtt_bytes topic, const broker_msg *m)
{
    (void)ctx, (void)r, (void)topic, (void)m;
}

static void no_op(void *ctx)
{
    (void)ctx;
}

static uint64_t zero(void *ctx)
{
    (void)ctx;
    return 0;
}

static uint64_t zero_for(void *ctx, int worker)
{
    (void)ctx, (void)worker;
    return 0;
}

static bool never(void *ctx, int worker)
{
    (void)ctx, (void)worker;
    return false;
}

const session_store *session_store_none(void)
{
    static const session_store none = {.session_saved = no_session,
                                       .session_deleted = no_session,
                                       .session_closing = no_session,
                                       .delivery_saved = no_delivery,
                                       .delivery_deleted = no_delivery,
                                       .qos2_saved = no_qos2,
                                       .will_saved = no_session,
                                       .retained_saved = no_retained,
                                       .ack_must_wait = never,
                                       .commit = zero_for,
                                       .committed = zero,
                                       .close = no_op};
    return &none;
}
