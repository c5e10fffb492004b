/* Subscription tree: a trie of topic-filter levels.
 *
 * Children are not kept in per-node containers: every node but the root sits
 * in one open-addressing hash table keyed by (parent, level). Most nodes have
 * a single child, so one shared table costs far less memory than a table per
 * node, and a level with 100,000 siblings ("devices/{id}/...") is still one
 * probe away. The '+' and '#' children are in the table too (so freeing the
 * tree is one pass over it) and also hang off dedicated pointers, so matching
 * reaches them without hashing.
 *
 * Matching walks the trie iteratively, going back up through parent pointers:
 * a topic may have 65,536 levels, too many for recursion, and matching must
 * not allocate. */
#include "sub_tree.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "mqtt_topic.h"

/* A subscription as stored at its filter's node. */
typedef struct sub_entry {
    void *subscriber; /* borrowed: owned by the caller */
    uint32_t subscription_id;
    uint8_t options;
} sub_entry;

/* A growable array of entries; owns `items` (NULL when cap is 0). */
typedef struct sub_list {
    sub_entry *items;
    uint32_t count;
    uint32_t cap;
} sub_list;

/* The members of one `$share/{name}/{filter}` subscription. Owns its members
 * array; an empty group is freed at once. */
typedef struct share_group {
    sub_list members;
    uint32_t cursor; /* round robin: the member to try first next time */
    mqtt_bytes name; /* points into name_data */
    uint8_t name_data[];
} share_group;

typedef struct sub_node sub_node;

/* One level of one or more filters. Owned by the tree's level table (the root
 * by the tree itself); owns its entries and groups. */
struct sub_node {
    sub_node *parent; /* NULL for the root */
    sub_node *plus;   /* the '+' child or NULL; also in the level table */
    sub_node *multi;  /* the '#' child or NULL; also in the level table */
    uint32_t child_count;
    uint64_t key_hash;    /* hash of (parent, level), kept for table resizes */
    sub_list subs;        /* ordinary subscriptions whose filter ends here */
    share_group **groups; /* owned, group_count of them, each non-empty */
    uint32_t group_count;
    uint32_t group_cap;
    uint32_t level_len;
    uint8_t level[];
};

struct sub_tree {
    sub_node *root;
    sub_node **slots; /* the level table: slot_cap entries, NULL = free */
    size_t slot_cap;  /* a power of two, at least twice node_count */
    size_t node_count;
    size_t subscription_count;
    uint64_t seed; /* random: clients choose topic levels, so they must not
                    * be able to predict which ones collide */
};

#define SLOTS_MIN 16

static bool level_is(mqtt_bytes level, char c)
{
    return level.len == 1 && level.data[0] == (uint8_t)c;
}

/* ---- growable arrays */

/* Makes room for `need` items of `item_size` bytes in `items` (capacity
 * *cap), doubling. Returns the array, moved or not, or NULL on allocation
 * failure or overflow (then `items` is untouched). */
static void *array_reserve(void *items, uint32_t *cap, uint32_t need, size_t item_size)
{
    if (need <= *cap)
        return items;
    uint32_t new_cap = *cap ? *cap : 4;
    while (new_cap < need) {
        if (new_cap > UINT32_MAX / 2)
            return NULL;
        new_cap *= 2;
    }
    if ((size_t)new_cap > SIZE_MAX / item_size)
        return NULL;
    void *grown = realloc(items, (size_t)new_cap * item_size);
    if (grown)
        *cap = new_cap;
    return grown;
}

static sub_entry *list_find(const sub_list *l, const void *subscriber)
{
    for (uint32_t i = 0; i < l->count; i++)
        if (l->items[i].subscriber == subscriber)
            return &l->items[i];
    return NULL;
}

static int list_append(sub_list *l, sub_entry e)
{
    sub_entry *items = array_reserve(l->items, &l->cap, l->count + 1, sizeof *items);
    if (!items)
        return -1;
    l->items = items;
    l->items[l->count++] = e;
    return 0;
}

/* Order does not matter (shared-group round robin just goes on from the
 * cursor), so the last entry fills the hole. */
static bool list_remove(sub_list *l, const void *subscriber)
{
    sub_entry *e = list_find(l, subscriber);
    if (!e)
        return false;
    *e = l->items[--l->count];
    if (l->count == 0) {
        free(l->items);
        l->items = NULL;
        l->cap = 0;
    } else if (l->count < l->cap / 4) {
        /* Give memory back after a mass unsubscribe; keeping the larger
         * array is fine if the smaller one cannot be had. */
        sub_entry *smaller = realloc(l->items, (size_t)(l->cap / 2) * sizeof *l->items);
        if (smaller) {
            l->items = smaller;
            l->cap /= 2;
        }
    }
    return true;
}

