/* src/app.c — see app.h. */
#define _GNU_SOURCE
#include "src/app.h"

#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/check.h"
#include "partition/synth.h"
#include "src/eval.h"
#include "src/hosts.h"
#include "src/log.h"
#include "src/model.h"
#include "src/signals.h"
#include "src/train.h"

int app_allowed_cores(int *online_out)
{
    cpu_set_t set;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    int n_online = (int)(online > 0 ? online : 1), allowed = n_online;
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        allowed = CPU_COUNT(&set);     /* (fails with EINVAL beyond CPU_SETSIZE cores) */
    if (online_out)
        *online_out = n_online;
    return allowed;
}

int app_resolve_threads(int requested, int local_size)
{
    if (requested > 0)
        return requested;
    int online, allowed = app_allowed_cores(&online);
    if (allowed < online)
        return allowed;                          /* bound by the launcher: use what we got */
    int share = allowed / (local_size > 0 ? local_size : 1);
    return share > 0 ? share : 1;
}

/* Collective. --threads N: at most the cores this rank may run on, on every rank (more
 * threads than cores only take turns; 100000 of them crash the OpenMP runtime). */
static int check_threads(const bivae_config *cfg, comm *c)
{
    char msg[512] = "";
    int want = cfg->system.threads, online, allowed = app_allowed_cores(&online);
    if (want > allowed && allowed < online)
        snprintf(msg, sizeof msg, "--threads %d: rank %d may run on only %d of the node's %d "
                 "cores (its CPU affinity, set by the launcher: with mpirun, --bind-to none or "
                 "--map-by slot:PE=%d; or give --threads %d or less)", want, comm_rank(c),
                 allowed, online, want, allowed);
    else if (want > allowed)
        snprintf(msg, sizeof msg, "--threads %d: rank %d may run on only %d core(s): give "
                 "--threads %d or less (0, the default, picks for you)", want, comm_rank(c),
                 allowed, allowed);
    return comm_agree(c, msg[0] ? BIVAE_EXIT_USAGE : 0, msg);
}

/* ---- device and communicator ------------------------------------------------------- */

/* --device: cpu, cuda, or auto (cuda when every rank sees a GPU). */
static bivae_device resolve_device(const bivae_config *cfg, comm *c, int *n_gpus, char *why,
                                   size_t len)
{
    *n_gpus = kern_cuda_device_count(why, len);
    if (cfg->system.device != DEVICE_AUTO)
        return cfg->system.device;
    return comm_allreduce_min_i64(c, *n_gpus) > 0 ? DEVICE_CUDA : DEVICE_CPU;
}

static kern_gemm_math gemm_math(bivae_precision p)
{
    return p == PRECISION_TF32 ? KERN_GEMM_TF32 : (p == PRECISION_BF16 ? KERN_GEMM_BF16
                                                                       : KERN_GEMM_FP32);
}

/* The GPU-only setting of cfg ("--precision bf16", "--comm nccl") into buf, or NULL. */
static const char *gpu_only_setting(const bivae_config *cfg, char *buf, size_t len)
{
    if (cfg->system.precision != PRECISION_FP32)
        snprintf(buf, len, "--precision %s",
                 cfg->system.precision == PRECISION_TF32 ? "tf32" : "bf16");
    else if (cfg->system.comm == COMM_NCCL)
        snprintf(buf, len, "--comm nccl");
    else
        return NULL;
    return buf;
}

/* Collective, where --device auto chose the CPU: a GPU-only setting is an error (exit 2 on
 * every rank, named by a rank without a GPU), never silently ignored. */
static int check_cpu_fallback(const bivae_config *cfg, comm *c, int n_gpus, const char *why)
{
    char setting[32], msg[512] = "";
    if (!gpu_only_setting(cfg, setting, sizeof setting))
        return 0;
    if (n_gpus <= 0)
        snprintf(msg, sizeof msg, "%s needs a GPU, but --device auto found none on rank %d "
                 "(%s): drop %s to train on the CPU", setting, comm_rank(c), why, setting);
    return comm_agree(c, n_gpus <= 0 ? BIVAE_EXIT_USAGE : 0, msg);
}

