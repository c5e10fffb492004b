/* client_perms: a client's expanded Publisher and Subscriber filters, each
 * set also compiled into a trie of filter levels for topic matching.
 *
 * Trie: a node's children are literal levels (sorted, found by binary
 * search), one '+' child, and two flags: `end` (a filter ends here) and
 * `hash` (a filter has '#' here, so every topic below, and the node itself,
 * matches). Matching walks the topic's levels; '+' makes it branch, but each
 * trie node sits at one depth and is reached by one path, so a match visits
 * every node at most once: the cost is bounded both by the trie's size and
 * by the topic's levels times the branching. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt_topic.h"
#include "policy/filter_cover.h"
#include "snapshot/client_perms.h"
#include "snapshot/ns_policy_impl.h"

#define MQTT_MAX_LEN 65535u /* of a topic or filter */
#define EXPAND_GUESS 256    /* room first tried for an expansion */

typedef struct trie_edge {
    const char *level; /* borrowed from the set's text */
    uint32_t len;
    uint32_t child; /* node index */
} trie_edge;

typedef struct trie_node {
    uint32_t first_edge, n_edges; /* the node's literal children: edges[first_edge..], sorted */
    uint32_t plus;                /* node index of the '+' child; 0 is none (the root is nobody's child) */
    bool end;                     /* a filter ends at this node */
    bool hash;                    /* a filter ends with '#' just below this node */
    uint32_t lo, hi, off;         /* while building: the filters below, and where their next level starts */
} trie_node;

typedef struct filter {
    const char *text;  /* in the set's text once built */
    uint32_t off, len; /* in text (NUL-terminated there) */
} filter;

/* Four allocations per set whatever its size: building runs for every
 * connected client on every snapshot. */
typedef struct filter_set {
    char *text; /* owned: every filter, each followed by a NUL */
    size_t text_len, text_cap;
    filter *filters; /* owned; distinct, in level order (see level_cmp) */
    size_t n, cap;
    trie_node *nodes; /* owned; nodes[0] is the root once built */
    size_t n_nodes, cap_nodes;
    trie_edge *edges; /* owned */
    size_t n_edges, cap_edges;
} filter_set;

struct client_perms {
    filter_set pub; /* Publisher filters */
    filter_set sub; /* Subscriber filters */
};

/* ---- building */

static bool grow(void **array, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap * 2 : 16;
    while (n < need)
        n *= 2;
    if (n > UINT32_MAX || n > SIZE_MAX / size)
        return false; /* indexes are 32-bit */
    void *p = realloc(*array, n * size);
    if (!p)
        return false;
    *array = p;
    *cap = n;
    return true;
}

/* Room for a filter of len bytes: where to write it, or NULL. */
static char *reserve_filter(filter_set *s, size_t len)
{
    if (!grow((void **)&s->text, &s->text_cap, s->text_len + len + 1, 1) ||
        !grow((void **)&s->filters, &s->cap, s->n + 1, sizeof *s->filters))
        return NULL;
    return s->text + s->text_len;
}

static void commit_filter(filter_set *s, size_t len)
{
    s->text[s->text_len + len] = '\0';
    s->filters[s->n++] = (filter){.off = (uint32_t)s->text_len, .len = (uint32_t)len};
    s->text_len += len + 1;
}

/* The template expanded for the client, if it applies to it. */
static bool add_expansion(filter_set *s, const topic_template *t, const client_view *v)
{
    size_t len = 0;
    if (!topic_template_has_variables(t)) {
        const char *text = topic_template_text(t); /* the same for every client */
        len = strlen(text);
        char *out = reserve_filter(s, len);
        if (!out)
            return false;
        memcpy(out, text, len);
        commit_filter(s, len);
        return true;
    }
    char *out = reserve_filter(s, EXPAND_GUESS);
    if (!out)
        return false;
    template_expand_result r = topic_template_expand(t, v, out, EXPAND_GUESS + 1, &len);
    if (r == TEMPLATE_NOT_APPLICABLE)
        return true; /* the client lacks what the template names: it grants nothing */
    if (r == TEMPLATE_TOO_LONG) {
        if (len > MQTT_MAX_LEN)
            return true; /* longer than any filter may be: never matches a topic */
        if (!(out = reserve_filter(s, len)))
            return false;
        if (topic_template_expand(t, v, out, len + 1, &len) != TEMPLATE_EXPANDED)
            return true; /* the same call with room for the result: cannot happen */
    }
    commit_filter(s, len);
    return true;
}

/* Orders filters level by level ('/' below every other byte), so that the
 * filters sharing their first k levels are next to each other: each trie
 * node then owns one run of the sorted list. */
