/* partition/linereader.h — sequential lines of a file from any byte offset, with no limit
 * on the line length (the buffer grows to hold the longest line). */
#ifndef BIVAE_PARTITION_LINEREADER_H
#define BIVAE_PARTITION_LINEREADER_H

#include <stddef.h>
#include <stdint.h>

typedef struct line_reader {
    int fd;
    const char *path;       /* for error messages */
    char *buf;              /* [cap]; bytes buf[head..len) are read but not yet returned */
    size_t cap, head, len;
    int64_t buf_off;        /* file offset of buf[0] */
    int eof;
} line_reader;

/* Starts reading fd at byte `offset`. */
void line_reader_init(line_reader *r, int fd, const char *path, int64_t offset);
void line_reader_free(line_reader *r);

/* Next line: *line points at its bytes (writable; '\n' excluded, NUL-terminated; valid
 * until the next call), *len its length, *off the file offset of its first byte.
 * Returns 1, or 0 at end of file. A failed read ends the run (exit 3, naming the file). */
int line_reader_next(line_reader *r, char **line, size_t *len, int64_t *off);

#endif
