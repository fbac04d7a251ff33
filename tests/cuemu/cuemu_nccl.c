/* tests/cuemu/cuemu_nccl.c — cuemu's NCCL double over MPI (see include/nccl.h). A
 * communicator is an MPI communicator split from MPI_COMM_WORLD by the unique id; its
 * collectives are non-blocking MPI operations on the device memory (opened for host access
 * while they run) and stay pending on the caller's stream until MPI completes them. Only
 * float sums, float all-gathers and float broadcasts are implemented (what bivae-dist
 * calls). */
#define _DEFAULT_SOURCE
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nccl.h"

void cuemu_stream_set_pending(cudaStream_t s, int (*pending)(void *), void *ctx);
int cuemu_physical_device(int ordinal);

enum { MAX_PENDING = 1024 };

struct cuemu_nccl {
    MPI_Comm mpi;
    int rank, nranks;
    int blocking;
    int init_polls;               /* non-blocking init: ncclInProgress this many more times */
    int aborted;
    MPI_Request req[MAX_PENDING]; /* the running collective(s) */
    int n_req;
    const void *open_p;           /* device memory opened for them */
    char last_error[256];
};

static struct {
    int open;
    struct { int is_bcast; const void *send; void *recv; size_t count; int root;
             ncclComm_t comm; cudaStream_t stream; } op[MAX_PENDING];
    int n;
} g_group;

const char *ncclGetErrorString(ncclResult_t r)
{
    switch (r) {
    case ncclSuccess: return "no error";
    case ncclUnhandledCudaError: return "unhandled cuda error";
    case ncclSystemError: return "unhandled system error";
    case ncclInternalError: return "internal error";
    case ncclInvalidArgument: return "invalid argument";
    case ncclInvalidUsage: return "invalid usage";
    case ncclRemoteError: return "remote process exited or there was a network error";
    case ncclInProgress: return "NCCL operation in progress";
    }
    return "unknown result code";
}

const char *ncclGetLastError(ncclComm_t comm) { return comm ? comm->last_error : ""; }

ncclResult_t ncclGetUniqueId(ncclUniqueId *id)
{
    static int counter;
    char host[64] = "";
    memset(id, 0, sizeof(*id));
    gethostname(host, sizeof(host) - 1);
    snprintf(id->internal, sizeof(id->internal), "cuemu:%s:%d:%d", host, (int)getpid(),
             ++counter);
    return ncclSuccess;
}

static int id_color(const ncclUniqueId *id)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < sizeof(id->internal); i++)
        h = (h ^ (uint8_t)id->internal[i]) * 16777619u;
    return (int)(h & 0x3fffffff);
}

/* as NCCL: two ranks of a communicator on one device (same host) are refused */
static ncclResult_t check_devices(ncclComm_t c)
{
    struct { char host[64]; int dev; } me, *all = calloc((size_t)c->nranks, sizeof(me));
    memset(&me, 0, sizeof(me));
    gethostname(me.host, sizeof(me.host) - 1);
    int ord = 0;
    cudaGetDevice(&ord);
    me.dev = cuemu_physical_device(ord);
    MPI_Allgather(&me, (int)sizeof(me), MPI_BYTE, all, (int)sizeof(me), MPI_BYTE, c->mpi);
    ncclResult_t r = ncclSuccess;
    for (int i = 0; i < c->nranks && r == ncclSuccess; i++)
        if (i != c->rank && all[i].dev == me.dev && !strcmp(all[i].host, me.host)) {
            snprintf(c->last_error, sizeof(c->last_error), "Duplicate GPU detected : rank %d "
                     "and rank %d both on CUDA device %d", i < c->rank ? i : c->rank,
                     i < c->rank ? c->rank : i, me.dev);
            r = ncclInvalidUsage;
        }
    free(all);
    return r;
}

