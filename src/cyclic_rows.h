/* src/cyclic_rows.h — a row-major table [n_rows × width] whose row g lives on rank g mod P
 * as local row g div P (the ownership of partition/dataset.h), to and from global order.
 * Used for θ̃ / β̃ / μ tables and for a sharded first encoder layer. */
#ifndef BIVAE_CYCLIC_ROWS_H
#define BIVAE_CYCLIC_ROWS_H

#include <stdint.h>

#include "comm/comm.h"
#include "kernels/kernels.h"

/* Every rank's own rows local [n_own × width] into dst [n_rows × width], global order, on
 * every rank (collective); staging [n_rows × width] receives the rank-blocked all-gather.
 * All buffers in backend memory. One rank copies local into dst (no collective). */
void cyclic_rows_allgather(kern *k, comm *c, const float *local, int64_t n_rows,
                           int64_t width, float *staging, float *dst);

/* Elements [offset, offset + n) of the table in global order (host memory; a chunk may
 * start and end inside a row): this rank's rows go into local [n_own × width] (backend). */
void cyclic_rows_scatter(kern *k, float *local, int64_t width, int rank, int P, int64_t offset,
                         const float *data, int64_t n);

#endif
