/* ns_policy: memory, the client table and the accessors. The parser is in
 * ns_policy_parse.c. */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/ns_policy_impl.h"

/* ---- ns_arena */

#define ARENA_CHUNK 65536

struct ns_arena_chunk {
    ns_arena_chunk *next;
    size_t used, size; /* bytes of data[] */
    alignas(max_align_t) unsigned char data[];
};

void *ns_arena_alloc(ns_arena *a, size_t size)
{
    const size_t align = alignof(max_align_t);
    size = (size + align - 1) & ~(align - 1);
    if (size == 0)
        size = align; /* distinct non-NULL pointers for empty arrays */
    ns_arena_chunk *c = a->head;
    if (!c || c->size - c->used < size) {
        /* A large request gets a chunk of its own, put behind the current
         * one so that the space left there is still used. */
        size_t want = size > ARENA_CHUNK / 4 ? size : ARENA_CHUNK;
        if (want > SIZE_MAX - sizeof(ns_arena_chunk))
            return NULL;
        ns_arena_chunk *n = malloc(sizeof(ns_arena_chunk) + want);
        if (!n)
            return NULL;
        n->used = 0;
        n->size = want;
        if (c && want != ARENA_CHUNK) {
            n->next = c->next;
            c->next = n;
        } else {
            n->next = c;
            a->head = n;
        }
        c = n;
    }
    void *p = c->data + c->used;
    c->used += size;
    memset(p, 0, size);
    return p;
}

char *ns_arena_strndup(ns_arena *a, const char *s, size_t len)
{
    if (len == SIZE_MAX)
        return NULL;
    char *d = ns_arena_alloc(a, len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

void ns_arena_free(ns_arena *a)
{
    while (a->head) {
        ns_arena_chunk *next = a->head->next;
        free(a->head);
        a->head = next;
    }
}

/* ---- the client table */

static unsigned char ascii_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

uint32_t ns_auth_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= ascii_lower((unsigned char)s[i]);
        h *= 16777619u;
    }
    return h;
}

bool ns_auth_equal(const char *a, size_t a_len, const char *b, size_t b_len)
{
    if (a_len != b_len)
        return false;
    for (size_t i = 0; i < a_len; i++)
        if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i]))
            return false;
    return true;
}

int ns_policy_index_clients(ns_policy *p, size_t *dup, size_t *dup_of)
{
    /* At most half full, so that probes stay short. */
    size_t slots = 8;
    while (slots < 2 * p->n_clients)
        slots *= 2;
    if (slots > SIZE_MAX / sizeof(uint32_t) || p->n_clients >= UINT32_MAX)
        return -1;
    p->slots = ns_arena_alloc(&p->mem, slots * sizeof(uint32_t));
    if (!p->slots)
        return -1;
    p->slot_mask = slots - 1;
    for (size_t i = 0; i < p->n_clients; i++) {
        ns_client *c = &p->clients[i];
        c->auth_hash = ns_auth_hash(c->auth_name, c->auth_len);
        size_t s = c->auth_hash & p->slot_mask;
        for (; p->slots[s]; s = (s + 1) & p->slot_mask) {
            const ns_client *o = &p->clients[p->slots[s] - 1];
            if (o->auth_hash == c->auth_hash &&
                ns_auth_equal(o->auth_name, o->auth_len, c->auth_name, c->auth_len)) {
                *dup = i;
                *dup_of = p->slots[s] - 1;
                return 0;
            }
        }
        p->slots[s] = (uint32_t)(i + 1);
    }
    return 1;
}

const ns_client *ns_policy_find_client(const ns_policy *p, const char *auth_name, size_t len)
{
    if (!p->slots || !auth_name)
        return NULL;
    uint32_t h = ns_auth_hash(auth_name, len);
    for (size_t s = h & p->slot_mask; p->slots[s]; s = (s + 1) & p->slot_mask) {
        const ns_client *c = &p->clients[p->slots[s] - 1];
        if (c->auth_hash == h && ns_auth_equal(c->auth_name, c->auth_len, auth_name, len))
            return c;
    }
    return NULL;
}

/* ---- accessors */

void ns_policy_free(ns_policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_groups; i++)
        client_query_free(p->groups[i].query);
    for (size_t i = 0; i < p->n_spaces; i++)
        for (size_t j = 0; j < p->spaces[i].n_templates; j++)
            topic_template_free(p->spaces[i].templates[j]);
    X509_STORE_free(p->cas);
    ns_arena_free(&p->mem);
    free(p);
}

const char *ns_policy_namespace(const ns_policy *p)
{
    return p->ns;
}

uint64_t ns_policy_version(const ns_policy *p)
{
    return p->version;
}

bool ns_policy_deleted(const ns_policy *p)
{
    return p->deleted;
}

const ns_settings *ns_policy_settings(const ns_policy *p)
{
    return &p->settings;
}

X509_STORE *ns_policy_ca_store(const ns_policy *p)
{
    return p->cas;
}

bool ns_policy_same_cas(const ns_policy *a, const ns_policy *b)
{
    return a->n_cas == b->n_cas &&
           (a->n_cas == 0 || memcmp(a->ca_digests, b->ca_digests, a->n_cas * 32) == 0);
}

size_t ns_policy_client_count(const ns_policy *p)
{
    return p->n_clients;
}

const ns_client *ns_policy_client_at(const ns_policy *p, size_t i)
{
    return i < p->n_clients ? &p->clients[i] : NULL;
}

const char *ns_client_name(const ns_client *c)
{
    return c->name;
}

const char *ns_client_auth_name(const ns_client *c)
{
    return c->auth_name;
}

bool ns_client_enabled(const ns_client *c)
{
    return c->enabled;
}

ns_validation_scheme ns_client_scheme(const ns_client *c)
{
    return c->scheme;
}

bool ns_client_thumbprint_allowed(const ns_client *c, const char *hex64)
{
    if (!hex64 || strlen(hex64) != NS_THUMBPRINT_HEX)
        return false;
    for (size_t i = 0; i < c->n_thumbprints; i++)
        if (ns_auth_equal(c->thumbprints[i], NS_THUMBPRINT_HEX, hex64, NS_THUMBPRINT_HEX))
            return true;
    return false;
}

client_view ns_client_view(const ns_client *c)
{
    return (client_view){.authentication_name = c->auth_name, .attrs = c->attrs, .n_attrs = c->n_attrs};
}

/* The parser stores thumbprints upper-cased, so equal sets compare bytewise. */
static bool has_thumbprint(const ns_client *c, const char *t)
{
    for (size_t i = 0; i < c->n_thumbprints; i++)
        if (strcmp(c->thumbprints[i], t) == 0)
            return true;
    return false;
}

bool ns_client_same_identity(const ns_client *a, const ns_client *b)
{
    if (!a || !b)
        return a == b;
    if (strcmp(a->name, b->name) != 0 || a->auth_len != b->auth_len ||
        strcmp(a->auth_name, b->auth_name) != 0 || a->scheme != b->scheme ||
        a->n_thumbprints != b->n_thumbprints)
        return false;
    /* Distinct within a client (the parser refuses repeats), so inclusion
     * one way with equal counts is equality. */
    for (size_t i = 0; i < a->n_thumbprints; i++)
        if (!has_thumbprint(b, a->thumbprints[i]))
            return false;
    return true;
}
