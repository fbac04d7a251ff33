/* tests/model/test_model_grad.c — finite-difference check of the whole BiVAE batch loss
 * (encoder, reparameterization, KL, decoder through the dense/sparse likelihood split)
 * against the backward pass, for every likelihood × activation × 1 and 2 hidden layers,
 * on both sides, on the real model code (float32: tolerances reflect that).
 *
 * Loss of a batch of nr rows: L = (1/nr) Σ_rows (λ·KL − ll); model_backward accumulates
 * ∂L/∂params with scale = 1/nr and the unscaled sum into grad[n_params]. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "kernels/kernels.h"
#include "src/model.h"
#include "test_util.h"

enum { U = 6, I = 8 };

typedef struct fixture {
    int64_t Ru_ptr[U + 1], Ri_ptr[I + 1];
    int32_t Ru_col[U * I], Ri_col[U * I];
} fixture;

static void make_data(fixture *f)
{
    trng r = {99};
    random_ratings(&r, U, I, f->Ru_ptr, f->Ru_col, f->Ri_ptr, f->Ri_col);
}

/* Loss of rows [0, nr) of side s at the current parameters; gradient left in enc.grad. */
static double batch_loss(bivae_model *m, bivae_side s, int64_t nr)
{
    model_zero_grad(m, s, nr);
    model_forward(m, s, 0, nr, 1, PASS_TRAIN, 1);
    model_backward(m, s, 0, nr, (float)(1.0 / (double)nr));
    return (double)m->enc[s].grad[m->enc[s].n_params] / (double)nr;
}

/* Activation pattern signature: which side of each kink every pre-activation is on. */
static uint64_t kink_pattern(const bivae_model *m, bivae_side s, int64_t nr)
{
    const encoder *e = &m->enc[s];
    uint64_t h = 1469598103934665603ull;
    for (int j = 1; j <= e->n_layers; j++)
        for (int64_t i = 0; i < nr * e->width[j]; i++) {
            float a = e->a[j][i];
            h = (h ^ (uint64_t)((a > 0) + 2 * (a < 6))) * 1099511628211ull;
        }
    return h;
}

/* Checks every parameter of side s; returns the number of mismatches. */
static int check_side(bivae_model *m, bivae_side s, const char *label)
{
    encoder *e = &m->enc[s];
    int64_t nr = m->n_local[s], n = e->n_params;
    float *analytic = malloc(sizeof(float) * (size_t)n);
    batch_loss(m, s, nr);
    memcpy(analytic, e->grad, sizeof(float) * (size_t)n);
    uint64_t base_pattern = kink_pattern(m, s, nr);
    int bad = 0, skipped = 0;
    for (int64_t i = 0; i < n; i++) {
        float p0 = e->params[i], h = 4e-3f;
        e->params[i] = p0 + h;
        double lp = batch_loss(m, s, nr);
        uint64_t pat_p = kink_pattern(m, s, nr);
        e->params[i] = p0 - h;
        double lm = batch_loss(m, s, nr);
        uint64_t pat_m = kink_pattern(m, s, nr);
        e->params[i] = p0;
        if (pat_p != base_pattern || pat_m != base_pattern) {
            skipped++;           /* a ReLU kink lies inside [p−h, p+h] */
            continue;
        }
        double fd = (lp - lm) / (2.0 * ((double)(p0 + h) - (double)p0));
        double tol = 3e-4 + 1.5e-2 * fabs(fd);
        if (fabs(fd - analytic[i]) > tol && bad++ < 3)
            fprintf(stderr, "%s param %lld: analytic %.6g, finite difference %.6g\n", label,
                    (long long)i, (double)analytic[i], fd);
    }
    assert_true(skipped <= n / 10);
    free(analytic);
    return bad;
}

/* CAP feature rows: D_U user features, D_I item features (uniform in [-1, 1]) */
enum { D_U = 4, D_I = 2 };
static float F_user[U * D_U], F_item[I * D_I];

static model_priors cap_priors(int cap)
{
    trng r = {1234};
    fill_unif(&r, F_user, U * D_U, -1, 1);
    fill_unif(&r, F_item, I * D_I, -1, 1);
    model_priors p = {{F_user, F_item}, {cap ? D_U : 0, cap ? D_I : 0}};
    return p;
}

