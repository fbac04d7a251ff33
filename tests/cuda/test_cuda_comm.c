/* tests/cuda/test_cuda_comm.c — the device-memory communicators against host MPI, under
 * mpirun:
 *   test_cuda_comm staged         MPI staged through host memory (ranks may share a GPU)
 *   test_cuda_comm nccl           NCCL (one GPU per rank: skipped when ranks of a node would
 *                                 share one, which comm_nccl_create refuses)
 *   test_cuda_comm nccl-timeout   rank 0 enters an all-reduce the others never join: it must
 *                                 fail within the timeout naming the op (exit 3)
 * all-reduce (sum) of device buffers equals MPI_Allreduce of the same host data (exactly for
 * 2 ranks, where a + b is the only order; to 1e-6 relative beyond) and is bitwise the same
 * on every rank (what --check-replicas assumes); all-gatherv with
 * unequal and zero counts, a gap between blocks that must stay untouched, out of place and
 * in place, equals the expected blocks exactly. Every rank skips (77) together when some
 * rank lacks the devices the mode needs, or the build has no NCCL. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "comm/comm.h"
#include "cuda_test_util.h"

static int failures;

#define EXPECT(cond, ...)                                                                  \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "rank %d: %s:%d: ", g_rank, __FILE__, __LINE__);              \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
            failures++;                                                                    \
        }                                                                                  \
    } while (0)

static int g_rank;

static void to_host(void *ctx, void *dst, const void *src, size_t bytes)
{
    kern_download((kern *)ctx, dst, src, bytes);
}

static void to_device(void *ctx, void *dst, const void *src, size_t bytes)
{
    kern_upload((kern *)ctx, dst, src, bytes);
}

/* Value i of rank r's data. */
static float datum(int r, size_t i)
{
    trng t = {(uint64_t)(r + 1) * 1000003u + i};
    return trng_unif(&t, -1, 1);
}

static void check_allreduce(comm *host, comm *dc, kern *k, size_t n)
{
    float *h = malloc(sizeof(float) * n), *ref = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++)
        h[i] = ref[i] = datum(g_rank, i);
    float *d = dev_dup(k, h, sizeof(float) * n);
    comm_allreduce_sum_f32(dc, d, n);
    comm_allreduce_sum_f32(host, ref, n);
    kern_download(k, h, d, sizeof(float) * n);
    int P = comm_size(host);
    double rtol = P <= 2 ? 0.0 : 1e-6, atol = P <= 2 ? 0.0 : 1e-6 * P;
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)h[i] - ref[i]) <= atol + rtol * fabs(ref[i])) && bad++ == 0)
            fprintf(stderr, "rank %d: allreduce[%zu] = %.9g, MPI %.9g\n", g_rank, i, h[i],
                    ref[i]);
    EXPECT(bad == 0, "allreduce of %zu floats: %zu differ from MPI", n, bad);
    /* every rank must hold the same bits: --check-replicas relies on it */
    uint64_t hash = 1469598103934665603ull;
    for (size_t i = 0; i < n * sizeof(float); i++)
        hash = (hash ^ ((const unsigned char *)h)[i]) * 1099511628211ull;
    int64_t lo = (int64_t)(hash >> 1), lo_min = comm_allreduce_min_i64(host, lo),
            lo_max = -comm_allreduce_min_i64(host, -lo);
    EXPECT(lo_min == lo_max, "allreduce of %zu floats: the ranks' results differ bitwise", n);
    kern_free(k, d);
    free(h);
    free(ref);
}

/* Rank r sends counts[r] = 1000 + 37r floats (0 for rank 1), blocks 5 floats apart. */
static void check_allgatherv(comm *dc, kern *k, int in_place)
{
    int P = comm_size(dc);
    size_t *counts = malloc(sizeof(size_t) * P), *displs = malloc(sizeof(size_t) * P), total = 0;
    for (int r = 0; r < P; r++) {
        counts[r] = r == 1 ? 0 : 1000 + 37 * (size_t)r;
        displs[r] = total;
        total += counts[r] + 5;
    }
    float *h = malloc(sizeof(float) * total);
    for (size_t i = 0; i < total; i++)
        h[i] = 7.0f;                                      /* the gaps keep this */
    float *send = malloc(sizeof(float) * (counts[g_rank] + 1));
    for (size_t i = 0; i < counts[g_rank]; i++)
        send[i] = datum(g_rank, i);
    float *drecv = dev_dup(k, h, sizeof(float) * total), *dsend = NULL;
    if (in_place) {
        kern_upload(k, drecv + displs[g_rank], send, sizeof(float) * counts[g_rank]);
        comm_allgatherv_f32(dc, drecv + displs[g_rank], counts[g_rank], drecv, counts, displs);
    } else {
        dsend = dev_dup(k, send, sizeof(float) * counts[g_rank]);
        comm_allgatherv_f32(dc, dsend, counts[g_rank], drecv, counts, displs);
    }
    kern_download(k, h, drecv, sizeof(float) * total);
    size_t bad = 0;
    for (int r = 0; r < P; r++)
        for (size_t i = 0; i < counts[r] + 5; i++) {
            float want = i < counts[r] ? datum(r, i) : 7.0f;
            bad += h[displs[r] + i] != want;
        }
    EXPECT(bad == 0, "allgatherv (%s): %zu of %zu floats wrong", in_place ? "in place" :
           "out of place", bad, total);
    kern_free(k, drecv);
    kern_free(k, dsend);
    free(counts); free(displs); free(h); free(send);
}

