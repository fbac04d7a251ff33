/* kernels/cpu/cpu_kernels.c — the CPU backend (reference): memory, dense and sparse
 * products, element-wise ops, the Gaussian latent layer and Adam. OpenBLAS for GEMM,
 * OpenMP over rows elsewhere; every reduction is done in a fixed order so results do not
 * depend on the thread count. */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "kernels/cpu/cpu_internal.h"
#include "kernels/cpu/cpu_math.h"

/* ---- lifetime and memory ---------------------------------------------------------- */

/* A grow-only buffer of at least `bytes` (its contents are not kept when it grows). */
static void *grow(void **buf, size_t *cap, size_t bytes)
{
    if (*cap < bytes) {
        free(*buf);
        *buf = xmalloc(bytes);
        *cap = bytes;
    }
    return *buf;
}

float *cpu_scratch(kern *k, size_t n)
{
    cpu_state *st = cpu_st(k);
    return grow((void **)&st->scratch, &st->scratch_len, n * sizeof(float));
}

double *cpu_row_sums(kern *k, size_t n)
{
    cpu_state *st = cpu_st(k);
    return grow((void **)&st->row_sums, &st->row_sums_len, n * sizeof(double));
}

cpu_csc_buffers *cpu_csc_scratch(kern *k, int64_t nrows, int64_t ncols, int64_t nnz)
{
    cpu_csc_buffers *b = &cpu_st(k)->csc;
    size_t n = (size_t)(nnz > 0 ? nnz : 1);
    b->key_nrows = -1;   /* the view is being remade */
    grow((void **)&b->start, &b->start_len, sizeof(int64_t) * (size_t)(ncols + 1));
    grow((void **)&b->cols, &b->cols_len, sizeof(int32_t) * n);
    grow((void **)&b->ptr, &b->ptr_len, sizeof(int64_t) * (n + 1));
    grow((void **)&b->rows, &b->rows_len, sizeof(int32_t) * n);
    grow((void **)&b->key_rowptr, &b->key_rowptr_len, sizeof(int64_t) * (size_t)(nrows + 1));
    grow((void **)&b->key_col, &b->key_col_len, sizeof(int32_t) * n);
    return b;
}

static void cpu_destroy(kern *k)
{
    cpu_state *st = cpu_st(k);
    free(st->csc.start);
    free(st->csc.cols);
    free(st->csc.ptr);
    free(st->csc.rows);
    free(st->csc.key_rowptr);
    free(st->csc.key_col);
    free(st->scratch);
    free(st->row_sums);
    free(st);
    free(k);
}

static void *cpu_alloc(kern *k, size_t bytes)
{
    void *p = NULL;
    size_t rounded = (bytes + 63) / 64 * 64;
    if (posix_memalign(&p, 64, rounded ? rounded : 64) != 0)
        FAIL_RUNTIME("out of host memory allocating %zu bytes", bytes);
    memset(p, 0, rounded);
    return p;
}

static void cpu_free(kern *k, void *p) { free(p); }
static void cpu_zero(kern *k, void *p, size_t bytes) { memset(p, 0, bytes); }
static void cpu_copy(kern *k, void *dst, const void *src, size_t bytes)
{
    memmove(dst, src, bytes);
}
static void cpu_sync(kern *k) {}

/* ---- dense ---------------------------------------------------------------------- */

static int blas_int(int64_t v, const char *what)
{
    if (v < 0 || v > INT_MAX)
        FAIL_RUNTIME("cblas_sgemm: %s = %lld does not fit BLAS's int", what, (long long)v);
    return (int)v;
}

static void cpu_gemm(kern *k, kern_trans ta, kern_trans tb, int64_t M, int64_t N, int64_t K,
                     float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                     float beta, float *C, int64_t ldc)
{
    cblas_sgemm(CblasRowMajor, ta == KERN_TRANS ? CblasTrans : CblasNoTrans,
                tb == KERN_TRANS ? CblasTrans : CblasNoTrans, blas_int(M, "M"),
                blas_int(N, "N"), blas_int(K, "K"), alpha, A, blas_int(lda, "lda"), B,
                blas_int(ldb, "ldb"), beta, C, blas_int(ldc, "ldc"));
}

static void cpu_add_bias(kern *k, float *Y, const float *b, int64_t m, int64_t n)
{
    for (int64_t r = 0; r < m; r++) {
        float *y = Y + r * n;
        for (int64_t c = 0; c < n; c++)
            y[c] += b[c];
    }
}

static void cpu_scale(kern *k, float *x, int64_t n, float alpha)
{
    for (int64_t i = 0; i < n; i++)
        x[i] *= alpha;
}

