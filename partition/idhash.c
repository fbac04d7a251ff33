/* partition/idhash.c — see idhash.h */
#include "partition/idhash.h"

#include <stdlib.h>

#include "common/check.h"
#include "partition/hash.h"

static void alloc_slots(id_hash *h, uint64_t cap)
{
    h->keys = xmalloc(sizeof(int64_t) * cap);
    h->vals = xmalloc(sizeof(int32_t) * cap);
    for (uint64_t s = 0; s < cap; s++)
        h->vals[s] = -1;
    h->mask = cap - 1;
    h->n = 0;
}

void idhash_init(id_hash *h, size_t expected)
{
    uint64_t cap = 16;
    while (cap < 2 * (uint64_t)expected)
        cap <<= 1;
    alloc_slots(h, cap);
}

void idhash_free(id_hash *h)
{
    free(h->keys);
    free(h->vals);
    h->keys = NULL;
    h->vals = NULL;
    h->n = 0;
}

/* The slot holding key, or the empty slot where it belongs (linear probing). */
static uint64_t find_slot(const id_hash *h, int64_t key)
{
    uint64_t s = hash_mix64((uint64_t)key) & h->mask;
    while (h->vals[s] >= 0 && h->keys[s] != key)
        s = (s + 1) & h->mask;
    return s;
}

static void grow(id_hash *h)
{
    id_hash old = *h;
    alloc_slots(h, 2 * (old.mask + 1));
    for (uint64_t s = 0; s <= old.mask; s++)
        if (old.vals[s] >= 0)
            idhash_put(h, old.keys[s], old.vals[s]);
    idhash_free(&old);
}

int idhash_put(id_hash *h, int64_t key, int32_t val)
{
    if (2 * (h->n + 1) > h->mask + 1)
        grow(h);
    uint64_t s = find_slot(h, key);
    if (h->vals[s] >= 0)
        return 0;
    h->keys[s] = key;
    h->vals[s] = val;
    h->n++;
    return 1;
}

int32_t idhash_get(const id_hash *h, int64_t key)
{
    return h->vals[find_slot(h, key)];
}

void idhash_keys(const id_hash *h, int64_t *out)
{
    size_t k = 0;
    for (uint64_t s = 0; s <= h->mask; s++)
        if (h->vals[s] >= 0)
            out[k++] = h->keys[s];
}