/* 1 on every rank when every rank sees a device (else rank 0 prints the skip line). */
static int all_ranks_ready(comm *host)
{
    char reason[256] = "";
    int ok = kern_cuda_device_count(reason, sizeof(reason)) > 0;
    if (comm_allreduce_min_i64(host, ok))
        return 1;
    if (comm_rank(host) == 0) {
        printf("SKIP: no CUDA device: %s\n", reason);
        fflush(stdout);
    }
    return 0;
}

/* NULL with *skip = 1 (the same on every rank, since comm_nccl_create agrees) when this
 * build has no NCCL or ranks of a node share a GPU; NULL with *skip = 0 on a failure. */
static comm *open_device_comm(const char *mode, comm *host, kern *k, int ordinal,
                              double timeout, int *skip)
{
    *skip = 0;
    if (!strcmp(mode, "staged"))
        return comm_mpi_create_staged(to_host, to_device, k);
    char err[256] = "";
    comm *dc = comm_nccl_create(ordinal, kern_cuda_stream(k), timeout, err, sizeof(err));
    if (dc)
        return dc;
#ifdef BIVAE_HAVE_NCCL
    *skip = strstr(err, "share GPU") != NULL;
#else
    *skip = 1;
#endif
    if (comm_rank(host) == 0) {
        if (*skip)
            printf("SKIP: %s\n", err);
        else
            fprintf(stderr, "comm_nccl_create failed: %s\n", err);
        fflush(stdout);
    }
    return NULL;
}

static int finish(comm *host, int code)
{
    comm_destroy(host);
    MPI_Finalize();
    return code;
}

/* rank 0 enqueues an all-reduce nobody else joins and waits for its result: the watchdog
 * must end it (exit 3) in ~2 s. */
static int run_timeout(comm *host, kern *k, int ordinal)
{
    int skip = 0;
    comm *dc = open_device_comm("nccl", host, k, ordinal, 2.0, &skip);
    if (!dc)
        return skip ? CUDA_TEST_SKIP : 1;
    float *d = kern_alloc(k, sizeof(float) * 1024);
    if (comm_rank(dc) == 0) {
        comm_allreduce_sum_f32(dc, d, 1024);
        float h[1024];
        kern_download(k, h, d, sizeof h);
        fprintf(stderr, "rank 0: the unmatched all-reduce completed\n");
        exit(1);
    }
    sleep(30);   /* killed by mpirun once rank 0 has failed */
    exit(1);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    const char *mode = argc > 1 ? argv[1] : "staged";
    comm *host = comm_mpi_create();
    g_rank = comm_rank(host);
    if (!all_ranks_ready(host))
        return finish(host, CUDA_TEST_SKIP);
    int ordinal = comm_local_rank(host) % kern_cuda_device_count(NULL, 0);
    char err[256] = "";
    kern *k = kern_cuda_create(ordinal, KERN_GEMM_FP32, err, sizeof(err));
    if (!k) {
        fprintf(stderr, "rank %d: kern_cuda_create: %s\n", g_rank, err);
        return finish(host, 1);
    }
    if (!strcmp(mode, "nccl-timeout"))
        return finish(host, run_timeout(host, k, ordinal));
    int skip = 0;
    comm *dc = open_device_comm(mode, host, k, ordinal, 60.0, &skip);
    if (!dc)
        return finish(host, skip ? CUDA_TEST_SKIP : 1);
    EXPECT(comm_memory(dc) == COMM_MEM_DEVICE, "comm_memory is not DEVICE");
    EXPECT(comm_size(dc) == comm_size(host) && comm_rank(dc) == g_rank, "size/rank differ");
    check_allreduce(host, dc, k, 100003);
    check_allreduce(host, dc, k, 1);
    check_allgatherv(dc, k, 0);
    check_allgatherv(dc, k, 1);
    comm_stats st = comm_get_stats(dc);
    /* one rank: the all-reduce has no one to talk to and is not called (nor counted) */
    uint64_t want_ar = comm_size(dc) > 1 ? 2 : 0;
    EXPECT(st.allreduce_calls == want_ar && st.allgather_calls == 2, "stats: %llu, %llu calls",
           (unsigned long long)st.allreduce_calls, (unsigned long long)st.allgather_calls);
    comm_destroy(dc);
    kern_destroy(k);
    int all_failures = (int)comm_allreduce_sum_i64(host, failures);
    if (g_rank == 0)
        printf("%s on %d rank(s): %s\n", mode, comm_size(host), all_failures ? "FAILED" : "ok");
    return finish(host, all_failures ? 1 : 0);
}
