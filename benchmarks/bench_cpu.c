/* benchmarks/bench_cpu.c — seconds per epoch of the CPU trainer on the synthetic MovieLens
 * shapes, one rank, one thread (issue: "Speed"), the GFLOP/s of the decoder GEMMs against a
 * measured single-thread sgemm peak on the same machine, and the nanoseconds per entry of
 * each element-wise pass at the shapes an epoch runs it on.
 *
 * usage: bench_cpu [--shapes ml-100k,ml-1m] [--epochs N] [--warmup W] [--threads T]
 *                  [--csv FILE] [--passes-csv FILE] [--epochs-only 1]
 * Prints the tables; appends one CSV row per shape to --csv and one per shape and pass to
 * --passes-csv (default: none). The CPU kernels are the build kern_cpu_isa picks
 * (BIVAE_CPU_ISA to choose); Cornac's times come from benchmarks/reference/run.sh timing.
 * --epochs-only 1: only the training epochs (no GEMM or pass measurements), for profiling
 * them (benchmarks/profile_cpu.sh). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "src/cli.h"
#include "src/train.h"

typedef struct bench_opts {
    char shapes[256];
    int epochs, warmup, threads;
    const char *csv, *passes_csv;
    const char *isa;   /* the CPU kernels running */
    int epochs_only;
} bench_opts;

static double now(void) { return MPI_Wtime(); }

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Best GFLOP/s of C[M×N] = op(A)·op(B) over `reps` runs. */
static double gemm_gflops(kern *k, kern_trans tb, int64_t M, int64_t N, int64_t K, int reps)
{
    float *A = kern_alloc(k, (size_t)(M * K) * 4), *B = kern_alloc(k, (size_t)(K * N) * 4);
    float *C = kern_alloc(k, (size_t)(M * N) * 4);
    for (int64_t i = 0; i < M * K; i++)
        A[i] = (float)(i % 13) * 0.01f;
    for (int64_t i = 0; i < K * N; i++)
        B[i] = (float)(i % 7) * 0.01f;
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        kern_gemm(k, KERN_NO_TRANS, tb, M, N, K, 1.0f, A, K, B, tb == KERN_TRANS ? K : N, 0.0f,
                  C, N);
        double t = now() - t0;
        best = t < best ? t : best;
    }
    kern_free(k, A);
    kern_free(k, B);
    kern_free(k, C);
    return 2.0 * (double)M * (double)N * (double)K / best / 1e9;
}

static bivae_config shape_config(const char *shape)
{
    bivae_config cfg;
    cli_defaults(&cfg);
    cfg.command = CMD_TRAIN;
    cfg.data.synthetic = shape;
    cfg.model.k = 50;
    cfg.model.n_hidden = 1;
    cfg.model.hidden[0] = 100;
    cfg.model.act = KERN_ACT_TANH;
    cfg.model.likelihood = KERN_LIK_POIS;
    cfg.train.batch_size = 128;
    cfg.train.lr = 0.001;
    cfg.output.quiet = 1;
    return cfg;
}

/* Median seconds per epoch after `warmup` epochs. */
static double time_epochs(trainer *t, int warmup, int epochs)
{
    double *secs = xmalloc(sizeof(double) * (size_t)epochs);
    for (int e = 1; e <= warmup + epochs; e++) {
        double t0 = now();
        trainer_phase(t, SIDE_ITEM, e);
        trainer_phase(t, SIDE_USER, e);
        kern_sync(t->m->k);
        if (e > warmup)
            secs[e - warmup - 1] = now() - t0;
    }
    qsort(secs, (size_t)epochs, sizeof(double), cmp_double);
    double median = secs[epochs / 2];
    free(secs);
    return median;
}

