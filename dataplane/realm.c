/* Realms (realm.h). */
#include "realm.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker.h"
#include "log.h"
#include "retain_store.h"
#include "strmap.h"
#include "sub_tree.h"

static void free_count(void *ctx, const void *key, size_t len, void *value)
{
    (void)ctx, (void)key, (void)len;
    free(value);
}

realm *realm_new(broker *b, const char *name, int index)
{
    realm *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->broker = b;
    r->index = index;
    snprintf(r->name, sizeof r->name, "%s", name);
    r->retained = retain_store_new();
    r->shared = sub_tree_new();
    r->auth_sessions = strmap_new();
    if (!r->retained || !r->shared || !r->auth_sessions || pthread_mutex_init(&r->retained_mu, NULL) != 0) {
        realm_free(r);
        return NULL;
    }
    pthread_mutex_init(&r->shared_mu, NULL); /* default attributes: cannot fail on Linux */
    pthread_mutex_init(&r->auth_mu, NULL);
    r->locks_made = true;
    return r;
}

void realm_free(realm *r)
{
    if (!r)
        return;
    retain_store_free(r->retained);
    sub_tree_free(r->shared);
    if (r->auth_sessions) {
        strmap_foreach(r->auth_sessions, free_count, NULL);
        strmap_free(r->auth_sessions);
    }
    if (r->locks_made) {
        pthread_mutex_destroy(&r->retained_mu);
        pthread_mutex_destroy(&r->shared_mu);
        pthread_mutex_destroy(&r->auth_mu);
    }
    free(r);
}

/* The map's key for `name`: lower-cased (authentication names compare without case). */
static size_t auth_key(const char *name, char *key, size_t room)
{
    size_t n = 0;
    for (; name[n] && n < room; n++)
        key[n] = (char)tolower((unsigned char)name[n]);
    return n;
}

/* The count of `key` made on first use, under auth_mu; NULL when out of memory (logged: the
 * limit then counts one session fewer). */
static uint32_t *count_of(realm *r, const char *key, size_t len, const char *auth_name)
{
    uint32_t *count = strmap_get(r->auth_sessions, key, len);
    if (count)
        return count;
    if (!(count = calloc(1, sizeof *count)) || strmap_put(r->auth_sessions, key, len, count) != 0) {
        free(count);
        log_msg(LOG_ERROR, "realm", "out of memory counting the sessions of auth_name=\"%s\"", auth_name);
        return NULL;
    }
    return count;
}

void realm_count_auth_session(realm *r, const char *auth_name, int delta)
{
    if (!auth_name || !auth_name[0])
        return;
    char key[256];
    size_t len = auth_key(auth_name, key, sizeof key);
    pthread_mutex_lock(&r->auth_mu);
    uint32_t *count = delta > 0 ? count_of(r, key, len, auth_name) : strmap_get(r->auth_sessions, key, len);
    if (count && delta > 0)
        ++*count;
    else if (count && --*count == 0)
        free(strmap_remove(r->auth_sessions, key, len));
    pthread_mutex_unlock(&r->auth_mu);
}

bool realm_reserve_auth_session(realm *r, const char *auth_name, uint32_t limit, bool taking_over)
{
    char key[256];
    size_t len = auth_key(auth_name, key, sizeof key);
    pthread_mutex_lock(&r->auth_mu);
    const uint32_t *now = strmap_get(r->auth_sessions, key, len);
    uint32_t others = now ? *now : 0;
    if (taking_over && others)
        others--;
    bool room = others < limit;
    uint32_t *count = room ? count_of(r, key, len, auth_name) : NULL;
    if (count)
        ++*count;
    pthread_mutex_unlock(&r->auth_mu);
    return room;
}

uint32_t realm_auth_sessions(realm *r, const char *auth_name)
{
    char key[256];
    size_t len = auth_key(auth_name, key, sizeof key);
    pthread_mutex_lock(&r->auth_mu);
    const uint32_t *count = strmap_get(r->auth_sessions, key, len);
    uint32_t n = count ? *count : 0;
    pthread_mutex_unlock(&r->auth_mu);
    return n;
}

bool realm_take_session(realm *r, uint32_t limit)
{
    uint32_t now = atomic_load_explicit(&r->session_count, memory_order_relaxed);
    do {
        if (limit && now >= limit)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&r->session_count, &now, now + 1, memory_order_relaxed,
                                                    memory_order_relaxed));
    return true;
}

void realm_give_back_session(realm *r)
{
    atomic_fetch_sub_explicit(&r->session_count, 1, memory_order_relaxed);
}

uint32_t realm_quota(const realm *r, uint32_t per_unit)
{
    uint64_t quota = (uint64_t)atomic_load_explicit(&r->throughput_units, memory_order_relaxed) * per_unit;
    return quota > UINT32_MAX ? UINT32_MAX : (uint32_t)quota;
}

realm *realm_find(const broker *b, const char *name)
{
    for (int i = 0; i < b->realm_count; i++)
        if (strcmp(b->realms[i]->name, name) == 0)
            return b->realms[i];
    return NULL;
}

bool realm_select_by_sni(const broker *b, const char *sni, realm **r)
{
    const char *domain = b->config.sni_domain;
    if (!domain[0] || !sni)
        return true;
    size_t sl = strlen(sni), dl = strlen(domain);
    if (sl <= dl + 1 || sni[sl - dl - 1] != '.' || strcasecmp(sni + sl - dl, domain) != 0)
        return true; /* not a {namespace}.{domain} name: the listener's namespace applies */
    size_t nl = sl - dl - 1;
    for (int i = 0; i < b->realm_count; i++) {
        if (strlen(b->realms[i]->name) == nl && strncasecmp(sni, b->realms[i]->name, nl) == 0) {
            *r = b->realms[i];
            return true;
        }
    }
    return false;
}
