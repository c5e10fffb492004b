/* Load generator thread: connection set-up, publishing (as fast as allowed or
 * paced), receiving and accounting, all on one event loop. */
#include "loadgen_worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loadgen_client.h"
#include "loadgen_scenario.h"
#include "loadgen_track.h"

enum role { ROLE_PLAIN, ROLE_SUBSCRIBER, ROLE_PUBLISHER };

/* A QoS 0 publisher running flat out gives the loop back after this many
 * messages, so that the other clients of the thread get their turn. */
#define BURST_MAX 64
/* Pacing granularity of --rate, and the housekeeping period otherwise. */
#define TICK_PACED_US 100
#define TICK_US 1000
#define PACKET_IDS 65536
#define MAX_ERROR_LINES 5

typedef struct peer {
    struct lg_worker *w;
    lg_client *client;
    enum role role;
    uint32_t index;  /* publisher or subscriber number, client number for plain ones */
    uint32_t number; /* client number over the whole run (chooses the source address) */
    int64_t started_ns;
    bool connected;
    /* publisher */
    char *topic;
    uint32_t topic_len;
    uint8_t *payload;
    uint64_t seq;
    double offset; /* paced sends are staggered by this fraction of the interval */
    uint32_t inflight;
    uint16_t last_id;
    uint8_t *ids_in_flight; /* bitmap over packet ids */
    /* subscriber */
    lg_stream *streams;
    /* --tls-resume: the session of the first connection, resumed by the second */
    SSL_SESSION *session;
} peer;

struct lg_worker {
    lg_run *run;
    const lg_opts *o;
    uint32_t index;
    pthread_t thread;
    bool thread_started;
    struct event_base *base;
    struct event *tick;
    peer *peers;
    uint32_t count;
    uint32_t next_connect, connecting, max_connecting;
    bool publishing, publishing_done;
    int64_t t0, t_warm, t_end;
    double rate_per_publisher;
    size_t high_water;
    unsigned error_lines;
    /* --tls-resume: round 0 connects every client once to get its session
     * (not measured), round 1 reconnects with it (measured). Otherwise 1. */
    int round;
    int64_t measure_start_ns;
    const char *tls_version, *tls_cipher;
    lg_counts n;
    lg_hist *latency, *connect_latency;
    /* progress for the main thread, refreshed on every tick */
    _Atomic uint64_t p_connected, p_failed, p_subscribed, p_disconnects, p_sent, p_unique;
    _Atomic int64_t p_last_connected, p_measure_start;
    _Atomic bool p_done;
    int64_t last_connected_ns;
};

static void report_error(lg_worker *w, const peer *p, const char *why)
{
    static const char *const roles[] = {"client", "subscriber", "publisher"};
    if (w->error_lines++ < MAX_ERROR_LINES)
        fprintf(stderr, "mqttload: %s %u: %s\n", roles[p->role], p->index, why);
}

/* ---- publishing */

static uint16_t take_packet_id(peer *p)
{
    /* The window is far below 65535, so a free id is always near. */
    uint16_t id = p->last_id;
    do {
        id = (uint16_t)(id + 1);
    } while (id == 0 || (p->ids_in_flight[id >> 3] & (1u << (id & 7))));
    p->ids_in_flight[id >> 3] |= (uint8_t)(1u << (id & 7));
    p->last_id = id;
    p->inflight++;
    return id;
}

static bool publish_one(peer *p, int64_t now)
{
    lg_worker *w = p->w;
    uint16_t id = w->o->qos ? take_packet_id(p) : 0;
    lg_stamp(p->payload, w->run->id, p->index, p->seq, now);
    mqtt_bytes topic = {(const uint8_t *)p->topic, p->topic_len};
    mqtt_bytes payload = {p->payload, w->o->size};
    if (!lg_client_publish(p->client, topic, payload, w->o->qos, id))
        return false;
    p->seq++;
    w->n.sent_total++;
    if (now >= w->t_warm && now < w->t_end)
        w->n.sent_window++;
    return true;
}