static void cpu_fill(kern *k, float *x, int64_t n, float value)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = value;
}

static void cpu_copy_rows(kern *k, float *dst, int64_t dst_stride, const float *src,
                          int64_t src_stride, int64_t rows, int64_t width)
{
    (void)k;
    for (int64_t i = 0; i < rows; i++)
        memcpy(dst + i * dst_stride, src + i * src_stride, sizeof(float) * (size_t)width);
}

static void cpu_rows_cyclic_from_blocked(kern *k, float *dst, const float *src, int64_t n_rows,
                                         int64_t width, int P)
{
    int64_t first = 0;
    for (int r = 0; r < P; r++) {
        int64_t n_r = n_rows > r ? (n_rows - r + P - 1) / P : 0;
        for (int64_t l = 0; l < n_r; l++)
            memcpy(dst + (l * P + r) * width, src + (first + l) * width,
                   (size_t)width * sizeof(float));
        first += n_r;
    }
}

static void cpu_colsum_add(kern *k, const float *G, int64_t m, int64_t n, float *g)
{
    double *acc = cpu_row_sums(k, (size_t)n);
    for (int64_t c = 0; c < n; c++)
        acc[c] = 0.0;
    for (int64_t r = 0; r < m; r++)
        for (int64_t c = 0; c < n; c++)
            acc[c] += G[r * n + c];
    for (int64_t c = 0; c < n; c++)
        g[c] += (float)acc[c];
}

/* ---- activations ----------------------------------------------------------------- */
/* One loop per activation (the switch outside) so each vectorizes. */

static void cpu_act_forward(kern *k, kern_act f, const float *a, float *h, int64_t n)
{
    switch (f) {
    case KERN_ACT_SIGMOID:
#pragma omp simd
        for (int64_t i = 0; i < n; i++)
            h[i] = kf_sigmoid(a[i]);
        break;
    case KERN_ACT_TANH:
#pragma omp simd
        for (int64_t i = 0; i < n; i++)
            h[i] = kf_tanh(a[i]);
        break;
    case KERN_ACT_ELU:
#pragma omp simd
        for (int64_t i = 0; i < n; i++)
            h[i] = kf_elu(a[i]);
        break;
    case KERN_ACT_RELU:
#pragma omp simd
        for (int64_t i = 0; i < n; i++)
            h[i] = kf_relu(a[i]);
        break;
    case KERN_ACT_RELU6:
#pragma omp simd
        for (int64_t i = 0; i < n; i++)
            h[i] = kf_relu6(a[i]);
        break;
    }
}

/* G ⊙= f'(a) */
static void cpu_act_backward(kern *k, kern_act f, const float *a, const float *h, float *G,
                             int64_t n)
{
    switch (f) {
    case KERN_ACT_SIGMOID:
#pragma omp simd
        for (int64_t i = 0; i < n; i++)
            G[i] = kf_sigmoid_grad(G[i], h[i]);
        break;
    case KERN_ACT_TANH:
#pragma omp simd
        for (int64_t i = 0; i < n; i++)
            G[i] = kf_tanh_grad(G[i], h[i]);
        break;
    case KERN_ACT_ELU:
#pragma omp simd
        for (int64_t i = 0; i < n; i++)
            G[i] = kf_elu_grad(G[i], a[i], h[i]);
        break;
    case KERN_ACT_RELU:
#pragma omp simd
        for (int64_t i = 0; i < n; i++)
            G[i] = kf_relu_grad(G[i], a[i]);
        break;
    case KERN_ACT_RELU6:
#pragma omp simd
        for (int64_t i = 0; i < n; i++)
            G[i] = kf_relu6_grad(G[i], a[i]);
        break;
    }
}

/* ---- Gaussian latent layer ------------------------------------------------------------- */

static void cpu_gaussian_sample(kern *k, const float *pre, const float *eps, int64_t m,
                                int64_t K, float *mu, float *sigma, float *z)
{
    for (int64_t r = 0; r < m; r++) {
        const float *p = pre + r * 2 * K;
        float *mu_r = mu + r * K, *sd_r = sigma + r * K;
#pragma omp simd
        for (int64_t c = 0; c < K; c++) {
            mu_r[c] = p[c];
            sd_r[c] = kf_gauss_sigma(p[K + c]);
        }
        if (!z)
            continue;
        const float *e_r = eps + r * K;
        float *z_r = z + r * K;
#pragma omp simd
        for (int64_t c = 0; c < K; c++)
            z_r[c] = kf_gauss_sample(mu_r[c], sd_r[c], e_r[c]);
    }
}

