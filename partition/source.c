/* partition/source.c — see source.h */
#include "partition/source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#ifdef BIVAE_HAVE_ZSTD
#include <zstd.h>
#endif

#include "common/check.h"

#define SOURCE_IN_BYTES ((size_t)1 << 18)

const char *source_kind_name(source_kind k)
{
    return k == SOURCE_GZIP ? "gzip" : k == SOURCE_ZSTD ? "zstd" : "plain";
}

/* pread of the whole request (short reads retried), or -1 with errno. */
static ssize_t pread_full(int fd, void *buf, size_t n, int64_t at)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(at + (int64_t)got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* ---- kinds ------------------------------------------------------------------------------ */

/* The kind of a file from its first bytes m[n]; NULL, or the name of a compression this
 * reader does not take. */
static const char *kind_of(const unsigned char *m, size_t n, source_kind *k)
{
    *k = SOURCE_PLAIN;
    if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
        *k = SOURCE_GZIP;
    else if (n >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
        *k = SOURCE_ZSTD;
    else if (n >= 3 && memcmp(m, "BZh", 3) == 0)
        return "bzip2";
    else if (n >= 6 && memcmp(m, "\xfd" "7zXZ\0", 6) == 0)
        return "xz";
    else if (n >= 4 && memcmp(m, "PK\x03\x04", 4) == 0)
        return "zip";
    else if (n >= 6 && memcmp(m, "7z\xbc\xaf\x27\x1c", 6) == 0)
        return "7z";
    else if (n >= 2 && m[0] == 0x1f && m[1] == 0x9d)
        return "compress (.Z)";
    return NULL;
}

/* ---- gzip (zlib) ----------------------------------------------------------------------------- */

static int gz_start(byte_source *s)
{
    z_stream *z = xcalloc(1, sizeof *z);
    if (inflateInit2(z, 15 + 16) != Z_OK) {     /* 15 + 16: gzip wrapper only */
        free(z);
        return -1;
    }
    s->codec = z;
    return 0;
}

static void gz_end(byte_source *s)
{
    if (s->codec)
        inflateEnd(s->codec);
    free(s->codec);
    s->codec = NULL;
}

/* ---- zstd -------------------------------------------------------------------------------------- */

#ifdef BIVAE_HAVE_ZSTD
static int zs_start(byte_source *s)
{
    s->codec = ZSTD_createDStream();
    return s->codec && !ZSTD_isError(ZSTD_initDStream(s->codec)) ? 0 : -1;
}

static void zs_end(byte_source *s)
{
    if (s->codec)
        ZSTD_freeDStream(s->codec);
    s->codec = NULL;
}
#endif

static int codec_start(byte_source *s, char *msg, size_t size)
{
    int rc = -1;
    if (s->kind == SOURCE_GZIP)
        rc = gz_start(s);
#ifdef BIVAE_HAVE_ZSTD
    else if (s->kind == SOURCE_ZSTD)
        rc = zs_start(s);
#endif
    if (rc != 0)
        snprintf(msg, size, "%s: cannot start the %s decompressor (out of memory?)", s->path,
                 source_kind_name(s->kind));
    return rc;
}

static void codec_end(byte_source *s)
{
    if (s->kind == SOURCE_GZIP)
        gz_end(s);
#ifdef BIVAE_HAVE_ZSTD
    else if (s->kind == SOURCE_ZSTD)
        zs_end(s);
#endif
}

/* ---- open / close ------------------------------------------------------------------------------ */

static int open_fail(byte_source *s, char *msg, size_t size, const char *why)
{
    snprintf(msg, size, "cannot open %s: %s", s->path, why);
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    return -1;
}

int source_open(byte_source *s, const char *path, char *msg, size_t size, int *runtime)
{
    memset(s, 0, sizeof *s);
    s->path = path;
    *runtime = 0;
    s->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (s->fd < 0)
        return open_fail(s, msg, size, strerror(errno));
    struct stat sb;
    if (fstat(s->fd, &sb) != 0)
        return *runtime = 1, open_fail(s, msg, size, strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return open_fail(s, msg, size, strerror(EISDIR));
    if (!S_ISREG(sb.st_mode))
        return open_fail(s, msg, size, "not a regular file (each rank reads it itself)");
    s->size = (int64_t)sb.st_size;
    unsigned char magic[8];
    ssize_t got = pread_full(s->fd, magic, sizeof magic, 0);
    if (got < 0)
        return *runtime = 1, open_fail(s, msg, size, strerror(errno));
    const char *other = kind_of(magic, (size_t)got, &s->kind);
    char why[160];
    if (other) {
        snprintf(why, sizeof why, "compressed with %s, which bivae-dist does not read "
                 "(decompress it, or recompress with gzip or zstd)", other);
        return open_fail(s, msg, size, why);
    }
#ifndef BIVAE_HAVE_ZSTD
    if (s->kind == SOURCE_ZSTD)
        return open_fail(s, msg, size, "zstd-compressed, but this bivae-dist was built without "
                         "libzstd (install libzstd-dev and rebuild, or decompress it)");
#endif
    if (s->kind != SOURCE_PLAIN) {
        s->in = xmalloc(SOURCE_IN_BYTES);
        if (codec_start(s, msg, size) != 0) {
            source_close(s);
            return -1;
        }
    }
    return 0;
}

void source_close(byte_source *s)
{
    codec_end(s);
    free(s->in);
    s->in = NULL;
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

int source_rewind(byte_source *s, char *msg, size_t size)
{
    if (s->kind == SOURCE_PLAIN)
        return 0;
    codec_end(s);
    s->pos = s->in_off = 0;
    s->in_len = s->in_at = 0;
    s->ended = s->frame_open = 0;
    return codec_start(s, msg, size);
}

/* ---- reading ---------------------------------------------------------------------------------- */

/* More compressed input when the buffer is used up: 1 read, 0 end of file, -1 error. */
static int refill(byte_source *s, char *msg, size_t size, int *runtime)
{
    if (s->in_at < s->in_len)
        return 1;
    ssize_t got = pread_full(s->fd, s->in, SOURCE_IN_BYTES, s->in_off);
    if (got < 0) {
        *runtime = 1;
        snprintf(msg, size, "cannot read %s: %s", s->path, strerror(errno));
        return -1;
    }
    s->in_off += got;
    s->in_len = (size_t)got;
    s->in_at = 0;
    return got > 0;
}

static int64_t gz_read(byte_source *s, char *buf, size_t cap, char *msg, size_t size, int *runtime)
{
    z_stream *z = s->codec;
    z->next_out = (Bytef *)buf;
    z->avail_out = (uInt)(cap < (1u << 30) ? cap : (1u << 30));
    size_t want = z->avail_out;
    while (z->avail_out > 0 && !s->ended) {
        int more = refill(s, msg, size, runtime);
        if (more < 0)
            return -1;
        z->next_in = s->in + s->in_at;
        z->avail_in = (uInt)(s->in_len - s->in_at);
        uInt before = z->avail_out;
        int rc = inflate(z, Z_NO_FLUSH);
        s->in_at = s->in_len - z->avail_in;
        if (rc == Z_STREAM_END) {      /* another member may follow (concatenated .gz files) */
            int next = refill(s, msg, size, runtime);
            if (next < 0)
                return -1;
            if (next == 0)
                s->ended = 1;
            else if (inflateReset(z) != Z_OK)
                rc = Z_STREAM_ERROR;
            if (rc == Z_STREAM_END)
                continue;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            snprintf(msg, size, "%s: corrupt gzip data near compressed byte %lld: %s", s->path,
                     (long long)(s->in_off - (int64_t)(s->in_len - s->in_at)),
                     z->msg ? z->msg : zError(rc));
            return -1;
        }
        if (more == 0 && z->avail_out == before) {
            snprintf(msg, size, "%s: truncated gzip data (the file ends inside a stream, after "
                     "%lld decompressed bytes)", s->path,
                     (long long)(s->pos + (int64_t)(want - z->avail_out)));
            return -1;
        }
    }
    return (int64_t)(want - z->avail_out);
}

#ifdef BIVAE_HAVE_ZSTD
static int64_t zs_read(byte_source *s, char *buf, size_t cap, char *msg, size_t size, int *runtime)
{
    ZSTD_outBuffer out = {buf, cap, 0};
    while (out.pos < out.size && !s->ended) {
        int more = refill(s, msg, size, runtime);
        if (more < 0)
            return -1;
        ZSTD_inBuffer in = {s->in, s->in_len, s->in_at};   /* empty at the end of the file */
        size_t before = out.pos, at = in.pos;
        size_t hint = ZSTD_decompressStream(s->codec, &out, &in);
        s->in_at = in.pos;
        if (ZSTD_isError(hint)) {
            snprintf(msg, size, "%s: corrupt zstd data: %s", s->path, ZSTD_getErrorName(hint));
            return -1;
        }
        if (out.pos != before || in.pos != at)          /* 0: the frame is complete */
            s->frame_open = hint != 0;
        if (more == 0 && out.pos == before) {           /* nothing left to flush */
            if (s->frame_open) {
                snprintf(msg, size, "%s: truncated zstd data (the file ends inside a frame)",
                         s->path);
                return -1;
            }
            s->ended = 1;
        }
    }
    return (int64_t)out.pos;
}
#endif

int64_t source_read(byte_source *s, int64_t at, char *buf, size_t cap, char *msg, size_t size,
                    int *runtime)
{
    *runtime = 0;
    if (s->fail_errno) {
        *runtime = 1;
        snprintf(msg, size, "cannot read %s: %s", s->path, strerror(s->fail_errno));
        return -1;
    }
    if (s->kind == SOURCE_PLAIN) {
        ssize_t got = pread_full(s->fd, buf, cap, at);
        if (got < 0) {
            *runtime = 1;
            snprintf(msg, size, "cannot read %s: %s", s->path, strerror(errno));
        }
        return got;
    }
    if (at != s->pos)
        FAIL_RUNTIME("%s: compressed input read at %lld, its stream is at %lld", s->path,
                     (long long)at, (long long)s->pos);
    int64_t got = -1;
    if (s->kind == SOURCE_GZIP)
        got = gz_read(s, buf, cap, msg, size, runtime);
#ifdef BIVAE_HAVE_ZSTD
    else
        got = zs_read(s, buf, cap, msg, size, runtime);
#endif
    if (got > 0)
        s->pos += got;
    return got;
}
