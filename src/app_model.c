/* src/app_model.c — the commands that use a trained model: eval, recommend and export
 * --model CKPT (cli.md). They read the checkpoint (src/checkpoint.h) and need nothing of
 * the training run but, for eval, its data.
 *
 *   eval       collective: every rank re-loads the data (the checkpoint's data options
 *              unless data flags are given; the seed is always the checkpoint's), checks
 *              that it is the checkpoint's (id maps, training pairs), takes μ_β and its own
 *              rows of μ_θ from the file and runs eval_ranking: the metrics the training
 *              run would print with that checkpoint's parameters.
 *   recommend  rank 0: for each raw user id, the top-K items by μ_θ·μ_β among the items
 *              the user did not rate in training (the checkpoint's training rows), as
 *              "user<TAB>rank<TAB>item<TAB>score" lines (raw ids) after a header line,
 *              users in the order asked; ids not in the checkpoint: an error for --user,
 *              skipped with one note for --users. It holds μ_β, both id maps and the row
 *              offsets in full, μ_θ and training rows only of the users asked.
 *              --history FILE: the file's users, μ_θ folded in from their items by the
 *              user encoder (src/app_history.c), their items excluded; --user-features
 *              FILE: θ = μ_prior of each row (src/app_cold.c), nothing excluded;
 *              --new-items FILE: items with β = μ_prior join the candidates. The two
 *              feature modes need a one-rank run (the feature reader is collective).
 *   export     rank 0: mu_theta.npy, mu_beta.npy, theta_tilde.npy, beta_tilde.npy
 *              ([rows × K] float32, row = global id) and user_ids.csv / item_ids.csv
 *              ("index,raw_id": row index -> raw id) into --out DIR (made as `mkdir -p`
 *              does); the file is checked completely before anything is written, and the
 *              six files take their names together once all are complete (a failure
 *              leaves none of them). */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/check.h"
#include "common/outfile.h"
#include "src/app.h"
#include "src/app_cold.h"
#include "src/app_history.h"
#include "src/checkpoint.h"
#include "src/ckpt_io.h"
#include "src/cyclic_rows.h"
#include "src/eval.h"
#include "src/log.h"
#include "src/npy.h"
#include "partition/rawid.h"

#define ERR_LEN 1024

/* ---------------------------------------------------------------------------------------- */
/* eval                                                                                       */

/* The data to evaluate on: the data flags when a source is given, else the checkpoint's
 * options. Options not on the command line take the checkpoint's value (a different split,
 * rating filter or id order would not reproduce its training data: given ones are used,
 * and a mismatch is then reported); the seed is always the checkpoint's (eval has no
 * --seed). Strings point into cfg or info. */
static data_options eval_data_options(const bivae_config *cfg, const ckpt_info *info)
{
    const data_options *u = &cfg->data;
    data_options o = info->data;
    if (u->data_path || u->train_path || u->synthetic) {
        o.data_path = u->data_path;
        o.train_path = u->train_path;
        o.test_path = u->test_path;
        o.synthetic = u->synthetic;
        o.format = u->format;
    }
    if (cfg->test_ratio_given)
        o.test_ratio = u->test_ratio;
    if (u->has_min_rating) {
        o.has_min_rating = 1;
        o.min_rating = u->min_rating;
    }
    if (cfg->id_order_given)
        o.permute_ids = u->permute_ids;
    o.seed = info->data.seed;
    return o;
}

typedef struct eval_ctx {
    kern *k;
    const dataset *d;
    const char *path;
    float *mu_theta_local;   /* backend [n_local_users × K] */
    float *mu_beta;          /* backend [n_items × K] */
    int64_t K;
    int rank, P;
} eval_ctx;

static int eval_visit(void *ctx, ckpt_tensor t, int64_t offset, const void *data, int64_t n,
                      char *err, size_t err_len)
{
    eval_ctx *x = ctx;
    if (t == CKPT_USER_IDS || t == CKPT_ITEM_IDS)
        return ckpt_compare_ids(x->d, x->path, t, offset, data, n, err, err_len);
    if (t == CKPT_MU_THETA)
        cyclic_rows_scatter(x->k, x->mu_theta_local, x->K, x->rank, x->P, offset, data, n);
    else if (t == CKPT_MU_BETA)
        kern_upload(x->k, x->mu_beta + offset, data, (size_t)n * sizeof(float));
    return 0;
}

/* The training rows of d in backend memory (what eval excludes as seen). */
static kern_csr upload_seen(kern *k, const dataset *d, void **owned)
{
    size_t rb = sizeof(int64_t) * (size_t)(d->Ru.nrows + 1);
    size_t cb = sizeof(int32_t) * (size_t)(d->Ru.rowptr[d->Ru.nrows] > 0 ? d->Ru.rowptr[d->Ru.nrows] : 1);
    owned[0] = kern_alloc(k, rb);
    owned[1] = kern_alloc(k, cb);
    kern_upload(k, owned[0], d->Ru.rowptr, rb);
    if (d->Ru.rowptr[d->Ru.nrows] > 0)
        kern_upload(k, owned[1], d->Ru.col, sizeof(int32_t) * (size_t)d->Ru.rowptr[d->Ru.nrows]);
    return (kern_csr){d->Ru.nrows, d->n_items, owned[0], owned[1]};
}