/* ---- shared groups */

static share_group *group_find(const sub_node *n, mqtt_bytes name, uint32_t *index)
{
    for (uint32_t i = 0; i < n->group_count; i++) {
        share_group *g = n->groups[i];
        if (g->name.len == name.len && memcmp(g->name.data, name.data, name.len) == 0) {
            *index = i;
            return g;
        }
    }
    return NULL;
}

/* Adds an empty group (the caller adds its first member at once). */
static share_group *group_create(sub_node *n, mqtt_bytes name, uint32_t *index)
{
    share_group **groups = array_reserve(n->groups, &n->group_cap, n->group_count + 1, sizeof *groups);
    if (!groups)
        return NULL;
    n->groups = groups;
    share_group *g = calloc(1, sizeof *g + name.len);
    if (!g)
        return NULL;
    memcpy(g->name_data, name.data, name.len);
    g->name = (mqtt_bytes){.data = g->name_data, .len = name.len};
    *index = n->group_count;
    n->groups[n->group_count++] = g;
    return g;
}

static void group_drop(sub_node *n, uint32_t index)
{
    free(n->groups[index]->members.items);
    free(n->groups[index]);
    n->groups[index] = n->groups[--n->group_count];
    if (n->group_count == 0) {
        free(n->groups);
        n->groups = NULL;
        n->group_cap = 0;
    }
}

/* The member to give the next message: the first one `eligible` accepts from
 * the cursor on, else the one at the cursor. */
static const sub_entry *group_pick(share_group *g, sub_tree_eligible_fn eligible, void *ctx)
{
    uint32_t n = g->members.count;
    uint32_t start = g->cursor % n; /* members may have left since */
    uint32_t chosen = start;
    if (eligible) {
        for (uint32_t k = 0; k < n; k++) {
            uint32_t i = (start + k) % n;
            if (eligible(ctx, g->members.items[i].subscriber)) {
                chosen = i;
                break;
            }
        }
    }
    g->cursor = chosen + 1;
    return &g->members.items[chosen];
}

/* ---- nodes and the level table */

static uint64_t level_hash(const sub_tree *t, const sub_node *parent, mqtt_bytes level)
{
    /* FNV-1a from a basis made of the seed and the parent, then a
     * splitmix64 finish so that the low bits, which pick the slot, depend
     * on every input bit. */
    uint64_t h = t->seed ^ ((uint64_t)(uintptr_t)parent * UINT64_C(0x9e3779b97f4a7c15));
    for (uint32_t i = 0; i < level.len; i++) {
        h ^= level.data[i];
        h *= UINT64_C(0x100000001b3);
    }
    h ^= h >> 30;
    h *= UINT64_C(0xbf58476d1ce4e5b9);
    h ^= h >> 27;
    h *= UINT64_C(0x94d049bb133111eb);
    h ^= h >> 31;
    return h;
}

static sub_node *node_new(sub_node *parent, mqtt_bytes level, uint64_t key_hash)
{
    sub_node *n = calloc(1, sizeof *n + level.len);
    if (!n)
        return NULL;
    n->parent = parent;
    n->key_hash = key_hash;
    n->level_len = level.len;
    if (level.len)
        memcpy(n->level, level.data, level.len);
    return n;
}

static void node_free(sub_node *n)
{
    free(n->subs.items);
    while (n->group_count)
        group_drop(n, n->group_count - 1);
    free(n);
}

/* The slot holding (parent, level), or the free slot where it would go. */
static size_t table_probe(const sub_tree *t, const sub_node *parent, mqtt_bytes level, uint64_t hash)
{
    size_t mask = t->slot_cap - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        const sub_node *n = t->slots[i];
        if (!n || (n->key_hash == hash && n->parent == parent && n->level_len == level.len &&
                   memcmp(n->level, level.data, level.len) == 0))
            return i;
    }
}

static void table_put(sub_node **slots, size_t cap, sub_node *n)
{
    size_t mask = cap - 1, i = n->key_hash & mask;
    while (slots[i])
        i = (i + 1) & mask;
    slots[i] = n;
}

static int table_resize(sub_tree *t, size_t new_cap)
{
    sub_node **slots = calloc(new_cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < t->slot_cap; i++)
        if (t->slots[i])
            table_put(slots, new_cap, t->slots[i]);
    free(t->slots);
    t->slots = slots;
    t->slot_cap = new_cap;
    return 0;
}

