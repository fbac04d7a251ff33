/* comm/comm_nccl.c — the NCCL communicator (device buffers), bootstrapped by MPI; see
 * comm.h for the contract. Built when NCCL is found (BIVAE_HAVE_NCCL); otherwise
 * comm_nccl_create says why it cannot be used.
 *
 * Design:
 * - Device: `device_ordinal` indexes the visible devices (CUDA_VISIBLE_DEVICES applies by
 *   itself); a negative ordinal means node-local rank mod visible count. Every rank checks
 *   its device first, then the ranks of a node compare their GPUs' PCI bus ids (NCCL does
 *   not support two ranks on one GPU: it fails or may hang), and the ranks agree (MPI)
 *   before any NCCL call, so either all ranks get a communicator or all get NULL with the
 *   first failing rank's reason.
 * - Bootstrap: rank 0 ncclGetUniqueId, MPI_Bcast on the control-plane communicator, then
 *   ncclCommInitRankConfig in NON-BLOCKING mode, so initialization and every collective can
 *   be watched with ncclCommGetAsyncError and abandoned (ncclCommAbort) after the timeout.
 *   Initialization (topology detection, connection setup) gets at least NCCL_INIT_TIMEOUT
 *   seconds, so a short collective timeout does not fail a healthy start.
 * - Stream ordering, no host synchronization: the communicator has its own stream and is
 *   given the compute stream (the backend's, kern_cuda_stream). A data-plane call makes its
 *   stream wait for the compute stream's queued work (cudaEventRecord/cudaStreamWaitEvent),
 *   enqueues the collective, and makes the compute stream wait for it the same way, then
 *   returns: the host only waits until NCCL has enqueued the call (a non-blocking
 *   communicator may return ncclInProgress first), never for the device.
 * - Watchdog: a thread watches the collectives in flight (an event each, recorded on the
 *   NCCL stream) and the communicator's asynchronous error. An error, or a collective not
 *   complete after the timeout, ends the process with one line naming the op and the rank,
 *   after ncclCommAbort (mpirun then ends the job).
 * - all-gatherv: one ncclAllGather of blocks padded to the largest count (under cyclic
 *   ownership counts differ by at most one row) through two scratch buffers of this
 *   communicator, then one device copy per rank into recv + displs[r].
 * - One rank: the generic layer (comm_mpi.c) calls no collective where P = 1. */

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "comm/comm_impl.h"
#include "common/check.h"

#ifdef BIVAE_HAVE_NCCL

#include <cuda_runtime_api.h>
#include <nccl.h>

/* seconds: the least time initialization gets, whatever the collective timeout */
#define NCCL_INIT_TIMEOUT 120.0

enum { NCCL_IN_FLIGHT = 64 };   /* collectives watched at once (more: the host waits) */

/* A collective enqueued and not yet seen complete. */
typedef struct nccl_flight {
    cudaEvent_t done;        /* recorded on the NCCL stream after the collective */
    const char *op;
    double t0;               /* when it was enqueued (monotonic seconds) */
} nccl_flight;

/* The watchdog's view, under `lock`: a ring of the collectives in flight, oldest first. */
typedef struct nccl_watch {
    pthread_mutex_t lock;
    pthread_t thread;
    int started;
    _Atomic int stop;
    nccl_flight ring[NCCL_IN_FLIGHT];
    int head, n;
} nccl_watch;

typedef struct nccl_state {
    int device;              /* visible-device ordinal */
    ncclComm_t nc;           /* NULL until initialized */
    cudaStream_t stream;     /* NULL until created */
    cudaStream_t compute;    /* the caller's stream (kern_cuda_stream); NULL: legacy default */
    cudaEvent_t ready;       /* compute stream → NCCL stream */
    double timeout;          /* seconds; <= 0: no limit */
    float *pad_send, *pad_recv;   /* all-gather scratch [max count], [size × max count] */
    size_t pad_len;          /* floats of pad_send */
    nccl_watch watch;
} nccl_state;

static nccl_state *nccl_st(comm *c) { return (nccl_state *)c->impl; }

static double mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- checked calls: "<op> failed on rank R: <library message>" ----------------------- */

