/* tests/model/test_model_foldin.c — model_fold_in (src/model_foldin.c): a training row
 * folded in gives bitwise the μ the model's own inference forward stores (mu_local), on
 * both sides, sharded and replicated first layer, after real Adam steps, with rows encoded
 * in several max_rows chunks; and a NEW row (not in the data) gives the μ of a direct
 * double-precision evaluation of the encoder formula (docs/bivae-model.md). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "kernels/kernels.h"
#include "src/model.h"
#include "test_util.h"

enum { U = 7, I = 9, K = 3, H = 5, MAX_ROWS = 3 };

typedef struct fixture {
    int64_t Ru_ptr[U + 1], Ri_ptr[I + 1];
    int32_t Ru_col[U * I], Ri_col[U * I];
} fixture;

static void make_data(fixture *f)
{
    trng r = {31};
    random_ratings(&r, U, I, f->Ru_ptr, f->Ru_col, f->Ri_ptr, f->Ri_col);
}

/* A few real Adam steps on both sides (parameters away from their init), then flushed. */
static void train_a_little(bivae_model *m)
{
    for (int epoch = 1; epoch <= 3; epoch++)
        for (int s = 0; s < 2; s++) {
            int64_t n = model_side_rows(m, (bivae_side)s);
            for (int64_t g0 = 0; g0 < n; g0 += MAX_ROWS) {
                int64_t g1 = g0 + MAX_ROWS < n ? g0 + MAX_ROWS : n;
                model_zero_grad(m, (bivae_side)s, g1 - g0);
                model_forward(m, (bivae_side)s, g0, g1, epoch, PASS_TRAIN, 1);
                model_backward(m, (bivae_side)s, g0, g1, 1.0f / (float)(g1 - g0));
                model_adam_step(m, (bivae_side)s, g0, g1, 0.05, NULL, 0);
            }
        }
    model_adam_flush(m, SIDE_USER);
    model_adam_flush(m, SIDE_ITEM);
}

static void init_model(bivae_model *m, kern *k, fixture *f, int layers, int sharded)
{
    bivae_model_config cfg = {.k = K, .n_hidden = layers, .hidden = {H, 4},
                              .act = KERN_ACT_TANH, .likelihood = KERN_LIK_POIS, .beta_kl = 1.0};
    model_init(m, k, &cfg, 11, 0, 1, U, I, f->Ru_ptr, f->Ru_col, U, f->Ri_ptr, f->Ri_col, I,
               MAX_ROWS, NULL, sharded);
}

/* Every training row of side s folded in at once equals mu_local bitwise. */
static void check_training_rows(bivae_model *m, bivae_side s)
{
    int64_t n = model_side_rows(m, s);
    for (int64_t g0 = 0; g0 < n; g0 += MAX_ROWS)
        model_infer_means(m, s, g0, g0 + MAX_ROWS < n ? g0 + MAX_ROWS : n);
    float *mu = calloc((size_t)(n > 0 ? n * K : 1), sizeof(float));   /* [n × K] */
    model_fold_in(m, s, model_rows(m, s, 0, n), mu);
    for (int64_t i = 0; i < n * K; i++)
        if (memcmp(&mu[i], &m->mu_local[s][i], sizeof(float)) != 0)
            fail_msg("side %d row %lld: fold-in %.9g, model %.9g", (int)s, (long long)(i / K),
                     (double)mu[i], (double)m->mu_local[s][i]);
    free(mu);
}

static void test_training_rows_bitwise(void **state)
{
    (void)state;
    for (int layers = 1; layers <= 2; layers++)
        for (int sharded = 0; sharded <= 1; sharded++) {
            static fixture f;
            make_data(&f);
            kern *k = kern_cpu_create(1);
            bivae_model m;
            init_model(&m, k, &f, layers, sharded);
            train_a_little(&m);
            check_training_rows(&m, SIDE_USER);
            check_training_rows(&m, SIDE_ITEM);
            model_free(&m);
            kern_destroy(k);
        }
}

/* μ of a user with items `items` by the formula: tanh(x·Wt_1 + b_1)·Wt_h[:, :K] + b_h[:K]. */
static void direct_mu(const encoder *e, const int32_t *items, int n, double *mu)
{
    const float *W1 = e->params + e->off_W[0], *b1 = e->params + e->off_b[0];
    const float *Wh = e->params + e->off_W[1], *bh = e->params + e->off_b[1];
    double h[H];
    for (int j = 0; j < H; j++) {
        double a = b1[j];
        for (int t = 0; t < n; t++)
            a += W1[items[t] * H + j];
        h[j] = tanh(a);
    }
    for (int c = 0; c < K; c++) {
        double v = bh[c];
        for (int j = 0; j < H; j++)
            v += h[j] * Wh[j * 2 * K + c];
        mu[c] = v;
    }
}

static void test_new_row_direct_forward(void **state)
{
    (void)state;
    static fixture f;
    make_data(&f);
    kern *k = kern_cpu_create(1);
    bivae_model m;
    init_model(&m, k, &f, 1, 1);
    train_a_little(&m);
    int64_t rp[3] = {0, 3, 4};                /* two new users: {0, 4, 8} and {2} */
    int32_t col[4] = {0, 4, 8, 2};
    kern_csr rows = {2, I, rp, col};
    float mu[2 * K];
    model_fold_in(&m, SIDE_USER, rows, mu);
    for (int r = 0; r < 2; r++) {
        double want[K];
        direct_mu(&m.enc[SIDE_USER], col + rp[r], (int)(rp[r + 1] - rp[r]), want);
        for (int c = 0; c < K; c++)
            assert_true(fabs(mu[r * K + c] - want[c]) <= 1e-5 + 1e-5 * fabs(want[c]));
    }
    model_free(&m);
    kern_destroy(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_training_rows_bitwise),
        cmocka_unit_test(test_new_row_direct_forward),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
