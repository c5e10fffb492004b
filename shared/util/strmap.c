#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
    char *key; /* NULL: empty */
    size_t len;
    uint64_t hash;
    void *value;
} slot;

struct strmap {
    slot *slots;
    size_t cap; /* power of two */
    size_t count;
};

static uint64_t hash_bytes(const void *key, size_t len)
{
    /* FNV-1a: keys are client ids and topics, short and not adversarial enough to matter here. */
    const unsigned char *p = key;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

strmap *strmap_new(void)
{
    strmap *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cap = 16;
    m->slots = calloc(m->cap, sizeof(slot));
    if (!m->slots) {
        free(m);
        return NULL;
    }
    return m;
}

void strmap_free(strmap *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    free(m);
}

static slot *find(const strmap *m, const void *key, size_t len, uint64_t h)
{
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        slot *s = &m->slots[i];
        if (!s->key || (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0))
            return s;
    }
}

static int grow(strmap *m)
{
    size_t old_cap = m->cap;
    slot *old = m->slots;
    slot *fresh = calloc(old_cap * 2, sizeof(slot));
    if (!fresh)
        return -1;
    m->slots = fresh;
    m->cap = old_cap * 2;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].key)
            *find(m, old[i].key, old[i].len, old[i].hash) = old[i];
    free(old);
    return 0;
}

void *strmap_get(const strmap *m, const void *key, size_t len)
{
    slot *s = find(m, key, len, hash_bytes(key, len));
    return s->key ? s->value : NULL;
}

int strmap_put(strmap *m, const void *key, size_t len, void *value)
{
    if ((m->count + 1) * 4 > m->cap * 3 && grow(m) != 0)
        return -1;
    uint64_t h = hash_bytes(key, len);
    slot *s = find(m, key, len, h);
    if (!s->key) {
        s->key = malloc(len ? len : 1);
        if (!s->key)
            return -1;
        memcpy(s->key, key, len);
        s->len = len;
        s->hash = h;
        m->count++;
    }
    s->value = value;
    return 0;
}

void *strmap_remove(strmap *m, const void *key, size_t len)
{
    slot *s = find(m, key, len, hash_bytes(key, len));
    if (!s->key)
        return NULL;
    void *value = s->value;
    free(s->key);
    s->key = NULL;
    m->count--;
    /* Re-seat the rest of the probe run so lookups never stop at the new hole. */
    size_t i = (size_t)(s - m->slots);
    for (size_t j = (i + 1) & (m->cap - 1); m->slots[j].key; j = (j + 1) & (m->cap - 1)) {
        slot moved = m->slots[j];
        m->slots[j].key = NULL;
        *find(m, moved.key, moved.len, moved.hash) = moved;
    }
    return value;
}

size_t strmap_count(const strmap *m)
{
    return m->count;
}

void strmap_foreach(const strmap *m, void (*fn)(void *ctx, const void *key, size_t len, void *value),
                    void *ctx)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            fn(ctx, m->slots[i].key, m->slots[i].len, m->slots[i].value);
}
