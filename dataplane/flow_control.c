/* Overload handling between publishers and slow subscribers (flow_control.h). */
#include "flow_control.h"

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdlib.h>

#include "conn.h"
#include "log.h"
#include "session.h"
#include "worker.h"
#include "worker_mail.h"

/* How often a congested subscriber's progress is looked at, and how many looks without any
 * make it stopped: about a second, short next to slow_subscriber_timeout. */
#define PROGRESS_CHECK_MS 500
#define STALL_CHECKS 2

/* A congested session's bookkeeping, allocated while it lasts (owned by the session). */
struct flow_state {
    session *s;
    struct event *timer; /* PROGRESS_CHECK_MS, re-armed while congested; at 0 to close now */
    int64_t since_ms;    /* congested since (monotonic) */
    size_t output_mark;  /* unsent output at the last look */
    uint32_t completed_mark;
    uint8_t idle_looks;
    bool close_now; /* stalled with a full queue: disconnected on the timer, not mid-routing */
};

/* All of them, not only those a given subscriber paused: one slow subscriber then does not
 * hold another one's publishers, at the cost of a read's worth more in its queue. */
void flow_resume_publishers(worker *w)
{
    for (conn *c = w->conns; c; c = c->next) {
        if (!c->paused)
            continue;
        c->paused = false;
        conn_resume_reading(c);
    }
}

/* Whether `s` counts among the sessions that keep publishers paused. */
static void set_pausing(session *s, bool pausing)
{
    if (pausing) {
        s->worker->congested_sessions++;
    } else {
        s->worker->congested_sessions--;
        flow_resume_everywhere(s->worker);
    }
}

void flow_resume_everywhere(worker *w)
{
    flow_resume_publishers(w);
    /* Publishers on other workers paused by brake pulls (message.h); the pulls made before now
     * no longer pause anyone. */
    broker *b = w->broker;
    atomic_fetch_add_explicit(&b->resume_gen, 1, memory_order_relaxed);
    for (int i = 0; i < b->worker_count; i++) {
        worker *o = b->workers[i];
        if (o != w && !atomic_exchange_explicit(&o->resume_requested, true, memory_order_relaxed))
            worker_mail_poke(o);
    }
}

static void arm(struct flow_state *f, int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(f->timer, &tv);
}

/* Stopped: no progress for STALL_CHECKS looks. Its publishers go on; what it cannot take is
 * dropped (QoS 0) or queued up to the session limit (QoS 1/2, then it is disconnected). */
static void stall(session *s)
{
    s->stalled = true;
    worker_ns_stats(s->worker, s->realm)->throttled[THROTTLE_SUBSCRIBER_STALLED]++;
    log_msg(LOG_INFO, "flow",
            "subscriber stopped reading client=%s queued=%u output=%zu: its publishers resume, QoS 0 to it "
            "is dropped",
            s->client_id, s->queue_count, conn_output_pending(s->conn));
    set_pausing(s, false);
    /* Already past the session limit (its publishers on other workers learnt of its congestion
     * late): full now, not at a next message that may never come. */
    const broker_limits *lim = &s->broker->config.limits;
    if (s->queue_count > lim->queue_max_messages || s->queue_bytes > lim->queue_max_bytes)
        s->flow->close_now = true;
}

static void progress_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct flow_state *f = arg;
    session *s = f->s;
    if (!s->conn)
        return;
    const broker_limits *lim = &s->broker->config.limits;
    const char *why = f->close_now ? "subscriber stopped reading: its queue is full"
                      : broker_now_ms() - f->since_ms >= (int64_t)lim->slow_subscriber_timeout * 1000
                          ? "subscriber too slow"
                          : NULL;
    if (why) { /* frees f (flow_session_forget) */
        /* Stopped with its queue full: Event Grid's SessionOverflow; merely slow: a quota. */
        disconnect_reason as = f->close_now ? DISC_SESSION_OVERFLOW : DISC_QUOTA_EXCEEDED;
        log_msg(LOG_WARN, "flow", "subscriber disconnected client=%s queued=%u disconnection=%s: %s",
                s->client_id, s->queue_count, disconnect_reason_name(as), why);
        worker_ns_stats(s->worker, s->realm)->throttled[THROTTLE_SUBSCRIBER_DISCONNECT]++;
        conn_close_as(s->conn, MQTT_RC_QUOTA_EXCEEDED, as, true, why);
        return;
    }
    size_t output = conn_output_pending(s->conn);
    bool progress = s->completed != f->completed_mark || output < f->output_mark;
    f->completed_mark = s->completed;
    f->output_mark = output;
    if (progress) {
        f->idle_looks = 0;
        if (s->stalled) { /* reading again: it may pause its publishers again */
            s->stalled = false;
            set_pausing(s, true);
        }
    } else if (++f->idle_looks >= STALL_CHECKS && !s->stalled) {
        stall(s);
    }
    arm(f, f->close_now ? 0 : PROGRESS_CHECK_MS);
}

static void set_congested(session *s, bool congested)
{
    if (s->congested == congested)
        return;
    if (congested) {
        struct flow_state *f = calloc(1, sizeof *f);
        if (!f || !(f->timer = evtimer_new(s->worker->base, progress_cb, f))) {
            free(f); /* congested without the timer: never stalled nor timed out */
            log_msg(LOG_ERROR, "flow", "out of memory tracking a congested subscriber client=%s",
                    s->client_id);
        } else {
            f->s = s;
            f->since_ms = broker_now_ms();
            f->output_mark = s->conn ? conn_output_pending(s->conn) : 0;
            f->completed_mark = s->completed;
            arm(f, PROGRESS_CHECK_MS);
        }
        s->flow = f;
        s->congested = true;
        worker_ns_stats(s->worker, s->realm)->throttled[THROTTLE_PUBLISHERS_PAUSED]++;
        log_msg(LOG_INFO, "flow", "subscriber congested client=%s queued=%u: pausing its publishers",
                s->client_id, s->queue_count);
        set_pausing(s, true);
        return;
    }
    if (s->flow) {
        event_free(s->flow->timer);
        free(s->flow);
        s->flow = NULL;
    }
    s->congested = false;
    if (s->stalled)
        s->stalled = false; /* it no longer counted */
    else
        set_pausing(s, false);
}

bool flow_session_backlog_changed(session *s)
{
    if (!s->conn)
        return false;
    const broker_limits *lim = &s->broker->config.limits;
    size_t output = conn_output_pending(s->conn);
    bool over = s->queue_count >= lim->queue_max_messages || s->queue_bytes >= lim->queue_max_bytes ||
                output >= lim->output_high_water;
    bool under = s->queue_count <= lim->queue_max_messages / 2 &&
                 s->queue_bytes <= lim->queue_max_bytes / 2 && output <= lim->output_high_water / 2;
    if (over && !s->congested)
        set_congested(s, true);
    else if (under && s->congested)
        set_congested(s, false);
    return flow_session_pauses(s);
}

bool flow_session_pauses(const session *s)
{
    return s->congested && !s->stalled;
}

void flow_session_stalled_full(session *s)
{
    if (!s->flow || s->flow->close_now)
        return;
    s->flow->close_now = true;
    arm(s->flow, 0);
}

void flow_pause_publisher(conn *c)
{
    if (c->paused || c->state != CONN_ACTIVE)
        return;
    c->paused = true;
    bufferevent_disable(c->bev, EV_READ);
}

void flow_session_forget(session *s)
{
    set_congested(s, false);
}
