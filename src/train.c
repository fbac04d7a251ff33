/* src/train.c — see train.h. */
#include "src/train.h"

#include <math.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "src/cyclic_rows.h"
#include "src/signals.h"

static double now(void) { return MPI_Wtime(); }

void trainer_init(trainer *t, bivae_model *m, comm *c, const dataset *d,
                  const bivae_config *cfg, run_log *log)
{
    memset(t, 0, sizeof(*t));
    t->m = m;
    t->c = c;
    t->d = d;
    t->cfg = cfg;
    t->log = log;
    for (int s = 0; s < 2; s++)
        t->staging[s] = kern_alloc(m->k, (size_t)(model_side_rows(m, s) * m->K) * sizeof(float));
    t->mu_beta_full = kern_alloc(m->k, (size_t)(m->n_items * m->K) * sizeof(float));
    t->loss_acc = kern_alloc(m->k, 2 * sizeof(double));
    t->nonfinite = kern_alloc(m->k, sizeof(int32_t));
    /* Test-only switch: BIVAE_TEST_SIGNAL_AT=E:S:R makes rank R raise SIGUSR1 on itself
     * before step S of epoch E (item steps, then user steps), so tests can stop a run at
     * an exact step through the real signal path. */
    const char *at = getenv("BIVAE_TEST_SIGNAL_AT");
    long long step = -1;
    t->test_signal_epoch = -1;
    if (at && sscanf(at, "%d:%lld:%d", &t->test_signal_epoch, &step, &t->test_signal_rank) != 3)
        t->test_signal_epoch = -1;
    t->test_signal_step = step;
}

void trainer_resume_at(trainer *t, const ckpt_position *pos) { t->start = *pos; }

void trainer_free(trainer *t)
{
    for (int s = 0; s < 2; s++)
        kern_free(t->m->k, t->staging[s]);
    kern_free(t->m->k, t->mu_beta_full);
    kern_free(t->m->k, t->loss_acc);
    kern_free(t->m->k, t->nonfinite);
}

/* ---- what an epoch costs ----------------------------------------------------------------- */

/* The current epoch's cost so far: this process's part (since epoch_t0) and what a resumed
 * checkpoint carried of it. */
static ckpt_epoch_cost epoch_so_far(const trainer *t)
{
    comm_stats now_s = comm_get_stats(t->c), b = t->epoch_before;
    ckpt_epoch_cost c = t->carried;
    c.seconds += now() - t->epoch_t0;
    c.comm_seconds += (now_s.allreduce_seconds - b.allreduce_seconds) +
                      (now_s.allgather_seconds - b.allgather_seconds);
    c.allreduce_bytes += now_s.allreduce_bytes - b.allreduce_bytes;
    c.allgather_bytes += now_s.allgather_bytes - b.allgather_bytes;
    return c;
}

static void epoch_begin(trainer *t, const ckpt_epoch_cost *carried)
{
    t->epoch_t0 = now();
    t->epoch_before = comm_get_stats(t->c);
    t->carried = *carried;
}

/* For failures every rank detects at once: ranks other than 0 wait, rank 0 reports the one
 * line and ends the job (MPI_Abort through the fail hook). */
static void quiet_unless_rank0(trainer *t)
{
    if (comm_rank(t->c) != 0)
        for (;;)
            comm_barrier(t->c);
}

/* ---- one phase -------------------------------------------------------------------------- */

/* all-gather the rows every rank owns (local [n_local × K]) into dst [N × K], global order */
static void gather_table(trainer *t, bivae_side s, const float *local, float *dst)
{
    cyclic_rows_allgather(t->m->k, t->c, local, model_side_rows(t->m, s), t->m->K,
                          t->staging[s], dst);
}

/* One step (index `step`): the global batch [g0, g1) of side s; the refresh forward of the
 * previous step's batch [p0, p1) (empty at a phase's first step) rides along. */
static void phase_step(trainer *t, bivae_side s, int epoch, int64_t step, int64_t g0, int64_t g1,
                       int64_t p0, int64_t p1)
{
    bivae_model *m = t->m;
    encoder *e = &m->enc[s];
    int64_t l0 = partition_local_begin(g0, m->rank, m->nranks);
    int64_t l1 = partition_local_begin(g1, m->rank, m->nranks);
    float *reduced;
    size_t n_reduced;
    model_zero_grad(m, s, l1 - l0);
    model_forward_pair(m, s, p0, p1, g0, g1, epoch);            /* collective (first layer) */
    model_backward_local(m, s, g0, g1, (float)(1.0 / (double)(g1 - g0)));
    model_reduced_span(m, s, g1 - g0, &reduced, &n_reduced);
    comm_allreduce_sum_f32(t->c, reduced, n_reduced);
    model_backward_first_layer(m, s, g0, g1);
    kern_find_nonfinite(m->k, e->grad + e->n_params, 2, t->nonfinite, (int32_t)step);
    model_adam_step(m, s, g0, g1, t->cfg->train.lr, t->nonfinite, (int32_t)step);
    kern_accumulate(m->k, t->loss_acc, e->grad + e->n_params, 2);
}

