/* kernels/cuda/cuda_sparse.cu — binary CSR × dense products and the CSR membership bitmaps.
 *
 * csr_matmul_bias   Y = X·W + 1·bᵀ: one warp per row of X; each lane owns columns of Y and
 *                   adds the W rows named by the row's nonzeros in CSR order, starting from
 *                   the bias — the CPU's order of additions, so the result is bitwise equal
 *                   to the CPU's and deterministic.
 * csr_t_matmul_add  G_W += Xᵀ·G_Y, deterministic without atomics on floats: a column-major
 *                   bitmap of X (bit (c, r) set iff X[r, c] = 1; atomicOr is order-free)
 *                   gives every row c of G_W its rows r of G_Y in ascending order; one warp
 *                   per row of G_W adds them in that order, as the CPU does (bitwise equal).
 *                   Cost per call: ncols · ceil(nrows/32) words of bitmap (memset + scan),
 *                   e.g. 2.2 MB for 128 rows × 138,493 columns; rows of G_W with no one
 *                   are neither read nor written.
 * kern_colset       the distinct columns of a window, listed by atomics, with the same
 *                   column-major bitmap restricted to them, kept between builds (a build
 *                   clears only what the last one set): the colset ops (zero rows, Xᵀ·G_Y,
 *                   and adam_rows in cuda_dense.cu) run a warp or thread per listed column
 *                   and touch nothing of the others, with no host synchronization.
 * No op reads the CSR arrays on the host (they are device memory and may be a window whose
 * rowptr[0] != 0). */
#include "kernels/cuda/cuda_internal.h"

enum {
    WARPS_PER_BLOCK = 8,      /* CU_THREADS / 32 */
    COLS_PER_LANE = 4         /* a warp covers 128 output columns per pass */
};

/* ---- bitmaps ------------------------------------------------------------------------- */

/* One warp per row r of the window: bits (r − r0, col) of the row-major bitmap. */
__global__ void row_bitmap_kernel(const int64_t *rowptr, const int32_t *col, int64_t ncols,
                                  int64_t r0, int64_t nrows, int64_t words, uint32_t *bm)
{
    int64_t r = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) / 32;
    int lane = threadIdx.x & 31;
    if (r >= nrows)
        return;
    uint32_t *row = bm + r * words;
    for (int64_t j = rowptr[r0 + r] + lane; j < rowptr[r0 + r + 1]; j += 32) {
        int32_t c = col[j];
        if (c >= 0 && c < ncols)
            atomicOr(&row[c >> 5], 1u << (c & 31));
    }
}

uint32_t *cu_row_bitmap(kern *k, kern_csr X, int64_t r0, int64_t nrows, int64_t words)
{
    cuda_state *st = cu_st(k);
    size_t bytes = (size_t)(nrows * words) * sizeof(uint32_t);
    uint32_t *bm = (uint32_t *)cu_scratch_get(k, &st->bitmap, bytes);
    CUDA_CHECK(cudaMemsetAsync(bm, 0, bytes, st->stream));
    unsigned blocks = (unsigned)((nrows + WARPS_PER_BLOCK - 1) / WARPS_PER_BLOCK);
    row_bitmap_kernel<<<blocks, CU_THREADS, 0, st->stream>>>(X.rowptr, X.col, X.ncols, r0, nrows,
                                                            words, bm);
    CUDA_LAUNCH_CHECK("row_bitmap_kernel");
    return bm;
}

/* One warp per row r: bit r of the column-major bitmap row c, for every one (r, c). */
__global__ void col_bitmap_kernel(const int64_t *rowptr, const int32_t *col, int64_t nrows,
                                  int64_t ncols, int64_t wm, uint32_t *bmT)
{
    int64_t r = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) / 32;
    int lane = threadIdx.x & 31;
    if (r >= nrows)
        return;
    for (int64_t j = rowptr[r] + lane; j < rowptr[r + 1]; j += 32) {
        int32_t c = col[j];
        if (c >= 0 && c < ncols)
            atomicOr(&bmT[c * wm + (r >> 5)], 1u << (r & 31));
    }
}

/* ---- Y = X·W + 1·bᵀ ------------------------------------------------------------------ */

/* Warp per row r; lanes own columns c0 + lane + 32t (t < COLS_PER_LANE) of Y [nrows × n].
 * Column ids of the row are loaded 32 at a time, one per lane, and broadcast by shuffles. */