/* The shape's line: s/epoch, the decoder GEMMs' GFLOP/s, the share of the sgemm peak. */
static void report_gemms(const char *shape, const bench_opts *o, const dataset *d, kern *k,
                         double spe, double peak, FILE *csv)
{
    double nt_items = gemm_gflops(k, KERN_TRANS, 128, d->n_items, 50, 20);
    double nn_items = gemm_gflops(k, KERN_NO_TRANS, 128, 50, d->n_items, 20);
    double nt_users = gemm_gflops(k, KERN_TRANS, 128, d->n_users, 50, 20);
    double nn_users = gemm_gflops(k, KERN_NO_TRANS, 128, 50, d->n_users, 20);
    double dec_flop = 4.0 * 2.0 * (double)d->n_users * (double)d->n_items * 50.0;
    printf("%-8s %6lld x %-6lld %9lld  %8.4f  %7.2f  %5.1f %5.1f %5.1f %5.1f  %6.1f  %5.1f%%\n",
           shape, (long long)d->n_users, (long long)d->n_items, (long long)d->nnz_train, spe,
           dec_flop / 1e9, nt_users, nn_users, nt_items, nn_items, peak,
           100.0 * dec_flop / spe / 1e9 / peak);
    if (csv)
        fprintf(csv, "%s,%lld,%lld,%lld,%d,%.6f,%.4f,%.2f,%.2f,%.2f,%.2f,%.2f,%s\n", shape,
                (long long)d->n_users, (long long)d->n_items, (long long)d->nnz_train, o->threads,
                spe, dec_flop / 1e9, nt_users, nn_users, nt_items, nn_items, peak, o->isa);
}

static void bench_shape(const char *shape, const bench_opts *o, comm *c, kern *k, double peak,
                        FILE *csv)
{
    bivae_config cfg = shape_config(shape);
    dataset d;
    if (dataset_load(&cfg.data, c, &d))
        exit(BIVAE_EXIT_USAGE);
    run_log *log = run_log_open(comm_rank(c), NULL, 1, comm_size(c));
    bivae_model m;
    trainer t;
    model_init(&m, k, &cfg.model, cfg.train.seed, 0, 1, d.n_users, d.n_items, d.Ru.rowptr,
               d.Ru.col, d.n_local_users, d.Ri.rowptr, d.Ri.col, d.n_local_items, 128,
               c, 1);
    trainer_init(&t, &m, c, &d, &cfg, log);
    double spe = time_epochs(&t, o->warmup, o->epochs);
    if (o->epochs_only)
        printf("%-8s %6lld x %-6lld %9lld  %8.4f\n", shape, (long long)d.n_users,
               (long long)d.n_items, (long long)d.nnz_train, spe);
    else
        report_gemms(shape, o, &d, k, spe, peak, csv);
    trainer_free(&t);
    model_free(&m);
    run_log_close(log);
    dataset_free(&d);
}

/* ---- element-wise passes ------------------------------------------------------------ */

enum { STEP_B = 128, STEP_H = 100, STEP_K = 50 };   /* batch, encoder width, latent size */

typedef struct pass_bufs {
    kern_csr Xu, Xi;           /* the first STEP_B rows of the user / item training rows */
    float *Z;                  /* [STEP_B × max(I, U)] logits, then gradients */
    float *a, *h, *g;          /* [STEP_B × STEP_H] pre-activation, activation, gradient */
    float *h_bwd;              /* [STEP_B × STEP_H] the activation the backward pass reads:
                                * near 0, so that G ⊙= 1 − h² repeated stays normal */
    float *pre, *eps, *mu, *sigma, *z, *g_pre;   /* [STEP_B × 2K], then [STEP_B × K] */
    float *p, *grad, *m, *v;   /* [I × STEP_H] the first layer of the user encoder */
    int64_t I, U;
} pass_bufs;

static const char *const pass_names[] = {
    "lik pois Z[B x I]", "lik pois Z[B x U]", "tanh forward [B x H]", "tanh backward [B x H]",
    "philox normal [B x K]", "gaussian sample [B x K]", "gaussian KL bwd [B x K]",
    "adam W1[I x H]",
};
enum { N_PASSES = (int)(sizeof pass_names / sizeof pass_names[0]) };

