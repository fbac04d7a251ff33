/* tests/cuda/test_cuda_model.c — a few BiVAE training steps (src/model.c on the CPU and on
 * the CUDA backend, same tiny data, same seed): the step losses, the first gradient of each
 * side and, after three steps per side, every parameter, Adam moment and table agree.
 *
 * Tolerances: the backends differ by GEMM summation order (~1e-7 relative to the terms
 * summed) and a few ulp in transcendental functions. Adam then normalizes each gradient
 * element (m̂ / sqrt(v̂)): an element whose true value nearly cancels (|g| = δ·|terms|) has a
 * relative error ~1e-7/δ, and its parameter may move by that fraction of lr differently —
 * rare, but over thousands of elements not negligible. So the parameters are checked
 * elementwise only against gross errors (5% of one step) and as a whole tightly (the
 * difference's norm within 1e-3 of the update's norm); the forward and backward are checked
 * tightly through the losses and the first gradients:
 *   loss per step            rtol 1e-4 (the CPU sums likelihood rows in float)
 *   gradient (first step)    atol 1e-5·max|g| + rtol 1e-4
 *   parameters after steps   atol 0.05·lr + rtol 1e-5, and ‖Δ‖ <= 1e-3·‖p − p_init‖
 *   Adam m, v                atol 1e-5·max|ref| + rtol 1e-4
 *   tables θ̃ β̃, μ            atol 1e-4·max|ref| + rtol 1e-4
 * Wiring errors (a wrong transposition, a missing bias) give differences of order lr or
 * of the values themselves: far outside these bounds. Skips (77) without a CUDA device. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "cuda_test_util.h"
#include "src/model.h"

enum { U = 61, I = 47, B = 16, K = 8, STEPS = 3 };
static const double LR = 1e-3;

typedef struct model_case {
    kern_act act;
    kern_lik lik;
    int n_hidden, hidden[2];
    int cap;                 /* CAP prior encoders on both sides (D_U, D_I features) */
} model_case;

enum { D_U = 5, D_I = 3 };

typedef struct data {
    int64_t *Ru_rowptr, *Ri_rowptr;
    int32_t *Ru_col, *Ri_col;
} data;

/* Ru random [U × I] (every 9th user empty), Ri its transpose. */
static data make_data(void)
{
    data d;
    trng r = {31};
    rand_csr(&r, U, I, 0.15, 9, &d.Ru_rowptr, &d.Ru_col);
    int64_t nnz = d.Ru_rowptr[U];
    d.Ri_rowptr = calloc(I + 1, sizeof(int64_t));
    d.Ri_col = malloc(sizeof(int32_t) * (size_t)(nnz + 1));
    for (int64_t j = 0; j < nnz; j++)
        d.Ri_rowptr[d.Ru_col[j] + 1]++;
    for (int i = 0; i < I; i++)
        d.Ri_rowptr[i + 1] += d.Ri_rowptr[i];
    int64_t *fill = malloc(sizeof(int64_t) * I);
    memcpy(fill, d.Ri_rowptr, sizeof(int64_t) * I);
    for (int u = 0; u < U; u++)                    /* users ascending: sorted columns */
        for (int64_t j = d.Ru_rowptr[u]; j < d.Ru_rowptr[u + 1]; j++)
            d.Ri_col[fill[d.Ru_col[j]]++] = u;
    free(fill);
    return d;
}

static void free_data(data *d)
{
    free(d->Ru_rowptr); free(d->Ru_col); free(d->Ri_rowptr); free(d->Ri_col);
}

static double max_abs(const float *x, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++)
        m = fabs(x[i]) > m ? fabs(x[i]) : m;
    return m;
}

/* Device buffer of the CUDA model against the CPU model's host buffer. */
static int same(const char *what, kern *kg, const float *dev, const float *ref, int64_t n,
                double atol_of_max, double atol, double rtol)
{
    float *got = host_dup(kg, dev, sizeof(float) * (size_t)n);
    int ok = cuda_close(what, got, ref, n, atol + atol_of_max * max_abs(ref, n), rtol);
    free(got);
    return ok;
}

