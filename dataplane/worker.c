/* Workers (worker.h). */
#include "worker.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "listener.h"
#include "log.h"

#include "conn.h"
#include "realm.h"
#include "session.h"
#include "strmap.h"
#include "sub_tree.h"
#include "worker_mail.h"
#include "xthread_ring.h"

/* The main thread asked every worker to park: this one waits until it is resumed. */
static void park_if_asked(worker *w)
{
    broker *b = w->broker;
    pthread_mutex_lock(&b->world_mu);
    if (b->world_stopped) {
        b->parked++;
        pthread_cond_broadcast(&b->world_cv);
        while (b->world_stopped)
            pthread_cond_wait(&b->world_cv, &b->world_mu);
        b->parked--;
    }
    pthread_mutex_unlock(&b->world_mu);
}

/* The inbox's waker: park when asked, then take what other threads handed over. */
static bool inbox_run(void *arg)
{
    worker *w = arg;
    if (w->broker->threaded) {
        park_if_asked(w);
        conn_flush_written(w); /* what the main thread queued while it was parked */
    }
    conn_adopt_moved(w);
    listener_serve_accepted(w);
    pthread_mutex_lock(&w->moving_mu);
    bool stop = w->stop_asked;
    pthread_mutex_unlock(&w->moving_mu);
    if (stop)
        event_base_loopbreak(w->base);
    return false;
}

/* A base like the main loop's: the changelist folds an add and a delete of the same event
 * within one loop turn into no epoll_ctl at all. */
static struct event_base *new_base(void)
{
    struct event_config *cfg = event_config_new();
    if (!cfg)
        return NULL;
    event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    struct event_base *base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    return base;
}

worker *worker_new(broker *b, int index, struct event_base *base)
{
    worker *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->broker = b;
    w->index = index;
    w->own_base = !base;
    if (!(w->base = base ? base : new_base())) {
        free(w);
        return NULL;
    }
    w->moving_tail = &w->moving;
    w->accepted_tail = &w->accepted;
    if (pthread_mutex_init(&w->moving_mu, NULL) != 0) {
        if (w->own_base)
            event_base_free(w->base);
        free(w);
        return NULL;
    }
    w->realms = calloc((size_t)(b->realm_count ? b->realm_count : 1), sizeof *w->realms);
    if (!w->realms || !(w->moving_waker = xthread_waker_new(w->base, inbox_run, w))) {
        worker_free(w);
        return NULL;
    }
    for (int i = 0; i < b->realm_count; i++) {
        w->realms[i].sessions = strmap_new();
        w->realms[i].subs = sub_tree_new();
        if (!w->realms[i].sessions || !w->realms[i].subs) {
            worker_free(w);
            return NULL;
        }
    }
    return w;
}

static void collect_session(void *ctx, const void *key, size_t len, void *value)
{
    (void)key, (void)len;
    session ***cursor = ctx;
    *(*cursor)++ = value;
}

void worker_destroy_sessions(worker *w)
{
    for (int i = 0; i < w->broker->realm_count; i++) {
        strmap *sessions = w->realms[i].sessions;
        size_t n = sessions ? strmap_count(sessions) : 0;
        session **all = n ? calloc(n, sizeof *all) : NULL, **cursor = all;
        if (!all)
            continue;
        strmap_foreach(sessions, collect_session, &cursor);
        for (size_t j = 0; j < n; j++) {
            session_clear_will(all[j]); /* shutting down is not the client's failure */
            session_destroy(all[j]);
        }
        free(all);
    }
}

void worker_free(worker *w)
{
    if (!w)
        return;
    for (int i = 0; w->realms && i < w->broker->realm_count; i++) {
        strmap_free(w->realms[i].sessions);
        sub_tree_free(w->realms[i].subs);
    }
    free(w->realms);
    worker_mail_teardown(w);
    listener_drop_accepted(w);
    xthread_waker_free(w->moving_waker); /* its connections were adopted and closed (close_all) */
    pthread_mutex_destroy(&w->moving_mu);
    if (w->group_commit)
        event_free(w->group_commit);
    if (w->own_base)
        event_base_free(w->base);
    free(w);
}

static void *worker_thread(void *arg)
{
    worker *w = arg;
    event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

int broker_start_workers(broker *b)
{
    if (!b->threaded)
        return 0;
    for (int i = 0; i < b->worker_count; i++) {
        worker *w = b->workers[i];
        int rc = pthread_create(&w->thread, NULL, worker_thread, w);
        if (rc != 0) {
            log_msg(LOG_ERROR, "worker", "cannot start worker thread %d: %s", i, strerror(rc));
            return -1;
        }
        w->thread_started = true;
    }
    log_msg(LOG_INFO, "worker", "started %d worker threads", b->worker_count);
    return 0;
}

void broker_join_workers(broker *b)
{
    for (int i = 0; i < b->worker_count; i++) {
        worker *w = b->workers[i];
        if (!w->thread_started)
            continue;
        /* Through its inbox: only its own thread touches its base. */
        pthread_mutex_lock(&w->moving_mu);
        w->stop_asked = true;
        pthread_mutex_unlock(&w->moving_mu);
        xthread_waker_signal(w->moving_waker);
        pthread_join(w->thread, NULL);
        w->thread_started = false;
    }
}

void broker_world_stop(broker *b)
{
    if (!b->threaded)
        return;
    int running = 0;
    for (int i = 0; i < b->worker_count; i++)
        running += b->workers[i]->thread_started;
    pthread_mutex_lock(&b->world_mu);
    b->world_stopped = true;
    pthread_mutex_unlock(&b->world_mu);
    for (int i = 0; i < b->worker_count; i++)
        if (b->workers[i]->thread_started)
            xthread_waker_signal(b->workers[i]->moving_waker);
    pthread_mutex_lock(&b->world_mu);
    while (b->parked < running)
        pthread_cond_wait(&b->world_cv, &b->world_mu);
    pthread_mutex_unlock(&b->world_mu);
}

void broker_world_resume(broker *b)
{
    if (!b->threaded)
        return;
    pthread_mutex_lock(&b->world_mu);
    b->world_stopped = false;
    pthread_cond_broadcast(&b->world_cv);
    pthread_mutex_unlock(&b->world_mu);
    /* Each looks at its output (what this thread queued) when it leaves its park. */
}

worker_realm *worker_realm_of(worker *w, int realm_index)
{
    return &w->realms[realm_index];
}

uint64_t worker_next_id(const worker *w, uint64_t *counter)
{
    return (++*counter << WORKER_ID_BITS) | (uint64_t)w->index;
}

/* FNV-1a over the realm name and the client id: stable across restarts, so a
 * restored session goes back to the same home for the same worker count. */
worker *broker_home(const broker *b, const realm *r, mqtt_bytes client_id)
{
    if (b->worker_count == 1)
        return b->workers[0];
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = r->name; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;
    for (uint32_t i = 0; i < client_id.len; i++)
        h = (h ^ client_id.data[i]) * 1099511628211ULL;
    return b->workers[h % (uint64_t)b->worker_count];
}
