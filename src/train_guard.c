/* src/train_guard.c — the trainer's guards (train.h "Guards"): conditions a rank finds in
 * its own state (a non-finite value in the first-layer rows it owns) or every rank finds
 * alike (a non-finite all-reduced loss, diverged replicas, a wrong row count) are agreed
 * through one collective; then rank 0 prints the one line and every rank returns
 * BIVAE_EXIT_RUNTIME, so all leave through the same door: no rank waits in a collective
 * that another has left. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "src/train.h"

int trainer_fail(trainer *t, const char *fmt, ...)
{
    t->status = BIVAE_EXIT_RUNTIME;
    if (comm_rank(t->c) != 0)
        return t->status;
    va_list ap;
    va_start(ap, fmt);
    fputs("bivae-dist: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    fflush(stderr);
    va_end(ap);
    return t->status;
}

/* ---- non-finite values ------------------------------------------------------------------ */

static const char *side_name(bivae_side s) { return s == SIDE_USER ? "user" : "item"; }

/* The one line for the first bad step tag of every rank (all[r] < 0: none on rank r). A
 * tag below `done` is a step whose gradient or loss was bad; `done` is the scan of the
 * state after the phase's steps (done steps of n_steps taken). */
static int report_nonfinite(trainer *t, bivae_side s, int epoch, int64_t n_steps, int64_t done,
                            const int64_t *all)
{
    int P = comm_size(t->c), n_bad = 0, first = -1, alike = 1;
    for (int r = 0; r < P; r++) {
        if (all[r] < 0)
            continue;
        n_bad++;
        alike &= all[r] == all[0];
        if (first < 0 || all[r] < all[first])
            first = r;
    }
    if (n_bad == 0)
        return 0;
    char where[160];
    int64_t step = all[first], B = t->cfg->train.batch_size;
    if (step >= done)
        snprintf(where, sizeof where, "after step %lld of %lld", (long long)done,
                 (long long)n_steps);
    else
        snprintf(where, sizeof where, "step %lld of %lld (global batch from row %lld)",
                 (long long)step + 1, (long long)n_steps, (long long)(step * B));
    if (n_bad == P && alike)   /* an all-reduced value, or every replica alike */
        return trainer_fail(t, "non-finite %s in epoch %d, %s phase, %s: training stopped, no "
                            "checkpoint of this state is written (try a lower --lr)",
                            step >= done ? "parameter or Adam state" : "loss or gradient",
                            epoch, side_name(s), where);
    return trainer_fail(t, "non-finite value %s rank %d%s (in the first-layer rows it owns, "
                        "which no all-reduce shares) in epoch %d, %s phase, %s: training "
                        "stopped, no checkpoint of this state is written (try a lower --lr)",
                        n_bad < P ? "on" : "first on", first, n_bad < P ? " only" : "", epoch,
                        side_name(s), where);
}

int trainer_check_finite(trainer *t, bivae_side s, int epoch, int64_t n_steps, int64_t done)
{
    bivae_model *m = t->m;
    for (int b = ENC_PARAMS; b <= ENC_ADAM_V; b++)   /* the state, own first-layer rows too */
        kern_find_nonfinite(m->k, model_tensor(m, s, (encoder_tensor)b), m->enc[s].n_params,
                            t->nonfinite, (int32_t)done);
    int32_t bad = -1;
    kern_download(m->k, &bad, t->nonfinite, sizeof(bad));
    int P = comm_size(t->c);
    int64_t *all = xmalloc(sizeof(int64_t) * (size_t)P);
    comm_allgather_i64(t->c, bad, all);   /* the agreement: every rank sees every flag */
    int status = report_nonfinite(t, s, epoch, n_steps, done, all);
    free(all);
    return status;
}

void trainer_test_nan(trainer *t, bivae_side s, int epoch, int64_t step, int after_adam)
{
    bivae_model *m = t->m;
    encoder *e = &m->enc[s];
    int64_t B = t->cfg->train.batch_size, item_steps = (m->n_items + B - 1) / B;
    int64_t at = s == SIDE_ITEM ? step : item_steps + step;
    if (t->test_nan_epoch != epoch || t->test_nan_step != at || t->test_nan_rank != m->rank ||
        t->test_nan_param != after_adam || e->n_feat_local < 1)
        return;
    const float nan = NAN;
    kern_upload(m->k, (after_adam ? e->params : e->grad) + e->off_W[0], &nan, sizeof nan);
}

/* ---- the other checks ------------------------------------------------------------------- */

int trainer_check_rows(trainer *t, bivae_side s, int epoch, double counted)
{
    int64_t N = model_side_rows(t->m, s);
    if (counted == (double)N)   /* all-reduced: the same on every rank */
        return 0;
    return trainer_fail(t, "%s:%d: %s phase of epoch %d counted %.0f rows over all ranks, "
                        "expected %lld", __FILE__, __LINE__, side_name(s), epoch, counted,
                        (long long)N);
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* Of the replicated part of both encoders (parameters and Adam state): everything but a
 * sharded Wt_1, whose rows exist on one rank only. */
uint64_t trainer_checksum(trainer *t)
{
    uint64_t h = 1469598103934665603ull;
    for (int s = 0; s < 2; s++) {
        encoder *e = &t->m->enc[s];
        const float *bufs[3] = {e->params, e->adam_m, e->adam_v};
        int64_t from = t->m->sharded ? e->off_b[0] : 0;
        size_t bytes = (size_t)(e->n_params - from) * sizeof(float);
        float *host = xmalloc(bytes);
        for (int b = 0; b < 3; b++) {
            kern_download(t->m->k, host, bufs[b] + from, bytes);
            h = fnv1a(h, host, bytes);
        }
        free(host);
    }
    return h;
}

void trainer_test_perturb(trainer *t, int epoch)
{
    if (t->test_perturb_rank != t->m->rank || epoch != 1)
        return;
    float p, *b1 = t->m->enc[SIDE_USER].params + t->m->enc[SIDE_USER].off_b[0];  /* replicated */
    kern_download(t->m->k, &p, b1, sizeof(p));
    p += 1e-3f;
    kern_upload(t->m->k, b1, &p, sizeof(p));
}

int trainer_check_replicas(trainer *t, int epoch)
{
    int P = comm_size(t->c), status = 0;
    int64_t *all = xmalloc(sizeof(int64_t) * (size_t)P);
    comm_allgather_i64(t->c, (int64_t)trainer_checksum(t), all);
    for (int r = 1; r < P && !status; r++)
        if (all[r] != all[0])
            status = trainer_fail(t, "--check-replicas: after epoch %d the parameters of rank "
                                  "%d differ from rank 0 (checksum %016llx vs %016llx)", epoch,
                                  r, (unsigned long long)all[r], (unsigned long long)all[0]);
    free(all);
    return status;
}
