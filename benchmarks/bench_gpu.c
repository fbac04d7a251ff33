/* benchmarks/bench_gpu.c — training throughput of the CUDA backend on one GPU.
 *
 *   bench_gpu [--synthetic ml-20m] [--k 50] [--hidden 100] [--batches 128,1024]
 *             [--maths fp32,tf32] [--seed 42] [--max-steps N] [--out DIR]
 *
 * Data: the built-in synthetic generator (partition/, dataset_load) at the given shape, all
 * ratings in the training split. For each GEMM math × batch size, one rank:
 *   warm-up   a few steps of each phase (allocations, cuBLAS heuristics)
 *   epoch     item phase then user phase through the real src/model.c functions, exactly
 *             the steps of src/train.c's phase_step minus the all-reduce (the identity on one
 *             rank): wall time per phase, kern_sync at phase ends
 *   profiled  the same epoch again with cudaEvents around every backend op: GPU time by
 *             class (gemm, sparse, likelihood, element-wise, adam, rng, memory)
 *   decoder   the two decoder GEMMs of each side at the step's shape, timed alone: GFLOP/s
 *   memory    device memory in use (cudaMemGetInfo) before the model and after the epochs;
 *             every allocation is a cudaMalloc and scratch only grows, so this is the peak
 * Prints a table; writes bench_gpu.csv and bench_gpu.md into DIR (default $OUT, else
 * benchmarks/out). Exits 77 with "SKIP: no CUDA device: <reason>" without a GPU. */
#include <errno.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "comm/comm.h"
#include "kernels/cuda/cuda_profile.h"
#include "kernels/kernels.h"
#include "partition/dataset.h"
#include "src/model.h"

enum { MAX_LIST = 8, WARMUP_STEPS = 3, GEMM_REPS = 20 };

typedef struct bench_opts {
    const char *synthetic, *out;
    int k, hidden;
    int batches[MAX_LIST], n_batches;
    kern_gemm_math maths[MAX_LIST];
    int n_maths;
    uint64_t seed;
    int64_t max_steps;        /* per phase; 0 = the whole epoch */
} bench_opts;

typedef struct bench_row {
    const char *math;
    int batch;
    int64_t steps[2];                     /* per phase: [SIDE_USER], [SIDE_ITEM] */
    double phase_s[2], epoch_s, profiled_s;
    kern_cuda_profile prof;
    double dec_gflops[2];                 /* decoder GEMMs of each side */
    double mem_model_mb, mem_total_mb;    /* model + workspace; device total */
} bench_row;

static double now(void) { return MPI_Wtime(); }

static const char *math_name(kern_gemm_math m)
{
    return m == KERN_GEMM_TF32 ? "tf32" : (m == KERN_GEMM_BF16 ? "bf16" : "fp32");
}

/* ---- options ------------------------------------------------------------------------- */

static int parse_list(const char *s, int *out, int max)
{
    int n = 0;
    char *copy = strdup(s), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t && n < max; t = strtok_r(NULL, ",", &save))
        out[n++] = atoi(t);
    free(copy);
    return n;
}

static int parse_maths(const char *s, kern_gemm_math *out, int max)
{
    int n = 0;
    char *copy = strdup(s), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t && n < max; t = strtok_r(NULL, ",", &save)) {
        if (!strcmp(t, "fp32")) out[n++] = KERN_GEMM_FP32;
        else if (!strcmp(t, "tf32")) out[n++] = KERN_GEMM_TF32;
        else if (!strcmp(t, "bf16")) out[n++] = KERN_GEMM_BF16;
        else {
            fprintf(stderr, "bench_gpu: --maths: unknown %s (fp32, tf32, bf16)\n", t);
            exit(2);
        }
    }
    free(copy);
    return n;
}

