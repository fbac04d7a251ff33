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
 * ranks of its node when they are not bound to separate cores. */
int app_resolve_threads(int requested, int local_size);

#endif
