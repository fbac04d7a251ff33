/* kernels/cpu/cpu_lik.c — the fused decoder likelihood: value and gradient of
 * −Σ ℓ(x, sigmoid(z)) over a dense block Z [m × n] whose observations X are a binary CSR.
 *
 * Pass 1 (sparse): the logits at the ones of X are gathered into scratch (one float per
 *                  nonzero), the value correction −ℓ(1) + ℓ(0) is summed and the x = 1
 *                  gradient replaces the gathered logit.
 * Pass 2 (dense):  every entry as if x = 0: value −ℓ(0, x̂) and G_z in place.
 * Pass 3 (sparse): the x = 1 gradients overwrite Z at the ones.
 * With x̂ = sigmoid(z), s = scale, e = 1e-10 and G_z = s · (−∂ℓ/∂x̂) · x̂(1−x̂):
 *   pois  −ℓ(0) = x̂              −ℓ(1) = −log(x̂+e) + x̂
 *   bern  −ℓ(0) = −log(1−x̂+e)    −ℓ(1) = −log(x̂+e)
 *   gaus  −ℓ(0) = x̂²             −ℓ(1) = (1−x̂)²                                        */
#include <math.h>
#include <stdint.h>

#include "kernels/cpu/cpu_internal.h"
#include "kernels/cpu/cpu_math.h"

#define LIK_E 1e-10f

/* Pass 1 for one row: g1[nnz] holds the gathered logits on entry and the x = 1 gradients
 * on return; returns Σ (−ℓ(1) − (−ℓ(0))) over the row's ones. Specialised per likelihood
 * so each loop vectorizes. */
static double row_ones(kern_lik lik, float *g1, int64_t nnz, float scale)
{
    float corr = 0.0f;
    switch (lik) {
    case KERN_LIK_POIS:      /* −ℓ(1) + ℓ(0) = −log(x̂+e);  −∂ℓ/∂x̂ = 1 − 1/(x̂+e) */
#pragma omp simd reduction(+ : corr)
        for (int64_t j = 0; j < nnz; j++) {
            float xh = fast_sigmoidf(g1[j]);
            corr += -fast_logf(xh + LIK_E);
            g1[j] = scale * (1.0f - 1.0f / (xh + LIK_E)) * xh * (1.0f - xh);
        }
        break;
    case KERN_LIK_BERN:      /* −log(x̂+e) + log(1−x̂+e);  −∂ℓ/∂x̂ = −1/(x̂+e) */
#pragma omp simd reduction(+ : corr)
        for (int64_t j = 0; j < nnz; j++) {
            float xh = fast_sigmoidf(g1[j]);
            corr += -fast_logf(xh + LIK_E) + fast_logf(1.0f - xh + LIK_E);
            g1[j] = -scale * xh * (1.0f - xh) / (xh + LIK_E);
        }
        break;
    case KERN_LIK_GAUS:      /* (1−x̂)² − x̂² = 1 − 2x̂;  −∂ℓ/∂x̂ = −2(1−x̂) */
#pragma omp simd reduction(+ : corr)
        for (int64_t j = 0; j < nnz; j++) {
            float xh = fast_sigmoidf(g1[j]);
            corr += 1.0f - 2.0f * xh;
            g1[j] = -scale * 2.0f * (1.0f - xh) * xh * (1.0f - xh);
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
            sum += xh;
            z[c] = scale * xh * (1.0f - xh);
        }
        break;
    case KERN_LIK_BERN:
#pragma omp simd reduction(+ : sum)
        for (int64_t c = 0; c < n; c++) {
            float xh = fast_sigmoidf(z[c]);
            sum += -fast_logf(1.0f - xh + LIK_E);
            z[c] = scale * xh * (1.0f - xh) / (1.0f - xh + LIK_E);
        }
        break;
    case KERN_LIK_GAUS:
#pragma omp simd reduction(+ : sum)
        for (int64_t c = 0; c < n; c++) {
            float xh = fast_sigmoidf(z[c]);
            sum += xh * xh;
            z[c] = scale * 2.0f * xh * xh * (1.0f - xh);
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
