/* tests/fuzz/fuzz_dataset.c — libFuzzer harness for the whole single-rank ingest:
 * reader, --min-rating, the hash split, id maps, routing and the CSR matrices.
 *
 * Input: byte 0 picks the format and the split options; the rest is the file. On success
 * the dataset's invariants are checked: Ru and Ri are transposes of each other, columns
 * sorted and unique, ids within range, counts consistent. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "partition/dataset.h"

static comm *world;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    MPI_Init(argc, argv);
    world = comm_mpi_create();
    return 0;
}

static void check_csr(const csr_matrix *m, int64_t nrows, int64_t ncols)
{
    if (m->nrows != nrows || m->ncols != ncols || m->rowptr[0] != 0)
        __builtin_trap();
    for (int64_t r = 0; r < nrows; r++)
        for (int64_t j = m->rowptr[r]; j < m->rowptr[r + 1]; j++)
            if (m->col[j] < 0 || m->col[j] >= ncols || (j > m->rowptr[r] && m->col[j] <= m->col[j - 1]))
                __builtin_trap();
}

/* Ri must be the transpose of Ru (one rank: local = global). */
static void check_transpose(const dataset *d)
{
    int64_t *cnt = calloc((size_t)d->n_items + 1, sizeof(int64_t));
    for (int64_t u = 0; u < d->n_users; u++)
        for (int64_t j = d->Ru.rowptr[u]; j < d->Ru.rowptr[u + 1]; j++) {
            int32_t i = d->Ru.col[j];
            int64_t lo = d->Ri.rowptr[i], hi = d->Ri.rowptr[i + 1], found = 0;
            for (int64_t k = lo; k < hi; k++)
                found |= d->Ri.col[k] == u;
            if (!found)
                __builtin_trap();
            cnt[i]++;
        }
    for (int64_t i = 0; i < d->n_items; i++)
        if (cnt[i] != d->Ri.rowptr[i + 1] - d->Ri.rowptr[i] || cnt[i] == 0)
            __builtin_trap();
    free(cnt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char path[] = "/tmp/fuzz_dataset_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 0;
    if (size > 1 && write(fd, data + 1, size - 1) != (ssize_t)(size - 1)) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);
    data_options o = {0};
    o.data_path = path;
    o.format = (data_format)(data[0] % 6);
    o.test_ratio = (data[0] >> 3 & 3) * 0.25;
    o.has_min_rating = data[0] >> 5 & 1;
    o.min_rating = 3.0;
    o.seed = data[0];
    o.permute_ids = data[0] >> 6 & 1;
    dataset d;
    if (dataset_load(&o, world, &d) == 0) {
        check_csr(&d.Ru, d.n_local_users, d.n_items);
        check_csr(&d.Ri, d.n_local_items, d.n_users);
        check_csr(&d.Tu, d.n_local_users, d.n_items);
        check_transpose(&d);
        for (int64_t u = 0; u < d.n_local_users; u++)
            if (d.test_count[u] < d.Tu.rowptr[u + 1] - d.Tu.rowptr[u])
                __builtin_trap();
        dataset_free(&d);
    }
    unlink(path);
    return 0;
}
