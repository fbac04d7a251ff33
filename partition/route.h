/* partition/route.h — sending records to the ranks that own them (one all-to-all). */
#ifndef BIVAE_PARTITION_ROUTE_H
#define BIVAE_PARTITION_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "comm/comm.h"

/* A training one in global ids; routed by `row` (the first field). */
typedef struct gpair { int32_t row, col; } gpair;

/* A test row: global user (routing key), item number: its global id when the item is in
 * the training split (< n_items), else its test-only number (>= n_items, partition/idmap.h). */
typedef struct test_row { int32_t user, item; } test_row;

/* Collective. Records v[n] of elem_size bytes whose first 4 bytes are an int32 global id
 * g go to rank g mod P. Takes v (malloc'd: freed, or returned as is when P == 1). Returns
 * the records this rank received (malloc'd, in source-rank order), their number in
 * *n_recv. */
void *route_by_owner(comm *c, void *v, size_t n, size_t elem_size, size_t *n_recv);

#endif