__global__ void csr_matmul_bias_kernel(const int64_t *rowptr, const int32_t *col, int64_t nrows,
                                       const float *W, const float *b, int64_t n, float *Y)
{
    int64_t r = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) / 32;
    int lane = threadIdx.x & 31;
    if (r >= nrows)
        return;
    int64_t p0 = rowptr[r], p1 = rowptr[r + 1];
    for (int64_t c0 = 0; c0 < n; c0 += 32 * COLS_PER_LANE) {
        float acc[COLS_PER_LANE];
#pragma unroll
        for (int t = 0; t < COLS_PER_LANE; t++) {
            int64_t c = c0 + lane + 32 * t;
            acc[t] = (b && c < n) ? b[c] : 0.0f;
        }
        for (int64_t jb = p0; jb < p1; jb += 32) {
            int32_t mine = jb + lane < p1 ? col[jb + lane] : 0;
            int cnt = p1 - jb < 32 ? (int)(p1 - jb) : 32;
#pragma unroll 8   /* several W rows in flight: long rows are latency-bound otherwise */
            for (int jj = 0; jj < cnt; jj++) {
                const float *w = W + (int64_t)__shfl_sync(0xffffffffu, mine, jj) * n;
#pragma unroll
                for (int t = 0; t < COLS_PER_LANE; t++) {
                    int64_t c = c0 + lane + 32 * t;
                    if (c < n)
                        acc[t] += w[c];
                }
            }
        }
#pragma unroll
        for (int t = 0; t < COLS_PER_LANE; t++) {
            int64_t c = c0 + lane + 32 * t;
            if (c < n)
                Y[r * n + c] = acc[t];
        }
    }
}

void cu_csr_matmul_bias(kern *k, kern_csr X, const float *W, const float *b, int64_t n,
                        float *Y)
{
    cuda_state *st = cu_st(k);
    unsigned blocks = (unsigned)((X.nrows + WARPS_PER_BLOCK - 1) / WARPS_PER_BLOCK);
    cu_prof_begin(k, CU_PROF_SPARSE);
    csr_matmul_bias_kernel<<<blocks, CU_THREADS, 0, st->stream>>>(X.rowptr, X.col, X.nrows, W, b,
                                                                  n, Y);
    CUDA_LAUNCH_CHECK("csr_matmul_bias_kernel");
    cu_prof_end(k, CU_PROF_SPARSE);
}

/* ---- G_W += Xᵀ·G_Y ------------------------------------------------------------------- */

/* g_w [n] (a row of G_W) += the rows r of G_Y [· × n] whose bits are set in bits_row (wm
 * words), in ascending r: words 32 at a time (one per lane), non-zero words found by ballot,
 * their bits in ascending order. A warp's collective: all its lanes call it. */
__device__ void gather_add_row(const uint32_t *bits_row, int64_t wm, const float *G_Y,
                               int64_t n, float *g_w, int lane)
{
    for (int64_t c0 = 0; c0 < n; c0 += 32 * COLS_PER_LANE) {
        float acc[COLS_PER_LANE];
#pragma unroll
        for (int t = 0; t < COLS_PER_LANE; t++) {
            int64_t o = c0 + lane + 32 * t;
            acc[t] = o < n ? g_w[o] : 0.0f;
        }
        for (int64_t w0 = 0; w0 < wm; w0 += 32) {
            uint32_t word = w0 + lane < wm ? bits_row[w0 + lane] : 0u;
            uint32_t nonzero = __ballot_sync(0xffffffffu, word != 0u);
            while (nonzero) {
                int l = __ffs(nonzero) - 1;
                nonzero &= nonzero - 1;
                uint32_t bits = __shfl_sync(0xffffffffu, word, l);
                while (bits) {
                    int b = __ffs(bits) - 1;
                    bits &= bits - 1;
                    const float *g = G_Y + ((w0 + l) * 32 + b) * n;
#pragma unroll
                    for (int t = 0; t < COLS_PER_LANE; t++) {
                        int64_t o = c0 + lane + 32 * t;
                        if (o < n)
                            acc[t] += g[o];
                    }
                }
            }
        }
#pragma unroll
        for (int t = 0; t < COLS_PER_LANE; t++) {
            int64_t o = c0 + lane + 32 * t;
            if (o < n)
                g_w[o] = acc[t];
        }
    }
}

/* Warp per row c of G_W [ncols × n]; bmT row c (wm words) lists the rows r of G_Y [nrows × n]
 * to add. A row c without any bit is neither read nor written. */
