/* src/model_adam.c — the model's Adam step (model.h), dense or lazy.
 *
 * With the sharded first layer, a row j of Wt_1 has an exactly +0 gradient at every step
 * whose batch has no one in feature j (its gradient is Xcᵀ·∂loss/∂a_1). Dense Adam still
 * moves such a row (its moments decay), so it costs a pass over all of Wt_1 per step. Here
 * those rows are brought up to date only when something reads them (kern_adam_rows):
 *   - before a forward reads the rows of its batch (model_adam_catch_up, from model.c);
 *   - at a step, the rows of the batch take it with their gradient;
 *   - everything else in one flush (model_adam_flush): at a phase's end, before a
 *     checkpoint, and when the constants table is full.
 * The replayed steps use kern_adam's arithmetic, so the parameters are bitwise those of
 * dense Adam at every point where they are read (tests/e2e/lazy_adam.sh compares whole
 * checkpoints). b_1 and the deeper layers, dense anyway, take kern_adam.
 *
 * What a step touches of the own Wt_1 rows [n_feat_local × width[1]] (params, m, v, their
 * gradient and `last`): the rows its batch names, and nothing of the others. Those rows are
 * the distinct columns of the batch's window of Xc, a kern_colset built once per batch on
 * the backend (no host synchronization) and used four times: the catch-up, the gradient
 * G_Wt_1 += Xcᵀ·G_a1 (model_adam_first_layer_grad), the step, and the next step's
 * model_zero_grad, which zeroes only those gradient rows (the only non-zero ones; all rows
 * once after model_adam_init and model_adam_restart). Work per step is then O(the batch's
 * ones + its rows · width[1]); only the flush walks every row.
 *
 * Which is faster depends on the backend and the data. Lazy Adam does the same number of
 * element updates as dense Adam, but a step moves only the rows its batch touches (a share
 * f of them, model.h's `touched`: ~30 % at the ML-20M shape, batch 128) — twice, catch-up
 * then step — and the others are replayed later in registers. On a GPU, where dense Adam
 * is bandwidth-bound, that is ≈ 2f of dense Adam's traffic: a gain when f < 0.5, so lazy is
 * the default there for f < LAZY_MAX_TOUCHED. On the CPU the replay costs more than the
 * traffic it saves (ML-20M, 2 ranks: 28.0-29.5 s/epoch lazy, 20.6-23.8 s dense;
 * benchmarks/RESULTS.md), so it stays dense. BIVAE_TEST_ADAM=lazy|dense (a test switch)
 * forces either. */
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "src/model.h"

enum { ADAM_TAB_MIN = 1024 };   /* steps between forced flushes, at least */
#define LAZY_MAX_TOUCHED 0.4        /* lazy on a GPU below this share of rows per batch */

static const double BETA1 = 0.9, BETA2 = 0.999, EPS = 1e-8;

/* all own rows of Wt_1: last[j] = t0 = adam_step (start, or after a checkpoint load); the
 * next model_zero_grad zeroes all their gradient rows */
static void reset_rows(bivae_model *m, encoder *e)
{
    e->grad_rows = GRAD_ROWS_ALL;
    int64_t n = e->n_feat_local;
    int64_t *host = xmalloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
    for (int64_t j = 0; j < n; j++)
        host[j] = e->adam_step;
    if (n > 0)
        kern_upload(m->k, e->adam_last, host, sizeof(int64_t) * (size_t)n);
    free(host);
    e->adam_t0 = e->adam_step;
}

/* lazy Adam for side s? (see the top of the file) */
static int want_lazy(const bivae_model *m, bivae_side s)
{
    const char *force = getenv("BIVAE_TEST_ADAM");
    if (!m->sharded)
        return 0;   /* a replicated Wt_1: every rank's rows, the whole batch's gradient */
    if (force && !strcmp(force, "lazy"))
        return 1;
    if (force && !strcmp(force, "dense"))
        return 0;
    return kern_get_device(m->k) == KERN_DEVICE_CUDA && m->touched[s] < LAZY_MAX_TOUCHED;
}

/* The set of own Wt_1 rows the global batch [g0, g1) names (its window of Xc), built on
 * the backend when it is not the one held already: once per step. */
static const kern_colset *batch_cols(bivae_model *m, bivae_side s, int64_t g0, int64_t g1)
{
    encoder *e = &m->enc[s];
    if (e->cols_g0 != g0 || e->cols_g1 != g1) {
        kern_colset_build(m->k, e->batch_cols, model_xc_batch(m, s, g0, g1));
        e->cols_g0 = g0;
        e->cols_g1 = g1;
    }
    return e->batch_cols;
}