static void cuda_check_at(const comm *c, cudaError_t e, const char *op, const char *file,
                          int line)
{
    if (e != cudaSuccess)
        bivae_fail_at(BIVAE_EXIT_RUNTIME, file, line, "%s failed on rank %d: %s", op, c->rank,
                      cudaGetErrorString(e));
}
#define CUDA_OK(c, call, op) cuda_check_at((c), (call), (op), __FILE__, __LINE__)

static void nccl_check_at(comm *c, ncclResult_t r, const char *op, const char *file, int line)
{
    if (r == ncclSuccess || r == ncclInProgress)
        return;
    nccl_state *st = nccl_st(c);
    const char *detail = st && st->nc ? ncclGetLastError(st->nc) : NULL;
    bivae_fail_at(BIVAE_EXIT_RUNTIME, file, line, "%s failed on rank %d: %s%s%s", op, c->rank,
                  ncclGetErrorString(r), detail && *detail ? ": " : "", detail ? detail : "");
}
#define NCCL_OK(c, call, op) nccl_check_at((c), (call), (op), __FILE__, __LINE__)

/* ---- waiting with a deadline --------------------------------------------------------- */

static void nccl_abort_and_fail(comm *c, const char *op, const char *why)
{
    nccl_state *st = nccl_st(c);
    if (st->nc) {
        ncclCommAbort(st->nc);   /* best effort: we are failing anyway */
        st->nc = NULL;
    }
    FAIL_RUNTIME("%s on rank %d: %s (NCCL communicator aborted)", op, c->rank, why);
}

/* Until the communicator has nothing in progress (initialization, finalization, or the
 * enqueueing of a collective: a non-blocking communicator returns ncclInProgress first).
 * A failure reported asynchronously, or the deadline, aborts and fails naming op. */
static void nccl_wait_for(comm *c, const char *op, double timeout)
{
    nccl_state *st = nccl_st(c);
    double t0 = mono_seconds();
    for (long polls = 0;; polls++) {
        if (polls >= 1000) {   /* a long wait: leave the core to NCCL's proxy thread */
            struct timespec pause = {0, 20000};
            nanosleep(&pause, NULL);
        }
        ncclResult_t async = ncclSuccess;
        NCCL_OK(c, ncclCommGetAsyncError(st->nc, &async), "ncclCommGetAsyncError");
        if (async == ncclSuccess)
            return;
        if (async != ncclInProgress) {
            char why[512];
            const char *detail = ncclGetLastError(st->nc);
            snprintf(why, sizeof(why), "failed: %s: %s", ncclGetErrorString(async),
                     detail ? detail : "");
            nccl_abort_and_fail(c, op, why);
        }
        if (timeout > 0 && mono_seconds() - t0 > timeout) {
            char why[160];
            snprintf(why, sizeof(why), "did not complete within %.3g s (a rank failed, or did "
                     "not join the collective)", timeout);
            nccl_abort_and_fail(c, op, why);
        }
    }
}

static void nccl_wait(comm *c, const char *op) { nccl_wait_for(c, op, nccl_st(c)->timeout); }

/* ---- the watchdog: collectives in flight ----------------------------------------------- */

enum { ABORT_GRACE_SECONDS = 10 };   /* ncclCommAbort may wait for a hung device */

static void *exit_after_grace(void *arg)
{
    (void)arg;
    sleep(ABORT_GRACE_SECONDS);
    _exit(BIVAE_EXIT_RUNTIME);
}

/* One line on stderr, the communicator aborted, the process ended (mpirun then ends the
 * job), within ABORT_GRACE_SECONDS even if the abort hangs. From the watchdog thread, or
 * the host thread holding the watch lock. */
static void watch_fail(comm *c, const char *op, const char *why)
{
    char line[640];
    int n = snprintf(line, sizeof line, "bivae-dist: error: %s on rank %d: %s (NCCL "
                     "communicator aborted)\n", op, c->rank, why);
    ssize_t wr = write(2, line, n > 0 && n < (int)sizeof line ? (size_t)n : sizeof line - 1);
    (void)wr;
    pthread_t grace;
    if (pthread_create(&grace, NULL, exit_after_grace, NULL) == 0)
        ncclCommAbort(nccl_st(c)->nc);   /* else: no abort we could not bound */
    _exit(BIVAE_EXIT_RUNTIME);
}

