/* partition/csr.c — see csr.h */
#include "partition/csr.h"

#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "partition/sort.h"

/* rowptr[nrows + 1] from the local rows of the records' keys: key[k * stride] is record
 * k's int32 global row id (counting sort, pass 1). */
static int64_t *row_offsets(const int32_t *key, size_t stride, size_t n, int64_t nrows, int P)
{
    int64_t *rowptr = xcalloc((size_t)nrows + 1, sizeof(int64_t));
    for (size_t k = 0; k < n; k++)
        rowptr[key[k * stride] / P + 1]++;
    for (int64_t r = 0; r < nrows; r++)
        rowptr[r + 1] += rowptr[r];
    return rowptr;
}

/* col[] reallocated to its final nnz entries. */
static int32_t *shrink_cols(int32_t *col, int64_t nnz)
{
    return xrealloc(col, sizeof(int32_t) * (size_t)(nnz ? nnz : 1));
}

/* v[n] ordered by col, stably (counting sort over ncols buckets); takes v. */
static gpair *order_by_col(gpair *v, size_t n, int64_t ncols)
{
    int64_t *at = xcalloc((size_t)ncols + 1, sizeof(int64_t));
    for (size_t k = 0; k < n; k++)
        at[v[k].col + 1]++;
    for (int64_t j = 0; j < ncols; j++)
        at[j + 1] += at[j];
    gpair *out = xmalloc(sizeof(gpair) * (n ? n : 1));
    for (size_t k = 0; k < n; k++)
        out[at[v[k].col]++] = v[k];
    free(at);
    free(v);
    return out;
}

/* Drops repeated columns within every row of (rowptr, col) (rows sorted), compacting. */
static void unique_rows(int64_t *rowptr, int32_t *col, int64_t nrows)
{
    int64_t w = 0, start = 0;
    for (int64_t r = 0; r < nrows; r++) {
        int64_t end = rowptr[r + 1];
        for (int64_t k = start; k < end; k++)
            if (k == start || col[k] != col[k - 1])
                col[w++] = col[k];
        start = end;
        rowptr[r + 1] = w;
    }
}

/* Two stable counting sorts (by column, then by row) give every row its columns in
 * ascending order in O(n + ncols + nrows), without comparisons. */
void part_csr_build(gpair *v, size_t n, int64_t nrows, int64_t ncols, int P, csr_matrix *m)
{
    gpair *s = order_by_col(v, n, ncols);
    m->nrows = nrows;
    m->ncols = ncols;
    m->rowptr = row_offsets((const int32_t *)(const void *)s, 2, n, nrows, P);
    m->col = xmalloc(sizeof(int32_t) * (n ? n : 1));
    int64_t *fill = xmalloc(sizeof(int64_t) * ((size_t)nrows + 1));
    memcpy(fill, m->rowptr, sizeof(int64_t) * ((size_t)nrows + 1));
    for (size_t k = 0; k < n; k++)
        m->col[fill[s[k].row / P]++] = s[k].col;
    free(fill);
    free(s);
    unique_rows(m->rowptr, m->col, nrows);
    m->col = shrink_cols(m->col, m->rowptr[nrows]);
}

/* The ones of m as (col, global row) pairs: the transpose's records. */
gpair *part_csr_transpose(const csr_matrix *m, int rank, int P, size_t *n_out)
{
    size_t n = (size_t)m->rowptr[m->nrows];
    gpair *t = xmalloc(sizeof(gpair) * (n ? n : 1));
    for (int64_t r = 0; r < m->nrows; r++)
        for (int64_t k = m->rowptr[r]; k < m->rowptr[r + 1]; k++) {
            t[k].row = m->col[k];
            t[k].col = (int32_t)partition_global(r, rank, P);
        }
    *n_out = n;
    return t;
}

/* One user's test items it[len] (numbers) -> its count and its known items (appended at
 * col). Returns the number of known ones. */
static int64_t test_row_items(int32_t *it, size_t len, int64_t n_items, int32_t *col,
                              int32_t *count)
{
    part_sort_i32(it, len);
    len = part_unique_i32(it, len);
    *count = (int32_t)len;
    int64_t known = 0;
    for (size_t k = 0; k < len && it[k] < n_items; k++)   /* sorted: known ones first */
        col[known++] = it[k];
    return known;
}

int64_t part_csr_build_test(const test_row *v, size_t n, int64_t nrows, int64_t n_items, int P,
                            csr_matrix *Tu, int32_t *count)
{
    int64_t *start = row_offsets((const int32_t *)(const void *)v, 2, n, nrows, P);
    int32_t *it = xmalloc(sizeof(int32_t) * (n ? n : 1));   /* items grouped by row */
    int64_t *fill = xmalloc(sizeof(int64_t) * ((size_t)nrows + 1)), unknown = 0;
    memcpy(fill, start, sizeof(int64_t) * ((size_t)nrows + 1));
    for (size_t k = 0; k < n; k++)
        it[fill[v[k].user / P]++] = v[k].item;
    free(fill);
    Tu->nrows = nrows;
    Tu->ncols = n_items;
    Tu->rowptr = xcalloc((size_t)nrows + 1, sizeof(int64_t));
    Tu->col = xmalloc(sizeof(int32_t) * (n ? n : 1));
    for (int64_t r = 0; r < nrows; r++) {
        size_t len = (size_t)(start[r + 1] - start[r]);
        int64_t known = test_row_items(it + start[r], len, n_items, Tu->col + Tu->rowptr[r],
                                       &count[r]);
        Tu->rowptr[r + 1] = Tu->rowptr[r] + known;
        unknown += count[r] - known;
    }
    Tu->col = shrink_cols(Tu->col, Tu->rowptr[nrows]);
    free(start);
    free(it);
    return unknown;
}

void part_csr_free(csr_matrix *m)
{
    free(m->rowptr);
    free(m->col);
    memset(m, 0, sizeof *m);
}
