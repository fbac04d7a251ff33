/* partition/feat_read.c — a rank's share of a feature file (the shares of partition/reader.h:
 * a plain file by byte range, a compressed one every P-th line), into a feature_sink. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "partition/errors.h"
#include "partition/feat_internal.h"
#include "partition/linereader.h"
#include "partition/reader.h"

void feature_sink_init(feature_sink *s, id_dict *ids)
{
    memset(s, 0, sizeof *s);
    s->ids = ids;
    id_dict_init(&s->names);
}

void feature_sink_free(feature_sink *s)
{
    id_dict_free(&s->names);
    free(s->v);
    memset(s, 0, sizeof *s);
}

static void push(feature_sink *s, uint32_t id, int32_t feat, float value, int64_t line)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap + s->cap / 2 : 1024;
        s->v = xrealloc(s->v, s->cap * sizeof(feat_entry));
    }
    feat_entry e = {id, feat, value, line};
    s->v[s->n++] = e;
}

/* ---- opening ---------------------------------------------------------------------------- */

typedef struct feat_file {
    byte_source src;
    int opened;
} feat_file;

/* Opens path, reads its line 1, resolves the layout. 0, or a status with msg filled and
 * *line 1 when the reason is about line 1. */
static int open_file(feat_file *f, const char *path, feature_format fmt, feat_layout *L,
                     char *msg, size_t size, int64_t *line)
{
    int runtime = 0;
    *line = 0;
    memset(f, 0, sizeof *f);
    f->src.fd = -1;
    if (source_open(&f->src, path, msg, size, &runtime) != 0)
        return runtime ? BIVAE_EXIT_RUNTIME : BIVAE_EXIT_USAGE;
    f->opened = 1;
    line_reader lr;
    char *first = NULL, *p;
    size_t len = 0;
    int64_t off;
    line_reader_init(&lr, &f->src, 0);
    int empty = !line_reader_next(&lr, &p, &len, &off);
    int status = 0;
    if (lr.failed) {
        snprintf(msg, size, "%s", lr.msg);
        status = lr.runtime ? BIVAE_EXIT_RUNTIME : BIVAE_EXIT_USAGE;
    }
    len = empty ? 0 : len;
    first = xmalloc(len + 1);
    memcpy(first, empty ? "" : p, len);
    first[len] = '\0';
    line_reader_free(&lr);
    if (!status && source_rewind(&f->src, msg, size))
        status = BIVAE_EXIT_RUNTIME;
    if (!status && memchr(first, '\0', len)) {
        snprintf(msg, size, "binary data (a NUL byte): not a text feature file");
        *line = 1;
        status = BIVAE_EXIT_USAGE;
    }
    if (!status && feat_layout_resolve(L, fmt, path, first, len, msg, size)) {
        if (strncmp(msg, "line 1: ", 8) == 0) {
            memmove(msg, msg + 8, strlen(msg + 8) + 1);
            *line = 1;
        }
        status = BIVAE_EXIT_USAGE;
    }
    free(first);
    return status;
}

/* ---- one row ------------------------------------------------------------------------------- */

/* The row's entries into s; -1 (msg) when a feature is given twice in it. */
static int take_row(feature_sink *s, const feat_row *r, int64_t line, uint32_t **stamp,
                    uint32_t *stamp_cap, char *msg, size_t size)
{
    uint32_t id = id_dict_intern(s->ids, &r->id);
    if (s->layout.fmt != FEAT_FORMAT_GENOME)
        push(s, id, -1, 0.0f, line);
    for (int k = 0; k < r->n; k++) {
        int32_t feat = r->feat[k];
        if (s->layout.named) {
            feat = (int32_t)id_dict_intern(&s->names, &r->name[k]);
            if ((uint32_t)feat >= *stamp_cap) {
                uint32_t cap = *stamp_cap * 2 > (uint32_t)feat + 1 ? *stamp_cap * 2 : (uint32_t)feat + 1;
                *stamp = xrealloc(*stamp, sizeof(uint32_t) * cap);
                memset(*stamp + *stamp_cap, 0, sizeof(uint32_t) * (cap - *stamp_cap));
                *stamp_cap = cap;
            }
            if ((*stamp)[feat] == (uint32_t)(line + 1) && s->layout.fmt == FEAT_FORMAT_SPARSE) {
                char buf[RAW_ID_INT_CHARS], ex[48];
                size_t n;
                const char *t = raw_id_text(&r->name[k], buf, &n);
                raw_id_excerpt(t, n, ex, sizeof ex);
                snprintf(msg, size, "feature '%s' is given twice in the row", ex);
                return -1;
            }
            (*stamp)[feat] = (uint32_t)(line + 1);
        }
        if (r->value[k] != 0.0f || s->layout.fmt == FEAT_FORMAT_GENOME)
            push(s, id, feat, r->value[k], line);      /* zeros are the block's default */
    }
    return 0;
}