/* sharded: the row-sharded first layer's code path (Xc, exchange block), which on one rank
 * is the same model as the replicated one. cap: prior encoders on both sides (their Wt_p,
 * b_p are parameters of the side like any other, so check_side checks them too). */
static void run_case_cap(kern_lik lik, kern_act act, int layers, int sharded, int cap)
{
    static fixture f;
    make_data(&f);
    kern *k = kern_cpu_create(1);
    bivae_model_config cfg = {.k = 3, .n_hidden = layers, .hidden = {5, 4}, .act = act,
                              .likelihood = lik, .beta_kl = 0.8};
    bivae_model m;
    model_priors pr = cap_priors(cap);
    model_init_cap(&m, k, &cfg, 7, 0, 1, U, I, f.Ru_ptr, f.Ru_col, U, f.Ri_ptr, f.Ri_col, I, 8,
                   NULL, sharded, &pr);
    if (cap) {   /* the prior encoders are really there: D·K + K parameters more */
        assert_int_equal(m.enc[SIDE_USER].n_prior_in, D_U);
        assert_int_equal(m.enc[SIDE_USER].n_params - m.enc[SIDE_USER].off_Wp, D_U * 3 + 3);
        assert_int_equal(m.enc[SIDE_ITEM].n_params - m.enc[SIDE_ITEM].off_Wp, D_I * 3 + 3);
    }
    trng r = {(uint64_t)(lik * 100 + act * 10 + layers)};
    fill_unif(&r, m.table[SIDE_USER], U * 3, -1, 1);   /* decoder tables of useful size */
    fill_unif(&r, m.table[SIDE_ITEM], I * 3, -1, 1);
    char label[64];
    snprintf(label, sizeof(label), "lik %d act %d layers %d %s%s", lik, act, layers,
             sharded ? "sharded" : "replicated", cap ? " cap" : "");
    int bad = check_side(&m, SIDE_USER, label) + check_side(&m, SIDE_ITEM, label);
    if (bad)
        fprintf(stderr, "%s: %d mismatches\n", label, bad);
    assert_int_equal(bad, 0);
    model_free(&m);
    kern_destroy(k);
}

static void run_case(kern_lik lik, kern_act act, int layers, int sharded)
{
    run_case_cap(lik, act, layers, sharded, 0);
}

/* CAP: the gradients of W_p and b_p (and of everything else through the prior's KL) */
static void test_gradients_cap(void **state)
{
    for (int lik = KERN_LIK_POIS; lik <= KERN_LIK_GAUS; lik++)
        for (int layers = 1; layers <= 2; layers++)
            for (int sharded = 0; sharded <= 1; sharded++)
                run_case_cap(lik, KERN_ACT_TANH, layers, sharded, 1);
    run_case_cap(KERN_LIK_POIS, KERN_ACT_RELU, 1, 1, 1);
}

static void test_gradients_all_combinations(void **state)
{
    for (int lik = KERN_LIK_POIS; lik <= KERN_LIK_GAUS; lik++)
        for (int act = KERN_ACT_SIGMOID; act <= KERN_ACT_RELU6; act++)
            for (int layers = 1; layers <= 2; layers++)
                for (int sharded = 0; sharded <= 1; sharded++)
                    run_case(lik, act, layers, sharded);
}

/* The loss itself against a direct double-precision evaluation of the formula
 * (pois, tanh, one layer), so that the checked gradient is the gradient of the right loss. */
