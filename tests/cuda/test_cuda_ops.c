/* tests/cuda/test_cuda_ops.c — every op of the CUDA backend against the CPU backend (the
 * reference) on random inputs: `|cuda − cpu| <= atol + rtol·|cpu|` per element.
 *
 * Tolerances, and why:
 *  - Ops whose GPU kernel performs the CPU's float operations in the CPU's order (bias,
 *    scale, cyclic reorder, colsum, both CSR products, Adam, uniforms, accumulate): expected
 *    bitwise equal (the kernels are built with --fmad=false and the CPU is ISO C without
 *    contraction); checked at atol 1e-6 / rtol 1e-6 (the bitwise count is printed), uniforms
 *    and accumulate exactly.
 *  - Ops through a transcendental (sigmoid, tanh, elu, Gaussian layer, likelihood
 *    gradients, normals): CUDA's expf/logf/tanhf/expm1f/sincospif are within 1–2 ulp and the
 *    CPU's vectorized polynomials within a few ulp: rtol 1e-5; atol 1e-6 covers values near
 *    zero produced by cancellation (1 − x̂ with x̂ ≈ 1; cos near π/2 times ρ <= 5.8: 5e-6).
 *  - Loss sums: the CPU adds each row in float, the GPU in double: rtol 1e-4 for the
 *    likelihood (rows of 1,000 terms: ~1,000·2⁻²⁴ relative in the worst case); the KL is
 *    double on both: rtol 1e-6.
 *  - GEMM fp32: cuBLAS and OpenBLAS sum in different orders; the rounding error of a dot
 *    product of K terms in [−1, 1]² grows like sqrt(K)·2⁻²⁴: atol 2e-6·sqrt(K), rtol 1e-5.
 *    tf32 keeps 10 mantissa bits (input error up to 2⁻¹¹ rounded, 2⁻¹⁰ truncated), so each
 *    product is off by ~1e-3 relative and K random-sign errors add to ~1e-3·sqrt(K)/3:
 *    atol 3e-3·sqrt(K), rtol 2e-3 (a 10σ margin). bf16 keeps 7 bits (8× coarser):
 *    atol 2.4e-2·sqrt(K), rtol 2e-2.
 *  - Philox integers and top-K indices (and values): identical.
 * Skips (exit 77) when no CUDA device can be used. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "cuda_test_util.h"

static kern *kc;                     /* CPU reference, 2 threads */
static kern *kg, *kg_tf32, *kg_bf16; /* CUDA, GEMM math fp32 / tf32 / bf16 */

static int setup(void **state)
{
    kc = kern_cpu_create(2);
    kg = cuda_test_backend(KERN_GEMM_FP32);
    kg_tf32 = cuda_test_backend(KERN_GEMM_TF32);
    kg_bf16 = cuda_test_backend(KERN_GEMM_BF16);
    return 0;
}

static int teardown(void **state)
{
    kern_destroy(kc);
    kern_destroy(kg);
    kern_destroy(kg_tf32);
    kern_destroy(kg_bf16);
    return 0;
}

static float *rand_floats(trng *r, int64_t n, float lo, float hi)
{
    float *x = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    fill_unif(r, x, n, lo, hi);
    return x;
}

/* ---- memory -------------------------------------------------------------------------- */

static void test_memory_ops(void **state)
{
    enum { N = 1000 };
    void *z = kern_alloc(kg, N);
    unsigned char *h = host_dup(kg, z, N);                    /* alloc is zero-filled */
    for (int i = 0; i < N; i++)
        assert_int_equal(h[i], 0);
    free(h);
    kern_free(kg, z);
    trng r = {11};
    float *x = rand_floats(&r, N, -1, 1), *y = malloc(sizeof(float) * N);
    float *d = dev_dup(kg, x, sizeof(float) * N), *e = kern_alloc(kg, sizeof(float) * N);
    kern_copy(kg, e, d, sizeof(float) * N);
    kern_zero(kg, d + 10, sizeof(float) * 20);
    kern_download(kg, y, e, sizeof(float) * N);
    assert_memory_equal(x, y, sizeof(float) * N);
    kern_download(kg, y, d, sizeof(float) * N);
    for (int i = 0; i < N; i++)
        assert_true(y[i] == (i >= 10 && i < 30 ? 0.0f : x[i]));
    kern_copy(kg, e + 5, e, sizeof(float) * 100);      /* overlapping ranges: memmove */
    memmove(x + 5, x, sizeof(float) * 100);
    kern_copy(kg, e, e + 7, sizeof(float) * 100);
    memmove(x, x + 7, sizeof(float) * 100);
    kern_download(kg, y, e, sizeof(float) * N);
    assert_memory_equal(x, y, sizeof(float) * N);
    kern_sync(kg);
    assert_int_equal(kern_get_device(kg), KERN_DEVICE_CUDA);
    assert_string_equal(kern_name(kg), "cuda");
    kern_free(kg, d);
    kern_free(kg, e);
    free(x);
    free(y);
}

/* ---- GEMM ---------------------------------------------------------------------------- */

typedef struct gemm_case {
    int ta, tb, M, N, K;
} gemm_case;

/* One GEMM on padded operands (ld > width; the padding must stay untouched). */
static int gemm_check(kern *kgpu, const char *label, gemm_case g, double atol_sqrtk, double rtol)
{
    trng r = {100 + g.M + g.N + g.K + 2 * g.ta + g.tb};
    int64_t lda = (g.ta ? g.M : g.K) + 3, ldb = (g.tb ? g.K : g.N) + 2, ldc = g.N + 5;
    int64_t na = (g.ta ? g.K : g.M) * lda, nb = (g.tb ? g.N : g.K) * ldb, nc = g.M * ldc;
    float *A = rand_floats(&r, na, -1, 1), *B = rand_floats(&r, nb, -1, 1);
    float *C = rand_floats(&r, nc, -1, 1);
    float *dA = dev_dup(kgpu, A, sizeof(float) * na), *dB = dev_dup(kgpu, B, sizeof(float) * nb);
    float *dC = dev_dup(kgpu, C, sizeof(float) * nc);
    kern_gemm(kc, g.ta, g.tb, g.M, g.N, g.K, 0.7f, A, lda, B, ldb, 0.3f, C, ldc);
    kern_gemm(kgpu, g.ta, g.tb, g.M, g.N, g.K, 0.7f, dA, lda, dB, ldb, 0.3f, dC, ldc);
    float *got = host_dup(kgpu, dC, sizeof(float) * nc);
    char what[96];
    snprintf(what, sizeof(what), "gemm %s %c%c %dx%dx%d", label, g.ta ? 'T' : 'N',
             g.tb ? 'T' : 'N', g.M, g.N, g.K);
    int ok = cuda_close(what, got, C, nc, atol_sqrtk * sqrt((double)g.K), rtol);
    kern_free(kgpu, dA);
    kern_free(kgpu, dB);
    kern_free(kgpu, dC);
    free(A); free(B); free(C); free(got);
    return ok;
}

