/* comm/comm_staged.c — the MPI communicator for device buffers (see comm.h): each data-plane
 * op stages through a grow-only host buffer with the caller's copy functions. The control
 * plane is comm_mpi.c's, on the same duplicated MPI_COMM_WORLD. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm_impl.h"
#include "common/check.h"

/* MPI counts are int: big buffers move in slices of at most this many elements. */
#define STAGED_MAX_SLICE ((size_t)1 << 28)

typedef struct staged_state {
    comm_copy_fn to_host, to_device;
    void *ctx;
    float *host;       /* [cap] staging for allreduce and the allgather's receive side */
    size_t cap;
    float *host_send;  /* [send_cap] staging for the allgather's send side */
    size_t send_cap;
} staged_state;

static staged_state *staged_st(comm *c) { return (staged_state *)c->impl; }

/* >= n floats of *buf (capacity *cap), contents not kept. */
static float *staging(float **buf, size_t *cap, size_t n)
{
    if (*cap < n) {
        free(*buf);
        *buf = xmalloc((n ? n : 1) * sizeof(float));
        *cap = n;
    }
    return *buf;
}

static void staged_allreduce_sum_f32(comm *c, float *buf, size_t n)
{
    staged_state *st = staged_st(c);
    if (n == 0)
        return;
    float *h = staging(&st->host, &st->cap, n);          /* [n] */
    st->to_host(st->ctx, h, buf, n * sizeof(float));
    for (size_t off = 0; off < n; off += STAGED_MAX_SLICE) {
        size_t len = n - off < STAGED_MAX_SLICE ? n - off : STAGED_MAX_SLICE;
        MPI_COLLECTIVE(c, MPI_Allreduce(MPI_IN_PLACE, h + off, (int)len, MPI_FLOAT, MPI_SUM,
                                        c->world), "MPI_Allreduce(sum, float, staged)");
    }
    st->to_device(st->ctx, buf, h, n * sizeof(float));
}

static int int_count(size_t v, const char *what)
{
    if (v > INT_MAX)
        FAIL_RUNTIME("MPI_Allgatherv (staged): %s %zu exceeds MPI's int counts", what, v);
    return (int)v;
}

/* Copies recv's rank blocks back to the device, merging blocks that touch. */
static void staged_blocks_to_device(comm *c, float *recv, const float *h, const size_t *counts,
                                    const size_t *displs)
{
    staged_state *st = staged_st(c);
    int r = 0;
    while (r < c->size) {
        size_t start = displs[r], end = displs[r] + counts[r];
        int q = r + 1;
        while (q < c->size && displs[q] == end) {
            end += counts[q];
            q++;
        }
        if (end > start)
            st->to_device(st->ctx, recv + start, h + start, (end - start) * sizeof(float));
        r = q;
    }
}

static void staged_allgatherv_f32(comm *c, const float *send, size_t n_send, float *recv,
                                  const size_t *counts, const size_t *displs)
{
    staged_state *st = staged_st(c);
    int P = c->size;
    if (counts[c->rank] != n_send)
        FAIL_RUNTIME("allgatherv (staged): rank %d sends %zu floats but counts[%d] = %zu",
                     c->rank, n_send, c->rank, counts[c->rank]);
    size_t extent = 0;                                    /* floats of recv that are written */
    int *icounts = xmalloc(sizeof(int) * (size_t)P), *idispls = xmalloc(sizeof(int) * (size_t)P);
    for (int r = 0; r < P; r++) {
        icounts[r] = int_count(counts[r], "count");
        idispls[r] = int_count(displs[r], "displacement");
        if (displs[r] + counts[r] > extent)
            extent = displs[r] + counts[r];
    }
    float *hs = staging(&st->host_send, &st->send_cap, n_send);   /* [n_send] */
    float *hr = staging(&st->host, &st->cap, extent);             /* [extent] */
    if (n_send)
        st->to_host(st->ctx, hs, send, n_send * sizeof(float));
    MPI_COLLECTIVE(c, MPI_Allgatherv(hs, (int)n_send, MPI_FLOAT, hr, icounts, idispls, MPI_FLOAT,
                                     c->world), "MPI_Allgatherv(float, staged)");
    staged_blocks_to_device(c, recv, hr, counts, displs);
    free(icounts);
    free(idispls);
}

static void staged_destroy(comm *c)
{
    staged_state *st = staged_st(c);
    if (!st)
        return;
    free(st->host);
    free(st->host_send);
    free(st);
    c->impl = NULL;
}

static const comm_ops staged_ops = {staged_allreduce_sum_f32, staged_allgatherv_f32,
                                    staged_destroy};

comm *comm_mpi_create_staged(comm_copy_fn to_host, comm_copy_fn to_device, void *ctx)
{
    if (!to_host || !to_device)
        FAIL_RUNTIME("comm_mpi_create_staged: both copy functions are required");
    comm *c = xcalloc(1, sizeof(comm));
    staged_state *st = xcalloc(1, sizeof(staged_state));
    st->to_host = to_host;
    st->to_device = to_device;
    st->ctx = ctx;
    c->ops = &staged_ops;
    c->name = "mpi-staged";
    c->mem = COMM_MEM_DEVICE;
    c->impl = st;
    comm_init_common(c);
    return c;
}
