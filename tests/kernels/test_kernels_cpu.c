/* tests/kernels/test_kernels_cpu.c — every CPU kernel against a naive double-precision
 * reference, finite-difference checks of every op with a gradient, the Philox known-answer
 * vectors, Adam against hand-computed steps, and independence from the thread count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "kernels/kernels.h"
#include "kernels/philox_util.h"
#include "test_util.h"

static kern *k1, *k2;   /* 1 and 2 threads */

static int setup(void **state)
{
    k1 = kern_cpu_create(1);
    k2 = kern_cpu_create(2);
    return 0;
}

static int teardown(void **state)
{
    kern_destroy(k1);
    kern_destroy(k2);
    return 0;
}

/* ---- GEMM ------------------------------------------------------------------------- */

static void naive_gemm(int ta, int tb, int M, int N, int K, double alpha, const float *A,
                       int lda, const float *B, int ldb, double beta, const float *C0, int ldc,
                       double *C)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int p = 0; p < K; p++)
                s += (double)(ta ? A[p * lda + i] : A[i * lda + p]) *
                     (double)(tb ? B[j * ldb + p] : B[p * ldb + j]);
            C[i * N + j] = alpha * s + beta * C0[i * ldc + j];
        }
}

static void test_gemm_all_transpositions(void **state)
{
    trng r = {1};
    int M = 7, N = 5, K = 11;
    float A[11 * 11], B[11 * 11], C[7 * 5], C0[7 * 5];
    double want[7 * 5];
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            int lda = ta ? M : K, ldb = tb ? K : N;
            fill_unif(&r, A, 121, -1, 1);
            fill_unif(&r, B, 121, -1, 1);
            fill_unif(&r, C0, 35, -1, 1);
            memcpy(C, C0, sizeof(C));
            kern_gemm(k1, ta, tb, M, N, K, 0.7f, A, lda, B, ldb, 0.3f, C, N);
            naive_gemm(ta, tb, M, N, K, 0.7, A, lda, B, ldb, 0.3, C0, N, want);
            assert_true(close_arrays("gemm", C, want, M * N, 1e-5, 1e-5));
        }
}

/* ---- small dense ops --------------------------------------------------------------- */

static void test_bias_colsum_scale_accumulate(void **state)
{
    trng r = {2};
    float Y[6 * 4], Y0[6 * 4], b[4], g[4] = {1, 2, 3, 4};
    double want[24], wg[4];
    fill_unif(&r, Y0, 24, -1, 1);
    fill_unif(&r, b, 4, -1, 1);
    memcpy(Y, Y0, sizeof(Y));
    kern_add_bias(k1, Y, b, 6, 4);
    for (int i = 0; i < 24; i++)
        want[i] = (double)Y0[i] + b[i % 4];
    assert_true(close_arrays("add_bias", Y, want, 24, 1e-7, 1e-7));
    kern_colsum_add(k1, Y0, 6, 4, g);
    for (int c = 0; c < 4; c++) {
        wg[c] = c + 1;
        for (int i = 0; i < 6; i++)
            wg[c] += Y0[i * 4 + c];
    }
    assert_true(close_arrays("colsum_add", g, wg, 4, 1e-6, 1e-6));
    kern_scale(k1, Y, 24, -2.0f);
    for (int i = 0; i < 24; i++)
        want[i] *= -2.0;
    assert_true(close_arrays("scale", Y, want, 24, 1e-6, 1e-7));
    kern_fill(k1, Y + 3, 5, 0.25f);
    for (int i = 3; i < 8; i++)
        want[i] = 0.25;
    assert_true(close_arrays("fill", Y, want, 24, 0, 0));
    double acc[3] = {1.0, 2.0, 3.0};
    float x[3] = {0.5f, -1.5f, 2.25f};
    kern_accumulate(k1, acc, x, 3);
    assert_true(acc[0] == 1.5 && acc[1] == 0.5 && acc[2] == 5.25);
}

static void test_rows_cyclic_from_blocked(void **state)
{
    for (int P = 1; P <= 4; P++)
        for (int64_t n = 0; n <= 9; n++) {
            float src[9 * 2], dst[9 * 2];
            int64_t row = 0;
            for (int rk = 0; rk < P; rk++)        /* blocked: rank rk's rows g = l·P + rk */
                for (int64_t g = rk; g < n; g += P, row++) {
                    src[row * 2] = (float)g;
                    src[row * 2 + 1] = (float)(100 + g);
                }
            kern_rows_cyclic_from_blocked(k1, dst, src, n, 2, P);
            for (int64_t g = 0; g < n; g++) {
                assert_true(dst[g * 2] == (float)g);
                assert_true(dst[g * 2 + 1] == (float)(100 + g));
            }
        }
}