/* Numerical guard, at the end of a phase (or before a stop checkpoint): a NaN or Inf in a
 * step's all-reduced loss or gradient — the same on every rank — stops the run with the
 * epoch, side and step, before any checkpoint of the bad state is written. */
static void check_finite(trainer *t, bivae_side s, int epoch, int64_t n_steps)
{
    int32_t bad = -1;
    kern_download(t->m->k, &bad, t->nonfinite, sizeof(bad));
    if (bad < 0)
        return;
    int64_t B = t->cfg->train.batch_size;
    quiet_unless_rank0(t);
    FAIL_RUNTIME("non-finite loss or gradient in epoch %d, %s phase, step %d of %lld (global "
                 "batch from row %lld): training stopped, no checkpoint of this state is "
                 "written (try a lower --lr)", epoch, s == SIDE_USER ? "user" : "item", bad + 1,
                 (long long)n_steps, (long long)(bad * B));
}

/* ---- stopping on a signal ----------------------------------------------------------------- */

static int checkpointing(const trainer *t) { return t->cfg->output.checkpoint_dir != NULL; }

static void test_raise(trainer *t, bivae_side s, int epoch, int64_t step)
{
    int64_t B = t->cfg->train.batch_size, item_steps = (t->m->n_items + B - 1) / B;
    int64_t at = s == SIDE_ITEM ? step : item_steps + step;
    if (epoch == t->test_signal_epoch && at == t->test_signal_step &&
        t->m->rank == t->test_signal_rank && raise(SIGUSR1) != 0)
        FAIL_RUNTIME("raise(SIGUSR1) failed");
}

/* Collective, at a step boundary of a checkpointing run: the largest preemption signal
 * pending on any rank (0: go on). One 8-byte all-reduce. */
static int stop_agreed(trainer *t)
{
    if (!checkpointing(t))
        return 0;
    t->stop_signal = (int)comm_allreduce_max_i64(t->c, signals_pending());
    return t->stop_signal;
}

/* ---- one phase ---------------------------------------------------------------------------- */

/* Steps [first, n_steps) of phase s of `epoch`, the loss accumulators starting at acc0[2].
 * Returns 1 when the ranks agreed to stop before step *at (can_stop only), else 0 with the
 * phase's mean loss in *loss. */
static int phase_run(trainer *t, bivae_side s, int epoch, int64_t first, const double acc0[2],
                     int can_stop, double *loss, int64_t *at)
{
    bivae_model *m = t->m;
    int64_t N = model_side_rows(m, s), B = t->cfg->train.batch_size, n_steps = (N + B - 1) / B;
    const int32_t none = -1;
    kern_upload(m->k, t->loss_acc, acc0, 2 * sizeof(double));
    kern_upload(m->k, t->nonfinite, &none, sizeof(none));
    int64_t p0 = 0, p1 = 0;   /* the previous step's batch: its refresh forward is pending */
    for (int64_t step = first; step < n_steps; step++) {
        if (can_stop) {
            test_raise(t, s, epoch, step);
            if (stop_agreed(t)) {
                /* the cost before the flush: a resumed run's first step does the all-reduce
                 * that carries this refresh in an uninterrupted run */
                t->stop_cost = epoch_so_far(t);
                model_forward_pair(m, s, p0, p1, 0, 0, epoch);   /* flush */
                check_finite(t, s, epoch, n_steps);
                *at = step;
                return 1;
            }
        }
        int64_t g0 = step * B, g1 = g0 + B < N ? g0 + B : N;
        phase_step(t, s, epoch, step, g0, g1, p0, p1);
        p0 = g0;
        p1 = g1;
    }
    model_forward_pair(m, s, p0, p1, 0, 0, epoch);   /* flush the last refresh */
    model_adam_flush(m, s);                          /* and Adam's pending rows */
    check_finite(t, s, epoch, n_steps);
    gather_table(t, s, m->sample_local[s], m->table[s]);
    double acc[2];
    kern_download(m->k, acc, t->loss_acc, sizeof(acc));
    if (acc[1] != (double)N) {
        quiet_unless_rank0(t);
        FAIL_RUNTIME("%s phase of epoch %d counted %.0f rows over all ranks, expected %lld",
                     s == SIDE_USER ? "user" : "item", epoch, acc[1], (long long)N);
    }
    *loss = acc[0] / acc[1];
    return 0;
}

