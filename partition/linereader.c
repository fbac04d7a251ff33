/* partition/linereader.c — see linereader.h */
#include "partition/linereader.h"

#include <stdlib.h>
#include <string.h>

#include "common/check.h"

#define LINE_READER_CHUNK ((size_t)1 << 20)

void line_reader_init(line_reader *r, byte_source *src, int64_t offset)
{
    memset(r, 0, sizeof *r);
    r->src = src;
    r->cap = LINE_READER_CHUNK;
    r->buf = xmalloc(r->cap);
    r->buf_off = offset;
}

void line_reader_free(line_reader *r)
{
    free(r->buf);
    r->buf = NULL;
}

/* Moves the unread bytes to the front, grows the buffer when they fill it, reads more. */
static void fill(line_reader *r)
{
    size_t keep = r->len - r->head;
    memmove(r->buf, r->buf + r->head, keep);
    r->buf_off += (int64_t)r->head;
    r->head = 0;
    r->len = keep;
    if (r->len + 1 >= r->cap) {
        r->cap *= 2;
        r->buf = xrealloc(r->buf, r->cap);
    }
    int64_t got = source_read(r->src, r->buf_off + (int64_t)r->len, r->buf + r->len,
                              r->cap - r->len - 1, r->msg, sizeof r->msg, &r->runtime);
    if (got < 0) {                                  /* keep 1 byte for the NUL (above) */
        r->failed = 1;
        r->eof = 1;
        r->len = r->head = 0;
        return;
    }
    if (got == 0)
        r->eof = 1;
    r->len += (size_t)got;
}

int line_reader_next(line_reader *r, char **line, size_t *len, int64_t *off)
{
    for (;;) {
        char *s = r->buf + r->head;
        size_t avail = r->len - r->head;
        char *nl = avail ? memchr(s, '\n', avail) : NULL;
        if (nl || (r->eof && avail)) {
            size_t n = nl ? (size_t)(nl - s) : avail;
            s[n] = '\0';                         /* the '\n' or the spare byte */
            *line = s;
            *len = n;
            *off = r->buf_off + (int64_t)r->head;
            r->head += nl ? n + 1 : n;
            return 1;
        }
        if (r->eof)
            return 0;
        fill(r);
    }
}
