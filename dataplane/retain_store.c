/* Retained messages in a trie of topic levels.
 *
 * Each node keeps its children in an array sorted by level. Lookups are a
 * binary search; inserting a new sibling moves the tail of the array, which
 * only happens when a topic is retained for the first time (replacing a
 * message touches no array). Sorted arrays, unlike hash tables, cannot be
 * degraded by clients choosing colliding topic names, cost one pointer per
 * child, and give matching a stable order.
 *
 * Walks are iterative, going back up through parent pointers: a topic may have
 * 65,536 levels, too deep to recurse. Matching also drops expired messages and
 * frees the nodes that leaves empty as it goes back up, so the trie never
 * holds a node without a message below it. */
#include "retain_store.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt_topic.h"

typedef struct retain_node retain_node;

/* One topic level. Owned by its parent's `children` (the root by the store);
 * owns its children array and one reference to `msg`. */
struct retain_node {
    retain_node *parent;    /* NULL for the root */
    retain_node **children; /* sorted by level_cmp; NULL when child_cap is 0 */
    uint32_t child_count;
    uint32_t child_cap;
    broker_msg *msg; /* the message retained for this exact topic, or NULL */
    uint32_t level_len;
    uint8_t level[];
};

struct retain_store {
    retain_node *root;
    size_t msg_count;
    size_t msg_bytes;  /* sum of broker_msg_size */
    size_t node_count; /* the root excluded */
};

/* ---- nodes */

/* Bytewise, a prefix before its extensions. */
static int level_cmp(const retain_node *n, mqtt_bytes level)
{
    uint32_t common = n->level_len < level.len ? n->level_len : level.len;
    int c = common ? memcmp(n->level, level.data, common) : 0;
    if (c)
        return c;
    return (n->level_len > level.len) - (n->level_len < level.len);
}

/* Binary search: true with *index at the child for `level`, or false with
 * *index where it would be inserted. */
