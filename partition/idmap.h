/* partition/idmap.h — raw ids <-> dense global ids, the same on every rank for any P.
 *
 * The global ids of one side (users or items) are the distinct raw ids of the training
 * split in ascending order, then (permute) shuffled by a permutation that depends only on
 * (n, seed, side). Built distributedly: each rank's distinct ids, all-gathered, merged. */
#ifndef BIVAE_PARTITION_IDMAP_H
#define BIVAE_PARTITION_IDMAP_H

#include <stddef.h>
#include <stdint.h>

#include "comm/comm.h"
#include "partition/idhash.h"
#include "partition/split.h"

typedef enum { ID_SIDE_USER = 0, ID_SIDE_ITEM = 1 } id_side;

typedef struct id_map {
    int64_t n;              /* distinct raw ids (over all ranks) */
    int64_t *raw;           /* [n] global id -> raw id (identical on every rank) */
    id_hash index;          /* raw id -> global id */
} id_map;

/* Collective: the map of one side of this rank's pairs v[n] (all ranks together).
 * n > INT32_MAX distinct ids cannot be indexed: returns -1 on every rank (nothing
 * printed), else 0. */
int idmap_build(comm *c, const raw_pair *v, size_t n, id_side side, int permute,
                uint64_t seed, id_map *m);
void idmap_free(id_map *m);

/* Global id of a raw id, or -1 when the raw id is not in the map. */
static inline int32_t idmap_global(const id_map *m, int64_t raw)
{
    return idhash_get(&m->index, raw);
}

/* Fisher-Yates shuffle of a[n] by a stream keyed by (n, seed, side) only. */
void idmap_permute(int64_t *a, int64_t n, uint64_t seed, id_side side);

#endif