/* Σ of the KL terms of n coordinates in fixed lanes (cpu_internal.h CPU_LANES); the last
 * partial block padded with d = 0, σ = 1, whose term is exactly 0. prior may be NULL (0). */
static inline void kl_block(const float *restrict mu, const float *restrict sigma,
                            float *restrict acc)
{
#pragma omp simd
    for (int l = 0; l < CPU_LANES; l++)
        acc[l] += kf_gauss_kl(mu[l], sigma[l]);
}

static inline void kl_block_prior(const float *restrict mu, const float *restrict prior,
                                  const float *restrict sigma, float *restrict acc)
{
#pragma omp simd
    for (int l = 0; l < CPU_LANES; l++)
        acc[l] += kf_gauss_kl(mu[l] - prior[l], sigma[l]);
}

static double kl_sum(const float *mu, const float *prior, const float *sigma, int64_t n)
{
    float acc[CPU_LANES] = {0};
    int64_t c0 = 0;
    for (; c0 + CPU_LANES <= n; c0 += CPU_LANES)   /* one loop each way: both vectorize */
        if (prior)
            kl_block_prior(mu + c0, prior + c0, sigma + c0, acc);
        else
            kl_block(mu + c0, sigma + c0, acc);
    if (c0 < n) {
        float m[CPU_LANES] = {0}, s[CPU_LANES];
        for (int64_t l = 0; l < CPU_LANES; l++) {
            m[l] = c0 + l < n ? mu[c0 + l] - (prior ? prior[c0 + l] : 0.0f) : 0.0f;
            s[l] = c0 + l < n ? sigma[c0 + l] : 1.0f;
        }
        kl_block(m, s, acc);
    }
    return cpu_lanes_total(acc);
}

static void cpu_gaussian_kl_backward(kern *k, const float *mu, const float *sigma,
                                     const float *eps, const float *prior, const float *G_z,
                                     int64_t m, int64_t K, float lambda, float scale,
                                     float *G_pre, float *G_prior, float *loss_acc)
{
    float ls = lambda * scale;
    for (int64_t r = 0; r < m; r++) {
        const float *mu_r = mu + r * K, *sd_r = sigma + r * K, *e_r = eps + r * K;
        const float *G_r = G_z + r * K, *p_r = prior ? prior + r * K : NULL;
        float *G_mu = G_pre + r * 2 * K, *G_sd = G_mu + K;
#pragma omp simd
        for (int64_t c = 0; c < K; c++) {
            float d = mu_r[c] - (p_r ? p_r[c] : 0.0f);
            G_mu[c] = kf_gauss_grad_mu(G_r[c], d, ls);
            G_sd[c] = kf_gauss_grad_pre_sigma(G_r[c], e_r[c], sd_r[c], ls);
        }
        if (G_prior)
#pragma omp simd
            for (int64_t c = 0; c < K; c++)
                G_prior[r * K + c] = kf_gauss_grad_prior(mu_r[c] - (p_r ? p_r[c] : 0.0f), ls);
    }
    *loss_acc += (float)(lambda * kl_sum(mu, prior, sigma, m * K));
}

/* ---- optimizer and reductions ------------------------------------------------------- */

static void cpu_find_nonfinite(kern *k, const float *x, int64_t n, int32_t *flag, int32_t tag)
{
    int bad = 0;
#pragma omp simd reduction(| : bad)
    for (int64_t i = 0; i < n; i++)
        bad |= !isfinite(x[i]);
    if (bad && *flag < 0)
        *flag = tag;
}

static void cpu_adam(kern *k, float *p, const float *g, float *m, float *v, int64_t n,
                     double lr, double beta1, double beta2, double eps_d, int64_t t,
                     int32_t *nonfinite_flag, int32_t tag)
{
    int bad = 0;
    float here[2];
    kern_adam_constants(lr, beta1, beta2, t, here);
    float step = here[0], inv_bc2_sqrt = here[1];
    kf_adam_hyper h = kf_adam_hyper_of(beta1, beta2, eps_d);
#pragma omp parallel for simd num_threads(cpu_st(k)->threads) schedule(static) reduction(| : bad)
    for (int64_t i = 0; i < n; i++) {
        bad |= !isfinite(g[i]);
        kf_adam_step(&p[i], &m[i], &v[i], g[i], step, inv_bc2_sqrt, h);
    }
    if (nonfinite_flag && bad && *nonfinite_flag < 0)
        *nonfinite_flag = tag;
}

/* One Adam step of a row [width] with constants c = {step, 1/sqrt(1−β2^t)}; g NULL: a zero
 * gradient (the same arithmetic with g = +0). Returns 1 when g has a non-finite value. */