/* Removes the node at `slot`, moving later entries of its probe run back so
 * that every entry stays reachable from its home slot without tombstones. */
static void table_take(sub_tree *t, size_t slot)
{
    size_t mask = t->slot_cap - 1, hole = slot;
    t->slots[hole] = NULL;
    t->node_count--;
    for (size_t j = (hole + 1) & mask; t->slots[j]; j = (j + 1) & mask) {
        size_t home = t->slots[j]->key_hash & mask;
        /* The entry at j may move into the hole unless its home lies
         * cyclically in (hole, j]. */
        bool home_after_hole = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!home_after_hole) {
            t->slots[hole] = t->slots[j];
            t->slots[j] = NULL;
            hole = j;
        }
    }
    /* Shrinking is an optimisation: failing to is harmless. */
    if (t->slot_cap > SLOTS_MIN && t->node_count * 8 < t->slot_cap)
        (void)table_resize(t, t->slot_cap / 2);
}

static sub_node *child_find(const sub_tree *t, const sub_node *parent, mqtt_bytes level)
{
    return t->slots[table_probe(t, parent, level, level_hash(t, parent, level))];
}

/* The child for `level`, created if missing. NULL on allocation failure. */
static sub_node *child_get(sub_tree *t, sub_node *parent, mqtt_bytes level)
{
    uint64_t hash = level_hash(t, parent, level);
    size_t slot = table_probe(t, parent, level, hash);
    if (t->slots[slot])
        return t->slots[slot];
    /* Keep the load at most one half, so probe runs stay short. */
    if ((t->node_count + 1) * 2 > t->slot_cap) {
        if (t->slot_cap > SIZE_MAX / 2 / sizeof *t->slots || table_resize(t, t->slot_cap * 2) < 0)
            return NULL;
        slot = table_probe(t, parent, level, hash);
    }
    sub_node *child = node_new(parent, level, hash);
    if (!child)
        return NULL;
    t->slots[slot] = child;
    t->node_count++;
    parent->child_count++;
    if (level_is(level, '+'))
        parent->plus = child;
    else if (level_is(level, '#'))
        parent->multi = child;
    return child;
}

/* Frees `n` and then its ancestors for as long as they hold nothing. */
static void prune(sub_tree *t, sub_node *n)
{
    while (n != t->root && n->subs.count == 0 && n->group_count == 0 && n->child_count == 0) {
        sub_node *parent = n->parent;
        mqtt_bytes level = {.data = n->level, .len = n->level_len};
        table_take(t, table_probe(t, parent, level, n->key_hash));
        parent->child_count--;
        if (parent->plus == n)
            parent->plus = NULL;
        if (parent->multi == n)
            parent->multi = NULL;
        node_free(n);
        n = parent;
    }
}

/* ---- the API */

sub_tree *sub_tree_new(void)
{
    sub_tree *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->root = node_new(NULL, (mqtt_bytes){0}, 0);
    t->slots = calloc(SLOTS_MIN, sizeof *t->slots);
    if (!t->root || !t->slots) {
        free(t->root);
        free(t->slots);
        free(t);
        return NULL;
    }
    t->slot_cap = SLOTS_MIN;
    if (getrandom(&t->seed, sizeof t->seed, GRND_NONBLOCK) != (ssize_t)sizeof t->seed)
        t->seed = (uint64_t)(uintptr_t)t ^ (uint64_t)time(NULL); /* better than nothing */
    return t;
}

void sub_tree_free(sub_tree *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->slot_cap; i++)
        if (t->slots[i])
            node_free(t->slots[i]);
    free(t->slots);
    node_free(t->root);
    free(t);
}

/* Where a filter's subscriptions live: the inner filter, and the group name
 * for a shared subscription (share_group.len == 0 otherwise). */
static mqtt_bytes filter_split(mqtt_bytes filter, mqtt_bytes *share_group)
{
    mqtt_bytes inner;
    if (mqtt_topic_shared_split(filter, share_group, &inner) == 1)
        return inner;
    *share_group = (mqtt_bytes){0};
    return filter;
}

