/* benchmarks/bench_gpu.c — training throughput of the CUDA backend on one GPU, through the
 * real trainer (src/train.c's trainer_phase, as bench_cpu does: the step's all-reduce call,
 * the loss, the finite check and the table gather included).
 *
 *   bench_gpu [--shapes ml-20m] [--k 50] [--hidden 100] [--batches 128,1024]
 *             [--maths fp32,tf32] [--steps 0] [--warmup 3] [--seed 42] [--out DIR]
 *   (defaults shown; --shapes takes a list, e.g. ml-1m,ml-20m; --synthetic is the same flag,
 *   --max-steps the same as --steps)
 *
 * Data: the built-in synthetic generator at each shape (a preset or UxIxNNZ), all ratings
 * in the training split. For each shape × GEMM math × batch size, one rank, a fresh model:
 *   warm-up   W steps of each phase (allocations, cuBLAS heuristics)
 *   epoch     item phase then user phase through trainer_phase. --steps N > 0 limits every
 *             phase to its first N steps (trainer.max_steps) and the epoch is extrapolated:
 *               ms_per_epoch = Σ_side (steps_ms / n · n_steps(side) + phase_end_ms)
 *             steps_ms: device time from before the first timed step to after the last
 *             (cudaEvents recorded on the backend's stream from trainer.step_hook, no host
 *             wait in between); phase_end_ms = the phase's host wall − steps_ms (the refresh
 *             flush, finite check, table gather, loss download). --steps 0: the whole epoch,
 *             measured (host wall of the two trainer_phase calls).
 *   launches  kern_cuda_launches per steady-state step (steps 1 .. n−1 of each phase: step 0
 *             has no refresh forward), both phases together: kernel launches, cuBLAS calls
 *             and the backend's memset/memcpy ops; device-independent
 *   profiled  the same steps again with a cudaEvent pair around every backend op: device
 *             time by class over the steps only, scaled to the epoch like steps_ms:
 *               decoder_gemm  the GEMMs Z = z·T̃ᵀ [rows × N] and G_z = G_Z·T̃ (by shape)
 *               encoder_gemm  every other GEMM
 *               elementwise_lik  the fused likelihood pass + the element-wise ops
 *               sparse        the first layer's CSR products
 *               adam, comm (comm_stats over the timed phases, not scaled: 0 on one rank,
 *               where the trainer calls no collective), other (rng,
 *               memory ops, top-K); idle = steps_ms − the classes (the device waiting on
 *               the host between ops: launch overhead)
 *   gemm_tflops   Σ 2·m·n·k over the decoder GEMMs / their device time; against the card's
 *                 dense peak for the math (a table by device name below; -1 when unknown)
 *   elementwise_gbps  bytes the likelihood pass moves / its device time, with
 *                 bytes per step = rows·N·(4 read + 4 write of Z in place)
 *                                + rows·⌈N/32⌉·4·3 (its bitmap: memset, build, read)
 *   peak_mem_mb   device memory in use (cudaMemGetInfo) after the runs minus before the
 *                 model: the backend frees nothing during a run and scratch only grows, so
 *                 this is the high-water mark of model + trainer + workspace
 * Writes bench_gpu.csv, bench_gpu.md and bench_gpu.json into DIR (default $OUT, else
 * benchmarks/out). Exits 77 with "SKIP: no CUDA device: <reason>" without a GPU. */
#include <errno.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/check.h"
#include "kernels/cuda/cuda_profile.h"
#include "src/cli.h"
#include "src/train.h"

enum { MAX_LIST = 8, N_CLASSES = 8 };

static const char *const class_keys[N_CLASSES] = {
    "decoder_gemm", "encoder_gemm", "elementwise_lik", "sparse", "adam", "comm", "other",
    "idle"};
enum { C_DEC, C_ENC, C_ELEM, C_SPARSE, C_ADAM, C_COMM, C_OTHER, C_IDLE };

typedef struct bench_opts {
    const char *shapes[MAX_LIST];
    int n_shapes;
    int k, hidden, warmup;
    int batches[MAX_LIST], n_batches;
    kern_gemm_math maths[MAX_LIST];
    int n_maths;
    uint64_t seed;
    int64_t steps;            /* per phase; 0 = the whole epoch */
    const char *out;
} bench_opts;

