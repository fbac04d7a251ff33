/* src/app.h — the commands of the bivae-dist binary (cli.md), run after MPI_Init.
 * Each returns the process exit status (0, 2 bad usage/input, 3 runtime failure) and is
 * collective: every rank returns the same status. */
#ifndef BIVAE_APP_H
#define BIVAE_APP_H

#include "comm/comm.h"
#include "src/config.h"

int app_train(const bivae_config *cfg, comm *c);
int app_gen(const bivae_config *cfg, comm *c);
/* eval / recommend / export --model CKPT (src/app_model.c) */
int app_eval(const bivae_config *cfg, comm *c);
int app_recommend(const bivae_config *cfg, comm *c);
int app_export(const bivae_config *cfg, comm *c);

/* CPU threads per rank: --threads, or (0) the cores this rank may run on, shared among the
 * ranks of its node when they are not bound to separate cores. (app_train refuses a
 * --threads above app_allowed_cores on any rank: exit 2 on every rank.) */
int app_resolve_threads(int requested, int local_size);
/* Collective: the build of the CPU kernels each rank runs (kernels.h kern_cpu_isa) written
 * to out: "x86-64-v4", or "x86-64-v3 to x86-64-v4 (by rank)" where ranks differ (their
 * results do not). A usage error (one line, every rank) where any rank's BIVAE_CPU_ISA
 * cannot be had. */
int app_check_cpu_isa(comm *c, char *out, size_t out_len);

/* The cores this rank may run on (its CPU affinity mask; the online CPUs when it cannot be
 * read); *online (may be NULL): the online CPUs of the node. */
int app_allowed_cores(int *online);

#endif