/* Collective. The backend of this rank: CPU with `threads`, or the GPU of index (node-local
 * rank mod visible GPUs). NULL with the status when any rank cannot have it. */
static kern *open_backend(const bivae_config *cfg, comm *c, int threads, int *status)
{
    char why[256] = "", msg[512] = "";
    int n_gpus = 0;
    kern *k = NULL;
    int hook = hosts_test_report_gpu_index(c, msg, sizeof msg);   /* (tests/multinode/) */
    if ((*status = comm_agree(c, hook < 0 ? BIVAE_EXIT_USAGE : 0, msg)))
        return NULL;
    bivae_device dev = resolve_device(cfg, c, &n_gpus, why, sizeof why);
    if (dev == DEVICE_CPU && cfg->system.device == DEVICE_AUTO &&
        (*status = check_cpu_fallback(cfg, c, n_gpus, why)))
        return NULL;
    if (dev == DEVICE_CPU)
        k = kern_cpu_create(threads);
    else if (n_gpus <= 0)
        snprintf(msg, sizeof msg, "--device cuda: rank %d: %s", comm_rank(c), why);
    else if (!(k = kern_cuda_create(hosts_gpu_index(c, n_gpus),
                                    gemm_math(cfg->system.precision), why, sizeof why)))
        snprintf(msg, sizeof msg, "--device cuda: rank %d: %s", comm_rank(c), why);
    *status = comm_agree(c, k ? 0 : BIVAE_EXIT_RUNTIME, msg);
    if (*status && k) {
        kern_destroy(k);
        k = NULL;
    }
    return k;
}

static void to_host(void *ctx, void *dst, const void *src, size_t bytes)
{
    kern_download(ctx, dst, src, bytes);
}

static void to_device(void *ctx, void *dst, const void *src, size_t bytes)
{
    kern_upload(ctx, dst, src, bytes);
}

/* Collective. The communicator of the training run: `c` itself (MPI, host buffers) on the
 * CPU; NCCL (--comm nccl or auto) or MPI staged through host memory (--comm mpi) on GPUs.
 * NULL with the status when it cannot be made. */
static comm *open_comm(const bivae_config *cfg, comm *c, kern *k, int *status)
{
    char why[256] = "", msg[512] = "";
    comm *tc = c;
    *status = 0;
    if (kern_get_device(k) == KERN_DEVICE_CPU) {
        if (cfg->system.comm == COMM_NCCL)
            snprintf(msg, sizeof msg, "--comm nccl needs --device cuda");
        *status = comm_agree(c, msg[0] ? BIVAE_EXIT_USAGE : 0, msg);
    } else if (cfg->system.comm == COMM_MPI) {
        tc = comm_mpi_create_staged(to_host, to_device, k);
    } else if (!(tc = comm_nccl_create(-1, kern_cuda_stream(k), cfg->system.comm_timeout, why,
                                    sizeof why))) {
        snprintf(msg, sizeof msg, "--comm nccl: %s", why);   /* every rank has the reason */
        *status = comm_agree(c, BIVAE_EXIT_RUNTIME, msg);
    }
    if (!*status)
        comm_set_timeout(tc, cfg->system.comm_timeout);
    return *status ? NULL : tc;
}

/* Rows of a global batch on one rank: ceil(B / P), where a batch larger than both sides
 * counts as the larger side (it holds every row either way): the same batches and the same
 * numbers, without buffers and all-reduce blocks sized for rows that do not exist
 * (--batch-size 1048576 on ml-100k took 8.8 GB). */
static int64_t max_local_batch(const bivae_config *cfg, const dataset *d, int P)
{
    int64_t B = cfg->train.batch_size, n = d->n_users > d->n_items ? d->n_users : d->n_items;
    if (B > n)
        B = n > 0 ? n : 1;
    return (B + P - 1) / P;
}

/* "1.2 MB" style */
static void human_bytes(char *buf, size_t n, double b)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
    int u = 0;
    for (; b >= 999.5 && u < 4; u++)
        b /= 1000.0;
    snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", b, units[u]);
}

