/* kernels/cpu/cpu_sparse.c — the sparse × dense products of the first layer, by column.
 *
 * Both products walk the ones of X [m × ncols] column by column (a counting sort of the
 * call's nonzeros, O(nnz + ncols)): each row of W or G_W [ncols × n] is then read or
 * updated once per call instead of once per nonzero, and what is touched per nonzero is a
 * row of Y or G_Y [m × n], small enough to stay in cache. The additions into every element
 * come in the order they did row by row (Y[r, :]: its columns ascending, as X's rows are
 * sorted; G_W[j, :]: its rows ascending), so the results are those of the row-wise loops,
 * bit for bit, whatever the thread count: threads split the n columns of the output.
 * A kern_colset is the same column view built without the O(ncols) counting sort (the
 * columns found through a bitmap of ncols / 64 words), for the lazy first layer. */
#include <stdlib.h>
#include <string.h>

#include "common/check.h"

#include "kernels/cpu/cpu_internal.h"

/* X's ones by column: columns cols[u] (u < n_used, ascending) hold the rows
 * rows[ptr[u] .. ptr[u + 1]) (ascending). Row indices are relative to X's first row. */
typedef struct csc_view {
    int64_t n_used;
    const int32_t *cols;   /* [n_used] */
    const int64_t *ptr;    /* [n_used + 1] */
    const int32_t *rows;   /* [nnz] */
} csc_view;

/* Whether b's view was made of the ones of X (the same rows and columns, compared). */
static int same_ones(const cpu_csc_buffers *b, kern_csr X, int64_t nnz)
{
    return b->key_nrows == X.nrows && b->key_ncols == X.ncols &&
           memcmp(b->key_rowptr, X.rowptr, sizeof(int64_t) * (size_t)(X.nrows + 1)) == 0 &&
           memcmp(b->key_col, X.col + X.rowptr[0], sizeof(int32_t) * (size_t)nnz) == 0;
}

/* The column view of X; the previous call's when X has the same ones (a batch's first layer
 * runs forward, backward and the refresh forward of the next step on the same X: one
 * counting sort instead of three, for the price of comparing X). */
static csc_view csc_of(kern *k, kern_csr X)
{
    int64_t base = X.rowptr[0], nnz = X.rowptr[X.nrows] - base;
    cpu_csc_buffers *b = &cpu_st(k)->csc;
    if (same_ones(b, X, nnz))
        return (csc_view){b->n_used, b->cols, b->ptr, b->rows};
    b = cpu_csc_scratch(k, X.nrows, X.ncols, nnz);
    int64_t *start = b->start;                                  /* [ncols + 1] */
    memset(start, 0, sizeof(int64_t) * (size_t)(X.ncols + 1));
    for (int64_t p = base; p < base + nnz; p++)
        start[X.col[p] + 1]++;
    int64_t n_used = 0;
    for (int64_t c = 0; c < X.ncols; c++) {
        if (start[c + 1] > 0) {
            b->cols[n_used] = (int32_t)c;
            b->ptr[n_used++] = start[c];
        }
        start[c + 1] += start[c];
    }
    b->ptr[n_used] = nnz;
    for (int64_t r = 0; r < X.nrows; r++)                      /* start[c]: next slot of c */
        for (int64_t p = X.rowptr[r]; p < X.rowptr[r + 1]; p++)
            b->rows[start[X.col[p]]++] = (int32_t)r;
    memcpy(b->key_rowptr, X.rowptr, sizeof(int64_t) * (size_t)(X.nrows + 1));
    memcpy(b->key_col, X.col + base, sizeof(int32_t) * (size_t)nnz);
    b->key_nrows = X.nrows;
    b->key_ncols = X.ncols;
    b->n_used = n_used;
    return (csc_view){n_used, b->cols, b->ptr, b->rows};
}

/* The output's n columns in `slices` parts of at least 16 (one per thread, at most). */
static int64_t column_slices(int64_t n, int threads)
{
    int64_t most = n / 16 > 0 ? n / 16 : 1;
    return threads < most ? threads : most;
}

static inline void add_row(float *restrict y, const float *restrict w, int64_t len)
{
    for (int64_t c = 0; c < len; c++)
        y[c] += w[c];
}

/* Y [m × n] = b + X·W, W [ncols × n]; b may be NULL (zero). */
void cpu_csr_matmul_bias(kern *k, kern_csr X, const float *W, const float *b, int64_t n,
                         float *Y)
{
    csc_view v = csc_of(k, X);
    int threads = cpu_st(k)->threads;
    int64_t slices = column_slices(n, threads);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t s = 0; s < slices; s++) {
        int64_t c0 = n * s / slices, c1 = n * (s + 1) / slices;
        for (int64_t r = 0; r < X.nrows; r++)
            for (int64_t c = c0; c < c1; c++)
                Y[r * n + c] = b ? b[c] : 0.0f;
        for (int64_t u = 0; u < v.n_used; u++) {
            const float *w = W + (int64_t)v.cols[u] * n + c0;
            for (int64_t p = v.ptr[u]; p < v.ptr[u + 1]; p++)
                add_row(Y + (int64_t)v.rows[p] * n + c0, w, c1 - c0);
        }
    }
}

