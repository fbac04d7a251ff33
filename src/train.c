/* src/train.c — see train.h. */
#include "src/train.h"

#include <math.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "partition/hash.h"
#include "partition/split.h"
#include "src/cyclic_rows.h"
#include "src/signals.h"

static double now(void) { return MPI_Wtime(); }

/* The test-only switches of train.h, read here only: faults at exact steps on exact ranks
 * through the real code paths (a signal, a NaN in a rank's own rows, a diverged replica). */
static void test_switches(trainer *t)
{
    const char *at = getenv("BIVAE_TEST_SIGNAL_AT"), *nan = getenv("BIVAE_TEST_NAN_AT");
    const char *perturb = getenv("BIVAE_TEST_PERTURB_RANK");
    long long step = -1;
    char what[8] = "";
    t->test_signal_epoch = t->test_nan_epoch = t->test_perturb_rank = -1;
    if (at && sscanf(at, "%d:%lld:%d", &t->test_signal_epoch, &step, &t->test_signal_rank) != 3)
        t->test_signal_epoch = -1;
    t->test_signal_step = step;
    if (nan && (sscanf(nan, "%7[a-z]:%d:%lld:%d", what, &t->test_nan_epoch, &step,
                       &t->test_nan_rank) != 4 || (strcmp(what, "grad") && strcmp(what, "param"))))
        t->test_nan_epoch = -1;
    t->test_nan_step = step;
    t->test_nan_param = strcmp(what, "param") == 0;
    if (perturb)
        t->test_perturb_rank = atoi(perturb);
}

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
    test_switches(t);
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
    trainer_test_nan(t, s, epoch, step, 0);
    kern_find_nonfinite(m->k, e->grad + e->n_params, 2, t->nonfinite, (int32_t)step);
    model_adam_step(m, s, g0, g1, t->cfg->train.lr, t->nonfinite, (int32_t)step);
    trainer_test_nan(t, s, epoch, step, 1);
    kern_accumulate(m->k, t->loss_acc, e->grad + e->n_params, 2);
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

/* How a phase (or an epoch) ended. */
typedef enum { PHASE_DONE = 0, PHASE_STOPPED, PHASE_FAILED } phase_end;

/* Steps [first, n_steps) of phase s of `epoch`, the loss accumulators starting at acc0[2].
 * PHASE_DONE with the phase's mean loss in *loss; PHASE_STOPPED when the ranks agreed to
 * stop before step *at (can_stop only); PHASE_FAILED when a guard stopped the run on every
 * rank (t->status, the line printed). */
static phase_end phase_run(trainer *t, bivae_side s, int epoch, int64_t first,
                           const double acc0[2], int can_stop, double *loss, int64_t *at)
{
    bivae_model *m = t->m;
    int64_t N = model_side_rows(m, s), B = t->cfg->train.batch_size, n_steps = (N + B - 1) / B;
    int truncated = t->max_steps > 0 && t->max_steps < n_steps;
    if (truncated)
        n_steps = t->max_steps;
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
                *at = step;
                return trainer_check_finite(t, s, epoch, n_steps, step) ? PHASE_FAILED
                                                                        : PHASE_STOPPED;
            }
        }
        int64_t g0 = step * B, g1 = g0 + B < N ? g0 + B : N;
        if (t->step_hook)
            t->step_hook(t->step_hook_ctx, s, step, 0);
        phase_step(t, s, epoch, step, g0, g1, p0, p1);
        p0 = g0;
        p1 = g1;
    }
    if (t->step_hook)
        t->step_hook(t->step_hook_ctx, s, n_steps - first, 1);
    model_forward_pair(m, s, p0, p1, 0, 0, epoch);   /* flush the last refresh */
    model_adam_flush(m, s);                          /* and Adam's pending rows */
    if (trainer_check_finite(t, s, epoch, n_steps, n_steps))
        return PHASE_FAILED;
    gather_table(t, s, m->sample_local[s], m->table[s]);
    double acc[2];
    kern_download(m->k, acc, t->loss_acc, sizeof(acc));
    if (!truncated && trainer_check_rows(t, s, epoch, acc[1]))
        return PHASE_FAILED;
    *loss = acc[0] / acc[1];
    return PHASE_DONE;
}

