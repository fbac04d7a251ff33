/* partition/dataset.h — getting each rank its share of the data (the whole interface of
 * partition/ that the trainer uses).
 *
 * Ids. Raw ids are the tokens of the input (integers or any strings: partition/rawid.h).
 * They map to dense global ids: raw ids of the TRAINING split in their total order
 * (integers by value, then strings by bytes), then (by default) permuted by a permutation
 * seeded by the seed, so the map is the same for any rank count P. Users and items are
 * mapped separately. Each rank keeps the raw ids (text) of the global ids it owns only.
 *
 * Ownership. Global id g is owned by rank g mod P, at local index g div P
 * (partition_owner / partition_local / partition_global below).
 *
 * Split. With a single --data source a rating (u, i) goes to the test split when
 * hash(seed, raw u, raw i) < test_ratio: the same split for any P. With --train/--test
 * the files are the split. Every observed (user, item) pair becomes a 1, duplicates count
 * once; --min-rating drops ratings below it before anything else.
 *
 * Test rows whose user is not in the training split are dropped and counted (such users
 * are never scored); test rows whose item is not in the training split are counted and
 * count in test_count but are not in Tu (they can never be recommended, yet they are
 * relevant). Test rows none of whose users is known to training are an error.
 *
 * Features. --user-features / --item-features (partition/features.h) are read by every rank
 * from its byte range, their ids interned with the ratings' (so the maps number them, as
 * test-only ids when they are not in training), and each rank gets the dense rows of its
 * own users and items in user_features / item_features (row r: global id r·P + rank).
 *
 * Errors in the input (malformed line, non-numeric id, empty file, missing header, ...)
 * are reported ONCE, by one rank, as one line "bivae-dist: error: FILE:LINE: reason";
 * dataset_load then returns BIVAE_EXIT_USAGE on EVERY rank (no rank hangs). */
#ifndef BIVAE_PARTITION_DATASET_H
#define BIVAE_PARTITION_DATASET_H

#include <stdint.h>

#include "comm/comm.h"
#include "partition/features.h"
#include "partition/idmap.h"

typedef enum {
    DATA_FORMAT_AUTO = 0,   /* by file name, then by content */
    DATA_FORMAT_ML100K,     /* u.data: user \t item \t rating \t timestamp */
    DATA_FORMAT_ML1M,       /* ratings.dat: user::item::rating::timestamp (also 10M) */
    DATA_FORMAT_ML20M,      /* ratings.csv, header userId,movieId,rating,timestamp (also 25M) */
    DATA_FORMAT_CSV,        /* user,item[,rating[,...]]; an optional header line */
    DATA_FORMAT_TSV         /* user \t item [\t rating [\t ...]]; an optional header line */
} data_format;

typedef struct data_options {
    const char *data_path;      /* --data FILE: all ratings, split by hash */
    const char *train_path;     /* --train FILE */
    const char *test_path;      /* --test FILE */
    const char *synthetic;      /* --synthetic ml-100k|ml-1m|ml-20m|UxIxNNZ */
    data_format format;         /* --format */
    double test_ratio;          /* --test-ratio, default 0.25 */
    int has_min_rating;         /* --min-rating given */
    double min_rating;          /* --min-rating R: keep ratings >= R */
    uint64_t seed;              /* --seed: split hash, id permutation, synthetic data */
    int permute_ids;            /* 1 (default): seeded permutation; 0: sorted raw-id order */
    const char *sep;            /* --sep: field separator of csv/tsv/auto files (NULL: theirs) */
    const char *columns;        /* --columns user=C,item=C[,rating=C] (C: header name or 1-based) */
    int header;                 /* DATA_HEADER_*: is line 1 a header? */
    const char *user_features;  /* --user-features FILE (partition/features.h) */
    const char *item_features;  /* --item-features FILE */
    feature_format features_format;     /* --features-format: of both files (AUTO: each told) */
    missing_features missing_features;  /* --missing-features zero|error */
    int synthetic_features;     /* --synthetic-features D: D features per side (0: none) */
    double cold_users;          /* --cold-users F: hash(seed, raw u) < F -> every rating of u
                                 * is a test rating (0: none); see split_is_cold_user */
} data_options;

