/* src/app_history.c — recommend --history FILE: users not in the checkpoint (or in it:
 * their μ_θ is then folded in from the file's items too, not taken from the checkpoint),
 * their items read with the ratings readers (partition/reader.h: formats, id rules,
 * file:line errors; every line is an interaction whatever its rating: the encoder reads
 * the binary row), items the checkpoint does not know counted and ignored, and μ_θ =
 * the user encoder's mean of that row (model_fold_in). */
#define _XOPEN_SOURCE 700
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "partition/rawid.h"
#include "partition/reader.h"
#include "src/app_history.h"
#include "src/model.h"

/* ---- a string set: text -> index (open addressing) ------------------------------------ */
typedef struct str_index {
    int64_t n, cap;            /* cap: slots, a power of two */
    int64_t *slot;             /* [cap] index + 1, 0: empty */
    char **text;               /* [n] */
    int64_t text_cap;
} str_index;

/* The slot of text p[n]: its index + 1 there, or 0 (an empty slot: not in s). */
static int64_t *str_slot(const str_index *s, const char *p, size_t n)
{
    for (uint64_t h = raw_id_hash_bytes(p, n);; h++) {
        int64_t *at = &s->slot[h & (uint64_t)(s->cap - 1)];
        if (!*at)
            return at;
        const char *t = s->text[*at - 1];
        if (strlen(t) == n && memcmp(t, p, n) == 0)
            return at;
    }
}

static void str_grow(str_index *s)
{
    int64_t cap = s->cap ? 2 * s->cap : 1024;
    str_index t = *s;
    t.cap = cap;
    t.slot = xcalloc((size_t)cap, sizeof(int64_t));
    for (int64_t i = 0; i < s->n; i++)
        *str_slot(&t, s->text[i], strlen(s->text[i])) = i + 1;
    free(s->slot);
    s->slot = t.slot;
    s->cap = cap;
}

/* The index of p[n] in s (−1: not there). */
static int64_t str_lookup(const str_index *s, const char *p, size_t n)
{
    return s->cap ? *str_slot(s, p, n) - 1 : -1;
}

static int64_t str_find_or_add(str_index *s, const char *p, size_t n)
{
    if (2 * (s->n + 1) > s->cap)
        str_grow(s);
    int64_t *at = str_slot(s, p, n);
    if (*at)
        return *at - 1;
    if (s->n == s->text_cap) {
        s->text_cap = s->text_cap ? 2 * s->text_cap : 256;
        s->text = xrealloc(s->text, sizeof(char *) * (size_t)s->text_cap);
    }
    char *t = xmalloc(n + 1);
    memcpy(t, p, n);
    t[n] = '\0';
    s->text[s->n] = t;
    *at = s->n + 1;
    return s->n++;
}

static void str_index_free(str_index *s, int keep_text)
{
    if (!keep_text) {
        for (int64_t i = 0; i < s->n; i++)
            free(s->text[i]);
        free(s->text);
    }
    free(s->slot);
}

/* ---- reading ---------------------------------------------------------------------------- */
typedef struct pair { int64_t user; int32_t item; } pair;

typedef struct read_ctx {
    str_index users, items, unknown;   /* items: the checkpoint's, index = global id */
    pair *v;
    size_t n, cap;
    int64_t lines, unknown_lines;
} read_ctx;

static void on_rating(void *ctx, const raw_id *user, const raw_id *item, float rating)
{
    (void)rating;
    read_ctx *x = ctx;
    char ub[RAW_ID_INT_CHARS], ib[RAW_ID_INT_CHARS];
    size_t un, in;
    const char *up = raw_id_text(user, ub, &un), *ip = raw_id_text(item, ib, &in);
    int64_t u = str_find_or_add(&x->users, up, un);
    int64_t g = str_lookup(&x->items, ip, in);
    x->lines++;
    if (g < 0) {                        /* not an item of the checkpoint: counted, ignored */
        str_find_or_add(&x->unknown, ip, in);
        x->unknown_lines++;
        return;
    }
    if (x->n == x->cap) {
        x->cap = x->cap ? 2 * x->cap : 4096;
        x->v = xrealloc(x->v, sizeof(pair) * x->cap);
    }
    x->v[x->n++] = (pair){u, (int32_t)g};
}

static int cmp_pair(const void *a, const void *b)
{
    const pair *p = a, *q = b;
    if (p->user != q->user)
        return p->user < q->user ? -1 : 1;
    return (p->item > q->item) - (p->item < q->item);
}