static int level_cmp(const void *a, const void *b)
{
    const filter *l = a, *r = b;
    size_t n = l->len < r->len ? l->len : r->len;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)l->text[i], y = (unsigned char)r->text[i];
        if (x != y) {
            if (x == '/' || y == '/')
                return x == '/' ? -1 : 1;
            return x < y ? -1 : 1;
        }
    }
    return (l->len > r->len) - (l->len < r->len);
}

/* The order of edges within a node (levels hold no '/'); level_cmp agrees. */
static int level_key_cmp(const char *a, uint32_t a_len, const char *b, uint32_t b_len)
{
    int c = memcmp(a, b, a_len < b_len ? a_len : b_len);
    return c ? c : (a_len > b_len) - (a_len < b_len);
}

/* A new node over filters[lo..hi) whose next level starts at off; 0 when out of memory. */
static uint32_t new_node(filter_set *s, uint32_t lo, uint32_t hi, uint32_t off)
{
    if (!grow((void **)&s->nodes, &s->cap_nodes, s->n_nodes + 1, sizeof *s->nodes))
        return 0;
    s->nodes[s->n_nodes] = (trie_node){.lo = lo, .hi = hi, .off = off};
    return (uint32_t)s->n_nodes++;
}

/* The length of the level of f starting at off. */
static uint32_t level_len(const filter *f, uint32_t off)
{
    const char *slash = memchr(f->text + off, '/', f->len - off);
    return slash ? (uint32_t)(slash - (f->text + off)) : f->len - off;
}

/* Breadth first, so that each node's edges are appended in one run. */
static bool build_trie(filter_set *s)
{
    if (!grow((void **)&s->nodes, &s->cap_nodes, 1, sizeof *s->nodes))
        return false;
    s->nodes[0] = (trie_node){.lo = 0, .hi = (uint32_t)s->n, .off = 0};
    s->n_nodes = 1;
    for (size_t q = 0; q < s->n_nodes; q++) {
        uint32_t i = s->nodes[q].lo, hi = s->nodes[q].hi, off = s->nodes[q].off;
        s->nodes[q].first_edge = (uint32_t)s->n_edges;
        while (i < hi) {
            const filter *f = &s->filters[i];
            if (off > f->len) { /* no level left: the filter ends here (level order puts it first) */
                s->nodes[q].end = true;
                i++;
                continue;
            }
            uint32_t len = level_len(f, off), j = i + 1;
            const char *level = f->text + off;
            while (j < hi && s->filters[j].len >= off && level_len(&s->filters[j], off) == len &&
                   memcmp(s->filters[j].text + off, level, len) == 0)
                j++;
            if (len == 1 && level[0] == '#') {
                s->nodes[q].hash = true; /* '#' is a filter's last level */
            } else {
                uint32_t child = new_node(s, i, j, off + len + 1);
                if (!child)
                    return false;
                if (len == 1 && level[0] == '+') {
                    s->nodes[q].plus = child;
                } else {
                    if (!grow((void **)&s->edges, &s->cap_edges, s->n_edges + 1, sizeof *s->edges))
                        return false;
                    s->edges[s->n_edges++] = (trie_edge){level, len, child};
                }
            }
            i = j;
        }
        s->nodes[q].n_edges = (uint32_t)(s->n_edges - s->nodes[q].first_edge);
    }
    return true;
}

/* Sorts and dedupes the filters, then builds the trie. */
static bool finish(filter_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        s->filters[i].text = s->text + s->filters[i].off; /* text no longer moves */
    if (s->n > 1)
        qsort(s->filters, s->n, sizeof *s->filters, level_cmp);
    size_t kept = 0;
    for (size_t i = 0; i < s->n; i++)
        if (!kept || level_cmp(&s->filters[kept - 1], &s->filters[i]) != 0)
            s->filters[kept++] = s->filters[i];
    s->n = kept;
    return build_trie(s);
}

static void set_free(filter_set *s)
{
    free(s->text);
    free(s->filters);
    free(s->nodes);
    free(s->edges);
}

void client_perms_free(client_perms *cp)
{
    if (!cp)
        return;
    set_free(&cp->pub);
    set_free(&cp->sub);
    free(cp);
}

