/* partition/idmap.h — raw ids <-> dense global ids, the same on every rank for any P.
 *
 * The global ids of one side (users or items) are its distinct raw ids of the TRAINING split
 * (over all ranks) in the total order of partition/rawid.h, then (permute) shuffled by a
 * permutation that depends only on (n, seed, side). Ids that occur only in the test split
 * get numbers n, n + 1, ... in the same order ("test-only": not in the model, counted by
 * the evaluation).
 *
 * Built without any rank holding all ids (a sample sort): splitters from a sample of every
 * rank's sorted distinct ids cut the total order into P ranges; every rank sends each of
 * its distinct ids to the rank of its range (the "directory"), which de-duplicates its
 * range and numbers it (an exclusive scan of the counts gives positions in the total
 * order). With permute, rank 0 computes the inverse permutation (4 bytes per id, once) and
 * sends each directory its slice. The directory answers every rank with the numbers of the
 * ids it sent and sends the text of each global id g to g's owner, rank g mod P. A rank
 * holds at most: its own distinct ids, the ids of its range as every rank sent them (each
 * id at most once per rank: O(ids) over all directories, not O(P · ids) on one), and the
 * text of its own global ids; rank 0 also the permutation, transiently. */
#ifndef BIVAE_PARTITION_IDMAP_H
#define BIVAE_PARTITION_IDMAP_H

#include <stddef.h>
#include <stdint.h>

#include "comm/comm.h"
#include "partition/iddict.h"

typedef enum { ID_SIDE_USER = 0, ID_SIDE_ITEM = 1 } id_side;

/* The raw ids (as text) of a list of global ids. */
typedef struct id_table {
    int64_t n;
    int64_t *off;               /* [n + 1] id j is text[off[j] .. off[j + 1]) */
    char *text;                 /* [off[n]] */
} id_table;

typedef struct id_map {
    int64_t n;                  /* global ids: the distinct ids of the training split */
    int64_t n_test_only;        /* ids only in the test split, numbered n .. n + n_test_only - 1 */
    int64_t *of_local;          /* [dictionary entries] number of each entry of the dict built from */
    id_table owned;             /* text of the global ids this rank owns: g at index g div P */
    size_t peak_bytes;          /* most memory the build held at once on this rank */
} id_map;

/* Collective: the map of one side from this rank's dictionary d (all ranks together).
 * More than INT32_MAX global ids cannot be indexed: returns -1 on every rank (nothing
 * printed), else 0. */
int idmap_build(comm *c, const id_dict *d, id_side side, int permute, uint64_t seed, id_map *m);
void idmap_free(id_map *m);

/* The inverse of the seeded Fisher-Yates shuffle of [0, n) keyed by (n, seed, side):
 * inv[j] = the global id of the j-th id in the total order. Every shuffle of the project's
 * id maps is this one (the same draws as shuffling the sorted ids themselves). */
void idmap_inverse_permutation(int32_t *inv, int64_t n, uint64_t seed, id_side side);

/* Text of id j of t, its length in *len. */
static inline const char *id_table_get(const id_table *t, int64_t j, size_t *len)
{
    *len = (size_t)(t->off[j + 1] - t->off[j]);
    return t->text + t->off[j];
}
void id_table_free(id_table *t);
size_t id_table_bytes(const id_table *t);

#endif