ncclResult_t ncclCommInitRankConfig(ncclComm_t *out, int nranks, ncclUniqueId id, int rank,
                                    ncclConfig_t *config)
{
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!out || !initialized || nranks < 1 || rank < 0 || rank >= nranks)
        return ncclInvalidArgument;
    ncclComm_t c = calloc(1, sizeof(*c));
    c->rank = rank;
    c->nranks = nranks;
    c->blocking = config ? config->blocking : 1;
    MPI_Comm_split(MPI_COMM_WORLD, id_color(&id), rank, &c->mpi);
    int size = 0;
    MPI_Comm_size(c->mpi, &size);
    *out = c;
    if (size != nranks) {
        snprintf(c->last_error, sizeof(c->last_error), "cuemu: %d ranks joined the unique "
                 "id, nranks says %d", size, nranks);
        return ncclInvalidUsage;
    }
    ncclResult_t r = check_devices(c);
    if (r != ncclSuccess)
        return r;
    if (!c->blocking) {
        c->init_polls = 2;
        return ncclInProgress;
    }
    return ncclSuccess;
}

ncclResult_t ncclCommGetAsyncError(ncclComm_t c, ncclResult_t *async)
{
    if (!c || !async)
        return ncclInvalidArgument;
    if (c->init_polls > 0) {
        c->init_polls--;
        *async = ncclInProgress;
    } else {
        *async = c->aborted ? ncclInvalidUsage : ncclSuccess;
    }
    return ncclSuccess;
}

static int comm_pending(void *ctx)
{
    ncclComm_t c = ctx;
    if (c->n_req == 0 || c->aborted)
        return 0;
    int done = 0;
    MPI_Testall(c->n_req, c->req, &done, MPI_STATUSES_IGNORE);
    if (!done)
        return 1;
    c->n_req = 0;
    cuemu_host_access_end(c->open_p, 0);
    return 0;
}

static ncclResult_t usable(ncclComm_t c, cudaStream_t stream)
{
    if (!c || c->aborted)
        return ncclInvalidArgument;
    if (c->init_polls > 0) {
        snprintf(c->last_error, sizeof(c->last_error), "cuemu: communicator used before its "
                 "non-blocking initialization completed");
        return ncclInvalidUsage;
    }
    if (c->n_req > 0 && !g_group.open) {
        snprintf(c->last_error, sizeof(c->last_error), "cuemu: a collective was issued while "
                 "the previous one is still pending (cuemu supports one at a time)");
        return ncclInvalidUsage;
    }
    (void)stream;
    return ncclSuccess;
}

static ncclResult_t start(ncclComm_t c, cudaStream_t stream)
{
    cuemu_stream_set_pending(stream, comm_pending, c);
    return c->blocking ? ncclSuccess : ncclInProgress;
}

static void open_for(ncclComm_t c, const void *p, size_t bytes)
{
    if (c->n_req == 0) {
        cuemu_host_access_begin(p, bytes);
        c->open_p = p;
    }
}

ncclResult_t ncclAllReduce(const void *send, void *recv, size_t count, ncclDataType_t type,
                           ncclRedOp_t op, ncclComm_t c, cudaStream_t stream)
{
    ncclResult_t r = usable(c, stream);
    if (r != ncclSuccess)
        return r;
    if (type != ncclFloat || op != ncclSum || count > INT32_MAX || g_group.open)
        return ncclInvalidArgument;   /* not implemented in cuemu */
    if (!cuemu_is_device_pointer(recv) || (count && !cuemu_is_device_pointer((const float *)recv + count - 1)) ||
        !cuemu_is_device_pointer(send)) {
        snprintf(c->last_error, sizeof(c->last_error), "cuemu: ncclAllReduce buffer is not "
                 "device memory (or not all of it)");
        return ncclInvalidArgument;
    }
    open_for(c, recv, count * sizeof(float));
    MPI_Iallreduce(send == recv ? MPI_IN_PLACE : send, recv, (int)count, MPI_FLOAT, MPI_SUM,
                   c->mpi, &c->req[c->n_req++]);
    return start(c, stream);
}

