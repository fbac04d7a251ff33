/* benchmarks/bench_allreduce.c — bandwidth of the trainer's own all-reduce
 * (comm_allreduce_sum_f32 over MPI, host buffers), nccl-tests style.
 *
 *   mpirun -np P bench_allreduce [--min-bytes B] [--max-bytes B] [--iters N] [--warmup W]
 *
 * For each size from min to max (doubling; defaults 4 KiB .. 64 MiB, 20 iterations after
 * 3 warm-up ones), rank 0 prints one CSV line
 *   bytes,seconds,algbw_GBps,busbw_GBps,wrong
 * seconds: the mean over the iterations of the slowest rank's time; algbw = bytes/seconds;
 * busbw = algbw * 2(P-1)/P (what each link carries in a ring all-reduce: comparable across
 * P); wrong: elements that are not the exact sum (every rank adds rank+1, sums of small
 * integers are exact in fp32). Exit 1 when any element was wrong, 2 on bad usage. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "comm/comm.h"

typedef struct bench_opts {
    size_t min_bytes, max_bytes;
    int iters, warmup;
} bench_opts;

static int parse_size(const char *flag, const char *v, size_t *out)
{
    char *end;
    unsigned long long x = strtoull(v ? v : "", &end, 10);
    if (!v || !*v || *end || x < 4 || x > (1ull << 34)) {
        fprintf(stderr, "bench_allreduce: error: %s %s: want bytes in [4, 2^34]\n", flag,
                v ? v : "(missing)");
        return -1;
    }
    *out = (size_t)x;
    return 0;
}

static int parse_count(const char *flag, const char *v, int lo, int *out)
{
    char *end;
    long x = strtol(v ? v : "", &end, 10);
    if (!v || !*v || *end || x < lo || x > 1000000) {
        fprintf(stderr, "bench_allreduce: error: %s %s: want a count in [%d, 1000000]\n", flag,
                v ? v : "(missing)", lo);
        return -1;
    }
    *out = (int)x;
    return 0;
}

static int parse_args(int argc, char **argv, bench_opts *o)
{
    *o = (bench_opts){4096, 64u << 20, 20, 3};
    for (int i = 1; i < argc; i += 2) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = !strcmp(f, "--min-bytes")   ? parse_size(f, v, &o->min_bytes)
                 : !strcmp(f, "--max-bytes") ? parse_size(f, v, &o->max_bytes)
                 : !strcmp(f, "--iters")     ? parse_count(f, v, 1, &o->iters)
                 : !strcmp(f, "--warmup")    ? parse_count(f, v, 0, &o->warmup)
                                             : (fprintf(stderr, "bench_allreduce: error: %s: "
                                                        "unknown flag\n", f), -1);
        if (rc)
            return -1;
    }
    if (o->min_bytes > o->max_bytes) {
        fprintf(stderr, "bench_allreduce: error: --min-bytes above --max-bytes\n");
        return -1;
    }
    return 0;
}

/* buf[n] = rank + 1 everywhere, all-reduced `reps` times; returns the slowest rank's seconds */
static double time_allreduce(comm *c, float *buf, size_t n, int reps)
{
    double total = 0.0;
    for (int r = 0; r < reps; r++) {
        for (size_t i = 0; i < n; i++)
            buf[i] = (float)(comm_rank(c) + 1);
        comm_barrier(c);
        double t0 = MPI_Wtime();
        comm_allreduce_sum_f32(c, buf, n);
        double dt = MPI_Wtime() - t0, slowest = dt;
        MPI_Allreduce(&dt, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        total += slowest;
    }
    return total;
}

/* elements of buf[n] that are not 1 + 2 + ... + P (summed over ranks) */
static int64_t count_wrong(comm *c, const float *buf, size_t n)
{
    float want = (float)comm_size(c) * (float)(comm_size(c) + 1) / 2.0f;
    int64_t wrong = 0;
    for (size_t i = 0; i < n; i++)
        wrong += buf[i] != want;
    return comm_allreduce_sum_i64(c, wrong);
}

static int64_t bench_size(comm *c, const bench_opts *o, size_t bytes)
{
    size_t n = bytes / sizeof(float);                     /* floats all-reduced */
    float *buf = xmalloc(n * sizeof *buf);                /* [n] */
    time_allreduce(c, buf, n, o->warmup);
    double secs = time_allreduce(c, buf, n, o->iters) / o->iters;
    int64_t wrong = count_wrong(c, buf, n);
    int P = comm_size(c);
    double algbw = (double)(n * sizeof(float)) / secs / 1e9;
    if (comm_rank(c) == 0)
        printf("%zu,%.9f,%.4f,%.4f,%lld\n", n * sizeof(float), secs, algbw,
               algbw * 2.0 * (P - 1) / P, (long long)wrong);
    free(buf);
    return wrong;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    bench_opts o;
    if (parse_args(argc, argv, &o) != 0) {
        MPI_Finalize();
        return 2;
    }
    comm *c = comm_mpi_create();
    if (comm_rank(c) == 0)
        printf("bytes,seconds,algbw_GBps,busbw_GBps,wrong\n");
    int64_t wrong = 0;
    for (size_t b = o.min_bytes; b <= o.max_bytes; b *= 2)
        wrong += bench_size(c, &o, b);
    fflush(stdout);
    comm_destroy(c);
    MPI_Finalize();
    return wrong ? 1 : 0;
}
