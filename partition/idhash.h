/* partition/idhash.h — open-addressing hash map from raw ids (int64) to dense ids (int32).
 * Used to de-duplicate raw ids and to translate raw ids to global ids. */
#ifndef BIVAE_PARTITION_IDHASH_H
#define BIVAE_PARTITION_IDHASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct id_hash {
    int64_t *keys;      /* [mask + 1] */
    int32_t *vals;      /* [mask + 1]  -1 = empty slot */
    uint64_t mask;      /* capacity - 1 (capacity a power of two, load <= 1/2) */
    size_t n;           /* keys stored */
} id_hash;

void idhash_init(id_hash *h, size_t expected);
void idhash_free(id_hash *h);
/* Stores key -> val (val >= 0) unless key is present; returns 1 when key was new. */
int idhash_put(id_hash *h, int64_t key, int32_t val);
/* The value stored for key, or -1. */
int32_t idhash_get(const id_hash *h, int64_t key);
/* The distinct keys, in slot order, into out[h->n]. */
void idhash_keys(const id_hash *h, int64_t *out);

#endif