/* What trainer.step_hook records in one phase. */
typedef struct phase_probe {
    kern *k;
    kern_cuda_timer *timer;
    int profile;              /* 1: the profiler runs over the steps */
    kern_cuda_profile prof;
    int64_t launches0, launches1;     /* kern_cuda_launches before step 0, before step 1 */
    int64_t launches, launch_steps;   /* launches over the steady steps (1 .. n−1; all
                                         when n = 1: step 0 has no refresh forward) */
    int64_t steps;
} phase_probe;

typedef struct bench_row {
    const char *shape, *math;
    int batch;
    int64_t steps[2], n_steps[2];     /* timed and full steps per side ([SIDE_USER], [SIDE_ITEM]) */
    double steps_ms[2], end_ms[2], wall_ms[2];
    double ms_per_epoch;
    int extrapolated;
    double launches_per_step;
    double side_launches[2];          /* per steady step of each side */
    double ops_per_step;              /* backend ops the profiler timed, per step */
    double ms_by_class[N_CLASSES];    /* per epoch */
    double decoder_gflop;             /* per epoch (scaled like the classes): 8·U·I·K exact */
    double gemm_tflops, gemm_peak, elementwise_gbps, bw_peak, peak_mem_mb;
} bench_row;

static double now(void) { return MPI_Wtime(); }

static const char *math_name(kern_gemm_math m)
{
    return m == KERN_GEMM_TF32 ? "tf32" : (m == KERN_GEMM_BF16 ? "bf16" : "fp32");
}

/* ---- the card's peaks ------------------------------------------------------------------ */

/* Dense (no 2:4 sparsity) peak TFLOP/s by GEMM math and memory bandwidth, from NVIDIA's
 * data sheets; matched on the device name. */
typedef struct card_peak {
    const char *name_has, *and_has;   /* and_has: NULL = any */
    double fp32, tf32, bf16, gbps;
} card_peak;

static const card_peak card_peaks[] = {
    {"H200", "NVL", 60.0, 417.5, 835.0, 4800.0},
    {"H200", NULL, 67.0, 494.7, 989.4, 4800.0},   /* SXM */
    {"H100", "PCIe", 51.2, 378.0, 756.0, 2000.0},
    {"H100", "NVL", 60.0, 417.5, 835.0, 3900.0},
    {"H100", NULL, 67.0, 494.7, 989.4, 3350.0},   /* SXM */
    {"A100", "40GB", 19.5, 156.0, 312.0, 1555.0},
    {"A100", NULL, 19.5, 156.0, 312.0, 2039.0},   /* 80GB SXM */
};

static const card_peak *find_peak(const char *device)
{
    for (size_t i = 0; i < sizeof card_peaks / sizeof card_peaks[0]; i++)
        if (strstr(device, card_peaks[i].name_has) &&
            (!card_peaks[i].and_has || strstr(device, card_peaks[i].and_has)))
            return &card_peaks[i];
    return NULL;
}

static double peak_tflops(const card_peak *p, kern_gemm_math m)
{
    if (!p)
        return -1.0;
    return m == KERN_GEMM_TF32 ? p->tf32 : (m == KERN_GEMM_BF16 ? p->bf16 : p->fp32);
}

/* ---- options ------------------------------------------------------------------------- */

static int parse_ints(const char *flag, const char *s, int *out, int max)
{
    int n = 0;
    char *copy = xstrdup(s), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *end = NULL;
        long v = strtol(t, &end, 10);
        if (*end || v < 1 || n == max)
            bivae_fail(BIVAE_EXIT_USAGE, "bench_gpu: %s %s: want up to %d positive integers",
                       flag, s, max);
        out[n++] = (int)v;
    }
    free(copy);
    return n;
}

static int parse_maths(const char *s, kern_gemm_math *out, int max)
{
    int n = 0;
    char *copy = xstrdup(s), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (n == max)
            bivae_fail(BIVAE_EXIT_USAGE, "bench_gpu: --maths: at most %d", max);
        if (!strcmp(t, "fp32")) out[n++] = KERN_GEMM_FP32;
        else if (!strcmp(t, "tf32")) out[n++] = KERN_GEMM_TF32;
        else if (!strcmp(t, "bf16")) out[n++] = KERN_GEMM_BF16;
        else bivae_fail(BIVAE_EXIT_USAGE, "bench_gpu: --maths: unknown %s (fp32, tf32, bf16)", t);
    }
    free(copy);
    return n;
}