/* Under the lock: fails on the communicator's asynchronous error, on a collective that
 * failed or is overdue; forgets the ones that completed. */
static void watch_check(comm *c)
{
    nccl_state *st = nccl_st(c);
    nccl_watch *w = &st->watch;
    ncclResult_t async = ncclSuccess, r = ncclCommGetAsyncError(st->nc, &async);
    if (r != ncclSuccess || (async != ncclSuccess && async != ncclInProgress)) {
        char why[512];
        const char *detail = ncclGetLastError(st->nc);
        snprintf(why, sizeof why, "failed: %s: %s",
                 ncclGetErrorString(r != ncclSuccess ? r : async), detail ? detail : "");
        watch_fail(c, w->n ? w->ring[w->head].op : "NCCL", why);
    }
    for (; w->n > 0; w->head = (w->head + 1) % NCCL_IN_FLIGHT, w->n--) {
        nccl_flight *f = &w->ring[w->head];
        cudaError_t q = cudaEventQuery(f->done);
        char why[256];
        if (q == cudaSuccess)
            continue;
        if (q != cudaErrorNotReady) {
            snprintf(why, sizeof why, "failed: %s", cudaGetErrorString(q));
            watch_fail(c, f->op, why);
        }
        if (st->timeout > 0 && mono_seconds() - f->t0 > st->timeout) {
            snprintf(why, sizeof why, "did not complete within %.3g s (a rank failed, or did "
                     "not join the collective)", st->timeout);
            watch_fail(c, f->op, why);
        }
        return;
    }
}

static void *watch_main(void *arg)
{
    comm *c = arg;
    nccl_state *st = nccl_st(c);
    struct timespec nap = {0, 20 * 1000 * 1000};
    if (cudaSetDevice(st->device) != cudaSuccess)
        watch_fail(c, "watchdog", "cudaSetDevice failed");
    while (!atomic_load(&st->watch.stop)) {
        nanosleep(&nap, NULL);
        pthread_mutex_lock(&st->watch.lock);
        watch_check(c);
        pthread_mutex_unlock(&st->watch.lock);
    }
    return NULL;
}

/* Events of the ring, the lock and the thread. */
static void watch_start(comm *c)
{
    nccl_state *st = nccl_st(c);
    nccl_watch *w = &st->watch;
    for (int i = 0; i < NCCL_IN_FLIGHT; i++)
        CUDA_OK(c, cudaEventCreateWithFlags(&w->ring[i].done, cudaEventDisableTiming),
                "cudaEventCreateWithFlags");
    int rc = pthread_mutex_init(&w->lock, NULL);
    if (rc == 0)
        rc = pthread_create(&w->thread, NULL, watch_main, c);
    if (rc != 0)
        FAIL_RUNTIME("pthread_create (NCCL watchdog) on rank %d: %s", c->rank, strerror(rc));
    w->started = 1;
}

static void watch_stop(comm *c)
{
    nccl_watch *w = &nccl_st(c)->watch;
    if (w->started) {
        atomic_store(&w->stop, 1);
        int rc = pthread_join(w->thread, NULL);
        if (rc != 0)
            FAIL_RUNTIME("pthread_join (NCCL watchdog) on rank %d: %s", c->rank, strerror(rc));
        pthread_mutex_destroy(&w->lock);
        w->started = 0;
    }
    for (int i = 0; i < NCCL_IN_FLIGHT; i++)
        if (w->ring[i].done)
            CUDA_OK(c, cudaEventDestroy(w->ring[i].done), "cudaEventDestroy");
}

/* After a collective was enqueued on the NCCL stream: its completion event joins the ring
 * and the compute stream waits for it. With the ring full (the device is far behind) the
 * host waits for the oldest. */