/* Collective: μ from the checkpoint, then the metrics. */
static int eval_loaded(const bivae_config *cfg, comm *c, const ckpt_info *info,
                       const dataset *d, run_log *log)
{
    char err[ERR_LEN] = "";
    int64_t K = info->K;
    kern *k = kern_cpu_create(app_resolve_threads(0, comm_local_size(c)));
    eval_ctx x = {k, d, cfg->model_path, NULL, NULL, K, comm_rank(c), comm_size(c)};
    x.mu_theta_local = kern_alloc(k, sizeof(float) * (size_t)((d->n_local_users > 0 ? d->n_local_users : 1) * K));
    x.mu_beta = kern_alloc(k, sizeof(float) * (size_t)(d->n_items * K));
    ckpt_info again;
    int status = ckpt_read(cfg->model_path, &again, eval_visit, &x, err, sizeof err);
    if (!status)
        ckpt_info_free(&again);
    status = comm_agree(c, status, err);
    if (!status) {
        void *owned[2];
        kern_csr seen = upload_seen(k, d, owned);
        eval_result r = eval_ranking(k, c, d, seen, x.mu_theta_local, x.mu_beta, (int)K,
                                     cfg->output.top_k);
        run_log_note(log, "eval: %s, checkpoint %s (%d epoch(s))", d->source,
                     cfg->model_path, info->pos.epoch);
        run_log_final(log, &r, 0.0);
        kern_free(k, owned[0]);
        kern_free(k, owned[1]);
    }
    kern_free(k, x.mu_theta_local);
    kern_free(k, x.mu_beta);
    kern_destroy(k);
    return status;
}

int app_eval(const bivae_config *cfg, comm *c)
{
    char err[ERR_LEN] = "";
    char isa[128];
    ckpt_info info;
    int status = app_check_cpu_isa(c, isa, sizeof isa);
    if (!status)
        status = comm_agree(c, ckpt_read_header(cfg->model_path, &info, err, sizeof err), err);
    if (status)
        return status;
    data_options opt = eval_data_options(cfg, &info);
    dataset d;
    status = dataset_load(&opt, c, &d);
    if (!status) {
        status = comm_agree(c, ckpt_check_data(&info, cfg->model_path, &d, c, err, sizeof err), err);
        if (!status && d.n_test_users == 0) {
            ckpt_errf(err, sizeof err, "eval: %s has no test rows (a --train-only run?): give "
                     "--train FILE --test FILE", d.source);
            status = comm_agree(c, BIVAE_EXIT_USAGE, err);
        }
        run_log *log = status ? NULL : run_log_open(comm_rank(c), NULL, 0, comm_size(c));
        if (!status)
            status = eval_loaded(cfg, c, &info, &d, log);
        if (log)
            run_log_close(log);
        dataset_free(&d);
    }
    ckpt_info_free(&info);
    return status;
}

/* ---------------------------------------------------------------------------------------- */
/* export                                                                                     */

static const struct {
    ckpt_tensor t;
    const char *file;
} export_files[] = {
    {CKPT_USER_IDS, "user_ids.csv"}, {CKPT_ITEM_IDS, "item_ids.csv"},
    {CKPT_THETA, "theta_tilde.npy"}, {CKPT_BETA, "beta_tilde.npy"},
    {CKPT_MU_THETA, "mu_theta.npy"}, {CKPT_MU_BETA, "mu_beta.npy"},
    {CKPT_MU_THETA_PRIOR, "mu_theta_prior.npy"}, {CKPT_MU_BETA_PRIOR, "mu_beta_prior.npy"},
};   /* the CAP priors only when the checkpoint has them (rows > 0) */
#define N_EXPORT ((int)(sizeof export_files / sizeof export_files[0]))

typedef struct export_ctx {
    const char *dir;
    const ckpt_info *info;
    npy_out files[N_EXPORT];      /* .npy writers (and ckpt_out for the CSVs) */
    int open[N_EXPORT];
} export_ctx;

static int64_t export_rows(const ckpt_info *info, ckpt_tensor t)
{
    int64_t rows, cols;
    int ndim;
    ckpt_tensor_shape(info, t, &rows, &cols, &ndim);
    return rows;
}

static int export_index(ckpt_tensor t)
{
    for (int i = 0; i < N_EXPORT; i++)
        if (export_files[i].t == t)
            return i;
    return -1;
}

static int export_open(export_ctx *x, int i, char *err, size_t err_len)
{
    char path[4096];
    int64_t rows, cols;
    int ndim;
    snprintf(path, sizeof path, "%s/%s", x->dir, export_files[i].file);
    ckpt_tensor_shape(x->info, export_files[i].t, &rows, &cols, &ndim);
    npy_out *w = &x->files[i];
    int rc;
    if (ndim == 2) {
        rc = npy_open(w, path, rows, cols);
    } else {
        memset(w, 0, sizeof(*w));
        w->expected = rows;
        rc = ckpt_out_open_new(&w->out, path);
        ckpt_out_bytes(&w->out, "index,raw_id\n", 13);
    }
    x->open[i] = 1;
    if (rc != 0 || w->out.failed) {   /* not created: the folder's fault (2); else I/O (3) */
        ckpt_errf(err, err_len, "--out %s: %s", x->dir, w->out.msg);
        return w->out.f ? BIVAE_EXIT_RUNTIME : BIVAE_EXIT_USAGE;
    }
    return 0;
}

/* One CSV field: as is, or quoted (RFC 4180) when it holds a comma or a quote. */
static void csv_field(ckpt_out *out, const char *p, size_t n)
{
    if (!memchr(p, ',', n) && !memchr(p, '"', n)) {
        ckpt_out_bytes(out, p, n);
        return;
    }
    ckpt_out_bytes(out, "\"", 1);
    for (size_t k = 0; k < n; k++) {
        if (p[k] == '"')
            ckpt_out_bytes(out, "\"", 1);          /* a quote is doubled */
        ckpt_out_bytes(out, p + k, 1);
    }
    ckpt_out_bytes(out, "\"", 1);
}