/* The shape names stay in argv's memory: split a copy that lives as long as the process. */
static int parse_shapes(const char *s, const char **out, int max)
{
    int n = 0;
    char *copy = xstrdup(s), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (n == max)
            bivae_fail(BIVAE_EXIT_USAGE, "bench_gpu: --shapes: at most %d", max);
        out[n++] = t;
    }
    return n;
}

#define BENCH_GPU_USAGE                                                                  \
    "usage: bench_gpu [--shapes ml-20m] [--k 50] [--hidden 100] [--batches 128,1024]\n"     \
    "                 [--maths fp32,tf32] [--steps 0] [--warmup 3] [--seed 42] [--out DIR]\n" \
    "  (defaults shown; --shapes: a list of presets or UxIxNNZ; --steps N > 0 times the\n"  \
    "  first N steps of each phase and extrapolates the epoch; --out: default $OUT or\n"    \
    "  benchmarks/out; writes bench_gpu.csv, bench_gpu.md, bench_gpu.json; exit 77\n"      \
    "  without a GPU)\n"

static int64_t parse_count(const char *flag, const char *v)
{
    char *end = NULL;
    long long x = strtoll(v, &end, 10);
    if (*end || x < 0)
        bivae_fail(BIVAE_EXIT_USAGE, "bench_gpu: %s %s: want an integer >= 0", flag, v);
    return x;
}

static bench_opts parse_opts(int argc, char **argv)
{
    bench_opts o = {{"ml-20m"}, 1, 50, 100, 3, {128, 1024}, 2, {KERN_GEMM_FP32, KERN_GEMM_TF32},
                    2, 42, 0, NULL};
    const char *env_out = getenv("OUT");
    o.out = env_out && *env_out ? env_out : "benchmarks/out";
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(BENCH_GPU_USAGE, stdout);
            exit(0);
        }
        if (!v)
            bivae_fail(BIVAE_EXIT_USAGE, "bench_gpu: %s needs a value (--help: usage)", a);
        if (!strcmp(a, "--shapes") || !strcmp(a, "--synthetic"))
            o.n_shapes = parse_shapes(v, o.shapes, MAX_LIST);
        else if (!strcmp(a, "--k")) o.k = (int)parse_count(a, v);
        else if (!strcmp(a, "--hidden")) o.hidden = (int)parse_count(a, v);
        else if (!strcmp(a, "--batches")) o.n_batches = parse_ints(a, v, o.batches, MAX_LIST);
        else if (!strcmp(a, "--maths")) o.n_maths = parse_maths(v, o.maths, MAX_LIST);
        else if (!strcmp(a, "--seed")) o.seed = (uint64_t)parse_count(a, v);
        else if (!strcmp(a, "--steps") || !strcmp(a, "--max-steps")) o.steps = parse_count(a, v);
        else if (!strcmp(a, "--warmup")) o.warmup = (int)parse_count(a, v);
        else if (!strcmp(a, "--out")) o.out = v;
        else bivae_fail(BIVAE_EXIT_USAGE, "bench_gpu: unknown argument %s", a);
    }
    if (o.k < 1 || o.hidden < 1 || o.n_shapes < 1 || o.n_batches < 1 || o.n_maths < 1)
        bivae_fail(BIVAE_EXIT_USAGE, "bench_gpu: --k, --hidden, --shapes, --batches and "
                   "--maths must be non-empty / positive");
    return o;
}

/* ---- one phase, probed ------------------------------------------------------------------ */

