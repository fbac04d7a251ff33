/* src/ckpt_io.c — see ckpt_io.h. */
#include "src/ckpt_io.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "common/check.h"
#include "common/outfile.h"
#include "src/checkpoint.h"

uint32_t ckpt_crc32(const void *p, size_t n) { return ckpt_crc32_update(0, p, n); }

uint32_t ckpt_crc32_update(uint32_t crc0, const void *p, size_t n)
{
    const Bytef *b = p;
    uLong crc = crc0;
    while (n > 0) {
        uInt part = n > (size_t)UINT_MAX ? UINT_MAX : (uInt)n;
        crc = crc32(crc, b, part);
        b += part;
        n -= part;
    }
    return (uint32_t)crc;
}

/* ---- writing ----------------------------------------------------------------------- */

/* The message names the file the user asked for; the temporary is an implementation
 * detail (named only where it matters: a failed rename). */
static void out_fail(ckpt_out *o, const char *what, int err)
{
    if (o->failed)
        return;
    o->failed = 1;
    ckpt_errf(o->msg, sizeof o->msg, "%s: %s: %s", o->final_path, what, strerror(err));
}

static int out_names(ckpt_out *o, const char *final_path)
{
    memset(o, 0, sizeof(*o));
    int n = snprintf(o->final_path, sizeof o->final_path, "%s", final_path);
    if (n < 0 || (size_t)n >= sizeof o->final_path) {
        out_fail(o, "cannot create", ENAMETOOLONG);
        return -1;
    }
    return 0;
}

int ckpt_out_open(ckpt_out *o, const char *final_path)
{
    if (out_names(o, final_path) != 0)
        return -1;
    int m = snprintf(o->tmp_path, sizeof o->tmp_path, "%s.tmp", final_path);
    if (m < 0 || (size_t)m >= sizeof o->tmp_path) {
        out_fail(o, "cannot create", ENAMETOOLONG);
        return -1;
    }
    o->f = fopen(o->tmp_path, "wb");
    if (!o->f) {
        out_fail(o, "cannot create", errno);
        return -1;
    }
    return 0;
}

int ckpt_out_open_new(ckpt_out *o, const char *final_path)
{
    if (out_names(o, final_path) != 0)
        return -1;
    int fd = outfile_create_temp(final_path, o->tmp_path, sizeof o->tmp_path);
    if (fd < 0) {
        o->tmp_path[0] = '\0';                      /* nothing to remove */
        out_fail(o, "cannot create", errno);
        return -1;
    }
    o->f = fdopen(fd, "wb");
    if (!o->f) {
        out_fail(o, "cannot create", errno);
        close(fd);
        unlink(o->tmp_path);
        o->tmp_path[0] = '\0';
        return -1;
    }
    return 0;
}

void ckpt_out_bytes(ckpt_out *o, const void *p, size_t n)
{
    if (o->failed)
        return;
    if (fwrite(p, 1, n, o->f) != n) {
        out_fail(o, "cannot write", ferror(o->f) && errno ? errno : EIO);
        return;
    }
    o->bytes += n;
}

