/* Connection life cycle and the read loop: frame, decode, dispatch. */
#include "conn.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conn_transport.h"
#include "flow_control.h"
#include "handlers.h"
#include "lifecycle_events.h"
#include "log.h"
#include "mqtt_codec.h"
#include "mqtt_evbuffer.h"
#include "realm.h"
#include "session.h"
#include "session_store.h"
#include "worker.h"
#include "worker_mail.h"
#include "xthread_ring.h"

static void conn_read_cb(struct bufferevent *bev, void *arg);
static void conn_write_cb(struct bufferevent *bev, void *arg);
static void conn_free(conn *c);
static bool start_io(struct worker *w, conn *c);
static void unmark_written(conn *c);
static struct evbuffer *unlink_held(conn *c);
static void link_held(conn *c, struct evbuffer *held, uint64_t seq);
static void close_event_cb(struct bufferevent *bev, short what, void *arg);

/* Longest a closing connection may take to flush its last packet and see the client go. */
#define CLOSE_DEADLINE_SECONDS 3
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);

static void set_read_timeout_ms(conn *c, uint64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    bufferevent_set_timeouts(c->bev, ms ? &tv : NULL, NULL);
}

/* A whole CONNECT must arrive within connect_timeout. A read timeout would be
 * re-armed by every byte (slowloris), so this is a one-shot timer. */
static void connect_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    conn_close(arg, MQTT_RC_MAXIMUM_CONNECT_TIME, false, "no CONNECT in time");
}

/* The worker's list of connections. */
static void link_conn(worker *w, conn *c)
{
    c->worker = w;
    c->prev = NULL;
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
}

static void unlink_conn(conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        c->worker->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
}

conn *conn_new(worker *w, struct realm *r, struct bufferevent *bev, const char *peer)
{
    broker *b = w->broker;
    conn *c = calloc(1, sizeof *c);
    if (!c) {
        conn_transport_free_bev(bev);
        return NULL;
    }
    c->broker = b;
    c->realm = r;
    c->bev = bev;
    c->id = worker_next_id(w, &w->next_conn_id);
    c->client_receive_maximum = UINT16_MAX;
    c->client_max_packet = MQTT_PACKET_SIZE_MAX;
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    w->stats.connections_opened++;
    if (!start_io(w, c)) {
        conn_free(c);
        return NULL;
    }
    log_msg(LOG_DEBUG, "conn", "accepted conn=%llu peer=%s", (unsigned long long)c->id, c->peer);
    return c;
}

/* Serves `c` (its bufferevent built on w->base) from worker `w`, until CONNECT: its
 * callbacks, and the deadline for a whole CONNECT. False on allocation failure. */
static bool start_io(worker *w, conn *c)
{
    broker *b = w->broker;
    link_conn(w, c);
    bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
    /* The write callback runs when output drains below half the high-water mark. */
    bufferevent_setwatermark(c->bev, EV_WRITE, b->config.limits.output_high_water / 2, 0);
    struct timeval connect_tv = {b->config.limits.connect_timeout, 0};
    c->connect_timer = evtimer_new(w->base, connect_timeout_cb, c);
    if (!c->connect_timer || evtimer_add(c->connect_timer, &connect_tv) != 0)
        return false;
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    return true;
}

static void conn_free(conn *c)
{
    worker *w = c->worker;
    unlink_conn(c);
    for (uint16_t i = 0; i < c->topic_alias_count; i++)
        free(c->topic_aliases[i]);
    free(c->topic_aliases);
    free(c->publish_quota);
    unmark_written(c);
    struct evbuffer *held = unlink_held(c); /* closing dropped it: normally none left */
    if (held)
        evbuffer_free(held);
    ack_gate_unref(c->gate);
    publisher_brake_unref(c->brake);
    if (c->drain_poll)
        event_free(c->drain_poll);
    if (c->connect_timer)
        event_free(c->connect_timer);
    if (c->bev)
        conn_transport_free_bev(c->bev);
    w->stats.connections_closed++;
    free(c);
}

/* Connections given output while handling input are written to at the end of
 * that read, not on the next loop turn: a PUBLISH goes out right after the
 * PUBLISH that caused it (lower latency, and often no write event at all). */
static void mark_written(conn *c)
{
    if (c->written || !c->direct_write)
        return;
    c->written = true;
    c->written_next = c->worker->written;
    c->worker->written = c;
}