/* trainer.step_hook: the timer, launch counter and (optionally) profiler around the steps. */
static void probe_hook(void *ctx, bivae_side s, int64_t step, int done)
{
    (void)s;
    phase_probe *p = (phase_probe *)ctx;
    if (!done && step == 1)
        p->launches1 = kern_cuda_launches(p->k);
    if (!done && step > 0)
        return;
    if (!done) {
        p->launches0 = kern_cuda_launches(p->k);
        if (p->profile)
            kern_cuda_profile_start(p->k);
        kern_cuda_timer_begin(p->timer);
        return;
    }
    kern_cuda_timer_end(p->timer);
    p->steps = step;
    p->launch_steps = step > 1 ? step - 1 : step;
    p->launches = kern_cuda_launches(p->k) - (step > 1 ? p->launches1 : p->launches0);
    if (p->profile)
        kern_cuda_profile_stop(p->k, &p->prof);   /* waits: a profiled pass is not timed */
}

/* trainer_phase with the probe; the phase's host wall in ms. Fails on a guard's stop. */
static double probed_phase(trainer *t, bivae_side s, int epoch, phase_probe *p)
{
    t->step_hook = probe_hook;
    t->step_hook_ctx = p;
    p->steps = 0;
    kern_sync(t->m->k);
    double t0 = now();
    double loss = trainer_phase(t, s, epoch);
    double ms = (now() - t0) * 1e3;
    t->step_hook = NULL;
    if (isnan(loss) || t->status)
        bivae_fail(BIVAE_EXIT_RUNTIME, "bench_gpu: the %s phase of epoch %d stopped (status %d)",
                   s == SIDE_ITEM ? "item" : "user", epoch, t->status);
    return ms;
}

/* ---- one configuration ------------------------------------------------------------------ */

static int is_decoder_gemm(const kern_cuda_gemm_shape *g, int64_t N_other, int64_t K)
{
    return (g->n == N_other && g->k == K) || (g->n == K && g->k == N_other);
}

/* Bytes the likelihood pass of side s moves over its first `steps` steps (formula above). */
static double lik_bytes(int64_t rows, int64_t B, int64_t steps, int64_t N_other)
{
    double bytes = 0.0;
    for (int64_t j = 0; j < steps; j++) {
        int64_t r = rows - j * B < B ? rows - j * B : B;
        bytes += (double)r * (double)N_other * 8.0 + (double)r * (double)((N_other + 31) / 32) * 12.0;
    }
    return bytes;
}

/* The profiled steps of side s, scaled by `scale` (full / timed steps), into row's classes;
 * adds the decoder's flop and ms and the likelihood's bytes and ms. */
static void add_profile(bench_row *r, const phase_probe *p, double scale, int64_t N_other,
                        int64_t K, double sums[4])
{
    const kern_cuda_profile *f = &p->prof;
    double dec = 0.0;
    for (int i = 0; i < f->n_gemm_shapes; i++)
        if (is_decoder_gemm(&f->gemm_shapes[i], N_other, K)) {
            const kern_cuda_gemm_shape *g = &f->gemm_shapes[i];
            double flop = 2.0 * (double)g->m * (double)g->n * (double)g->k * (double)g->calls;
            dec += g->ms;
            sums[0] += flop;
            r->decoder_gflop += scale * flop * 1e-9;
        }
    sums[1] += dec;
    sums[3] += f->ms[2];
    for (int c = 0; c < KERN_CUDA_PROF_CLASSES; c++)
        r->ops_per_step += (double)f->calls[c];
    r->ms_by_class[C_DEC] += scale * dec;
    r->ms_by_class[C_ENC] += scale * (f->ms[0] - dec);
    r->ms_by_class[C_ELEM] += scale * (f->ms[2] + f->ms[3]);
    r->ms_by_class[C_SPARSE] += scale * f->ms[1];
    r->ms_by_class[C_ADAM] += scale * f->ms[4];
    r->ms_by_class[C_OTHER] += scale * (f->ms[5] + f->ms[6] + f->ms[7]);
}

static double used_mb(kern *k)
{
    size_t free_b = 0, total_b = 0;
    kern_cuda_mem_info(k, &free_b, &total_b);
    return (double)(total_b - free_b) / (1024.0 * 1024.0);
}

