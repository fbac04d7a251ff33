/* comm/comm_mpi.c — the MPI communicator (host buffers) and the control plane shared by
 * every implementation. */
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "comm/comm_impl.h"
#include "common/check.h"

/* MPI counts are int: move big buffers in slices of at most this many elements. */
#define COMM_MAX_SLICE ((size_t)1 << 28)

void comm_mpi_check(const comm *c, int rc, const char *op, const char *file, int line)
{
    if (rc == MPI_SUCCESS)
        return;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS)
        strcpy(msg, "unknown MPI error");
    bivae_fail_at(BIVAE_EXIT_RUNTIME, file, line, "%s failed on rank %d: %s", op,
                  c ? c->rank : -1, msg);
}

/* ---- the collective watchdog ---------------------------------------------------------- */

typedef struct watchdog {
    pthread_t thread;
    _Atomic int64_t entered_ns;   /* monotonic time the current collective began; 0: none */
    _Atomic(const char *) op;
    double timeout;
    int rank;
} watchdog;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *watchdog_main(void *arg)
{
    watchdog *w = arg;
    struct timespec nap = {0, 200 * 1000 * 1000};
    for (;;) {
        nanosleep(&nap, NULL);
        int64_t t0 = atomic_load(&w->entered_ns);
        if (t0 == 0 || (double)(mono_ns() - t0) * 1e-9 <= w->timeout)
            continue;
        char line[512];
        int n = snprintf(line, sizeof line, "bivae-dist: error: %s on rank %d: not complete "
                         "after %.0f s: a rank stalled or died (--comm-timeout); ending the "
                         "job\n", atomic_load(&w->op), w->rank, w->timeout);
        ssize_t wr = write(2, line, n > 0 && n < (int)sizeof line ? (size_t)n : sizeof line - 1);
        (void)wr;
        _exit(BIVAE_EXIT_RUNTIME);   /* mpirun sees the rank die and ends the job */
    }
    return NULL;
}

void comm_set_timeout(comm *c, double seconds)
{
    c->timeout = seconds;
    if (seconds <= 0 || c->watch) {
        if (c->watch)
            ((watchdog *)c->watch)->timeout = seconds > 0 ? seconds : 1e300;
        return;
    }
    watchdog *w = xcalloc(1, sizeof(watchdog));
    w->timeout = seconds;
    w->rank = c->rank;
    int rc = pthread_create(&w->thread, NULL, watchdog_main, w);
    if (rc != 0)
        FAIL_RUNTIME("pthread_create (collective watchdog): %s", strerror(rc));
    pthread_detach(w->thread);
    c->watch = w;   /* lives until the process ends (the thread only reads it) */
}

void comm_watch_enter(comm *c, const char *op)
{
    watchdog *w = c->watch;
    if (!w)
        return;
    atomic_store(&w->op, op);
    atomic_store(&w->entered_ns, mono_ns());
}

void comm_watch_leave(comm *c)
{
    if (c->watch)
        atomic_store(&((watchdog *)c->watch)->entered_ns, 0);
}

/* Test-only switches, so tests can inject the faults a long run meets: before its
 * (BIVAE_TEST_FAULT_AFTER, default 5)-th data-plane collective, rank BIVAE_TEST_STALL_RANK
 * stops for good (the others must fail after --comm-timeout instead of hanging) and rank
 * BIVAE_TEST_KILL_RANK dies of SIGKILL (the job must end, the last checkpoint intact). */
static void test_faults(const comm *c)
{
    static long calls;
    const char *stall = getenv("BIVAE_TEST_STALL_RANK"), *kill = getenv("BIVAE_TEST_KILL_RANK");
    const char *after = getenv("BIVAE_TEST_FAULT_AFTER");
    if ((!stall && !kill) || ++calls < (after ? atol(after) : 5))
        return;
    if (kill && atoi(kill) == c->rank)
        raise(SIGKILL);
    if (stall && atoi(stall) == c->rank)
        for (;;)
            sleep(1000);
}