double trainer_phase(trainer *t, bivae_side s, int epoch)
{
    static const double zero[2] = {0.0, 0.0};
    double loss = 0.0;
    int64_t at;
    phase_run(t, s, epoch, 0, zero, 0, &loss, &at);
    return loss;
}

/* ---- inference and evaluation ----------------------------------------------------------- */

/* global batches of max_batch rows (at most max_rows own rows each), on every rank */
static void infer_side(trainer *t, bivae_side s)
{
    bivae_model *m = t->m;
    int64_t n = model_side_rows(m, s), B = m->max_batch;
    for (int64_t g0 = 0; g0 < n; g0 += B)
        model_infer_means(m, s, g0, g0 + B < n ? g0 + B : n);
}

void trainer_infer(trainer *t)
{
    infer_side(t, SIDE_ITEM);
    infer_side(t, SIDE_USER);
    gather_table(t, SIDE_ITEM, t->m->mu_local[SIDE_ITEM], t->mu_beta_full);
}

eval_result trainer_evaluate(trainer *t)
{
    bivae_model *m = t->m;
    return eval_ranking(m->k, t->c, t->d, m->X[SIDE_USER], m->mu_local[SIDE_USER],
                        t->mu_beta_full, (int)m->K, t->cfg->output.top_k);
}

/* ---- replica check ---------------------------------------------------------------------- */

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

/* Test-only switch: BIVAE_TEST_PERTURB_RANK=r makes rank r change one parameter after
 * epoch 1, so tests can see --check-replicas catch diverged replicas. */
static void test_perturb(trainer *t, int epoch)
{
    const char *r = getenv("BIVAE_TEST_PERTURB_RANK");
    if (!r || epoch != 1 || atoi(r) != t->m->rank)
        return;
    float p, *b1 = t->m->enc[SIDE_USER].params + t->m->enc[SIDE_USER].off_b[0];  /* replicated */
    kern_download(t->m->k, &p, b1, sizeof(p));
    p += 1e-3f;
    kern_upload(t->m->k, b1, &p, sizeof(p));
}

static void check_replicas(trainer *t, int epoch)
{
    int P = comm_size(t->c);
    int64_t *all = xmalloc(sizeof(int64_t) * (size_t)P);
    comm_allgather_i64(t->c, (int64_t)trainer_checksum(t), all);
    for (int r = 1; r < P; r++)
        if (all[r] != all[0]) {
            quiet_unless_rank0(t);
            FAIL_RUNTIME("--check-replicas: after epoch %d the parameters of rank %d differ "
                         "from rank 0 (checksum %016llx vs %016llx)", epoch, r,
                         (unsigned long long)all[r], (unsigned long long)all[0]);
        }
    free(all);
}

/* ---- the run ------------------------------------------------------------------------------ */

static void fill_record(trainer *t, epoch_record *rec, int epoch, epoch_losses l,
                        ckpt_epoch_cost cost, double elapsed)
{
    int E = t->cfg->train.epochs;
    memset(rec, 0, sizeof(*rec));
    rec->epoch = epoch;
    rec->epochs = E;
    rec->loss_item = l.item;
    rec->loss_user = l.user;
    rec->seconds = cost.seconds;
    rec->comm_seconds = cost.comm_seconds;
    rec->compute_seconds = cost.seconds - cost.comm_seconds;
    rec->allreduce_bytes = cost.allreduce_bytes;
    rec->allgather_bytes = cost.allgather_bytes;
    rec->ratings_per_second = cost.seconds > 0 ? (double)t->d->nnz_train / cost.seconds : 0.0;
    rec->eta_seconds = elapsed / (epoch - t->start.epoch) * (E - epoch);
}

static int has_test(const trainer *t) { return t->d->n_test_users > 0; }

/* ---- checkpoints --------------------------------------------------------------------------- */

/* The position of a stop before step `at` of `phase` of `epoch` (before the first item
 * step: the end of the previous epoch). Returns 1. */
static int stop_position(trainer *t, ckpt_position *p, int epoch, ckpt_phase phase, int64_t at,
                         double loss_item)
{
    memset(p, 0, sizeof(*p));
    p->epoch = epoch - 1;
    if (phase == CKPT_IN_ITEM_PHASE && at == 0)
        return 1;
    p->phase = phase;
    p->step = at;
    p->epoch_loss_item = loss_item;
    kern_download(t->m->k, p->phase_loss, t->loss_acc, sizeof(p->phase_loss));
    p->cost = t->stop_cost;
    return 1;
}

/* The rest of `epoch` from position `from` (from->epoch == epoch − 1). 0 with the losses
 * when the epoch completed; 1 when the ranks agreed to stop, with *stop the position. */