static void loss_value_case(int cap)
{
    static fixture f;
    make_data(&f);
    kern *k = kern_cpu_create(1);
    bivae_model_config cfg = {.k = 3, .n_hidden = 1, .hidden = {5}, .act = KERN_ACT_TANH,
                              .likelihood = KERN_LIK_POIS, .beta_kl = 0.8};
    bivae_model m;
    model_priors pr = cap_priors(cap);
    model_init_cap(&m, k, &cfg, 7, 0, 1, U, I, f.Ru_ptr, f.Ru_col, U, f.Ri_ptr, f.Ri_col, I, 8,
                   NULL, 1, &pr);
    double got = batch_loss(&m, SIDE_USER, U);
    encoder *e = &m.enc[SIDE_USER];
    const float *W1 = e->params + e->off_W[0], *b1 = e->params + e->off_b[0];
    const float *Wh = e->params + e->off_W[1], *bh = e->params + e->off_b[1];
    double total = 0;
    for (int u = 0; u < U; u++) {
        double h[5], z[3], kl = 0, ll = 0;
        for (int c = 0; c < 5; c++) {
            double a = b1[c];
            for (int64_t j = f.Ru_ptr[u]; j < f.Ru_ptr[u + 1]; j++)
                a += W1[f.Ru_col[j] * 5 + c];
            h[c] = tanh(a);
        }
        for (int q = 0; q < 3; q++) {
            double mu = bh[q], s = bh[3 + q];
            for (int c = 0; c < 5; c++) {
                mu += h[c] * Wh[c * 6 + q];
                s += h[c] * Wh[c * 6 + 3 + q];
            }
            double sd = 1 / (1 + exp(-s)), prior = 0;   /* CAP: F_u·Wt_p + b_p */
            if (cap) {
                prior = e->params[e->off_bp + q];
                for (int c = 0; c < D_U; c++)
                    prior += F_user[u * D_U + c] * e->params[e->off_Wp + c * 3 + q];
            }
            z[q] = mu + sd * e->eps[u * 3 + q];
            kl += -0.5 * (1 + 2 * log(sd) - (mu - prior) * (mu - prior) - sd * sd);
        }
        for (int i = 0; i < I; i++) {
            double dot = 0, x = 0;
            for (int q = 0; q < 3; q++)
                dot += z[q] * m.table[SIDE_ITEM][i * 3 + q];
            for (int64_t j = f.Ru_ptr[u]; j < f.Ru_ptr[u + 1]; j++)
                x = f.Ru_col[j] == i ? 1 : x;
            double xh = 1 / (1 + exp(-dot));
            ll += x * log(xh + 1e-10) - xh;
        }
        total += 0.8 * kl - ll;
    }
    double want = total / U;
    assert_true(fabs(got - want) <= 1e-5 * fabs(want) + 1e-6);
    model_free(&m);
    kern_destroy(k);
}

static void test_loss_value_matches_formula(void **state) { loss_value_case(0); }

/* CAP: the KL is to N(F·Wt_p + b_p, 1) */
static void test_loss_value_cap(void **state) { loss_value_case(1); }

/* CAP's prior encoder init: PyTorch nn.Linear(D, K), U(−1/√D, 1/√D), and the rest of the
 * model's initial values untouched by it (the same streams as without CAP). */
static void test_cap_init(void **state)
{
    static fixture f;
    make_data(&f);
    kern *k = kern_cpu_create(1);
    bivae_model_config cfg = {.k = 3, .n_hidden = 1, .hidden = {5}, .act = KERN_ACT_TANH,
                              .likelihood = KERN_LIK_POIS, .beta_kl = 1};
    bivae_model a, b;
    model_priors pr = cap_priors(1);
    model_init(&a, k, &cfg, 7, 0, 1, U, I, f.Ru_ptr, f.Ru_col, U, f.Ri_ptr, f.Ri_col, I, 8, NULL, 1);
    model_init_cap(&b, k, &cfg, 7, 0, 1, U, I, f.Ru_ptr, f.Ru_col, U, f.Ri_ptr, f.Ri_col, I, 8,
                   NULL, 1, &pr);
    for (int s = 0; s < 2; s++) {
        const encoder *ea = &a.enc[s], *eb = &b.enc[s];
        assert_int_equal(eb->off_Wp, ea->n_params);
        assert_memory_equal(ea->params, eb->params, sizeof(float) * (size_t)ea->n_params);
        double bound = 1.0 / sqrt((double)eb->n_prior_in), lo = 1, hi = -1;
        for (int64_t i = eb->off_Wp; i < eb->n_params; i++) {
            assert_true(fabs(eb->params[i]) <= bound);
            lo = eb->params[i] < lo ? eb->params[i] : lo;
            hi = eb->params[i] > hi ? eb->params[i] : hi;
        }
        assert_true(hi - lo > 0.5 * bound);   /* spread over the range, not zeros */
    }
    model_free(&a);
    model_free(&b);
    kern_destroy(k);
}