/* "index,raw_id" lines of ids [offset, offset + n). */
static void export_csv(npy_out *w, int64_t offset, const ckpt_str *ids, int64_t n)
{
    char index[32];
    for (int64_t j = 0; j < n && !w->out.failed; j++) {
        int len = snprintf(index, sizeof index, "%lld,", (long long)(offset + j));
        ckpt_out_bytes(&w->out, index, (size_t)len);
        csv_field(&w->out, ids[j].p, ids[j].n);
        ckpt_out_bytes(&w->out, "\n", 1);
    }
    w->written += n;
}

static int export_visit(void *ctx, ckpt_tensor t, int64_t offset, const void *data, int64_t n,
                        char *err, size_t err_len)
{
    export_ctx *x = ctx;
    int i = export_index(t), rc;
    if (i < 0)
        return 0;
    if (offset == 0 && (rc = export_open(x, i, err, err_len)))
        return rc;
    npy_out *w = &x->files[i];
    if (ckpt_tensor_dtype(t) == CKPT_F32)
        npy_write_f32(w, data, n);
    else
        export_csv(w, offset, data, n);
    if (w->written < w->expected)
        return 0;
    if (npy_finish(w) != 0) {       /* renamed with the others when all are complete */
        x->open[i] = 0;
        ckpt_errf(err, err_len, "--out %s: %s", x->dir, w->out.msg);
        return BIVAE_EXIT_RUNTIME;
    }
    return 0;
}

/* --out DIR: made as `mkdir -p` does. */
static int make_out_dir(const char *dir, char *err, size_t err_len)
{
    return outfile_prepare_dir("--out", dir, err, err_len) ? BIVAE_EXIT_USAGE : 0;
}

static int export_model(const bivae_config *cfg, char *err, size_t err_len)
{
    ckpt_info info;
    int status = ckpt_read(cfg->model_path, &info, NULL, NULL, err, err_len);   /* check first */
    if (status)
        return status;
    status = make_out_dir(cfg->output.out, err, err_len);
    export_ctx x;
    memset(&x, 0, sizeof x);
    x.dir = cfg->output.out;
    x.info = &info;
    if (!status) {
        ckpt_info again;
        status = ckpt_read(cfg->model_path, &again, export_visit, &x, err, err_len);
        if (!status)
            ckpt_info_free(&again);
    }
    for (int i = 0; i < N_EXPORT && !status; i++) {   /* all complete: in place together */
        if (!x.open[i] && export_rows(&info, export_files[i].t) == 0)
            continue;   /* a CAP prior of a side without CAP: no file */
        if (ckpt_out_commit(&x.files[i].out) != 0) {
            ckpt_errf(err, err_len, "--out %s: %s", x.dir, x.files[i].out.msg);
            status = BIVAE_EXIT_RUNTIME;
        }
        x.open[i] = 0;
    }
    for (int i = 0; i < N_EXPORT; i++)
        if (x.open[i])
            npy_abandon(&x.files[i]);
    ckpt_info_free(&info);
    return status;
}

int app_export(const bivae_config *cfg, comm *c)
{
    char err[ERR_LEN] = "";
    int status = comm_rank(c) == 0 ? export_model(cfg, err, sizeof err) : 0;
    status = comm_agree(c, status, err);
    if (!status && comm_rank(c) == 0)
        fprintf(stderr, "bivae-dist: exported %s to %s\n", cfg->model_path, cfg->output.out);
    return status;
}

/* ---------------------------------------------------------------------------------------- */
/* recommend                                                                                  */

/* The users asked for, and what the checkpoint says about them. */
typedef struct rec_users {
    int64_t n, cap;
    char **raw;            /* [n] raw ids (NUL-terminated copies), in the order asked */
    int64_t *by_raw;       /* [n] indices sorted by raw id (to look ids up while reading) */
    int64_t *g;            /* [n] global ids (−1: not in the checkpoint) */
    int64_t *by_g;         /* [n_known] indices of known users, sorted by global id */
    int64_t n_known;
} rec_users;

typedef struct rec_ctx {
    const ckpt_info *info;
    rec_users *u;
    id_table items;        /* [I] raw item ids, from ids.item */
    int64_t *rowptr;       /* [U + 1] */
    int64_t *sel_ptr;      /* [n_known + 1] offsets of the known users' seen items */
    int32_t *sel_col;      /* [sel_ptr[n_known]] */
    float *mu_theta;       /* [n_known × K] rows of by_g order */
    float *mu_beta;        /* [n_items × K] */
    int64_t n_items;       /* candidate items: I, then the --new-items rows */
    size_t items_cap;      /* bytes allocated for items.text */
    int resolved;
} rec_ctx;

/* A raw id as the user typed it: one line of why[] when it cannot be an id. */
static int check_raw_id(const char *s, char *why, size_t len)
{
    raw_id id;
    unsigned char bad = 0;
    raw_id_status st = raw_id_parse(s, strlen(s), &id, &bad);
    if (st == RAW_ID_EMPTY)
        snprintf(why, len, "an empty user id");
    else if (st == RAW_ID_TOO_LONG)
        snprintf(why, len, "a user id longer than %d bytes", RAW_ID_MAX_BYTES);
    else if (st == RAW_ID_CONTROL)
        snprintf(why, len, "a user id with a control character (byte 0x%02x)", bad);
    return st == RAW_ID_OK ? 0 : -1;
}