/* varint of v into b[10]; returns its length */
static size_t varint_encode(uint64_t v, uint8_t *b)
{
    size_t n = 0;
    while (v >= 0x80) {
        b[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b[n++] = (uint8_t)v;
    return n;
}

void ckpt_out_record(ckpt_out *o, const BivaeCkpt__Record *r, uint32_t *crc)
{
    if (o->failed)
        return;
    size_t len = bivae_ckpt__record__get_packed_size(r);
    if (len > CKPT_MAX_RECORD_BYTES)
        FAIL_RUNTIME("checkpoint record of %zu bytes exceeds %zu: chunking is broken", len,
                     CKPT_MAX_RECORD_BYTES);
    uint8_t *buf = xmalloc(len), head[10];
    size_t packed = bivae_ckpt__record__pack(r, buf);
    if (packed != len)
        FAIL_RUNTIME("protobuf-c packed %zu bytes of a %zu-byte record", packed, len);
    ckpt_out_bytes(o, head, varint_encode(len, head));
    ckpt_out_bytes(o, buf, len);
    if (crc)
        *crc = ckpt_crc32(buf, len);
    free(buf);
}

/* fsync of the directory holding path, so the rename itself is durable. Filesystems that
 * cannot sync a directory (EINVAL, ENOTSUP) are accepted: the rename is atomic there too. */
static int sync_dir_of(ckpt_out *o, const char *path)
{
    char copy[sizeof o->final_path];
    snprintf(copy, sizeof copy, "%s", path);
    const char *dir = dirname(copy);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        ckpt_errf(o->msg, sizeof o->msg, "%s: cannot open the directory to sync it: %s", dir,
                 strerror(errno));
        return -1;
    }
    int rc = fsync(fd), err = errno;
    if (close(fd) != 0 && rc == 0) {
        rc = -1;
        err = errno;
    }
    if (rc != 0 && err != EINVAL && err != ENOTSUP) {
        ckpt_errf(o->msg, sizeof o->msg, "%s: cannot fsync the directory: %s", dir,
                 strerror(err));
        return -1;
    }
    return 0;
}

int ckpt_out_finish(ckpt_out *o)
{
    if (!o->f && !o->failed)
        out_fail(o, "cannot create", EBADF);     /* no successful open, or finished twice */
    if (!o->failed && fflush(o->f) != 0)
        out_fail(o, "cannot write", errno);
    if (!o->failed && fsync(fileno(o->f)) != 0)
        out_fail(o, "cannot fsync", errno);
    int closed = o->f ? fclose(o->f) : 0;
    o->f = NULL;
    if (closed != 0)
        out_fail(o, "cannot close", errno);
    if (o->failed) {
        if (o->tmp_path[0])
            unlink(o->tmp_path);   /* best effort: the failure is already being reported */
        return -1;
    }
    o->finished = 1;
    return 0;
}

int ckpt_out_commit(ckpt_out *o)
{
    if (!o->finished && ckpt_out_finish(o) != 0)
        return -1;
    if (rename(o->tmp_path, o->final_path) != 0) {
        int err = errno;
        o->failed = 1;
        ckpt_errf(o->msg, sizeof o->msg, "%s: cannot rename the finished temporary %s to it: "
                 "%s", o->final_path, o->tmp_path, strerror(err));
        unlink(o->tmp_path);       /* best effort, as above */
        return -1;
    }
    o->tmp_path[0] = '\0';         /* renamed: nothing left to abandon */
    return sync_dir_of(o, o->final_path);
}

void ckpt_out_abandon(ckpt_out *o)
{
    if (o->f)
        fclose(o->f);   /* result irrelevant: the file is being removed */
    o->f = NULL;
    if (o->tmp_path[0])
        unlink(o->tmp_path);
}

/* ---- reading ----------------------------------------------------------------------- */

static ckpt_rec_status in_fail(ckpt_in *in, ckpt_rec_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static ckpt_rec_status in_fail(ckpt_in *in, ckpt_rec_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(in->msg, sizeof in->msg, "%s: ", in->path);
    vsnprintf(in->msg + n, sizeof in->msg - (size_t)n, fmt, ap);
    va_end(ap);
    return st;
}

int ckpt_in_open(ckpt_in *in, const char *path)
{
    memset(in, 0, sizeof(*in));
    in->path = path;
    in->f = fopen(path, "rb");
    if (!in->f) {
        in_fail(in, CKPT_REC_IO, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(in->f), &st) == 0 && S_ISDIR(st.st_mode)) {   /* fopen accepts one */
        char newest[4096] = "", why[256], run[CKPT_RUN_ID_LEN + 1];
        if (ckpt_find_runs(path, run, newest, sizeof newest, why, sizeof why) > 0)
            in_fail(in, CKPT_REC_IO, "is a directory: give a checkpoint file (its newest: %s)",
                    newest);
        else
            in_fail(in, CKPT_REC_IO, "is a directory: give a checkpoint file (it holds none)");
        fclose(in->f);   /* read-only: nothing to lose */
        in->f = NULL;
        return -1;
    }
    return 0;
}

/* A failed fread/getc: a read error, or the end of the file inside a record. */
static ckpt_rec_status in_short(ckpt_in *in, const char *where)
{
    if (ferror(in->f))
        return in_fail(in, CKPT_REC_IO, "read error at byte %llu: %s",
                       (unsigned long long)in->offset, strerror(errno ? errno : EIO));
    return in_fail(in, CKPT_REC_BAD, "truncated: the file ends inside record %lld (%s)",
                   (long long)in->index, where);
}

/* The length prefix: CKPT_REC_OK with *len, CKPT_REC_EOF at a clean end. */
static ckpt_rec_status read_length(ckpt_in *in, uint64_t *len)
{
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        int ch = getc(in->f);
        if (ch == EOF)
            return i == 0 && !ferror(in->f) ? CKPT_REC_EOF : in_short(in, "its length");
        in->offset++;
        v |= (uint64_t)(ch & 0x7f) << (7 * i);
        if (!(ch & 0x80)) {
            *len = v;
            return CKPT_REC_OK;
        }
    }
    return in_fail(in, CKPT_REC_BAD, "corrupt: record %lld has an invalid length",
                   (long long)in->index);
}

ckpt_rec_status ckpt_in_next(ckpt_in *in)
{
    uint64_t len = 0;
    ckpt_rec_status st = read_length(in, &len);
    if (st != CKPT_REC_OK)
        return st;
    if (len > CKPT_MAX_RECORD_BYTES)
        return in_fail(in, CKPT_REC_BAD, "corrupt: record %lld claims %llu bytes",
                       (long long)in->index, (unsigned long long)len);
    if (len > in->cap) {
        in->buf = xrealloc(in->buf, len);
        in->cap = len;
    }
    if (len > 0 && fread(in->buf, 1, len, in->f) != len)
        return in_short(in, "its contents");
    in->len = len;
    in->offset += len;
    in->index++;
    return CKPT_REC_OK;
}

void ckpt_in_close(ckpt_in *in)
{
    if (in->f)
        fclose(in->f);   /* read-only: nothing to lose */
    free(in->buf);
    memset(in, 0, sizeof(*in));
}