int sub_tree_add(sub_tree *t, mqtt_bytes filter, void *subscriber, uint8_t options, uint32_t subscription_id)
{
    mqtt_bytes group_name, level;
    mqtt_bytes inner = filter_split(filter, &group_name);
    sub_node *node = t->root;
    for (uint32_t pos = 0; mqtt_topic_level_next(inner, &pos, &level);) {
        sub_node *child = child_get(t, node, level);
        if (!child) {
            prune(t, node); /* the levels created so far */
            return -1;
        }
        node = child;
    }

    sub_list *list = &node->subs;
    share_group *group = NULL;
    uint32_t group_index = 0;
    if (group_name.len) {
        group = group_find(node, group_name, &group_index);
        if (!group)
            group = group_create(node, group_name, &group_index);
        if (!group) {
            prune(t, node);
            return -1;
        }
        list = &group->members;
    }

    sub_entry *existing = list_find(list, subscriber);
    if (existing) {
        existing->options = options;
        existing->subscription_id = subscription_id;
        return 0;
    }
    sub_entry entry = {.subscriber = subscriber, .subscription_id = subscription_id, .options = options};
    if (list_append(list, entry) < 0) {
        if (group && group->members.count == 0)
            group_drop(node, group_index);
        prune(t, node);
        return -1;
    }
    t->subscription_count++;
    return 1;
}

int sub_tree_remove(sub_tree *t, mqtt_bytes filter, void *subscriber)
{
    mqtt_bytes group_name, level;
    mqtt_bytes inner = filter_split(filter, &group_name);
    sub_node *node = t->root;
    for (uint32_t pos = 0; node && mqtt_topic_level_next(inner, &pos, &level);)
        node = child_find(t, node, level);
    if (!node)
        return 0;

    if (group_name.len) {
        uint32_t group_index;
        share_group *group = group_find(node, group_name, &group_index);
        if (!group || !list_remove(&group->members, subscriber))
            return 0;
        if (group->members.count == 0)
            group_drop(node, group_index);
    } else if (!list_remove(&node->subs, subscriber)) {
        return 0;
    }
    t->subscription_count--;
    prune(t, node);
    return 1;
}

typedef struct match_call {
    sub_tree_eligible_fn eligible;
    sub_tree_match_fn fn;
    void *ctx;
} match_call;

/* Reports every subscription whose filter ends at `n`. */
static void report(sub_node *n, const match_call *call)
{
    for (uint32_t i = 0; i < n->subs.count; i++) {
        const sub_entry *e = &n->subs.items[i];
        call->fn(call->ctx, e->subscriber, e->options, e->subscription_id, NULL);
    }
    for (uint32_t i = 0; i < n->group_count; i++) {
        share_group *g = n->groups[i];
        const sub_entry *e = group_pick(g, call->eligible, call->ctx);
        call->fn(call->ctx, e->subscriber, e->options, e->subscription_id, &g->name);
    }
}

void sub_tree_match(sub_tree *t, mqtt_bytes topic, sub_tree_eligible_fn eligible, sub_tree_match_fn fn,
                    void *ctx)
{
    if (topic.len == 0)
        return;
    const match_call call = {.eligible = eligible, .fn = fn, .ctx = ctx};
    bool dollar_topic = topic.data[0] == '$';

    /* A depth-first walk. At `node`, the topic levels above have matched and
     * `pos` is where the next topic level starts (topic.len + 1: none left).
     * Each node has at most two children to try, the literal one for that
     * level and then '+'; `from` is the child the walk just came back from
     * (NULL on first arrival), which says which of them is next. */
    sub_node *node = t->root, *from = NULL;
    uint32_t pos = 0;
    for (;;) {
        /* Section 4.7.2: '$' topics are not matched by a leading wildcard. */
        bool wildcards = node != t->root || !dollar_topic;
        sub_node *next = NULL;
        if (!from && node->multi && wildcards)
            report(node->multi, &call); /* '#' takes whatever levels are left, even none */

        mqtt_bytes level;
        uint32_t next_pos = pos;
        if (!mqtt_topic_level_next(topic, &next_pos, &level)) {
            report(node, &call); /* every topic level matched */
        } else {
            if (!from) {
                next = child_find(t, node, level);
                /* Only an invalid topic ("+" or "#" as a level) finds those. */
                if (next == node->plus || next == node->multi)
                    next = NULL;
            }
            if (!next && from != node->plus && wildcards)
                next = node->plus;
        }

        if (next) {
            node = next;
            pos = next_pos;
            from = NULL;
        } else if (node == t->root) {
            return;
        } else {
            from = node;
            node = node->parent;
            pos = mqtt_topic_level_prev(topic, pos);
        }
    }
}

size_t sub_tree_count(const sub_tree *t)
{
    return t->subscription_count;
}

size_t sub_tree_node_count(const sub_tree *t)
{
    return t->node_count + 1;
}