__global__ void csr_t_gather_kernel(const uint32_t *bmT, int64_t ncols, int64_t wm,
                                    const float *G_Y, int64_t n, float *G_W)
{
    int64_t c = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) / 32;
    int lane = threadIdx.x & 31;
    if (c >= ncols)
        return;
    const uint32_t *bits_row = bmT + c * wm;
    uint32_t any = 0u;
    for (int64_t w0 = 0; w0 < wm; w0 += 32)
        any |= __ballot_sync(0xffffffffu, w0 + lane < wm && bits_row[w0 + lane] != 0u);
    if (any)   /* else X has no one in column c: G_W row c is unchanged */
        gather_add_row(bits_row, wm, G_Y, n, G_W + c * n, lane);
}

void cu_csr_t_matmul_add(kern *k, kern_csr X, const float *G_Y, int64_t n, float *G_W)
{
    cuda_state *st = cu_st(k);
    if (X.ncols <= 0)
        return;
    int64_t wm = (X.nrows + 31) / 32;
    size_t bytes = (size_t)(X.ncols * wm) * sizeof(uint32_t);
    cu_prof_begin(k, CU_PROF_SPARSE);
    uint32_t *bmT = (uint32_t *)cu_scratch_get(k, &st->bitmap, bytes);
    CUDA_CHECK(cudaMemsetAsync(bmT, 0, bytes, st->stream));
    unsigned blocks = (unsigned)((X.nrows + WARPS_PER_BLOCK - 1) / WARPS_PER_BLOCK);
    col_bitmap_kernel<<<blocks, CU_THREADS, 0, st->stream>>>(X.rowptr, X.col, X.nrows, X.ncols,
                                                             wm, bmT);
    CUDA_LAUNCH_CHECK("col_bitmap_kernel");
    blocks = (unsigned)((X.ncols + WARPS_PER_BLOCK - 1) / WARPS_PER_BLOCK);
    csr_t_gather_kernel<<<blocks, CU_THREADS, 0, st->stream>>>(bmT, X.ncols, wm, G_Y, n, G_W);
    CUDA_LAUNCH_CHECK("csr_t_gather_kernel");
    cu_prof_end(k, CU_PROF_SPARSE);
}

/* ---- kern_colset ----------------------------------------------------------------------- */

/* The CUDA kern_colset (impl): the listed columns list[0 .. *count), in the order the build's
 * atomics found them (no result depends on it: every column's sums run over its rows in
 * ascending order), and the column-major bitmap of the window: bit r of bmT row c iff
 * X[r, c] = 1. Outside the listed columns, seen and bmT stay zero; a build first clears
 * what the last one set, so no step touches anything of the other columns. */
typedef struct cu_colset {
    uint32_t *seen;    /* [ceil(ncols / 32)] bit c: column c is listed */
    int32_t *list;     /* [ncols] */
    int32_t *count;    /* [1] */
    uint32_t *bmT;     /* [ncols × wm] */
    int64_t wm;        /* ceil(max_nrows / 32) */
} cu_colset;

enum { COLSET_MAX_BLOCKS = 2048 };   /* kernels over the listed columns grid-stride */

void *cu_colset_create(kern *k, int64_t ncols, int64_t max_nrows)
{
    cu_colset *c = (cu_colset *)xcalloc(1, sizeof(*c));
    int64_t n = ncols > 0 ? ncols : 1;
    c->wm = max_nrows > 0 ? (max_nrows + 31) / 32 : 1;
    c->seen = (uint32_t *)kern_alloc(k, sizeof(uint32_t) * (size_t)((n + 31) / 32));
    c->list = (int32_t *)kern_alloc(k, sizeof(int32_t) * (size_t)n);
    c->count = (int32_t *)kern_alloc(k, sizeof(int32_t));
    c->bmT = (uint32_t *)kern_alloc(k, sizeof(uint32_t) * (size_t)(n * c->wm));
    return c;
}

void cu_colset_free(kern *k, void *impl)
{
    cu_colset *c = (cu_colset *)impl;
    kern_free(k, c->seen);
    kern_free(k, c->list);
    kern_free(k, c->count);
    kern_free(k, c->bmT);
    free(c);
}

/* Thread per listed column: its seen bit and bitmap row back to zero. Zeroing the whole word
 * of seen is right: its set bits are all listed columns. */
__global__ void colset_clear_kernel(cu_colset c)
{
    int32_t n = *c.count;
    for (int64_t s = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; s < n;
         s += (int64_t)gridDim.x * blockDim.x) {
        int64_t col = c.list[s];
        c.seen[col >> 5] = 0u;
        for (int64_t w = 0; w < c.wm; w++)
            c.bmT[col * c.wm + w] = 0u;
    }
}