static void unmark_written(conn *c)
{
    if (!c->written)
        return;
    for (conn **link = &c->worker->written; *link; link = &(*link)->written_next) {
        if (*link == c) {
            *link = c->written_next;
            break;
        }
    }
    c->written = false;
}

void conn_flush_written(worker *w)
{
    while (w->written) {
        conn *c = w->written;
        w->written = c->written_next;
        c->written = false;
        struct evbuffer *out = bufferevent_get_output(c->bev);
        evutil_socket_t fd = bufferevent_getfd(c->bev);
        if (fd >= 0 && evbuffer_get_length(out) > 0)
            evbuffer_write(out, fd); /* what does not fit now is left to the write event */
    }
}

/* The connection arrives at worker `w` with its transport (conn_move_to): rebuilt on w's
 * base, it reads its CONNECT again there, on the loop's next turn. */
static void adopt(worker *w, conn *c, conn_transport *t)
{
    c->bev = conn_transport_attach(w->base, t, &c->ws);
    if (!c->bev || !start_io(w, c)) {
        log_msg(LOG_ERROR, "conn", "cannot move conn=%llu to worker %d: out of memory",
                (unsigned long long)c->id, w->index);
        if (!c->bev) {
            conn_transport_free(t);
            link_conn(w, c);
        }
        conn_free(c);
        return;
    }
    bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

/* A connection on its way to another worker (worker.moving). */
struct conn_move {
    struct conn_move *next;
    conn *c;
    conn_transport t;
};

bool conn_move_to(conn *c, worker *home)
{
    worker *from = c->worker;
    if (from == home)
        return true;
    struct conn_move *m = malloc(sizeof *m);
    if (!m || !conn_transport_detach(c->bev, c->ws, &m->t)) {
        free(m);
        conn_close(c, MQTT_RC_SERVER_UNAVAILABLE, false, "out of memory moving the connection");
        return false;
    }
    c->bev = NULL;
    c->ws = NULL;
    /* Before CONNECT nothing is held or waiting to be written; its timer is remade there. */
    unmark_written(c);
    unlink_conn(c);
    event_free(c->connect_timer);
    c->connect_timer = NULL;
    m->c = c;
    m->next = NULL;
    pthread_mutex_lock(&home->moving_mu);
    *home->moving_tail = m;
    home->moving_tail = &m->next;
    pthread_mutex_unlock(&home->moving_mu);
    xthread_waker_signal(home->moving_waker);
    return false;
}

bool conn_adopt_moved(void *arg)
{
    worker *w = arg;
    pthread_mutex_lock(&w->moving_mu);
    struct conn_move *m = w->moving;
    w->moving = NULL;
    w->moving_tail = &w->moving;
    pthread_mutex_unlock(&w->moving_mu);
    while (m) {
        struct conn_move *next = m->next;
        adopt(w, m->c, &m->t);
        free(m);
        m = next;
    }
    return false;
}

void conn_free_now(conn *c)
{
    conn_free(c);
}

/* Where packets for `c` go: its held output while a group commit is pending. */
static struct evbuffer *conn_output(const conn *c)
{
    return c->held ? c->held : bufferevent_get_output(c->bev);
}

/* Takes the connection out of its worker's held list; returns its held output (NULL: none). */
static struct evbuffer *unlink_held(conn *c)
{
    if (!c->held)
        return NULL;
    for (conn **link = &c->worker->held; *link; link = &(*link)->held_next) {
        if (*link == c) {
            *link = c->held_next;
            break;
        }
    }
    struct evbuffer *held = c->held;
    c->held = NULL;
    return held;
}

/* Moves a connection's held output behind what is already queued to the socket. */
static void release_held(conn *c)
{
    struct evbuffer *held = unlink_held(c);
    if (!held)
        return;
    if (evbuffer_add_buffer(bufferevent_get_output(c->bev), held) != 0)
        log_msg(LOG_ERROR, "conn", "out of memory releasing held output conn=%llu",
                (unsigned long long)c->id);
    evbuffer_free(held);
    mark_written(c);
}

/* The group commit, after every read of this loop turn: the store commits what they wrote
 * (on its thread), and the acks they hold wait for that batch (conn_release_committed). */
static void group_commit(worker *w)
{
    const session_store *st = w->broker->store;
    uint64_t seq = st->commit(st->ctx, w->index);
    for (conn *c = w->held; c; c = c->held_next)
        if (!c->held_seq)
            c->held_seq = seq;
    /* Mail from other workers whose acks wait for this worker's writes: they are in `seq`. */
    for (uint32_t i = 0; i < w->gate_count; i++)
        ack_gate_answer(w->gates[i], seq);
    w->gate_count = 0;
    conn_release_committed(w, st->committed(st->ctx));
}

static void group_commit_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    group_commit(arg);
}

