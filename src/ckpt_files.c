/* src/ckpt_files.c — the checkpoint directory: file names, the newest complete checkpoint
 * of a run, rotation within a run. See checkpoint.h ("Runs"). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/check.h"
#include "common/fsutil.h"
#include "src/checkpoint.h"
#include "src/ckpt_internal.h"

void ckpt_file_name(const char *run_id, const ckpt_position *pos, int64_t item_steps, char *buf,
                    size_t len)
{
    char run[CKPT_RUN_ID_LEN + 2] = "";
    if (run_id && run_id[0])
        snprintf(run, sizeof run, "%s-", run_id);
    if (pos->phase == CKPT_AT_EPOCH_END) {
        snprintf(buf, len, "ckpt-%s%06d.bvck", run, pos->epoch);
        return;
    }
    int64_t step = pos->phase == CKPT_IN_ITEM_PHASE ? pos->step : item_steps + pos->step;
    snprintf(buf, len, "ckpt-%s%06d-%06lld.bvck", run, pos->epoch, (long long)step);
}

/* Digits at *p (at least one) into *v; advances p. */
static int parse_digits(const char **p, long long *v)
{
    const char *s = *p;
    long long x = 0;
    if (*s < '0' || *s > '9')
        return 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (x > (LLONG_MAX - 9) / 10)
            return 0;
        x = x * 10 + (*s - '0');
    }
    *p = s;
    *v = x;
    return 1;
}

/* "ckpt-[RUN-]E[-S].bvck" (+ ".tmp" when *tmp): 1 with the run id ("" for a legacy name)
 * and the position key, else 0. A run id contains a 'T', so it is never an epoch. */
static int parse_name(const char *name, char run[CKPT_RUN_ID_LEN + 1], long long key[2], int *tmp)
{
    const char *p = name;
    key[1] = 0;
    run[0] = '\0';
    if (strncmp(p, "ckpt-", 5) != 0)
        return 0;
    p += 5;
    if (strlen(p) > CKPT_RUN_ID_LEN && p[CKPT_RUN_ID_LEN] == '-') {
        memcpy(run, p, CKPT_RUN_ID_LEN);
        run[CKPT_RUN_ID_LEN] = '\0';
        if (!ckpt_run_id_valid(run))
            return 0;
        p += CKPT_RUN_ID_LEN + 1;
    }
    if (!parse_digits(&p, &key[0]))
        return 0;
    if (*p == '-') {
        p++;
        if (!parse_digits(&p, &key[1]))
            return 0;
    }
    if (strncmp(p, ".bvck", 5) != 0)
        return 0;
    p += 5;
    *tmp = strcmp(p, ".tmp") == 0;
    return *p == '\0' || *tmp;
}

typedef struct ckpt_entry {
    char run[CKPT_RUN_ID_LEN + 1];
    long long key[2];
    char name[256];
} ckpt_entry;

/* Newest run first (legacy last: "" sorts lowest), then newest position first. Run ids
 * begin with their UTC start time, so they sort by age. */
static int entry_cmp(const void *a, const void *b)
{
    const ckpt_entry *x = a, *y = b;
    int r = strcmp(y->run, x->run);
    if (r)
        return r;
    for (int i = 0; i < 2; i++)
        if (x->key[i] != y->key[i])
            return x->key[i] < y->key[i] ? 1 : -1;
    return strcmp(x->name, y->name);
}

/* 1 when dir/name is not a directory (a checkpoint file, or a leftover .tmp). */
static int not_a_dir(const char *dir, const char *name)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return lstat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

/* The checkpoints of dir (complete ones, or with `tmp` the .tmp leftovers), sorted by
 * entry_cmp; directories with such names are not checkpoints. Returns the count, or -1
 * with err set. *out: malloc'd. */