static void flight_push(comm *c, const char *op)
{
    nccl_state *st = nccl_st(c);
    nccl_watch *w = &st->watch;
    pthread_mutex_lock(&w->lock);
    for (watch_check(c); w->n == NCCL_IN_FLIGHT; watch_check(c)) {
        pthread_mutex_unlock(&w->lock);
        struct timespec pause = {0, 50000};
        nanosleep(&pause, NULL);
        pthread_mutex_lock(&w->lock);
    }
    nccl_flight *f = &w->ring[(w->head + w->n) % NCCL_IN_FLIGHT];
    f->op = op;
    f->t0 = mono_seconds();
    cudaError_t e = cudaEventRecord(f->done, st->stream);
    w->n += e == cudaSuccess;
    pthread_mutex_unlock(&w->lock);
    CUDA_OK(c, e, "cudaEventRecord (after a collective)");
    CUDA_OK(c, cudaStreamWaitEvent(st->compute, f->done, 0),
            "cudaStreamWaitEvent (compute after a collective)");
}

/* Before a collective: the NCCL stream waits for the work queued on the compute stream. */
static void nccl_begin(comm *c)
{
    nccl_state *st = nccl_st(c);
    CUDA_OK(c, cudaSetDevice(st->device), "cudaSetDevice");
    CUDA_OK(c, cudaEventRecord(st->ready, st->compute), "cudaEventRecord (before a collective)");
    CUDA_OK(c, cudaStreamWaitEvent(st->stream, st->ready, 0),
            "cudaStreamWaitEvent (collective after compute)");
}

/* After it: enqueued for sure, then ordered before the compute stream's next work. */
static void nccl_end(comm *c, const char *op)
{
    nccl_wait(c, op);
    flight_push(c, op);
}

/* ---- data plane ---------------------------------------------------------------------- */

static void nccl_allreduce_sum_f32(comm *c, float *buf, size_t n)
{
    nccl_state *st = nccl_st(c);
    if (n == 0)
        return;
    nccl_begin(c);
    NCCL_OK(c, ncclAllReduce(buf, buf, n, ncclFloat, ncclSum, st->nc, st->stream),
            "ncclAllReduce");
    nccl_end(c, "ncclAllReduce");
}

/* The padded all-gather's scratch: pad_send [m], pad_recv [size × m] floats, grown only;
 * zero-filled, so NCCL never reads uninitialized memory past a short block. */
static void pad_reserve(comm *c, size_t m)
{
    nccl_state *st = nccl_st(c);
    if (m <= st->pad_len)
        return;
    /* queued collectives may still use the old buffers (growth is rare: once per size) */
    CUDA_OK(c, cudaStreamSynchronize(st->stream), "cudaStreamSynchronize (all-gather scratch)");
    CUDA_OK(c, cudaFree(st->pad_send), "cudaFree (all-gather scratch)");
    CUDA_OK(c, cudaFree(st->pad_recv), "cudaFree (all-gather scratch)");
    st->pad_send = st->pad_recv = NULL;
    size_t bytes = m * sizeof(float), all = (size_t)c->size * bytes;
    CUDA_OK(c, cudaMalloc((void **)&st->pad_send, bytes), "cudaMalloc (all-gather scratch)");
    CUDA_OK(c, cudaMalloc((void **)&st->pad_recv, all), "cudaMalloc (all-gather scratch)");
    CUDA_OK(c, cudaMemsetAsync(st->pad_send, 0, bytes, st->stream), "cudaMemsetAsync");
    CUDA_OK(c, cudaMemsetAsync(st->pad_recv, 0, all, st->stream), "cudaMemsetAsync");
    st->pad_len = m;
}

