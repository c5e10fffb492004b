/* WebSocket framing as a libevent filter: MQTT bytes in binary messages (any
 * split), text messages refused (1003), pings answered, client masking and the
 * message size limit enforced by wslay (server mode). */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdlib.h>
#include <wslay/wslay.h>

#include "ws.h"

struct ws_frames {
    wslay_event_context_ptr ctx; /* its user data is this struct */
    struct evbuffer *wire_in;    /* set while unwrapping: frames from the socket */
    struct evbuffer *mqtt_in;    /* set while unwrapping: MQTT bytes for the connection */
    struct evbuffer *wire_out;   /* the socket's output, for frames we send */
    bool close_queued;
};

/* A filter's context: the framing state, which outlives the filter when the connection moves
 * to another worker (ws_filter_detach). One box per filter, touched by its thread only, so the
 * old filter's deferred free never races with the new one. */
struct ws_filter {
    ws_frames *f; /* owned; NULL once detached */
};
typedef struct ws_filter ws_box;

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
    (void)flags;
    ws_frames *f = user;
    int n = f->wire_in ? evbuffer_remove(f->wire_in, buf, len) : 0;
    if (n <= 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    return n;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *user)
{
    (void)flags;
    ws_frames *f = user;
    if (evbuffer_add(f->wire_out, data, len) != 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return (ssize_t)len;
}

static void on_message(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg, void *user)
{
    ws_frames *f = user;
    static const char reason[] = "MQTT travels in binary frames";
    if (arg->opcode == WSLAY_BINARY_FRAME && f->mqtt_in)
        evbuffer_add(f->mqtt_in, arg->msg, arg->msg_length);
    else if (arg->opcode == WSLAY_TEXT_FRAME)
        wslay_event_queue_close(ctx, WSLAY_CODE_UNSUPPORTED_DATA, (const uint8_t *)reason, sizeof reason - 1);
}

static enum bufferevent_filter_result unwrap(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
                                             enum bufferevent_flush_mode mode, void *arg)
{
    (void)limit, (void)mode;
    ws_frames *f = ((ws_box *)arg)->f;
    if (!f)
        return BEV_ERROR;
    f->wire_in = src;
    f->mqtt_in = dst;
    int rv = wslay_event_recv(f->ctx);
    f->wire_in = f->mqtt_in = NULL;
    wslay_event_send(f->ctx); /* pongs, and the reply to a close */
    /* A close, a protocol violation (unmasked frame, bad opcode) or an oversize
     * message stops reading: the connection ends. */
    if (rv != 0 || !wslay_event_get_read_enabled(f->ctx))
        return BEV_ERROR;
    return evbuffer_get_length(dst) ? BEV_OK : BEV_NEED_MORE;
}

static enum bufferevent_filter_result wrap(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
                                           enum bufferevent_flush_mode mode, void *arg)
{
    (void)dst, (void)limit;
    ws_frames *f = ((ws_box *)arg)->f;
    if (!f)
        return BEV_ERROR;
    size_t n = evbuffer_get_length(src);
    if (n) {
        struct wslay_event_msg msg = {WSLAY_BINARY_FRAME, evbuffer_pullup(src, (ev_ssize_t)n), n};
        if (!msg.msg || wslay_event_queue_msg(f->ctx, &msg) != 0)
            return BEV_ERROR;
        evbuffer_drain(src, n);
    }
    if (mode == BEV_FINISHED && !f->close_queued) { /* the connection is closing: say so (1000) */
        f->close_queued = true;
        wslay_event_queue_close(f->ctx, WSLAY_CODE_NORMAL_CLOSURE, NULL, 0);
    }
    return wslay_event_send(f->ctx) == 0 ? BEV_OK : BEV_ERROR;
}

void ws_frames_free(ws_frames *f)
{
    if (!f)
        return;
    wslay_event_context_free(f->ctx);
    free(f);
}

static void free_box(void *arg)
{
    ws_box *box = arg;
    ws_frames_free(box->f);
    free(box);
}

struct bufferevent *ws_filter_wrap(struct bufferevent *under, ws_frames *f, ws_filter **handle)
{
    ws_box *box = malloc(sizeof *box);
    if (!box)
        return NULL;
    box->f = f;
    f->wire_out = bufferevent_get_output(under);
    struct bufferevent *framed =
        bufferevent_filter_new(under, unwrap, wrap, BEV_OPT_CLOSE_ON_FREE, free_box, box);
    if (!framed) {
        free(box);
        return NULL;
    }
    *handle = box;
    return framed;
}

ws_frames *ws_filter_detach(ws_filter *handle)
{
    ws_frames *f = handle->f;
    handle->f = NULL;
    return f;
}

struct bufferevent *ws_filter_new(struct bufferevent *under, uint32_t max_message, ws_filter **handle)
{
    static const struct wslay_event_callbacks callbacks = {recv_cb, send_cb, NULL,      NULL,
                                                           NULL,    NULL,    on_message};
    ws_frames *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    if (wslay_event_context_server_init(&f->ctx, &callbacks, f) != 0) {
        free(f);
        return NULL;
    }
    wslay_event_config_set_max_recv_msg_length(f->ctx, max_message);
    struct bufferevent *framed = ws_filter_wrap(under, f, handle);
    if (!framed)
        ws_frames_free(f);
    return framed;
}