static int list_dir(const char *dir, int want_tmp, ckpt_entry **out, char *err, size_t err_len)
{
    DIR *dp = opendir(dir);
    if (!dp) {
        ckpt_errf(err, err_len, "%s: cannot read the checkpoint directory: %s", dir,
                  strerror(errno));
        return -1;
    }
    int n = 0, cap = 16;
    ckpt_entry *v = xmalloc(sizeof(ckpt_entry) * (size_t)cap);
    struct dirent *de;
    while ((errno = 0, de = readdir(dp)) != NULL) {   /* errno: readdir's own failure */
        ckpt_entry e;
        int tmp = 0;
        if (strlen(de->d_name) >= sizeof e.name || !parse_name(de->d_name, e.run, e.key, &tmp) ||
            tmp != want_tmp || !not_a_dir(dir, de->d_name))
            continue;
        snprintf(e.name, sizeof e.name, "%s", de->d_name);
        if (n == cap)
            v = xrealloc(v, sizeof(ckpt_entry) * (size_t)(cap *= 2));
        v[n++] = e;
    }
    int rerr = errno;
    if (closedir(dp) != 0 && !rerr)
        rerr = errno;
    if (rerr) {
        ckpt_errf(err, err_len, "%s: cannot read the checkpoint directory: %s", dir,
                  strerror(rerr));
        free(v);
        return -1;
    }
    qsort(v, (size_t)n, sizeof(ckpt_entry), entry_cmp);
    *out = v;
    return n;
}

int ckpt_find_latest(const char *dir, const char *run_id, char *path, size_t len, char *err,
                     size_t err_len)
{
    ckpt_entry *v = NULL;
    int n = list_dir(dir, 0, &v, err, err_len), found = 0;
    if (n < 0)
        return -1;
    for (int i = 0; i < n && !found; i++)
        if (strcmp(v[i].run, run_id) == 0) {
            snprintf(path, len, "%s/%s", dir, v[i].name);
            found = 1;
        }
    free(v);
    return found;
}

int ckpt_find_runs(const char *dir, char run_id[CKPT_RUN_ID_LEN + 1], char *path, size_t len,
                   char *err, size_t err_len)
{
    ckpt_entry *v = NULL;
    int n = list_dir(dir, 0, &v, err, err_len);
    if (n < 0)
        return -1;
    run_id[0] = '\0';
    if (n > 0) {
        snprintf(run_id, CKPT_RUN_ID_LEN + 1, "%s", v[0].run);
        snprintf(path, len, "%s/%s", dir, v[0].name);
    }
    free(v);
    return n;
}

int ckpt_name_uses(const char *dir, const char *run_id, char *err, size_t err_len)
{
    ckpt_entry *v = NULL;
    int used = 0;
    for (int tmp = 0; tmp < 2; tmp++) {
        int n = list_dir(dir, tmp, &v, err, err_len);
        if (n < 0)
            return -1;
        for (int i = 0; i < n; i++)
            used |= strcmp(v[i].run, run_id) == 0;
        free(v);
    }
    return used;
}

/* Removes dir/name; on failure records the first error in err. */
static int remove_entry(const char *dir, const char *name, char *err, size_t err_len, int rc)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (unlink(path) == 0 || errno == ENOENT)
        return rc;
    if (rc == 0)
        ckpt_errf(err, err_len, "cannot remove old checkpoint %s: %s", path, strerror(errno));
    return -1;
}

int ckpt_rotate(const char *dir, const char *run_id, int keep, char *err, size_t err_len)
{
    ckpt_entry *v = NULL;
    int rc = 0, kept = 0, n = list_dir(dir, 0, &v, err, err_len);
    if (n < 0)
        return -1;
    for (int i = 0; i < n; i++)   /* newest first: the first `keep` of the run stay */
        if (strcmp(v[i].run, run_id) == 0 && ++kept > (keep > 0 ? keep : 1))
            rc = remove_entry(dir, v[i].name, err, err_len, rc);
    free(v);
    n = list_dir(dir, 1, &v, err, err_len);   /* leftovers of this run's killed writers */
    if (n < 0)
        return -1;
    for (int i = 0; i < n; i++)
        if (strcmp(v[i].run, run_id) == 0)
            rc = remove_entry(dir, v[i].name, err, err_len, rc);
    free(v);
    return rc;
}

int ckpt_prepare_dir(const char *dir, char *err, size_t err_len)
{
    struct stat st;
    char why[1024];
    if (stat(dir, &st) != 0) {   /* missing: created with its parents, as mkdir -p does */
        if (fs_mkdir_p(dir, why, sizeof why) != 0) {   /* why: the component and the reason */
            ckpt_errf(err, err_len, "--checkpoint-dir %s: cannot create: %s", dir, why);
            return BIVAE_EXIT_USAGE;
        }
        return 0;
    }
    if (!S_ISDIR(st.st_mode)) {
        ckpt_errf(err, err_len, "--checkpoint-dir %s: not a directory", dir);
        return BIVAE_EXIT_USAGE;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        ckpt_errf(err, err_len, "--checkpoint-dir %s: not writable: %s", dir, strerror(errno));
        return BIVAE_EXIT_USAGE;
    }
    return 0;
}
