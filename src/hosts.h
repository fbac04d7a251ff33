/* src/hosts.h — which hosts (nodes) a run's ranks are on, for the log and the metrics,
 * and the GPU a rank takes on its node.
 *
 * A node is what comm_local_rank/comm_local_size count: the ranks that share memory
 * (MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)), i.e. the ranks Open MPI's daemon on that
 * host started. The host's name is its hostname (what MPI_Get_processor_name gives). */
#ifndef BIVAE_HOSTS_H
#define BIVAE_HOSTS_H

#include <stddef.h>

#include "comm/comm.h"

#define HOSTS_NAME_LEN 64

typedef struct run_hosts {
    int n_hosts;            /* nodes: ranks with node-local rank 0 */
    int *ranks_per_host;    /* [n_hosts] ranks on each node, in order of the node's lowest rank */
    int uniform;            /* every node runs the same number of ranks */
    char *summary;          /* "bivae-h1: ranks 0,1 (local 0,1); bivae-h2: ..." (malloc'd) */
} run_hosts;

/* Collective: the hosts of c's ranks. */
void hosts_gather(comm *c, run_hosts *h);
void hosts_free(run_hosts *h);

/* Collective. When `failed` is non-zero on some ranks but not all (a host without a shared
 * file), appends to a failing rank's msg[len] " on host H (rank R; N of P ranks read it):
 * every host needs <what> at the same path". Changes nothing otherwise. */
void hosts_name_partial_failure(comm *c, int failed, const char *what, char *msg,
                                size_t len);

/* "4 on 2 hosts (2 per host)", "3 on 2 hosts (2, 1 per host)", "4 on 1 host" */
void hosts_describe(const run_hosts *h, int n_ranks, char *buf, size_t len);

/* The CUDA device index of this rank among n_gpus visible ones: its node-local rank mod
 * n_gpus (never the global rank: rank 2 is local rank 0 on the second host). */
int hosts_gpu_index(const comm *c, int n_gpus);

/* Test hook, for the multi-host tests (tests/multinode/): with BIVAE_TEST_REPORT_GPU_INDEX=N
 * (N >= 1, the GPUs a node would show) in the environment, every rank prints
 * "bivae-dist: test hook: rank R host H local rank L of S: GPU index I of N" on stderr,
 * where I = hosts_gpu_index(c, N), and returns 1; the run then goes on on the CPU.
 * Returns 0 when the variable is unset, -1 with the reason in err[len] when it is not a
 * count. */
int hosts_test_report_gpu_index(const comm *c, char *err, size_t len);

#endif
