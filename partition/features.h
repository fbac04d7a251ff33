/* partition/features.h — user and item feature files (--user-features, --item-features):
 * their formats, and each rank's share of the feature rows.
 *
 * Formats (feature_format; AUTO: by the file's name, a compression suffix removed, then by
 * its line 1):
 *   dense      id<SEP>f1<SEP>...<SEP>fn, SEP "::", tab or comma (told by line 1 as the
 *              ratings reader does); line 1 is a header when a field after the id is not a
 *              number. Every line has the same number of fields as line 1.
 *   sparse     id feat[:value] ... separated by blanks (libsvm-like). A token whose part
 *              after its last ':' is a number is (feat, value), any other token is the
 *              feature feat with value 1. Feature names are tokens (integers or strings);
 *              the features are the distinct names of the whole file in the raw-id order
 *              (integers by value, then strings by bytes), numbered 0, 1, ...
 *   ml-100k-user  u.user   id|age|gender|occupation|zip       -> 30 features
 *   ml-1m-user    users.dat UserID::Gender::Age::Occupation::Zip -> the same 30 features:
 *              7 age groups one-hot (under 18, 18-24, 25-34, 35-44, 45-49, 50-55, 56+: the
 *              groups of ml-1m; ml-100k ages are put in them), gender M, F one-hot, 21
 *              occupations one-hot (ml-100k's names in u.occupation order, ml-1m's codes 0-20)
 *   ml-100k-item  u.item   id|title|release date|video release date|URL|19 genre flags
 *              -> 20 features: the 19 flags (unknown, Action, ..., Western), then the
 *              release year as (year - 1900) / 100 (0 when the date is missing)
 *   ml-1m-item    movies.dat MovieID::Title (Year)::Genre|Genre... (also 10M)
 *   ml-20m-item   movies.csv movieId,title,genres (header; CSV quoting; also 25M)
 *              -> both 19 genres one-hot: Action, Adventure, Animation, Children (1M's
 *              "Children's"), Comedy, Crime, Documentary, Drama, Fantasy, Film-Noir, Horror,
 *              IMAX, Musical, Mystery, Romance, Sci-Fi, Thriller, War, Western;
 *              "(no genres listed)" is a zero row
 *   genome        genome-scores.csv movieId,tagId,relevance (header): dense tag relevance,
 *              one line per (movie, tag); the features are the distinct tag ids, ascending
 * Titles and zip codes are not read (ml-100k and ml-1m are latin-1: no text of theirs is
 * kept). Blank lines are skipped; a UTF-8 BOM and CR line ends are accepted.
 *
 * Ids follow the ratings' rules (partition/rawid.h). Rows are read by every rank from its
 * byte range (partition/reader.h's shares) and routed to the owner of their global id: each
 * rank ends with a dense block of the rows of its own users or items. A global id with no
 * feature row gets a zero row (counted; --missing-features error makes it fatal); rows of
 * ids that are not in the training split are counted and ignored; a second row of one id
 * (for genome: a second line of one (movie, tag)) is an error naming its line. */
#ifndef BIVAE_PARTITION_FEATURES_H
#define BIVAE_PARTITION_FEATURES_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    FEAT_FORMAT_AUTO = 0,
    FEAT_FORMAT_DENSE,
    FEAT_FORMAT_SPARSE,
    FEAT_FORMAT_ML100K_USER,
    FEAT_FORMAT_ML100K_ITEM,
    FEAT_FORMAT_ML1M_USER,
    FEAT_FORMAT_ML1M_ITEM,
    FEAT_FORMAT_ML20M_ITEM,
    FEAT_FORMAT_GENOME
} feature_format;

typedef enum { MISSING_FEATURES_ZERO = 0, MISSING_FEATURES_ERROR = 1 } missing_features;

/* One side's feature rows on one rank (all zero: that side has no features). */
typedef struct feature_block {
    int64_t n_features;         /* columns: the same on every rank */
    int64_t nrows;              /* the rank's own users (items) */
    float *x;                   /* [nrows × n_features] row-major; row r: global id r·P + rank */
    feature_format fmt;         /* resolved */
    int64_t rows_read;          /* global: rows of training ids (genome: ids with a line) */
    int64_t missing;            /* global: training ids without a row (zero rows) */
    int64_t unknown_ids;        /* global: distinct ids of the file not in the training split */
    int64_t unknown_rows;       /* global: their rows (genome: lines) */
    int64_t dense_ids;          /* synthetic: 1 (rows made, not read) */
} feature_block;

const char *feature_format_name(feature_format f);      /* "dense", ..., "genome", "auto" */

/* Number of features of a fixed-layout format (MovieLens); 0 for dense, sparse, genome. */
int feature_format_width(feature_format f);

/* AUTO resolved by the file name path and its line 1 (first[len], NUL-terminated, BOM
 * removed); FEAT_FORMAT_AUTO when neither decides. */
feature_format feature_detect(const char *path, const char *first, size_t len);

void feature_block_free(feature_block *b);

#endif
