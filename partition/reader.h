/* partition/reader.h — ratings files: opening, format detection, and parsing the lines of
 * one byte range.
 *
 * Ranges. A file of `size` bytes is cut into P ranges [begin, end) (reader_range). A line
 * belongs to the range that holds its FIRST byte (line starts: offset 0 and every offset
 * just after a '\n'), so every line is parsed by exactly one rank for any P, including
 * lines that straddle a range end (the owner reads past `end` to finish it). A rank whose
 * range starts at begin > 0 skips to the first byte after the first '\n' at offset
 * >= begin - 1. Only the range with begin == 0 holds line 1 (the header, the BOM). */
#ifndef BIVAE_PARTITION_READER_H
#define BIVAE_PARTITION_READER_H

#include <stdint.h>

#include "partition/dataset.h"
#include "partition/ratings.h"

typedef struct read_error {
    int64_t line;       /* 0: about the whole file (msg is complete, names the file);
                           else 1-based index of the failing line among the range's lines */
    char msg[4400];     /* the reason (room for a full path) */
} read_error;

typedef struct range_stats {
    int64_t lines;      /* lines that start in the range (blank and header lines too) */
    int64_t ratings;    /* ratings handed to the callback */
} range_stats;

const char *data_format_name(data_format f);    /* "ml-100k", ..., "auto" */

/* Rank r's share [*begin, *end) of a file of `size` bytes (near-equal cuts). */
void reader_range(int64_t size, int rank, int P, int64_t *begin, int64_t *end);

/* Opens a regular file for reading: returns the descriptor and its size, or -1 with
 * err->msg "cannot open FILE: <reason>". */
int reader_open(const char *path, int64_t *size, read_error *err);

/* DATA_FORMAT_AUTO resolved by the file's name, then by its first line. 0, or -1 with
 * err filled (line 0). An empty file gets DATA_FORMAT_TSV (it then has no ratings). */
int reader_detect(int fd, const char *path, int64_t size, data_format *fmt, read_error *err);

/* Parses the lines that start in [begin, end) (see Ranges), calling fn for each rating.
 * Returns 0, or -1 at the first bad line with err->line its index in the range (counted
 * in st->lines, which then stops there). */
int reader_parse_range(int fd, const char *path, data_format fmt, int64_t begin, int64_t end,
                       rating_fn fn, void *ctx, range_stats *st, read_error *err);

/* One line (NUL-terminated, writable, no '\n'): 1 = a rating in *u, *i, *r; 0 = nothing
 * (blank line or header); -1 = malformed, reason in msg[size]. first: it is line 1. */
int reader_parse_line(data_format fmt, char *line, size_t len, int first, int64_t *u,
                      int64_t *i, float *r, char *msg, size_t size);

#endif