static bivae_config bench_config(const bench_opts *o, const char *shape, int B)
{
    bivae_config cfg;
    cli_defaults(&cfg);
    cfg.command = CMD_TRAIN;
    cfg.data.synthetic = shape;
    cfg.data.test_ratio = 0.0;   /* every rating trains */
    cfg.data.seed = o->seed;
    cfg.model.k = o->k;
    cfg.model.n_hidden = 1;
    cfg.model.hidden[0] = o->hidden;
    cfg.model.act = KERN_ACT_TANH;
    cfg.model.likelihood = KERN_LIK_POIS;
    cfg.train.batch_size = B;
    cfg.train.lr = 0.001;
    cfg.train.seed = o->seed;
    cfg.output.quiet = 1;
    return cfg;
}

/* The timed epoch (epoch 2): wall, steps' device time, launches; returns the device time of
 * the steps scaled to the whole epoch. */
static double timed_epoch(bench_row *r, trainer *t, phase_probe p[2], const comm *c)
{
    bivae_model *m = t->m;
    comm_stats c0 = comm_get_stats(c);
    int64_t launches = 0, steps = 0;
    for (int i = 0; i < 2; i++) {
        bivae_side s = i == 0 ? SIDE_ITEM : SIDE_USER;   /* the trainer's order */
        r->wall_ms[s] = probed_phase(t, s, 2, &p[s]);
        r->steps[s] = p[s].steps;
        r->n_steps[s] = (model_side_rows(m, s) + r->batch - 1) / r->batch;
        r->steps_ms[s] = kern_cuda_timer_ms(p[s].timer);
        r->end_ms[s] = r->wall_ms[s] > r->steps_ms[s] ? r->wall_ms[s] - r->steps_ms[s] : 0.0;
        launches += p[s].launches;
        r->side_launches[s] = (double)p[s].launches / (double)p[s].launch_steps;
        steps += p[s].launch_steps;
    }
    comm_stats c1 = comm_get_stats(c);
    r->extrapolated = r->steps[0] < r->n_steps[0] || r->steps[1] < r->n_steps[1];
    r->ms_per_epoch = 0.0;
    double steps_epoch_ms = 0.0;
    for (int s = 0; s < 2; s++) {
        double scale = (double)r->n_steps[s] / (double)r->steps[s];
        steps_epoch_ms += r->steps_ms[s] * scale;
        r->ms_per_epoch += r->extrapolated ? r->steps_ms[s] * scale + r->end_ms[s] : r->wall_ms[s];
    }
    r->launches_per_step = (double)launches / (double)steps;
    r->ms_by_class[C_COMM] = 1e3 * ((c1.allreduce_seconds - c0.allreduce_seconds) +
                                    (c1.allgather_seconds - c0.allgather_seconds));
    return steps_epoch_ms;
}

/* The profiled epoch (epoch 3): classes, decoder rate, likelihood bandwidth; idle against
 * steps_epoch_ms, the unprofiled steps' device time. */
static void profiled_epoch(bench_row *r, trainer *t, phase_probe p[2], double steps_epoch_ms)
{
    bivae_model *m = t->m;
    double sums[4] = {0, 0, 0, 0};   /* decoder flop, decoder ms, lik bytes, lik ms */
    for (int i = 0; i < 2; i++) {
        bivae_side s = i == 0 ? SIDE_ITEM : SIDE_USER;
        p[s].profile = 1;
        probed_phase(t, s, 3, &p[s]);
        int64_t N_other = model_side_rows(m, 1 - s);
        add_profile(r, &p[s], (double)r->n_steps[s] / (double)p[s].steps, N_other, m->K, sums);
        sums[2] += lik_bytes(model_side_rows(m, s), r->batch, p[s].steps, N_other);
    }
    r->ops_per_step /= (double)(p[SIDE_ITEM].steps + p[SIDE_USER].steps);
    double classes = 0.0;
    for (int c2 = 0; c2 < C_IDLE; c2++)
        classes += c2 == C_COMM ? 0.0 : r->ms_by_class[c2];
    r->ms_by_class[C_IDLE] = steps_epoch_ms > classes ? steps_epoch_ms - classes : 0.0;
    r->gemm_tflops = sums[1] > 0 ? sums[0] / (sums[1] * 1e-3) * 1e-12 : 0.0;
    r->elementwise_gbps = sums[3] > 0 ? sums[2] / (sums[3] * 1e-3) * 1e-9 : 0.0;
}

