/* partition/reader.c — opening a ratings file and parsing the lines of one byte range. */
#include "partition/reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "partition/fields.h"
#include "partition/linereader.h"

void reader_range(int64_t size, int rank, int P, int64_t *begin, int64_t *end)
{
    int64_t q = size / P, rem = size % P;
    *begin = q * rank + (rank < rem ? rank : rem);
    *end = *begin + q + (rank < rem ? 1 : 0);
}

int reader_open(const char *path, int64_t *size, read_error *err)
{
    err->line = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err->msg, sizeof err->msg, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat sb;
    const char *why = NULL;
    if (fstat(fd, &sb) != 0)
        why = strerror(errno);
    else if (S_ISDIR(sb.st_mode))
        why = strerror(EISDIR);
    else if (!S_ISREG(sb.st_mode))
        why = "not a regular file (each rank reads a byte range of it)";
    if (why) {
        snprintf(err->msg, sizeof err->msg, "cannot open %s: %s", path, why);
        close(fd);
        return -1;
    }
    *size = (int64_t)sb.st_size;
    return fd;
}

int reader_parse_range(int fd, const char *path, data_format fmt, int64_t begin, int64_t end,
                       rating_fn fn, void *ctx, range_stats *st, read_error *err)
{
    st->lines = st->ratings = 0;
    if (begin >= end)
        return 0;
    line_reader lr;
    char *line;
    size_t len;
    int64_t off, u, i;
    float r;
    line_reader_init(&lr, fd, path, begin > 0 ? begin - 1 : 0);
    if (begin > 0)                          /* the end of the previous range's last line */
        line_reader_next(&lr, &line, &len, &off);
    int rc = 0;
    while (rc == 0 && line_reader_next(&lr, &line, &len, &off) && off < end) {
        st->lines++;
        int got = reader_parse_line(fmt, line, len, off == 0, &u, &i, &r, err->msg,
                                    sizeof err->msg);
        if (got > 0) {
            fn(ctx, u, i, r);
            st->ratings++;
        } else if (got < 0) {
            err->line = st->lines;
            rc = -1;
        }
    }
    line_reader_free(&lr);
    return rc;
}