typedef enum {
    DATA_HEADER_AUTO = 0,       /* csv/tsv: when it names known columns (user, item, rating...) */
    DATA_HEADER_YES = 1,        /* --header: line 1 is a header, skipped */
    DATA_HEADER_NO = 2          /* --no-header: line 1 is data */
} data_header;

/* A binary (0/1) CSR matrix in host memory: row r has ones at columns
 * col[rowptr[r] .. rowptr[r+1]), sorted ascending and unique. */
typedef struct csr_matrix {
    int64_t nrows, ncols;
    int64_t *rowptr;            /* [nrows + 1], rowptr[0] == 0 */
    int32_t *col;               /* [rowptr[nrows]] */
} csr_matrix;

typedef struct dataset {
    int rank, nranks;
    int64_t n_users, n_items;   /* global counts (training split) */
    id_table user_ids;          /* [n_local_users]  raw ids of own users (global id g at g div P) */
    id_table item_ids;          /* [n_local_items]  raw ids of own items */
    int64_t n_local_users;      /* users owned by this rank */
    int64_t n_local_items;      /* items owned by this rank */
    csr_matrix Ru;              /* [n_local_users × n_items]  training rows of own users */
    csr_matrix Ri;              /* [n_local_items × n_users]  training rows of own items (Rᵀ) */
    csr_matrix Tu;              /* [n_local_users × n_items]  test items known to training */
    int32_t *test_count;        /* [n_local_users]  all test items of the user (known or not) */
    int64_t nnz_train;          /* global number of training ones */
    int64_t nnz_test;           /* global number of test (user, item) pairs kept (user known) */
    int64_t n_test_users;       /* global number of users with >= 1 test row */
    int64_t test_unknown_user;  /* global number of test rows dropped: user not in training */
    int64_t test_unknown_item;  /* of nnz_test, the pairs whose item is not in training */
    int64_t below_min_rating;   /* global number of ratings dropped by --min-rating */
    int64_t idmap_bytes;        /* id maps kept after loading, per rank (max over ranks) */
    int64_t idmap_peak_bytes;   /* most memory the id-map build held at once (max over ranks) */
    char source[256];           /* human description, e.g. "synthetic ml-100k (seed 42)" */
    feature_block user_features;   /* [n_local_users × n_features] (n_features 0: none) */
    feature_block item_features;   /* [n_local_items × n_features] */
    char user_features_source[192];  /* "u.user (ml-100k-user)" */
    char item_features_source[192];
} dataset;

/* Loads, splits, maps and distributes the data over the ranks of c (collective: every rank
 * calls it). Returns 0, or BIVAE_EXIT_USAGE after one rank printed the error line. */
int dataset_load(const data_options *opt, comm *c, dataset *d);
void dataset_free(dataset *d);

/* ---- ownership (cyclic) --------------------------------------------------------------- */
static inline int partition_owner(int64_t g, int P) { return (int)(g % P); }
static inline int64_t partition_local(int64_t g, int P) { return g / P; }
static inline int64_t partition_global(int64_t local, int rank, int P)
{
    return local * P + rank;
}
/* Number of ids g in [0, n) owned by rank. */
static inline int64_t partition_owned_count(int64_t n, int rank, int P)
{
    return n > rank ? (n - rank + P - 1) / P : 0;
}
/* First local index of rank whose global id is >= g: the owned ids of a global range
 * [g0, g1) are the local range [partition_local_begin(g0), partition_local_begin(g1)). */
static inline int64_t partition_local_begin(int64_t g, int rank, int P)
{
    return g > rank ? (g - rank + P - 1) / P : 0;
}

#endif