/* every P-th row out of a batch, and back into a zeroed batch: the first layer's exchange */
static void test_copy_rows(void **state)
{
    enum { ROWS = 7, W = 3 };
    float batch[ROWS * W], picked[ROWS * W], back[ROWS * W];
    for (int i = 0; i < ROWS * W; i++)
        batch[i] = (float)i;
    for (int P = 1; P <= 3; P++)
        for (int o = 0; o < P; o++) {
            int64_t n = (ROWS - o + P - 1) / P;
            kern_copy_rows(k1, picked, W, batch + o * W, P * W, n, W);
            for (int64_t i = 0; i < n; i++)
                for (int c = 0; c < W; c++)
                    assert_true(picked[i * W + c] == batch[(o + i * P) * W + c]);
            memset(back, 0, sizeof back);
            kern_copy_rows(k1, back + o * W, P * W, picked, W, n, W);
            for (int g = 0; g < ROWS; g++)
                for (int c = 0; c < W; c++)
                    assert_true(back[g * W + c] == ((g - o) % P == 0 && g >= o ? batch[g * W + c] : 0.0f));
        }
}

/* ---- sparse × dense ------------------------------------------------------------------ */

static void test_csr_products_match_dense(void **state)
{
    trng r = {3};
    int64_t rows = 9, cols = 13, n = 37, *rowptr;
    int32_t *col;
    random_csr(&r, rows, cols, 0.3, &rowptr, &col);
    float *W = malloc(sizeof(float) * cols * n), b[37], Y[9 * 37], Y2[9 * 37];
    float *GW = calloc((size_t)(cols * n), sizeof(float)), *GW2 = calloc((size_t)(cols * n), sizeof(float));
    double *want = calloc((size_t)(rows * n), sizeof(double)), *wantW = calloc((size_t)(cols * n), sizeof(double));
    fill_unif(&r, W, cols * n, -1, 1);
    fill_unif(&r, b, n, -1, 1);
    /* a window of rows 2..8 (rowptr[0] != 0) */
    kern_csr X = {7, cols, rowptr + 2, col};
    kern_csr_matmul_bias(k1, X, W, b, n, Y);
    kern_csr_matmul_bias(k2, X, W, b, n, Y2);
    for (int64_t i = 0; i < 7; i++)
        for (int64_t c = 0; c < n; c++) {
            double s = b[c];
            for (int64_t j = rowptr[i + 2]; j < rowptr[i + 3]; j++)
                s += W[col[j] * n + c];
            want[i * n + c] = s;
        }
    assert_true(close_arrays("csr_matmul_bias", Y, want, 7 * n, 1e-6, 1e-6));
    assert_memory_equal(Y, Y2, sizeof(float) * 7 * n);
    /* G_W += Xᵀ G_Y, with G_Y = Y */
    kern_csr_t_matmul_add(k1, X, Y, n, GW);
    kern_csr_t_matmul_add(k2, X, Y, n, GW2);
    for (int64_t i = 0; i < 7; i++)
        for (int64_t j = rowptr[i + 2]; j < rowptr[i + 3]; j++)
            for (int64_t c = 0; c < n; c++)
                wantW[col[j] * n + c] += Y[i * n + c];
    assert_true(close_arrays("csr_t_matmul_add", GW, wantW, cols * n, 1e-5, 1e-5));
    assert_memory_equal(GW, GW2, sizeof(float) * cols * n);
    free(W); free(GW); free(GW2); free(want); free(wantW); free(rowptr); free(col);
}

/* The backend reuses its column view of X when the next call has the same ones: a call on
 * the same arrays with other contents (a moved one, then other rows) must not reuse it. */
static void test_csr_view_follows_contents(void **state)
{
    enum { ROWS = 6, COLS = 11, N = 20 };
    int64_t rowptr[ROWS + 1] = {0, 2, 3, 5, 6, 8, 9};
    int32_t col[9] = {0, 4, 2, 1, 7, 10, 3, 9, 5};
    trng r = {8};
    float W[COLS * N], Y[ROWS * N], Y_fresh[ROWS * N];
    fill_unif(&r, W, COLS * N, -1, 1);
    kern_csr X = {ROWS, COLS, rowptr, col};
    kern_csr_matmul_bias(k1, X, W, NULL, N, Y);
    for (int change = 0; change < 3; change++) {
        if (change == 0)
            col[3] = 6;                  /* a one moves to another column */
        else if (change == 1)
            rowptr[2] = 4, col[3] = 8;   /* a one moves to another row: rowptr changes */
        else
            X.nrows = ROWS - 1;          /* fewer rows of the same arrays */
        kern_csr_matmul_bias(k1, X, W, NULL, N, Y);
        kern *fresh = kern_cpu_create(1);
        kern_csr_matmul_bias(fresh, X, W, NULL, N, Y_fresh);
        kern_destroy(fresh);
        assert_memory_equal(Y, Y_fresh, sizeof(float) * (size_t)(X.nrows * N));
    }
}