/* Whether what `c` holds waits for nothing on other workers any more (its gate, if any, is
 * then dropped: the next PUBLISH that needs one makes a new one). */
static bool gate_open(conn *c, uint64_t committed)
{
    if (!c->gate)
        return true;
    if (!ack_gate_open(c->gate, committed))
        return false;
    ack_gate_unref(c->gate);
    c->gate = NULL;
    return true;
}

void conn_release_committed(worker *w, uint64_t seq)
{
    for (conn *c = w->held, *next; c; c = next) {
        next = c->held_next;
        if (c->held_seq && c->held_seq <= seq && gate_open(c, seq))
            release_held(c);
    }
    conn_flush_written(w);
}

ack_gate *conn_gate(conn *c)
{
    if (!c->gate && !(c->gate = ack_gate_new(c->worker)))
        log_msg(LOG_ERROR, "conn", "out of memory making an ack gate conn=%llu: the ack may come early",
                (unsigned long long)c->id);
    return c->gate;
}

bool conn_gate_pending(const conn *c)
{
    return c->gate && atomic_load_explicit(&c->gate->pending, memory_order_acquire) > 0;
}

publisher_brake *conn_brake(conn *c)
{
    if (!c->brake)
        c->brake = publisher_brake_new(); /* without one, only this worker's subscribers slow it */
    return c->brake;
}

bool conn_brake_pulled(conn *c)
{
    if (!c->brake || !atomic_load_explicit(&c->brake->pulled, memory_order_relaxed))
        return false;
    uint64_t pulled = atomic_exchange_explicit(&c->brake->pulled, 0, memory_order_relaxed);
    return pulled && pulled - 1 == atomic_load_explicit(&c->broker->resume_gen, memory_order_relaxed);
}

static void link_held(conn *c, struct evbuffer *held, uint64_t seq)
{
    worker *w = c->worker;
    c->held = held;
    c->held_seq = seq;
    c->held_next = w->held;
    w->held = c;
    /* Activated events run after those already active: every read of this turn comes first. */
    if (!seq && w->group_commit && !event_pending(w->group_commit, EV_TIMEOUT, NULL))
        event_active(w->group_commit, EV_TIMEOUT, 0);
}

/* The worker's group commit event, made on first use. */
static bool have_group_commit(worker *w)
{
    return w->group_commit || (w->group_commit = event_new(w->base, -1, 0, group_commit_cb, w));
}

void conn_group_commit_soon(worker *w)
{
    if (!have_group_commit(w)) {
        log_msg(LOG_ERROR, "conn", "out of memory arming the group commit");
        return;
    }
    if (!event_pending(w->group_commit, EV_TIMEOUT, NULL))
        event_active(w->group_commit, EV_TIMEOUT, 0);
}

void conn_hold_output(conn *c)
{
    worker *w = c->worker;
    if (!have_group_commit(w)) {
        log_msg(LOG_ERROR, "conn", "out of memory holding acks conn=%llu: sent now",
                (unsigned long long)c->id);
        return;
    }
    if (c->held) { /* what it holds now waits for the next batch too */
        c->held_seq = 0;
        conn_group_commit_soon(w);
        return;
    }
    struct evbuffer *held = evbuffer_new();
    if (!held) {
        log_msg(LOG_ERROR, "conn", "out of memory holding acks conn=%llu: sent now",
                (unsigned long long)c->id);
        return;
    }
    link_held(c, held, 0);
}

bool conn_send(conn *c, const mqtt_packet *p)
{
    if (c->state == CONN_CLOSING && p->type != MQTT_DISCONNECT && p->type != MQTT_CONNACK)
        return false;
    uint8_t version = c->version ? c->version : MQTT_V5;
    size_t len = mqtt_encoded_length(p, version);
    if (len == 0 || len > c->client_max_packet)
        return false;
    size_t n = mqtt_encode_evbuffer(conn_output(c), p, version);
    worker_ns_stats(c->worker, c->realm)->bytes_out += n;
    mark_written(c);
    return n == len;
}

/* Below this size copying the payload is cheaper than a reference chain. */
#define PAYLOAD_BY_REFERENCE_MIN 1024