/* One run of pass `i`; returns the entries it touched. */
static int64_t run_pass(kern *k, pass_bufs *b, int i)
{
    float loss = 0.0f;
    switch (i) {
    case 0: kern_sigmoid_lik_loss_grad(k, KERN_LIK_POIS, b->Z, b->Xu, 1.0f, &loss);
            return STEP_B * b->I;
    case 1: kern_sigmoid_lik_loss_grad(k, KERN_LIK_POIS, b->Z, b->Xi, 1.0f, &loss);
            return STEP_B * b->U;
    case 2: kern_act_forward(k, KERN_ACT_TANH, b->a, b->h, STEP_B * STEP_H);
            return STEP_B * STEP_H;
    case 3: kern_act_backward(k, KERN_ACT_TANH, b->a, b->h_bwd, b->g, STEP_B * STEP_H);
            return STEP_B * STEP_H;
    case 4: kern_philox_normal(k, b->eps, STEP_B, STEP_K, 1, 2, 3, 0, 1);
            return STEP_B * STEP_K;
    case 5: kern_gaussian_sample(k, b->pre, b->eps, STEP_B, STEP_K, b->mu, b->sigma, b->z);
            return STEP_B * STEP_K;
    case 6: kern_gaussian_kl_backward(k, b->mu, b->sigma, b->eps, NULL, b->z, STEP_B, STEP_K,
                                      1.0f, 1.0f, b->g_pre, NULL, &loss);
            return STEP_B * STEP_K;
    default: kern_adam(k, b->p, b->grad, b->m, b->v, b->I * STEP_H, 1e-3, 0.9, 0.999, 1e-8, 1,
                       NULL, 0);
            return b->I * STEP_H;
    }
}

/* Best of 5 of the mean ns per entry over repetitions lasting >= 20 ms. */
static double pass_ns(kern *k, pass_bufs *b, int i)
{
    double best = 1e30;
    for (int trial = 0; trial < 5; trial++) {
        int64_t entries = 0, reps = 0;
        double t0 = now(), t = 0.0;
        while ((t = now() - t0) < 0.02 || reps < 3) {
            entries += run_pass(k, b, i);
            reps++;
        }
        best = t / (double)entries * 1e9 < best ? t / (double)entries * 1e9 : best;
    }
    return best;
}

