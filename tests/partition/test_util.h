/* tests/partition/test_util.h — helpers shared by the partition unit tests: a temporary
 * directory for the files the tests write, stderr capture, one-rank dataset loading. */
#ifndef BIVAE_TESTS_PARTITION_UTIL_H
#define BIVAE_TESTS_PARTITION_UTIL_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "comm/comm.h"
#include "partition/dataset.h"

extern comm *test_comm;         /* MPI_COMM_WORLD of the test process (one rank) */

/* Creates / removes (with its files) the temporary directory; cmocka group fixtures. */
int test_tmpdir_setup(void **state);
int test_tmpdir_teardown(void **state);

/* Writes bytes[n] to <tmpdir>/name; returns the path (static storage, 8 slots reused). */
const char *test_write(const char *name, const char *bytes, size_t n);
#define test_write_str(name, s) test_write((name), (s), strlen(s))
const char *test_path(const char *name);

/* Output of fn(arg) on stderr (malloc'd, NUL-terminated); fn's result in *rc. */
char *test_capture_stderr(int (*fn)(void *), void *arg, int *rc);

/* Options for a one-file load: no test split, sorted ids, seed 42. */
data_options test_options(const char *path, data_format fmt);

/* dataset_load with stderr captured: returns the exit code, *err the text (malloc'd). */
int test_load(const data_options *opt, dataset *d, char **err);

/* Number of lines of s that start with "bivae-dist: error: ". */
int test_count_error_lines(const char *s);

/* 1 when two id tables hold the same ids in the same order. */
int id_tables_equal(const id_table *a, const id_table *b);

/* The raw ids of a one-rank dataset's id table, all integers, as int64 (malloc'd). */
int64_t *test_ids(const id_table *t);

/* 1 when m (of a one-rank dataset) has a one at (raw_row, raw_col); row_raw / col_raw map
 * its global rows / columns to raw ids. */
int test_has_one(const csr_matrix *m, const int64_t *row_raw, const int64_t *col_raw,
                 int64_t raw_row, int64_t raw_col);

/* MPI init, a comm, the cmocka group with the tmpdir fixtures, MPI finalize. */
#define TEST_MAIN(tests)                                                                  \
    int main(void)                                                                        \
    {                                                                                     \
        MPI_Init(NULL, NULL);                                                             \
        test_comm = comm_mpi_create();                                                    \
        int rc_ = cmocka_run_group_tests(tests, test_tmpdir_setup, test_tmpdir_teardown); \
        comm_destroy(test_comm);                                                          \
        MPI_Finalize();                                                                   \
        return rc_;                                                                       \
    }

#endif