/* Warp per row r of the window: its bits in bmT, and its columns not seen yet listed. */
__global__ void colset_build_kernel(const int64_t *rowptr, const int32_t *col, int64_t nrows,
                                    int64_t ncols, cu_colset c)
{
    int64_t r = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) / 32;
    int lane = threadIdx.x & 31;
    if (r >= nrows)
        return;
    for (int64_t j = rowptr[r] + lane; j < rowptr[r + 1]; j += 32) {
        int32_t cj = col[j];
        if (cj < 0 || cj >= ncols)
            continue;
        atomicOr(&c.bmT[cj * c.wm + (r >> 5)], 1u << (r & 31));
        uint32_t bit = 1u << (cj & 31);
        if (!(atomicOr(&c.seen[cj >> 5], bit) & bit))
            c.list[atomicAdd(c.count, 1)] = cj;
    }
}

void cu_colset_build(kern *k, kern_colset *cs, kern_csr X)
{
    cuda_state *st = cu_st(k);
    cu_colset *c = (cu_colset *)cs->impl;
    cu_prof_begin(k, CU_PROF_SPARSE);
    unsigned clear_blocks = cu_blocks(cs->ncols, COLSET_MAX_BLOCKS);
    colset_clear_kernel<<<clear_blocks, CU_THREADS, 0, st->stream>>>(*c);
    CUDA_LAUNCH_CHECK("colset_clear_kernel");
    CUDA_CHECK(cudaMemsetAsync(c->count, 0, sizeof(int32_t), st->stream));
    if (X.nrows > 0) {
        unsigned blocks = (unsigned)((X.nrows + WARPS_PER_BLOCK - 1) / WARPS_PER_BLOCK);
        colset_build_kernel<<<blocks, CU_THREADS, 0, st->stream>>>(X.rowptr, X.col, X.nrows,
                                                                   X.ncols, *c);
        CUDA_LAUNCH_CHECK("colset_build_kernel");
    }
    cu_prof_end(k, CU_PROF_SPARSE);
}

/* Element (s, i) of the listed rows: G[list[s], i] = 0. */
__global__ void zero_rows_kernel(float *G, int64_t width, const int32_t *list,
                                 const int32_t *count)
{
    int64_t n = (int64_t)*count * width;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n;
         e += (int64_t)gridDim.x * blockDim.x)
        G[(int64_t)list[e / width] * width + e % width] = 0.0f;
}

void cu_zero_rows_of_cols(kern *k, float *G, int64_t width, const kern_colset *cs)
{
    cu_colset *c = (cu_colset *)cs->impl;
    cu_prof_begin(k, CU_PROF_MEMORY);
    zero_rows_kernel<<<cu_blocks(cs->ncols * width, COLSET_MAX_BLOCKS), CU_THREADS, 0,
                       cu_st(k)->stream>>>(G, width, c->list, c->count);
    CUDA_LAUNCH_CHECK("zero_rows_kernel");
    cu_prof_end(k, CU_PROF_MEMORY);
}

/* Warp per listed column c: G_W row c += its rows of G_Y (bmT row c), ascending. */
__global__ void colset_t_gather_kernel(cu_colset c, const float *G_Y, int64_t n, float *G_W)
{
    int64_t warp = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) / 32;
    int64_t n_warps = (int64_t)gridDim.x * blockDim.x / 32;
    int lane = threadIdx.x & 31;
    int32_t used = *c.count;
    for (int64_t s = warp; s < used; s += n_warps) {
        int64_t col = c.list[s];
        gather_add_row(c.bmT + col * c.wm, c.wm, G_Y, n, G_W + col * n, lane);
    }
}

void cu_colset_t_matmul_add(kern *k, const kern_colset *cs, const float *G_Y, int64_t n,
                            float *G_W)
{
    cu_colset *c = (cu_colset *)cs->impl;
    int64_t blocks = (cs->ncols + WARPS_PER_BLOCK - 1) / WARPS_PER_BLOCK;   /* warp a column */
    if (blocks > (int64_t)COLSET_MAX_BLOCKS)
        blocks = COLSET_MAX_BLOCKS;
    cu_prof_begin(k, CU_PROF_SPARSE);
    colset_t_gather_kernel<<<(unsigned)blocks, CU_THREADS, 0, cu_st(k)->stream>>>(*c, G_Y, n,
                                                                                  G_W);
    CUDA_LAUNCH_CHECK("colset_t_gather_kernel");
    cu_prof_end(k, CU_PROF_SPARSE);
}

/* For cuda_dense.cu's adam_rows: the listed columns of a set and their number. */
void cu_colset_list(const kern_colset *cs, const int32_t **list, const int32_t **count)
{
    const cu_colset *c = (const cu_colset *)cs->impl;
    *list = c->list;
    *count = c->count;
}
