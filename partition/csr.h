/* partition/csr.h — building this rank's binary CSR matrices from routed records. */
#ifndef BIVAE_PARTITION_CSR_H
#define BIVAE_PARTITION_CSR_H

#include <stddef.h>

#include "partition/dataset.h"
#include "partition/idmap.h"
#include "partition/route.h"

/* m [nrows x ncols] from pairs v[n] whose rows this rank owns (local row = row div P):
 * each row's columns sorted ascending, duplicates once. nrows may be 0. Takes v (frees). */
void part_csr_build(gpair *v, size_t n, int64_t nrows, int64_t ncols, int P, csr_matrix *m);

/* m's ones as pairs (column, global row) — records of the transpose; count in *n_out. */
gpair *part_csr_transpose(const csr_matrix *m, int rank, int P, size_t *n_out);

/* Tu [nrows x n_items] and count[nrows] from the test rows v[n] of this rank's users:
 * count = distinct items of the user (known to training or not: item numbers >= n_items
 * are test-only items); Tu = the known ones. Returns the number of (user, test-only item)
 * pairs. */
int64_t part_csr_build_test(const test_row *v, size_t n, int64_t nrows, int64_t n_items, int P,
                            csr_matrix *Tu, int32_t *count);

void part_csr_free(csr_matrix *m);

#endif