static void nccl_allgatherv_f32(comm *c, const float *send, size_t n_send, float *recv,
                                const size_t *counts, const size_t *displs)
{
    nccl_state *st = nccl_st(c);
    if (counts[c->rank] != n_send)
        FAIL_RUNTIME("allgatherv (nccl): rank %d sends %zu floats but counts[%d] = %zu",
                     c->rank, n_send, c->rank, counts[c->rank]);
    size_t m = 0;
    for (int r = 0; r < c->size; r++)
        m = counts[r] > m ? counts[r] : m;
    if (m == 0)
        return;
    pad_reserve(c, m);
    nccl_begin(c);
    if (n_send > 0)
        CUDA_OK(c, cudaMemcpyAsync(st->pad_send, send, n_send * sizeof(float),
                                   cudaMemcpyDeviceToDevice, st->stream), "cudaMemcpyAsync");
    NCCL_OK(c, ncclAllGather(st->pad_send, st->pad_recv, m, ncclFloat, st->nc, st->stream),
            "ncclAllGather");
    nccl_wait(c, "ncclAllGather");   /* enqueued before the copies behind it */
    for (int r = 0; r < c->size; r++)
        if (counts[r] > 0)
            CUDA_OK(c, cudaMemcpyAsync(recv + displs[r], st->pad_recv + (size_t)r * m,
                                       counts[r] * sizeof(float), cudaMemcpyDeviceToDevice,
                                       st->stream), "cudaMemcpyAsync (all-gather blocks)");
    flight_push(c, "ncclAllGather");
}

static void nccl_destroy(comm *c)
{
    nccl_state *st = nccl_st(c);
    if (!st)
        return;
    if (st->stream)
        CUDA_OK(c, cudaStreamSynchronize(st->stream), "cudaStreamSynchronize (comm_destroy)");
    watch_stop(c);
    if (st->nc) {
        NCCL_OK(c, ncclCommFinalize(st->nc), "ncclCommFinalize");
        nccl_wait_for(c, "ncclCommFinalize", st->timeout);
        NCCL_OK(c, ncclCommDestroy(st->nc), "ncclCommDestroy");
        st->nc = NULL;
    }
    CUDA_OK(c, cudaFree(st->pad_send), "cudaFree (all-gather scratch)");
    CUDA_OK(c, cudaFree(st->pad_recv), "cudaFree (all-gather scratch)");
    if (st->ready)
        CUDA_OK(c, cudaEventDestroy(st->ready), "cudaEventDestroy");
    if (st->stream)
        CUDA_OK(c, cudaStreamDestroy(st->stream), "cudaStreamDestroy");
    free(st);
    c->impl = NULL;
}

static const comm_ops nccl_ops = {nccl_allreduce_sum_f32, nccl_allgatherv_f32, nccl_destroy};

/* ---- creation ------------------------------------------------------------------------ */

/* This rank's device and stream; 0, or -1 with the reason in err. */
static int nccl_device_setup(comm *c, int ordinal, char *err, size_t err_len)
{
    nccl_state *st = nccl_st(c);
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n <= 0) {
        snprintf(err, err_len, "no CUDA device: %s",
                 e != cudaSuccess ? cudaGetErrorString(e) : "none is visible");
        return -1;
    }
    if (ordinal < 0)
        ordinal = c->local_rank % n;
    if (ordinal >= n) {
        snprintf(err, err_len, "device ordinal %d out of range: %d visible device(s)", ordinal,
                 n);
        return -1;
    }
    st->device = ordinal;
    e = cudaSetDevice(ordinal);
    if (e == cudaSuccess)
        e = cudaStreamCreateWithFlags(&st->stream, cudaStreamNonBlocking);
    if (e == cudaSuccess)
        e = cudaEventCreateWithFlags(&st->ready, cudaEventDisableTiming);
    if (e != cudaSuccess) {
        snprintf(err, err_len, "device %d: %s", ordinal, cudaGetErrorString(e));
        return -1;
    }
    return 0;
}

/* Collective over the node. -1 with the reason when another rank of this node chose the
 * same GPU (by PCI bus id); ok = 0 (this rank has no device) takes part without one. */
