/* partition/reader.h — ratings files: opening (compression told by the magic number),
 * format and layout detection, and parsing this rank's share of the lines.
 *
 * Shares. A plain file of `size` bytes is cut into P byte ranges [begin, end)
 * (reader_range). A line belongs to the range that holds its FIRST byte (line starts:
 * offset 0 and every offset just after a '\n'), so every line is parsed by exactly one
 * rank for any P, including lines that straddle a range end (the owner reads past `end`
 * to finish it). A rank whose range starts at begin > 0 skips to the first byte after
 * the first '\n' at offset >= begin - 1. Only the range with begin == 0 holds line 1 (the
 * header, the BOM). A compressed file (gzip, zstd) cannot be entered in the middle: every
 * rank decompresses the whole stream and parses the lines of index k with k mod P == rank
 * (line 1 is rank 0's), so the union over the ranks is the same lines either way. */
#ifndef BIVAE_PARTITION_READER_H
#define BIVAE_PARTITION_READER_H

#include <stdint.h>

#include "partition/dataset.h"
#include "partition/lineformat.h"
#include "partition/ratings.h"
#include "partition/source.h"

typedef struct read_error {
    int status;         /* BIVAE_EXIT_USAGE (a bad file) or BIVAE_EXIT_RUNTIME (an I/O error) */
    int64_t line;       /* 0: about the whole file (msg is complete, names the file); else the
                           1-based line: among the range's lines (plain) or of the file */
    char msg[4400];     /* the reason (room for a full path) */
} read_error;

typedef struct range_stats {
    int64_t lines;      /* plain: lines that start in the range (blank and header lines too);
                           compressed: lines of the file read so far */
    int64_t ratings;    /* ratings handed to the callback */
    int lines_global;   /* err->line and lines count from the start of the file */
} range_stats;

typedef struct data_file {
    byte_source src;
    data_format fmt;    /* resolved (never AUTO) */
    line_format lf;     /* resolved from the options and line 1 */
} data_file;

const char *data_format_name(data_format f);    /* "ml-100k", ..., "auto" */

/* Rank r's share [*begin, *end) of a plain file of `size` bytes (near-equal cuts). */
void reader_range(int64_t size, int rank, int P, int64_t *begin, int64_t *end);

/* Opens path, tells its compression, resolves opt->format (AUTO: by the file's name, its
 * compression suffix removed, then by line 1) and the line layout (--sep, --columns,
 * --header / --no-header, line 1). 0, or -1 with err filled (line 0 or 1). */
int reader_open(data_file *f, const char *path, const data_options *opt, read_error *err);
void reader_close(data_file *f);

/* This rank's share of the lines (see Shares), calling fn for each rating. Returns 0, or
 * -1 at the first bad line or failed read with err filled. */
int reader_parse_share(data_file *f, int rank, int P, rating_fn fn, void *ctx, range_stats *st,
                       read_error *err);

/* Plain files: the lines that start in [begin, end) (see Shares). Returns 0, or -1 at the
 * first bad line with err->line its index in the range (counted in st->lines, which then
 * stops there). */
int reader_parse_range(data_file *f, int64_t begin, int64_t end, rating_fn fn, void *ctx,
                       range_stats *st, read_error *err);

/* DATA_FORMAT_AUTO resolved by the name path and line 1 (first[len], NUL-terminated) of a
 * non-empty file; DATA_FORMAT_AUTO when neither decides. */
data_format reader_detect(const char *path, const char *first, size_t len);
/* Shared by the ratings and feature-file detection (partition/detect.c): whether s[0..n)
 * ends with suffix (case-insensitive), and the length of a base name without a compression
 * suffix (.gz, .gzip, .zst, .zstd). */
int data_name_ends_with(const char *s, size_t n, const char *suffix);
size_t data_name_stem_length(const char *base);

#endif