static const gemm_case gemm_cases[] = {
    {0, 0, 37, 53, 300}, {0, 1, 37, 53, 300}, {1, 0, 37, 53, 300}, {1, 1, 37, 53, 300},
    {0, 1, 64, 1000, 50},   /* decoder: Z = z·Tᵀ */
    {0, 0, 64, 50, 1000},   /* decoder: G_z = G_Z·T */
    {1, 0, 100, 100, 64},   /* encoder weight gradient hᵀ·G */
    {0, 0, 5, 7, 0},        /* K = 0: C = β·C */
};

static void test_gemm_fp32(void **state)
{
    for (size_t i = 0; i < sizeof(gemm_cases) / sizeof(gemm_cases[0]); i++)
        assert_true(gemm_check(kg, "fp32", gemm_cases[i], 2e-6, 1e-5));
}

static void test_gemm_tf32(void **state)
{
    for (size_t i = 0; i < sizeof(gemm_cases) / sizeof(gemm_cases[0]); i++)
        assert_true(gemm_check(kg_tf32, "tf32", gemm_cases[i], 3e-3, 2e-3));
}

static void test_gemm_bf16(void **state)
{
    for (size_t i = 0; i < sizeof(gemm_cases) / sizeof(gemm_cases[0]); i++)
        assert_true(gemm_check(kg_bf16, "bf16", gemm_cases[i], 2.4e-2, 2e-2));
}

/* ---- small dense ops ----------------------------------------------------------------- */

static void test_bias_scale_colsum_accumulate(void **state)
{
    trng r = {12};
    enum { m = 300, n = 130 };
    float *Y = rand_floats(&r, m * n, -1, 1), *b = rand_floats(&r, n, -1, 1);
    float *g = rand_floats(&r, n, -1, 1);
    float *dY = dev_dup(kg, Y, sizeof(float) * m * n), *db = dev_dup(kg, b, sizeof(float) * n);
    float *dg = dev_dup(kg, g, sizeof(float) * n);
    kern_add_bias(kc, Y, b, m, n);
    kern_add_bias(kg, dY, db, m, n);
    float *got = host_dup(kg, dY, sizeof(float) * m * n);
    assert_true(cuda_close("add_bias", got, Y, m * n, 1e-6, 1e-6));
    free(got);
    kern_colsum_add(kc, Y, m, n, g);
    kern_colsum_add(kg, dY, m, n, dg);
    got = host_dup(kg, dg, sizeof(float) * n);
    assert_true(cuda_close("colsum_add", got, g, n, 1e-6, 1e-6));
    free(got);
    kern_scale(kc, Y, m * n, -1.7f);
    kern_scale(kg, dY, m * n, -1.7f);
    got = host_dup(kg, dY, sizeof(float) * m * n);
    assert_true(cuda_close("scale", got, Y, m * n, 1e-6, 1e-6));
    free(got);
    kern_fill(kc, Y + 7, 50, 0.375f);
    kern_fill(kg, dY + 7, 50, 0.375f);
    got = host_dup(kg, dY, sizeof(float) * m * n);
    assert_memory_equal(got, Y, sizeof(float) * m * n);    /* fill: exact, and only [7, 57) */
    free(got);
    double acc[n], acc_g[n];
    for (int i = 0; i < n; i++)
        acc[i] = 1.0 / (i + 1);
    double *dacc = dev_dup(kg, acc, sizeof(acc));
    kern_accumulate(kc, acc, Y, n);
    kern_accumulate(kg, dacc, dY, n);
    kern_download(kg, acc_g, dacc, sizeof(acc));
    assert_memory_equal(acc, acc_g, sizeof(acc));     /* double += float: exact on both */
    kern_free(kg, dY); kern_free(kg, db); kern_free(kg, dg); kern_free(kg, dacc);
    free(Y); free(b); free(g);
}

static void test_rows_cyclic_from_blocked(void **state)
{
    trng r = {13};
    for (int P = 1; P <= 5; P++)
        for (int64_t n = 1; n <= 11; n++) {
            enum { W = 3 };
            float src[11 * W], want[11 * W], got[11 * W];
            fill_unif(&r, src, n * W, -1, 1);
            float *ds = dev_dup(kg, src, sizeof(float) * n * W);
            float *dd = kern_alloc(kg, sizeof(float) * n * W);
            kern_rows_cyclic_from_blocked(kc, want, src, n, W, P);
            kern_rows_cyclic_from_blocked(kg, dd, ds, n, W, P);
            kern_download(kg, got, dd, sizeof(float) * n * W);
            assert_memory_equal(got, want, sizeof(float) * n * W);
            kern_free(kg, ds);
            kern_free(kg, dd);
        }
}

static void test_copy_rows(void **state)
{
    trng r = {14};
    enum { ROWS = 13, W = 5 };
    for (int P = 1; P <= 4; P++)
        for (int o = 0; o < P; o++) {
            int64_t n = (ROWS - o + P - 1) / P;
            float src[ROWS * W], want[ROWS * W] = {0}, got[ROWS * W];
            fill_unif(&r, src, ROWS * W, -1, 1);
            float *ds = dev_dup(kg, src, sizeof src);
            float *dd = kern_alloc(kg, sizeof want);
            kern_copy_rows(kc, want, W, src + o * W, P * W, n, W);        /* pick */
            kern_copy_rows(kg, dd, W, ds + o * W, P * W, n, W);
            kern_download(kg, got, dd, sizeof(float) * (size_t)(n * W));
            assert_memory_equal(got, want, sizeof(float) * (size_t)(n * W));
            kern_zero(kg, ds, sizeof src);                                  /* scatter back */
            memset(src, 0, sizeof src);
            kern_copy_rows(kc, src + o * W, P * W, want, W, n, W);
            kern_copy_rows(kg, ds + o * W, P * W, dd, W, n, W);
            kern_download(kg, got, ds, sizeof got);
            assert_memory_equal(got, src, sizeof got);
            kern_free(kg, ds);
            kern_free(kg, dd);
        }
}