static bool may_send(const peer *p)
{
    const lg_worker *w = p->w;
    return p->connected && lg_client_is_open(p->client) && w->publishing && !w->publishing_done &&
           !(w->o->qos && p->inflight >= w->o->window);
}

/* As fast as allowed: up to the QoS 1 window, and while the output buffer is
 * not backed up. The caller flushes. */
static void pump(peer *p)
{
    lg_worker *w = p->w;
    for (unsigned burst = 0; may_send(p); burst++) {
        if (lg_client_pending(p->client) >= w->high_water || burst == BURST_MAX) {
            lg_client_want_writable(p->client);
            return;
        }
        int64_t now = lg_now_ns();
        if (now >= w->t_end || !publish_one(p, now))
            return;
    }
}

/* Fixed rate: every publisher sends what its schedule says is due by now. */
static void pace(lg_worker *w, int64_t now)
{
    double elapsed = (double)(now - w->t0) / 1e9;
    for (uint32_t i = 0; i < w->count; i++) {
        peer *p = &w->peers[i];
        if (p->role != ROLE_PUBLISHER)
            continue;
        uint64_t due = (uint64_t)(elapsed * w->rate_per_publisher + p->offset);
        while (p->seq < due && may_send(p) && lg_client_pending(p->client) < w->high_water)
            if (!publish_one(p, lg_now_ns()))
                break;
        if (lg_client_is_open(p->client))
            lg_client_flush(p->client);
    }
}

static void start_publishing(lg_worker *w)
{
    const lg_opts *o = w->o;
    w->t0 = atomic_load_explicit(&w->run->t0_ns, memory_order_relaxed);
    w->t_warm = w->t0 + (int64_t)(o->warmup * 1e9);
    w->t_end = w->t_warm + (int64_t)(o->duration * 1e9);
    w->publishing = true;
    if (o->rate > 0)
        return; /* the tick paces */
    for (uint32_t i = 0; i < w->count; i++) {
        peer *p = &w->peers[i];
        if (p->role == ROLE_PUBLISHER) {
            pump(p);
            if (lg_client_is_open(p->client))
                lg_client_flush(p->client);
        }
    }
}

/* ---- client events */

static void start_connections(lg_worker *w);

/* --tls-resume, first round: keep the session, leave, let the next one connect. */
static void on_primed(peer *p)
{
    lg_worker *w = p->w;
    p->session = lg_client_tls_session(p->client);
    if (!p->session)
        report_error(w, p, "no resumable TLS session from the broker: the reconnect is a full handshake");
    lg_client_disconnect(p->client); /* freed before the next round: not from inside its handler */
    w->connecting--;
    start_connections(w);
}

static void on_connected(void *ctx)
{
    peer *p = ctx;
    lg_worker *w = p->w;
    int64_t now = lg_now_ns();
    if (w->round == 0) {
        on_primed(p);
        return;
    }
    if (w->run->tls_ctx) {
        if (!w->tls_version) {
            w->tls_version = lg_client_tls_version(p->client);
            w->tls_cipher = lg_client_tls_cipher(p->client);
        }
        if (lg_client_tls_resumed(p->client))
            w->n.tls_resumed++;
    }
    p->connected = true;
    w->n.connected++;
    w->connecting--;
    w->last_connected_ns = now;
    lg_hist_record(w->connect_latency, (uint64_t)(now - p->started_ns));
    if (p->role == ROLE_SUBSCRIBER) {
        char filter[256];
        if (lg_subscriber_filter(w->o, p->index, filter, sizeof filter) == 0 ||
            !lg_client_subscribe(p->client, filter, w->o->qos))
            report_error(w, p, "cannot encode SUBSCRIBE");
    } else if (p->role == ROLE_PUBLISHER && w->publishing && w->o->rate == 0) {
        pump(p);
    }
    start_connections(w);
}

static void on_subscribed(void *ctx, uint8_t granted)
{
    peer *p = ctx;
    if (granted >= 0x80) {
        char why[64];
        snprintf(why, sizeof why, "SUBSCRIBE refused: 0x%02x", granted);
        report_error(p->w, p, why);
        lg_client_disconnect(p->client);
        p->w->n.failed++;
        return;
    }
    p->w->n.subscribed++;
}

