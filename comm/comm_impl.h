/* comm/comm_impl.h — private to comm/: the struct behind comm.h and the data-plane
 * operations each implementation (MPI, NCCL) fills in. */
#ifndef BIVAE_COMM_IMPL_H
#define BIVAE_COMM_IMPL_H

#include <mpi.h>

#include "comm/comm.h"

typedef struct comm_ops {
    void (*allreduce_sum_f32)(comm *c, float *buf, size_t n);
    void (*allgatherv_f32)(comm *c, const float *send, size_t n_send, float *recv,
                           const size_t *counts, const size_t *displs);
    void (*destroy)(comm *c);
} comm_ops;

struct comm {
    const comm_ops *ops;
    const char *name;
    comm_mem mem;
    int rank, size, local_rank, local_size;
    MPI_Comm world;      /* control plane (a duplicate of MPI_COMM_WORLD) */
    MPI_Comm node;       /* ranks sharing this node */
    comm_stats stats;
    double timeout;      /* seconds a collective may take before the job is failed; <= 0: none */
    void *watch;         /* the watchdog's state (comm_mpi.c), NULL until a timeout is set */
    void *impl;          /* implementation state */
};

/* Fails the job with "<op> failed on rank R: <MPI message>" when rc is not MPI_SUCCESS. */
void comm_mpi_check(const comm *c, int rc, const char *op, const char *file, int line);
#define MPI_CHECK(c, call, op) comm_mpi_check((c), (call), (op), __FILE__, __LINE__)

/* The collective watchdog: between comm_watch_enter and comm_watch_leave a thread started
 * by comm_set_timeout checks the time; a collective that takes longer than c->timeout
 * seconds ends the process with one line naming the op and the rank (mpirun then ends the
 * job), so a stalled or dead rank never hangs the others. The collectives themselves stay
 * the blocking MPI calls (their non-blocking forms are up to 2x slower in Open MPI). */
void comm_watch_enter(comm *c, const char *op);
void comm_watch_leave(comm *c);

/* A blocking MPI collective under the watchdog. */
#define MPI_COLLECTIVE(c, call, op)                                                          \
    do {                                                                                     \
        comm_watch_enter((c), (op));                                                         \
        comm_mpi_check((c), (call), (op), __FILE__, __LINE__);                               \
        comm_watch_leave(c);                                                                 \
    } while (0)

/* Fills rank/size/local fields and the duplicated communicators. */
void comm_init_common(comm *c);

#endif
