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

/* all own rows of Wt_1: last[j] = t0 = adam_step (start, or after a checkpoint load) */
static void reset_rows(bivae_model *m, encoder *e)
{
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
        reset_rows(m, e);
    }
}

void model_adam_free(bivae_model *m)
{
    for (int s = 0; s < 2; s++)
        if (m->enc[s].lazy_adam) {
            kern_free(m->k, m->enc[s].adam_last);
            kern_free(m->k, m->enc[s].adam_tab);
        }
}

void model_adam_restart(bivae_model *m)
{
    for (int s = 0; s < 2; s++)
        if (m->enc[s].lazy_adam)
            reset_rows(m, &m->enc[s]);
}

/* rows of sel (NULL: all) to step t = adam_step, zero gradients */
static void bring_up_to_date(bivae_model *m, encoder *e, kern_csr sel)
{
    kern_adam_rows(m->k, e->params + e->off_W[0], NULL, e->adam_m + e->off_W[0],
                   e->adam_v + e->off_W[0], e->n_feat_local, e->width[1], sel, e->adam_last,
                   e->adam_tab, e->adam_tab_cap, e->adam_t0, e->adam_step, 0, 0.0, BETA1,
                   BETA2, EPS, NULL, 0);
}

void model_adam_catch_up(bivae_model *m, bivae_side s, kern_csr Xc_batch)
{
    encoder *e = &m->enc[s];
    if (e->lazy_adam && Xc_batch.nrows > 0)
        bring_up_to_date(m, e, Xc_batch);
}

void model_adam_flush(bivae_model *m, bivae_side s)
{
    encoder *e = &m->enc[s];
    if (!e->lazy_adam)
        return;
    kern_csr all = {-1, e->n_feat_local, NULL, NULL};
    bring_up_to_date(m, e, all);
    e->adam_t0 = e->adam_step;
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
    kern_csr sel = model_xc_batch(m, s, g0, g1);
    kern_adam_rows(m->k, e->params, e->grad, e->adam_m, e->adam_v, e->n_feat_local,
                   e->width[1], sel, e->adam_last, e->adam_tab, e->adam_tab_cap, e->adam_t0,
                   e->adam_step, 1, lr, BETA1, BETA2, EPS, nonfinite_flag, tag);
    kern_adam(m->k, e->params + nW, e->grad + nW, e->adam_m + nW, e->adam_v + nW,
              e->n_params - nW, lr, BETA1, BETA2, EPS, e->adam_step, nonfinite_flag, tag);
}
