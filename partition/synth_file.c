/* partition/synth_file.c — `bivae-dist gen`: the synthetic ratings as a TSV file, written
 * to a temporary name in the target directory, fsync'd, then renamed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/check.h"
#include "partition/errors.h"
#include "partition/synth.h"

typedef struct tsv_out {
    FILE *f;
    int failed;             /* a write failed (errno kept in err) */
    int err;
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

int synth_write_file(const char *spec, uint64_t seed, const char *path)
{
    synth_shape s;
    char msg[512];
    if (synth_shape_from_spec(spec, &s, msg, sizeof msg) != 0) {
        part_error("%s", msg);
        return BIVAE_EXIT_USAGE;
    }
    size_t n = strlen(path) + 16;
    char *tmp = xmalloc(n);
    snprintf(tmp, n, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        part_error("cannot write %s: cannot create a temporary file there: %s", path,
                   strerror(errno));
        free(tmp);
        return BIVAE_EXIT_RUNTIME;
    }
    mode_t mask = umask(0);                          /* mkstemp made it 0600: give it */
    umask(mask);                                     /* the usual 0666 & ~umask      */
    tsv_out o = {fchmod(fd, 0666 & ~mask) == 0 ? fdopen(fd, "w") : NULL, 0, 0};
    if (!o.f) {
        part_error("cannot write %s: %s", path, strerror(errno));
        close(fd);
        unlink(tmp);
        free(tmp);
        return BIVAE_EXIT_RUNTIME;
    }
    setvbuf(o.f, NULL, _IOFBF, 1 << 20);
    synth_generate(&s, seed, 0, 1, write_rating, &o);
    int err = finish(o.f, o.failed, o.err);
    if (err == 0 && rename(tmp, path) != 0)
        err = errno;
    if (err != 0) {
        part_error("cannot write %s: %s", path, strerror(err));
        unlink(tmp);
    }
    free(tmp);
    return err ? BIVAE_EXIT_RUNTIME : 0;
}
