/* partition/reader.c — opening a ratings file and parsing this rank's share of its lines. */
#include "partition/reader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "partition/linereader.h"

void reader_range(int64_t size, int rank, int P, int64_t *begin, int64_t *end)
{
    int64_t q = size / P, rem = size % P;
    *begin = q * rank + (rank < rem ? rank : rem);
    *end = *begin + q + (rank < rem ? 1 : 0);
}

static int fail(read_error *err, int runtime, int64_t line, const char *msg)
{
    err->status = runtime ? BIVAE_EXIT_RUNTIME : BIVAE_EXIT_USAGE;
    err->line = line;
    if (msg != err->msg)
        snprintf(err->msg, sizeof err->msg, "%s", msg);
    return -1;
}

/* ---- opening -------------------------------------------------------------------------------- */

/* Line 1 of the content, copied into *out (malloc'd; "" for an empty file: *empty set). */
static int read_first_line(data_file *f, char **out, size_t *len, int *empty, read_error *err)
{
    line_reader lr;
    char *line = NULL;
    int64_t off;
    line_reader_init(&lr, &f->src, 0);
    *empty = !line_reader_next(&lr, &line, len, &off);
    if (lr.failed) {
        fail(err, lr.runtime, 0, lr.msg);
        line_reader_free(&lr);
        return -1;
    }
    if (*empty)
        *len = 0;
    *out = xmalloc(*len + 1);
    memcpy(*out, *empty ? "" : line, *len);
    (*out)[*len] = '\0';
    line_reader_free(&lr);
    return source_rewind(&f->src, err->msg, sizeof err->msg) ? fail(err, 1, 0, err->msg) : 0;
}

static int resolve_format(data_file *f, const char *path, const data_options *opt,
                          const char *first, size_t len, int empty, read_error *err)
{
    f->fmt = opt->format;
    if (f->fmt == DATA_FORMAT_AUTO && opt->sep)
        f->fmt = DATA_FORMAT_CSV;              /* a delimited file: csv rules, --sep's separator */
    else if (f->fmt == DATA_FORMAT_AUTO)
        f->fmt = empty ? DATA_FORMAT_TSV : reader_detect(path, first, len);
    if (f->fmt != DATA_FORMAT_AUTO)
        return 0;
    snprintf(err->msg, sizeof err->msg, "cannot tell the format of %s: neither its name nor "
             "its first line ('::', tab or comma) decides; give --format or --sep", path);
    return fail(err, 0, 0, err->msg);
}

int reader_open(data_file *f, const char *path, const data_options *opt, read_error *err)
{
    memset(f, 0, sizeof *f);
    f->src.fd = -1;
    err->status = 0;
    err->line = 0;
    int runtime = 0;
    if (source_open(&f->src, path, err->msg, sizeof err->msg, &runtime) != 0)
        return fail(err, runtime, 0, err->msg);
    char *first = NULL;
    size_t len = 0;
    int empty = 0, rc = read_first_line(f, &first, &len, &empty, err);
    if (rc == 0 && memchr(first, '\0', len))
        rc = fail(err, 0, 1, "binary data (a NUL byte): not a text ratings file");
    if (rc == 0)
        rc = resolve_format(f, path, opt, first, len, empty, err);
    if (rc == 0 && line_format_resolve(&f->lf, f->fmt, opt, first, len, err->msg,
                                       sizeof err->msg) != 0) {
        int on_line1 = strncmp(err->msg, "line 1: ", 8) == 0;
        if (on_line1)
            memmove(err->msg, err->msg + 8, strlen(err->msg + 8) + 1);
        rc = fail(err, 0, on_line1, err->msg);
    }
    free(first);
    if (rc != 0)
        reader_close(f);
    return rc;
}

void reader_close(data_file *f) { source_close(&f->src); }

/* ---- parsing ---------------------------------------------------------------------------------- */

/* One line: 1 a rating handed over, 0 nothing, -1 bad (err->msg). */
static int take_line(data_file *f, char *line, size_t len, int first, rating_fn fn, void *ctx,
                     read_error *err)
{
    const char *nul = memchr(line, '\0', len);
    if (nul) {
        snprintf(err->msg, sizeof err->msg, "binary data (a NUL byte at column %zu): not a "
                 "text ratings file", (size_t)(nul - line) + 1);
        return -1;
    }
    raw_id u, i;
    float r;
    int got = line_parse(&f->lf, line, len, first, &u, &i, &r, err->msg, sizeof err->msg);
    if (got > 0)
        fn(ctx, &u, &i, r);
    return got;
}

/* The lines that start in [begin, end) of the content (see Shares); line k of them
 * (0-based) is parsed when k mod P == rank (a byte range: P 1). */
static int parse_lines(data_file *f, int64_t begin, int64_t end, int rank, int P, rating_fn fn,
                       void *ctx, range_stats *st, read_error *err)
{
    line_reader lr;
    char *line;
    size_t len;
    int64_t off;
    line_reader_init(&lr, &f->src, begin > 0 ? begin - 1 : 0);
    if (begin > 0)                          /* the end of the previous range's last line */
        line_reader_next(&lr, &line, &len, &off);
    int rc = 0;
    while (rc == 0 && line_reader_next(&lr, &line, &len, &off) && off < end) {
        if (st->lines++ % P != rank)
            continue;
        int got = take_line(f, line, len, off == 0, fn, ctx, err);
        st->ratings += got > 0;
        if (got < 0)
            rc = fail(err, 0, st->lines, err->msg);
    }
    if (rc == 0 && lr.failed)
        rc = fail(err, lr.runtime, 0, lr.msg);
    line_reader_free(&lr);
    return rc;
}

int reader_parse_range(data_file *f, int64_t begin, int64_t end, rating_fn fn, void *ctx,
                       range_stats *st, read_error *err)
{
    memset(st, 0, sizeof *st);
    return begin < end ? parse_lines(f, begin, end, 0, 1, fn, ctx, st, err) : 0;
}

/* Compressed: every line of the stream is read, those of index k mod P == rank parsed. */
static int parse_dealt(data_file *f, int rank, int P, rating_fn fn, void *ctx, range_stats *st,
                       read_error *err)
{
    memset(st, 0, sizeof *st);
    st->lines_global = 1;
    return parse_lines(f, 0, INT64_MAX, rank, P, fn, ctx, st, err);
}

/* Tests only: BIVAE_TEST_READ_ERROR_RANK=r makes rank r's reads of data files fail (EIO). */
static void test_read_error(data_file *f, int rank)
{
    const char *r = getenv("BIVAE_TEST_READ_ERROR_RANK");
    if (r && atoi(r) == rank)
        f->src.fail_errno = EIO;
}

int reader_parse_share(data_file *f, int rank, int P, rating_fn fn, void *ctx, range_stats *st,
                       read_error *err)
{
    test_read_error(f, rank);
    if (f->src.kind != SOURCE_PLAIN)
        return parse_dealt(f, rank, P, fn, ctx, st, err);
    int64_t begin, end;
    reader_range(f->src.size, rank, P, &begin, &end);
    return reader_parse_range(f, begin, end, fn, ctx, st, err);
}