ncclResult_t ncclAllGather(const void *send, void *recv, size_t count, ncclDataType_t type,
                           ncclComm_t c, cudaStream_t stream)
{
    ncclResult_t r = usable(c, stream);
    if (r != ncclSuccess)
        return r;
    if (type != ncclFloat || count * (size_t)c->nranks > INT32_MAX || g_group.open)
        return ncclInvalidArgument;   /* not implemented in cuemu */
    size_t all = count * (size_t)c->nranks;
    if (!cuemu_is_device_pointer(send) || !cuemu_is_device_pointer(recv) ||
        (count && (!cuemu_is_device_pointer((const float *)send + count - 1) ||
                   !cuemu_is_device_pointer((const float *)recv + all - 1)))) {
        snprintf(c->last_error, sizeof(c->last_error), "cuemu: ncclAllGather buffer is not "
                 "device memory (or not all of it)");
        return ncclInvalidArgument;
    }
    open_for(c, recv, all * sizeof(float));
    int in_place = send == (const float *)recv + count * (size_t)c->rank;
    MPI_Iallgather(in_place ? MPI_IN_PLACE : send, (int)count, MPI_FLOAT, recv, (int)count,
                   MPI_FLOAT, c->mpi, &c->req[c->n_req++]);
    return start(c, stream);
}

static ncclResult_t bcast_now(const void *send, void *recv, size_t count, int root,
                              ncclComm_t c, cudaStream_t stream)
{
    if (c->n_req >= MAX_PENDING)
        return ncclInternalError;
    open_for(c, recv, count * sizeof(float));
    if (c->rank == root && send != recv)
        memcpy(recv, send, count * sizeof(float));
    MPI_Ibcast(recv, (int)count, MPI_FLOAT, root, c->mpi, &c->req[c->n_req++]);
    return start(c, stream);
}

ncclResult_t ncclBroadcast(const void *send, void *recv, size_t count, ncclDataType_t type,
                           int root, ncclComm_t c, cudaStream_t stream)
{
    ncclResult_t r = usable(c, stream);
    if (r != ncclSuccess)
        return r;
    if (type != ncclFloat || count > INT32_MAX || root < 0 || root >= c->nranks)
        return ncclInvalidArgument;
    if (!cuemu_is_device_pointer(recv) || (c->rank == root && !cuemu_is_device_pointer(send))) {
        snprintf(c->last_error, sizeof(c->last_error), "cuemu: ncclBroadcast buffer is not "
                 "device memory");
        return ncclInvalidArgument;
    }
    if (!g_group.open)
        return bcast_now(send, recv, count, root, c, stream);
    if (g_group.n >= MAX_PENDING)
        return ncclInternalError;
    g_group.op[g_group.n].is_bcast = 1;
    g_group.op[g_group.n].send = send;
    g_group.op[g_group.n].recv = recv;
    g_group.op[g_group.n].count = count;
    g_group.op[g_group.n].root = root;
    g_group.op[g_group.n].comm = c;
    g_group.op[g_group.n].stream = stream;
    g_group.n++;
    return ncclSuccess;
}

ncclResult_t ncclGroupStart(void)
{
    if (g_group.open++ == 0)
        g_group.n = 0;
    return ncclSuccess;
}

ncclResult_t ncclGroupEnd(void)
{
    if (g_group.open <= 0)
        return ncclInvalidUsage;
    if (--g_group.open > 0)
        return ncclSuccess;
    ncclResult_t r = ncclSuccess;
    for (int i = 0; i < g_group.n; i++) {
        ncclComm_t c = g_group.op[i].comm;
        r = bcast_now(g_group.op[i].send, g_group.op[i].recv, g_group.op[i].count,
                      g_group.op[i].root, c, g_group.op[i].stream);
        if (r != ncclSuccess && r != ncclInProgress)
            return r;
    }
    g_group.n = 0;
    return r;
}

ncclResult_t ncclCommFinalize(ncclComm_t c)
{
    if (!c)
        return ncclInvalidArgument;
    while (comm_pending(c))
        ;
    return c->blocking ? ncclSuccess : ncclInProgress;
}

ncclResult_t ncclCommDestroy(ncclComm_t c)
{
    if (!c)
        return ncclInvalidArgument;
    if (c->n_req > 0)
        return ncclInvalidUsage;
    MPI_Comm_free(&c->mpi);
    free(c);
    return ncclSuccess;
}

ncclResult_t ncclCommAbort(ncclComm_t c)
{
    if (!c)
        return ncclInvalidArgument;
    c->aborted = 1;   /* pending MPI requests are abandoned with the process */
    return ncclSuccess;
}
