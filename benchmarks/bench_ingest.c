/* benchmarks/bench_ingest.c — wall time of dataset_load (the whole ingest: read or
 * generate, split, id maps, routing, CSR), per rank count.
 *
 *   mpirun -np P bench_ingest (--synthetic PRESET | --data FILE) [--sep S] [--seed S]
 *                             [--repeat N]
 * Prints, on rank 0, one line per repeat: seconds (max over ranks), the dataset's shape,
 * the id maps' memory per rank (kept, and the most held while building them) and this
 * process's peak resident memory. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "comm/comm.h"
#include "partition/dataset.h"

static double peak_rss_mb(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return (double)ru.ru_maxrss / 1024.0;                  /* ru_maxrss is in KiB on Linux */
}

static int bench_once(comm *c, const data_options *opt, int rep)
{
    dataset d;
    comm_barrier(c);
    double t0 = MPI_Wtime();
    int rc = dataset_load(opt, c, &d);
    double dt = MPI_Wtime() - t0, max_dt = dt;
    MPI_Allreduce(&dt, &max_dt, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    if (rc != 0)
        return rc;
    if (comm_rank(c) == 0)
        printf("ingest %s ranks %d repeat %d: %.3f s  users %lld items %lld train %lld test %lld  "
               "id maps %.2f MB kept / %.2f MB building (per rank)  peak rss (rank 0) %.0f MB\n",
               d.source, comm_size(c), rep, max_dt, (long long)d.n_users, (long long)d.n_items,
               (long long)d.nnz_train, (long long)d.nnz_test, (double)d.idmap_bytes / 1e6,
               (double)d.idmap_peak_bytes / 1e6, peak_rss_mb());
    dataset_free(&d);
    return 0;
}

int main(int argc, char **argv)
{
    data_options opt = {0};
    opt.test_ratio = 0.25;
    opt.seed = 42;
    opt.permute_ids = 1;
    int repeat = 1;
    for (int k = 1; k + 1 < argc; k += 2) {
        if (!strcmp(argv[k], "--synthetic")) opt.synthetic = argv[k + 1];
        else if (!strcmp(argv[k], "--data")) opt.data_path = argv[k + 1];
        else if (!strcmp(argv[k], "--sep")) opt.sep = argv[k + 1];
        else if (!strcmp(argv[k], "--seed")) opt.seed = strtoull(argv[k + 1], NULL, 10);
        else if (!strcmp(argv[k], "--repeat")) repeat = atoi(argv[k + 1]);
        else {
            fprintf(stderr, "bench_ingest: unknown argument %s\n", argv[k]);
            return 2;
        }
    }
    if (!opt.synthetic && !opt.data_path)
        opt.synthetic = "ml-1m";
    MPI_Init(&argc, &argv);
    comm *c = comm_mpi_create();
    int rc = 0;
    for (int r = 0; r < repeat && rc == 0; r++)
        rc = bench_once(c, &opt, r);
    comm_destroy(c);
    MPI_Finalize();
    return rc;
}