/* "; user features: FILE (fmt): N features, R rows, M missing (zero rows), ..." or "". */
static void describe_features(const char *side, const feature_block *b, const char *source,
                              char *out, size_t size)
{
    if (!b->x) {
        out[0] = '\0';
        return;
    }
    snprintf(out, size, "; %s features: %s: %lld features, %lld rows, %lld %ss without a row "
             "(zero rows), %lld ids not in training (%lld rows) ignored", side, source,
             (long long)b->n_features, (long long)b->rows_read, (long long)b->missing, side,
             (long long)b->unknown_ids, (long long)b->unknown_rows);
}

static void describe_data(run_log *log, const data_options *opt, const dataset *d)
{
    char uf[512], itf[512];
    describe_features("user", &d->user_features, d->user_features_source, uf, sizeof uf);
    describe_features("item", &d->item_features, d->item_features_source, itf, sizeof itf);
    run_log_data_counts(log, d->test_unknown_user, d->test_unknown_item);
    char kept[32], peak[32], dropped[96] = "";
    human_bytes(kept, sizeof kept, (double)d->idmap_bytes);
    human_bytes(peak, sizeof peak, (double)d->idmap_peak_bytes);
    if (opt->has_min_rating)
        snprintf(dropped, sizeof dropped, "; %lld ratings below --min-rating %g dropped",
                 (long long)d->below_min_rating, opt->min_rating);
    run_log_note(log, "data: %s: %lld users x %lld items, %lld training ratings, %lld test "
                 "rows over %lld users; test rows with a user not in training: %lld (dropped), "
                 "with an item not in training: %lld (kept: relevant, never recommended)%s%s%s",
                 d->source, (long long)d->n_users, (long long)d->n_items,
                 (long long)d->nnz_train, (long long)d->nnz_test, (long long)d->n_test_users,
                 (long long)d->test_unknown_user, (long long)d->test_unknown_item, dropped, uf,
                 itf);
    run_log_note(log, "id maps: %s per rank kept (the raw ids of its own users and items), "
                 "%s at most while building them", kept, peak);
}

static void describe_run(run_log *log, const bivae_config *cfg, const dataset *d, comm *c,
                         kern *k, int threads)
{
    run_hosts h;
    char ranks[160];
    hosts_gather(c, &h);
    hosts_describe(&h, comm_size(c), ranks, sizeof ranks);
    run_log_set_hosts(log, h.n_hosts, h.ranks_per_host);
    describe_data(log, &cfg->data, d);
    run_log_note(log, "ranks: %s, device: %s, comm: %s, threads per rank: %d", ranks,
                 kern_name(k), comm_name(c), threads);
    if (h.n_hosts > 1)
        run_log_note(log, "hosts: %s", h.summary);
    hosts_free(&h);
    run_log_note(log, "model: k=%d, %d hidden layer(s), epochs %d, batch %d, lr %g, seed %llu",
                 cfg->model.k, cfg->model.n_hidden, cfg->train.epochs, cfg->train.batch_size,
                 cfg->train.lr, (unsigned long long)cfg->train.seed);
}

/* which Adam each encoder runs (src/model_adam.c), and why */
static void describe_adam(run_log *log, const bivae_model *m)
{
    if (!m->sharded)
        return;
    run_log_note(log, "adam: user encoder %s (a batch touches %.0f%% of its Wt_1 rows), item "
                 "encoder %s (%.0f%%)", m->enc[SIDE_USER].lazy_adam ? "lazy" : "dense",
                 100.0 * m->touched[SIDE_USER], m->enc[SIDE_ITEM].lazy_adam ? "lazy" : "dense",
                 100.0 * m->touched[SIDE_ITEM]);
}

/* the CAP prior encoders, when there are any */
static void describe_cap(run_log *log, const bivae_model *m)
{
    const encoder *u = &m->enc[SIDE_USER], *i = &m->enc[SIDE_ITEM];
    char side[2][96];
    for (int s = 0; s < 2; s++) {
        const encoder *e = s == SIDE_USER ? u : i;
        if (e->n_prior_in > 0)
            snprintf(side[s], sizeof side[s], "%lld features -> %lld (%lld parameters)",
                     (long long)e->n_prior_in, (long long)m->K,
                     (long long)(e->n_params - e->off_Wp));
        else
            snprintf(side[s], sizeof side[s], "none");
    }
    if (u->n_prior_in > 0 || i->n_prior_in > 0)
        run_log_note(log, "cap priors: user %s, item %s", side[SIDE_USER], side[SIDE_ITEM]);
}