/* ---- sparse × dense ------------------------------------------------------------------ */

/* Rows 3 .. 3+m of an (m+5)-row CSR with every 7th row empty, ~75 ones per row. */
static test_csr sparse_fixture(trng *r, int64_t m, int64_t ncols)
{
    int64_t *rowptr;
    int32_t *col;
    rand_csr(r, m + 5, ncols, 0.15, 7, &rowptr, &col);
    return test_csr_make(kg, rowptr, col, m + 5, ncols);
}

static void csr_matmul_case(trng *r, const test_csr *X, int64_t m, int64_t n, int with_bias)
{
    float *W = rand_floats(r, X->ncols * n, -1, 1), *b = rand_floats(r, n, -1, 1);
    float *Y = malloc(sizeof(float) * m * n);
    float *dW = dev_dup(kg, W, sizeof(float) * X->ncols * n);
    float *db = dev_dup(kg, b, sizeof(float) * n);
    float *dY = kern_alloc(kg, sizeof(float) * m * n);
    kern_csr_matmul_bias(kc, test_csr_window(X, 3, m, 0), W, with_bias ? b : NULL, n, Y);
    kern_csr_matmul_bias(kg, test_csr_window(X, 3, m, 1), dW, with_bias ? db : NULL, n, dY);
    float *got = host_dup(kg, dY, sizeof(float) * m * n);
    char what[64];
    snprintf(what, sizeof(what), "csr_matmul_bias n=%lld%s", (long long)n,
             with_bias ? "" : " (no b)");
    assert_true(cuda_close(what, got, Y, m * n, 1e-6, 1e-6));
    kern_free(kg, dW); kern_free(kg, db); kern_free(kg, dY);
    free(W); free(b); free(Y); free(got);
}

static void csr_t_matmul_case(trng *r, const test_csr *X, int64_t m, int64_t n)
{
    float *GY = rand_floats(r, m * n, -1, 1), *GW = rand_floats(r, X->ncols * n, -1, 1);
    float *dGY = dev_dup(kg, GY, sizeof(float) * m * n);
    float *dGW = dev_dup(kg, GW, sizeof(float) * X->ncols * n);
    kern_csr_t_matmul_add(kc, test_csr_window(X, 3, m, 0), GY, n, GW);
    kern_csr_t_matmul_add(kg, test_csr_window(X, 3, m, 1), dGY, n, dGW);
    float *got = host_dup(kg, dGW, sizeof(float) * X->ncols * n);
    char what[64];
    snprintf(what, sizeof(what), "csr_t_matmul_add n=%lld", (long long)n);
    assert_true(cuda_close(what, got, GW, X->ncols * n, 1e-6, 1e-6));
    kern_free(kg, dGY); kern_free(kg, dGW);
    free(GY); free(GW); free(got);
}

static void test_csr_products(void **state)
{
    trng r = {14};
    int64_t m = 70;   /* > 64: three words per column of the transposed bitmap */
    test_csr X = sparse_fixture(&r, m, 500);
    csr_matmul_case(&r, &X, m, 100, 1);
    csr_matmul_case(&r, &X, m, 300, 1);   /* more than one 128-column pass */
    csr_matmul_case(&r, &X, m, 37, 0);
    csr_t_matmul_case(&r, &X, m, 100);
    csr_t_matmul_case(&r, &X, m, 200);
    csr_t_matmul_case(&r, &X, 1, 5);      /* a single row */
    test_csr_free(kg, &X);
}

/* A column set rebuilt from windows of one sparse matrix (more than one bitmap word of
 * rows, an empty window, one after a larger one: what a build leaves must not leak into the
 * next): Xᵀ·G_Y over it equals the GPU's kern_csr_t_matmul_add bit for bit and the CPU's
 * within rounding, and it and kern_zero_rows_of_cols leave every row the window does not
 * name as it was (NaN sentinels, compared bit for bit). */
