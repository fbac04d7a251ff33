/* kernels/cuda/cuda_topk.cu — top-K per row with an exclusion list, the CPU's total order:
 * higher score first, equal scores by the lower column, NaN ranked as −inf (its val is the
 * NaN itself), −0 equal to +0; padding idx −1 / val −inf.
 *
 * That order is encoded as one 64-bit key per candidate, larger = better:
 *   high 32 bits: the score as an order-preserving unsigned (NaN → −inf, −0 → +0)
 *   low 32 bits:  0xffffffff − column
 * All keys of a row are distinct, so the top_k best are exactly the keys >= the top_k-th
 * largest key T. One block per row finds T by radix selection (8 passes of 8 bits: a
 * shared-memory histogram of the keys that match the digits chosen so far, warp-aggregated
 * atomics), gathers the keys >= T (at most top_k) into a per-row buffer and sorts them with
 * a bitonic network, best first. Excluded columns come from a row-major bitmap of the
 * exclusion CSR. Rows are processed in chunks so the bitmap and buffers stay bounded.
 * The output is a pure function of the inputs (no order-dependent step). */
#include <math.h>

#include "kernels/cuda/cuda_internal.h"

enum { TOPK_THREADS = 256, TOPK_SKIP = 256 };

__device__ __forceinline__ uint64_t topk_key(float v, int64_t col)
{
    if (isnan(v))
        v = -INFINITY;
    if (v == 0.0f)
        v = 0.0f;                                   /* −0 and +0 tie, as `==` says */
    uint32_t u = __float_as_uint(v);
    u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
    return ((uint64_t)u << 32) | (uint64_t)(0xffffffffu - (uint32_t)col);
}

typedef struct topk_args {
    const float *S;             /* [m × n] */
    int64_t n, words;           /* words of a bitmap row */
    const uint32_t *bm;         /* [chunk rows × words], excluded columns */
    int top_k, p2;              /* p2 = next power of two >= top_k */
    uint64_t *buf;              /* [chunk rows × p2] */
    int64_t row0;               /* first row of the chunk */
    int32_t *idx;               /* [m × top_k] */
    float *val;                 /* [m × top_k] or NULL */
} topk_args;

__device__ __forceinline__ int topk_excluded(const uint32_t *bm_row, int64_t c)
{
    return (bm_row[c >> 5] >> (c & 31)) & 1u;
}

/* One radix pass: hist[d] = number of candidates whose key matches `prefix` on `mask` and
 * has digit d at `shift`. Every lane of a warp runs the same iterations (for
 * __match_any_sync); lanes with nothing to count vote for the TOPK_SKIP bin. */
__device__ void topk_histogram(const float *s, const uint32_t *bm_row, int64_t n, int shift,
                               uint64_t prefix, uint64_t mask, unsigned *hist)
{
    int lane = threadIdx.x & 31;
    for (int64_t c0 = 0; c0 < n; c0 += blockDim.x) {
        int64_t c = c0 + threadIdx.x;
        unsigned bin = TOPK_SKIP;
        if (c < n && !topk_excluded(bm_row, c)) {
            uint64_t key = topk_key(s[c], c);
            if ((key & mask) == prefix)
                bin = (unsigned)(key >> shift) & 0xffu;
        }
        unsigned peers = __match_any_sync(0xffffffffu, bin);
        if (bin != TOPK_SKIP && lane == __ffs(peers) - 1)
            atomicAdd(&hist[bin], (unsigned)__popc(peers));
    }
}

/* Thread 0, after a pass: chooses the digit holding the need-th largest key; on the first
 * pass also detects rows with at most top_k candidates (all are taken). */
__device__ void topk_choose(const unsigned *hist, int shift, int top_k, uint64_t *prefix,
                            uint64_t *mask, unsigned *need, int *take_all)
{
    if (shift == 56) {
        unsigned total = 0;
        for (int d = 0; d < 256; d++)
            total += hist[d];
        if (total <= (unsigned)top_k) {
            *take_all = 1;
            return;
        }
    }
    unsigned cum = 0;
    for (int d = 255; d >= 0; d--) {
        if (cum + hist[d] >= *need) {
            *prefix |= (uint64_t)d << shift;
            *need -= cum;
            break;
        }
        cum += hist[d];
    }
    *mask |= (uint64_t)0xffu << shift;
}

/* The threshold key T of one row (0 when every candidate is taken). */
__device__ uint64_t topk_threshold(const float *s, const uint32_t *bm_row, int64_t n, int top_k)
{
    __shared__ unsigned hist[256];
    __shared__ uint64_t prefix, mask;
    __shared__ unsigned need;
    __shared__ int take_all;
    if (threadIdx.x == 0) {
        prefix = 0;
        mask = 0;
        need = (unsigned)top_k;
        take_all = 0;
    }
    for (int shift = 56; shift >= 0; shift -= 8) {
        for (int i = threadIdx.x; i < 256; i += blockDim.x)
            hist[i] = 0;
        __syncthreads();
        topk_histogram(s, bm_row, n, shift, prefix, mask, hist);
        __syncthreads();
        if (threadIdx.x == 0)
            topk_choose(hist, shift, top_k, &prefix, &mask, &need, &take_all);
        __syncthreads();
        if (take_all)
            return 0;
    }
    return prefix;
}

