/* src/ckpt_run.c — runs in a checkpoint directory: run ids, the current-run file, and which
 * run a `train` continues or starts (checkpoint.h "Runs"). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/check.h"
#include "src/checkpoint.h"
#include "src/ckpt_internal.h"
#include "src/ckpt_io.h"

/* ---- run ids ------------------------------------------------------------------------------ */

int ckpt_run_id_valid(const char *s)
{
    static const char pattern[] = "ddddddddTddddddZ-xxxx";   /* d digit, x lowercase hex */
    if (!s || strlen(s) != CKPT_RUN_ID_LEN)
        return 0;
    for (int i = 0; i < CKPT_RUN_ID_LEN; i++) {
        char p = pattern[i], c = s[i];
        int digit = c >= '0' && c <= '9', hex = digit || (c >= 'a' && c <= 'f');
        if ((p == 'd' && !digit) || (p == 'x' && !hex) || (p != 'd' && p != 'x' && c != p))
            return 0;
    }
    return 1;
}

/* 16 random bits: the kernel's generator, or (should it fail) the pid and the clock. */
static unsigned random16(void)
{
    static unsigned calls;
    uint16_t v = 0;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) == (ssize_t)sizeof v)
        return v;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((unsigned)getpid() * 40503u ^ (unsigned)ts.tv_nsec ^ ++calls * 2654435761u) & 0xffffu;
}

/* 1 when dir's current-run or a checkpoint name there already has id (0 on any doubt of
 * reading: the directory's errors are reported where it is scanned). */
static int id_in_use(const char *dir, const char *id)
{
    char cur[CKPT_RUN_ID_LEN + 1], err[1024];
    if (ckpt_current_run(dir, cur, err, sizeof err) == 0 && strcmp(cur, id) == 0)
        return 1;
    return ckpt_name_uses(dir, id, err, sizeof err) == 1;
}

void ckpt_new_run_id(const char *dir, char id[CKPT_RUN_ID_LEN + 1])
{
    time_t now = time(NULL);
    struct tm utc;
    if (!gmtime_r(&now, &utc))
        memset(&utc, 0, sizeof utc);
    for (int tries = 0; tries < 1000; tries++) {
        if (strftime(id, CKPT_RUN_ID_LEN + 1, "%Y%m%dT%H%M%SZ", &utc) != 16)
            snprintf(id, CKPT_RUN_ID_LEN + 1, "00000000T000000Z");
        snprintf(id + 16, CKPT_RUN_ID_LEN + 1 - 16, "-%04x", random16());
        if (!dir || !id_in_use(dir, id))
            return;
    }
}

/* ---- the current-run file ------------------------------------------------------------------ */

int ckpt_current_run(const char *dir, char id[CKPT_RUN_ID_LEN + 1], char *err, size_t len)
{
    char path[4096], buf[64];
    snprintf(path, sizeof path, "%s/%s", dir, CKPT_CURRENT_RUN);
    id[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return 0;
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    int e = errno;
    if (fd >= 0)
        close(fd);   /* read-only: nothing to lose */
    if (n < 0) {
        ckpt_errf(err, len, "%s: cannot read: %s", path, strerror(e));
        return -1;
    }
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    if (!ckpt_run_id_valid(buf)) {
        ckpt_errf(err, len, "%s: not a run id (this file names the run --resume continues; "
                  "remove it to resume the newest run of the directory)", path);
        return -1;
    }
    memcpy(id, buf, CKPT_RUN_ID_LEN + 1);   /* valid: exactly CKPT_RUN_ID_LEN characters */
    return 0;
}

int ckpt_set_current_run(const char *dir, const char *run_id, char *err, size_t len)
{
    char path[4096], line[CKPT_RUN_ID_LEN + 2];
    ckpt_out out;
    snprintf(path, sizeof path, "%s/%s", dir, CKPT_CURRENT_RUN);
    int n = snprintf(line, sizeof line, "%s\n", run_id);
    if (ckpt_out_open(&out, path) == 0) {
        ckpt_out_bytes(&out, line, (size_t)n);
        if (!out.failed && ckpt_out_commit(&out) == 0)
            return 0;
        if (out.f)
            ckpt_out_abandon(&out);
    }
    ckpt_errf(err, len, "cannot record the current run: %s", out.msg);
    return -1;
}

/* ---- which run ------------------------------------------------------------------------------ */

/* --resume: the current-run file's run, else the newest run with checkpoints (newest_run,
 * "" for legacy files); its newest checkpoint, if any. */
static int plan_resume(const char *dir, const char *current, const char *newest_run,
                       ckpt_run *run, char *err, size_t len)
{
    const char *which = current[0] ? current : newest_run;
    int found = ckpt_find_latest(dir, which, run->resume_path, sizeof run->resume_path, err, len);
    if (found < 0)
        return BIVAE_EXIT_USAGE;
    if (which[0] && (found || current[0]))
        snprintf(run->id, sizeof run->id, "%s", which);
    else
        ckpt_new_run_id(dir, run->id);   /* a legacy checkpoint, or nothing at all */
    return 0;
}

int ckpt_run_plan(const char *dir, int resume, int overwrite, ckpt_run *run, char *err,
                  size_t len)
{
    char current[CKPT_RUN_ID_LEN + 1], newest_run[CKPT_RUN_ID_LEN + 1], newest[4096];
    memset(run, 0, sizeof *run);
    int rc = ckpt_prepare_dir(dir, err, len);
    if (rc)
        return rc;
    if (ckpt_current_run(dir, current, err, len) != 0)
        return BIVAE_EXIT_USAGE;
    int n = ckpt_find_runs(dir, newest_run, newest, sizeof newest, err, len);
    if (n < 0)
        return BIVAE_EXIT_USAGE;
    if (resume)
        return plan_resume(dir, current, newest_run, run, err, len);
    if (n > 0 && !overwrite) {
        ckpt_errf(err, len, "--checkpoint-dir %s holds checkpoints of an earlier run (newest: "
                  "%s): pass --resume to continue it, or --overwrite to start a new run beside "
                  "it (its files are kept)", dir, newest);
        return BIVAE_EXIT_USAGE;
    }
    ckpt_new_run_id(dir, run->id);
    return 0;
}