static void test_colset(void **state)
{
    enum { M = 80, NC = 700, N = 150, MAX_ROWS = 70 };
    trng r = {29};
    int64_t *rowptr;
    int32_t *col;
    rand_csr(&r, M, NC, 0.01, 6, &rowptr, &col);
    test_csr X = test_csr_make(kg, rowptr, col, M, NC);
    kern_colset *hs = kern_colset_create(kc, NC, MAX_ROWS);
    kern_colset *ds = kern_colset_create(kg, NC, MAX_ROWS);
    const int64_t win[][2] = {{0, 70}, {5, 9}, {6, 7}, {10, 80}, {40, 41}, {0, 0}, {2, 66}};
    float *GW = malloc(sizeof(float) * NC * N), *want = malloc(sizeof(float) * NC * N);
    float *dGW = kern_alloc(kg, sizeof(float) * NC * N);
    float *dref = kern_alloc(kg, sizeof(float) * NC * N);
    for (size_t w = 0; w < sizeof(win) / sizeof(win[0]); w++) {
        int64_t r0 = win[w][0], nr = win[w][1] - win[w][0];
        char *named = calloc(NC, 1);
        for (int64_t e = rowptr[r0]; e < rowptr[r0 + nr]; e++)
            named[col[e]] = 1;
        float *GY = rand_floats(&r, (nr > 0 ? nr : 1) * N, -1, 1);
        float *dGY = dev_dup(kg, GY, sizeof(float) * (size_t)((nr > 0 ? nr : 1) * N));
        for (int64_t i = 0; i < NC * N; i++)
            GW[i] = named[i / N] ? trng_unif(&r, -1, 1) : NAN;
        memcpy(want, GW, sizeof(float) * NC * N);
        kern_upload(kg, dGW, GW, sizeof(float) * NC * N);
        kern_upload(kg, dref, GW, sizeof(float) * NC * N);
        kern_colset_build(kc, hs, test_csr_window(&X, r0, nr, 0));
        kern_colset_build(kg, ds, test_csr_window(&X, r0, nr, 1));
        kern_colset_t_matmul_add(kg, ds, dGY, N, dGW);
        kern_csr_t_matmul_add(kg, test_csr_window(&X, r0, nr, 1), dGY, N, dref);
        kern_csr_t_matmul_add(kc, test_csr_window(&X, r0, nr, 0), GY, N, want);
        float *got = host_dup(kg, dGW, sizeof(float) * NC * N);
        float *ref = host_dup(kg, dref, sizeof(float) * NC * N);
        assert_memory_equal(got, ref, sizeof(float) * NC * N);   /* NaN rows included */
        for (int64_t i = 0; i < NC * N; i++)
            if (!named[i / N])
                assert_true(isnan(got[i]));
        assert_true(cuda_close("colset_t_matmul_add", got, want, NC * N, 1e-6, 1e-6));
        kern_zero_rows_of_cols(kg, dGW, N, ds);
        kern_zero_rows_of_cols(kc, want, N, hs);
        free(got);
        got = host_dup(kg, dGW, sizeof(float) * NC * N);
        for (int64_t i = 0; i < NC * N; i++)
            assert_true(named[i / N] ? got[i] == 0.0f && !signbit(got[i]) : isnan(got[i]));
        assert_memory_equal(got, want, sizeof(float) * NC * N);
        kern_free(kg, dGY);
        free(GY); free(got); free(ref); free(named);
    }
    kern_colset_free(kc, hs); kern_colset_free(kg, ds);
    kern_free(kg, dGW); kern_free(kg, dref);
    free(GW); free(want);
    test_csr_free(kg, &X);
}

/* ---- activations --------------------------------------------------------------------- */

static void test_activations(void **state)
{
    trng r = {15};
    enum { N = 4099 };
    static const float special[] = {0.0f, -0.0f, 6.0f, -6.0f, 1e-3f, -1e-3f, 0.25f, -0.29f,
                                    0.31f, 20.0f, -20.0f, 90.0f, -90.0f, 5.999f, 6.001f};
    float *a = rand_floats(&r, N, -8, 8), *h = malloc(sizeof(float) * N);
    float *G0 = rand_floats(&r, N, -1, 1), *G = malloc(sizeof(float) * N);
    memcpy(a, special, sizeof(special));
    float *da = dev_dup(kg, a, sizeof(float) * N), *dh = kern_alloc(kg, sizeof(float) * N);
    for (int f = KERN_ACT_SIGMOID; f <= KERN_ACT_RELU6; f++) {
        kern_act_forward(kc, f, a, h, N);
        kern_act_forward(kg, f, da, dh, N);
        float *got = host_dup(kg, dh, sizeof(float) * N);
        char what[48];
        snprintf(what, sizeof(what), "act_forward %d", f);
        assert_true(cuda_close(what, got, h, N, 1e-6, 1e-5));
        free(got);
        /* backward from the same a and h (the CPU's) */
        kern_upload(kg, dh, h, sizeof(float) * N);
        memcpy(G, G0, sizeof(float) * N);
        float *dG = dev_dup(kg, G0, sizeof(float) * N);
        kern_act_backward(kc, f, a, h, G, N);
        kern_act_backward(kg, f, da, dh, dG, N);
        got = host_dup(kg, dG, sizeof(float) * N);
        snprintf(what, sizeof(what), "act_backward %d", f);
        assert_true(cuda_close(what, got, G, N, 1e-6, 1e-5));
        free(got);
        kern_free(kg, dG);
    }
    kern_free(kg, da); kern_free(kg, dh);
    free(a); free(h); free(G0); free(G);
}

/* ---- Gaussian latent layer ----------------------------------------------------------- */

static void test_gaussian_sample(void **state)
{
    trng r = {16};
    enum { m = 37, K = 50 };
    float *pre = rand_floats(&r, m * 2 * K, -4, 4), *eps = rand_floats(&r, m * K, -3, 3);
    float mu[m * K], sd[m * K], z[m * K], sentinel[m * K];
    float *dpre = dev_dup(kg, pre, sizeof(float) * m * 2 * K), *deps = dev_dup(kg, eps, sizeof(mu));
    float *dmu = kern_alloc(kg, sizeof(mu)), *dsd = kern_alloc(kg, sizeof(mu));
    for (int i = 0; i < m * K; i++)
        sentinel[i] = 12345.0f;
    float *dz = dev_dup(kg, sentinel, sizeof(mu));
    kern_gaussian_sample(kc, pre, eps, m, K, mu, sd, NULL);
    kern_gaussian_sample(kg, dpre, deps, m, K, dmu, dsd, NULL);   /* z untouched */
    float *got = host_dup(kg, dz, sizeof(mu));
    assert_memory_equal(got, sentinel, sizeof(mu));
    free(got);
    kern_gaussian_sample(kc, pre, eps, m, K, mu, sd, z);
    kern_gaussian_sample(kg, dpre, deps, m, K, dmu, dsd, dz);
    got = host_dup(kg, dmu, sizeof(mu));
    assert_true(cuda_close("gaussian mu", got, mu, m * K, 0, 0));
    free(got);
    got = host_dup(kg, dsd, sizeof(mu));
    assert_true(cuda_close("gaussian sigma", got, sd, m * K, 1e-6, 1e-5));
    free(got);
    got = host_dup(kg, dz, sizeof(mu));
    assert_true(cuda_close("gaussian z", got, z, m * K, 1e-6, 1e-5));
    free(got);
    kern_free(kg, dpre); kern_free(kg, deps); kern_free(kg, dmu); kern_free(kg, dsd);
    kern_free(kg, dz);
    free(pre); free(eps);
}