/* buf[p2]: descending bitonic sort (0 padding sinks to the end). */
__device__ void topk_sort_desc(uint64_t *buf, int p2)
{
    for (int k = 2; k <= p2; k <<= 1)
        for (int j = k >> 1; j > 0; j >>= 1) {
            for (int i = threadIdx.x; i < p2; i += blockDim.x) {
                int ixj = i ^ j;
                if (ixj > i) {
                    uint64_t a = buf[i], b = buf[ixj];
                    int desc = (i & k) == 0;
                    if (desc ? a < b : a > b) {
                        buf[i] = b;
                        buf[ixj] = a;
                    }
                }
            }
            __syncthreads();
        }
}

__global__ void topk_kernel(topk_args a)
{
    __shared__ unsigned count;
    int64_t b = blockIdx.x, r = a.row0 + b;
    const float *s = a.S + r * a.n;
    const uint32_t *bm_row = a.bm + b * a.words;
    uint64_t *buf = a.buf + b * a.p2;
    uint64_t T = topk_threshold(s, bm_row, a.n, a.top_k);
    if (threadIdx.x == 0)
        count = 0;
    __syncthreads();
    for (int64_t c = threadIdx.x; c < a.n; c += blockDim.x) {
        if (topk_excluded(bm_row, c))
            continue;
        uint64_t key = topk_key(s[c], c);
        if (key >= T) {
            unsigned pos = atomicAdd(&count, 1u);
            if (pos < (unsigned)a.p2)
                buf[pos] = key;
        }
    }
    __syncthreads();
    unsigned got = count < (unsigned)a.top_k ? count : (unsigned)a.top_k;
    for (int i = (int)got + threadIdx.x; i < a.p2; i += blockDim.x)
        buf[i] = 0;
    __syncthreads();
    topk_sort_desc(buf, a.p2);
    for (int i = threadIdx.x; i < a.top_k; i += blockDim.x) {
        int64_t o = r * a.top_k + i;
        int32_t col = i < (int)got ? (int32_t)(0xffffffffu - (uint32_t)buf[i]) : -1;
        a.idx[o] = col;
        if (a.val)
            a.val[o] = col >= 0 ? s[col] : -INFINITY;
    }
}

enum { TOPK_BITMAP_WORDS = 1 << 24, TOPK_BUF_KEYS = 1 << 23 };   /* 64 MiB each, per chunk */

void cu_topk_excluding(kern *k, const float *S, int64_t m, int64_t n, kern_csr exclude,
                       int top_k, int32_t *idx, float *val)
{
    if (n > INT32_MAX)
        FAIL_RUNTIME("topk_excluding: %lld columns exceed the int32 column ids", (long long)n);
    if (exclude.nrows != m)
        FAIL_RUNTIME("topk_excluding: exclude has %lld rows, scores have %lld",
                     (long long)exclude.nrows, (long long)m);
    if (top_k > (1 << 30))
        FAIL_RUNTIME("topk_excluding: top_k %d is too large", top_k);
    cuda_state *st = cu_st(k);
    int p2 = 1;
    while (p2 < top_k)
        p2 <<= 1;
    int64_t words = (n + 31) / 32 > 0 ? (n + 31) / 32 : 1;
    int64_t R = m, cap_bm = TOPK_BITMAP_WORDS / words, cap_buf = TOPK_BUF_KEYS / p2;
    R = R < cap_bm ? R : cap_bm;
    R = R < cap_buf ? R : cap_buf;
    R = R < INT32_MAX ? R : INT32_MAX;
    R = R > 0 ? R : 1;
    cu_prof_begin(k, CU_PROF_TOPK);
    for (int64_t r0 = 0; r0 < m; r0 += R) {
        int64_t rows = m - r0 < R ? m - r0 : R;
        topk_args a = {S, n, words, NULL, top_k, p2, NULL, r0, idx, val};
        size_t buf_bytes = (size_t)(rows * p2) * sizeof(uint64_t);
        a.buf = (uint64_t *)cu_scratch_get(k, &st->topk_buf, buf_bytes);
        a.bm = cu_row_bitmap(k, exclude, r0, rows, words);
        topk_kernel<<<(unsigned)rows, TOPK_THREADS, 0, st->stream>>>(a);
        CUDA_LAUNCH_CHECK("topk_kernel");
    }
    cu_prof_end(k, CU_PROF_TOPK);
}
