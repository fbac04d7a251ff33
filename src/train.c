/* src/train.c — see train.h. */
#include "src/train.h"

#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"

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
}

void trainer_free(trainer *t)
{
    for (int s = 0; s < 2; s++)
        kern_free(t->m->k, t->staging[s]);
    kern_free(t->m->k, t->mu_beta_full);
    kern_free(t->m->k, t->loss_acc);
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
    bivae_model *m = t->m;
    int P = m->nranks;
    int64_t N = model_side_rows(m, s), K = m->K;
    size_t *counts = xmalloc(sizeof(size_t) * (size_t)P), *displs = xmalloc(sizeof(size_t) * (size_t)P);
    size_t off = 0;
    for (int r = 0; r < P; r++) {
        counts[r] = (size_t)(partition_owned_count(N, r, P) * K);
        displs[r] = off;
        off += counts[r];
    }
    comm_allgatherv_f32(t->c, local, counts[m->rank], t->staging[s], counts, displs);
    kern_rows_cyclic_from_blocked(m->k, dst, t->staging[s], N, K, P);
    free(counts);
    free(displs);
}

/* One step: the global batch [g0, g1) of side s. */
static void phase_step(trainer *t, bivae_side s, int epoch, int64_t g0, int64_t g1)
{
    bivae_model *m = t->m;
    encoder *e = &m->enc[s];
    int64_t l0 = partition_local_begin(g0, m->rank, m->nranks);
    int64_t l1 = partition_local_begin(g1, m->rank, m->nranks);
    model_zero_grad(m, s, l1 - l0);
    if (l1 > l0) {
        model_forward(m, s, l0, l1, epoch, PASS_TRAIN, 1);
        model_backward(m, s, l0, l1, (float)(1.0 / (double)(g1 - g0)));
    }
    comm_allreduce_sum_f32(t->c, e->grad, (size_t)e->n_params + 2);
    model_adam_step(m, s, t->cfg->train.lr);
    kern_accumulate(m->k, t->loss_acc, e->grad + e->n_params, 2);
    if (l1 > l0) {
        model_forward(m, s, l0, l1, epoch, PASS_REFRESH, 1);
        model_store_rows(m, s, l0, l1);
    }
}

double trainer_phase(trainer *t, bivae_side s, int epoch)
{
    bivae_model *m = t->m;
    int64_t N = model_side_rows(m, s), B = t->cfg->train.batch_size;
    kern_zero(m->k, t->loss_acc, 2 * sizeof(double));
    for (int64_t g0 = 0; g0 < N; g0 += B)
        phase_step(t, s, epoch, g0, g0 + B < N ? g0 + B : N);
    gather_table(t, s, m->sample_local[s], m->table[s]);
    double acc[2];
    kern_download(m->k, acc, t->loss_acc, sizeof(acc));
    if (acc[1] != (double)N) {
        quiet_unless_rank0(t);
        FAIL_RUNTIME("%s phase of epoch %d counted %.0f rows over all ranks, expected %lld",
                     s == SIDE_USER ? "user" : "item", epoch, acc[1], (long long)N);
    }
    return acc[0] / acc[1];
}

/* ---- inference and evaluation ----------------------------------------------------------- */

static void infer_side(trainer *t, bivae_side s)
{
    bivae_model *m = t->m;
    int64_t n = m->n_local[s], R = m->enc[s].max_rows;
    for (int64_t l0 = 0; l0 < n; l0 += R)
        model_infer_means(m, s, l0, l0 + R < n ? l0 + R : n);
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

uint64_t trainer_checksum(trainer *t)
{
    uint64_t h = 1469598103934665603ull;
    for (int s = 0; s < 2; s++) {
        encoder *e = &t->m->enc[s];
        const float *bufs[3] = {e->params, e->adam_m, e->adam_v};
        size_t bytes = (size_t)e->n_params * sizeof(float);
        float *host = xmalloc(bytes);
        for (int b = 0; b < 3; b++) {
            kern_download(t->m->k, host, bufs[b], bytes);
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
    float p;
    encoder *e = &t->m->enc[SIDE_USER];
    kern_download(t->m->k, &p, e->params, sizeof(p));
    p += 1e-3f;
    kern_upload(t->m->k, e->params, &p, sizeof(p));
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

static void fill_record(trainer *t, epoch_record *rec, int epoch, epoch_losses l, double secs,
                        comm_stats before, double elapsed)
{
    comm_stats after = comm_get_stats(t->c);
    int E = t->cfg->train.epochs;
    memset(rec, 0, sizeof(*rec));
    rec->epoch = epoch;
    rec->epochs = E;
    rec->loss_item = l.item;
    rec->loss_user = l.user;
    rec->seconds = secs;
    rec->comm_seconds = (after.allreduce_seconds - before.allreduce_seconds) +
                        (after.allgather_seconds - before.allgather_seconds);
    rec->compute_seconds = secs - rec->comm_seconds;
    rec->allreduce_bytes = after.allreduce_bytes - before.allreduce_bytes;
    rec->allgather_bytes = after.allgather_bytes - before.allgather_bytes;
    rec->ratings_per_second = secs > 0 ? (double)t->d->nnz_train / secs : 0.0;
    rec->eta_seconds = elapsed / epoch * (E - epoch);
}

static int has_test(const trainer *t) { return t->d->n_test_users > 0; }

eval_result trainer_run(trainer *t, double *train_seconds)
{
    const bivae_config *cfg = t->cfg;
    double t_start = now();
    for (int epoch = 1; epoch <= cfg->train.epochs; epoch++) {
        comm_stats before = comm_get_stats(t->c);
        double t0 = now();
        epoch_losses l;
        l.item = trainer_phase(t, SIDE_ITEM, epoch);
        l.user = trainer_phase(t, SIDE_USER, epoch);
        kern_sync(t->m->k);
        double secs = now() - t0;
        test_perturb(t, epoch);
        if (cfg->system.check_replicas)
            check_replicas(t, epoch);
        epoch_record rec;
        fill_record(t, &rec, epoch, l, secs, before, now() - t_start);
        int every = cfg->output.eval_every;
        if (every > 0 && epoch % every == 0 && epoch < cfg->train.epochs && has_test(t)) {
            trainer_infer(t);
            rec.metrics = trainer_evaluate(t);
            rec.has_metrics = 1;
        }
        run_log_epoch(t->log, &rec);
    }
    *train_seconds = now() - t_start;
    trainer_infer(t);
    eval_result r = {0};
    r.top_k = cfg->output.top_k;
    if (has_test(t))
        r = trainer_evaluate(t);
    return r;
}
