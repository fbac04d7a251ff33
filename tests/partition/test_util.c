/* tests/partition/test_util.c — see test_util.h */
#include "test_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

comm *test_comm;
static char tmpdir[256];

int test_tmpdir_setup(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/bivae-partition-XXXXXX", base ? base : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

int test_tmpdir_teardown(void **state)
{
    (void)state;
    DIR *dir = opendir(tmpdir);
    struct dirent *e;
    while (dir && (e = readdir(dir)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            unlink(test_path(e->d_name));
    if (dir)
        closedir(dir);
    return rmdir(tmpdir);
}

const char *test_path(const char *name)
{
    static char slots[8][512];
    static int next;
    char *p = slots[next++ % 8];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    return p;
}

const char *test_write(const char *name, const char *bytes, size_t n)
{
    const char *path = test_path(name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(bytes, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        abort();
    }
    return path;
}

char *test_capture_stderr(int (*fn)(void *), void *arg, int *rc)
{
    const char *path = test_path("stderr.txt");
    fflush(stderr);
    int saved = dup(2), fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    *rc = fn(arg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    off_t n = lseek(fd, 0, SEEK_END);
    char *out = calloc((size_t)n + 1, 1);
    if (pread(fd, out, (size_t)n, 0) != n)
        out[0] = '\0';
    close(fd);
    unlink(path);
    fputs(out, stderr);                                  /* still visible in the test log */
    return out;
}

data_options test_options(const char *path, data_format fmt)
{
    data_options o;
    memset(&o, 0, sizeof o);
    o.data_path = path;
    o.format = fmt;
    o.test_ratio = 0.0;
    o.seed = 42;
    o.permute_ids = 0;
    return o;
}

typedef struct load_call { const data_options *opt; dataset *d; } load_call;

static int run_load(void *arg)
{
    load_call *l = arg;
    return dataset_load(l->opt, test_comm, l->d);
}

int test_load(const data_options *opt, dataset *d, char **err)
{
    load_call l = {opt, d};
    int rc;
    char *text = test_capture_stderr(run_load, &l, &rc);
    if (err)
        *err = text;
    else
        free(text);
    return rc;
}

int test_count_error_lines(const char *s)
{
    int n = 0;
    for (const char *p = s; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p))
        n += strncmp(p, "bivae-dist: error: ", 19) == 0;
    return n;
}

int id_tables_equal(const id_table *a, const id_table *b)
{
    return a->n == b->n && memcmp(a->off, b->off, sizeof(int64_t) * (size_t)(a->n + 1)) == 0 &&
           memcmp(a->text, b->text, (size_t)a->off[a->n]) == 0;
}

int64_t *test_ids(const id_table *t)
{
    int64_t *v = malloc(sizeof(int64_t) * (size_t)(t->n ? t->n : 1));
    for (int64_t j = 0; j < t->n; j++) {
        size_t len;
        const char *p = id_table_get(t, j, &len);
        char buf[32];
        snprintf(buf, sizeof buf, "%.*s", (int)len, p);
        v[j] = strtoll(buf, NULL, 10);
    }
    return v;
}

static int64_t find_raw(const int64_t *raw, int64_t n, int64_t id)
{
    for (int64_t g = 0; g < n; g++)
        if (raw[g] == id)
            return g;
    return -1;
}

int test_has_one(const csr_matrix *m, const int64_t *row_raw, const int64_t *col_raw,
                 int64_t raw_row, int64_t raw_col)
{
    int64_t r = find_raw(row_raw, m->nrows, raw_row), c = find_raw(col_raw, m->ncols, raw_col);
    if (r < 0 || c < 0)
        return 0;
    for (int64_t k = m->rowptr[r]; k < m->rowptr[r + 1]; k++)
        if (m->col[k] == c)
            return 1;
    return 0;
}
