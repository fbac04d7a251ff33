/* tests/kernels/test_cpu_isa.c — every build of the CPU kernels this binary holds
 * (kernels.h kern_cpu_isa_built: x86-64, x86-64-v3, x86-64-v4 in a portable build) gives
 * the same bits as the first on the same inputs, for every op but GEMM (OpenBLAS picks its
 * own kernels, the same for all builds). Sizes are odd so vector tails run. The builds this
 * CPU cannot run are left out; exit 77 (skip) when fewer than two are left. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernels/kernels.h"
#include "test_util.h"

enum { M = 37, N = 203, K = 13, H = 45, CAP = 8, TOPK = 7, MAX_ISAS = 8 };

static kern *backends[MAX_ISAS];
static const char *names[MAX_ISAS];
static int n_backends;

/* What one backend computes from inputs drawn with a fixed seed. */
typedef struct outputs {
    float act_h[5][M * H], act_g[5][M * H];
    float mu[M * K], sigma[M * K], z[M * K], g_pre[M * 2 * K], g_prior[M * K], kl;
    float lik_z[3][M * N], lik_loss[3], lik_row_loss[3][M];
    float philox_n[M * K], philox_u[M * K];
    float p[N * H], m[N * H], v[N * H], rows_p[N * H], rows_m[N * H], rows_v[N * H];
    float spmm[M * H], spmm_t[N * H], colsum[H];
    int32_t top_idx[M * TOPK];
    float top_val[M * TOPK];
} outputs;

static void run_activations(kern *k, trng *r, outputs *o)
{
    float a[M * H], g[M * H];
    fill_unif(r, a, M * H, -4.0f, 7.0f);   /* across every kink and both tanh branches */
    fill_unif(r, g, M * H, -1.0f, 1.0f);
    for (int f = 0; f < 5; f++) {
        kern_act_forward(k, (kern_act)f, a, o->act_h[f], M * H);
        memcpy(o->act_g[f], g, sizeof g);
        kern_act_backward(k, (kern_act)f, a, o->act_h[f], o->act_g[f], M * H);
    }
}

static void run_gaussian(kern *k, trng *r, outputs *o)
{
    float pre[M * 2 * K], eps[M * K], prior[M * K], g_z[M * K];
    fill_unif(r, pre, M * 2 * K, -3.0f, 3.0f);
    fill_unif(r, eps, M * K, -2.0f, 2.0f);
    fill_unif(r, prior, M * K, -1.0f, 1.0f);
    fill_unif(r, g_z, M * K, -1.0f, 1.0f);
    kern_gaussian_sample(k, pre, eps, M, K, o->mu, o->sigma, o->z);
    o->kl = 0.0f;
    kern_gaussian_kl_backward(k, o->mu, o->sigma, eps, prior, g_z, M, K, 0.7f, 1.3f, o->g_pre,
                              o->g_prior, &o->kl);
}

static void run_likelihoods(kern *k, trng *r, kern_csr X, outputs *o)
{
    float z[M * N];
    fill_unif(r, z, M * N, -12.0f, 12.0f);
    for (int lik = 0; lik < 3; lik++) {
        memcpy(o->lik_z[lik], z, sizeof z);
        o->lik_loss[lik] = 0.0f;
        kern_sigmoid_lik_loss_grad(k, (kern_lik)lik, o->lik_z[lik], X, 0.5f, &o->lik_loss[lik]);
        for (int64_t i = 0; i < M; i++) {   /* one row at a time: each row's sum seen */
            kern_csr row = {1, N, X.rowptr + i, X.col};
            float z_row[N];
            memcpy(z_row, z + i * N, sizeof z_row);
            o->lik_row_loss[lik][i] = 0.0f;
            kern_sigmoid_lik_loss_grad(k, (kern_lik)lik, z_row, row, 0.5f,
                                       &o->lik_row_loss[lik][i]);
        }
    }
    kern_philox_normal(k, o->philox_n, M, K, 7, 11, 3, 5, 2);
    kern_philox_uniform(k, o->philox_u, M, K, 7, 11, 4, 5, 2, -0.25f, 0.25f);
}

