/* partition/lineformat.h — how the lines of one ratings file are laid out: separator,
 * which column holds the user, the item and the rating, and whether line 1 is a header.
 * Resolved once per file from the format, the options (--sep, --columns, --header /
 * --no-header) and line 1 — on every rank alike, so every rank parses the same way. */
#ifndef BIVAE_PARTITION_LINEFORMAT_H
#define BIVAE_PARTITION_LINEFORMAT_H

#include <stddef.h>

#include "partition/dataset.h"
#include "partition/fields.h"
#include "partition/rawid.h"

#define LINE_MAX_COLUMNS 64         /* --columns may name columns 1..64 */

typedef struct line_format {
    data_format fmt;
    field_sep sep;
    int col_user, col_item;         /* 0-based columns */
    int col_rating;                 /* 0-based; -1: no rating column (every rating is 1) */
    int rating_optional;            /* csv/tsv: a missing or empty rating field is 1 */
    int need;                       /* fields a data line must have */
    int header;                     /* 1: line 1 is a header (skipped) */
    int header_like;                /* line 1 looks like a header but is not taken as one */
    char layout[160];               /* for messages, e.g. "user,item[,rating[,...]]" */
    char header_text[96];           /* for the source description: "header 'userId,...'" */
} line_format;

/* The layout of a file of format fmt (not AUTO) whose line 1 is first[len] (NUL-terminated,
 * writable, may be modified; len 0: empty file). 0, or -1 with the reason in msg[size]
 * (which names the flag or, with line 1, says "line 1"). */
int line_format_resolve(line_format *lf, data_format fmt, const data_options *opt,
                        char *first, size_t len, char *msg, size_t size);

/* One line (NUL-terminated, writable, no '\n'): 1 = a rating in *u, *i, *r (ids point into
 * the line); 0 = nothing (blank line or the header); -1 = malformed, reason in msg[size].
 * first: it is line 1. */
int line_parse(const line_format *lf, char *line, size_t len, int first, raw_id *u, raw_id *i,
               float *r, char *msg, size_t size);

#endif
