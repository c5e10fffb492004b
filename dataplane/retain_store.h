/* Retained messages: the last retained PUBLISH per topic name, handed to new
 * subscriptions whose filter matches (MQTT 5.0 section 3.3.1.3).
 *
 * Kept as a trie of topic levels, so a filter without wildcards costs one
 * lookup per level and `+` or `#` only visit the branches they cover.
 *
 * Ownership: the store owns one reference to each message it holds
 * (broker_msg_ref when stored, broker_msg_unref when replaced, deleted,
 * expired or freed). Not thread-safe. */
#ifndef EG_RETAIN_STORE_H
#define EG_RETAIN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "message.h"
#include "mqtt_packet.h"

typedef struct retain_store retain_store;

/* Returns NULL on allocation failure. */
retain_store *retain_store_new(void);
/* Drops every message the store holds. NULL is fine. */
void retain_store_free(retain_store *s);

/* Retains `m` for `topic`, a valid topic name, replacing any earlier message.
 * m == NULL, or a message with an empty payload (section 3.3.1.3), deletes the
 * topic's retained message instead. Returns 0, or -1 on allocation failure
 * (the store is unchanged). Limits are the caller's: see count and bytes. */
int retain_store_set(retain_store *s, mqtt_bytes topic, broker_msg *m);

/* Calls `fn` for every retained message whose topic `filter` (a valid,
 * non-shared topic filter) matches. Leading wildcards do not match topics
 * that start with '$'. Messages expired at `now_ms` are dropped, not passed.
 * The message is borrowed: `fn` takes its own reference to keep it, and must
 * not modify the store. */
void retain_store_match(retain_store *s, mqtt_bytes filter, int64_t now_ms,
                        void (*fn)(void *ctx, broker_msg *m), void *ctx);

/* Whether `topic` has a retained message (expired or not). */
bool retain_store_contains(const retain_store *s, mqtt_bytes topic);
/* Messages held. */
size_t retain_store_count(const retain_store *s);
/* Sum of broker_msg_size over the messages held. */
size_t retain_store_bytes(const retain_store *s);
/* Trie nodes held, the root included (for metrics, and to check pruning). */
size_t retain_store_node_count(const retain_store *s);

#endif