static void kl_case(trng *r, int with_prior)
{
    enum { m = 37, K = 50, MK = m * K };
    float *mu = rand_floats(r, MK, -2, 2), *sd = rand_floats(r, MK, 0.05f, 0.95f);
    float *eps = rand_floats(r, MK, -3, 3), *prior = rand_floats(r, MK, -1, 1);
    float *Gz = rand_floats(r, MK, -1, 1);
    float G_pre[2 * MK], G_prior[MK], loss = 1.5f, loss_g;
    float *dmu = dev_dup(kg, mu, sizeof(float) * MK), *dsd = dev_dup(kg, sd, sizeof(float) * MK);
    float *deps = dev_dup(kg, eps, sizeof(float) * MK);
    float *dprior = dev_dup(kg, prior, sizeof(float) * MK);
    float *dGz = dev_dup(kg, Gz, sizeof(float) * MK), *dGpre = kern_alloc(kg, sizeof(G_pre));
    float *dGprior = kern_alloc(kg, sizeof(G_prior)), *dloss = dev_dup(kg, &loss, sizeof(float));
    kern_gaussian_kl_backward(kc, mu, sd, eps, with_prior ? prior : NULL, Gz, m, K, 0.7f, 0.25f,
                              G_pre, with_prior ? G_prior : NULL, &loss);
    kern_gaussian_kl_backward(kg, dmu, dsd, deps, with_prior ? dprior : NULL, dGz, m, K, 0.7f,
                              0.25f, dGpre, with_prior ? dGprior : NULL, dloss);
    float *got = host_dup(kg, dGpre, sizeof(G_pre));
    assert_true(cuda_close("kl G_pre", got, G_pre, 2 * MK, 1e-6, 1e-5));
    free(got);
    if (with_prior) {
        got = host_dup(kg, dGprior, sizeof(G_prior));
        assert_true(cuda_close("kl G_prior", got, G_prior, MK, 1e-6, 1e-5));
        free(got);
    }
    kern_download(kg, &loss_g, dloss, sizeof(float));
    assert_true(cuda_close("kl loss", &loss_g, &loss, 1, 0, 1e-6));
    kern_free(kg, dmu); kern_free(kg, dsd); kern_free(kg, deps); kern_free(kg, dprior);
    kern_free(kg, dGz); kern_free(kg, dGpre); kern_free(kg, dGprior); kern_free(kg, dloss);
    free(mu); free(sd); free(eps); free(prior); free(Gz);
}

static void test_gaussian_kl_backward(void **state)
{
    trng r = {17};
    kl_case(&r, 0);
    kl_case(&r, 1);
}

/* ---- decoder likelihood -------------------------------------------------------------- */

static void lik_case(const test_csr *X, int64_t r0, int64_t m, kern_lik lik, const float *z0,
                     double atol, double loss_rtol)
{
    int64_t n = X->ncols;
    float *Z = malloc(sizeof(float) * m * n), loss = 2.0f, loss_g;
    memcpy(Z, z0, sizeof(float) * m * n);
    float *dZ = dev_dup(kg, Z, sizeof(float) * m * n), *dloss = dev_dup(kg, &loss, sizeof(float));
    kern_sigmoid_lik_loss_grad(kc, lik, Z, test_csr_window(X, r0, m, 0), 0.37f, &loss);
    kern_sigmoid_lik_loss_grad(kg, lik, dZ, test_csr_window(X, r0, m, 1), 0.37f, dloss);
    float *got = host_dup(kg, dZ, sizeof(float) * m * n);
    kern_download(kg, &loss_g, dloss, sizeof(float));
    char what[64];
    snprintf(what, sizeof(what), "lik %d G_z %lldx%lld", lik, (long long)m, (long long)n);
    assert_true(cuda_close(what, got, Z, m * n, atol, 1e-5));
    for (int64_t i = 0; i < m * n; i++)
        assert_true(isfinite(got[i]));
    snprintf(what, sizeof(what), "lik %d loss", lik);
    assert_true(isfinite(loss_g));
    assert_true(cuda_close(what, &loss_g, &loss, 1, 0, loss_rtol));
    kern_free(kg, dZ); kern_free(kg, dloss);
    free(Z); free(got);
}

static void test_sigmoid_lik(void **state)
{
    trng r = {18};
    int64_t m = 70, n = 1000;
    test_csr X = sparse_fixture(&r, m, n);   /* window rows 3..72, some empty */
    float *z0 = rand_floats(&r, m * n, -8, 8);
    for (int lik = KERN_LIK_POIS; lik <= KERN_LIK_GAUS; lik++)
        lik_case(&X, 3, m, lik, z0, 1e-6, 1e-4);
    test_csr_free(kg, &X);
    free(z0);
}

/* More rows than a grid's y dimension holds (65,535): the kernel's rows grid-stride. */
static void test_sigmoid_lik_tall(void **state)
{
    trng r = {19};
    int64_t m = 65600, n = 8;
    int64_t *rowptr;
    int32_t *col;
    rand_csr(&r, m, n, 0.3, 7, &rowptr, &col);
    test_csr X = test_csr_make(kg, rowptr, col, m, n);
    float *z0 = rand_floats(&r, m * n, -8, 8);
    lik_case(&X, 0, m, KERN_LIK_POIS, z0, 1e-6, 1e-4);
    test_csr_free(kg, &X);
    free(z0);
}

/* Saturated logits: finite on the GPU too, and equal to the CPU's to 1e-5. */
static void test_sigmoid_lik_extreme(void **state)
{
    int64_t *rowptr = malloc(2 * sizeof(int64_t));
    int32_t *col = malloc(2 * sizeof(int32_t));
    rowptr[0] = 0;
    rowptr[1] = 2;
    col[0] = 0;
    col[1] = 3;
    test_csr X = test_csr_make(kg, rowptr, col, 1, 4);
    const float z0[4] = {-120.0f, 95.0f, -1e30f, 1e30f};
    for (int lik = KERN_LIK_POIS; lik <= KERN_LIK_GAUS; lik++)
        lik_case(&X, 0, 1, lik, z0, 1e-5, 1e-5);
    test_csr_free(kg, &X);
}

/* ---- Philox -------------------------------------------------------------------------- */