static bench_opts parse_opts(int argc, char **argv)
{
    bench_opts o = {"ml-20m", NULL, 50, 100, {128, 1024}, 2, {KERN_GEMM_FP32, KERN_GEMM_TF32},
                    2, 42, 0};
    const char *env_out = getenv("OUT");
    o.out = env_out && *env_out ? env_out : "benchmarks/out";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "bench_gpu: %s needs a value\n", a);
            exit(2);
        }
        if (!strcmp(a, "--synthetic")) o.synthetic = v;
        else if (!strcmp(a, "--k")) o.k = atoi(v);
        else if (!strcmp(a, "--hidden")) o.hidden = atoi(v);
        else if (!strcmp(a, "--batches")) o.n_batches = parse_list(v, o.batches, MAX_LIST);
        else if (!strcmp(a, "--maths")) o.n_maths = parse_maths(v, o.maths, MAX_LIST);
        else if (!strcmp(a, "--seed")) o.seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--max-steps")) o.max_steps = atoll(v);
        else if (!strcmp(a, "--out")) o.out = v;
        else {
            fprintf(stderr, "bench_gpu: unknown argument %s\n", a);
            exit(2);
        }
        i++;
    }
    if (o.k < 1 || o.hidden < 1 || o.n_batches < 1 || o.n_maths < 1) {
        fprintf(stderr, "bench_gpu: --k, --hidden, --batches and --maths must be positive\n");
        exit(2);
    }
    return o;
}

/* ---- one epoch (src/train.c's phase_step on one rank, without the identity all-reduce) --- */

static void phase_step(bivae_model *m, bivae_side s, int epoch, int64_t l0, int64_t l1)
{
    model_zero_grad(m, s, l1 - l0);
    model_forward(m, s, l0, l1, epoch, PASS_TRAIN, 1);
    model_backward(m, s, l0, l1, (float)(1.0 / (double)(l1 - l0)));
    model_adam_step(m, s, l0, l1, 1e-3, NULL, 0);
    model_forward(m, s, l0, l1, epoch, PASS_REFRESH, 1);
    model_store_rows(m, s, l0, l1);
}

/* All steps of side s (at most max_steps); the table refresh of the phase end. Returns the
 * wall time, the GPU work included. */
static double run_phase(bivae_model *m, bivae_side s, int epoch, int B, int64_t max_steps,
                        int64_t *steps)
{
    int64_t N = model_side_rows(m, s), n = 0;
    kern_sync(m->k);
    double t0 = now();
    for (int64_t l0 = 0; l0 < N && (max_steps <= 0 || n < max_steps); l0 += B, n++)
        phase_step(m, s, epoch, l0, l0 + B < N ? l0 + B : N);
    model_adam_flush(m, s);   /* lazy Adam's pending rows, as the trainer's phase end */
    kern_rows_cyclic_from_blocked(m->k, m->table[s], m->sample_local[s], N, m->K, 1);
    kern_sync(m->k);
    *steps = n;
    return now() - t0;
}

/* GFLOP/s of side s's decoder GEMMs at a full batch: Z = z·Tᵀ and G_z = G_Z·T. */
static double decoder_gflops(bivae_model *m, bivae_side s, int B)
{
    int64_t N = model_side_rows(m, 1 - s), K = m->K, nr = B;
    if (nr > m->enc[s].max_rows)
        nr = m->enc[s].max_rows;
    const float *T = m->table[1 - s];
    kern_sync(m->k);
    double t0 = now();
    for (int r = 0; r < GEMM_REPS; r++) {
        kern_gemm(m->k, KERN_NO_TRANS, KERN_TRANS, nr, N, K, 1.0f, m->enc[s].z, K, T, K, 0.0f,
                  m->Z, N);
        kern_gemm(m->k, KERN_NO_TRANS, KERN_NO_TRANS, nr, K, N, 1.0f, m->Z, N, T, K, 0.0f,
                  m->enc[s].G_z, K);
    }
    kern_sync(m->k);
    double secs = (now() - t0) / GEMM_REPS;
    return 4.0 * (double)nr * (double)N * (double)K / secs * 1e-9;
}

static double used_mb(kern *k)
{
    size_t free_b = 0, total_b = 0;
    kern_cuda_mem_info(k, &free_b, &total_b);
    return (double)(total_b - free_b) / (1024.0 * 1024.0);
}