static void release_payload(const void *data, size_t len, void *msg)
{
    (void)data, (void)len;
    broker_msg_unref(msg);
}

/* Over TLS each evbuffer chain becomes its own record and write (libevent's OpenSSL
 * bufferevent calls SSL_write per chain): a packet that fits in one record is copied
 * contiguously instead of sending its payload by reference. */
#define TLS_RECORD_MAX 16384

bool conn_send_publish(conn *c, const mqtt_packet *p, broker_msg *m)
{
    if (m->payload.len < PAYLOAD_BY_REFERENCE_MIN || (c->tls && m->payload.len < TLS_RECORD_MAX - 512))
        return conn_send(c, p);
    if (c->state == CONN_CLOSING)
        return false;
    size_t len = mqtt_encoded_length(p, c->version);
    if (len == 0 || len > c->client_max_packet)
        return false;
    struct evbuffer *out = conn_output(c);
    size_t head_len = len - m->payload.len;
    struct evbuffer_iovec vec;
    if (evbuffer_reserve_space(out, (ev_ssize_t)head_len, &vec, 1) != 1 ||
        mqtt_encode_publish_head(p, c->version, vec.iov_base, vec.iov_len) != head_len)
        return false;
    vec.iov_len = head_len;
    if (evbuffer_commit_space(out, &vec, 1) != 0)
        return false;
    broker_msg_ref(m);
    if (evbuffer_add_reference(out, m->payload.data, m->payload.len, release_payload, m) != 0) {
        broker_msg_unref(m);
        return false; /* the head went out alone: the connection is unusable, the caller's close follows */
    }
    worker_ns_stats(c->worker, c->realm)->bytes_out += len;
    mark_written(c);
    return true;
}

size_t conn_output_pending(const conn *c)
{
    return evbuffer_get_length(bufferevent_get_output(c->bev)) + (c->held ? evbuffer_get_length(c->held) : 0);
}

/* Closing: what the client still sends is read and dropped, so that the kernel
 * does not answer it with a reset that can destroy our last packet (CONNACK or
 * DISCONNECT) before the client has read it. */
static void discard_input_cb(struct bufferevent *bev, void *arg)
{
    (void)arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    evbuffer_drain(in, evbuffer_get_length(in));
}

/* Everything is written: half-close, and free once the client closes its side
 * (or the close deadline passes). */
/* A framed connection (WebSockets) has written its last bytes into the layer
 * below, which may still hold them: free only once that is empty too. */
static bool layers_drained(const conn *c)
{
    struct bufferevent *under = bufferevent_get_underlying(c->bev);
    return !under || evbuffer_get_length(bufferevent_get_output(under)) == 0;
}

static void drain_poll_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    if (layers_drained(arg))
        conn_free(arg);
}

static void linger_after_flush_cb(struct bufferevent *bev, void *arg)
{
    conn *c = arg;
    SSL *ssl = c->ws ? NULL : bufferevent_openssl_get_ssl(bev);
    if (ssl && SSL_is_init_finished(ssl)) {
        /* TLS: our close_notify, then free when the client's arrives (EOF) or at the deadline.
         * Closing at once would reset the connection if the client's close_notify is already
         * on its way (its unread bytes make the kernel answer with a reset). */
        SSL_shutdown(ssl);
        ERR_clear_error(); /* a shutdown that could not be written now is not worth more */
        bufferevent_setcb(bev, discard_input_cb, NULL, close_event_cb, arg);
        return;
    }
    if (!c->direct_write) { /* WebSocket framing: a TCP half-close would cut it */
        if (c->drain_poll)
            return;
        if (layers_drained(c)) {
            conn_free(c);
            return;
        }
        struct timeval tick = {0, 20 * 1000};
        c->drain_poll = event_new(c->worker->base, -1, EV_PERSIST, drain_poll_cb, c);
        if (!c->drain_poll || event_add(c->drain_poll, &tick) != 0)
            conn_free(c);
        return;
    }
    bufferevent_setcb(bev, discard_input_cb, NULL, close_event_cb, arg);
    evutil_socket_t fd = bufferevent_getfd(bev);
    if (fd >= 0)
        shutdown(fd, SHUT_WR);
}

static void close_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    conn_free(arg);
}

static void close_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev, (void)what;
    conn_free(arg);
}

void conn_close(conn *c, uint8_t reason, bool send_disconnect, const char *why)
{
    conn_close_as(c, reason, disconnect_reason_of(reason, c->state == CONN_ACTIVE), send_disconnect, why);
}