static void measure(bench_row *r, trainer *t, const bench_opts *o, const comm *c)
{
    phase_probe p[2];
    memset(p, 0, sizeof p);
    for (int s = 0; s < 2; s++) {
        p[s].k = t->m->k;
        p[s].timer = kern_cuda_timer_create(t->m->k);
    }
    t->max_steps = o->steps;
    double steps_epoch_ms = timed_epoch(r, t, p, c);
    profiled_epoch(r, t, p, steps_epoch_ms);
    for (int s = 0; s < 2; s++)
        kern_cuda_timer_free(p[s].timer);
}

static bench_row bench_one(const bench_opts *o, const char *shape, const dataset *d, comm *c,
                           kern_gemm_math math, int B, const card_peak *peak)
{
    bench_row r;
    memset(&r, 0, sizeof r);
    r.shape = shape;
    r.math = math_name(math);
    r.batch = B;
    char err[256] = "";
    kern *k = kern_cuda_create(0, math, err, sizeof err);
    if (!k)
        bivae_fail(BIVAE_EXIT_RUNTIME, "bench_gpu: kern_cuda_create: %s", err);
    double mem0 = used_mb(k);
    bivae_config cfg = bench_config(o, shape, B);
    run_log *log = run_log_open(0, NULL, 1, 1);
    bivae_model m;
    trainer t;
    model_init(&m, k, &cfg.model, cfg.train.seed, 0, 1, d->n_users, d->n_items, d->Ru.rowptr,
               d->Ru.col, d->n_local_users, d->Ri.rowptr, d->Ri.col, d->n_local_items, B, c, 1);
    trainer_init(&t, &m, c, d, &cfg, log);
    t.max_steps = o->warmup > 0 ? o->warmup : 1;
    trainer_phase(&t, SIDE_ITEM, 1);
    trainer_phase(&t, SIDE_USER, 1);
    measure(&r, &t, o, c);
    r.peak_mem_mb = used_mb(k) - mem0;
    r.gemm_peak = peak_tflops(peak, math);
    r.bw_peak = peak ? peak->gbps : -1.0;
    trainer_free(&t);
    model_free(&m);
    run_log_close(log);
    kern_destroy(k);
    return r;
}

/* ---- report -------------------------------------------------------------------------- */

/* "42%" of the peak into buf[16], "n/a" when the card's peak is unknown */
static void pct_text(char *buf, double x, double peak)
{
    if (peak > 0)
        snprintf(buf, 16, "%.0f%%", 100.0 * x / peak);
    else
        snprintf(buf, 16, "n/a");
}

static FILE *open_out(const char *dir, const char *name, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        bivae_fail(BIVAE_EXIT_RUNTIME, "bench_gpu: cannot write %s: %s", path, strerror(errno));
    return f;
}

static void close_out(FILE *f, const char *path)
{
    if (ferror(f) | (fclose(f) != 0))
        bivae_fail(BIVAE_EXIT_RUNTIME, "bench_gpu: writing %s failed: %s", path, strerror(errno));
}

static void write_csv(const char *dir, const bench_row *rows, int n, const char *device)
{
    char path[4096];
    FILE *f = open_out(dir, "bench_gpu.csv", path, sizeof path);
    fprintf(f, "device,shape,batch,precision,ranks,item_steps,user_steps,item_steps_epoch,"
            "user_steps_epoch,extrapolated,ms_per_epoch,launches_per_step,gemm_tflops,"
            "gemm_peak_tflops,elementwise_gbps,peak_mem_mb");
    for (int c = 0; c < N_CLASSES; c++)
        fprintf(f, ",%s_ms", class_keys[c]);
    fprintf(f, "\n");
    for (int i = 0; i < n; i++) {
        const bench_row *r = &rows[i];
        fprintf(f, "\"%s\",%s,%d,%s,1,%lld,%lld,%lld,%lld,%d,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g",
                device, r->shape, r->batch, r->math, (long long)r->steps[SIDE_ITEM],
                (long long)r->steps[SIDE_USER], (long long)r->n_steps[SIDE_ITEM],
                (long long)r->n_steps[SIDE_USER], r->extrapolated, r->ms_per_epoch,
                r->launches_per_step, r->gemm_tflops, r->gemm_peak, r->elementwise_gbps,
                r->peak_mem_mb);
        for (int c = 0; c < N_CLASSES; c++)
            fprintf(f, ",%.6g", r->ms_by_class[c]);
        fprintf(f, "\n");
    }
    close_out(f, path);
}