static void users_add(rec_users *u, const char *raw)
{
    if (u->n == u->cap) {
        u->cap = u->cap ? u->cap * 2 : 64;
        u->raw = xrealloc(u->raw, sizeof(char *) * (size_t)u->cap);
    }
    u->raw[u->n++] = xstrdup(raw);
}

/* Trims a line in place: no '\n' / '\r' / surrounding blanks. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* --users FILE: one raw id per line; blank lines and lines starting with '#' skipped. */
static int read_users_file(const char *path, rec_users *u, char *err, size_t err_len)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        ckpt_errf(err, err_len, "--users %s: cannot open: %s", path, strerror(errno));
        return BIVAE_EXIT_USAGE;
    }
    char *line = NULL, why[96], ex[64];
    size_t cap = 0;
    ssize_t got;
    int64_t lineno = 0;
    int status = 0;
    while (!status && (errno = 0, got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        char *s = memchr(line, '\0', (size_t)got) ? NULL : trim(line);
        if (s && (*s == '\0' || *s == '#'))
            continue;
        if (!s || check_raw_id(s, why, sizeof why) != 0) {
            raw_id_excerpt(line, s ? strlen(line) : 0, ex, sizeof ex);
            ckpt_errf(err, err_len, "%s:%lld: not a raw user id ('%s'): %s", path,
                      (long long)lineno, ex, s ? why : "binary data (a NUL byte)");
            status = BIVAE_EXIT_USAGE;
        } else {
            users_add(u, s);
        }
    }
    if (!status && ferror(f)) {
        ckpt_errf(err, err_len, "--users %s: read error: %s", path, strerror(errno));
        status = BIVAE_EXIT_RUNTIME;
    }
    free(line);
    fclose(f);   /* read-only */
    if (!status && u->n == 0) {
        ckpt_errf(err, err_len, "--users %s: no user ids in the file", path);
        status = BIVAE_EXIT_USAGE;
    }
    return status;
}

static const char *const *sort_names;   /* qsort context for cmp_by_raw */
static int cmp_by_raw(const void *a, const void *b)
{
    int c = strcmp(sort_names[*(const int64_t *)a], sort_names[*(const int64_t *)b]);
    return c ? c : (*(const int64_t *)a > *(const int64_t *)b) - (*(const int64_t *)a < *(const int64_t *)b);
}

static int parse_users(const bivae_config *cfg, rec_users *u, char *err, size_t err_len)
{
    char why[96];
    memset(u, 0, sizeof(*u));
    int status = 0;
    if (cfg->users_file) {
        status = read_users_file(cfg->users_file, u, err, err_len);
    } else if (check_raw_id(cfg->user, why, sizeof why) != 0) {
        ckpt_errf(err, err_len, "--user: %s", why);
        status = BIVAE_EXIT_USAGE;
    } else {
        users_add(u, cfg->user);
    }
    if (status)
        return status;
    u->by_raw = xmalloc(sizeof(int64_t) * (size_t)u->n);
    u->g = xmalloc(sizeof(int64_t) * (size_t)u->n);
    for (int64_t i = 0; i < u->n; i++) {
        u->by_raw[i] = i;
        u->g[i] = -1;
    }
    sort_names = (const char *const *)u->raw;
    qsort(u->by_raw, (size_t)u->n, sizeof(int64_t), cmp_by_raw);
    return 0;
}

/* The asked users whose raw id is p[n]: global id g. */
static void match_user(rec_users *u, const char *p, size_t n, int64_t g)
{
    int64_t lo = 0, hi = u->n;
    while (lo < hi) {            /* the first asked id >= p[n] */
        int64_t mid = lo + (hi - lo) / 2;
        const char *r = u->raw[u->by_raw[mid]];
        size_t rn = strlen(r);
        int c = memcmp(r, p, rn < n ? rn : n);
        if (c < 0 || (c == 0 && rn < n))
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < u->n; lo++) {
        const char *r = u->raw[u->by_raw[lo]];
        if (strlen(r) != n || memcmp(r, p, n) != 0)
            break;
        u->g[u->by_raw[lo]] = g;
    }
}

static int64_t *g_order;   /* qsort context for cmp_by_g */
static int cmp_by_g(const void *a, const void *b)
{
    int64_t x = g_order[*(const int64_t *)a], y = g_order[*(const int64_t *)b];
    return x < y ? -1 : x > y;
}

/* After ids.user: the known users in global-id order. */
static void resolve_users(rec_ctx *x)
{
    rec_users *u = x->u;
    u->by_g = xmalloc(sizeof(int64_t) * (size_t)(u->n ? u->n : 1));
    for (int64_t i = 0; i < u->n; i++)
        if (u->g[i] >= 0)
            u->by_g[u->n_known++] = i;
    g_order = u->g;
    qsort(u->by_g, (size_t)u->n_known, sizeof(int64_t), cmp_by_g);
    x->mu_theta = xcalloc((size_t)(u->n_known > 0 ? u->n_known : 1) * (size_t)x->info->K, sizeof(float));
    x->resolved = 1;
}

/* Appends ids [offset, offset + n) of ids.item to the item table (off sized [I + 1]). */
static void add_items(id_table *t, int64_t offset, const ckpt_str *ids, int64_t n, size_t *cap)
{
    for (int64_t j = 0; j < n; j++) {
        size_t at = (size_t)t->off[offset + j];
        if (at + ids[j].n > *cap) {
            *cap = 2 * (*cap + ids[j].n);
            t->text = xrealloc(t->text, *cap);
        }
        memcpy(t->text + at, ids[j].p, ids[j].n);
        t->off[offset + j + 1] = (int64_t)(at + ids[j].n);
    }
}