/* A column set of a CSR window, built again and again from other windows of one matrix
 * (an empty one among them): Xᵀ·G_Y over it equals kern_csr_t_matmul_add bit for bit, and
 * it and kern_zero_rows_of_cols write exactly the rows the window names; the other rows
 * hold NaN sentinels that must come out as they went in. 1 and 2 threads. */
static void colset_case(kern *k, uint64_t seed)
{
    enum { ROWS = 12, COLS = 23, N = 19, WIN = 5 };
    trng r = {seed};
    int64_t rowptr[ROWS + 1] = {0};
    int32_t col[ROWS * COLS];
    for (int i = 0; i < ROWS; i++) {   /* rows 3 and 4 empty */
        int nnz = (int)rowptr[i];
        for (int c = 0; c < COLS; c++)
            if (i != 3 && i != 4 && trng_u32(&r) % 5 == 0)
                col[nnz++] = c;
        rowptr[i + 1] = nnz;
    }
    kern_colset *cs = kern_colset_create(k, COLS, WIN);
    float G_Y[WIN * N], G_W[COLS * N], want[COLS * N], G_Z[COLS * N];
    const int starts[] = {0, 7, 3, 2, 0, 7};   /* window [3, 5) of rows is empty */
    for (size_t w = 0; w < sizeof(starts) / sizeof(starts[0]); w++) {
        int64_t r0 = starts[w], nr = starts[w] == 3 ? 2 : WIN;
        kern_csr X = {nr, COLS, rowptr + r0, col};
        int named[COLS] = {0};
        for (int64_t p = rowptr[r0]; p < rowptr[r0 + nr]; p++)
            named[col[p]] = 1;
        fill_unif(&r, G_Y, WIN * N, -1, 1);
        fill_unif(&r, want, COLS * N, -1, 1);
        for (int c = 0; c < COLS; c++)
            for (int o = 0; o < N; o++)
                if (!named[c])
                    want[c * N + o] = NAN;
        memcpy(G_W, want, sizeof(G_W));
        memcpy(G_Z, want, sizeof(G_Z));
        kern_colset_build(k, cs, X);
        kern_colset_t_matmul_add(k, cs, G_Y, N, G_W);
        kern_csr_t_matmul_add(k, X, G_Y, N, want);
        assert_memory_equal(G_W, want, sizeof(G_W));
        kern_zero_rows_of_cols(k, G_Z, N, cs);
        for (int c = 0; c < COLS; c++)
            for (int o = 0; o < N; o++) {
                float z = G_Z[c * N + o];
                if (named[c])
                    assert_true(z == 0.0f && !signbit(z));
                else
                    assert_true(isnan(z));
            }
    }
    kern_colset_free(k, cs);
}

static void test_colset_rows_only(void **state)
{
    colset_case(k1, 41);
    colset_case(k2, 42);
}

/* ---- activations ----------------------------------------------------------------------- */

static double act_ref(kern_act f, double a)
{
    switch (f) {
    case KERN_ACT_SIGMOID: return 1 / (1 + exp(-a));
    case KERN_ACT_TANH: return tanh(a);
    case KERN_ACT_ELU: return a > 0 ? a : expm1(a);
    case KERN_ACT_RELU: return a > 0 ? a : 0;
    case KERN_ACT_RELU6: return a > 0 ? (a < 6 ? a : 6) : 0;
    }
    return 0;
}

/* Forward against the reference; backward against central differences of the reference
 * at points away from kinks (|a|, |a−6| > 1e-2). */
static void test_activations_forward_and_fd(void **state)
{
    trng r = {4};
    enum { N = 400 };
    float a[N], h[N], G[N];
    double want[N], fd[N];
    for (int f = KERN_ACT_SIGMOID; f <= KERN_ACT_RELU6; f++) {
        for (int i = 0; i < N; i++) {
            do
                a[i] = trng_unif(&r, -8, 8);
            while (fabsf(a[i]) < 1e-2f || fabsf(a[i] - 6) < 1e-2f);
            want[i] = act_ref(f, a[i]);
        }
        kern_act_forward(k1, f, a, h, N);
        assert_true(close_arrays("act_forward", h, want, N, 1e-6, 1e-6));
        for (int i = 0; i < N; i++) {
            G[i] = 1.5f;
            double e = 1e-5;
            fd[i] = 1.5 * (act_ref(f, (double)a[i] + e) - act_ref(f, (double)a[i] - e)) / (2 * e);
        }
        kern_act_backward(k1, f, a, h, G, N);
        assert_true(close_arrays("act_backward", G, fd, N, 1e-5, 1e-4));
    }
}

