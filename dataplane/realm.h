/* A realm: what one namespace's clients share and nothing more. Its own
 * session registry, subscription tree and retained messages; a session and
 * its connection belong to one realm, and routing never leaves it. One realm
 * per served namespace, or a single realm "" in open mode.
 *
 * Ownership: the broker owns its realms (broker_free); a realm owns its
 * sessions, subscription tree and retained store. */
#ifndef EG_REALM_H
#define EG_REALM_H

#include <stdbool.h>
#include <stddef.h>

struct broker;
struct strmap;
struct sub_tree;
struct retain_store;

typedef struct realm {
    struct broker *broker;
    char name[64];           /* the namespace; "" in open mode */
    int index;               /* position in broker->realms */
    struct strmap *sessions; /* client id -> struct session* (owned) */
    struct sub_tree *subs;
    struct retain_store *retained;
} realm;

realm *realm_new(struct broker *b, const char *name, int index);
/* Destroys every session (their wills are not published). */
void realm_destroy_sessions(realm *r);
/* Frees the realm; its sessions must be gone (realm_destroy_sessions). */
void realm_free(realm *r);

/* The realm of a namespace (exact name), NULL when not served. */
realm *realm_find(const struct broker *b, const char *name);
/* The realm a TLS server name picks: "{ns}.{sni_domain}" with ns served -> that realm; a name
 * under the domain whose ns is not served -> false (refuse); anything else leaves *r (the
 * listener's). */
bool realm_select_by_sni(const struct broker *b, const char *sni, realm **r);

#endif