static bool child_search(const retain_node *parent, mqtt_bytes level, uint32_t *index)
{
    uint32_t lo = 0, hi = parent->child_count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = level_cmp(parent->children[mid], level);
        if (c == 0) {
            *index = mid;
            return true;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *index = lo;
    return false;
}

static uint32_t child_index(const retain_node *parent, const retain_node *child)
{
    uint32_t index;
    (void)child_search(parent, (mqtt_bytes){.data = child->level, .len = child->level_len}, &index);
    return index;
}

static bool node_is_empty(const retain_node *n)
{
    return !n->msg && n->child_count == 0;
}

/* Inserts a new, empty child for `level` at `index` (from child_search).
 * Returns NULL on allocation failure, the parent unchanged. */
static retain_node *child_insert(retain_store *s, retain_node *parent, uint32_t index, mqtt_bytes level)
{
    if (parent->child_count == parent->child_cap) {
        if (parent->child_cap > UINT32_MAX / 2)
            return NULL;
        uint32_t cap = parent->child_cap ? parent->child_cap * 2 : 2;
        retain_node **grown = realloc(parent->children, (size_t)cap * sizeof *grown);
        if (!grown)
            return NULL;
        parent->children = grown;
        parent->child_cap = cap;
    }
    retain_node *child = calloc(1, sizeof *child + level.len);
    if (!child)
        return NULL;
    child->parent = parent;
    child->level_len = level.len;
    if (level.len)
        memcpy(child->level, level.data, level.len);

    retain_node **at = parent->children + index;
    memmove(at + 1, at, (size_t)(parent->child_count - index) * sizeof *at);
    *at = child;
    parent->child_count++;
    s->node_count++;
    return child;
}

/* Frees the empty child at `index`. */
static void child_remove(retain_store *s, retain_node *parent, uint32_t index)
{
    retain_node **at = parent->children + index;
    free(*at);
    parent->child_count--;
    memmove(at, at + 1, (size_t)(parent->child_count - index) * sizeof *at);
    s->node_count--;

    if (parent->child_count == 0) {
        free(parent->children);
        parent->children = NULL;
        parent->child_cap = 0;
    } else if (parent->child_count < parent->child_cap / 4) {
        /* Give memory back after mass deletion; keeping the larger array
         * is fine if the smaller one cannot be had. */
        retain_node **smaller = realloc(parent->children, (size_t)(parent->child_cap / 2) * sizeof *smaller);
        if (smaller) {
            parent->children = smaller;
            parent->child_cap /= 2;
        }
    }
}

/* Frees `n` and then its ancestors for as long as they hold nothing. */
static void prune(retain_store *s, retain_node *n)
{
    while (n != s->root && node_is_empty(n)) {
        retain_node *parent = n->parent;
        child_remove(s, parent, child_index(parent, n));
        n = parent;
    }
}

static void msg_drop(retain_store *s, retain_node *n)
{
    s->msg_bytes -= broker_msg_size(n->msg);
    s->msg_count--;
    broker_msg_unref(n->msg);
    n->msg = NULL;
}

/* ---- the API */

retain_store *retain_store_new(void)
{
    retain_store *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->root = calloc(1, sizeof *s->root);
    if (!s->root) {
        free(s);
        return NULL;
    }
    return s;
}

void retain_store_free(retain_store *s)
{
    if (!s)
        return;
    /* Post-order without a stack: detach the last child and descend into
     * it; a node with no children left is freed and the walk resumes at its
     * parent. */
    retain_node *n = s->root;
    while (n) {
        if (n->child_count) {
            n = n->children[--n->child_count];
            continue;
        }
        retain_node *parent = n->parent;
        broker_msg_unref(n->msg);
        free(n->children);
        free(n);
        n = parent;
    }
    free(s);
}

int retain_store_set(retain_store *s, mqtt_bytes topic, broker_msg *m)
{
    if (m && m->payload.len == 0)
        m = NULL; /* section 3.3.1.3: an empty retained message clears the topic */

    retain_node *node = s->root;
    mqtt_bytes level;
    for (uint32_t pos = 0; mqtt_topic_level_next(topic, &pos, &level);) {
        uint32_t index;
        if (child_search(node, level, &index)) {
            node = node->children[index];
            continue;
        }
        if (!m)
            return 0; /* nothing retained there */
        retain_node *child = child_insert(s, node, index, level);
        if (!child) {
            prune(s, node); /* the levels created so far */
            return -1;
        }
        node = child;
    }

    /* Take the new reference first: m may be the message already held. */
    if (m)
        broker_msg_ref(m);
    if (node->msg)
        msg_drop(s, node);
    if (!m) {
        prune(s, node);
        return 0;
    }
    node->msg = m;
    s->msg_count++;
    s->msg_bytes += broker_msg_size(m);
    return 0;
}

bool retain_store_contains(const retain_store *s, mqtt_bytes topic)
{
    const retain_node *node = s->root;
    mqtt_bytes level;
    for (uint32_t pos = 0; mqtt_topic_level_next(topic, &pos, &level);) {
        uint32_t index;
        if (!child_search(node, level, &index))
            return false;
        node = node->children[index];
    }
    return node->msg != NULL;
}

/* Passes the node's message to fn, or drops it if it has expired. */
static void offer(retain_store *s, retain_node *n, int64_t now_ms, void (*fn)(void *ctx, broker_msg *m),
                  void *ctx)
{
    if (!n->msg)
        return;
    if (broker_msg_remaining_expiry(n->msg, now_ms) == 0)
        msg_drop(s, n);
    else
        fn(ctx, n->msg);
}

static bool is_dollar_level(const retain_node *n)
{
    return n->level_len > 0 && n->level[0] == '$';
}

void retain_store_match(retain_store *s, mqtt_bytes filter, int64_t now_ms,
                        void (*fn)(void *ctx, broker_msg *m), void *ctx)
{
    if (filter.len == 0)
        return;
    uint32_t levels = 1;
    for (uint32_t i = 0; i < filter.len; i++)
        levels += filter.data[i] == '/';
    /* A valid filter holds '#' only as its whole last level, below which
     * every depth takes all children and every message. */
    uint32_t all_from = filter.data[filter.len - 1] == '#' ? levels - 1 : UINT32_MAX;

    /* A depth-first walk. At `node`, at `depth`, the topic levels above have
     * matched and `pos` is where filter level `depth` starts (filter.len + 1
     * once past the last). When coming back up (`back`), a node whose level
     * takes all children goes on with the child at `resume`. */
    retain_node *node = s->root;
    uint32_t depth = 0, pos = 0, resume = 0;
    bool back = false;
    for (;;) {
        if (!back && (depth == levels || depth >= all_from))
            offer(s, node, now_ms, fn, ctx);

        mqtt_bytes level;
        uint32_t next_pos = pos;
        bool has_level = mqtt_topic_level_next(filter, &next_pos, &level);
        bool take_all = depth >= all_from || (has_level && level.len == 1 && level.data[0] == '+');
        retain_node *next = NULL;
        if (take_all) {
            uint32_t i = back ? resume : 0;
            /* Section 4.7.2: '$' topics are not matched by a leading wildcard. */
            while (depth == 0 && i < node->child_count && is_dollar_level(node->children[i]))
                i++;
            if (i < node->child_count)
                next = node->children[i];
        } else if (has_level && !back) {
            uint32_t i;
            if (child_search(node, level, &i))
                next = node->children[i];
        }

        if (next) {
            node = next;
            depth++;
            pos = next_pos;
            back = false;
            continue;
        }
        if (node == s->root)
            return;
        retain_node *parent = node->parent;
        uint32_t index = child_index(parent, node);
        resume = index + 1;
        if (node_is_empty(node)) { /* its messages expired during this walk */
            child_remove(s, parent, index);
            resume = index;
        }
        node = parent;
        depth--;
        pos = depth >= levels ? filter.len + 1 : mqtt_topic_level_prev(filter, pos);
        back = true;
    }
}

size_t retain_store_count(const retain_store *s)
{
    return s->msg_count;
}

size_t retain_store_bytes(const retain_store *s)
{
    return s->msg_bytes;
}

size_t retain_store_node_count(const retain_store *s)
{
    return s->node_count + 1;
}
