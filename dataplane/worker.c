/* Workers (worker.h). */
#include "worker.h"

#include <event2/event.h>
#include <stdlib.h>

#include "conn.h"
#include "realm.h"
#include "session.h"
#include "strmap.h"
#include "sub_tree.h"
#include "xthread_ring.h"

worker *worker_new(broker *b, int index, struct event_base *base)
{
    worker *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->broker = b;
    w->index = index;
    w->base = base;
    w->moving_tail = &w->moving;
    if (pthread_mutex_init(&w->moving_mu, NULL) != 0) {
        free(w);
        return NULL;
    }
    w->realms = calloc((size_t)(b->realm_count ? b->realm_count : 1), sizeof *w->realms);
    if (!w->realms || !(w->moving_waker = xthread_waker_new(base, conn_adopt_moved, w))) {
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
    xthread_waker_free(w->moving_waker); /* its connections were adopted and closed (close_all) */
    pthread_mutex_destroy(&w->moving_mu);
    if (w->group_commit)
        event_free(w->group_commit);
    free(w);
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