double trainer_phase(trainer *t, bivae_side s, int epoch)
{
    static const double zero[2] = {0.0, 0.0};
    double loss = 0.0;
    int64_t at;
    return phase_run(t, s, epoch, 0, zero, 0, &loss, &at) == PHASE_DONE ? loss : NAN;
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

/* group[n_local_users] = 1 for the cold users of --cold-users (split_is_cold_user of each
 * own user's raw id, the draw the split made), 0 for the warm ones. */
/* The raw id key of own user u (the split's hash input). */
static uint64_t cold_user_key(const dataset *d, int64_t u)
{
    size_t len;
    const char *text = id_table_get(&d->user_ids, u, &len);
    raw_id id;
    unsigned char bad;
    if (raw_id_parse(text, len, &id, &bad) != RAW_ID_OK)
        FAIL_RUNTIME("cold users: user id %lld of this rank does not parse", (long long)u);
    return raw_id_key(&id);
}

static uint8_t *cold_user_group(const dataset *d, uint64_t seed, double fraction)
{
    uint8_t *group = xcalloc((size_t)(d->n_local_users > 0 ? d->n_local_users : 1), 1);
    for (int64_t u = 0; u < d->n_local_users; u++)
        group[u] = (uint8_t)split_is_cold_user(seed, cold_user_key(d, u), fraction);
    return group;
}

/* --cold-history-ratio R: each cold user's test rows split into a fold-in history
 * (hash(seed, raw user, global item) < R; the id map is the same for any P) and the rest,
 * the test part. Host CSRs [n_local_users × n_items] (warm users: empty rows). */
typedef struct cold_history {
    csr_matrix hist, test;      /* history items / the test part known to training */
    int32_t *test_count;        /* [n_local_users] the test part, unknown items included */
} cold_history;

#define COLD_HISTORY_TAG 0x686973746f7279ULL    /* "history" */

static void cold_csr_alloc(csr_matrix *m, const dataset *d)
{
    m->nrows = d->n_local_users;
    m->ncols = d->n_items;
    m->rowptr = xcalloc((size_t)d->n_local_users + 1, sizeof(int64_t));
    m->col = xmalloc(sizeof(int32_t) * (size_t)(d->Tu.rowptr[d->n_local_users] + 1));
}

static cold_history cold_history_split(const dataset *d, const uint8_t *group, uint64_t seed,
                                       double ratio)
{
    cold_history h;
    cold_csr_alloc(&h.hist, d);
    cold_csr_alloc(&h.test, d);
    h.test_count = xmalloc(sizeof(int32_t) * (size_t)(d->n_local_users > 0 ? d->n_local_users : 1));
    int64_t nh = 0, nt = 0;
    for (int64_t u = 0; u < d->n_local_users; u++) {
        uint64_t key = group[u] ? cold_user_key(d, u) : 0;
        int32_t n_hist = 0;
        for (int64_t j = d->Tu.rowptr[u]; j < d->Tu.rowptr[u + 1]; j++) {
            int32_t item = d->Tu.col[j];
            int in_hist = group[u] && hash_unit(hash3(seed ^ COLD_HISTORY_TAG, key,
                                                      (uint64_t)item)) < ratio;
            if (in_hist)
                h.hist.col[nh++] = item, n_hist++;
            else
                h.test.col[nt++] = item;
        }
        h.hist.rowptr[u + 1] = nh;
        h.test.rowptr[u + 1] = nt;
        h.test_count[u] = d->test_count[u] - n_hist;
    }
    return h;
}

static void cold_history_free(cold_history *h)
{
    free(h->hist.rowptr); free(h->hist.col);
    free(h->test.rowptr); free(h->test.col);
    free(h->test_count);
}

/* The backend copy of a host CSR (for eval's seen and model_fold_in's rows). */
static kern_csr cold_csr_upload(kern *k, const csr_matrix *m, int64_t **rowptr, int32_t **col)
{
    size_t nr = (size_t)m->nrows + 1, nnz = (size_t)m->rowptr[m->nrows];
    *rowptr = kern_alloc(k, sizeof(int64_t) * nr);
    *col = kern_alloc(k, sizeof(int32_t) * (nnz > 0 ? nnz : 1));
    kern_upload(k, *rowptr, m->rowptr, sizeof(int64_t) * nr);
    if (nnz > 0)
        kern_upload(k, *col, m->col, sizeof(int32_t) * nnz);
    kern_csr x = {m->nrows, m->ncols, *rowptr, *col};
    return x;
}

/* --cold-history-ratio: the cold users on their test part (history excluded), from μ_prior,
 * from the fold-in of their history (model_fold_in) and by popularity. */
static void evaluate_cold_history(trainer *t, const uint8_t *group, const float *mu_prior,
                                  cold_report *out)
{
    bivae_model *m = t->m;
    int K = (int)m->K, top_k = t->cfg->output.top_k;
    cold_history h = cold_history_split(t->d, group, t->cfg->data.seed,
                                        t->cfg->cold_history_ratio);
    dataset dh = *t->d;          /* the same data, the test part and history as its rows */
    dh.Tu = h.test;
    dh.test_count = h.test_count;
    dh.Ru = h.hist;              /* the popular baseline excludes the history */
    int64_t *rowptr;
    int32_t *col;
    kern_csr hist = cold_csr_upload(m->k, &h.hist, &rowptr, &col);
    float *mu_fold = kern_alloc(m->k, sizeof(float) *                 /* [n_local_users × K] */
                                (size_t)((t->d->n_local_users > 0 ? t->d->n_local_users : 1) * K));
    model_adam_flush(m, SIDE_USER);
    if (t->d->n_local_users > 0)
        model_fold_in(m, SIDE_USER, hist, mu_fold);
    out->history_ratio = t->cfg->cold_history_ratio;
    out->cold = eval_ranking_group(m->k, t->c, &dh, hist, mu_prior, t->mu_beta_full, K, top_k,
                                   group, 1);
    out->cold_foldin = eval_ranking_group(m->k, t->c, &dh, hist, mu_fold, t->mu_beta_full, K,
                                          top_k, group, 1);
    out->cold_popular = eval_most_popular_group(t->c, &dh, top_k, group, 1);
    kern_free(m->k, mu_fold);
    kern_free(m->k, rowptr);
    kern_free(m->k, col);
    cold_history_free(&h);
}

void trainer_evaluate_cold(trainer *t, cold_report *out)
{
    bivae_model *m = t->m;
    const dataset *d = t->d;
    int K = (int)m->K, top_k = t->cfg->output.top_k;
    uint8_t *group = cold_user_group(d, t->cfg->data.seed, t->cfg->data.cold_users);
    float *mu_prior = kern_alloc(m->k, sizeof(float) *                /* [n_local_users × K] */
                                 (size_t)((d->n_local_users > 0 ? d->n_local_users : 1) * K));
    model_prior_means(m, SIDE_USER, 0, d->n_local_users, mu_prior);
    memset(out, 0, sizeof *out);
    out->fraction = t->cfg->data.cold_users;
    out->warm = eval_ranking_group(m->k, t->c, d, m->X[SIDE_USER], m->mu_local[SIDE_USER],
                                   t->mu_beta_full, K, top_k, group, 0);
    out->warm_popular = eval_most_popular_group(t->c, d, top_k, group, 0);
    if (t->cfg->cold_history_given) {
        evaluate_cold_history(t, group, mu_prior, out);
    } else {
        out->cold = eval_ranking_group(m->k, t->c, d, m->X[SIDE_USER], mu_prior,
                                       t->mu_beta_full, K, top_k, group, 1);
        out->cold_popular = eval_most_popular_group(t->c, d, top_k, group, 1);
    }
    kern_free(m->k, mu_prior);
    free(group);
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
 * step: the end of the previous epoch). */
static void stop_position(trainer *t, ckpt_position *p, int epoch, ckpt_phase phase, int64_t at,
                          double loss_item)
{
    memset(p, 0, sizeof(*p));
    p->epoch = epoch - 1;
    if (phase == CKPT_IN_ITEM_PHASE && at == 0)
        return;
    p->phase = phase;
    p->step = at;
    p->epoch_loss_item = loss_item;
    kern_download(t->m->k, p->phase_loss, t->loss_acc, sizeof(p->phase_loss));
    p->cost = t->stop_cost;
}

/* The rest of `epoch` from position `from` (from->epoch == epoch − 1). PHASE_DONE with the
 * losses when the epoch completed; PHASE_STOPPED when the ranks agreed to stop, with *stop
 * the position; PHASE_FAILED (t->status). */
static phase_end epoch_run(trainer *t, int epoch, const ckpt_position *from,
                           ckpt_position *stop, epoch_losses *l)
{
    static const double zero[2] = {0.0, 0.0};
    int in_item = from->phase == CKPT_IN_ITEM_PHASE, in_user = from->phase == CKPT_IN_USER_PHASE;
    int64_t at = 0;
    phase_end end = PHASE_DONE;
    if (in_user)
        l->item = from->epoch_loss_item;
    else if ((end = phase_run(t, SIDE_ITEM, epoch, in_item ? from->step : 0,
                              in_item ? from->phase_loss : zero, 1, &l->item, &at)))
        stop_position(t, stop, epoch, CKPT_IN_ITEM_PHASE, at, 0.0);
    if (end == PHASE_DONE && (end = phase_run(t, SIDE_USER, epoch, in_user ? from->step : 0,
                                              in_user ? from->phase_loss : zero, 1, &l->user,
                                              &at)))
        stop_position(t, stop, epoch, CKPT_IN_USER_PHASE, at, l->item);
    return end;
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

/* Collective, after an epoch's metrics line: a failed write of --metrics-out (rank 0's
 * alone) agreed by every rank. The run then stops; when it checkpoints at all, with a
 * checkpoint of this epoch (pos), so nothing trained is lost. */
static int metrics_written(trainer *t, const ckpt_position *pos)
{
    char msg[1024] = "", path[4096];
    if (!comm_allreduce_max_i64(t->c, run_log_check(t->log, msg, sizeof msg)))
        return 0;
    if (!checkpointing(t))
        return trainer_fail(t, "%s: training stopped after epoch %d", msg, pos->epoch);
    if ((t->status = trainer_checkpoint(t, pos, path, sizeof path)))
        return t->status;   /* its own line said why */
    return trainer_fail(t, "%s: training stopped after epoch %d, checkpoint %s written: "
                        "continue with --resume once the file can be written", msg, pos->epoch,
                        path);
}

/* The epoch's end: replica check, evaluation (--eval-every), the log line. 0, or the
 * status of a failed check (every rank). */
static int finish_epoch(trainer *t, int epoch, epoch_losses l, ckpt_epoch_cost cost,
                        double elapsed)
{
    const bivae_config *cfg = t->cfg;
    trainer_test_perturb(t, epoch);
    if (cfg->system.check_replicas && trainer_check_replicas(t, epoch))
        return t->status;
    epoch_record rec;
    fill_record(t, &rec, epoch, l, cost, elapsed);
    int every = cfg->output.eval_every;
    if (every > 0 && epoch % every == 0 && epoch < cfg->train.epochs && has_test(t)) {
        trainer_infer(t);
        rec.metrics = trainer_evaluate(t);
        rec.has_metrics = 1;
    }
    run_log_epoch(t->log, &rec);
    return 0;
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
        phase_end end = epoch_run(t, epoch, &from, &stop, &l);
        if (end == PHASE_STOPPED)
            trainer_stop(t, &stop);
        if (end != PHASE_DONE)
            break;
        memset(&from, 0, sizeof from);
        from.epoch = epoch;
        kern_sync(t->m->k);
        if (finish_epoch(t, epoch, l, epoch_so_far(t), now() - t_start) ||
            metrics_written(t, &from))
            break;
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
