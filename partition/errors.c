/* partition/errors.c — see errors.h */
#include "partition/errors.h"

#include <stdarg.h>
#include <stdio.h>

void part_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bivae-dist: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(stderr);
}

int part_agree_error(comm *c, int bad, int64_t line, const char *file, const char *msg)
{
    int64_t P = comm_size(c), rank = comm_rank(c);
    if (line < 0)
        line = 0;
    if (line > (INT64_MAX - P) / P)                 /* keep the key from overflowing */
        line = (INT64_MAX - P) / P;
    int64_t key = bad ? line * P + rank : INT64_MAX;
    int64_t first = comm_allreduce_min_i64(c, key);
    if (first == INT64_MAX)
        return 0;
    if (first == key) {
        if (line > 0)
            part_error("%s:%lld: %s", file, (long long)line, msg);
        else
            part_error("%s", msg);
    }
    return 1;
}

int part_agree_status(comm *c, int status, int64_t line, const char *file, const char *msg)
{
    if (!part_agree_error(c, status != 0, line, file, msg))
        return 0;
    return (int)comm_allreduce_max_i64(c, status);
}