static void on_message(void *ctx, const mqtt_publish *pub)
{
    peer *p = ctx;
    lg_worker *w = p->w;
    int64_t now = lg_now_ns();
    uint32_t from;
    uint64_t seq;
    int64_t sent;
    int64_t slot = -1;
    if (lg_unstamp(pub->payload.data, pub->payload.len, w->run->id, &from, &seq, &sent))
        slot = lg_stream_slot(w->o, p->index, from);
    if (slot < 0) {
        w->n.foreign++;
        return;
    }
    w->n.received_total++;
    if (!lg_stream_accept(&p->streams[slot], seq)) {
        w->n.duplicates++;
        return;
    }
    w->n.unique_total++;
    if (now >= w->t_warm && now < w->t_end && w->publishing) {
        w->n.delivered_window++;
        lg_hist_record(w->latency, (uint64_t)(now > sent ? now - sent : 0));
    }
}

static void on_acked(void *ctx, uint16_t id)
{
    peer *p = ctx;
    lg_worker *w = p->w;
    uint8_t bit = (uint8_t)(1u << (id & 7));
    if (p->role != ROLE_PUBLISHER || !(p->ids_in_flight[id >> 3] & bit)) {
        w->n.unexpected_acks++;
        return;
    }
    p->ids_in_flight[id >> 3] &= (uint8_t)~bit;
    p->inflight--;
    if (w->o->rate == 0)
        pump(p); /* the client flushes once the whole read is handled */
}

static void on_writable(void *ctx)
{
    peer *p = ctx;
    if (p->w->o->rate == 0)
        pump(p);
}

static void on_closed(void *ctx, const char *why)
{
    peer *p = ctx;
    lg_worker *w = p->w;
    report_error(w, p, why);
    if (p->connected) {
        w->n.disconnects++;
        return;
    }
    w->n.failed++;
    w->connecting--;
    start_connections(w);
}

static const lg_client_handlers handlers = {
    .connected = on_connected,
    .subscribed = on_subscribed,
    .message = on_message,
    .acked = on_acked,
    .writable = on_writable,
    .closed = on_closed,
};

/* ---- set-up */

static void start_one(lg_worker *w, peer *p)
{
    static const char *const tags[] = {"c", "s", "p"};
    char id[64];
    snprintf(id, sizeof id, "mqttload-%ld-%s%u", (long)getpid(), tags[p->role], p->index);
    char user[80];
    snprintf(user, sizeof user, "%s%04u", w->o->username_prefix, p->index);
    size_t packet = (size_t)w->o->size + 300;
    /* Subscribers take many PUBLISHes per read(); the others only get acks,
     * and clients held idle by the thousand only their CONNACK. */
    size_t read_size = p->role == ROLE_SUBSCRIBER ? (packet * 4 > 65536 ? packet * 4 : 65536)
                       : w->o->hold > 0           ? 256
                                                  : 4096;
    const lg_run *run = w->run;
    lg_client_config cfg = {
        .client_id = id,
        .username = w->o->username_prefix[0] ? user : NULL,
        .version = w->o->version,
        .keep_alive = w->o->keep_alive,
        .session_expiry = w->o->persistent && p->role == ROLE_SUBSCRIBER ? 3600 : 0,
        .source = run->source_count ? &run->sources[p->number % run->source_count] : NULL,
        .read_size = read_size,
        .low_water = w->high_water / 2,
        .tls_ctx = w->run->tls_ctx,
        .tls_servername = w->o->servername[0] ? w->o->servername : NULL,
        .tls_session = p->session,
    };
    p->started_ns = lg_now_ns();
    w->connecting++;
    p->client = lg_client_start(w->base, &w->run->addr, &cfg, &handlers, p);
    if (!p->client) {
        char why[96];
        snprintf(why, sizeof why, "cannot open a socket: %s", strerror(errno));
        report_error(w, p, why);
        w->connecting--;
        w->n.failed++;
    }
}

static void start_connections(lg_worker *w)
{
    while (w->connecting < w->max_connecting && w->next_connect < w->count)
        start_one(w, &w->peers[w->next_connect++]);
}