static void philox_case(int64_t rows, int64_t cols, int64_t id0, int64_t stride)
{
    size_t bytes = sizeof(float) * (size_t)(rows * cols);
    float *want = malloc(bytes), *dout = kern_alloc(kg, bytes), *got;
    const uint32_t k0 = 0xdeadbeefu, k1 = 0x12345678u, c3 = 5;
    /* 24-bit integers x >> 8 of the Philox outputs, exactly: identical on both */
    kern_philox_uniform(kc, want, rows, cols, k0, k1, c3, id0, stride, 0.0f, 16777216.0f);
    kern_philox_uniform(kg, dout, rows, cols, k0, k1, c3, id0, stride, 0.0f, 16777216.0f);
    got = host_dup(kg, dout, bytes);
    assert_memory_equal(got, want, bytes);
    for (int64_t i = 0; i < rows * cols; i++)
        assert_true(got[i] == floorf(got[i]));
    free(got);
    kern_philox_uniform(kc, want, rows, cols, k0, k1, c3, id0, stride, -0.3f, 0.7f);
    kern_philox_uniform(kg, dout, rows, cols, k0, k1, c3, id0, stride, -0.3f, 0.7f);
    got = host_dup(kg, dout, bytes);
    assert_memory_equal(got, want, bytes);
    printf("  %-34s ok: identical (24-bit integers and floats)\n", "philox uniform");
    free(got);
    kern_philox_normal(kc, want, rows, cols, k0, k1, c3, id0, stride);
    kern_philox_normal(kg, dout, rows, cols, k0, k1, c3, id0, stride);
    got = host_dup(kg, dout, bytes);
    assert_true(cuda_close("philox normal", got, want, rows * cols, 5e-6, 1e-5));
    free(got);
    kern_free(kg, dout);
    free(want);
}

static void test_philox(void **state)
{
    philox_case(33, 50, 5000000000LL, 7);   /* ids above 2^32: hi32 word in use */
    philox_case(129, 7, 3, 1);              /* cols % 4 != 0 */
    philox_case(1, 1, 0, 1);
    philox_case(4000, 100, 0, 1);
}

/* ---- Adam ---------------------------------------------------------------------------- */

/* Adam's p, m, v on the device (dp, dm, dv) against the CPU's, each to its own bound */
static void adam_state_close(const char *what, const float *dp, const float *dm,
                             const float *dv, const float *p, const float *m, const float *v,
                             int64_t n)
{
    const float *dev[3] = {dp, dm, dv}, *host[3] = {p, m, v};
    const double atol[3] = {1e-7, 1e-9, 1e-12};
    const char *name[3] = {"p", "m", "v"};
    for (int i = 0; i < 3; i++) {
        char label[64];
        snprintf(label, sizeof(label), "%s %s", what, name[i]);
        float *got = host_dup(kg, dev[i], sizeof(float) * (size_t)n);
        assert_true(cuda_close(label, got, host[i], n, atol[i], 1e-6));
        free(got);
    }
}

static void test_adam(void **state)
{
    trng r = {19};
    enum { N = 5000 };
    float *p = rand_floats(&r, N, -1, 1), *m = rand_floats(&r, N, -0.1f, 0.1f);
    float *v = rand_floats(&r, N, 0, 0.01f);
    float *dp = dev_dup(kg, p, sizeof(float) * N), *dm = dev_dup(kg, m, sizeof(float) * N);
    float *dv = dev_dup(kg, v, sizeof(float) * N), *dg = kern_alloc(kg, sizeof(float) * N);
    for (int t = 1; t <= 3; t++) {
        float *g = rand_floats(&r, N, -0.5f, 0.5f);
        kern_upload(kg, dg, g, sizeof(float) * N);
        kern_adam(kc, p, g, m, v, N, 1e-3, 0.9, 0.999, 1e-8, t, NULL, 0);
        kern_adam(kg, dp, dg, dm, dv, N, 1e-3, 0.9, 0.999, 1e-8, t, NULL, 0);
        free(g);
    }
    adam_state_close("adam", dp, dm, dv, p, m, v, N);
    kern_free(kg, dp); kern_free(kg, dm); kern_free(kg, dv); kern_free(kg, dg);
    free(p); free(m); free(v);
}

/* Lazy Adam on selected rows: the same sequence of catch-ups, steps (some with an empty
 * selection) and flushes on both backends; the device-written constants table is read back
 * by later calls. A non-finite gradient in a selected row sets the flag. */