/* The pairs into h's CSR, duplicates removed. */
static void build_rows(read_ctx *x, history *h)
{
    if (x->n > 0)   /* x->v is NULL when no line named a known item */
        qsort(x->v, x->n, sizeof(pair), cmp_pair);
    h->n = x->users.n;
    h->rowptr = xcalloc((size_t)h->n + 1, sizeof(int64_t));
    h->col = xmalloc(sizeof(int32_t) * (x->n > 0 ? x->n : 1));
    int64_t nnz = 0;
    size_t k = 0;
    for (int64_t u = 0; u < h->n; u++) {
        for (; k < x->n && x->v[k].user == u; k++)
            if (nnz == h->rowptr[u] || h->col[nnz - 1] != x->v[k].item)
                h->col[nnz++] = x->v[k].item;
        h->rowptr[u + 1] = nnz;
        h->empty_users += nnz == h->rowptr[u];
    }
}

int history_read(const char *path, data_format fmt, const id_table *items, history *h,
                 char *err, size_t len)
{
    memset(h, 0, sizeof(*h));
    read_ctx x;
    memset(&x, 0, sizeof x);
    for (int64_t j = 0; j < items->n; j++)
        str_find_or_add(&x.items, items->text + items->off[j],
                        (size_t)(items->off[j + 1] - items->off[j]));
    data_options opt;
    memset(&opt, 0, sizeof opt);
    opt.format = fmt;
    data_file f;
    read_error e;
    range_stats st;
    memset(&st, 0, sizeof st);
    int status = 0;
    if (reader_open(&f, path, &opt, &e) != 0) {
        status = e.status;
    } else {
        if (reader_parse_share(&f, 0, 1, on_rating, &x, &st, &e) != 0)
            status = e.status;
        reader_close(&f);
    }
    if (status && e.line > 0)
        ckpt_errf(err, len, "--history %s:%lld: %s", path, (long long)e.line, e.msg);
    else if (status)
        ckpt_errf(err, len, "--history: %s", e.msg);
    else if (x.lines == 0) {
        ckpt_errf(err, len, "--history %s: no ratings (the file is empty or has only a header)",
                  path);
        status = BIVAE_EXIT_USAGE;
    }
    if (!status) {
        build_rows(&x, h);
        h->raw = x.users.text;
        h->lines = x.lines;
        h->unknown_lines = x.unknown_lines;
        h->unknown_items = x.unknown.n;
    }
    str_index_free(&x.users, !status);
    str_index_free(&x.items, 0);
    str_index_free(&x.unknown, 0);
    free(x.v);
    return status;
}

void history_free(history *h)
{
    for (int64_t i = 0; i < h->n; i++)
        free(h->raw[i]);
    free(h->raw);
    free(h->rowptr);
    free(h->col);
    memset(h, 0, sizeof(*h));
}

/* ---- fold-in ---------------------------------------------------------------------------- */
typedef struct fold_ctx { bivae_model *m; } fold_ctx;

static int on_tensor(void *ctx, ckpt_tensor t, int64_t offset, const void *data, int64_t n,
                     char *err, size_t err_len)
{
    (void)err;
    (void)err_len;
    fold_ctx *x = ctx;
    if (t == CKPT_ENC_USER_PARAMS)
        model_set_from_full(x->m, SIDE_USER, ENC_PARAMS, offset, data, n);
    return 0;
}

int history_fold_in(const char *model_path, const ckpt_info *info, const history *h,
                    float **mu_theta, char *err, size_t len)
{
    int64_t U = info->n_users, I = info->n_items, K = info->K;
    kern *k = kern_cpu_create(1);
    int64_t *no_rows_u = xcalloc((size_t)U + 1, sizeof(int64_t));   /* no training rows */
    int64_t *no_rows_i = xcalloc((size_t)I + 1, sizeof(int64_t));
    int32_t no_col = 0;
    float no_F = 0;
    model_priors pr = {{&no_F, &no_F}, {info->n_features[0], info->n_features[1]}};
    bivae_model m;
    model_init_cap(&m, k, &info->model, 0, 0, 1, U, I, no_rows_u, &no_col, 0, no_rows_i,
                   &no_col, 0, 256, NULL, 0, &pr);
    int status = 0;
    if (m.enc[SIDE_USER].n_params_full != info->n_params[SIDE_USER]) {
        ckpt_errf(err, len, "%s: the user encoder has %lld parameters, its settings make %lld",
                  model_path, (long long)info->n_params[SIDE_USER],
                  (long long)m.enc[SIDE_USER].n_params_full);
        status = BIVAE_EXIT_USAGE;
    }
    ckpt_info again;
    fold_ctx x = {&m};
    if (!status && (status = ckpt_read(model_path, &again, on_tensor, &x, err, len)) == 0)
        ckpt_info_free(&again);
    if (!status) {
        kern_csr rows = {h->n, I, h->rowptr, h->col};
        *mu_theta = xmalloc(sizeof(float) * (size_t)(h->n > 0 ? h->n * K : 1));  /* [n × K] */
        model_fold_in(&m, SIDE_USER, rows, *mu_theta);
    }
    model_free(&m);
    kern_destroy(k);
    free(no_rows_u);
    free(no_rows_i);
    return status;
}