/* PyTorch's conventions at the kinks. */
static void test_activation_kinks(void **state)
{
    float a[3] = {0.0f, 6.0f, 0.0f}, h[3], G[3] = {1, 1, 1};
    kern_act_forward(k1, KERN_ACT_RELU, a, h, 1);
    kern_act_backward(k1, KERN_ACT_RELU, a, h, G, 1);
    assert_true(G[0] == 0.0f);
    G[0] = G[1] = 1;
    kern_act_forward(k1, KERN_ACT_RELU6, a, h, 2);
    kern_act_backward(k1, KERN_ACT_RELU6, a, h, G, 2);
    assert_true(G[0] == 0.0f && G[1] == 0.0f);
    kern_act_forward(k1, KERN_ACT_ELU, a + 2, h, 1);
    kern_act_backward(k1, KERN_ACT_ELU, a + 2, h, G + 2, 1);
    assert_true(G[2] == 1.0f);   /* h + 1 at a = 0 */
}

/* ---- Gaussian latent layer ------------------------------------------------------------- */

/* f(pre) = scale·Σ c ⊙ z + λ·scale·Σ KL, in double, z = μ + sigmoid(s)·ε */
static double latent_ref(const double *pre, const float *eps, const float *prior,
                         const float *c, int m, int K, double lambda, double scale, double *kl_out)
{
    double f = 0, kl = 0;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < K; j++) {
            double mu = pre[i * 2 * K + j], sd = 1 / (1 + exp(-pre[i * 2 * K + K + j]));
            double d = mu - (prior ? prior[i * K + j] : 0);
            f += scale * c[i * K + j] * (mu + sd * eps[i * K + j]);
            kl += -0.5 * (1 + 2 * log(sd) - d * d - sd * sd);
        }
    *kl_out = kl;
    return f + lambda * scale * kl;
}

static void check_latent(const float *prior)
{
    trng r = {5};
    enum { m = 3, K = 4 };
    float pre[m * 2 * K], eps[m * K], c[m * K], mu[m * K], sd[m * K], z[m * K], G_z[m * K];
    float G_pre[m * 2 * K], G_prior[m * K], loss = 0.25f;
    double dpre[m * 2 * K], want_z[m * K], fd[m * 2 * K], fdp[m * K], kl;
    const double lambda = 0.7, scale = 0.5;
    fill_unif(&r, pre, m * 2 * K, -2, 2);
    fill_unif(&r, eps, m * K, -2, 2);
    fill_unif(&r, c, m * K, -1, 1);
    for (int i = 0; i < m * K; i++)
        G_z[i] = (float)(scale * c[i]);
    kern_gaussian_sample(k1, pre, eps, m, K, mu, sd, z);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < K; j++)
            want_z[i * K + j] = pre[i * 2 * K + j] +
                                eps[i * K + j] / (1 + exp(-(double)pre[i * 2 * K + K + j]));
    assert_true(close_arrays("gaussian z", z, want_z, m * K, 1e-6, 1e-6));
    kern_gaussian_kl_backward(k1, mu, sd, eps, prior, G_z, m, K, (float)lambda, (float)scale,
                              G_pre, prior ? G_prior : NULL, &loss);
    for (int i = 0; i < m * 2 * K; i++)
        dpre[i] = pre[i];
    latent_ref(dpre, eps, prior, c, m, K, lambda, scale, &kl);
    double want_loss = 0.25 + lambda * kl;
    assert_true(close_arrays("kl loss", &loss, &want_loss, 1, 1e-6, 1e-6));
    for (int i = 0; i < m * 2 * K; i++) {
        double e = 1e-6, fp, fm, tmp;
        dpre[i] = pre[i] + e;
        fp = latent_ref(dpre, eps, prior, c, m, K, lambda, scale, &tmp);
        dpre[i] = pre[i] - e;
        fm = latent_ref(dpre, eps, prior, c, m, K, lambda, scale, &tmp);
        dpre[i] = pre[i];
        fd[i] = (fp - fm) / (2 * e);
    }
    assert_true(close_arrays("G_pre vs finite differences", G_pre, fd, m * 2 * K, 1e-6, 1e-5));
    if (prior) {   /* ∂f/∂prior = −λ·scale·(μ − prior) */
        for (int i = 0; i < m * K; i++)
            fdp[i] = -lambda * scale * ((double)mu[i] - prior[i]);
        assert_true(close_arrays("G_prior", G_prior, fdp, m * K, 1e-6, 1e-5));
    }
}