void conn_close_as(conn *c, uint8_t reason, disconnect_reason as, bool send_disconnect, const char *why)
{
    if (c->state == CONN_CLOSING)
        return;
    c->disconnect_reason = (uint8_t)as;
    /* Acks still waiting for their commit are not sent: the client resends those PUBLISHes
     * (with DUP) when it reconnects, and what they queued is committed anyway. */
    struct evbuffer *held = unlink_held(c);
    if (held)
        evbuffer_free(held);
    bool was_active = c->state == CONN_ACTIVE;
    if (was_active) /* refused CONNECTs are counted as denials, not as closed connections */
        worker_ns_stats(c->worker, c->realm)->connections_closed[as]++;
    char client[256];
    log_msg(reason ? LOG_INFO : LOG_DEBUG, "conn",
            "closing conn=%llu peer=%s client=%s reason=0x%02x disconnection=%s why=\"%s\" namespace=%s",
            (unsigned long long)c->id, c->peer,
            c->session ? log_value(c->session->client_id, client, sizeof client) : "-", reason,
            disconnect_reason_name(as), why, c->realm && c->realm->name[0] ? c->realm->name : "-");
    if (send_disconnect && was_active && c->version == MQTT_V5) {
        mqtt_packet d = {.type = MQTT_DISCONNECT};
        d.u.disconnect.reason_code = reason;
        conn_send(c, &d);
    }
    c->state = CONN_CLOSING;
    if (c->session) {
        session *s = c->session;
        realm *r = s->realm;
        broker_msg *event = NULL; /* published once the session is let go: it may be destroyed */
        if (was_active) {
            realm_count_auth_session(s->realm, s->auth_name, -1);
            event = lifecycle_session_disconnected(s, as);
        }
        c->session = NULL;
        s->conn = NULL;
        session_detach(s);
        lifecycle_publish(c->worker, r, event);
    }
    set_read_timeout_ms(c, 0);
    if (c->connect_timer)
        event_free(c->connect_timer);
    /* One deadline for the whole close, however the client behaves. */
    struct timeval deadline = {CLOSE_DEADLINE_SECONDS, 0};
    c->connect_timer = evtimer_new(c->worker->base, close_deadline_cb, c);
    if (!c->connect_timer || evtimer_add(c->connect_timer, &deadline) != 0) {
        conn_free(c);
        return;
    }
    if (bufferevent_get_underlying(c->bev)) /* WebSockets: end with a close frame */
        bufferevent_flush(c->bev, EV_WRITE, BEV_FINISHED);
    bufferevent_setcb(c->bev, discard_input_cb, linger_after_flush_cb, close_event_cb, c);
    bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    if (conn_output_pending(c) == 0)
        linger_after_flush_cb(c->bev, c);
}

/* Packets a client may send once connected, and the handler for each. */
static bool dispatch(conn *c, const mqtt_packet *p, size_t len, int rc, const mqtt_error *err)
{
    if (c->state == CONN_AWAIT_CONNECT) {
        if (p->type != MQTT_CONNECT) {
            conn_close(c, MQTT_RC_PROTOCOL_ERROR, false, "first packet is not CONNECT");
            return false;
        }
        return handle_connect(c, p, rc, err);
    }
    if (rc != 0 && !(rc == MQTT_RC_PAYLOAD_FORMAT_INVALID && p->type == MQTT_PUBLISH)) {
        conn_close(c, (uint8_t)rc, true, err->rule);
        return false;
    }
    switch (p->type) {
    case MQTT_CONNECT: conn_close(c, MQTT_RC_PROTOCOL_ERROR, true, "second CONNECT"); return false;
    case MQTT_PUBLISH: return handle_publish(c, p, rc, len);
    case MQTT_PUBACK:
    case MQTT_PUBREC:
    case MQTT_PUBCOMP: return handle_outbound_ack(c, p);
    case MQTT_PUBREL: return handle_pubrel(c, p);
    case MQTT_SUBSCRIBE: return handle_subscribe(c, p);
    case MQTT_UNSUBSCRIBE: return handle_unsubscribe(c, p);
    case MQTT_PINGREQ: {
        mqtt_packet resp = {.type = MQTT_PINGRESP};
        conn_send(c, &resp);
        return true;
    }
    case MQTT_DISCONNECT: return handle_disconnect(c, p);
    case MQTT_AUTH:
        conn_close(c, MQTT_RC_PROTOCOL_ERROR, true, "AUTH without an authentication method");
        return false;
    default: conn_close(c, MQTT_RC_PROTOCOL_ERROR, true, "unexpected packet type"); return false;
    }
}