static bench_row bench_config(const bench_opts *o, const dataset *d, kern_gemm_math math, int B)
{
    bench_row row;
    memset(&row, 0, sizeof(row));
    row.math = math_name(math);
    row.batch = B;
    char err[256] = "";
    kern *k = kern_cuda_create(0, math, err, sizeof(err));
    if (!k) {
        fprintf(stderr, "bench_gpu: kern_cuda_create: %s\n", err);
        exit(3);
    }
    double mem0 = used_mb(k);
    bivae_model_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.k = o->k;
    cfg.n_hidden = 1;
    cfg.hidden[0] = o->hidden;
    cfg.act = KERN_ACT_TANH;
    cfg.likelihood = KERN_LIK_POIS;
    cfg.beta_kl = 1.0;
    bivae_model m;
    model_init(&m, k, &cfg, o->seed, 0, 1, d->n_users, d->n_items, d->Ru.rowptr, d->Ru.col,
               d->n_local_users, d->Ri.rowptr, d->Ri.col, d->n_local_items, B, NULL, 1);
    int64_t warm;
    run_phase(&m, SIDE_ITEM, 0, B, WARMUP_STEPS, &warm);
    run_phase(&m, SIDE_USER, 0, B, WARMUP_STEPS, &warm);
    row.phase_s[SIDE_ITEM] = run_phase(&m, SIDE_ITEM, 1, B, o->max_steps, &row.steps[SIDE_ITEM]);
    row.phase_s[SIDE_USER] = run_phase(&m, SIDE_USER, 1, B, o->max_steps, &row.steps[SIDE_USER]);
    row.epoch_s = row.phase_s[SIDE_ITEM] + row.phase_s[SIDE_USER];
    kern_cuda_profile_start(k);
    int64_t s1, s2;
    row.profiled_s = run_phase(&m, SIDE_ITEM, 2, B, o->max_steps, &s1) +
                     run_phase(&m, SIDE_USER, 2, B, o->max_steps, &s2);
    kern_cuda_profile_stop(k, &row.prof);
    row.dec_gflops[SIDE_ITEM] = decoder_gflops(&m, SIDE_ITEM, B);
    row.dec_gflops[SIDE_USER] = decoder_gflops(&m, SIDE_USER, B);
    size_t free_b, total_b;
    kern_cuda_mem_info(k, &free_b, &total_b);
    row.mem_model_mb = used_mb(k) - mem0;
    row.mem_total_mb = (double)total_b / (1024.0 * 1024.0);
    model_free(&m);
    kern_destroy(k);
    return row;
}

/* ---- report -------------------------------------------------------------------------- */

static void print_rows(FILE *f, const bench_row *rows, int n, int markdown)
{
    const char *sep = markdown ? " | " : "  ";
    if (markdown)
        fprintf(f, "| ");
    fprintf(f, "%-5s%s%6s%s%8s%s%8s%s%8s%s", "math", sep, "batch", sep, "epoch_s", sep, "item_s",
            sep, "user_s", sep);
    for (int c = 0; c < KERN_CUDA_PROF_CLASSES; c++)
        fprintf(f, "%9.9s_ms%s", kern_cuda_profile_class_name(c), sep);
    fprintf(f, "%9s%s%9s%s%9s%s\n", "dec_GF_i", sep, "dec_GF_u", sep, "mem_MB",
            markdown ? " |" : "");
    if (markdown) {
        fprintf(f, "|");
        for (int c = 0; c < 5 + KERN_CUDA_PROF_CLASSES + 3; c++)
            fprintf(f, "---|");
        fprintf(f, "\n");
    }
    for (int i = 0; i < n; i++) {
        const bench_row *r = &rows[i];
        if (markdown)
            fprintf(f, "| ");
        fprintf(f, "%-5s%s%6d%s%8.3f%s%8.3f%s%8.3f%s", r->math, sep, r->batch, sep, r->epoch_s,
                sep, r->phase_s[SIDE_ITEM], sep, r->phase_s[SIDE_USER], sep);
        for (int c = 0; c < KERN_CUDA_PROF_CLASSES; c++)
            fprintf(f, "%12.1f%s", r->prof.ms[c], sep);
        fprintf(f, "%9.0f%s%9.0f%s%9.0f%s\n", r->dec_gflops[SIDE_ITEM], sep,
                r->dec_gflops[SIDE_USER], sep, r->mem_model_mb, markdown ? " |" : "");
    }
}