static void test_gaussian_latent_fd(void **state)
{
    float prior[12];
    trng r = {6};
    check_latent(NULL);
    fill_unif(&r, prior, 12, -1, 1);
    check_latent(prior);
}

/* ---- decoder likelihood: split vs dense, and finite differences ------------------------ */

static double nll_ref(kern_lik lik, double x, double z)
{
    double xh = 1 / (1 + exp(-z)), e = 1e-10;
    switch (lik) {
    case KERN_LIK_POIS: return -(x * log(xh + e) - xh);
    case KERN_LIK_BERN: return -(x * log(xh + e) + (1 - x) * log(1 - xh + e));
    case KERN_LIK_GAUS: return (x - xh) * (x - xh);
    }
    return 0;
}

static void test_lik_split_matches_dense(void **state)
{
    trng r = {7};
    enum { m = 6, n = 203 };
    int64_t *rowptr;
    int32_t *col;
    random_csr(&r, m + 1, n, 0.1, &rowptr, &col);
    kern_csr X = {m, n, rowptr + 1, col};     /* a window: rows 1..6 */
    static float z0[m * n], Z[m * n], Z2[m * n];
    static double x[m * n], want[m * n];
    for (int lik = KERN_LIK_POIS; lik <= KERN_LIK_GAUS; lik++) {
        fill_unif(&r, z0, m * n, -6, 6);
        memset(x, 0, sizeof(x));
        for (int i = 0; i < m; i++)
            for (int64_t j = rowptr[i + 1]; j < rowptr[i + 2]; j++)
                x[i * n + col[j]] = 1;
        double want_loss = 0.5, scale = 0.25;
        for (int i = 0; i < m * n; i++) {
            double e = 1e-4;
            want_loss += nll_ref(lik, x[i], z0[i]);
            want[i] = scale * (nll_ref(lik, x[i], z0[i] + e) - nll_ref(lik, x[i], z0[i] - e)) / (2 * e);
        }
        float loss = 0.5f, loss2 = 0.5f;
        memcpy(Z, z0, sizeof(Z));
        memcpy(Z2, z0, sizeof(Z));
        kern_sigmoid_lik_loss_grad(k1, lik, Z, X, (float)scale, &loss);
        kern_sigmoid_lik_loss_grad(k2, lik, Z2, X, (float)scale, &loss2);
        assert_true(close_arrays("lik loss", &loss, &want_loss, 1, 1e-6, 2e-6));
        assert_true(close_arrays("lik G_z vs finite differences", Z, want, m * n, 1e-6, 1e-4));
        assert_memory_equal(Z, Z2, sizeof(Z));
        assert_true(loss == loss2);
    }
    free(rowptr);
    free(col);
}

/* Saturated logits stay finite (x̂ → 0 or 1). */
static void test_lik_extreme_logits_finite(void **state)
{
    int64_t rowptr[2] = {0, 2};
    int32_t col[2] = {0, 3};
    kern_csr X = {1, 4, rowptr, col};
    for (int lik = KERN_LIK_POIS; lik <= KERN_LIK_GAUS; lik++) {
        float Z[4] = {-120.0f, 95.0f, -1e30f, 1e30f}, loss = 0;
        kern_sigmoid_lik_loss_grad(k1, lik, Z, X, 1.0f, &loss);
        assert_true(isfinite(loss));
        for (int i = 0; i < 4; i++)
            assert_true(isfinite(Z[i]));
    }
}

/* ---- Philox ------------------------------------------------------------------------------ */

static void test_philox_known_answers(void **state)
{
    /* Random123's known-answer vectors for philox4x32-10 */
    uint32_t o[4];
    philox_block(0, 0, 0, 0, 0, 0, o);
    assert_true(o[0] == 0x6627e8d5u && o[1] == 0xe169c58du && o[2] == 0xbc57ac4cu &&
                o[3] == 0x9b00dbd8u);
    philox_block(~0u, ~0u, ~0u, ~0u, ~0u, ~0u, o);
    assert_true(o[0] == 0x408f276du && o[1] == 0x41c83b0eu && o[2] == 0xa20bc7c6u &&
                o[3] == 0x6d5451fdu);
    philox_block(0xa4093822u, 0x299f31d0u, 0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, o);
    assert_true(o[0] == 0xd16cfe09u && o[1] == 0x94fdccebu && o[2] == 0x5001e420u &&
                o[3] == 0x24126ea1u);
}