void model_adam_init(bivae_model *m)
{
    for (int s = 0; s < 2; s++) {
        encoder *e = &m->enc[s];
        e->lazy_adam = want_lazy(m, (bivae_side)s);
        if (!e->lazy_adam)
            continue;
        int64_t steps = model_side_rows(m, (bivae_side)s) + 1;   /* a phase, at batch 1 */
        e->adam_tab_cap = steps > ADAM_TAB_MIN ? steps : ADAM_TAB_MIN;
        e->adam_last = kern_alloc(m->k, sizeof(int64_t) * (size_t)(e->n_feat_local > 0 ?
                                                                   e->n_feat_local : 1));
        e->adam_tab = kern_alloc(m->k, sizeof(float) * 2 * (size_t)e->adam_tab_cap);
        e->batch_cols = kern_colset_create(m->k, e->n_feat_local, m->max_batch);
        e->cols_g0 = e->cols_g1 = -1;
        reset_rows(m, e);
    }
}

void model_adam_free(bivae_model *m)
{
    for (int s = 0; s < 2; s++)
        if (m->enc[s].lazy_adam) {
            kern_free(m->k, m->enc[s].adam_last);
            kern_free(m->k, m->enc[s].adam_tab);
            kern_colset_free(m->k, m->enc[s].batch_cols);
        }
}

void model_adam_restart(bivae_model *m)
{
    for (int s = 0; s < 2; s++)
        if (m->enc[s].lazy_adam)
            reset_rows(m, &m->enc[s]);
}

/* rows of sel (NULL: all) to step t = adam_step, zero gradients */
static void bring_up_to_date(bivae_model *m, encoder *e, const kern_colset *sel)
{
    kern_adam_rows(m->k, e->params + e->off_W[0], NULL, e->adam_m + e->off_W[0],
                   e->adam_v + e->off_W[0], e->n_feat_local, e->width[1], sel, e->adam_last,
                   e->adam_tab, e->adam_tab_cap, e->adam_t0, e->adam_step, 0, 0.0, BETA1,
                   BETA2, EPS, NULL, 0);
}

void model_adam_catch_up(bivae_model *m, bivae_side s, int64_t g0, int64_t g1)
{
    encoder *e = &m->enc[s];
    if (e->lazy_adam && g1 > g0)
        bring_up_to_date(m, e, batch_cols(m, s, g0, g1));
}

void model_adam_flush(bivae_model *m, bivae_side s)
{
    encoder *e = &m->enc[s];
    if (!e->lazy_adam)
        return;
    bring_up_to_date(m, e, NULL);
    e->adam_t0 = e->adam_step;
}

void model_adam_zero_grad_rows(bivae_model *m, bivae_side s)
{
    encoder *e = &m->enc[s];
    float *G_W = e->grad + e->off_W[0];                   /* [n_feat_local × width[1]] */
    if (e->grad_rows == GRAD_ROWS_ALL)
        kern_zero(m->k, G_W, sizeof(float) * (size_t)(e->n_feat_local * e->width[1]));
    else if (e->grad_rows == GRAD_ROWS_BATCH)
        kern_zero_rows_of_cols(m->k, G_W, e->width[1],
                               batch_cols(m, s, e->grad_g0, e->grad_g1));
    e->grad_rows = GRAD_ROWS_NONE;
}

void model_adam_first_layer_grad(bivae_model *m, bivae_side s, int64_t g0, int64_t g1)
{
    encoder *e = &m->enc[s];
    kern_colset_t_matmul_add(m->k, batch_cols(m, s, g0, g1), e->G_a1_batch, e->width[1],
                             e->grad + e->off_W[0]);          /* [n_feat_local × width[1]] */
    if (e->grad_rows == GRAD_ROWS_NONE) {
        e->grad_rows = GRAD_ROWS_BATCH;
        e->grad_g0 = g0;
        e->grad_g1 = g1;
    } else if (e->grad_rows == GRAD_ROWS_BATCH && (e->grad_g0 != g0 || e->grad_g1 != g1)) {
        e->grad_rows = GRAD_ROWS_ALL;   /* two batches' rows without a zeroing between */
    }
}

void model_adam_step(bivae_model *m, bivae_side s, int64_t g0, int64_t g1, double lr,
                     int32_t *nonfinite_flag, int32_t tag)
{
    encoder *e = &m->enc[s];
    if (!e->lazy_adam) {
        e->adam_step++;
        kern_adam(m->k, e->params, e->grad, e->adam_m, e->adam_v, e->n_params, lr, BETA1,
                  BETA2, EPS, e->adam_step, nonfinite_flag, tag);
        return;
    }
    if (e->adam_step + 1 - e->adam_t0 > e->adam_tab_cap)
        model_adam_flush(m, s);   /* the table is full: start it again */
    e->adam_step++;
    int64_t nW = e->n_feat_local * e->width[1];   /* Wt_1's own rows come first */
    kern_adam_rows(m->k, e->params, e->grad, e->adam_m, e->adam_v, e->n_feat_local,
                   e->width[1], batch_cols(m, s, g0, g1), e->adam_last, e->adam_tab,
                   e->adam_tab_cap, e->adam_t0, e->adam_step, 1, lr, BETA1, BETA2, EPS,
                   nonfinite_flag, tag);
    kern_adam(m->k, e->params + nW, e->grad + nW, e->adam_m + nW, e->adam_v + nW,
              e->n_params - nW, lr, BETA1, BETA2, EPS, e->adam_step, nonfinite_flag, tag);
}
