/* partition/source.h — the bytes of an input file: as stored, or decompressed (gzip via
 * zlib, zstd via libzstd when built with it). The kind is told by the file's first bytes
 * (its magic number), not by its name.
 *
 * A plain file is read at any offset (pread), so every rank reads its own byte range. A
 * compressed stream can only be read from its start: every rank decompresses the whole
 * stream and keeps its share of the lines (partition/reader.h). */
#ifndef BIVAE_PARTITION_SOURCE_H
#define BIVAE_PARTITION_SOURCE_H

#include <stddef.h>
#include <stdint.h>

typedef enum { SOURCE_PLAIN = 0, SOURCE_GZIP, SOURCE_ZSTD } source_kind;

typedef struct byte_source {
    int fd;
    const char *path;
    source_kind kind;
    int64_t size;               /* bytes of the file as stored */
    int64_t pos;                /* compressed kinds: decompressed bytes handed out so far */
    void *codec;                /* the decompressor's state */
    unsigned char *in;          /* [SOURCE_IN_BYTES] compressed input buffer */
    size_t in_len, in_at;
    int64_t in_off;             /* file offset of the next compressed byte to read */
    int ended;                  /* the last stream ended with the file */
    int frame_open;             /* zstd: the last frame read is not complete yet */
    int fail_errno;             /* tests: the first read fails with this errno (0: none) */
} byte_source;

const char *source_kind_name(source_kind k);    /* "plain", "gzip", "zstd" */

/* Opens path, tells its kind from its magic number. 0, or -1 with the reason in
 * msg[size] ("cannot open FILE: ...", "FILE is compressed with bzip2: ..."). *runtime is
 * set when the failure is an I/O error rather than a bad file. */
int source_open(byte_source *s, const char *path, char *msg, size_t size, int *runtime);

/* Reads up to cap bytes of the (decompressed) content starting at content offset `at`
 * into buf. Plain files: any at; compressed: `at` must be where the last read ended.
 * Returns the count (0 at the end), or -1 with the reason in msg[size] (*runtime set for
 * an I/O error; corrupt or truncated compressed data is a bad file). */
int64_t source_read(byte_source *s, int64_t at, char *buf, size_t cap, char *msg, size_t size,
                    int *runtime);

/* Back to the start of the content (compressed kinds restart their decompressor). */
int source_rewind(byte_source *s, char *msg, size_t size);

void source_close(byte_source *s);

#endif
