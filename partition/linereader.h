/* partition/linereader.h — sequential lines of a byte source from any content offset (a
 * compressed source: from where it is), with no limit on the line length (the buffer grows
 * to hold the longest line). */
#ifndef BIVAE_PARTITION_LINEREADER_H
#define BIVAE_PARTITION_LINEREADER_H

#include <stddef.h>
#include <stdint.h>

#include "partition/source.h"

typedef struct line_reader {
    byte_source *src;
    char *buf;              /* [cap]; bytes buf[head..len) are read but not yet returned */
    size_t cap, head, len;
    int64_t buf_off;        /* content offset of buf[0] */
    int eof;
    int failed;             /* a read failed: msg says why, runtime: an I/O error */
    int runtime;
    char msg[640];
} line_reader;

/* Starts reading src at content offset `offset`. */
void line_reader_init(line_reader *r, byte_source *src, int64_t offset);
void line_reader_free(line_reader *r);

/* Next line: *line points at its bytes (writable; '\n' excluded, NUL-terminated; valid
 * until the next call), *len its length, *off the content offset of its first byte.
 * Returns 1, or 0 at the end of the content or after a failed read (r->failed). */
int line_reader_next(line_reader *r, char **line, size_t *len, int64_t *off);

#endif