/* Row values depend only on the id, not on the row's position or the stride. */
static void test_philox_rows_keyed_by_id(void **state)
{
    float all[12 * 7], mine[4 * 7], u_all[12 * 5], u_mine[4 * 5];
    kern_philox_normal(k1, all, 12, 7, 11, 22, 3, 0, 1);
    kern_philox_normal(k2, mine, 4, 7, 11, 22, 3, 2, 3);       /* ids 2, 5, 8, 11 */
    kern_philox_uniform(k1, u_all, 12, 5, 11, 22, 3, 0, 1, -1.0f, 1.0f);
    kern_philox_uniform(k1, u_mine, 4, 5, 11, 22, 3, 2, 3, -1.0f, 1.0f);
    for (int i = 0; i < 4; i++) {
        assert_memory_equal(mine + i * 7, all + (2 + 3 * i) * 7, 7 * sizeof(float));
        assert_memory_equal(u_mine + i * 5, u_all + (2 + 3 * i) * 5, 5 * sizeof(float));
    }
    float other[12 * 7];
    kern_philox_normal(k1, other, 12, 7, 11, 22, 4, 0, 1);    /* another ctr3: other numbers */
    assert_memory_not_equal(other, all, sizeof(all));
}

/* The float Box–Muller equals the exact (double) transform of the same Philox integers. */
static void test_philox_normal_exact_transform(void **state)
{
    enum { rows = 64, cols = 10 };
    float x[rows * cols];
    double want[rows * cols];
    kern_philox_normal(k1, x, rows, cols, 5, 6, 7, 100, 3);
    for (int r = 0; r < rows; r++)
        for (int c4 = 0; c4 < cols; c4 += 4) {
            uint32_t u[4];
            int64_t id = 100 + 3 * r;
            philox_block(5, 6, (uint32_t)(c4 / 4), (uint32_t)id, 0, 7, u);
            for (int p = 0; p < 2; p++) {
                double u0 = ((u[2 * p] >> 8) + 1.0) / 16777216.0;
                double u1 = (u[2 * p + 1] >> 8) / 16777216.0;
                double rho = sqrt(-2 * log(u0)), t = 6.283185307179586 * u1;
                if (c4 + 2 * p < cols)
                    want[r * cols + c4 + 2 * p] = rho * cos(t);
                if (c4 + 2 * p + 1 < cols)
                    want[r * cols + c4 + 2 * p + 1] = rho * sin(t);
            }
        }
    assert_true(close_arrays("philox normal", x, want, rows * cols, 2e-6, 2e-6));
}

/* Uniforms on [0, 1) are exactly the 24 high bits of Philox's integers at each element's
 * counter: every column count mod 4, rows that span several chunks of blocks, 64-bit ids
 * (hi32 ≠ 0), negative strides, 1 and 2 threads. */
static void test_philox_uniform_exact_integers(void **state)
{
    enum { rows = 700, max_cols = 9 };
    static float got[rows * max_cols];
    const int64_t ids0[] = {0, (int64_t)5 << 32, 3000000000};
    const int64_t strides[] = {1, 7, -3};
    for (int cols = 1; cols <= max_cols; cols++)
        for (int t = 0; t < 3; t++) {
            kern *k = cols % 2 ? k1 : k2;
            kern_philox_uniform(k, got, rows, cols, 0x1234u, 0xabcdu, 9, ids0[t], strides[t],
                                0.0f, 1.0f);
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++) {
                    int64_t id = ids0[t] + r * strides[t];
                    uint32_t u[4];
                    philox_block(0x1234u, 0xabcdu, (uint32_t)(c / 4), philox_lo32(id),
                                 philox_hi32(id), 9, u);
                    float want = philox_u01(u[c % 4]);
                    if (memcmp(&got[r * cols + c], &want, sizeof want) != 0)
                        fail_msg("cols %d ids %d: row %d col %d: %.9g, want %.9g", cols, t, r,
                                 c, got[r * cols + c], want);
                }
        }
}

static void test_philox_moments(void **state)
{
    enum { rows = 1000, cols = 100 };
    static float x[rows * cols], u[rows * cols];
    kern_philox_normal(k1, x, rows, cols, 1, 2, 0, 0, 1);
    kern_philox_uniform(k1, u, rows, cols, 1, 2, 0, 0, 1, 2.0f, 5.0f);
    double s = 0, s2 = 0, su = 0, umin = 9, umax = -9;
    for (int i = 0; i < rows * cols; i++) {
        s += x[i];
        s2 += (double)x[i] * x[i];
        su += u[i];
        umin = u[i] < umin ? u[i] : umin;
        umax = u[i] > umax ? u[i] : umax;
    }
    double mean = s / (rows * cols), var = s2 / (rows * cols) - mean * mean;
    assert_true(fabs(mean) < 0.01 && fabs(var - 1) < 0.02);    /* ±0.003 and ±0.0045 σ */
    assert_true(fabs(su / (rows * cols) - 3.5) < 0.01 && umin >= 2.0 && umax < 5.0);
}

