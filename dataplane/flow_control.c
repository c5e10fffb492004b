#include "flow_control.h"

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "conn.h"
#include "log.h"
#include "session.h"
#include "worker.h"

/* Publishers stay paused while any subscriber of any worker is congested. */
static void resume_publishers_when_clear(broker *b)
{
    for (int i = 0; i < b->worker_count; i++)
        if (b->workers[i]->congested_sessions)
            return;
    for (int i = 0; i < b->worker_count; i++) {
        for (conn *c = b->workers[i]->conns; c; c = c->next) {
            if (!c->paused)
                continue;
            c->paused = false;
            conn_resume_reading(c);
        }
    }
}

static void set_congested(session *s, bool congested)
{
    broker *b = s->broker;
    if (s->congested == congested)
        return;
    s->congested = congested;
    if (congested) {
        s->worker->congested_sessions++;
        s->worker->stats.congestion_events++;
        log_msg(LOG_INFO, "flow", "subscriber congested client=%s queued=%u: pausing its publishers",
                s->client_id, s->queue_count);
        struct timeval tv = {b->config.limits.slow_subscriber_timeout, 0};
        if (s->stuck_timer)
            evtimer_add(s->stuck_timer, &tv);
        return;
    }
    if (s->stuck_timer)
        evtimer_del(s->stuck_timer);
    if (--s->worker->congested_sessions == 0)
        resume_publishers_when_clear(b);
}

static void stuck_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    session *s = arg;
    if (!s->congested || !s->conn)
        return;
    log_msg(LOG_WARN, "flow", "slow subscriber disconnected client=%s queued=%u reason=QuotaExceeded",
            s->client_id, s->queue_count);
    conn_close(s->conn, MQTT_RC_QUOTA_EXCEEDED, true, "subscriber too slow");
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
    if (over && !s->congested) {
        if (!s->stuck_timer)
            s->stuck_timer = evtimer_new(s->worker->base, stuck_timer_cb, s);
        set_congested(s, true);
    } else if (under && s->congested) {
        set_congested(s, false);
    }
    return s->congested;
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
