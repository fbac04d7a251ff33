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
 * - Stream ordering: the communicator has its own stream and does not know the compute
 *   stream, so a data-plane call first synchronizes the device (everything queued by the
 *   compute backend has produced its inputs), runs the collective on its stream and waits
 *   until it completed (polling, with the timeout). Correct and simple; it forgoes overlap
 *   of communication with compute, which events between the two streams would allow.
 * - all-gatherv: NCCL has no v-variant; one ncclBroadcast per rank (root r sends its
 *   counts[r] floats into recv + displs[r]) inside one ncclGroupStart/End. Exact sizes,
 *   no padding; ranks with a zero count are skipped (counts are the same on every rank). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "comm/comm_impl.h"
#include "common/check.h"

#ifdef BIVAE_HAVE_NCCL

#include <cuda_runtime_api.h>
#include <nccl.h>

/* seconds: the least time initialization gets, whatever the collective timeout */
#define NCCL_INIT_TIMEOUT 120.0

typedef struct nccl_state {
    int device;              /* visible-device ordinal */
    ncclComm_t nc;           /* NULL until initialized */
    cudaStream_t stream;     /* NULL until created */
    double timeout;          /* seconds; <= 0: no limit */
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

/* Until the communicator has nothing in progress and (with_stream) its stream is idle.
 * A failure reported asynchronously, or the deadline, aborts and fails naming op. */
static void nccl_wait_for(comm *c, const char *op, int with_stream, double timeout)
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
        if (async != ncclSuccess && async != ncclInProgress) {
            char why[512];
            const char *detail = ncclGetLastError(st->nc);
            snprintf(why, sizeof(why), "failed: %s: %s", ncclGetErrorString(async),
                     detail ? detail : "");
            nccl_abort_and_fail(c, op, why);
        }
        if (async == ncclSuccess) {
            if (!with_stream)
                return;
            cudaError_t q = cudaStreamQuery(st->stream);
            if (q == cudaSuccess)
                return;
            if (q != cudaErrorNotReady)
                CUDA_OK(c, q, op);
        }
        if (timeout > 0 && mono_seconds() - t0 > timeout) {
            char why[160];
            snprintf(why, sizeof(why), "did not complete within %.3g s (a rank failed, or did "
                     "not join the collective)", timeout);
            nccl_abort_and_fail(c, op, why);
        }
    }
}

static void nccl_wait(comm *c, const char *op, int with_stream)
{
    nccl_wait_for(c, op, with_stream, nccl_st(c)->timeout);
}

/* Before a collective: this device's queued work (any stream) has finished. */
static void nccl_enter(comm *c)
{
    nccl_state *st = nccl_st(c);
    CUDA_OK(c, cudaSetDevice(st->device), "cudaSetDevice");
    CUDA_OK(c, cudaDeviceSynchronize(), "cudaDeviceSynchronize (before a collective)");
}

/* ---- data plane ---------------------------------------------------------------------- */

static void nccl_allreduce_sum_f32(comm *c, float *buf, size_t n)
{
    nccl_state *st = nccl_st(c);
    if (n == 0)
        return;
    nccl_enter(c);
    NCCL_OK(c, ncclAllReduce(buf, buf, n, ncclFloat, ncclSum, st->nc, st->stream),
            "ncclAllReduce");
    nccl_wait(c, "ncclAllReduce", 1);
}

static void nccl_allgatherv_f32(comm *c, const float *send, size_t n_send, float *recv,
                                const size_t *counts, const size_t *displs)
{
    nccl_state *st = nccl_st(c);
    if (counts[c->rank] != n_send)
        FAIL_RUNTIME("allgatherv (nccl): rank %d sends %zu floats but counts[%d] = %zu",
                     c->rank, n_send, c->rank, counts[c->rank]);
    nccl_enter(c);
    NCCL_OK(c, ncclGroupStart(), "ncclGroupStart");
    for (int r = 0; r < c->size; r++)
        if (counts[r] > 0)
            NCCL_OK(c, ncclBroadcast(r == c->rank ? (const void *)send : NULL, recv + displs[r],
                                     counts[r], ncclFloat, r, st->nc, st->stream),
                    "ncclBroadcast (allgatherv)");
    NCCL_OK(c, ncclGroupEnd(), "ncclGroupEnd (allgatherv)");
    nccl_wait(c, "allgatherv (grouped ncclBroadcast)", 1);
}

static void nccl_destroy(comm *c)
{
    nccl_state *st = nccl_st(c);
    if (!st)
        return;
    if (st->nc) {
        NCCL_OK(c, ncclCommFinalize(st->nc), "ncclCommFinalize");
        nccl_wait(c, "ncclCommFinalize", 0);
        NCCL_OK(c, ncclCommDestroy(st->nc), "ncclCommDestroy");
        st->nc = NULL;
    }
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
    if (e != cudaSuccess) {
        st->stream = NULL;
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
    nccl_wait_for(c, "ncclCommInitRankConfig", 0, init_timeout);
}

comm *comm_nccl_create(int device_ordinal, double timeout_seconds, char *err, size_t err_len)
{
    char reason[256] = "";
    comm *c = xcalloc(1, sizeof(comm));
    nccl_state *st = xcalloc(1, sizeof(nccl_state));
    st->timeout = timeout_seconds;
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

comm *comm_nccl_create(int device_ordinal, double timeout_seconds, char *err, size_t err_len)
{
    (void)device_ordinal;
    (void)timeout_seconds;
    if (err && err_len)
        snprintf(err, err_len, "this build has no NCCL communicator");
    return NULL;
}

#endif