/* 5 steps of kern_adam on [N × H], and of kern_adam_rows with every other row selected */
static void run_adam(kern *k, trng *r, outputs *o)
{
    static float g[N * H];
    int64_t rowptr[2] = {0, 0}, last[N] = {0};
    int32_t col[N];
    for (int j = 0; j < N; j += 2)
        col[rowptr[1]++] = j;
    kern_colset *sel = kern_colset_create(k, N, 1);
    kern_colset_build(k, sel, (kern_csr){1, N, rowptr, col});
    float tab[2 * CAP];
    fill_unif(r, o->p, N * H, -1.0f, 1.0f);
    memcpy(o->rows_p, o->p, sizeof o->p);
    memset(o->m, 0, sizeof o->m), memset(o->v, 0, sizeof o->v);
    memset(o->rows_m, 0, sizeof o->m), memset(o->rows_v, 0, sizeof o->v);
    for (int t = 1; t <= 5; t++) {
        fill_unif(r, g, N * H, -0.5f, 0.5f);
        kern_adam(k, o->p, g, o->m, o->v, N * H, 1e-2, 0.9, 0.999, 1e-8, t, NULL, 0);
        kern_adam_rows(k, o->rows_p, g, o->rows_m, o->rows_v, N, H, sel, last, tab, CAP, 0, t,
                       1, 1e-2, 0.9, 0.999, 1e-8, NULL, 0);
    }
    kern_colset_free(k, sel);
}

static void run_sparse(kern *k, trng *r, kern_csr X, outputs *o)
{
    float W[N * H], b[H], S[M * N];
    fill_unif(r, W, N * H, -1.0f, 1.0f);
    fill_unif(r, b, H, -1.0f, 1.0f);
    kern_csr_matmul_bias(k, X, W, b, H, o->spmm);
    memset(o->spmm_t, 0, sizeof o->spmm_t);
    kern_csr_t_matmul_add(k, X, o->spmm, H, o->spmm_t);
    memset(o->colsum, 0, sizeof o->colsum);
    kern_colsum_add(k, o->spmm, M, H, o->colsum);
    fill_unif(r, S, M * N, -1.0f, 1.0f);
    kern_topk_excluding(k, S, M, N, X, TOPK, o->top_idx, o->top_val);
}

static void run_all(kern *k, outputs *o)
{
    trng r = {2024};
    int64_t *rowptr;
    int32_t *col;
    random_csr(&r, M, N, 0.1, &rowptr, &col);
    kern_csr X = {M, N, rowptr, col};
    run_activations(k, &r, o);
    run_gaussian(k, &r, o);
    run_likelihoods(k, &r, X, o);
    run_adam(k, &r, o);
    run_sparse(k, &r, X, o);
    free(rowptr);
    free(col);
}

#define SAME(field)                                                                       \
    do {                                                                                  \
        if (memcmp(&a->field, &b->field, sizeof a->field) != 0)                           \
            fail_msg("%s differs between the %s and %s kernels", #field, names[0], name); \
    } while (0)

static void compare(const outputs *a, const outputs *b, const char *name)
{
    SAME(act_h); SAME(act_g); SAME(mu); SAME(sigma); SAME(z); SAME(g_pre); SAME(g_prior);
    SAME(kl); SAME(lik_z); SAME(lik_loss); SAME(lik_row_loss); SAME(philox_n); SAME(philox_u); SAME(p); SAME(m);
    SAME(v); SAME(rows_p); SAME(rows_m); SAME(rows_v); SAME(spmm); SAME(spmm_t);
    SAME(colsum); SAME(top_idx); SAME(top_val);
}

static void test_every_build_gives_the_same_bits(void **state)
{
    outputs *ref = calloc(1, sizeof(outputs)), *got = calloc(1, sizeof(outputs));
    run_all(backends[0], ref);
    for (int i = 1; i < n_backends; i++) {
        memset(got, 0, sizeof *got);
        run_all(backends[i], got);
        compare(ref, got, names[i]);
        fprintf(stderr, "%s: same bits as %s\n", names[i], names[0]);
    }
    free(ref);
    free(got);
}

int main(void)
{
    for (int i = 0; kern_cpu_isa_built(i) && n_backends < MAX_ISAS; i++) {
        char why[256];
        setenv("BIVAE_CPU_ISA", kern_cpu_isa_built(i), 1);
        if (!kern_cpu_isa(why, sizeof why)) {
            fprintf(stderr, "left out: %s\n", why);
            continue;
        }
        names[n_backends] = kern_cpu_isa_built(i);
        backends[n_backends++] = kern_cpu_create(1);
    }
    unsetenv("BIVAE_CPU_ISA");
    if (n_backends < 2) {
        fprintf(stderr, "skip: this binary holds %d build(s) of the CPU kernels this CPU runs: "
                "nothing to compare\n", n_backends);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_build_gives_the_same_bits),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    for (int i = 0; i < n_backends; i++)
        kern_destroy(backends[i]);
    return failed;
}