/* ---- the share ------------------------------------------------------------------------------ */

typedef struct share {
    int64_t begin, end;         /* content range (compressed: 0, INT64_MAX) */
    int rank, P;                /* line k of the range is read when k mod P == rank */
    int lines_global;
} share;

/* Reads the share's lines into s; 0, or a status with msg and *bad_line (in the range). */
static int parse_share(feature_sink *s, byte_source *src, const share *sh, char *msg,
                       size_t size, int64_t *bad_line)
{
    line_reader lr;
    feat_row row;
    char *line;
    size_t len;
    int64_t off;
    uint32_t *stamp = NULL, stamp_cap = 0;
    int status = 0;
    feat_row_init(&row);
    line_reader_init(&lr, src, sh->begin > 0 ? sh->begin - 1 : 0);
    if (sh->begin > 0)
        line_reader_next(&lr, &line, &len, &off);
    while (!status && line_reader_next(&lr, &line, &len, &off) && off < sh->end) {
        if (s->lines++ % sh->P != sh->rank)
            continue;
        const char *nul = memchr(line, '\0', len);
        int got = nul ? -1 : feat_line_parse(&s->layout, line, len, off == 0, &row, msg, size);
        if (nul)
            snprintf(msg, size, "binary data (a NUL byte at column %zu): not a text feature "
                     "file", (size_t)(nul - line) + 1);
        if (got > 0 && take_row(s, &row, s->lines, &stamp, &stamp_cap, msg, size))
            got = -1;
        if (got < 0) {
            status = BIVAE_EXIT_USAGE;
            *bad_line = s->lines;
        }
    }
    if (!status && lr.failed) {
        snprintf(msg, size, "%s", lr.msg);
        status = lr.runtime ? BIVAE_EXIT_RUNTIME : BIVAE_EXIT_USAGE;
        *bad_line = 0;
    }
    free(stamp);
    feat_row_free(&row);
    line_reader_free(&lr);
    return status;
}

static void describe(const feature_sink *s, const byte_source *src, char *out, size_t size)
{
    int n = snprintf(out, size, "%s", feature_format_name(s->layout.fmt));
    if (src->kind != SOURCE_PLAIN && n >= 0 && (size_t)n < size)
        n += snprintf(out + n, size - (size_t)n, ", %s", source_kind_name(src->kind));
    if (s->layout.header && s->layout.header_text[0] && n >= 0 && (size_t)n < size)
        snprintf(out + n, size - (size_t)n, ", %s skipped", s->layout.header_text);
}

/* Entries' lines (counted in the range) made lines of the file. */
static void to_file_lines(comm *c, feature_sink *s, int lines_global)
{
    int64_t before = comm_exscan_sum_i64(c, lines_global ? 0 : s->lines);
    for (size_t k = 0; k < s->n; k++)
        s->v[k].line += before;
}

int features_read(comm *c, const char *path, feature_format fmt, feature_sink *s, char *desc,
                  size_t size)
{
    char msg[4400] = "";
    int64_t line = 0;
    feat_file f;
    int status = open_file(&f, path, fmt, &s->layout, msg, sizeof msg, &line);
    if ((status = part_agree_status(c, status, line, path, msg))) {
        if (f.opened)
            source_close(&f.src);
        return status;
    }
    share sh = {0, INT64_MAX, comm_rank(c), comm_size(c), 1};
    const char *r = getenv("BIVAE_TEST_READ_ERROR_RANK");   /* tests: this rank's reads fail */
    if (r && atoi(r) == comm_rank(c))
        f.src.fail_errno = EIO;
    if (f.src.kind == SOURCE_PLAIN) {
        reader_range(f.src.size, comm_rank(c), comm_size(c), &sh.begin, &sh.end);
        sh.rank = 0;
        sh.P = 1;
        sh.lines_global = 0;
    }
    if (sh.begin < sh.end)
        status = parse_share(s, &f.src, &sh, msg, sizeof msg, &line);
    describe(s, &f.src, desc, size);
    source_close(&f.src);
    int64_t before = comm_exscan_sum_i64(c, sh.lines_global ? 0 : s->lines);
    line = status && line > 0 ? (sh.lines_global ? 0 : before) + line : 0;
    if ((status = part_agree_status(c, status, line, path, msg)))
        return status;
    to_file_lines(c, s, sh.lines_global);
    int64_t rows = comm_allreduce_sum_i64(c, (int64_t)s->n);
    if (rows == 0 && comm_rank(c) == 0)
        part_error("%s: no feature rows (the file is empty or has only a header)", path);
    return rows == 0 ? BIVAE_EXIT_USAGE : 0;
}
