/* kernels/cuda/cuda_lik.cu — the fused decoder likelihood (value and gradient of
 * −Σ ℓ(x, sigmoid(z)) over Z [m × n], X binary CSR), as kernels/cpu/cpu_lik.c:
 *
 *   loss = Σ_{all entries} −ℓ(0, x̂)  +  Σ_{ones of X} (−ℓ(1, x̂) + ℓ(0, x̂))
 *   G_z  = g1(z) at the ones, g0(z) elsewhere (the CPU's pass 3 overwrites the ones)
 *
 * with the terms of kernels/kern_formulas.h. The ones are found through a row-major
 * membership bitmap of X (m · ceil(n/32) words, 1/32 of Z's size), so one pass over Z does
 * the dense part and the correction; X is never densified and no host read of the CSR is
 * needed. The loss is summed in double: per thread, per block (fixed-order tree), then the
 * block partials in index order by one block — deterministic for a given shape. */
#include <math.h>

#include "kernels/cuda/cuda_internal.h"
#include "kernels/cuda/cuda_math.h"

enum { LIK_COLS_PER_THREAD = 4 };   /* a block covers CU_THREADS · 4 columns of one row */

typedef struct lik_term {
    float v0;     /* −ℓ(0, x̂): counted at every entry */
    float corr;   /* −ℓ(1, x̂) + ℓ(0, x̂): counted at the ones only */
    float g0, g1; /* G_z if x = 0 / x = 1 */
} lik_term;

/* The four terms of logit z (kernels/kern_formulas.h). */
__device__ __forceinline__ lik_term lik_eval(kern_lik lik, float z, float scale)
{
    lik_term t;
    float xh = cu_sigmoidf(z);
    switch (lik) {
    case KERN_LIK_POIS:
        t.v0 = kf_pois_v0(xh);
        t.g0 = kf_pois_g0(xh, scale);
        t.corr = kf_pois_corr(xh);
        t.g1 = kf_pois_g1(xh, scale);
        break;
    case KERN_LIK_BERN:
        t.v0 = kf_bern_v0(xh);
        t.g0 = kf_bern_g0(xh, scale);
        t.corr = kf_bern_corr(xh);
        t.g1 = kf_bern_g1(xh, scale);
        break;
    default:   /* KERN_LIK_GAUS */
        t.v0 = kf_gaus_v0(xh);
        t.g0 = kf_gaus_g0(xh, scale);
        t.corr = kf_gaus_corr(xh);
        t.g1 = kf_gaus_g1(xh, scale);
        break;
    }
    return t;
}

/* grid.x: column chunks of CU_THREADS · LIK_COLS_PER_THREAD; grid.y: rows, striding by
 * gridDim.y. Block (x, y) writes its double sum to partials[y · gridDim.x + x]. */
__global__ void lik_kernel(kern_lik lik, float *Z, int64_t m, int64_t n, const uint32_t *bm,
                           int64_t words, float scale, double *partials)
{
    double sum = 0.0;
    int64_t cbase = (int64_t)blockIdx.x * blockDim.x * LIK_COLS_PER_THREAD + threadIdx.x;
    for (int64_t r = blockIdx.y; r < m; r += gridDim.y) {
        float *z_row = Z + r * n;
        const uint32_t *bm_row = bm + r * words;
#pragma unroll
        for (int t = 0; t < LIK_COLS_PER_THREAD; t++) {
            int64_t c = cbase + (int64_t)t * blockDim.x;
            if (c >= n)
                break;
            int one = (bm_row[c >> 5] >> (c & 31)) & 1u;
            lik_term v = lik_eval(lik, z_row[c], scale);
            sum += (double)v.v0;
            if (one)
                sum += (double)v.corr;
            z_row[c] = one ? v.g1 : v.g0;
        }
    }
    sum = cu_block_sum(sum);
    if (threadIdx.x == 0)
        partials[(int64_t)blockIdx.y * gridDim.x + blockIdx.x] = sum;
}

void cu_sigmoid_lik_loss_grad(kern *k, kern_lik lik, float *Z, kern_csr X, float scale,
                              float *loss_acc)
{
    if (lik != KERN_LIK_POIS && lik != KERN_LIK_BERN && lik != KERN_LIK_GAUS)
        FAIL_RUNTIME("sigmoid_lik_loss_grad: unknown likelihood %d", (int)lik);
    cuda_state *st = cu_st(k);
    int64_t m = X.nrows, n = X.ncols, words = (n + 31) / 32;
    int64_t per_block = (int64_t)CU_THREADS * LIK_COLS_PER_THREAD;
    int64_t gx = (n + per_block - 1) / per_block, gy = m < 65535 ? m : 65535;
    if (gx > INT32_MAX)
        FAIL_RUNTIME("sigmoid_lik_loss_grad: %lld columns are too many", (long long)n);
    cu_prof_begin(k, CU_PROF_LIK);
    const uint32_t *bm = cu_row_bitmap(k, X, 0, m, words);
    size_t partial_bytes = (size_t)(gx * gy) * sizeof(double);
    double *partials = (double *)cu_scratch_get(k, &st->partials, partial_bytes);
    dim3 grid((unsigned)gx, (unsigned)gy);
    lik_kernel<<<grid, CU_THREADS, 0, st->stream>>>(lik, Z, m, n, bm, words, scale, partials);
    CUDA_LAUNCH_CHECK("lik_kernel");
    cu_finish_loss(k, partials, gx * gy, 1.0, loss_acc);
    cu_prof_end(k, CU_PROF_LIK);
}
