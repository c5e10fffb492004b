/* A realm: what one namespace's clients share and nothing more. Its retained
 * messages here; its sessions and subscriptions at their home workers
 * (worker_realm, by the realm's index). A session and its connection belong
 * to one realm, and routing never leaves it. One realm per served namespace,
 * or a single realm "" in open mode.
 *
 * Ownership: the broker owns its realms (broker_free); a realm owns its
 * retained store. */
#ifndef EG_REALM_H
#define EG_REALM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct broker;
struct retain_store;
struct sub_tree;

typedef struct realm {
    struct broker *broker;
    char name[64]; /* the namespace; "" in open mode */
    int index;     /* position in broker->realms, and in each worker's realms */
    /* "compatibility": "eventgrid" (compat_eventgrid.h): set before any worker runs, then
     * read-only. The handlers test it once per packet; the default mode pays nothing more. */
    bool eventgrid_compat;
    /* Its retained messages, read by SUBSCRIBE and written by PUBLISH with the retain flag on
     * any worker: under retained_mu (with the store's write, so both see one order). */
    struct retain_store *retained;
    pthread_mutex_t retained_mu;
    /* Shared subscriptions ($share/...) of every worker's sessions, as shared_member handles
     * (session.h): one member of a group is chosen realm-wide, by whichever worker routes.
     * The tree and shared_route_gen are under shared_mu. Ordinary subscriptions are in the
     * workers' trees. */
    struct sub_tree *shared;
    uint64_t shared_route_gen;     /* stamps members while the shared tree is matched */
    _Atomic uint32_t shared_count; /* subscriptions in `shared`: routing skips the lock at 0 */
    /* Subscriptions (plain or shared) whose filter starts at `$events`: life-cycle events are
     * built for MQTT only while some exist (a leading wildcard never matches them). */
    _Atomic uint32_t events_subs;
    pthread_mutex_t shared_mu;
    /* Connected sessions per authentication name (lower-cased; the limit 0x97 counts them):
     * name -> uint32_t count, owned, removed at 0. Kept at CONNECT and close, so a CONNECT
     * reads one entry instead of scanning every connection. Under auth_mu: any worker. */
    struct strmap *auth_sessions;
    pthread_mutex_t auth_mu;
    bool locks_made; /* the three mutexes are initialised */
    /* The namespace's throughputUnits from its applied snapshot; 0 (unset, open mode): no quota
     * of SPEC section 6 applies, and the publish path costs one test of it. */
    _Atomic uint32_t throughput_units;
    /* Sessions that exist in the realm, connected or not: taken when one is made
     * (realm_take_session), given back by session_destroy. */
    _Atomic uint32_t session_count;
} realm;

realm *realm_new(struct broker *b, const char *name, int index);
/* Frees the realm; its sessions must be gone (worker_destroy_sessions). */
void realm_free(realm *r);

/* The realm of a namespace (exact name), NULL when not served. */
realm *realm_find(const struct broker *b, const char *name);
/* The realm a TLS server name picks: "{ns}.{sni_domain}" with ns served -> that realm; a name
 * under the domain whose ns is not served -> false (refuse); anything else leaves *r (the
 * listener's). */
bool realm_select_by_sni(const struct broker *b, const char *sni, realm **r);

/* A connection of authentication name `auth_name` became active (+1) or closed (-1). Empty
 * names (open mode) are not counted. */
void realm_count_auth_session(realm *r, const char *auth_name, int delta);
/* Active connections of `auth_name` in the realm. */
uint32_t realm_auth_sessions(realm *r, const char *auth_name);
/* Counts a new connection of `auth_name` (+1) if the realm has fewer than `limit` of them, not
 * counting one that the new connection takes over (`taking_over`); false when at the limit.
 * One step under the realm's lock: two workers cannot both take the last place. */
bool realm_reserve_auth_session(realm *r, const char *auth_name, uint32_t limit, bool taking_over);

/* Counts a new session of the realm if it has fewer than `limit` (0: no limit); false at the
 * limit. One atomic step: two workers cannot both take the last place. */
bool realm_take_session(realm *r, uint32_t limit);
/* A session counted by realm_take_session ended (or was never made). */
void realm_give_back_session(realm *r);
/* The realm's quota per throughput unit `per_unit` scaled by its throughputUnits; 0 when it
 * sets none (unlimited). */
uint32_t realm_quota(const realm *r, uint32_t per_unit);

#endif
