/* A session's subscriptions (session.h): its own list, and where routing finds them: the home
 * worker's tree for ordinary filters, the realm's shared tree for $share ones. */
#include <stdlib.h>
#include <string.h>

#include "lifecycle_events.h"
#include "mqtt_topic.h"
#include "realm.h"
#include "refcount.h"
#include "session.h"
#include "sub_tree.h"
#include "worker.h"

static bool is_shared_filter(mqtt_bytes filter)
{
    static const char share[] = "$share/";
    return filter.len >= sizeof share - 1 && memcmp(filter.data, share, sizeof share - 1) == 0;
}

shared_member *shared_member_ref(shared_member *m)
{
    refcount_take(&m->refs);
    return m;
}

void shared_member_unref(shared_member *m)
{
    if (m && refcount_drop(&m->refs))
        free(m);
}

/* Keeps realm->events_subs: `delta` subscriptions to `filter` came or went. */
static void count_events_filter(session *s, mqtt_bytes filter, int delta)
{
    mqtt_bytes group, inner = filter;
    if (is_shared_filter(filter) && mqtt_topic_shared_split(filter, &group, &inner) != 1)
        return;
    if (lifecycle_topic_reserved(inner))
        atomic_fetch_add_explicit(&s->realm->events_subs, (uint32_t)delta, memory_order_relaxed);
}

/* Subscribes in the right tree: shared filters in the realm's (one member per group is
 * chosen realm-wide, by any worker: under its lock), the others at the home worker. Returns
 * what sub_tree_add does. */
static int tree_add(session *s, mqtt_bytes filter, uint8_t options, uint32_t subscription_id)
{
    if (!is_shared_filter(filter)) {
        worker_realm *wr = worker_realm_of(s->worker, s->realm->index);
        int added = sub_tree_add(wr->subs, filter, s, options, subscription_id);
        if (added > 0) {
            atomic_fetch_add_explicit(&wr->plain_subs, 1, memory_order_relaxed);
            count_events_filter(s, filter, 1);
        }
        return added;
    }
    if (!s->member) {
        if (!(s->member = calloc(1, sizeof *s->member)))
            return -1;
        s->member->session = s;
        s->member->home = s->worker;
        refcount_init(&s->member->refs);
        atomic_init(&s->member->connected, s->conn != NULL);
    }
    pthread_mutex_lock(&s->realm->shared_mu);
    int added = sub_tree_add(s->realm->shared, filter, s->member, options, subscription_id);
    if (added > 0)
        atomic_fetch_add_explicit(&s->realm->shared_count, 1, memory_order_relaxed);
    pthread_mutex_unlock(&s->realm->shared_mu);
    if (added > 0)
        count_events_filter(s, filter, 1);
    return added;
}

static void tree_remove(session *s, mqtt_bytes filter)
{
    if (!is_shared_filter(filter)) {
        worker_realm *wr = worker_realm_of(s->worker, s->realm->index);
        if (sub_tree_remove(wr->subs, filter, s) > 0) {
            atomic_fetch_sub_explicit(&wr->plain_subs, 1, memory_order_relaxed);
            count_events_filter(s, filter, -1);
        }
        return;
    }
    if (!s->member)
        return;
    pthread_mutex_lock(&s->realm->shared_mu);
    bool removed = sub_tree_remove(s->realm->shared, filter, s->member) > 0;
    if (removed)
        atomic_fetch_sub_explicit(&s->realm->shared_count, 1, memory_order_relaxed);
    pthread_mutex_unlock(&s->realm->shared_mu);
    if (removed)
        count_events_filter(s, filter, -1);
}

static session_sub *find_sub(session *s, mqtt_bytes filter)
{
    for (uint32_t i = 0; i < s->sub_count; i++)
        if (s->subs[i].filter_len == filter.len && memcmp(s->subs[i].filter, filter.data, filter.len) == 0)
            return &s->subs[i];
    return NULL;
}

int session_subscribe(session *s, mqtt_bytes filter, uint8_t options, uint32_t subscription_id)
{
    session_sub *existing = find_sub(s, filter);
    if (!existing && s->sub_count == s->sub_cap) {
        uint32_t cap = s->sub_cap ? s->sub_cap * 2 : 4;
        session_sub *grown = realloc(s->subs, cap * sizeof *grown);
        if (!grown)
            return -1;
        s->subs = grown;
        s->sub_cap = cap;
    }
    if (tree_add(s, filter, options, subscription_id) < 0)
        return -1;
    if (existing) {
        existing->options = options;
        existing->subscription_id = subscription_id;
        session_save(s);
        return 0;
    }
    session_sub *sub = &s->subs[s->sub_count];
    sub->filter = malloc(filter.len + 1);
    if (!sub->filter) {
        tree_remove(s, filter);
        return -1;
    }
    memcpy(sub->filter, filter.data, filter.len);
    sub->filter[filter.len] = '\0';
    sub->filter_len = filter.len;
    sub->options = options;
    sub->subscription_id = subscription_id;
    s->sub_count++;
    session_save(s);
    return 1;
}

bool session_unsubscribe(session *s, mqtt_bytes filter)
{
    session_sub *sub = find_sub(s, filter);
    if (!sub)
        return false;
    tree_remove(s, filter);
    free(sub->filter);
    *sub = s->subs[--s->sub_count];
    session_save(s);
    return true;
}

void session_drop_subscriptions(session *s)
{
    for (uint32_t i = 0; i < s->sub_count; i++) {
        mqtt_bytes f = {(const uint8_t *)s->subs[i].filter, s->subs[i].filter_len};
        tree_remove(s, f);
        free(s->subs[i].filter);
    }
    free(s->subs);
    s->subs = NULL;
    s->sub_count = s->sub_cap = 0;
    if (s->member) { /* out of the tree: messages still on their way to it find no session */
        s->member->session = NULL;
        shared_member_unref(s->member);
        s->member = NULL;
    }
}
