/* A hash map from byte-string keys to pointers (open addressing, linear probing).
 * Ownership: the map copies each key; values are borrowed (the caller owns them). */
#ifndef EG_STRMAP_H
#define EG_STRMAP_H

#include <stddef.h>

typedef struct strmap strmap;

strmap *strmap_new(void);
void strmap_free(strmap *m);
void *strmap_get(const strmap *m, const void *key, size_t len);
/* Inserts or replaces. Returns 0, or -1 on allocation failure. */
int strmap_put(strmap *m, const void *key, size_t len, void *value);
/* Removes the key; returns its value or NULL. */
void *strmap_remove(strmap *m, const void *key, size_t len);
size_t strmap_count(const strmap *m);
/* Calls fn for each entry; fn must not modify the map. */
void strmap_foreach(const strmap *m, void (*fn)(void *ctx, const void *key, size_t len, void *value),
                    void *ctx);

#endif