static void test_adam_rows(void **state)
{
    enum { R = 3000, W = 24, N = R * W, STEPS = 12, CAP = 8 };
    trng r = {23};
    float *p = rand_floats(&r, N, -1, 1), *m = calloc(N, sizeof(float));
    float *v = calloc(N, sizeof(float)), *g = calloc(N, sizeof(float));
    float *tab = calloc(2 * CAP, sizeof(float));
    int64_t *last = calloc(R, sizeof(int64_t)), t0 = 0;
    float *dp = dev_dup(kg, p, sizeof(float) * N), *dm = dev_dup(kg, m, sizeof(float) * N);
    float *dv = dev_dup(kg, v, sizeof(float) * N), *dg = kern_alloc(kg, sizeof(float) * N);
    float *dtab = kern_alloc(kg, sizeof(float) * 2 * CAP);
    int64_t *dlast = dev_dup(kg, last, sizeof(int64_t) * R);
    kern_colset *hs = kern_colset_create(kc, R, 6), *ds = kern_colset_create(kg, R, 6);
    for (int t = 1; t <= STEPS; t++) {
        int64_t *rowptr;
        int32_t *col;
        rand_csr(&r, 6, R, t % 5 == 0 ? 0.0 : 0.01, 0, &rowptr, &col);   /* some steps: none */
        test_csr X = test_csr_make(kg, rowptr, col, 6, R);
        for (int64_t i = 0; i < N; i++)
            g[i] = 0.0f;
        for (int64_t e = 0; e < rowptr[6]; e++)
            for (int c = 0; c < W; c++)
                g[(int64_t)col[e] * W + c] = trng_unif(&r, -0.5f, 0.5f);
        kern_upload(kg, dg, g, sizeof(float) * N);
        kern_colset_build(kc, hs, test_csr_window(&X, 0, 6, 0));
        kern_colset_build(kg, ds, test_csr_window(&X, 0, 6, 1));
        kern_adam_rows(kc, p, g, m, v, R, W, hs, last, tab, CAP, t0, t - 1, 0, 1e-2, 0.9,
                       0.999, 1e-8, NULL, 0);
        kern_adam_rows(kg, dp, dg, dm, dv, R, W, ds, dlast, dtab, CAP, t0, t - 1, 0, 1e-2,
                       0.9, 0.999, 1e-8, NULL, 0);
        kern_adam_rows(kc, p, g, m, v, R, W, hs, last, tab, CAP, t0, t, 1, 1e-2, 0.9, 0.999,
                       1e-8, NULL, 0);
        kern_adam_rows(kg, dp, dg, dm, dv, R, W, ds, dlast, dtab, CAP, t0, t, 1, 1e-2, 0.9,
                       0.999, 1e-8, NULL, 0);
        if (t % 7 == 0) {   /* flush: every row to step t, a new table origin */
            kern_adam_rows(kc, p, g, m, v, R, W, NULL, last, tab, CAP, t0, t, 0, 1e-2, 0.9,
                           0.999, 1e-8, NULL, 0);
            kern_adam_rows(kg, dp, dg, dm, dv, R, W, NULL, dlast, dtab, CAP, t0, t, 0, 1e-2,
                           0.9, 0.999, 1e-8, NULL, 0);
            t0 = t;
        }
        test_csr_free(kg, &X);
    }
    kern_adam_rows(kc, p, g, m, v, R, W, NULL, last, tab, CAP, t0, STEPS, 0, 1e-2, 0.9, 0.999,
                   1e-8, NULL, 0);
    kern_adam_rows(kg, dp, dg, dm, dv, R, W, NULL, dlast, dtab, CAP, t0, STEPS, 0, 1e-2, 0.9,
                   0.999, 1e-8, NULL, 0);
    adam_state_close("adam_rows", dp, dm, dv, p, m, v, N);
    int64_t *glast = host_dup(kg, dlast, sizeof(int64_t) * R);
    for (int j = 0; j < R; j++)
        assert_int_equal(glast[j], STEPS);
    free(glast);
    /* a NaN in a selected row's gradient is flagged */
    int64_t rp[2] = {0, 1};
    int32_t c1[1] = {5};
    test_csr one = test_csr_make(kg, rp, c1, 1, R);
    g[5 * W + 3] = NAN;
    kern_upload(kg, dg, g, sizeof(float) * N);
    int32_t none = -1, flag = 0, *dflag = dev_dup(kg, &none, sizeof(none));
    kern_colset_build(kg, ds, test_csr_window(&one, 0, 1, 1));
    kern_adam_rows(kg, dp, dg, dm, dv, R, W, ds, dlast, dtab, CAP, STEPS, STEPS + 1, 1, 1e-2,
                   0.9, 0.999, 1e-8, dflag, 9);
    kern_download(kg, &flag, dflag, sizeof(flag));
    assert_int_equal(flag, 9);
    kern_free(kg, one.d_rowptr); kern_free(kg, one.d_col);
    kern_colset_free(kc, hs); kern_colset_free(kg, ds);
    kern_free(kg, dp); kern_free(kg, dm); kern_free(kg, dv); kern_free(kg, dg);
    kern_free(kg, dtab); kern_free(kg, dlast); kern_free(kg, dflag);
    free(p); free(m); free(v); free(g); free(tab); free(last);
}

/* The numerical guard on the device: same tags as the CPU, the first one kept. */
static void test_nonfinite_flags(void **state)
{
    enum { N = 70000 };
    trng r = {20};
    float *x = rand_floats(&r, N, -1, 1);
    float *dx = dev_dup(kg, x, sizeof(float) * N), *dp = kern_alloc(kg, sizeof(float) * N);
    float *dm = kern_alloc(kg, sizeof(float) * N), *dv = kern_alloc(kg, sizeof(float) * N);
    int32_t none = -1, flag = 0, *dflag = dev_dup(kg, &none, sizeof(none));
    kern_find_nonfinite(kg, dx, N, dflag, 3);
    kern_adam(kg, dp, dx, dm, dv, N, 1e-3, 0.9, 0.999, 1e-8, 1, dflag, 4);
    kern_download(kg, &flag, dflag, sizeof(flag));
    assert_int_equal(flag, -1);
    x[N - 5] = NAN;
    kern_upload(kg, dx, x, sizeof(float) * N);
    kern_adam(kg, dp, dx, dm, dv, N, 1e-3, 0.9, 0.999, 1e-8, 2, dflag, 5);
    kern_find_nonfinite(kg, dx, N, dflag, 6);
    kern_download(kg, &flag, dflag, sizeof(flag));
    assert_int_equal(flag, 5);
    kern_upload(kg, dflag, &none, sizeof(none));
    x[N - 5] = -INFINITY;
    kern_upload(kg, dx, x, sizeof(float) * N);
    kern_find_nonfinite(kg, dx, N, dflag, 6);
    kern_download(kg, &flag, dflag, sizeof(flag));
    assert_int_equal(flag, 6);
    int32_t other_negative = -7;   /* the contract: any negative value means "none yet" */
    kern_upload(kg, dflag, &other_negative, sizeof(other_negative));
    kern_find_nonfinite(kg, dx, N, dflag, 8);
    kern_download(kg, &flag, dflag, sizeof(flag));
    assert_int_equal(flag, 8);
    kern_free(kg, dx); kern_free(kg, dp); kern_free(kg, dm); kern_free(kg, dv); kern_free(kg, dflag);
    free(x);
}

/* ---- top-K --------------------------------------------------------------------------- */