static void print_table(FILE *f, const bench_row *rows, int n)
{
    fprintf(f, "| shape | batch | math | ms/epoch | launches/step | dec GEMM TFLOP/s (%% peak) "
            "| lik GB/s (%% peak) | peak MB |");
    for (int c = 0; c < N_CLASSES; c++)
        fprintf(f, " %s ms |", class_keys[c]);
    fprintf(f, "\n|---|---|---|---|---|---|---|---|");
    for (int c = 0; c < N_CLASSES; c++)
        fprintf(f, "---|");
    fprintf(f, "\n");
    for (int i = 0; i < n; i++) {
        const bench_row *r = &rows[i];
        char gemm_pct[16], bw_pct[16];
        pct_text(gemm_pct, r->gemm_tflops, r->gemm_peak);
        pct_text(bw_pct, r->elementwise_gbps, r->bw_peak);
        fprintf(f, "| %s | %d | %s | %.3f%s | %.1f | %.3f (%s) | %.1f (%s) | %.1f |", r->shape,
                r->batch, r->math, r->ms_per_epoch, r->extrapolated ? "*" : "",
                r->launches_per_step, r->gemm_tflops, gemm_pct, r->elementwise_gbps, bw_pct,
                r->peak_mem_mb);
        for (int c = 0; c < N_CLASSES; c++)
            fprintf(f, " %.3f |", r->ms_by_class[c]);
        fprintf(f, "\n");
    }
}

static void write_md(const char *dir, const bench_row *rows, int n, const char *device,
                     const bench_opts *o, const card_peak *peak)
{
    char path[4096];
    FILE *f = open_out(dir, "bench_gpu.md", path, sizeof path);
    fprintf(f, "# bench_gpu\n\nDevice: %s (peaks: %s). k=%d, encoder [%d], tanh, pois, one "
            "rank, the real trainer (trainer_phase).\n\n", device,
            peak ? "data-sheet table in bench_gpu.c" : "unknown card, no % of peak", o->k,
            o->hidden);
    fprintf(f, "ms/epoch: * = extrapolated from the first %lld steps of each phase (device "
            "time of the steps × full/timed steps + the phase end's wall); otherwise the "
            "measured wall of a whole epoch. Classes: device time over the steps of one "
            "profiled epoch (cudaEvents around every op), idle = the device waiting between "
            "ops. %% peak: n/a when the card is not in the table.\n\n", (long long)o->steps);
    print_table(f, rows, n);
    close_out(f, path);
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++)
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", (unsigned)(unsigned char)*s);
        else
            fputc(*s, f);
    fputc('"', f);
}

static void write_json(const char *dir, const bench_row *rows, int n, const char *device,
                       const bench_opts *o)
{
    char path[4096];
    FILE *f = open_out(dir, "bench_gpu.json", path, sizeof path);
    fprintf(f, "{\"device\": ");
    json_string(f, device);
    fprintf(f, ", \"k\": %d, \"hidden\": %d, \"steps_per_phase\": %lld, \"runs\": [", o->k,
            o->hidden, (long long)o->steps);
    for (int i = 0; i < n; i++) {
        const bench_row *r = &rows[i];
        fprintf(f, "%s\n  {\"shape\": ", i ? "," : "");
        json_string(f, r->shape);
        fprintf(f, ", \"batch\": %d, \"precision\": \"%s\", \"ranks\": 1, \"ms_per_epoch\": %.6g, "
                "\"extrapolated\": %s, \"steps\": {\"item\": %lld, \"user\": %lld}, "
                "\"steps_per_epoch\": {\"item\": %lld, \"user\": %lld}, "
                "\"launches_per_step\": %.6g, "
                "\"launches_per_step_by_side\": {\"item\": %.6g, \"user\": %.6g}, \"ops_per_step\": %.6g, \"decoder_gflop_per_epoch\": %.6g, \"gemm_tflops\": %.6g, \"gemm_peak_tflops\": %.6g, "
                "\"elementwise_gbps\": %.6g, \"elementwise_peak_gbps\": %.6g, "
                "\"peak_mem_mb\": %.6g, \"ms_by_class\": {", r->batch, r->math, r->ms_per_epoch,
                r->extrapolated ? "true" : "false", (long long)r->steps[SIDE_ITEM],
                (long long)r->steps[SIDE_USER], (long long)r->n_steps[SIDE_ITEM],
                (long long)r->n_steps[SIDE_USER], r->launches_per_step,
                r->side_launches[SIDE_ITEM], r->side_launches[SIDE_USER], r->ops_per_step,
                r->decoder_gflop, r->gemm_tflops, r->gemm_peak, r->elementwise_gbps, r->bw_peak, r->peak_mem_mb);
        for (int c = 0; c < N_CLASSES; c++)
            fprintf(f, "%s\"%s\": %.6g", c ? ", " : "", class_keys[c], r->ms_by_class[c]);
        fprintf(f, "}}");
    }
    fprintf(f, "\n]}\n");
    close_out(f, path);
}

