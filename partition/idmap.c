/* partition/idmap.c — see idmap.h */
#include "partition/idmap.h"

#include <stdlib.h>

#include "common/check.h"
#include "partition/hash.h"
#include "partition/sort.h"

#define TAG_PERMUTE 0x7065726dULL

static inline int64_t side_of(const raw_pair *p, id_side side)
{
    return side == ID_SIDE_USER ? p->user : p->item;
}

/* This rank's distinct ids of one side, sorted; count in *n_out. */
static int64_t *local_distinct(const raw_pair *v, size_t n, id_side side, size_t *n_out)
{
    id_hash h;
    idhash_init(&h, 1024);
    int64_t last = 0;
    for (size_t k = 0; k < n; k++) {
        int64_t id = side_of(&v[k], side);
        if (k > 0 && id == last)                /* files are often grouped by user */
            continue;
        idhash_put(&h, id, 0);
        last = id;
    }
    int64_t *ids = xmalloc(sizeof(int64_t) * (h.n ? h.n : 1));
    idhash_keys(&h, ids);
    *n_out = h.n;
    idhash_free(&h);
    part_sort_i64(ids, *n_out);
    return ids;
}

void idmap_permute(int64_t *a, int64_t n, uint64_t seed, id_side side)
{
    rng64 r = rng64_seed(hash3(seed ^ TAG_PERMUTE, (uint64_t)side, (uint64_t)n));
    for (int64_t k = n - 1; k > 0; k--) {
        int64_t j = (int64_t)rng64_below(&r, (uint64_t)k + 1);
        int64_t t = a[k]; a[k] = a[j]; a[j] = t;
    }
}

int idmap_build(comm *c, const raw_pair *v, size_t n, id_side side, int permute,
                uint64_t seed, id_map *m)
{
    size_t n_local, n_all;
    int64_t *local = local_distinct(v, n, side, &n_local);
    int64_t *all = comm_allgatherv_bytes(c, local, n_local, sizeof(int64_t), &n_all);
    free(local);
    part_sort_i64(all, n_all);
    m->n = (int64_t)part_unique_i64(all, n_all);
    if (m->n > INT32_MAX) {
        free(all);
        m->raw = NULL;
        m->n = 0;
        return -1;
    }
    m->raw = xrealloc(all, sizeof(int64_t) * (size_t)(m->n ? m->n : 1));
    if (permute)
        idmap_permute(m->raw, m->n, seed, side);
    idhash_init(&m->index, (size_t)m->n);
    for (int64_t g = 0; g < m->n; g++)
        idhash_put(&m->index, m->raw[g], (int32_t)g);
    return 0;
}

void idmap_free(id_map *m)
{
    free(m->raw);
    m->raw = NULL;
    m->n = 0;
    if (m->index.keys)
        idhash_free(&m->index);
}
