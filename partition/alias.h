/* partition/alias.h — Walker/Vose alias tables: O(1) draws from a fixed discrete
 * distribution (the synthetic generator's item popularity). */
#ifndef BIVAE_PARTITION_ALIAS_H
#define BIVAE_PARTITION_ALIAS_H

#include <stdint.h>

#include "partition/hash.h"

typedef struct alias_table {
    int64_t n;
    double *prob;       /* [n] keep slot k with probability prob[k] ... */
    int32_t *alias;     /* [n] ... else take alias[k] */
} alias_table;

/* Table for weights w[n] (positive, not necessarily normalized). Deterministic. */
void alias_table_build(alias_table *t, const double *w, int64_t n);
void alias_table_free(alias_table *t);

static inline int32_t alias_table_draw(const alias_table *t, rng64 *r)
{
    uint64_t x = rng64_next(r);
    int64_t k = (int64_t)((x >> 32) % (uint64_t)t->n);
    double u = (double)(x & 0xffffffffu) * 0x1.0p-32;
    return u < t->prob[k] ? (int32_t)k : t->alias[k];
}

#endif
