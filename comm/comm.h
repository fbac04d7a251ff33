/* comm/comm.h — collectives behind one interface.
 *
 * comm knows nothing of the model: it moves counts of floats, doubles and bytes.
 * Two planes:
 *   data plane    — comm_allreduce_sum_f32, comm_allgatherv_f32: buffers live in the
 *                   communicator's memory space (host for MPI; device for NCCL), they are
 *                   timed and counted in comm_stats;
 *   control plane — everything else: small host-memory collectives used for agreement
 *                   (error flags, sizes, id maps) and the ingest all-to-all.
 * Every failure of the underlying library is reported with the op, the rank and the
 * library's message, and ends the whole job (exit 3). */
#ifndef BIVAE_COMM_H
#define BIVAE_COMM_H

#include <stddef.h>
#include <stdint.h>

typedef enum { COMM_MEM_HOST = 0, COMM_MEM_DEVICE = 1 } comm_mem;

typedef struct comm_stats {
    double allreduce_seconds, allgather_seconds;   /* wall time inside data-plane calls */
    uint64_t allreduce_bytes, allgather_bytes;     /* payload bytes (per rank, as sent) */
    uint64_t allreduce_calls, allgather_calls;
} comm_stats;

typedef struct comm comm;

/* MPI communicator over MPI_COMM_WORLD (MPI must be initialized). Host buffers. */
comm *comm_mpi_create(void);
void comm_destroy(comm *c);

/* ---- communicators for device buffers ------------------------------------------------ */
/* A copy between host and device memory that is complete when it returns (for instance the
 * compute backend's kern_download / kern_upload); ctx is passed through. comm/ knows no
 * backend: the caller supplies these. */
typedef void (*comm_copy_fn)(void *ctx, void *dst, const void *src, size_t bytes);

/* MPI communicator over MPI_COMM_WORLD for DEVICE buffers: every data-plane op copies the
 * device buffer to a host staging buffer (to_host), runs the MPI collective there and copies
 * the result back (to_device). Slower than NCCL, but works where NCCL cannot: several ranks
 * sharing one GPU, or no NCCL in the build. comm_memory() is COMM_MEM_DEVICE, comm_name()
 * "mpi-staged"; the control plane is the MPI one. */
comm *comm_mpi_create_staged(comm_copy_fn to_host, comm_copy_fn to_device, void *ctx);

/* NCCL communicator over MPI_COMM_WORLD (MPI must be initialized; collective: every rank
 * calls it). Data-plane buffers are device memory on CUDA device `device_ordinal`, an index
 * among the VISIBLE devices (so CUDA_VISIBLE_DEVICES set by a launcher is respected); pass
 * the node-local rank (comm_local_rank of an MPI comm) modulo the visible device count, or
 * a negative ordinal to let this function choose exactly that. The unique id comes from
 * rank 0 by MPI_Bcast; the control plane stays on MPI.
 * compute_stream (a cudaStream_t; NULL: the legacy default stream) is where the caller
 * produces and consumes data-plane buffers. A data-plane call orders its collective after
 * the work queued there and the stream's later work after the collective, by CUDA events,
 * and returns once the collective is enqueued: the host never waits for the device in it
 * (comm_stats' seconds are then the time to enqueue). A watchdog thread ends the job
 * (exit 3) with one line naming the op and the rank, after aborting the NCCL
 * communicator, when NCCL reports an error or a collective (or the initialization) is not
 * complete within timeout_seconds (<= 0: no limit).
 * Returns NULL with the reason in err[err_len] when NCCL cannot be used here (no NCCL in
 * this build, no device on some rank); then every rank returns NULL. */
comm *comm_nccl_create(int device_ordinal, void *compute_stream, double timeout_seconds,
                       char *err, size_t err_len);

const char *comm_name(const comm *c);      /* "mpi", "nccl" */
comm_mem comm_memory(const comm *c);
int comm_rank(const comm *c);
int comm_size(const comm *c);
int comm_local_rank(const comm *c);        /* index among the ranks on this node */
int comm_local_size(const comm *c);

/* ---- data plane (buffers in comm_memory space) ---------------------------------- */
/* buf[n] = Σ over ranks of buf[n], in place (on one rank: nothing to do, nothing counted) */
void comm_allreduce_sum_f32(comm *c, float *buf, size_t n);
/* recv[displs[r] .. displs[r]+counts[r]) = rank r's send[counts[r]], on every rank */
void comm_allgatherv_f32(comm *c, const float *send, size_t n_send, float *recv,
                         const size_t *counts, const size_t *displs);

/* ---- control plane (host memory) ------------------------------------------------ */
void comm_barrier(comm *c);
void comm_bcast(comm *c, void *buf, size_t bytes, int root);
int64_t comm_allreduce_min_i64(comm *c, int64_t x);
int64_t comm_allreduce_max_i64(comm *c, int64_t x);
int64_t comm_allreduce_sum_i64(comm *c, int64_t x);
void comm_allreduce_sum_f64v(comm *c, double *buf, size_t n);
void comm_allreduce_sum_i64v(comm *c, int64_t *buf, size_t n);
/* Σ of x over ranks below this one (0 on rank 0) */
int64_t comm_exscan_sum_i64(comm *c, int64_t x);
/* all[size] = x of every rank */
void comm_allgather_i64(comm *c, int64_t x, int64_t *all);
/* Concatenation of every rank's n_send elements of elem_size bytes, in rank order.
 * Returns a malloc'd buffer (caller frees) and its element count in *n_recv. */
void *comm_allgatherv_bytes(comm *c, const void *send, size_t n_send, size_t elem_size,
                            size_t *n_recv);
/* Personalized exchange: send_counts[r] elements (elem_size bytes each) of `send`, laid
 * out by destination rank, go to rank r. Returns a malloc'd buffer of the elements
 * received, ordered by source rank, and their count in *n_recv; recv_counts[size] (may be
 * NULL) gets the count from each source rank. */
void *comm_alltoallv_bytes(comm *c, const void *send, const size_t *send_counts,
                           size_t elem_size, size_t *n_recv, size_t *recv_counts);

/* A collective that does not complete within `seconds` ends this process (exit 3) with a
 * line naming the operation and the rank — mpirun then ends the job — instead of waiting
 * forever for a stalled or dead rank. A watchdog thread does it, so the collectives stay
 * the fast blocking MPI calls. MPI control plane and data plane; NCCL's data plane takes
 * its timeout at creation. <= 0: wait forever (the default). */
void comm_set_timeout(comm *c, double seconds);

/* Collective: the worst `status` over the ranks (0 when all are 0); when it is not 0 the
 * first failing rank prints its msg as one line "bivae-dist: error: <msg>". For errors
 * that any rank may find (a bad file, a missing device) and that all must agree on. */
int comm_agree(comm *c, int status, const char *msg);

/* Statistics of the data plane since creation or the last reset */
comm_stats comm_get_stats(const comm *c);
void comm_reset_stats(comm *c);

#endif