static float *filled(kern *k, int64_t n, float lo, float hi)
{
    float *x = kern_alloc(k, sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * (float)((i * 2654435761u) % 1000003u) / 1000003.0f;
    return x;
}

static void bench_passes(const char *shape, const bench_opts *o, comm *c, kern *k, FILE *csv)
{
    bivae_config cfg = shape_config(shape);
    dataset d;
    if (dataset_load(&cfg.data, c, &d))
        exit(BIVAE_EXIT_USAGE);
    int64_t I = d.n_items, U = d.n_users, wide = I > U ? I : U;
    pass_bufs b = {{STEP_B, I, d.Ru.rowptr, d.Ru.col}, {STEP_B, U, d.Ri.rowptr, d.Ri.col},
                   filled(k, STEP_B * wide, -6, 6), filled(k, STEP_B * STEP_H, -3, 3),
                   filled(k, STEP_B * STEP_H, -1, 1), filled(k, STEP_B * STEP_H, -1, 1),
                   filled(k, STEP_B * STEP_H, -0.01f, 0.01f), filled(k, STEP_B * 2 * STEP_K, -3, 3), filled(k, STEP_B * STEP_K, -2, 2),
                   filled(k, STEP_B * STEP_K, 0, 0), filled(k, STEP_B * STEP_K, 0, 0),
                   filled(k, STEP_B * STEP_K, 0, 0), filled(k, STEP_B * 2 * STEP_K, 0, 0),
                   filled(k, I * STEP_H, -1, 1), filled(k, I * STEP_H, -1, 1),
                   filled(k, I * STEP_H, 0, 0), filled(k, I * STEP_H, 0, 0), I, U};
    kern_act_forward(k, KERN_ACT_TANH, b.a, b.h, STEP_B * STEP_H);
    kern_gaussian_sample(k, b.pre, b.eps, STEP_B, STEP_K, b.mu, b.sigma, b.z);
    for (int i = 0; i < N_PASSES; i++) {
        double ns = pass_ns(k, &b, i);
        int64_t entries = run_pass(k, &b, i);
        printf("%-8s %-26s %16lld %9.3f\n", shape, pass_names[i], (long long)entries, ns);
        if (csv)
            fprintf(csv, "%s,%s,%lld,%.4f,%s\n", shape, pass_names[i], (long long)entries, ns,
                    o->isa);
    }
    float *all[] = {b.Z, b.a, b.h, b.g, b.h_bwd, b.pre, b.eps, b.mu, b.sigma, b.z, b.g_pre, b.p,
                    b.grad, b.m, b.v};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        kern_free(k, all[i]);
    dataset_free(&d);
}

static void parse(int argc, char **argv, bench_opts *o)
{
    snprintf(o->shapes, sizeof(o->shapes), "ml-100k,ml-1m");
    o->epochs = 10;
    o->warmup = 2;
    o->threads = 1;
    o->csv = o->passes_csv = NULL;
    o->epochs_only = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--shapes"))
            snprintf(o->shapes, sizeof(o->shapes), "%s", argv[i + 1]);
        else if (!strcmp(argv[i], "--epochs"))
            o->epochs = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--warmup"))
            o->warmup = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads"))
            o->threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--csv"))
            o->csv = argv[i + 1];
        else if (!strcmp(argv[i], "--epochs-only"))
            o->epochs_only = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--passes-csv"))
            o->passes_csv = argv[i + 1];
        else
            bivae_fail(BIVAE_EXIT_USAGE, "bench_cpu: unknown option %s", argv[i]);
    }
    if (o->epochs < 1 || o->warmup < 0 || o->threads < 1)
        bivae_fail(BIVAE_EXIT_USAGE, "bench_cpu: --epochs >= 1, --warmup >= 0, --threads >= 1");
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    bench_opts o;
    parse(argc, argv, &o);
    char why[256] = "";
    if (!(o.isa = kern_cpu_isa(why, sizeof why)))
        bivae_fail(BIVAE_EXIT_USAGE, "bench_cpu: %s", why);
    comm *c = comm_mpi_create();
    kern *k = kern_cpu_create(o.threads);
    double peak = o.epochs_only ? 0.0 : gemm_gflops(k, KERN_NO_TRANS, 2048, 2048, 2048, 5);
    char shapes_again[sizeof o.shapes];
    snprintf(shapes_again, sizeof shapes_again, "%s", o.shapes);
    FILE *csv = o.csv ? fopen(o.csv, "a") : NULL;
    if (o.csv && !csv)
        bivae_fail(BIVAE_EXIT_RUNTIME, "cannot open --csv %s", o.csv);
    FILE *passes_csv = o.passes_csv ? fopen(o.passes_csv, "a") : NULL;
    if (o.passes_csv && !passes_csv)
        bivae_fail(BIVAE_EXIT_RUNTIME, "cannot open --passes-csv %s", o.passes_csv);
    printf("bench_cpu: k=50, encoder 100, tanh, pois, batch 128, %d thread(s); median of %d "
           "epochs after %d warm-up; CPU kernels %s, OpenBLAS %s\n", o.threads, o.epochs,
           o.warmup, o.isa, kern_cpu_blas(NULL, 0));
    if (!o.epochs_only)
        printf("sgemm peak (2048^3, %d thread(s)): %.1f GFLOP/s\n\n", o.threads, peak);
    printf("%-8s %15s %9s  %8s  %7s  %-23s  %6s  %6s\n", "shape", "users x items",
           "train nnz", "s/epoch", "dec GF", "GEMM GF/s ntU nnU ntI nnI", "peak", "dec%pk");
    for (char *save = NULL, *s = strtok_r(o.shapes, ",", &save); s;
         s = strtok_r(NULL, ",", &save))
        bench_shape(s, &o, c, k, peak, csv);
    if (!o.epochs_only) {
        printf("\nelement-wise passes, ns per entry (best of 5, shapes of one training step)\n");
        printf("%-8s %-26s %16s %9s\n", "shape", "pass", "entries", "ns/entry");
        for (char *save = NULL, *s = strtok_r(shapes_again, ",", &save); s;
             s = strtok_r(NULL, ",", &save))
            bench_passes(s, &o, c, k, passes_csv);
    }
    if (csv)
        fclose(csv);
    if (passes_csv)
        fclose(passes_csv);
    kern_destroy(k);
    comm_destroy(c);
    MPI_Finalize();
    return 0;
}