/* Decodes every complete packet in the input buffer. */
static void read_packets(struct bufferevent *bev, conn *c)
{
    struct evbuffer *in = bufferevent_get_input(bev);
    uint32_t max = c->broker->config.limits.max_packet_size;
    while (c->state != CONN_CLOSING && !c->paused) {
        size_t avail = evbuffer_get_length(in);
        if (avail == 0)
            return;
        /* Anything but CONNECT first (an HTTP request, TLS on a plain port) is refused at
         * its first byte instead of waiting for a "packet" of whatever length it implies. */
        if (c->state == CONN_AWAIT_CONNECT && evbuffer_pullup(in, 1)[0] != (MQTT_CONNECT << 4)) {
            conn_close(c, MQTT_RC_PROTOCOL_ERROR, false, "first packet is not CONNECT");
            return;
        }
        if (avail < 2)
            return;
        mqtt_frame frame;
        mqtt_error err = {0};
        const uint8_t *head = evbuffer_pullup(in, avail < 5 ? (ev_ssize_t)avail : 5);
        enum mqtt_frame_status st = mqtt_frame_parse(head, avail < 5 ? avail : 5, max, &frame, &err);
        if (st == MQTT_FRAME_INCOMPLETE)
            return;
        if (st == MQTT_FRAME_ERROR) {
            conn_close(c, err.reason, true, err.rule);
            return;
        }
        if (avail < frame.total_len)
            return;
        const uint8_t *pkt = evbuffer_pullup(in, frame.total_len);
        mqtt_packet p;
        int rc = mqtt_decode(pkt, frame.total_len, c->version, MQTT_ROLE_SERVER, &p, &err);
        worker_ns_stats(c->worker, c->realm)->bytes_in += frame.total_len;
        bool keep = dispatch(c, &p, frame.total_len, rc, &err);
        if (!keep)
            return; /* the connection may be freed: do not touch it */
        evbuffer_drain(in, frame.total_len);
    }
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
    conn *c = arg;
    /* This thread's worker: c may be freed by what it read, or moved to another worker (whose
     * thread owns it from then on). Routing gave output to this worker's connections only. */
    worker *w = c->worker;
    read_packets(bev, c);
    conn_flush_written(w);
}

/* Output drained below half its high-water mark: a congested subscriber may be free again. */
static void conn_write_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    conn *c = arg;
    if (c->session && c->session->congested)
        flow_session_backlog_changed(c->session);
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    conn *c = arg;
    if (what == BEV_EVENT_CONNECTED)
        return;                     /* TLS handshake done: CONNECT comes next */
    if (what & BEV_EVENT_TIMEOUT) { /* only armed once connected: Keep Alive */
        conn_close(c, MQTT_RC_KEEP_ALIVE_TIMEOUT, true, "keep alive timeout");
        return;
    }
    if (c->tls && (what & BEV_EVENT_ERROR)) {
        char why[200] = "TLS error";
        unsigned long e = bufferevent_get_openssl_error(bev);
        if (e)
            ERR_error_string_n(e, why, sizeof why);
        if (c->state == CONN_AWAIT_CONNECT)
            c->worker->stats.tls_handshake_failures++;
        conn_close(c, MQTT_RC_UNSPECIFIED_ERROR, false, why);
        return;
    }
    conn_close(c, MQTT_RC_UNSPECIFIED_ERROR, false,
               (what & BEV_EVENT_EOF) ? "connection lost (EOF)" : "socket error");
}

void conn_set_keep_alive(conn *c, uint16_t seconds)
{
    c->keep_alive = seconds;
    /* One and a half times the Keep Alive [MQTT-3.1.2-22]. */
    set_read_timeout_ms(c, (uint64_t)seconds * 1500);
    if (c->connect_timer) { /* connected: the CONNECT deadline is over, and its memory too */
        event_free(c->connect_timer);
        c->connect_timer = NULL;
    }
}

void conn_resume_reading(conn *c)
{
    if (c->state == CONN_CLOSING)
        return;
    bufferevent_enable(c->bev, EV_READ);
    /* Packets read before the pause are still buffered: process them now. */
    if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
        bufferevent_trigger(c->bev, EV_READ, BEV_OPT_DEFER_CALLBACKS);
}