/* ---- checkpoints ------------------------------------------------------------------------ */

/* rank 0, unless --quiet: "bivae-dist: <message>" */
static void note0(const bivae_config *cfg, comm *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note0(const bivae_config *cfg, comm *c, const char *fmt, ...)
{
    if (comm_rank(c) != 0 || cfg->output.quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("bivae-dist: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* The run a train is: its id, and the checkpoint it resumes (src/checkpoint.h "Runs"). */
typedef struct run_plan {
    ckpt_run run;           /* run.resume_path "": from scratch */
    int resumed_epochs;     /* complete epochs of the checkpoint resumed (0: none) */
} run_plan;

/* The header of the checkpoint to resume against the run: model settings and --epochs.
 * The run continues the header's run id; a legacy file's run gets plan's new one. */
static int check_resume_header(const bivae_config *cfg, comm *c, run_plan *plan, char *err,
                               size_t len)
{
    const char *path = plan->run.resume_path;
    ckpt_info info;
    int lr_changed = 0, status = ckpt_read_header(path, &info, err, len);
    if (status)
        return status;
    status = ckpt_check_config(&info, cfg, path, &lr_changed, err, len);
    if (!status && info.pos.phase != CKPT_AT_EPOCH_END && info.pos.epoch >= cfg->train.epochs) {
        ckpt_errf(err, len, "--epochs %d: the checkpoint %s is inside epoch %d (give --epochs %d "
                 "or more)", cfg->train.epochs, path, info.pos.epoch + 1, info.pos.epoch + 1);
        status = BIVAE_EXIT_USAGE;
    }
    if (!status && lr_changed)
        note0(cfg, c, "note: --lr %g differs from the checkpoint's %g: the continued run does "
              "not replay an uninterrupted one", cfg->train.lr, info.train.lr);
    if (!status && info.run_id[0])
        snprintf(plan->run.id, sizeof plan->run.id, "%s", info.run_id);
    else if (!status)
        note0(cfg, c, "%s predates run ids: it continues as run %s (files without a run id "
              "are kept as they are)", path, plan->run.id);
    plan->resumed_epochs = info.pos.epoch;
    ckpt_info_free(&info);
    return status;
}

/* Collective. The run's id and, with --checkpoint-dir (created when missing), what it does
 * there: a fresh run (refused where checkpoints are, unless --overwrite) or, with --resume,
 * the current run's newest checkpoint with its settings checked. Changes nothing on disk
 * but the directory's creation. */
static int prepare_checkpoints(const bivae_config *cfg, comm *c, const char *cpu_kernels,
                               run_plan *plan)
{
    const char *dir = cfg->output.checkpoint_dir;
    char err[1024] = "";
    int status = 0;
    memset(plan, 0, sizeof *plan);
    if (comm_rank(c) == 0 && !dir)
        ckpt_new_run_id(NULL, plan->run.id);
    if (comm_rank(c) == 0 && dir)
        status = ckpt_run_plan(dir, cfg->output.resume, cfg->output.overwrite, &plan->run, err,
                               sizeof err);
    if ((status = comm_agree(c, status, err)))
        return status;
    comm_bcast(c, &plan->run, sizeof plan->run, 0);
    if (cfg->output.resume && !plan->run.resume_path[0])
        note0(cfg, c, "--resume: no checkpoint in %s: starting from scratch", dir);
    if (plan->run.resume_path[0]) {
        status = check_resume_header(cfg, c, plan, err, sizeof err);
        hosts_name_partial_failure(c, status, "the checkpoint directory", err, sizeof err);
        status = comm_agree(c, status, err);
    }
    char advice[256];
    kern_cpu_blas(advice, sizeof advice);
    if (!status)
        note0(cfg, c, "run %s: bivae-dist %s, CPU kernels %s", plan->run.id, BIVAE_VERSION,
              cpu_kernels);
    if (!status && advice[0])
        note0(cfg, c, "note: %s", advice);
    return status;
}

/* Collective: the log of the run; --metrics-out (rank 0) opened for it, its folder made,
 * its lines checked, nothing in it changed yet. NULL with *status when it cannot be. */
static run_log *open_log(const bivae_config *cfg, comm *c, const run_plan *plan, int *status)
{
    char err[1024] = "";
    run_log *log = run_log_open(comm_rank(c), NULL, cfg->output.quiet, comm_size(c));
    int keep = plan->run.resume_path[0] ? plan->resumed_epochs : -1;
    *status = comm_agree(c, run_log_open_metrics(log, cfg->output.metrics_out, plan->run.id,
                                                 keep, err, sizeof err), err);
    if (*status) {
        run_log_close(log);
        return NULL;
    }
    return log;
}

/* Collective: the run begins training (its checkpoint, if any, loaded): from now on
 * <checkpoint-dir>/current-run names it and --metrics-out holds only its kept lines. */
static int start_run(const bivae_config *cfg, comm *c, const run_plan *plan, run_log *log)
{
    char err[1024] = "";
    int status = 0;
    const char *dir = cfg->output.checkpoint_dir;
    if (comm_rank(c) == 0 && dir && ckpt_set_current_run(dir, plan->run.id, err, sizeof err))
        status = BIVAE_EXIT_RUNTIME;
    if (!status)
        status = run_log_start(log, err, sizeof err);
    return comm_agree(c, status, err);
}

/* Collective: the state of the checkpoint at `path` into m, and where t continues. */
static int resume_from(const char *path, bivae_model *m, trainer *t, const dataset *d, comm *c,
                       run_log *log)
{
    ckpt_position pos;
    int status = ckpt_load(path, m, d, c, &pos);
    if (status)
        return status;
    trainer_resume_at(t, &pos);
    run_log_note(log, "resuming from %s: %d epoch(s) done%s", path, pos.epoch,
                 pos.phase == CKPT_AT_EPOCH_END ? "" : " and part of the next");
    if (pos.phase == CKPT_AT_EPOCH_END && pos.epoch >= t->cfg->train.epochs)
        run_log_note(log, "nothing left to train (--epochs %d)", t->cfg->train.epochs);
    return 0;
}

/* The prior encoders --cap-priors asks for, on the feature rows the data came with
 * (src/cli.c made sure each such side has them). */
static model_priors cap_priors_of(const bivae_config *cfg, const dataset *d)
{
    model_priors p = {{NULL, NULL}, {0, 0}};
    const feature_block *fb[2] = {&d->user_features, &d->item_features};
    int on[2] = {cfg->model.cap_user, cfg->model.cap_item};
    for (int s = 0; s < 2; s++)
        if (on[s] && fb[s]->n_features > 0) {
            p.F[s] = fb[s]->x;
            p.n_features[s] = fb[s]->n_features;
        }
    return p;
}

/* Collective. A --cap-priors side whose features have no column has no prior to learn. */
static int check_cap_features(const bivae_config *cfg, const dataset *d, comm *c)
{
    char msg[256] = "";
    if (cfg->model.cap_user && d->user_features.n_features <= 0)
        snprintf(msg, sizeof msg, "--cap-priors user: the user features (%s) have no feature "
                 "column", d->user_features_source);
    else if (cfg->model.cap_item && d->item_features.n_features <= 0)
        snprintf(msg, sizeof msg, "--cap-priors item: the item features (%s) have no feature "
                 "column", d->item_features_source);
    return comm_agree(c, msg[0] ? BIVAE_EXIT_USAGE : 0, msg);
}

static int train_loaded(const bivae_config *cfg, comm *c, kern *k, const dataset *d,
                        run_log *log, int threads, const run_plan *plan)
{
    bivae_model m;
    trainer t;
    const char *resume_path = plan->run.resume_path;
    describe_run(log, cfg, d, c, k, threads);
    model_priors priors = cap_priors_of(cfg, d);
    model_init_cap(&m, k, &cfg->model, cfg->train.seed, comm_rank(c), comm_size(c), d->n_users,
                   d->n_items, d->Ru.rowptr, d->Ru.col, d->n_local_users, d->Ri.rowptr,
                   d->Ri.col, d->n_local_items, max_local_batch(cfg, d, comm_size(c)), c,
                   cfg->system.first_layer == FIRST_LAYER_SHARDED, &priors);
    describe_adam(log, &m);
    describe_cap(log, &m);
    trainer_init(&t, &m, c, d, cfg, log);
    t.run_id = plan->run.id;
    int status = resume_path[0] ? resume_from(resume_path, &m, &t, d, c, log) : 0;
    if (!status)
        status = start_run(cfg, c, plan, log);
    if (!status) {
        if (cfg->output.checkpoint_dir)
            signals_install();
        double secs = 0.0;
        eval_result r = trainer_run(&t, &secs);
        signals_restore();
        status = t.status;
        int finished = !status && !t.stopped;   /* else reported already; no final metrics */
        cold_report cold;
        if (finished && d->n_test_users > 0 && cfg->data.cold_users > 0.0) {
            trainer_evaluate_cold(&t, &cold);   /* the final metrics: the warm users */
            r = cold.warm;
        }
        if (finished && d->n_test_users > 0) {
            run_log_final(log, &r, secs);
            if (cfg->data.cold_users > 0.0)
                run_log_cold(log, &cold);
        } else if (finished) {
            run_log_note(log, "no test data: training done in %.2f s, no metrics", secs);
        }
    }
    trainer_free(&t);
    model_free(&m);
    return status;
}

int app_check_cpu_isa(comm *c, char *out, size_t out_len)
{
    char why[256] = "";
    const char *isa = kern_cpu_isa(why, sizeof why);
    int status = comm_agree(c, isa ? 0 : BIVAE_EXIT_USAGE, why);
    if (status)
        return status;
    int at = 0;
    while (strcmp(kern_cpu_isa_built(at), isa) != 0)
        at++;
    int lo = (int)-comm_allreduce_max_i64(c, -at), hi = (int)comm_allreduce_max_i64(c, at);
    const char *blas = kern_cpu_blas(NULL, 0);
    if (lo == hi)
        snprintf(out, out_len, "%s, OpenBLAS %s", isa, blas);
    else
        snprintf(out, out_len, "%s to %s (by rank), OpenBLAS %s (rank 0)",
                 kern_cpu_isa_built(lo), kern_cpu_isa_built(hi), blas);
    return 0;
}

static int train_on(const bivae_config *cfg, comm *c, kern *k, int threads,
                    const char *cpu_kernels);

int app_train(const bivae_config *cfg, comm *world)
{
    char cpu_kernels[128] = "";
    int threads = app_resolve_threads(cfg->system.threads, comm_local_size(world));
    int status = check_threads(cfg, world);
    if (!status && cfg->cold_history_given && comm_size(world) > 1)   /* model_fold_in */
        status = comm_agree(world, BIVAE_EXIT_USAGE, "--cold-history-ratio: needs one rank "
                            "(the fold-in reads the whole first layer)");
    if (!status)
        status = app_check_cpu_isa(world, cpu_kernels, sizeof cpu_kernels);
    kern *k = status ? NULL : open_backend(cfg, world, threads, &status);
    comm *c = status ? NULL : open_comm(cfg, world, k, &status);
    if (!status)
        status = train_on(cfg, c, k, threads, cpu_kernels);
    if (c && c != world)
        comm_destroy(c);
    kern_destroy(k);
    return status;
}

/* The train command on a ready backend and communicator. */
static int train_on(const bivae_config *cfg, comm *c, kern *k, int threads,
                    const char *cpu_kernels)
{
    run_plan plan;
    dataset d;
    int status = prepare_checkpoints(cfg, c, cpu_kernels, &plan), loaded = 0;
    run_log *log = status ? NULL : open_log(cfg, c, &plan, &status);
    if (!status)
        loaded = !(status = dataset_load(&cfg->data, c, &d));
    if (!status)
        status = check_cap_features(cfg, &d, c);
    if (!status)
        status = train_loaded(cfg, c, k, &d, log, threads, &plan);
    int close_status = log ? run_log_close(log) : 0;
    if (loaded)
        dataset_free(&d);
    return (int)comm_allreduce_max_i64(c, status ? status : close_status);
}

int app_gen(const bivae_config *cfg, comm *c)
{
    int status = 0;
    if (comm_rank(c) == 0)
        status = synth_write_file(cfg->data.synthetic, cfg->train.seed, cfg->output.out);
    return (int)comm_allreduce_max_i64(c, status);
}
