/* Subscription tree: which subscriptions match a published topic name.
 *
 * A trie with one node per topic-filter level. A subscription lives at the node
 * of its filter's last level: ordinary subscriptions as a list of entries,
 * shared subscriptions (`$share/{group}/{filter}`) as a named group at the node
 * of the inner filter, of which one member receives each message.
 *
 * Ownership: the tree owns its nodes, the filter levels and the group names
 * (copies). Subscribers are opaque pointers owned by the caller, which removes
 * a subscriber's subscriptions before freeing it. Not thread-safe. */
#ifndef EG_SUB_TREE_H
#define EG_SUB_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqtt_packet.h"

typedef struct sub_tree sub_tree;

/* Returns NULL on allocation failure. */
sub_tree *sub_tree_new(void);
/* Frees the tree and every subscription in it (not the subscribers). NULL is fine. */
void sub_tree_free(sub_tree *t);

/* Subscribes `subscriber` to `filter`, a valid topic filter (the caller ran
 * mqtt_topic_filter_check), possibly `$share/{group}/{filter}`. `options` is
 * the MQTT v5 Subscription Options byte, stored as given; subscription_id 0
 * means none. Returns 1 when added, 0 when the subscriber already had this
 * exact filter (its options and identifier are replaced, as MQTT requires),
 * -1 on allocation failure (the tree is unchanged). */
int sub_tree_add(sub_tree *t, mqtt_bytes filter, void *subscriber, uint8_t options, uint32_t subscription_id);

/* Unsubscribes `subscriber` from exactly `filter` (same spelling as added).
 * Returns 1 when removed, 0 when there was no such subscription. */
int sub_tree_remove(sub_tree *t, mqtt_bytes filter, void *subscriber);

/* Whether a shared-subscription member may be given a message now (e.g. its
 * session is connected). */
typedef bool (*sub_tree_eligible_fn)(void *ctx, void *subscriber);

/* One matching subscription. share_group is NULL for an ordinary subscription,
 * else the group's name (valid during the call only). */
typedef void (*sub_tree_match_fn)(void *ctx, void *subscriber, uint8_t options, uint32_t subscription_id,
                                  const mqtt_bytes *share_group);

/* Calls `fn` for every subscription whose filter matches `topic`, a valid topic
 * name: once per matching ordinary subscription (a subscriber whose filters
 * overlap gets one call per filter; merging is the caller's job), and once per
 * matching shared group with one member chosen round-robin among those
 * `eligible` accepts, or among all members when it accepts none. `eligible`
 * may be NULL (all are). Leading wildcards do not match topics that start with
 * '$'. Never allocates; `fn` and `eligible` must not modify the tree. */
void sub_tree_match(sub_tree *t, mqtt_bytes topic, sub_tree_eligible_fn eligible, sub_tree_match_fn fn,
                    void *ctx);

/* Subscriptions held, shared-group members included. */
size_t sub_tree_count(const sub_tree *t);
/* Trie nodes held, the root included (for metrics, and to check pruning). */
size_t sub_tree_node_count(const sub_tree *t);

#endif