/* ---- Adam ------------------------------------------------------------------------------- */

static void test_adam_hand_computed(void **state)
{
    /* two steps of PyTorch's Adam on one parameter: p = 1, g1 = 0.5, g2 = −1, lr = 0.1 */
    float p = 1, m = 0, v = 0, g = 0.5f;
    kern_adam(k1, &p, &g, &m, &v, 1, 0.1, 0.9, 0.999, 1e-8, 1, NULL, 0);
    /* m = 0.05, v = 0.00025; m̂ = 0.5, √v̂ = 0.5 → p = 1 − 0.1·0.5/(0.5 + 1e-8) */
    double want1 = 1 - 0.1 * 0.5 / (0.5 + 1e-8);
    assert_true(close_arrays("adam step 1", &p, &want1, 1, 1e-7, 1e-6));
    g = -1;
    kern_adam(k1, &p, &g, &m, &v, 1, 0.1, 0.9, 0.999, 1e-8, 2, NULL, 0);
    /* m = 0.9·0.05 − 0.1 = −0.055; v = 0.999·0.00025 + 0.001 = 0.00124975
     * p −= (0.1/(1−0.81))·m / (√v/√(1−0.998001) + 1e-8) */
    double m2 = -0.055, v2 = 0.00124975;
    double want2 = want1 - (0.1 / 0.19) * m2 / (sqrt(v2) / sqrt(1 - 0.998001) + 1e-8);
    assert_true(close_arrays("adam step 2", &p, &want2, 1, 1e-6, 1e-6));
    assert_true(fabs(m - m2) < 1e-8 && fabs(v - v2) < 1e-10);
}

/* Lazy Adam on selected rows ends bitwise where dense Adam does, when unselected rows have
 * a +0 gradient: 40 steps of random sparse selections (some empty), a catch-up before each
 * step's "forward" (as the trainer does), a flush of all rows every 13 steps (a new t0),
 * against kern_adam on the whole matrix at every step. 1 and 2 threads. */
static void adam_rows_case(kern *k, uint64_t seed)
{
    enum { R = 37, W = 5, N = R * W, STEPS = 40, CAP = 16 };
    trng r = {seed};
    float p[N], m[N] = {0}, v[N] = {0}, pd[N], md[N] = {0}, vd[N] = {0}, g[N], tab[2 * CAP];
    int64_t last[R] = {0}, t0 = 0;
    kern_colset *sel = kern_colset_create(k, R, 3);
    for (int i = 0; i < N; i++)
        p[i] = pd[i] = trng_unif(&r, -1, 1);
    for (int t = 1; t <= STEPS; t++) {
        /* a window of 3 rows of a CSR over R columns: the selected rows of this step */
        int64_t rowptr[4] = {0};
        int32_t col[12];
        int nnz = 0;
        for (int b = 0; b < 3; b++) {
            int ones = t % 7 == 0 ? 0 : (int)(trng_u32(&r) % 5);   /* every 7th step: none */
            for (int o = 0; o < ones; o++)
                col[nnz++] = (int32_t)(trng_u32(&r) % R);
            rowptr[b + 1] = nnz;
        }
        kern_colset_build(k, sel, (kern_csr){3, R, rowptr, col});
        int on[R] = {0};
        for (int e = 0; e < nnz; e++)
            on[col[e]] = 1;
        for (int j = 0; j < R; j++)
            for (int c = 0; c < W; c++)
                g[j * W + c] = on[j] ? trng_unif(&r, -0.5f, 0.5f) : 0.0f;
        kern_adam_rows(k, p, g, m, v, R, W, sel, last, tab, CAP, t0, t - 1, 0, 1e-2, 0.9,
                       0.999, 1e-8, NULL, 0);                            /* catch up */
        for (int j = 0; j < R; j++)   /* the selected rows are current before the step */
            if (on[j])
                assert_memory_equal(p + j * W, pd + j * W, W * sizeof(float));
        kern_adam_rows(k, p, g, m, v, R, W, sel, last, tab, CAP, t0, t, 1, 1e-2, 0.9, 0.999,
                       1e-8, NULL, 0);
        kern_adam(k, pd, g, md, vd, N, 1e-2, 0.9, 0.999, 1e-8, t, NULL, 0);
        if (t % 13 == 0) {
            kern_adam_rows(k, p, g, m, v, R, W, NULL, last, tab, CAP, t0, t, 0, 1e-2, 0.9,
                           0.999, 1e-8, NULL, 0);
            t0 = t;
        }
    }
    kern_colset_free(k, sel);
    kern_adam_rows(k, p, g, m, v, R, W, NULL, last, tab, CAP, t0, STEPS, 0, 1e-2, 0.9, 0.999,
                   1e-8, NULL, 0);
    assert_memory_equal(p, pd, sizeof(p));
    assert_memory_equal(m, md, sizeof(m));
    assert_memory_equal(v, vd, sizeof(v));
    for (int j = 0; j < R; j++)
        assert_int_equal(last[j], STEPS);
}