/* The seen-item offsets of the known users, from train.rowptr (complete by now). */
static void size_seen(rec_ctx *x)
{
    rec_users *u = x->u;
    x->sel_ptr = xmalloc(sizeof(int64_t) * (size_t)(u->n_known + 1));
    x->sel_ptr[0] = 0;
    for (int64_t j = 0; j < u->n_known; j++) {
        int64_t g = u->g[u->by_g[j]];
        x->sel_ptr[j + 1] = x->sel_ptr[j] + x->rowptr[g + 1] - x->rowptr[g];
    }
    x->sel_col = xmalloc(sizeof(int32_t) * (size_t)(x->sel_ptr[u->n_known] > 0 ? x->sel_ptr[u->n_known] : 1));
}

/* Known user j's row in a row-major table of width w, or in train.col (is_col): [r0, r1). */
static void row_span(const rec_ctx *x, int64_t j, int is_col, int64_t w, int64_t *r0, int64_t *r1)
{
    int64_t g = x->u->g[x->u->by_g[j]];
    *r0 = is_col ? x->rowptr[g] : g * w;
    *r1 = is_col ? x->rowptr[g + 1] : (g + 1) * w;
}

/* Parts of chunk [offset, offset + n) of a table (row width w, or train.col) that belong
 * to the known users' rows, copied into dst (by_g order: user j's row at element
 * sel_ptr[j] for train.col, j·w otherwise). */
