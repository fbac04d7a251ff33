/* benchmarks/bench_cpu.c — seconds per epoch of the CPU trainer on the synthetic MovieLens
 * shapes, one rank, one thread (issue: "Speed"), and the GFLOP/s of the decoder GEMMs
 * against a measured single-thread sgemm peak on the same machine.
 *
 * usage: bench_cpu [--shapes ml-100k,ml-1m] [--epochs N] [--warmup W] [--threads T]
 *                  [--csv FILE]
 * Prints a table; appends one CSV row per shape to --csv (default: none). */
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
    const char *csv;
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
    double nt_items = gemm_gflops(k, KERN_TRANS, 128, d.n_items, 50, 20);
    double nn_items = gemm_gflops(k, KERN_NO_TRANS, 128, 50, d.n_items, 20);
    double nt_users = gemm_gflops(k, KERN_TRANS, 128, d.n_users, 50, 20);
    double nn_users = gemm_gflops(k, KERN_NO_TRANS, 128, 50, d.n_users, 20);
    double dec_flop = 4.0 * 2.0 * (double)d.n_users * (double)d.n_items * 50.0;
    double cornac = strcmp(shape, "ml-100k") == 0 ? 0.06 : (strcmp(shape, "ml-1m") == 0 ? 0.95 : 0);
    printf("%-8s %6lld x %-6lld %9lld  %8.4f  %7.2f  %5.1f %5.1f %5.1f %5.1f  %6.1f  %5.1f%%",
           shape, (long long)d.n_users, (long long)d.n_items, (long long)d.nnz_train, spe,
           dec_flop / 1e9, nt_users, nn_users, nt_items, nn_items, peak,
           100.0 * dec_flop / spe / 1e9 / peak);
    if (cornac > 0)
        printf("  %5.2f  %5.1fx\n", cornac, cornac / spe);
    else
        printf("      -      -\n");
    if (csv)
        fprintf(csv, "%s,%lld,%lld,%lld,%d,%.6f,%.4f,%.2f,%.2f,%.2f,%.2f,%.2f\n", shape,
                (long long)d.n_users, (long long)d.n_items, (long long)d.nnz_train, o->threads,
                spe, dec_flop / 1e9, nt_users, nn_users, nt_items, nn_items, peak);
    trainer_free(&t);
    model_free(&m);
    run_log_close(log);
    dataset_free(&d);
}

static void parse(int argc, char **argv, bench_opts *o)
{
    snprintf(o->shapes, sizeof(o->shapes), "ml-100k,ml-1m");
    o->epochs = 10;
    o->warmup = 2;
    o->threads = 1;
    o->csv = NULL;
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
    comm *c = comm_mpi_create();
    kern *k = kern_cpu_create(o.threads);
    double peak = gemm_gflops(k, KERN_NO_TRANS, 2048, 2048, 2048, 5);
    FILE *csv = o.csv ? fopen(o.csv, "a") : NULL;
    if (o.csv && !csv)
        bivae_fail(BIVAE_EXIT_RUNTIME, "cannot open --csv %s", o.csv);
    printf("bench_cpu: k=50, encoder 100, tanh, pois, batch 128, %d thread(s); median of %d "
           "epochs after %d warm-up\n", o.threads, o.epochs, o.warmup);
    printf("sgemm peak (2048^3, %d thread(s)): %.1f GFLOP/s\n\n", o.threads, peak);
    printf("%-8s %15s %9s  %8s  %7s  %-23s  %6s  %6s  %5s  %6s\n", "shape", "users x items",
           "train nnz", "s/epoch", "dec GF", "GEMM GF/s ntU nnU ntI nnI", "peak", "dec%pk",
           "Cornac", "speedup");
    for (char *save = NULL, *s = strtok_r(o.shapes, ",", &save); s;
         s = strtok_r(NULL, ",", &save))
        bench_shape(s, &o, c, k, peak, csv);
    if (csv)
        fclose(csv);
    kern_destroy(k);
    comm_destroy(c);
    MPI_Finalize();
    return 0;
}
