/* kernels/cpu/cpu_lik.c — the fused decoder likelihood: value and gradient of
 * −Σ ℓ(x, sigmoid(z)) over a dense block Z [m × n] whose observations X are a binary CSR.
 *
 * Pass 1 (sparse): the logits at the ones of X are gathered into scratch (one float per
 *                  nonzero), the value correction −ℓ(1) + ℓ(0) is summed and the x = 1
 *                  gradient replaces the gathered logit.
 * Pass 2 (dense):  every entry as if x = 0: value −ℓ(0, x̂) and G_z in place.
 * Pass 3 (sparse): the x = 1 gradients overwrite Z at the ones.
 * The terms of one entry, as functions of x̂ = sigmoid(z): kernels/kern_formulas.h. */
#include <math.h>
#include <stdint.h>

#include "kernels/cpu/cpu_internal.h"
#include "kernels/cpu/cpu_math.h"

/* The sums over a row are taken in fixed lanes (cpu_internal.h CPU_LANES). A block
 * function below handles CPU_LANES consecutive entries; the last, partial block runs on a
 * zero-padded copy. */
#define LIK_ROW(block, p, n, scale, acc)                                                   \
    do {                                                                                  \
        int64_t c0_ = 0;                                                                  \
        for (; c0_ + CPU_LANES <= (n); c0_ += CPU_LANES)                                  \
            block((p) + c0_, (scale), (acc));                                             \
        if (c0_ < (n))                                                                    \
            lik_tail(block, (p) + c0_, (n) - c0_, (scale), (acc));                        \
    } while (0)

typedef void (*lik_block_fn)(float *restrict v, float scale, float *restrict acc);

static inline void lik_tail(lik_block_fn block, float *v, int64_t len, float scale,
                            float *acc)
{
    float buf[CPU_LANES] = {0}, part[CPU_LANES] = {0};
    for (int64_t l = 0; l < len; l++)
        buf[l] = v[l];
    block(buf, scale, part);
    for (int64_t l = 0; l < len; l++) {
        acc[l] += part[l];
        v[l] = buf[l];
    }
}

/* One block function per likelihood and pass, each its own loop so each vectorizes:
 * x̂ = sigmoid(v); acc += VALUE(x̂); v = GRAD(x̂, scale).
 * Pass 1 (the ones): v holds gathered logits and gets the x = 1 gradients; the value is
 * −ℓ(1) − (−ℓ(0)). Pass 2 (every entry): v holds logits and gets G_z as if x = 0; the value
 * is −ℓ(0). */
#define LIK_BLOCK(name, value, grad)                                                      \
    static inline void name(float *restrict v, float scale, float *restrict acc)          \
    {                                                                                     \
        _Pragma("omp simd")                                                               \
        for (int l = 0; l < CPU_LANES; l++) {                                             \
            float xh = fast_sigmoidf(v[l]);                                               \
            acc[l] += value(xh);                                                          \
            v[l] = grad(xh, scale);                                                       \
        }                                                                                 \
    }

LIK_BLOCK(pois_ones, kf_pois_corr, kf_pois_g1)
LIK_BLOCK(bern_ones, kf_bern_corr, kf_bern_g1)
LIK_BLOCK(gaus_ones, kf_gaus_corr, kf_gaus_g1)
LIK_BLOCK(pois_zeros, kf_pois_v0, kf_pois_g0)
LIK_BLOCK(bern_zeros, kf_bern_v0, kf_bern_g0)
LIK_BLOCK(gaus_zeros, kf_gaus_v0, kf_gaus_g0)

/* Passes 1 and 2 of one row: g1[nnz] the gathered logits at its ones, z[n] its logits.
 * Returns the row's value. One loop per likelihood (the switch outside) so each vectorizes. */
static double row_value_grad(kern_lik lik, float *g1, int64_t nnz, float *z, int64_t n,
                             float scale)
{
    float ones[CPU_LANES] = {0}, zeros[CPU_LANES] = {0};
    switch (lik) {
    case KERN_LIK_POIS:
        LIK_ROW(pois_ones, g1, nnz, scale, ones);
        LIK_ROW(pois_zeros, z, n, scale, zeros);
        break;
    case KERN_LIK_BERN:
        LIK_ROW(bern_ones, g1, nnz, scale, ones);
        LIK_ROW(bern_zeros, z, n, scale, zeros);
        break;
    case KERN_LIK_GAUS:
        LIK_ROW(gaus_ones, g1, nnz, scale, ones);
        LIK_ROW(gaus_zeros, z, n, scale, zeros);
        break;
    }
    return (double)cpu_lanes_total(ones) + cpu_lanes_total(zeros);
}

void cpu_sigmoid_lik_loss_grad(kern *k, kern_lik lik, float *Z, kern_csr X, float scale,
                               float *loss_acc)
{
    int64_t m = X.nrows, n = X.ncols, base = X.rowptr[0];
    float *g1 = cpu_scratch(k, (size_t)(X.rowptr[m] - base));
    double *row_sum = cpu_row_sums(k, (size_t)m);
#pragma omp parallel for num_threads(cpu_st(k)->threads) schedule(static)
    for (int64_t r = 0; r < m; r++) {
        float *z = Z + r * n, *g = g1 + (X.rowptr[r] - base);
        const int32_t *col = X.col + X.rowptr[r];
        int64_t nnz = X.rowptr[r + 1] - X.rowptr[r];
        for (int64_t j = 0; j < nnz; j++)
            g[j] = z[col[j]];
        double s = row_value_grad(lik, g, nnz, z, n, scale);
        for (int64_t j = 0; j < nnz; j++)
            z[col[j]] = g[j];
        row_sum[r] = s;
    }
    double total = 0.0;
    for (int64_t r = 0; r < m; r++)
        total += row_sum[r];
    *loss_acc += (float)total;
}