static void write_csv(const char *path, const bench_row *rows, int n, const char *device)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "bench_gpu: cannot write %s: %s\n", path, strerror(errno));
        exit(3);
    }
    fprintf(f, "device,math,batch,item_steps,user_steps,epoch_s,item_s,user_s,profiled_epoch_s");
    for (int c = 0; c < KERN_CUDA_PROF_CLASSES; c++)
        fprintf(f, ",%s_ms,%s_calls", kern_cuda_profile_class_name(c),
                kern_cuda_profile_class_name(c));
    fprintf(f, ",decoder_gflops_item,decoder_gflops_user,device_mem_used_mb,device_mem_total_mb\n");
    for (int i = 0; i < n; i++) {
        const bench_row *r = &rows[i];
        fprintf(f, "\"%s\",%s,%d,%lld,%lld,%.4f,%.4f,%.4f,%.4f", device, r->math, r->batch,
                (long long)r->steps[SIDE_ITEM], (long long)r->steps[SIDE_USER], r->epoch_s,
                r->phase_s[SIDE_ITEM], r->phase_s[SIDE_USER], r->profiled_s);
        for (int c = 0; c < KERN_CUDA_PROF_CLASSES; c++)
            fprintf(f, ",%.3f,%lld", r->prof.ms[c], (long long)r->prof.calls[c]);
        fprintf(f, ",%.1f,%.1f,%.1f,%.1f\n", r->dec_gflops[SIDE_ITEM], r->dec_gflops[SIDE_USER],
                r->mem_model_mb, r->mem_total_mb);
    }
    fclose(f);
}

static void write_md(const char *path, const bench_row *rows, int n, const char *device,
                     const bench_opts *o, const dataset *d)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "bench_gpu: cannot write %s: %s\n", path, strerror(errno));
        exit(3);
    }
    fprintf(f, "# bench_gpu\n\nDevice: %s. Data: %s, %lld users x %lld items, %lld ratings. "
            "k=%d, encoder [%d], tanh, pois, one rank.\n\n", device, d->source,
            (long long)d->n_users, (long long)d->n_items, (long long)d->nnz_train, o->k,
            o->hidden);
    fprintf(f, "epoch_s = item_s + user_s (wall, unprofiled); *_ms = GPU time per class over "
            "one profiled epoch; dec_GF = decoder GEMM GFLOP/s (item / user side); mem_MB = "
            "device memory of model + workspace.\n\n");
    print_rows(f, rows, n, 1);
    fclose(f);
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
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "bench_gpu: cannot create %s: %s\n", dir, strerror(errno));
        exit(3);
    }
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
    data_options dopt;
    memset(&dopt, 0, sizeof(dopt));
    dopt.synthetic = o.synthetic;
    dopt.test_ratio = 0.0;        /* every rating trains */
    dopt.seed = o.seed;
    dopt.permute_ids = 1;
    dataset d;
    double t0 = now();
    if (dataset_load(&dopt, c, &d) != 0)
        return 2;
    printf("data: %s: %lld users x %lld items, %lld ratings (%.1f s to generate)\n", d.source,
           (long long)d.n_users, (long long)d.n_items, (long long)d.nnz_train, now() - t0);
    bench_row rows[MAX_LIST * MAX_LIST];
    int n = 0;
    char device[256] = "";
    for (int i = 0; i < o.n_maths; i++)
        for (int j = 0; j < o.n_batches; j++) {
            rows[n] = bench_config(&o, &d, o.maths[i], o.batches[j]);
            printf("%s batch %d: epoch %.3f s (item %lld steps %.3f s, user %lld steps %.3f s)\n",
                   rows[n].math, rows[n].batch, rows[n].epoch_s,
                   (long long)rows[n].steps[SIDE_ITEM], rows[n].phase_s[SIDE_ITEM],
                   (long long)rows[n].steps[SIDE_USER], rows[n].phase_s[SIDE_USER]);
            fflush(stdout);
            n++;
        }
    {
        char err[256];
        kern *k = kern_cuda_create(0, KERN_GEMM_FP32, err, sizeof(err));
        if (k) {
            kern_cuda_device_name(k, device, sizeof(device));
            kern_destroy(k);
        }
    }
    printf("\ndevice: %s\n", device);
    print_rows(stdout, rows, n, 0);
    make_dir(o.out);
    char path[4096];
    snprintf(path, sizeof(path), "%s/bench_gpu.csv", o.out);
    write_csv(path, rows, n, device);
    snprintf(path, sizeof(path), "%s/bench_gpu.md", o.out);
    write_md(path, rows, n, device, &o, &d);
    printf("wrote %s/bench_gpu.csv and %s/bench_gpu.md\n", o.out, o.out);
    dataset_free(&d);
    comm_destroy(c);
    MPI_Finalize();
    return 0;
}