static void make_dir(const char *dir)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", dir);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(buf, 0755);
            *p = '/';
        }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        bivae_fail(BIVAE_EXIT_RUNTIME, "bench_gpu: cannot create %s: %s", dir, strerror(errno));
}

static void device_name(char *buf, size_t len)
{
    char err[256];
    kern *k = kern_cuda_create(0, KERN_GEMM_FP32, err, sizeof err);
    if (!k)
        bivae_fail(BIVAE_EXIT_RUNTIME, "bench_gpu: kern_cuda_create: %s", err);
    kern_cuda_device_name(k, buf, len);
    kern_destroy(k);
}

int main(int argc, char **argv)
{
    bench_opts o = parse_opts(argc, argv);
    char reason[256] = "";
    if (kern_cuda_device_count(reason, sizeof(reason)) == 0) {
        printf("SKIP: no CUDA device: %s\n", reason);
        return 77;
    }
    MPI_Init(&argc, &argv);
    comm *c = comm_mpi_create();
    if (comm_size(c) != 1)
        bivae_fail(BIVAE_EXIT_USAGE, "bench_gpu: runs on one rank (got %d)", comm_size(c));
    char device[256] = "";
    device_name(device, sizeof device);
    const card_peak *peak = find_peak(device);
    printf("device: %s%s\n", device, peak ? "" : " (not in the peak table: no % of peak)");
    bench_row rows[MAX_LIST * MAX_LIST * MAX_LIST];
    int n = 0;
    for (int si = 0; si < o.n_shapes; si++) {
        bivae_config cfg = bench_config(&o, o.shapes[si], o.batches[0]);
        dataset d;
        double t0 = now();
        if (dataset_load(&cfg.data, c, &d) != 0)
            return BIVAE_EXIT_USAGE;
        printf("data: %s: %lld users x %lld items, %lld ratings (%.1f s to generate)\n",
               d.source, (long long)d.n_users, (long long)d.n_items, (long long)d.nnz_train,
               now() - t0);
        for (int i = 0; i < o.n_maths; i++)
            for (int j = 0; j < o.n_batches; j++) {
                bench_row *r = &rows[n++];
                *r = bench_one(&o, o.shapes[si], &d, c, o.maths[i], o.batches[j], peak);
                printf("%s %s batch %d: %.3f ms/epoch%s, %.1f launches/step, decoder %.2f "
                       "TFLOP/s, likelihood %.1f GB/s, %.1f MB\n", r->shape, r->math, r->batch,
                       r->ms_per_epoch, r->extrapolated ? " (extrapolated)" : "",
                       r->launches_per_step, r->gemm_tflops, r->elementwise_gbps,
                       r->peak_mem_mb);
                fflush(stdout);
            }
        dataset_free(&d);
    }
    printf("\n");
    print_table(stdout, rows, n);
    make_dir(o.out);
    write_csv(o.out, rows, n, device);
    write_md(o.out, rows, n, device, &o, peak);
    write_json(o.out, rows, n, device, &o);
    printf("wrote %s/bench_gpu.csv, %s/bench_gpu.md and %s/bench_gpu.json\n", o.out, o.out,
           o.out);
    comm_destroy(c);
    MPI_Finalize();
    return 0;
}
