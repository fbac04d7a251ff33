/* partition/synth_file.c — `bivae-dist gen`: the synthetic ratings as a TSV file, written
 * to a new temporary beside it (its folder made as `mkdir -p` does), fsync'd, then renamed;
 * one line says what was written. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/check.h"
#include "common/outfile.h"
#include "partition/errors.h"
#include "partition/synth.h"

typedef struct tsv_out {
    FILE *f;
    int failed;             /* a write failed (errno kept in err) */
    int err;
    int64_t written;        /* ratings written */
} tsv_out;

/* Appends the decimal digits of v (v >= 0) at p; returns the new end. */
static char *put_i64(char *p, int64_t v)
{
    char tmp[24];
    int n = 0;
    do tmp[n++] = (char)('0' + v % 10); while ((v /= 10) > 0);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static void write_rating(void *ctx, const raw_id *user, const raw_id *item, float rating)
{
    tsv_out *o = ctx;
    char line[64], *p = line;
    p = put_i64(p, user->value);                     /* synthetic ids are integers */
    *p++ = '\t';
    p = put_i64(p, item->value);
    *p++ = '\t';
    p = put_i64(p, (int64_t)rating);                 /* synthetic ratings are 1..5 */
    memcpy(p, "\t0\n", 3);
    p += 3;
    if (!o->failed && fwrite(line, 1, (size_t)(p - line), o->f) != (size_t)(p - line)) {
        o->failed = 1;
        o->err = errno;
    }
    o->written++;
}

/* Flushes, fsyncs and closes; 0 or an errno value. */
static int finish(FILE *f, int failed, int err)
{
    if (!failed && fflush(f) != 0)
        failed = 1, err = errno;
    if (!failed && fsync(fileno(f)) != 0)
        failed = 1, err = errno;
    if (fclose(f) != 0 && !failed)
        failed = 1, err = errno;
    return failed ? (err ? err : EIO) : 0;
}

/* v with thousands separators ("100,000") into buf[32]. */
static const char *grouped(int64_t v, char *buf)
{
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%lld", (long long)v), len = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[len++] = ',';
        buf[len++] = digits[i];
    }
    buf[len] = '\0';
    return buf;
}

/* "bivae-dist: wrote 100,000 ratings (943 users x 1,682 items, synthetic ml-100k, seed 42)
 * to FILE" on stderr. */
static void say_written(const synth_shape *s, int64_t n, uint64_t seed, const char *path)
{
    char a[32], b[32], c[32];
    fprintf(stderr, "bivae-dist: wrote %s ratings (%s users x %s items, synthetic %s, seed "
            "%llu) to %s\n", grouped(n, a), grouped(s->U, b), grouped(s->I, c), s->name,
            (unsigned long long)seed, path);
}

/* The temporary beside path, open for writing: 0, or an exit status after one line naming
 * --out (could not be created: 2; failed after that: 3). */
static int open_temp(const char *path, char **tmp, tsv_out *o)
{
    char msg[1024];
    size_t n = strlen(path) + 16;
    *tmp = xmalloc(n);
    if (outfile_prepare_file("--out", path, msg, sizeof msg) != 0) {
        part_error("%s", msg);
        return BIVAE_EXIT_USAGE;
    }
    int fd = outfile_create_temp(path, *tmp, n);
    if (fd < 0) {
        part_error("--out %s: cannot create: %s", path, strerror(errno));
        return BIVAE_EXIT_USAGE;
    }
    *o = (tsv_out){fdopen(fd, "w"), 0, 0, 0};
    if (!o->f) {
        part_error("--out %s: cannot write: %s", path, strerror(errno));
        close(fd);
        unlink(*tmp);
        return BIVAE_EXIT_RUNTIME;
    }
    return 0;
}

int synth_write_file(const char *spec, uint64_t seed, const char *path)
{
    synth_shape s;
    char msg[512], *tmp = NULL;
    tsv_out o;
    if (synth_shape_from_spec(spec, &s, msg, sizeof msg) != 0) {
        part_error("%s", msg);
        return BIVAE_EXIT_USAGE;
    }
    int status = open_temp(path, &tmp, &o);
    if (status) {
        free(tmp);
        return status;
    }
    setvbuf(o.f, NULL, _IOFBF, 1 << 20);
    synth_generate(&s, seed, 0, 1, write_rating, &o);
    int err = finish(o.f, o.failed, o.err);
    if (err == 0 && rename(tmp, path) != 0)
        err = errno;
    if (err != 0) {
        part_error("--out %s: cannot write: %s", path, strerror(err));
        unlink(tmp);
    } else {
        say_written(&s, o.written, seed, path);
    }
    free(tmp);
    return err ? BIVAE_EXIT_RUNTIME : 0;
}