/* One training step of side s on both models; the loss (and on the first step the
 * gradient) compared before Adam. */
static void step_both(bivae_model *mc, bivae_model *mg, bivae_side s, int step)
{
    int64_t N = model_side_rows(mc, s), l0 = (int64_t)step * B;
    int64_t l1 = l0 + B < N ? l0 + B : N;
    float scale = (float)(1.0 / (double)(l1 - l0));
    bivae_model *ms[2] = {mc, mg};
    for (int b = 0; b < 2; b++) {
        model_zero_grad(ms[b], s, l1 - l0);
        model_forward(ms[b], s, l0, l1, 1, PASS_TRAIN, 1);
        model_backward(ms[b], s, l0, l1, scale);
    }
    encoder *ec = &mc->enc[s], *eg = &mg->enc[s];
    char what[64];
    snprintf(what, sizeof(what), "side %d step %d loss", s, step);
    assert_true(same(what, mg->k, eg->grad + eg->n_params, ec->grad + ec->n_params, 2, 0, 0,
                     1e-4));
    if (step == 0) {
        snprintf(what, sizeof(what), "side %d gradient", s);
        assert_true(same(what, mg->k, eg->grad, ec->grad, ec->n_params, 1e-5, 0, 1e-4));
    }
    for (int b = 0; b < 2; b++) {
        model_adam_step(ms[b], s, l0, l1, LR, NULL, 0);
        model_forward(ms[b], s, l0, l1, 1, PASS_REFRESH, 1);
        model_store_rows(ms[b], s, l0, l1);
    }
}

/* With one rank the table of side s is sample_local in order: refresh the rows stepped. */
static void publish_rows(bivae_model *m, bivae_side s, int64_t rows)
{
    kern_copy(m->k, m->table[s], m->sample_local[s], (size_t)(rows * m->K) * sizeof(float));
}

/* ‖cuda − cpu‖ <= 1e-3·‖cpu − init‖ over the n parameters (init: before any step). */
static int params_norm_close(const char *what, kern *kg, const float *dev, const float *ref,
                             const float *init, int64_t n)
{
    float *got = host_dup(kg, dev, sizeof(float) * (size_t)n);
    double diff = 0, moved = 0;
    for (int64_t i = 0; i < n; i++) {
        diff += ((double)got[i] - ref[i]) * ((double)got[i] - ref[i]);
        moved += ((double)ref[i] - init[i]) * ((double)ref[i] - init[i]);
    }
    free(got);
    printf("  %-34s |cuda - cpu| = %.3g, |update| = %.3g\n", what, sqrt(diff), sqrt(moved));
    return sqrt(diff) <= 1e-3 * sqrt(moved);
}

/* init[2]: the parameters before the first step (NULL right after model_init). The GPU
 * model's Adam is lazy (src/model_adam.c), the CPU's dense: whole tensors are compared
 * after model_adam_flush, as a checkpoint reads them. */
static void compare_models(bivae_model *mc, bivae_model *mg, float *const init[2])
{
    for (int s = 0; s < 2; s++) {
        model_adam_flush(mc, (bivae_side)s);
        model_adam_flush(mg, (bivae_side)s);
        encoder *ec = &mc->enc[s], *eg = &mg->enc[s];
        int64_t n = ec->n_params, rows = model_side_rows(mc, s) * K;
        const char *name = s ? "item params" : "user params";
        assert_true(same(name, mg->k, eg->params, ec->params, n, 0, 0.05 * LR, 1e-5));
        if (init)
            assert_true(params_norm_close(name, mg->k, eg->params, ec->params, init[s], n));
        assert_true(same("adam m", mg->k, eg->adam_m, ec->adam_m, n, 1e-5, 0, 1e-4));
        assert_true(same("adam v", mg->k, eg->adam_v, ec->adam_v, n, 1e-5, 0, 1e-4));
        assert_true(same("table", mg->k, mg->table[s], mc->table[s], rows, 1e-4, 0, 1e-4));
        assert_true(same("mu", mg->k, mg->mu_local[s], mc->mu_local[s], rows, 1e-4, 0, 1e-4));
    }
}