/* top_k of S [m × n] excluding X's rows [1, 1+m): indices and values identical. */
static void topk_case(const char *label, const float *S, int64_t m, int64_t n,
                      const test_csr *X, int top_k)
{
    size_t ni = (size_t)(m * top_k);
    int32_t *idx = malloc(sizeof(int32_t) * ni);
    float *val = malloc(sizeof(float) * ni);
    float *dS = dev_dup(kg, S, sizeof(float) * (size_t)(m * n));
    int32_t *didx = kern_alloc(kg, sizeof(int32_t) * ni);
    float *dval = kern_alloc(kg, sizeof(float) * ni);
    kern_topk_excluding(kc, S, m, n, test_csr_window(X, 1, m, 0), top_k, idx, val);
    kern_topk_excluding(kg, dS, m, n, test_csr_window(X, 1, m, 1), top_k, didx, dval);
    int32_t *gidx = host_dup(kg, didx, sizeof(int32_t) * ni);
    float *gval = host_dup(kg, dval, sizeof(float) * ni);
    for (size_t i = 0; i < ni; i++)
        if (gidx[i] != idx[i]) {
            fprintf(stderr, "topk %s top_k=%d: row %zu rank %zu: cuda idx %d, cpu idx %d\n",
                    label, top_k, i / (size_t)top_k, i % (size_t)top_k, gidx[i], idx[i]);
            fail();
        }
    assert_true(cuda_close(label, gval, val, (int64_t)ni, 0, 0));
    /* val may be NULL */
    kern_topk_excluding(kg, dS, m, n, test_csr_window(X, 1, m, 1), top_k, didx, NULL);
    int32_t *gidx2 = host_dup(kg, didx, sizeof(int32_t) * ni);
    assert_memory_equal(gidx2, idx, sizeof(int32_t) * ni);
    kern_free(kg, dS); kern_free(kg, didx); kern_free(kg, dval);
    free(idx); free(val); free(gidx); free(gval); free(gidx2);
}

/* Distinct scores: a random permutation of 0..n−1, scaled, per row. */
static float *distinct_scores(trng *r, int64_t m, int64_t n)
{
    float *S = malloc(sizeof(float) * (size_t)(m * n));
    for (int64_t i = 0; i < m; i++) {
        float *s = S + i * n;
        for (int64_t c = 0; c < n; c++)
            s[c] = (float)c;
        for (int64_t c = n - 1; c > 0; c--) {
            int64_t j = trng_u32(r) % (uint64_t)(c + 1);
            float t = s[c];
            s[c] = s[j];
            s[j] = t;
        }
        for (int64_t c = 0; c < n; c++)
            s[c] = (s[c] - (float)n / 2) * 0.01f;
    }
    return S;
}

static void test_topk_distinct(void **state)
{
    trng r = {20};
    int64_t m = 50, n = 300;
    int64_t *rowptr;
    int32_t *col;
    rand_csr(&r, m + 2, n, 0.2, 9, &rowptr, &col);
    test_csr X = test_csr_make(kg, rowptr, col, m + 2, n);
    float *S = distinct_scores(&r, m, n);
    topk_case("distinct", S, m, n, &X, 1);
    topk_case("distinct", S, m, n, &X, 10);
    topk_case("distinct", S, m, n, &X, 100);
    topk_case("distinct", S, m, n, &X, 300);   /* more than the candidates: padding */
    topk_case("distinct", S, m, n, &X, 400);
    test_csr_free(kg, &X);
    free(S);
}

/* Ties, NaN, ±inf, ±0; a fully excluded row. */
static void test_topk_ties(void **state)
{
    trng r = {21};
    int64_t m = 40, n = 257;
    int64_t *rowptr = malloc(sizeof(int64_t) * (size_t)(m + 2));
    int32_t *col = malloc(sizeof(int32_t) * (size_t)((m + 1) * n));
    int64_t nnz = 0;
    rowptr[0] = 0;
    for (int64_t i = 0; i < m + 1; i++) {
        for (int64_t c = 0; c < n; c++)
            if (i == 5 || trng_u32(&r) % 10 == 0)    /* window row 4 excludes everything */
                col[nnz++] = (int32_t)c;
        rowptr[i + 1] = nnz;
    }
    test_csr X = test_csr_make(kg, rowptr, col, m + 1, n);
    float *S = malloc(sizeof(float) * (size_t)(m * n));
    static const float odd[] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f};
    for (int64_t i = 0; i < m * n; i++) {
        uint32_t u = trng_u32(&r);
        S[i] = u % 7 == 0 ? odd[(u >> 8) % 5] : (float)((u >> 8) % 5) - 2.0f;
    }
    for (int64_t c = 0; c < n; c++)          /* row 0: all equal; row 1: all NaN */
        S[c] = 1.0f, S[n + c] = NAN;
    int ks[] = {1, 3, 16, 60, 257, 300};
    for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++)
        topk_case("ties", S, m, n, &X, ks[i]);
    test_csr_free(kg, &X);
    free(S);
}

/* top_k above 4096 (8192-entry sort) and more rows than one chunk (1024 rows at that size). */
static void test_topk_large(void **state)
{
    trng r = {22};
    int64_t m = 1030, n = 4500;
    int64_t *rowptr;
    int32_t *col;
    rand_csr(&r, m + 1, n, 0.01, 0, &rowptr, &col);
    test_csr X = test_csr_make(kg, rowptr, col, m + 1, n);
    float *S = malloc(sizeof(float) * (size_t)(m * n));
    for (int64_t i = 0; i < m * n; i++)      /* 2^16 levels: many ties */
        S[i] = (float)(trng_u32(&r) >> 16);
    topk_case("large", S, m, n, &X, 4100);
    topk_case("large", S, m, n, &X, 20);
    test_csr_free(kg, &X);
    free(S);
}

int main(void)
{
    if (!cuda_test_have_device())
        return CUDA_TEST_SKIP;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_ops),
        cmocka_unit_test(test_gemm_fp32),
        cmocka_unit_test(test_gemm_tf32),
        cmocka_unit_test(test_gemm_bf16),
        cmocka_unit_test(test_bias_scale_colsum_accumulate),
        cmocka_unit_test(test_rows_cyclic_from_blocked),
        cmocka_unit_test(test_copy_rows),
        cmocka_unit_test(test_csr_products),
        cmocka_unit_test(test_activations),
        cmocka_unit_test(test_gaussian_sample),
        cmocka_unit_test(test_gaussian_kl_backward),
        cmocka_unit_test(test_sigmoid_lik),
        cmocka_unit_test(test_sigmoid_lik_tall),
        cmocka_unit_test(test_sigmoid_lik_extreme),
        cmocka_unit_test(test_philox),
        cmocka_unit_test(test_adam),
        cmocka_unit_test(test_adam_rows),
        cmocka_unit_test(test_colset),
        cmocka_unit_test(test_nonfinite_flags),
        cmocka_unit_test(test_topk_distinct),
        cmocka_unit_test(test_topk_ties),
        cmocka_unit_test(test_topk_large),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