static void pick_rows(const rec_ctx *x, int64_t offset, const void *data, int64_t n, size_t esz,
                      int is_col, char *dst, int64_t w)
{
    int64_t lo = 0, hi = x->u->n_known, r0, r1;
    while (lo < hi) {   /* the first known user whose row ends after offset */
        int64_t mid = lo + (hi - lo) / 2;
        row_span(x, mid, is_col, w, &r0, &r1);
        if (r1 <= offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (int64_t j = lo; j < x->u->n_known; j++) {
        row_span(x, j, is_col, w, &r0, &r1);
        if (r0 >= offset + n)
            break;
        int64_t d0 = is_col ? x->sel_ptr[j] : j * w;
        int64_t a = r0 > offset ? r0 : offset, b = r1 < offset + n ? r1 : offset + n;
        if (b > a)
            memcpy(dst + (size_t)(d0 + a - r0) * esz, (const char *)data + (size_t)(a - offset) * esz,
                   (size_t)(b - a) * esz);
    }
}

static int rec_visit(void *ctx, ckpt_tensor t, int64_t offset, const void *data, int64_t n,
                     char *err, size_t err_len)
{
    rec_ctx *x = ctx;
    int64_t K = x->info->K;
    if (t > CKPT_USER_IDS && !x->resolved)
        resolve_users(x);
    if (t == CKPT_TRAIN_COL && !x->sel_ptr)
        size_seen(x);
    switch (t) {
    case CKPT_USER_IDS:
        for (int64_t j = 0; j < n; j++)
            match_user(x->u, ((const ckpt_str *)data)[j].p, ((const ckpt_str *)data)[j].n, offset + j);
        break;
    case CKPT_ITEM_IDS: add_items(&x->items, offset, data, n, &x->items_cap); break;
    case CKPT_TRAIN_ROWPTR: memcpy(x->rowptr + offset, data, (size_t)n * 8); break;
    case CKPT_TRAIN_COL: pick_rows(x, offset, data, n, 4, 1, (char *)x->sel_col, 1); break;
    case CKPT_MU_THETA: pick_rows(x, offset, data, n, 4, 0, (char *)x->mu_theta, K); break;
    case CKPT_MU_BETA: memcpy(x->mu_beta + offset, data, (size_t)n * sizeof(float)); break;
    default: break;
    }
    return 0;
}

/* ---- scoring ------------------------------------------------------------------------------ */

typedef struct rec_out {
    FILE *f;               /* stdout, or out.f */
    ckpt_out out;          /* --out FILE (atomic) */
    int to_file;
} rec_out;

/* Top-K of known users [j0, j1) (by_g order) into idx/val [(j1 − j0) × top_k] (host). */
static void score_block(kern *k, const rec_ctx *x, int64_t j0, int64_t j1, int top_k,
                        const float *mu_beta_dev, int32_t *idx, float *val)
{
    int64_t m = j1 - j0, I = x->n_items, K = x->info->K;
    int64_t nnz = x->sel_ptr[j1] - x->sel_ptr[j0];
    int64_t *rp = xmalloc(sizeof(int64_t) * (size_t)(m + 1));
    for (int64_t j = 0; j <= m; j++)
        rp[j] = x->sel_ptr[j0 + j] - x->sel_ptr[j0];
    float *theta = kern_alloc(k, sizeof(float) * (size_t)(m * K));     /* [m × K] */
    float *S = kern_alloc(k, sizeof(float) * (size_t)(m * I));         /* [m × I] */
    int64_t *rp_dev = kern_alloc(k, sizeof(int64_t) * (size_t)(m + 1));
    int32_t *col_dev = kern_alloc(k, sizeof(int32_t) * (size_t)(nnz > 0 ? nnz : 1));
    int32_t *idx_dev = kern_alloc(k, sizeof(int32_t) * (size_t)(m * top_k));
    float *val_dev = kern_alloc(k, sizeof(float) * (size_t)(m * top_k));
    kern_upload(k, theta, x->mu_theta + j0 * K, sizeof(float) * (size_t)(m * K));
    kern_upload(k, rp_dev, rp, sizeof(int64_t) * (size_t)(m + 1));
    if (nnz > 0)
        kern_upload(k, col_dev, x->sel_col + x->sel_ptr[j0], sizeof(int32_t) * (size_t)nnz);
    kern_gemm(k, KERN_NO_TRANS, KERN_TRANS, m, I, K, 1.0f, theta, K, mu_beta_dev, K, 0.0f, S, I);
    kern_csr seen = {m, I, rp_dev, col_dev};
    kern_topk_excluding(k, S, m, I, seen, top_k, idx_dev, val_dev);
    kern_download(k, idx, idx_dev, sizeof(int32_t) * (size_t)(m * top_k));
    kern_download(k, val, val_dev, sizeof(float) * (size_t)(m * top_k));
    void *bufs[] = {theta, S, rp_dev, col_dev, idx_dev, val_dev};
    for (size_t b = 0; b < sizeof bufs / sizeof bufs[0]; b++)
        kern_free(k, bufs[b]);
    free(rp);
}

static void print_line(rec_out *o, const char *user, int rank, const id_table *items,
                       int32_t item, float score)
{
    char tail[64];
    size_t n;
    const char *it = id_table_get(items, item, &n);
    int len = snprintf(tail, sizeof tail, "\t%.7g\n", score);
    char head[32];
    int hl = snprintf(head, sizeof head, "\t%d\t", rank);
    if (o->to_file) {
        ckpt_out_bytes(&o->out, user, strlen(user));
        ckpt_out_bytes(&o->out, head, (size_t)hl);
        ckpt_out_bytes(&o->out, it, n);
        ckpt_out_bytes(&o->out, tail, (size_t)len);
    } else {
        printf("%s%s%.*s%s", user, head, (int)n, it, tail);
    }
}

/* All known users' top-K, in blocks; rows printed in the order the users were asked. */
static void recommend_all(const rec_ctx *x, int top_k, rec_out *o)
{
    const rec_users *u = x->u;
    int64_t I = x->n_items, K = x->info->K, nk = u->n_known;
    int64_t block = ((int64_t)1 << 24) / I;           /* scores of one block: <= 64 MiB */
    block = block < 1 ? 1 : block > 256 ? 256 : block;
    kern *k = kern_cpu_create(app_resolve_threads(0, 1));
    float *mu_beta = kern_alloc(k, sizeof(float) * (size_t)(I * K));      /* [I × K] */
    kern_upload(k, mu_beta, x->mu_beta, sizeof(float) * (size_t)(I * K));
    int32_t *idx = xmalloc(sizeof(int32_t) * (size_t)((nk > 0 ? nk : 1) * top_k));
    float *val = xmalloc(sizeof(float) * (size_t)((nk > 0 ? nk : 1) * top_k));
    for (int64_t j0 = 0; j0 < nk; j0 += block)
        score_block(k, x, j0, j0 + block < nk ? j0 + block : nk, top_k, mu_beta,
                    idx + j0 * top_k, val + j0 * top_k);
    int64_t *pos_of = xmalloc(sizeof(int64_t) * (size_t)(u->n > 0 ? u->n : 1));
    for (int64_t j = 0; j < nk; j++)
        pos_of[u->by_g[j]] = j;
    const char *head = "user\trank\titem\tscore\n";
    if (o->to_file)
        ckpt_out_bytes(&o->out, head, strlen(head));
    else
        fputs(head, stdout);
    for (int64_t i = 0; i < u->n; i++) {
        if (u->g[i] < 0)
            continue;
        int64_t j = pos_of[i];
        for (int r = 0; r < top_k && idx[j * top_k + r] >= 0; r++)
            print_line(o, u->raw[i], r + 1, &x->items, idx[j * top_k + r], val[j * top_k + r]);
    }
    free(pos_of);
    free(idx);
    free(val);
    kern_free(k, mu_beta);
    kern_destroy(k);
}

/* ---- the command ------------------------------------------------------------------------ */

static void rec_free(rec_ctx *x, rec_users *u)
{
    void *bufs[] = {x->rowptr, x->sel_ptr, x->sel_col, x->mu_theta, x->mu_beta, u->raw,
                    u->by_raw, u->g, u->by_g};
    for (int64_t i = 0; i < u->n; i++)
        free(u->raw[i]);
    for (size_t b = 0; b < sizeof bufs / sizeof bufs[0]; b++)
        free(bufs[b]);
    id_table_free(&x->items);
}

/* The checkpoint's parts for the asked users into x. */
static int rec_load(const bivae_config *cfg, rec_ctx *x, ckpt_info *info, char *err, size_t len)
{
    int status = ckpt_read_header(cfg->model_path, info, err, len);
    if (status)
        return status;
    int64_t U = info->n_users, I = info->n_items;
    x->info = info;
    x->n_items = I;
    x->items.n = I;
    x->items.off = xcalloc((size_t)I + 1, sizeof(int64_t));
    x->rowptr = xmalloc(sizeof(int64_t) * (size_t)(U + 1));
    x->mu_beta = xmalloc(sizeof(float) * (size_t)(I * info->K));
    ckpt_info again;
    status = ckpt_read(cfg->model_path, &again, rec_visit, x, err, len);
    if (status)
        return status;
    ckpt_info_free(&again);
    if (!x->resolved)
        resolve_users(x);
    if (!x->sel_ptr)
        size_seen(x);
    return 0;
}

/* --history FILE: its users become the asked users (all "known", global id = their row in
 * the file), their seen items the file's items, μ_θ folded in by the user encoder. A user
 * that is also in the checkpoint gets the same treatment: its μ_θ and seen items come
 * from the file, not from the checkpoint's training row. */
static int rec_history(const bivae_config *cfg, rec_ctx *x, char *err, size_t len)
{
    history h;
    int status = history_read(cfg->history_file, cfg->data.format, &x->items, &h, err, len);
    float *mu = NULL;
    if (!status && h.empty_users == h.n) {
        ckpt_errf(err, len, "--history %s: none of its %lld users has an item of the checkpoint "
                  "%s (nothing to fold in)", cfg->history_file, (long long)h.n, cfg->model_path);
        status = BIVAE_EXIT_USAGE;
    }
    if (!status)
        status = history_fold_in(cfg->model_path, x->info, &h, &mu, err, len);
    if (status) {
        history_free(&h);
        return status;
    }
    if (h.unknown_lines > 0)
        fprintf(stderr, "bivae-dist: note: %lld of %lld ratings in %s name %lld items not in the "
                "checkpoint: ignored\n", (long long)h.unknown_lines, (long long)h.lines,
                cfg->history_file, (long long)h.unknown_items);
    if (h.empty_users > 0)
        fprintf(stderr, "bivae-dist: note: %lld of %lld users in %s have no item of the "
                "checkpoint: skipped\n", (long long)h.empty_users, (long long)h.n,
                cfg->history_file);
    rec_users *u = x->u;
    free(u->by_g);
    free(x->mu_theta);
    u->n = u->cap = h.n;
    u->raw = h.raw;
    u->g = xmalloc(sizeof(int64_t) * (size_t)(h.n > 0 ? h.n : 1));
    u->by_g = xmalloc(sizeof(int64_t) * (size_t)(h.n > 0 ? h.n : 1));
    u->n_known = 0;
    free(x->sel_ptr);
    x->sel_ptr = xmalloc(sizeof(int64_t) * (size_t)(h.n + 1));   /* [n_known + 1] */
    x->sel_ptr[0] = 0;
    x->mu_theta = mu;
    for (int64_t i = 0; i < h.n; i++) {        /* known: the users with an item; in order */
        int64_t n_i = h.rowptr[i + 1] - h.rowptr[i];
        u->g[i] = n_i > 0 ? u->n_known : -1;
        if (n_i == 0)
            continue;
        if (u->n_known != i)
            memmove(mu + u->n_known * x->info->K, mu + i * x->info->K,
                    sizeof(float) * (size_t)x->info->K);
        u->by_g[u->n_known] = i;
        x->sel_ptr[u->n_known + 1] = x->sel_ptr[u->n_known] + n_i;
        u->n_known++;
    }
    free(x->sel_col);
    x->sel_col = h.col;        /* the rows of the users with items are h.col in order */
    free(h.rowptr);
    return 0;
}

/* --user-features FILE: its rows become the asked users (in file order), θ = μ_prior of
 * their features, nothing excluded (no history; a user of the checkpoint is treated the
 * same). c: one rank. */
static int rec_cold(const bivae_config *cfg, comm *c, rec_ctx *x, char *err, size_t len)
{
    cold_users cu;
    int status = cold_users_read(c, cfg->data.user_features, cfg->data.features_format,
                                 cfg->model_path, x->info, &cu, err, len);
    if (status)
        return status;
    rec_users *u = x->u;
    free(u->by_g);
    free(x->mu_theta);
    free(x->sel_ptr);
    free(x->sel_col);
    u->n = u->cap = u->n_known = cu.n;
    u->raw = cu.raw;
    u->g = xmalloc(sizeof(int64_t) * (size_t)cu.n);
    u->by_g = xmalloc(sizeof(int64_t) * (size_t)cu.n);
    for (int64_t i = 0; i < cu.n; i++)
        u->g[i] = u->by_g[i] = i;
    x->sel_ptr = xcalloc((size_t)cu.n + 1, sizeof(int64_t));    /* [n + 1] no seen items */
    x->sel_col = xmalloc(sizeof(int32_t));
    x->mu_theta = cu.mu;
    return 0;
}

/* The item of the checkpoint with raw id p (−1: none). Linear: --new-items files are small
 * next to the catalogue. */
static int64_t find_item(const id_table *t, int64_t I, const char *p)
{
    size_t n = strlen(p);
    for (int64_t j = 0; j < I; j++)
        if ((size_t)(t->off[j + 1] - t->off[j]) == n && memcmp(t->text + t->off[j], p, n) == 0)
            return j;
    return -1;
}

/* --new-items FILE: its rows join the candidate items with β = μ_prior of their features
 * (an id that is already an item of the checkpoint: an error). c: one rank. */
static int rec_new_items(const bivae_config *cfg, comm *c, rec_ctx *x, char *err, size_t len)
{
    cold_users ni;
    int status = cold_rows_read(c, SIDE_ITEM, cfg->new_items_file, cfg->data.features_format,
                                cfg->model_path, x->info, &ni, err, len);
    for (int64_t i = 0; !status && i < ni.n; i++)
        if (find_item(&x->items, x->n_items, ni.raw[i]) >= 0) {
            ckpt_errf(err, len, "--new-items %s: '%s' is an item of the checkpoint %s (it has a "
                      "trained β)", cfg->new_items_file, ni.raw[i], cfg->model_path);
            status = BIVAE_EXIT_USAGE;
        }
    if (status) {
        cold_users_free(&ni);
        return status;
    }
    int64_t I = x->n_items, K = x->info->K, n = I + ni.n;
    x->items.off = xrealloc(x->items.off, sizeof(int64_t) * (size_t)(n + 1));
    for (int64_t i = 0; i < ni.n; i++) {
        ckpt_str id = {ni.raw[i], strlen(ni.raw[i])};
        add_items(&x->items, I + i, &id, 1, &x->items_cap);
    }
    x->items.n = n;
    x->mu_beta = xrealloc(x->mu_beta, sizeof(float) * (size_t)(n * K));      /* [n × K] */
    memcpy(x->mu_beta + I * K, ni.mu, sizeof(float) * (size_t)(ni.n * K));
    x->n_items = n;
    fprintf(stderr, "bivae-dist: note: %lld new items from %s join the %lld items of the "
            "checkpoint (beta = mu_prior of their features)\n", (long long)ni.n,
            cfg->new_items_file, (long long)I);
    cold_users_free(&ni);
    return 0;
}

/* 1 when paths a and b both name one existing file. */
static int same_file(const char *a, const char *b)
{
    struct stat x, y;
    return a && b && stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev &&
           x.st_ino == y.st_ino;
}

/* --out FILE, before the checkpoint is read (an unwritable path fails at once, exit 2):
 * its folder made as `mkdir -p` does, not one of the input files, and a new temporary
 * opened beside it. Nothing to do for stdout (no --out, or "-"). */
static int rec_open_out(const bivae_config *cfg, rec_out *o, char *err, size_t len)
{
    const char *out = cfg->output.out;
    memset(o, 0, sizeof(*o));
    o->to_file = out && strcmp(out, "-") != 0;
    if (!o->to_file)
        return 0;
    if (outfile_prepare_file("--out", out, err, len) != 0)
        return BIVAE_EXIT_USAGE;
    const char *input = same_file(out, cfg->model_path) ? "--model" :
                        same_file(out, cfg->users_file) ? "--users" :
                        same_file(out, cfg->history_file) ? "--history" : NULL;
    if (input) {
        ckpt_errf(err, len, "--out %s: is the %s file (the recommendations would replace it)",
                 out, input);
        return BIVAE_EXIT_USAGE;
    }
    if (ckpt_out_open_new(&o->out, out) != 0) {
        ckpt_errf(err, len, "--out %s", o->out.msg);
        return BIVAE_EXIT_USAGE;
    }
    return 0;
}

/* The unknown users are reported (one --user: an error). */
static int rec_begin(const bivae_config *cfg, const rec_users *u, char *err, size_t len)
{
    if (u->n_known == 0 && cfg->user) {
        ckpt_errf(err, len, "--user %s: not a user of the checkpoint %s (no training ratings)",
                 cfg->user, cfg->model_path);
        return BIVAE_EXIT_USAGE;
    }
    if (u->n_known < u->n)
        fprintf(stderr, "bivae-dist: note: %lld of %lld users in %s are not in the checkpoint "
                "(no training ratings): skipped\n", (long long)(u->n - u->n_known),
                (long long)u->n, cfg->users_file);
    return 0;
}

static int recommend(const bivae_config *cfg, comm *c, char *err, size_t len)
{
    rec_users u;
    rec_ctx x;
    ckpt_info info;
    rec_out o;
    memset(&x, 0, sizeof x);
    memset(&info, 0, sizeof info);
    memset(&o, 0, sizeof o);
    x.u = &u;
    int status = 0;
    if (cfg->history_file || cfg->data.user_features)
        memset(&u, 0, sizeof u);          /* the users come from the file (rec_history) */
    else
        status = parse_users(cfg, &u, err, len);
    if (!status)
        status = rec_open_out(cfg, &o, err, len);
    if (!status)
        status = rec_load(cfg, &x, &info, err, len);
    if (!status && cfg->history_file)
        status = rec_history(cfg, &x, err, len);
    else if (!status && cfg->data.user_features)
        status = rec_cold(cfg, c, &x, err, len);
    else if (!status)
        status = rec_begin(cfg, &u, err, len);
    if (!status && cfg->new_items_file)
        status = rec_new_items(cfg, c, &x, err, len);
    if (!status) {
        recommend_all(&x, cfg->output.top_k, &o);
        if (o.to_file && ckpt_out_commit(&o.out) != 0) {
            ckpt_errf(err, len, "--out %s", o.out.msg);
            status = BIVAE_EXIT_RUNTIME;
        } else if (!o.to_file && fflush(stdout) != 0) {
            ckpt_errf(err, len, "cannot write the recommendations: %s", strerror(errno));
            status = BIVAE_EXIT_RUNTIME;
        }
    } else if (o.to_file && o.out.f) {
        ckpt_out_abandon(&o.out);     /* nothing under --out, no temporary left */
    }
    ckpt_info_free(&info);
    rec_free(&x, &u);
    return status;
}

int app_recommend(const bivae_config *cfg, comm *c)
{
    char err[ERR_LEN] = "", isa[128];
    int status = app_check_cpu_isa(c, isa, sizeof isa);
    if (status)
        return status;
    if ((cfg->data.user_features || cfg->new_items_file) && comm_size(c) > 1) {
        if (comm_rank(c) == 0)       /* every rank decides alike */
            fprintf(stderr, "bivae-dist: error: recommend %s runs on one rank (here %d)\n",
                    cfg->new_items_file ? "--new-items" : "--user-features", comm_size(c));
        return BIVAE_EXIT_USAGE;
    }
    status = comm_rank(c) == 0 ? recommend(cfg, c, err, sizeof err) : 0;
    if (status && !err[0] && comm_size(c) == 1)
        return status;                    /* the feature reader printed it */
    return comm_agree(c, status, err);
}
