/* src/cyclic_rows.c — see cyclic_rows.h. */
#include "src/cyclic_rows.h"

#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "partition/dataset.h"

void cyclic_rows_allgather(kern *k, comm *c, const float *local, int64_t n_rows,
                           int64_t width, float *staging, float *dst)
{
    int P = comm_size(c), rank = comm_rank(c);
    if (P == 1) {   /* every row is local and in global order: no collective */
        kern_copy(k, dst, local, sizeof(float) * (size_t)(n_rows * width));
        return;
    }
    size_t *counts = xmalloc(sizeof(size_t) * (size_t)P), *displs = xmalloc(sizeof(size_t) * (size_t)P);
    size_t off = 0;
    for (int r = 0; r < P; r++) {
        counts[r] = (size_t)(partition_owned_count(n_rows, r, P) * width);
        displs[r] = off;
        off += counts[r];
    }
    comm_allgatherv_f32(c, local, counts[rank], staging, counts, displs);
    kern_rows_cyclic_from_blocked(k, dst, staging, n_rows, width, P);
    free(counts);
    free(displs);
}

/* Part [c0, c1) of row g (global) of a chunk starting at element `offset`, if owned. */
static void scatter_part_row(kern *k, float *local, int64_t K, int rank, int P, int64_t g,
                             int64_t offset, const float *data, int64_t n)
{
    int64_t c0 = offset > g * K ? offset - g * K : 0;
    int64_t c1 = offset + n < (g + 1) * K ? offset + n - g * K : K;
    if (partition_owner(g, P) != rank || c1 <= c0)
        return;
    kern_upload(k, local + partition_local(g, P) * K + c0, data + (g * K + c0 - offset),
                (size_t)(c1 - c0) * sizeof(float));
}

void cyclic_rows_scatter(kern *k, float *local, int64_t K, int rank, int P, int64_t offset,
                         const float *data, int64_t n)
{
    int64_t first = offset / K, last = (offset + n - 1) / K;   /* rows touched */
    int64_t full0 = (offset + K - 1) / K, full1 = (offset + n) / K;   /* whole rows */
    if (first < full0)
        scatter_part_row(k, local, K, rank, P, first, offset, data, n);
    if (last >= full1 && (last != first || first >= full0))
        scatter_part_row(k, local, K, rank, P, last, offset, data, n);
    if (full1 <= full0)
        return;
    int64_t l0 = partition_local_begin(full0, rank, P), l1 = partition_local_begin(full1, rank, P);
    if (l1 <= l0)
        return;
    float *stage = xmalloc(sizeof(float) * (size_t)((l1 - l0) * K));   /* [own rows × K] */
    for (int64_t l = l0; l < l1; l++)
        memcpy(stage + (l - l0) * K, data + (partition_global(l, rank, P) * K - offset),
               sizeof(float) * (size_t)K);
    kern_upload(k, local + l0 * K, stage, sizeof(float) * (size_t)((l1 - l0) * K));
    free(stage);
}

