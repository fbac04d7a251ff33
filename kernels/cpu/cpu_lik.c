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

/* Pass 1 for one row: g1[nnz] holds the gathered logits on entry and the x = 1 gradients
 * on return; returns Σ (−ℓ(1) − (−ℓ(0))) over the row's ones. Specialised per likelihood
 * so each loop vectorizes. */
static double row_ones(kern_lik lik, float *g1, int64_t nnz, float scale)
{
    float corr = 0.0f;
    switch (lik) {
    case KERN_LIK_POIS:
#pragma omp simd reduction(+ : corr)
        for (int64_t j = 0; j < nnz; j++) {
            float xh = fast_sigmoidf(g1[j]);
            corr += kf_pois_corr(xh);
            g1[j] = kf_pois_g1(xh, scale);
        }
        break;
    case KERN_LIK_BERN:
#pragma omp simd reduction(+ : corr)
        for (int64_t j = 0; j < nnz; j++) {
            float xh = fast_sigmoidf(g1[j]);
            corr += kf_bern_corr(xh);
            g1[j] = kf_bern_g1(xh, scale);
        }
        break;
    case KERN_LIK_GAUS:
#pragma omp simd reduction(+ : corr)
        for (int64_t j = 0; j < nnz; j++) {
            float xh = fast_sigmoidf(g1[j]);
            corr += kf_gaus_corr(xh);
            g1[j] = kf_gaus_g1(xh, scale);
        }
        break;
    }
    return corr;
}

/* Pass 2 for one row, specialised per likelihood so the loop vectorizes. */
static double row_dense(kern_lik lik, float *z, int64_t n, float scale)
{
    float sum = 0.0f;
    switch (lik) {
    case KERN_LIK_POIS:
#pragma omp simd reduction(+ : sum)
        for (int64_t c = 0; c < n; c++) {
            float xh = fast_sigmoidf(z[c]);
            sum += kf_pois_v0(xh);
            z[c] = kf_pois_g0(xh, scale);
        }
        break;
    case KERN_LIK_BERN:
#pragma omp simd reduction(+ : sum)
        for (int64_t c = 0; c < n; c++) {
            float xh = fast_sigmoidf(z[c]);
            sum += kf_bern_v0(xh);
            z[c] = kf_bern_g0(xh, scale);
        }
        break;
    case KERN_LIK_GAUS:
#pragma omp simd reduction(+ : sum)
        for (int64_t c = 0; c < n; c++) {
            float xh = fast_sigmoidf(z[c]);
            sum += kf_gaus_v0(xh);
            z[c] = kf_gaus_g0(xh, scale);
        }
        break;
    }
    return sum;
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
        double s = row_ones(lik, g, nnz, scale);
        s += row_dense(lik, z, n, scale);
        for (int64_t j = 0; j < nnz; j++)
            z[col[j]] = g[j];
        row_sum[r] = s;
    }
    double total = 0.0;
    for (int64_t r = 0; r < m; r++)
        total += row_sum[r];
    *loss_acc += (float)total;
}