/* Lazy Adam's Wt_1 gradient (src/model_adam.c), against dense Adam on the same model:
 * batches of two rows that name different Wt_1 rows, both sides, three epochs. After every
 * model_zero_grad the whole gradient buffer is zero (only the last batch's Wt_1 rows were
 * written); every step's gradient is dense Adam's bit for bit; after a flush the parameters
 * and moments are too. */
static void zero_grad_is_zero(const encoder *e)
{
    for (int64_t i = 0; i <= e->n_params; i++)
        if (e->grad[i] != 0.0f || signbit(e->grad[i]))
            fail_msg("gradient element %lld is %g after model_zero_grad", (long long)i,
                     (double)e->grad[i]);
}

static void test_lazy_gradient_rows(void **state)
{
    static fixture f;
    make_data(&f);
    kern *k = kern_cpu_create(1);
    bivae_model_config cfg = {.k = 3, .n_hidden = 1, .hidden = {5}, .act = KERN_ACT_TANH,
                              .likelihood = KERN_LIK_POIS, .beta_kl = 0.8};
    bivae_model ml, md;   /* lazy, dense */
    setenv("BIVAE_TEST_ADAM", "lazy", 1);
    model_init(&ml, k, &cfg, 7, 0, 1, U, I, f.Ru_ptr, f.Ru_col, U, f.Ri_ptr, f.Ri_col, I, 2,
               NULL, 1);
    setenv("BIVAE_TEST_ADAM", "dense", 1);
    model_init(&md, k, &cfg, 7, 0, 1, U, I, f.Ru_ptr, f.Ru_col, U, f.Ri_ptr, f.Ri_col, I, 2,
               NULL, 1);
    unsetenv("BIVAE_TEST_ADAM");
    assert_true(ml.enc[0].lazy_adam && ml.enc[1].lazy_adam && !md.enc[0].lazy_adam);
    for (int epoch = 0; epoch < 3; epoch++)
        for (int s = 0; s < 2; s++) {
            int64_t N = model_side_rows(&ml, (bivae_side)s);
            for (int64_t g0 = 0; g0 < N; g0 += 2) {
                int64_t g1 = g0 + 2 < N ? g0 + 2 : N;
                bivae_model *ms[2] = {&ml, &md};
                for (int b = 0; b < 2; b++) {
                    model_zero_grad(ms[b], (bivae_side)s, g1 - g0);
                    zero_grad_is_zero(&ms[b]->enc[s]);
                    model_forward(ms[b], (bivae_side)s, g0, g1, epoch, PASS_TRAIN, 1);
                    model_backward(ms[b], (bivae_side)s, g0, g1, 0.5f);
                }
                assert_memory_equal(ml.enc[s].grad, md.enc[s].grad,
                                    sizeof(float) * (size_t)(ml.enc[s].n_params + 2));
                for (int b = 0; b < 2; b++)
                    model_adam_step(ms[b], (bivae_side)s, g0, g1, 1e-2, NULL, 0);
            }
        }
    for (int s = 0; s < 2; s++) {
        model_adam_flush(&ml, (bivae_side)s);
        size_t bytes = sizeof(float) * (size_t)ml.enc[s].n_params;
        assert_memory_equal(ml.enc[s].params, md.enc[s].params, bytes);
        assert_memory_equal(ml.enc[s].adam_m, md.enc[s].adam_m, bytes);
        assert_memory_equal(ml.enc[s].adam_v, md.enc[s].adam_v, bytes);
    }
    model_free(&ml);
    model_free(&md);
    kern_destroy(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loss_value_matches_formula),
        cmocka_unit_test(test_gradients_all_combinations),
        cmocka_unit_test(test_lazy_gradient_rows),
        cmocka_unit_test(test_loss_value_cap),
        cmocka_unit_test(test_gradients_cap),
        cmocka_unit_test(test_cap_init),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