static void run_case(const model_case *c)
{
    data d = make_data();
    bivae_model_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.k = K;
    cfg.n_hidden = c->n_hidden;
    cfg.hidden[0] = c->hidden[0];
    cfg.hidden[1] = c->hidden[1];
    cfg.act = c->act;
    cfg.likelihood = c->lik;
    cfg.beta_kl = 1.0;
    kern *kc = kern_cpu_create(1), *kg = cuda_test_backend(KERN_GEMM_FP32);
    bivae_model mc, mg;
    static float F_u[U * D_U], F_i[I * D_I];                 /* [U × D_U], [I × D_I] */
    trng r = {77};
    fill_unif(&r, F_u, U * D_U, -1, 1);
    fill_unif(&r, F_i, I * D_I, -1, 1);
    model_priors pr = {{F_u, F_i}, {c->cap ? D_U : 0, c->cap ? D_I : 0}};
    model_init_cap(&mc, kc, &cfg, 42, 0, 1, U, I, d.Ru_rowptr, d.Ru_col, U, d.Ri_rowptr,
                   d.Ri_col, I, B, NULL, 1, &pr);
    model_init_cap(&mg, kg, &cfg, 42, 0, 1, U, I, d.Ru_rowptr, d.Ru_col, U, d.Ri_rowptr,
                   d.Ri_col, I, B, NULL, 1, &pr);
    assert_int_equal(mc.enc[SIDE_USER].n_prior_in, c->cap ? D_U : 0);
    compare_models(&mc, &mg, NULL);                  /* initialization (Philox) */
    float *init[2];
    for (int s = 0; s < 2; s++) {
        init[s] = malloc(sizeof(float) * (size_t)mc.enc[s].n_params);
        memcpy(init[s], mc.enc[s].params, sizeof(float) * (size_t)mc.enc[s].n_params);
    }
    for (int step = 0; step < STEPS; step++)
        step_both(&mc, &mg, SIDE_ITEM, step);
    publish_rows(&mc, SIDE_ITEM, STEPS * B);
    publish_rows(&mg, SIDE_ITEM, STEPS * B);
    for (int step = 0; step < STEPS; step++)
        step_both(&mc, &mg, SIDE_USER, step);
    compare_models(&mc, &mg, init);
    free(init[0]);
    free(init[1]);
    model_free(&mc);
    model_free(&mg);
    kern_destroy(kc);
    kern_destroy(kg);
    free_data(&d);
}

static void test_tanh_pois(void **state)
{
    model_case c = {KERN_ACT_TANH, KERN_LIK_POIS, 1, {16, 0}, 0};
    run_case(&c);
}

/* CAP: the prior encoders' forward (GEMM + bias), the KL to N(μ_prior, 1), the gradients of
 * W_p and b_p, their Adam */
static void test_tanh_pois_cap(void **state)
{
    model_case c = {KERN_ACT_TANH, KERN_LIK_POIS, 1, {16, 0}, 1};
    run_case(&c);
}

static void test_elu_bern_two_layers(void **state)
{
    model_case c = {KERN_ACT_ELU, KERN_LIK_BERN, 2, {20, 12}, 0};
    run_case(&c);
}

static void test_relu_gaus(void **state)
{
    model_case c = {KERN_ACT_RELU, KERN_LIK_GAUS, 1, {16, 0}, 0};
    run_case(&c);
}

int main(void)
{
    if (!cuda_test_have_device())
        return CUDA_TEST_SKIP;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tanh_pois),
        cmocka_unit_test(test_tanh_pois_cap),
        cmocka_unit_test(test_elu_bern_two_layers),
        cmocka_unit_test(test_relu_gaus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