static void test_adam_rows_equals_dense(void **state)
{
    adam_rows_case(k1, 31);
    adam_rows_case(k2, 32);
}

/* NaN stays NaN through the fast exp/tanh/sigmoid and the likelihood (found by UBSan: the
 * integer part of exp(NaN) was undefined), so the numerical guard can see it. */
static void test_nan_propagates(void **state)
{
    float a[2] = {NAN, 0.5f}, h[2];
    for (int f = KERN_ACT_SIGMOID; f <= KERN_ACT_ELU; f++) {
        kern_act_forward(k1, f, a, h, 2);
        assert_true(isnan(h[0]) && isfinite(h[1]));
    }
    int64_t rowptr[2] = {0, 1};
    int32_t col[1] = {2};
    kern_csr X = {1, 4, rowptr, col};
    for (int lik = KERN_LIK_POIS; lik <= KERN_LIK_GAUS; lik++) {
        float Z[4] = {0.1f, NAN, -0.3f, 2.0f}, loss = 0;
        kern_sigmoid_lik_loss_grad(k1, lik, Z, X, 1.0f, &loss);
        assert_true(isnan(loss) && isnan(Z[1]) && isfinite(Z[0]));
    }
}

/* The numerical guard: the first tag of a non-finite value is kept; Adam checks its gradient. */
static void test_nonfinite_flags(void **state)
{
    float x[5] = {1, 2, 3, 4, 5}, p[5] = {0}, m[5] = {0}, v[5] = {0};
    int32_t flag = -1;
    kern_find_nonfinite(k1, x, 5, &flag, 7);
    kern_adam(k1, p, x, m, v, 5, 1e-3, 0.9, 0.999, 1e-8, 1, &flag, 8);
    assert_int_equal(flag, -1);
    x[3] = INFINITY;
    kern_adam(k1, p, x, m, v, 5, 1e-3, 0.9, 0.999, 1e-8, 2, &flag, 9);
    assert_int_equal(flag, 9);
    x[3] = NAN;
    kern_find_nonfinite(k1, x, 5, &flag, 10);
    assert_int_equal(flag, 9);       /* the first one is kept */
    flag = -1;
    kern_find_nonfinite(k1, x, 5, &flag, 10);
    assert_int_equal(flag, 10);
}

int main(void)
{
    char why[256];
    if (!kern_cpu_isa(why, sizeof why)) {   /* BIVAE_CPU_ISA (tests/kernels.cmake) */
        fprintf(stderr, "skip: %s\n", why);
        return 77;
    }
    fprintf(stderr, "CPU kernels: %s\n", kern_cpu_isa(why, sizeof why));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_all_transpositions),
        cmocka_unit_test(test_bias_colsum_scale_accumulate),
        cmocka_unit_test(test_rows_cyclic_from_blocked),
        cmocka_unit_test(test_copy_rows),
        cmocka_unit_test(test_csr_products_match_dense),
        cmocka_unit_test(test_csr_view_follows_contents),
        cmocka_unit_test(test_colset_rows_only),
        cmocka_unit_test(test_activations_forward_and_fd),
        cmocka_unit_test(test_activation_kinks),
        cmocka_unit_test(test_gaussian_latent_fd),
        cmocka_unit_test(test_lik_split_matches_dense),
        cmocka_unit_test(test_lik_extreme_logits_finite),
        cmocka_unit_test(test_philox_known_answers),
        cmocka_unit_test(test_philox_rows_keyed_by_id),
        cmocka_unit_test(test_philox_normal_exact_transform),
        cmocka_unit_test(test_philox_uniform_exact_integers),
        cmocka_unit_test(test_philox_moments),
        cmocka_unit_test(test_adam_hand_computed),
        cmocka_unit_test(test_adam_rows_equals_dense),
        cmocka_unit_test(test_nonfinite_flags),
        cmocka_unit_test(test_nan_propagates),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