void comm_init_common(comm *c)
{
    MPI_CHECK(c, MPI_Comm_dup(MPI_COMM_WORLD, &c->world), "MPI_Comm_dup");
    MPI_CHECK(c, MPI_Comm_set_errhandler(c->world, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    MPI_CHECK(c, MPI_Comm_rank(c->world, &c->rank), "MPI_Comm_rank");
    MPI_CHECK(c, MPI_Comm_size(c->world, &c->size), "MPI_Comm_size");
    MPI_CHECK(c, MPI_Comm_split_type(c->world, MPI_COMM_TYPE_SHARED, c->rank, MPI_INFO_NULL,
                                     &c->node), "MPI_Comm_split_type");
    MPI_CHECK(c, MPI_Comm_set_errhandler(c->node, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    MPI_CHECK(c, MPI_Comm_rank(c->node, &c->local_rank), "MPI_Comm_rank");
    MPI_CHECK(c, MPI_Comm_size(c->node, &c->local_size), "MPI_Comm_size");
}

/* ---- MPI data plane ----------------------------------------------------------- */

static void mpi_allreduce_sum_f32(comm *c, float *buf, size_t n)
{
    for (size_t off = 0; off < n; off += COMM_MAX_SLICE) {
        size_t len = n - off < COMM_MAX_SLICE ? n - off : COMM_MAX_SLICE;
        MPI_COLLECTIVE(c, MPI_Allreduce(MPI_IN_PLACE, buf + off, (int)len, MPI_FLOAT, MPI_SUM,
                                        c->world), "MPI_Allreduce(sum, float)");
    }
}

static void mpi_allgatherv_f32(comm *c, const float *send, size_t n_send, float *recv,
                               const size_t *counts, const size_t *displs)
{
    int *icounts = xmalloc(sizeof(int) * (size_t)c->size);
    int *idispls = xmalloc(sizeof(int) * (size_t)c->size);
    for (int r = 0; r < c->size; r++) {
        if (counts[r] > INT_MAX || displs[r] > INT_MAX)
            FAIL_RUNTIME("MPI_Allgatherv: block of %zu floats at %zu exceeds MPI's int counts",
                         counts[r], displs[r]);
        icounts[r] = (int)counts[r];
        idispls[r] = (int)displs[r];
    }
    MPI_COLLECTIVE(c, MPI_Allgatherv(send, (int)n_send, MPI_FLOAT, recv, icounts, idispls,
                                     MPI_FLOAT, c->world), "MPI_Allgatherv(float)");
    free(icounts);
    free(idispls);
}

static void mpi_destroy(comm *c) { (void)c; }

static const comm_ops mpi_ops = {mpi_allreduce_sum_f32, mpi_allgatherv_f32, mpi_destroy};

comm *comm_mpi_create(void)
{
    comm *c = xcalloc(1, sizeof(comm));
    c->ops = &mpi_ops;
    c->name = "mpi";
    c->mem = COMM_MEM_HOST;
    comm_init_common(c);
    return c;
}

void comm_destroy(comm *c)
{
    if (!c)
        return;
    c->ops->destroy(c);
    MPI_Comm_free(&c->node);
    MPI_Comm_free(&c->world);
    free(c);
}

/* ---- accessors and timed data plane --------------------------------------------- */

const char *comm_name(const comm *c) { return c->name; }
comm_mem comm_memory(const comm *c) { return c->mem; }
int comm_rank(const comm *c) { return c->rank; }
int comm_size(const comm *c) { return c->size; }
int comm_local_rank(const comm *c) { return c->local_rank; }
int comm_local_size(const comm *c) { return c->local_size; }
comm_stats comm_get_stats(const comm *c) { return c->stats; }
void comm_reset_stats(comm *c) { memset(&c->stats, 0, sizeof(c->stats)); }

void comm_allreduce_sum_f32(comm *c, float *buf, size_t n)
{
    if (c->size == 1)   /* the sum of one: no collective, no traffic */
        return;
    test_faults(c);
    double t0 = MPI_Wtime();
    c->ops->allreduce_sum_f32(c, buf, n);
    c->stats.allreduce_seconds += MPI_Wtime() - t0;
    c->stats.allreduce_bytes += n * sizeof(float);
    c->stats.allreduce_calls++;
}

void comm_allgatherv_f32(comm *c, const float *send, size_t n_send, float *recv,
                         const size_t *counts, const size_t *displs)
{
    double t0 = MPI_Wtime();
    c->ops->allgatherv_f32(c, send, n_send, recv, counts, displs);
    c->stats.allgather_seconds += MPI_Wtime() - t0;
    size_t total = 0;
    for (int r = 0; r < c->size; r++)
        total += counts[r];
    c->stats.allgather_bytes += total * sizeof(float);
    c->stats.allgather_calls++;
}

/* ---- control plane --------------------------------------------------------------- */

int comm_agree(comm *c, int status, const char *msg)
{
    int64_t first = comm_allreduce_min_i64(c, status ? c->rank : c->size);
    if (first == c->rank) {
        fprintf(stderr, "bivae-dist: error: %s\n", msg);
        fflush(stderr);
    }
    return (int)comm_allreduce_max_i64(c, status);
}

void comm_barrier(comm *c)
{
    MPI_COLLECTIVE(c, MPI_Barrier(c->world), "MPI_Barrier");
}

void comm_bcast(comm *c, void *buf, size_t bytes, int root)
{
    for (size_t off = 0; off < bytes; off += COMM_MAX_SLICE) {
        size_t len = bytes - off < COMM_MAX_SLICE ? bytes - off : COMM_MAX_SLICE;
        MPI_COLLECTIVE(c, MPI_Bcast((char *)buf + off, (int)len, MPI_BYTE, root, c->world),
                       "MPI_Bcast");
    }
}

static int64_t allreduce_i64(comm *c, int64_t x, MPI_Op op, const char *name)
{
    int64_t y = 0;
    MPI_COLLECTIVE(c, MPI_Allreduce(&x, &y, 1, MPI_INT64_T, op, c->world), name);
    return y;
}

int64_t comm_allreduce_min_i64(comm *c, int64_t x)
{
    return allreduce_i64(c, x, MPI_MIN, "MPI_Allreduce(min, int64)");
}

int64_t comm_allreduce_max_i64(comm *c, int64_t x)
{
    return allreduce_i64(c, x, MPI_MAX, "MPI_Allreduce(max, int64)");
}

int64_t comm_allreduce_sum_i64(comm *c, int64_t x)
{
    return allreduce_i64(c, x, MPI_SUM, "MPI_Allreduce(sum, int64)");
}

void comm_allreduce_sum_f64v(comm *c, double *buf, size_t n)
{
    if (n)
        MPI_COLLECTIVE(c, MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_DOUBLE, MPI_SUM, c->world), "MPI_Allreduce(sum, double)");
}

void comm_allreduce_sum_i64v(comm *c, int64_t *buf, size_t n)
{
    if (n)
        MPI_COLLECTIVE(c, MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_INT64_T, MPI_SUM,
                                        c->world), "MPI_Allreduce(sum, int64)");
}

int64_t comm_exscan_sum_i64(comm *c, int64_t x)
{
    int64_t y = 0;
    MPI_COLLECTIVE(c, MPI_Exscan(&x, &y, 1, MPI_INT64_T, MPI_SUM, c->world), "MPI_Exscan");
    return c->rank == 0 ? 0 : y;
}

void comm_allgather_i64(comm *c, int64_t x, int64_t *all)
{
    MPI_COLLECTIVE(c, MPI_Allgather(&x, 1, MPI_INT64_T, all, 1, MPI_INT64_T, c->world),
                   "MPI_Allgather(int64)");
}

static MPI_Datatype element_type(comm *c, size_t elem_size)
{
    MPI_Datatype t;
    MPI_CHECK(c, MPI_Type_contiguous((int)elem_size, MPI_BYTE, &t), "MPI_Type_contiguous");
    MPI_CHECK(c, MPI_Type_commit(&t), "MPI_Type_commit");
    return t;
}

static int to_int_count(size_t n, const char *op)
{
    if (n > INT_MAX)
        FAIL_RUNTIME("%s: %zu elements exceed MPI's int counts", op, n);
    return (int)n;
}

void *comm_allgatherv_bytes(comm *c, const void *send, size_t n_send, size_t elem_size,
                            size_t *n_recv)
{
    int P = c->size;
    int64_t *all = xmalloc(sizeof(int64_t) * (size_t)P);
    comm_allgather_i64(c, (int64_t)n_send, all);
    int *counts = xmalloc(sizeof(int) * (size_t)P), *displs = xmalloc(sizeof(int) * (size_t)P);
    size_t total = 0;
    for (int r = 0; r < P; r++) {
        counts[r] = to_int_count((size_t)all[r], "MPI_Allgatherv");
        displs[r] = to_int_count(total, "MPI_Allgatherv");
        total += (size_t)all[r];
    }
    void *recv = xmalloc(total * elem_size);
    MPI_Datatype t = element_type(c, elem_size);
    MPI_COLLECTIVE(c, MPI_Allgatherv(send, (int)n_send, t, recv, counts, displs, t, c->world), "MPI_Allgatherv(bytes)");
    MPI_Type_free(&t);
    free(all);
    free(counts);
    free(displs);
    *n_recv = total;
    return recv;
}

void *comm_alltoallv_bytes(comm *c, const void *send, const size_t *send_counts,
                           size_t elem_size, size_t *n_recv, size_t *recv_counts)
{
    int P = c->size;
    int *scount = xmalloc(sizeof(int) * (size_t)P), *sdispl = xmalloc(sizeof(int) * (size_t)P);
    int *rcount = xmalloc(sizeof(int) * (size_t)P), *rdispl = xmalloc(sizeof(int) * (size_t)P);
    size_t off = 0;
    for (int r = 0; r < P; r++) {
        scount[r] = to_int_count(send_counts[r], "MPI_Alltoallv");
        sdispl[r] = to_int_count(off, "MPI_Alltoallv");
        off += send_counts[r];
    }
    MPI_COLLECTIVE(c, MPI_Alltoall(scount, 1, MPI_INT, rcount, 1, MPI_INT, c->world),
                   "MPI_Alltoall(counts)");
    size_t total = 0;
    for (int r = 0; r < P; r++) {
        rdispl[r] = to_int_count(total, "MPI_Alltoallv");
        total += (size_t)rcount[r];
        if (recv_counts)
            recv_counts[r] = (size_t)rcount[r];
    }
    void *recv = xmalloc(total * elem_size);
    MPI_Datatype t = element_type(c, elem_size);
    MPI_COLLECTIVE(c, MPI_Alltoallv(send, scount, sdispl, t, recv, rcount, rdispl, t, c->world), "MPI_Alltoallv");
    MPI_Type_free(&t);
    free(scount);
    free(sdispl);
    free(rcount);
    free(rdispl);
    *n_recv = total;
    return recv;
}