static int setup_publisher(lg_worker *w, peer *p)
{
    char topic[256];
    size_t len = lg_publisher_topic(w->o, p->index, topic, sizeof topic);
    p->topic = len ? strdup(topic) : NULL;
    p->topic_len = (uint32_t)len;
    p->payload = malloc(w->o->size);
    p->ids_in_flight = calloc(PACKET_IDS / 8, 1);
    if (!p->topic || !p->payload || !p->ids_in_flight)
        return -1;
    memset(p->payload, 'x', w->o->size);
    p->offset = w->o->publishers ? (double)p->index / w->o->publishers : 0;
    return 0;
}

static int setup_peers(lg_worker *w)
{
    const lg_opts *o = w->o;
    uint32_t threads = o->threads, total = o->connect_only ? o->connect_only : o->subscribers + o->publishers;
    w->count = total / threads + (w->index < total % threads ? 1 : 0);
    w->peers = calloc(w->count ? w->count : 1, sizeof *w->peers);
    if (!w->peers)
        return -1;
    for (uint32_t i = 0; i < w->count; i++) {
        peer *p = &w->peers[i];
        uint32_t k = w->index + i * threads;
        p->w = w;
        p->number = k;
        if (o->connect_only) {
            p->role = ROLE_PLAIN;
            p->index = k;
        } else if (k < o->subscribers) {
            p->role = ROLE_SUBSCRIBER;
            p->index = k;
            p->streams = calloc(lg_streams_per_subscriber(o), sizeof *p->streams);
            if (!p->streams)
                return -1;
        } else {
            p->role = ROLE_PUBLISHER;
            p->index = k - o->subscribers;
            if (setup_publisher(w, p) != 0)
                return -1;
        }
    }
    w->n.clients = w->count;
    return 0;
}

/* ---- the loop */

static void publish_progress(lg_worker *w)
{
    atomic_store_explicit(&w->p_connected, w->n.connected, memory_order_relaxed);
    atomic_store_explicit(&w->p_failed, w->n.failed, memory_order_relaxed);
    atomic_store_explicit(&w->p_subscribed, w->n.subscribed, memory_order_relaxed);
    atomic_store_explicit(&w->p_disconnects, w->n.disconnects, memory_order_relaxed);
    atomic_store_explicit(&w->p_sent, w->n.sent_total, memory_order_relaxed);
    atomic_store_explicit(&w->p_unique, w->n.unique_total, memory_order_relaxed);
    atomic_store_explicit(&w->p_last_connected, w->last_connected_ns, memory_order_relaxed);
    atomic_store_explicit(&w->p_measure_start, w->measure_start_ns, memory_order_relaxed);
    atomic_store_explicit(&w->p_done, w->publishing_done, memory_order_relaxed);
}

static void close_all(lg_worker *w)
{
    for (uint32_t i = 0; i < w->count; i++)
        if (w->peers[i].client)
            lg_client_disconnect(w->peers[i].client);
}

/* --tls-resume: every client has its session; connect them all again. */
static void start_measured_round(lg_worker *w)
{
    for (uint32_t i = 0; i < w->count; i++) {
        lg_client_free(w->peers[i].client);
        w->peers[i].client = NULL;
    }
    w->round = 1;
    w->next_connect = 0;
    w->measure_start_ns = lg_now_ns();
    start_connections(w);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    lg_worker *w = arg;
    int phase = atomic_load_explicit(&w->run->phase, memory_order_acquire);
    if (phase == LG_PHASE_CLOSE) {
        publish_progress(w);
        close_all(w);
        event_base_loopbreak(w->base);
        return;
    }
    if (w->round == 0 && w->next_connect == w->count && w->connecting == 0)
        start_measured_round(w);
    if (phase == LG_PHASE_RUN && !w->publishing)
        start_publishing(w);
    if (w->publishing && !w->publishing_done) {
        int64_t now = lg_now_ns();
        if (now >= w->t_end)
            w->publishing_done = true;
        else if (w->o->rate > 0)
            pace(w, now);
    }
    publish_progress(w);
}