static int adam_row_step(float *p, const float *g, float *m, float *v, int64_t width,
                         const float c[2], kf_adam_hyper h)
{
    int bad = 0;
    const float step = c[0], inv_bc2_sqrt = c[1], zero = 0.0f;
#pragma omp simd reduction(| : bad)
    for (int64_t i = 0; i < width; i++) {
        float gi = g ? g[i] : zero;
        bad |= !isfinite(gi);
        kf_adam_step(&p[i], &m[i], &v[i], gi, step, inv_bc2_sqrt, h);
    }
    return bad;
}

/* Row j's steps last[j] + 1 .. t (step t with its gradient when with_grad), then
 * last[j] = t. Returns 1 when a gradient value read was not finite. */
static int adam_row_catch_up(float *p, const float *g, float *m, float *v, int64_t width,
                             int64_t j, int64_t *last, const float *tab, int64_t t0,
                             int64_t t, int with_grad, const float here[2], kf_adam_hyper h)
{
    int bad = 0;
    int64_t o = j * width;
    for (int64_t tau = last[j] + 1; tau <= t; tau++) {
        int real = with_grad && tau == t;
        const float *c = real ? here : tab + 2 * (tau - t0 - 1);
        bad |= adam_row_step(p + o, real ? g + o : NULL, m + o, v + o, width, c, h);
    }
    last[j] = t;
    return bad;
}

/* the rows of sel (every row when NULL), and only those */
static void cpu_adam_rows(kern *k, float *p, const float *g, float *m, float *v, int64_t n_rows,
                          int64_t width, const kern_colset *sel, int64_t *last, float *tab,
                          int64_t t0, int64_t t, int with_grad, const float here[2],
                          double beta1, double beta2, double eps_d, int32_t *nonfinite_flag,
                          int32_t tag)
{
    if (with_grad)
        memcpy(tab + 2 * (t - t0 - 1), here, 2 * sizeof(float));
    const cpu_colset *c = sel ? (const cpu_colset *)sel->impl : NULL;
    int64_t n = c ? (sel->nrows > 0 ? c->n_used : 0) : n_rows;
    kf_adam_hyper h = kf_adam_hyper_of(beta1, beta2, eps_d);
    int bad = 0;
#pragma omp parallel for num_threads(cpu_st(k)->threads) schedule(dynamic, 64) reduction(| : bad)
    for (int64_t u = 0; u < n; u++)
        bad |= adam_row_catch_up(p, g, m, v, width, c ? c->cols[u] : u, last, tab, t0, t,
                                 with_grad, here, h);
    if (nonfinite_flag && bad && *nonfinite_flag < 0)
        *nonfinite_flag = tag;
}

static void cpu_accumulate(kern *k, double *acc, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        acc[i] += x[i];
}

/* ---- the table -------------------------------------------------------------------- */

const kern_ops cpu_ops_table = {
    .name = "cpu",
    .device = KERN_DEVICE_CPU,
    .destroy = cpu_destroy,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .zero = cpu_zero,
    .copy = cpu_copy,
    .upload = cpu_copy,
    .download = cpu_copy,
    .sync = cpu_sync,
    .gemm = cpu_gemm,
    .add_bias = cpu_add_bias,
    .scale = cpu_scale,
    .fill = cpu_fill,
    .rows_cyclic_from_blocked = cpu_rows_cyclic_from_blocked,
    .copy_rows = cpu_copy_rows,
    .colsum_add = cpu_colsum_add,
    .csr_matmul_bias = cpu_csr_matmul_bias,
    .csr_t_matmul_add = cpu_csr_t_matmul_add,
    .colset_create = cpu_colset_create,
    .colset_free = cpu_colset_free,
    .colset_build = cpu_colset_build,
    .zero_rows_of_cols = cpu_zero_rows_of_cols,
    .colset_t_matmul_add = cpu_colset_t_matmul_add,
    .act_forward = cpu_act_forward,
    .act_backward = cpu_act_backward,
    .gaussian_sample = cpu_gaussian_sample,
    .gaussian_kl_backward = cpu_gaussian_kl_backward,
    .sigmoid_lik_loss_grad = cpu_sigmoid_lik_loss_grad,
    .philox_normal = cpu_philox_normal,
    .philox_uniform = cpu_philox_uniform,
    .adam = cpu_adam,
    .adam_rows = cpu_adam_rows,
    .find_nonfinite = cpu_find_nonfinite,
    .accumulate = cpu_accumulate,
    .topk_excluding = cpu_topk_excluding,
};
