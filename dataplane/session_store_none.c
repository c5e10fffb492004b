#include "session_store.h"

static void no_session(void *ctx, const struct session *s)
{
    (void)ctx, (void)s;
}

static void no_delivery(void *ctx, const struct session *s, const struct delivery *d)
{
    (void)ctx, (void)s, (void)d;
}

static void no_retained(void *ctx, const struct realm *r, mqtt_bytes topic, const broker_msg *m)
{
    (void)ctx, (void)r, (void)topic, (void)m;
}

static void no_op(void *ctx)
{
    (void)ctx;
}

static bool never(void *ctx)
{
    (void)ctx;
    return false;
}

const session_store *session_store_none(void)
{
    static const session_store none = {NULL,        no_session, no_session, no_delivery, no_delivery,
                                       no_retained, never,      no_op,      no_op};
    return &none;
}