static void *worker_main(void *arg)
{
    lg_worker *w = arg;
    struct timeval tv = {0, w->o->rate > 0 ? TICK_PACED_US : TICK_US};
    event_add(w->tick, &tv);
    if (w->round == 1)
        w->measure_start_ns = lg_now_ns();
    start_connections(w);
    event_base_dispatch(w->base);
    return NULL;
}

lg_worker *lg_worker_new(lg_run *run, uint32_t index)
{
    lg_worker *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    const lg_opts *o = run->opts;
    w->run = run;
    w->o = o;
    w->index = index;
    w->round = o->tls_resume ? 0 : 1;
    w->max_connecting = (o->connect_concurrency + o->threads - 1) / o->threads;
    w->rate_per_publisher = o->publishers ? o->rate / o->publishers : 0;
    /* Enough for a few messages, small enough that QoS 0 feels TCP back-pressure. */
    size_t msg = (size_t)o->size + 300;
    w->high_water = msg * 4 > 65536 ? msg * 4 : 65536;
    w->latency = lg_hist_new();
    w->connect_latency = lg_hist_new();
    struct event_config *cfg = event_config_new();
    if (cfg) {
        /* One thread per base: no locks. --rate paces with a sub-millisecond
         * tick, which needs timerfd; it costs a syscall per loop iteration,
         * so runs that do not pace go without. */
        int flags = EVENT_BASE_FLAG_NOLOCK | (o->rate > 0 ? EVENT_BASE_FLAG_PRECISE_TIMER : 0);
        event_config_set_flag(cfg, flags);
        w->base = event_base_new_with_config(cfg);
        event_config_free(cfg);
    }
    if (w->base)
        w->tick = event_new(w->base, -1, EV_PERSIST, on_tick, w);
    if (!w->latency || !w->connect_latency || !w->base || !w->tick || setup_peers(w) != 0) {
        lg_worker_free(w);
        return NULL;
    }
    return w;
}

int lg_worker_start(lg_worker *w)
{
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
        return -1;
    w->thread_started = true;
    return 0;
}

void lg_worker_join(lg_worker *w)
{
    if (w->thread_started)
        pthread_join(w->thread, NULL);
    w->thread_started = false;
}

void lg_worker_free(lg_worker *w)
{
    if (!w)
        return;
    for (uint32_t i = 0; w->peers && i < w->count; i++) {
        peer *p = &w->peers[i];
        lg_client_free(p->client);
        free(p->topic);
        free(p->payload);
        free(p->ids_in_flight);
        free(p->streams);
        SSL_SESSION_free(p->session);
    }
    free(w->peers);
    if (w->tick)
        event_free(w->tick);
    if (w->base)
        event_base_free(w->base);
    lg_hist_free(w->latency);
    lg_hist_free(w->connect_latency);
    free(w);
}

void lg_worker_poll(const lg_worker *w, lg_snapshot *out)
{
    out->connected = atomic_load_explicit(&w->p_connected, memory_order_relaxed);
    out->failed = atomic_load_explicit(&w->p_failed, memory_order_relaxed);
    out->subscribed = atomic_load_explicit(&w->p_subscribed, memory_order_relaxed);
    out->disconnects = atomic_load_explicit(&w->p_disconnects, memory_order_relaxed);
    out->sent = atomic_load_explicit(&w->p_sent, memory_order_relaxed);
    out->unique = atomic_load_explicit(&w->p_unique, memory_order_relaxed);
    out->last_connected_ns = atomic_load_explicit(&w->p_last_connected, memory_order_relaxed);
    out->measure_start_ns = atomic_load_explicit(&w->p_measure_start, memory_order_relaxed);
    out->publishing_done = atomic_load_explicit(&w->p_done, memory_order_relaxed);
}

const lg_counts *lg_worker_counts(const lg_worker *w)
{
    return &w->n;
}

const lg_hist *lg_worker_latency(const lg_worker *w)
{
    return w->latency;
}

const lg_hist *lg_worker_connect_latency(const lg_worker *w)
{
    return w->connect_latency;
}

void lg_worker_tls_info(const lg_worker *w, const char **version, const char **cipher)
{
    *version = w->tls_version;
    *cipher = w->tls_cipher;
}