client_perms *client_perms_build(const ns_policy *p, const ns_client *c)
{
    client_perms *cp = calloc(1, sizeof *cp);
    bool *member = calloc(p->n_groups ? p->n_groups : 1, sizeof *member);
    /* Per topic space, bit 0: reached by a Publisher binding, bit 1: by a
     * Subscriber one; several bindings to one space expand it once. */
    unsigned char *reach = calloc(p->n_spaces ? p->n_spaces : 1, 1);
    bool ok = cp && member && reach;
    client_view v = ns_client_view(c);
    /* Each group's query once, however many bindings name the group. */
    for (size_t g = 0; ok && g < p->n_groups; g++)
        member[g] = !p->groups[g].query || client_query_matches(p->groups[g].query, &v);
    for (size_t b = 0; ok && b < p->n_bindings; b++)
        if (member[p->bindings[b].group])
            reach[p->bindings[b].space] |= p->bindings[b].publisher ? 1 : 2;
    for (size_t sp = 0; ok && sp < p->n_spaces; sp++) {
        for (int bit = 1; ok && bit <= 2; bit++) {
            if (!(reach[sp] & bit))
                continue;
            for (size_t t = 0; ok && t < p->spaces[sp].n_templates; t++)
                ok = add_expansion(bit == 1 ? &cp->pub : &cp->sub, p->spaces[sp].templates[t], &v);
        }
    }
    ok = ok && finish(&cp->pub) && finish(&cp->sub);
    free(member);
    free(reach);
    if (!ok) {
        client_perms_free(cp);
        return NULL;
    }
    return cp;
}

/* ---- queries */

/* Does the trie below `node` match the topic's levels from `pos` on (pos ==
 * len + 1: none left)? Recursion depth is at most the trie's depth. */
static bool trie_match(const filter_set *s, uint32_t node, const char *topic, size_t len, size_t pos,
                       bool dollar)
{
    const trie_node *n = &s->nodes[node];
    /* A wildcard at the first level never matches a '$' topic (MQTT 4.7.2). */
    bool wild_ok = node != 0 || !dollar;
    if (n->hash && wild_ok)
        return true; /* '#' matches what is left, even nothing ("a/#" matches "a") */
    if (pos > len)
        return n->end;
    const char *slash = memchr(topic + pos, '/', len - pos);
    size_t end = slash ? (size_t)(slash - topic) : len;
    size_t next = end + 1; /* len + 1 after the last level */
    const char *level = topic + pos;
    uint32_t level_len = (uint32_t)(end - pos);
    const trie_edge *e = s->edges + n->first_edge;
    size_t lo = 0, hi = n->n_edges;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = level_key_cmp(e[mid].level, e[mid].len, level, level_len);
        if (c == 0) {
            if (trie_match(s, e[mid].child, topic, len, next, dollar))
                return true;
            break;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return n->plus && wild_ok && trie_match(s, n->plus, topic, len, next, dollar);
}

static bool set_matches(const filter_set *s, const char *topic, size_t len)
{
    if (!topic || len == 0 || len > MQTT_MAX_LEN || s->n == 0)
        return false; /* no valid topic name is empty or longer */
    return trie_match(s, 0, topic, len, 0, topic[0] == '$');
}

bool client_perms_can_publish(const client_perms *cp, const char *topic, size_t len)
{
    return set_matches(&cp->pub, topic, len);
}

bool client_perms_can_receive(const client_perms *cp, const char *topic, size_t len)
{
    return set_matches(&cp->sub, topic, len);
}

bool client_perms_can_subscribe(const client_perms *cp, const char *filter_text, size_t len)
{
    if (!filter_text || len == 0 || len > MQTT_MAX_LEN)
        return false;
    mqtt_bytes f = {.data = (const uint8_t *)filter_text, .len = (uint32_t)len}, inner = f;
    /* mqtt_filter_covers needs valid filters; a shared subscription is
     * judged by the filter it shares. */
    if (mqtt_topic_filter_check(f) != 0 || mqtt_topic_shared_split(f, NULL, &inner) < 0)
        return false;
    for (size_t i = 0; i < cp->sub.n; i++)
        if (mqtt_filter_covers(cp->sub.filters[i].text, cp->sub.filters[i].len, (const char *)inner.data,
                               inner.len))
            return true;
    return false;
}

size_t client_perms_count(const client_perms *cp, bool publish)
{
    return publish ? cp->pub.n : cp->sub.n;
}

const char *client_perms_filter(const client_perms *cp, bool publish, size_t i)
{
    const filter_set *s = publish ? &cp->pub : &cp->sub;
    return i < s->n ? s->filters[i].text : NULL;
}

static bool set_equal(const filter_set *a, const filter_set *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (a->filters[i].len != b->filters[i].len ||
            memcmp(a->filters[i].text, b->filters[i].text, a->filters[i].len) != 0)
            return false;
    return true;
}

bool client_perms_equal(const client_perms *a, const client_perms *b)
{
    if (!a || !b)
        return a == b;
    return set_equal(&a->pub, &b->pub) && set_equal(&a->sub, &b->sub);
}
