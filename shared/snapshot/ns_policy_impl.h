/* The representation behind ns_policy.h, shared by ns_policy.c (accessors,
 * memory), ns_policy_parse.c (the snapshot parser) and client_perms.c. Not an
 * API: nothing outside shared/snapshot/ includes it. */
#ifndef EG_SNAPSHOT_NS_POLICY_IMPL_H
#define EG_SNAPSHOT_NS_POLICY_IMPL_H

#include "policy/client_query.h"
#include "policy/topic_template.h"
#include "snapshot/ns_policy.h"

/* A bump allocator: a policy's strings and arrays live and die together, so
 * one owner frees them all at once, and parsing 10,000 clients costs a few
 * dozen malloc calls instead of several per client. */
typedef struct ns_arena_chunk ns_arena_chunk;
typedef struct ns_arena {
    ns_arena_chunk *head; /* owned: the chunks, newest first */
} ns_arena;

/* Zeroed memory aligned for any type, or NULL when out of memory. */
void *ns_arena_alloc(ns_arena *a, size_t size);
/* A NUL-terminated copy of len bytes. */
char *ns_arena_strndup(ns_arena *a, const char *s, size_t len);
void ns_arena_free(ns_arena *a);

/* Below, "mem" marks memory in the owning policy's arena (ns_policy.mem). */

struct ns_client {
    const char *name;      /* mem */
    const char *auth_name; /* mem; the snapshot's spelling */
    size_t auth_len;
    uint32_t auth_hash; /* of the ASCII-lowercased authentication name */
    bool enabled;
    ns_validation_scheme scheme;
    size_t n_thumbprints;
    char thumbprints[NS_MAX_THUMBPRINTS][NS_THUMBPRINT_HEX + 1]; /* upper-case hex */
    client_attr *attrs; /* mem, and so are their keys, strings and item arrays */
    size_t n_attrs;
};

typedef struct ns_group {
    const char *name;    /* mem */
    client_query *query; /* owned by the policy; NULL for $all (every client) */
} ns_group;

typedef struct ns_space {
    const char *name;           /* mem */
    topic_template **templates; /* mem array; each template owned by the policy */
    size_t n_templates;
} ns_space;

typedef struct ns_binding {
    size_t group;   /* index into groups */
    size_t space;   /* index into spaces */
    bool publisher; /* else Subscriber */
} ns_binding;

struct ns_policy {
    ns_arena mem; /* owns every string and array below unless said otherwise */
    const char *ns;
    uint64_t version;
    bool deleted;
    ns_settings settings;            /* hostname in mem */
    X509_STORE *cas;                 /* owned */
    unsigned char (*ca_digests)[32]; /* mem: SHA-256 of each certificate's DER, sorted */
    size_t n_cas;
    ns_client *clients; /* mem */
    size_t n_clients;
    uint32_t *slots;  /* mem: open-addressing table of client index + 1 (0: empty) */
    size_t slot_mask; /* slot count - 1 (a power of two) */
    ns_group *groups; /* mem; their queries owned */
    size_t n_groups;
    ns_space *spaces; /* mem; their templates owned */
    size_t n_spaces;
    ns_binding *bindings; /* mem */
    size_t n_bindings;
};

/* FNV-1a over the ASCII-lowercased bytes: the hash of the client table. */
uint32_t ns_auth_hash(const char *s, size_t len);
/* Equal ignoring ASCII case (not the locale's, which could fold others). */
bool ns_auth_equal(const char *a, size_t a_len, const char *b, size_t b_len);

/* Builds p->slots over p->clients. Returns 1, -1 when out of memory, or 0
 * when two clients share an authentication name (ignoring ASCII case): then
 * *dup is the later one's index and *dup_of the earlier one's. */
int ns_policy_index_clients(ns_policy *p, size_t *dup, size_t *dup_of);

#endif