static int epoch_run(trainer *t, int epoch, const ckpt_position *from, ckpt_position *stop,
                     epoch_losses *l)
{
    static const double zero[2] = {0.0, 0.0};
    int in_item = from->phase == CKPT_IN_ITEM_PHASE, in_user = from->phase == CKPT_IN_USER_PHASE;
    int64_t at;
    if (in_user)
        l->item = from->epoch_loss_item;
    else if (phase_run(t, SIDE_ITEM, epoch, in_item ? from->step : 0,
                       in_item ? from->phase_loss : zero, 1, &l->item, &at))
        return stop_position(t, stop, epoch, CKPT_IN_ITEM_PHASE, at, 0.0);
    if (phase_run(t, SIDE_USER, epoch, in_user ? from->step : 0,
                  in_user ? from->phase_loss : zero, 1, &l->user, &at))
        return stop_position(t, stop, epoch, CKPT_IN_USER_PHASE, at, l->item);
    return 0;
}

/* Collective: μ of the current parameters (for the file's users), then the checkpoint. */
static int trainer_checkpoint(trainer *t, const ckpt_position *pos, char *path, size_t len)
{
    trainer_infer(t);
    int status = ckpt_save(t->m, t->d, t->cfg, t->c, t->run_id, pos, path, len);
    if (status == 0)
        run_log_note(t->log, "checkpoint %s", path);
    return status;
}

static int checkpoint_due(const trainer *t, int epoch)
{
    int every = t->cfg->output.checkpoint_every;
    return checkpointing(t) && (epoch == t->cfg->train.epochs || (every > 0 && epoch % every == 0));
}

/* A preemption stop: the checkpoint at p, and one line that says so. */
static void trainer_stop(trainer *t, const ckpt_position *p)
{
    char path[4096], where[160];
    t->stopped = 1;
    t->status = trainer_checkpoint(t, p, path, sizeof path);
    if (t->status != 0 || comm_rank(t->c) != 0)
        return;
    int64_t B = t->cfg->train.batch_size;
    if (p->phase == CKPT_AT_EPOCH_END)
        snprintf(where, sizeof where, "after epoch %d", p->epoch);
    else
        snprintf(where, sizeof where, "in epoch %d, %s phase, before step %lld of %lld",
                 p->epoch + 1, p->phase == CKPT_IN_ITEM_PHASE ? "item" : "user",
                 (long long)p->step + 1, (long long)((model_side_rows(t->m, p->phase ==
                 CKPT_IN_ITEM_PHASE ? SIDE_ITEM : SIDE_USER) + B - 1) / B));
    fprintf(stderr, "bivae-dist: %s received: stopped %s; checkpoint %s written; continue "
            "with --resume\n", signals_name(t->stop_signal), where, path);
    fflush(stderr);
}

/* ---- the run ------------------------------------------------------------------------------ */

static void finish_epoch(trainer *t, int epoch, epoch_losses l, ckpt_epoch_cost cost,
                         double elapsed)
{
    const bivae_config *cfg = t->cfg;
    test_perturb(t, epoch);
    if (cfg->system.check_replicas)
        check_replicas(t, epoch);
    epoch_record rec;
    fill_record(t, &rec, epoch, l, cost, elapsed);
    int every = cfg->output.eval_every;
    if (every > 0 && epoch % every == 0 && epoch < cfg->train.epochs && has_test(t)) {
        trainer_infer(t);
        rec.metrics = trainer_evaluate(t);
        rec.has_metrics = 1;
    }
    run_log_epoch(t->log, &rec);
}

eval_result trainer_run(trainer *t, double *train_seconds)
{
    const bivae_config *cfg = t->cfg;
    double t_start = now();
    ckpt_position from = t->start;
    for (int epoch = from.epoch + 1; epoch <= cfg->train.epochs; epoch++) {
        epoch_begin(t, &from.cost);
        epoch_losses l;
        ckpt_position stop;
        if (epoch_run(t, epoch, &from, &stop, &l)) {
            trainer_stop(t, &stop);
            break;
        }
        memset(&from, 0, sizeof from);
        from.epoch = epoch;
        kern_sync(t->m->k);
        finish_epoch(t, epoch, l, epoch_so_far(t), now() - t_start);
        char path[4096];
        if (checkpoint_due(t, epoch) && (t->status = trainer_checkpoint(t, &from, path, sizeof path)))
            break;
    }
    *train_seconds = now() - t_start;
    eval_result r = {0};
    r.top_k = cfg->output.top_k;
    if (t->stopped || t->status)
        return r;
    trainer_infer(t);
    if (has_test(t))
        r = trainer_evaluate(t);
    return r;
}