/* G_W [ncols × n] += Xᵀ·G_Y, G_Y [m × n], by the column view v of X: G_W's rows v.cols. */
static void csc_t_matmul_add(kern *k, csc_view v, const float *G_Y, int64_t n, float *G_W)
{
    int threads = cpu_st(k)->threads;
    int64_t slices = column_slices(n, threads);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t s = 0; s < slices; s++) {
        int64_t c0 = n * s / slices, c1 = n * (s + 1) / slices;
        for (int64_t u = 0; u < v.n_used; u++) {   /* G_W's row stays in L1 meanwhile */
            float *g_w = G_W + (int64_t)v.cols[u] * n + c0;
            for (int64_t p = v.ptr[u]; p < v.ptr[u + 1]; p++)
                add_row(g_w, G_Y + (int64_t)v.rows[p] * n + c0, c1 - c0);
        }
    }
}

void cpu_csr_t_matmul_add(kern *k, kern_csr X, const float *G_Y, int64_t n, float *G_W)
{
    csc_t_matmul_add(k, csc_of(k, X), G_Y, n, G_W);
}

/* ---- kern_colset ----------------------------------------------------------------------- */

void *cpu_colset_create(kern *k, int64_t ncols, int64_t max_nrows)
{
    (void)k;
    (void)max_nrows;
    size_t n = (size_t)(ncols > 0 ? ncols : 1);
    cpu_colset *c = xcalloc(1, sizeof(*c));
    c->seen = xcalloc((n + 63) / 64, sizeof(uint64_t));
    c->slot = xmalloc(sizeof(int32_t) * n);
    c->cols = xmalloc(sizeof(int32_t) * n);
    c->ptr = xmalloc(sizeof(int64_t) * (n + 1));
    c->next = xmalloc(sizeof(int64_t) * n);
    c->ptr[0] = 0;
    return c;
}

void cpu_colset_free(kern *k, void *impl)
{
    (void)k;
    cpu_colset *c = impl;
    free(c->seen);
    free(c->slot);
    free(c->cols);
    free(c->ptr);
    free(c->next);
    free(c->rows);
    free(c);
}

/* The columns of X ascending (one bit per column of the matrix, ncols / 64 words read and
 * left zero again) into cols and slot; each one's count of rows into ptr[u + 1]. */
static void colset_list(cpu_colset *c, kern_csr X)
{
    int64_t p0 = X.rowptr[0], p1 = X.rowptr[X.nrows];
    for (int64_t p = p0; p < p1; p++)
        c->seen[X.col[p] >> 6] |= 1ull << (X.col[p] & 63);
    c->n_used = 0;
    for (int64_t w = 0; w < (X.ncols + 63) / 64; w++)
        for (uint64_t bits = c->seen[w]; bits; bits &= bits - 1) {
            int32_t col = (int32_t)(w * 64 + __builtin_ctzll(bits));
            c->slot[col] = (int32_t)c->n_used;
            c->cols[c->n_used] = col;
            c->ptr[++c->n_used] = 0;
            c->seen[w] = 0;
        }
    for (int64_t p = p0; p < p1; p++)
        c->ptr[c->slot[X.col[p]] + 1]++;
}

void cpu_colset_build(kern *k, kern_colset *cs, kern_csr X)
{
    (void)k;
    cpu_colset *c = cs->impl;
    int64_t nnz = X.nrows > 0 ? X.rowptr[X.nrows] - X.rowptr[0] : 0;
    c->n_used = 0;
    if (nnz == 0)
        return;
    if (c->rows_cap < nnz) {
        free(c->rows);
        c->rows = xmalloc(sizeof(int32_t) * (size_t)nnz);
        c->rows_cap = nnz;
    }
    colset_list(c, X);
    for (int64_t u = 0; u < c->n_used; u++) {   /* counts to starts; next[u]: next slot */
        c->ptr[u + 1] += c->ptr[u];
        c->next[u] = c->ptr[u];
    }
    for (int64_t r = 0; r < X.nrows; r++)        /* rows ascending within every column */
        for (int64_t p = X.rowptr[r]; p < X.rowptr[r + 1]; p++)
            c->rows[c->next[c->slot[X.col[p]]]++] = (int32_t)r;
}

void cpu_zero_rows_of_cols(kern *k, float *G, int64_t width, const kern_colset *cs)
{
    const cpu_colset *c = cs->impl;
#pragma omp parallel for num_threads(cpu_st(k)->threads) schedule(static)
    for (int64_t u = 0; u < c->n_used; u++)
        memset(G + (int64_t)c->cols[u] * width, 0, sizeof(float) * (size_t)width);
}

void cpu_colset_t_matmul_add(kern *k, const kern_colset *cs, const float *G_Y, int64_t n,
                             float *G_W)
{
    const cpu_colset *c = cs->impl;
    csc_t_matmul_add(k, (csc_view){c->n_used, c->cols, c->ptr, c->rows}, G_Y, n, G_W);
}