enum { BUS_ID_LEN = 32 };
static int nccl_check_shared_gpu(comm *c, int ok, char *err, size_t err_len)
{
    char mine[BUS_ID_LEN] = "";
    if (ok && cudaDeviceGetPCIBusId(mine, BUS_ID_LEN, nccl_st(c)->device) != cudaSuccess)
        mine[0] = '\0';   /* no id: nothing to compare */
    char *all = xcalloc((size_t)c->local_size, BUS_ID_LEN);
    MPI_CHECK(c, MPI_Allgather(mine, BUS_ID_LEN, MPI_CHAR, all, BUS_ID_LEN, MPI_CHAR, c->node),
              "MPI_Allgather(GPU bus ids)");
    int clash = -1;
    for (int r = 0; r < c->local_size && clash < 0; r++)
        if (r != c->local_rank && mine[0] && !strcmp(all + (size_t)r * BUS_ID_LEN, mine))
            clash = r;
    free(all);
    if (clash < 0)
        return 0;
    snprintf(err, err_len, "node-local ranks %d and %d share GPU %s: NCCL needs one GPU per "
             "rank (--comm mpi lets ranks share a GPU)", clash < c->local_rank ? clash :
             c->local_rank, clash < c->local_rank ? c->local_rank : clash, mine);
    return -1;
}

/* Every rank learns whether all ranks are ready; if not, err gets the first failing rank's
 * reason on every rank. Returns 1 when all are ready. */
static int nccl_agree(comm *c, int ok, char *err, size_t err_len)
{
    int first_bad = ok ? c->size : c->rank, min_bad = c->size;
    MPI_CHECK(c, MPI_Allreduce(&first_bad, &min_bad, 1, MPI_INT, MPI_MIN, c->world),
              "MPI_Allreduce(nccl setup)");
    if (min_bad == c->size)
        return 1;
    char msg[256];
    snprintf(msg, sizeof(msg), "%s", err);
    MPI_CHECK(c, MPI_Bcast(msg, (int)sizeof(msg), MPI_CHAR, min_bad, c->world),
              "MPI_Bcast(nccl setup)");
    snprintf(err, err_len, "rank %d: %.200s", min_bad, msg);
    return 0;
}

static void nccl_init_rank(comm *c)
{
    nccl_state *st = nccl_st(c);
    ncclUniqueId id;
    memset(&id, 0, sizeof(id));
    if (c->rank == 0)
        NCCL_OK(c, ncclGetUniqueId(&id), "ncclGetUniqueId");
    MPI_CHECK(c, MPI_Bcast(&id, (int)sizeof(id), MPI_BYTE, 0, c->world),
              "MPI_Bcast(ncclUniqueId)");
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;    /* calls return ncclInProgress; nccl_wait watches them */
    NCCL_OK(c, ncclCommInitRankConfig(&st->nc, c->size, id, c->rank, &config),
            "ncclCommInitRankConfig");
    double init_timeout = st->timeout;
    if (init_timeout > 0 && init_timeout < NCCL_INIT_TIMEOUT)
        init_timeout = NCCL_INIT_TIMEOUT;
    nccl_wait_for(c, "ncclCommInitRankConfig", init_timeout);
    watch_start(c);
}

comm *comm_nccl_create(int device_ordinal, void *compute_stream, double timeout_seconds,
                       char *err, size_t err_len)
{
    char reason[256] = "";
    comm *c = xcalloc(1, sizeof(comm));
    nccl_state *st = xcalloc(1, sizeof(nccl_state));
    st->timeout = timeout_seconds;
    st->compute = (cudaStream_t)compute_stream;
    c->ops = &nccl_ops;
    c->name = "nccl";
    c->mem = COMM_MEM_DEVICE;
    c->impl = st;
    comm_init_common(c);
    int ok = nccl_device_setup(c, device_ordinal, reason, sizeof(reason)) == 0;
    if (nccl_check_shared_gpu(c, ok, reason, sizeof(reason)) != 0)
        ok = 0;
    if (!nccl_agree(c, ok, reason, sizeof(reason))) {
        if (err && err_len)
            snprintf(err, err_len, "%s", reason);
        comm_destroy(c);
        return NULL;
    }
    nccl_init_rank(c);
    return c;
}

#else /* no NCCL in this build */

comm *comm_nccl_create(int device_ordinal, void *compute_stream, double timeout_seconds,
                       char *err, size_t err_len)
{
    (void)device_ordinal;
    (void)compute_stream;
    (void)timeout_seconds;
    if (err && err_len)
        snprintf(err, err_len, "this build has no NCCL communicator");
    return NULL;
}

#endif
