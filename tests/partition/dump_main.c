/* tests/partition/dump_main.c — partition_dump: loads a dataset on every rank and writes a
 * canonical dump of everything the ranks hold together, which must not depend on the
 * number of ranks: the statistics, both id maps, every training one (from Ru and from
 * Ri), every test row known to training (Tu) and every user's test count, in raw and
 * global ids, sorted, and every feature row ("UF"/"IF" raw id, global id, values) with
 * the feature counts. Also checks each rank's local invariants (shapes, sorted unique
 * columns, ownership). Used by the multi-rank scripts (np 1 vs np 2, 3, 4).
 *
 *   partition_dump [--data F | --train F [--test F] | --synthetic S] [--format F]
 *                  [--seed N] [--test-ratio R] [--min-rating R] [--no-permute]
 *                  [--sep S] [--columns C] [--header | --no-header]
 *                  [--user-features F] [--item-features F] [--features-format N]
 *                  [--missing-features zero|error] [--synthetic-features D] [--cold-users F]
 *                  [--out FILE] [--report-rc]
 *   partition_dump --write-synthetic SPEC FILE [--seed N]
 * Exit status: dataset_load's (2 on bad input), 1 when an invariant fails. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "partition/dataset.h"
#include "partition/synth.h"

typedef struct args {
    data_options opt;
    const char *out, *write_spec, *write_path;
    int report_rc;
} args;

static data_format format_of(const char *s)
{
    static const char *names[] = {"auto", "ml-100k", "ml-1m", "ml-20m", "csv", "tsv"};
    for (int k = 0; k < 6; k++)
        if (strcmp(s, names[k]) == 0)
            return (data_format)k;
    fprintf(stderr, "partition_dump: unknown format %s\n", s);
    exit(1);
}

static feature_format feature_format_of(const char *s)
{
    for (int k = 0; k <= FEAT_FORMAT_GENOME; k++)
        if (strcmp(s, feature_format_name((feature_format)k)) == 0)
            return (feature_format)k;
    fprintf(stderr, "partition_dump: unknown feature format %s\n", s);
    exit(1);
}

static void parse_args(int argc, char **argv, args *a)
{
    memset(a, 0, sizeof *a);
    a->opt.test_ratio = 0.25;
    a->opt.seed = 42;
    a->opt.permute_ids = 1;
    for (int k = 1; k < argc; k++) {
        const char *f = argv[k], *v = k + 1 < argc ? argv[k + 1] : NULL;
        int used = 1;
        if (!strcmp(f, "--data")) a->opt.data_path = v;
        else if (!strcmp(f, "--train")) a->opt.train_path = v;
        else if (!strcmp(f, "--test")) a->opt.test_path = v;
        else if (!strcmp(f, "--synthetic")) a->opt.synthetic = v;
        else if (!strcmp(f, "--format")) a->opt.format = v ? format_of(v) : DATA_FORMAT_AUTO;
        else if (!strcmp(f, "--seed")) a->opt.seed = v ? strtoull(v, NULL, 10) : 0;
        else if (!strcmp(f, "--test-ratio")) a->opt.test_ratio = v ? atof(v) : 0;
        else if (!strcmp(f, "--min-rating")) a->opt.has_min_rating = 1, a->opt.min_rating = v ? atof(v) : 0;
        else if (!strcmp(f, "--sep")) a->opt.sep = v;
        else if (!strcmp(f, "--columns")) a->opt.columns = v;
        else if (!strcmp(f, "--out")) a->out = v;
        else if (!strcmp(f, "--user-features")) a->opt.user_features = v;
        else if (!strcmp(f, "--item-features")) a->opt.item_features = v;
        else if (!strcmp(f, "--features-format")) a->opt.features_format = v ? feature_format_of(v) : 0;
        else if (!strcmp(f, "--missing-features")) a->opt.missing_features = v && !strcmp(v, "error");
        else if (!strcmp(f, "--synthetic-features")) a->opt.synthetic_features = v ? atoi(v) : 0;
        else if (!strcmp(f, "--cold-users")) a->opt.cold_users = v ? atof(v) : 0;
        else if (!strcmp(f, "--write-synthetic")) {
            a->write_spec = v;
            a->write_path = k + 2 < argc ? argv[k + 2] : NULL;
            k++;
        } else {
            used = 0;
            if (!strcmp(f, "--no-permute")) a->opt.permute_ids = 0;
            else if (!strcmp(f, "--header")) a->opt.header = DATA_HEADER_YES;
            else if (!strcmp(f, "--no-header")) a->opt.header = DATA_HEADER_NO;
            else if (!strcmp(f, "--report-rc")) a->report_rc = 1;
            else {
                fprintf(stderr, "partition_dump: unknown argument %s\n", f);
                exit(1);
            }
        }
        if (used && !v) {
            fprintf(stderr, "partition_dump: %s needs a value\n", f);
            exit(1);
        }
        k += used;
    }
}

/* ---- local invariants ------------------------------------------------------------ */

static int check_csr(const char *name, const csr_matrix *m, int64_t nrows, int64_t ncols)
{
    int ok = m->nrows == nrows && m->ncols == ncols && m->rowptr && m->rowptr[0] == 0;
    for (int64_t r = 0; ok && r < nrows; r++) {
        ok = m->rowptr[r + 1] >= m->rowptr[r];
        for (int64_t k = m->rowptr[r]; ok && k < m->rowptr[r + 1]; k++)
            ok = m->col[k] >= 0 && m->col[k] < ncols &&
                 (k == m->rowptr[r] || m->col[k] > m->col[k - 1]);
    }
    if (!ok)
        fprintf(stderr, "partition_dump: invariant failed: %s\n", name);
    return ok;
}

static int check_local(const dataset *d, double cold_users)
{
    int ok = d->n_local_users == partition_owned_count(d->n_users, d->rank, d->nranks) &&
             d->n_local_items == partition_owned_count(d->n_items, d->rank, d->nranks);
    ok &= check_csr("Ru", &d->Ru, d->n_local_users, d->n_items);
    ok &= check_csr("Ri", &d->Ri, d->n_local_items, d->n_users);
    ok &= check_csr("Tu", &d->Tu, d->n_local_users, d->n_items);
    for (int64_t r = 0; ok && r < d->n_local_users; r++)
        ok = d->test_count[r] >= d->Tu.rowptr[r + 1] - d->Tu.rowptr[r] &&
             (d->Ru.rowptr[r + 1] > d->Ru.rowptr[r] ||         /* users come from training */
              cold_users > 0.0);                              /* or are cold (no training row) */
    for (int64_t r = 0; ok && r < d->n_local_items; r++)
        ok = d->Ri.rowptr[r + 1] > d->Ri.rowptr[r];
    if (!ok)
        fprintf(stderr, "partition_dump: invariant failed on rank %d\n", d->rank);
    return ok;
}

/* ---- gathering and printing ------------------------------------------------------ */

/* Every (global row, value) of a local matrix (or counts), gathered on all ranks, sorted. */
static int64_t *gather_entries(comm *c, const dataset *d, const csr_matrix *m,
                               const int32_t *count, size_t *n_out)
{
    int64_t nrows = m->nrows, n = count ? nrows : m->rowptr[nrows];
    int64_t *mine = malloc(sizeof(int64_t) * (size_t)(n ? n : 1)), w = 0;
    for (int64_t r = 0; r < nrows; r++) {
        int64_t g = partition_global(r, d->rank, d->nranks);
        if (count)
            mine[w++] = (g << 32) | (int64_t)count[r];
        else
            for (int64_t k = m->rowptr[r]; k < m->rowptr[r + 1]; k++)
                mine[w++] = (g << 32) | (int64_t)m->col[k];
    }
    int64_t *all = comm_allgatherv_bytes(c, mine, (size_t)w, sizeof(int64_t), n_out);
    free(mine);
    return all;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The raw ids of all n global ids of one side (owned by g mod P), NUL-terminated, on every
 * rank: out[g] points into the returned buffer (free both). */
static char *gather_ids(comm *c, const dataset *d, const id_table *own, int64_t n, char ***out)
{
    size_t bytes = (size_t)own->off[own->n] + (size_t)own->n, got = 0;
    char *mine = malloc(bytes ? bytes : 1), *at = mine;
    for (int64_t j = 0; j < own->n; j++) {
        size_t len;
        const char *p = id_table_get(own, j, &len);
        memcpy(at, p, len);
        at[len] = '\0';
        at += len + 1;
    }
    char *all = comm_allgatherv_bytes(c, mine, bytes, 1, &got);
    free(mine);
    *out = malloc(sizeof(char *) * (size_t)(n ? n : 1));
    char *q = all;
    for (int r = 0; r < d->nranks; r++)
        for (int64_t l = 0; l < partition_owned_count(n, r, d->nranks); l++) {
            (*out)[partition_global(l, r, d->nranks)] = q;
            q += strlen(q) + 1;
        }
    return all;
}

/* Prints "<tag> raw_row raw_col row col" (or "<tag> raw_row row count") lines, sorted. */
static void print_entries(FILE *f, const char *tag, int64_t *e, size_t n, char **row_raw,
                          char **col_raw)
{
    qsort(e, n, sizeof(int64_t), cmp_i64);
    for (size_t k = 0; k < n; k++) {
        int64_t g = e[k] >> 32, v = e[k] & 0xffffffff;
        if (col_raw)
            fprintf(f, "%s %s %s %lld %lld\n", tag, row_raw[g], col_raw[v], (long long)g,
                    (long long)v);
        else
            fprintf(f, "%s %s %lld %lld\n", tag, row_raw[g], (long long)g, (long long)v);
    }
}

/* 1 when the gathered Ri entries e_i[n_i] are exactly the transpose of Ru's e_r[n_r]. */
static int is_transpose(const int64_t *e_r, size_t n_r, const int64_t *e_i, size_t n_i)
{
    if (n_r != n_i)
        return 0;
    int64_t *a = malloc(sizeof(int64_t) * (n_r + 1)), *b = malloc(sizeof(int64_t) * (n_r + 1));
    for (size_t k = 0; k < n_r; k++) {
        a[k] = e_r[k];
        b[k] = ((e_i[k] & 0xffffffff) << 32) | (e_i[k] >> 32);
    }
    qsort(a, n_r, sizeof(int64_t), cmp_i64);
    qsort(b, n_r, sizeof(int64_t), cmp_i64);
    int same = n_r == 0 || memcmp(a, b, sizeof(int64_t) * n_r) == 0;
    free(a);
    free(b);
    return same;
}

/* Every feature row of one side, gathered on rank 0 in global-id order: "<tag> raw g v..." */
static void dump_features(comm *c, const dataset *d, const feature_block *b, int64_t n,
                          char **raw, const char *tag, FILE *f)
{
    int64_t w = b->n_features;
    size_t rec = sizeof(float) * (size_t)(w + 1), got;   /* [global id as float bits, values] */
    float *mine = malloc(rec * (size_t)(b->nrows + 1));
    for (int64_t r = 0; r < b->nrows; r++) {
        int32_t g = (int32_t)partition_global(r, d->rank, d->nranks);
        memcpy(&mine[r * (w + 1)], &g, sizeof g);
        memcpy(&mine[r * (w + 1) + 1], &b->x[r * w], sizeof(float) * (size_t)w);
    }
    char *all = comm_allgatherv_bytes(c, mine, (size_t)b->nrows, rec, &got);
    free(mine);
    if (f) {
        fprintf(f, "%s-stats features %lld rows %lld missing %lld unknown_ids %lld "
                "unknown_rows %lld\n", tag, (long long)w, (long long)b->rows_read,
                (long long)b->missing, (long long)b->unknown_ids, (long long)b->unknown_rows);
        float **at = malloc(sizeof(float *) * (size_t)(n + 1));
        for (size_t k = 0; k < got; k++) {
            int32_t g;
            memcpy(&g, all + k * rec, sizeof g);
            at[g] = (float *)(all + k * rec) + 1;
        }
        for (int64_t g = 0; g < (int64_t)got; g++) {
            fprintf(f, "%s %s %lld", tag, raw[g], (long long)g);
            for (int64_t j = 0; j < w; j++)
                fprintf(f, " %.9g", at[g][j]);
            fputc('\n', f);
        }
        free(at);
    }
    free(all);
}

/* Writes the dump on rank 0 (f != NULL); returns 0 when Ri is not Ru's transpose. */
static int dump(comm *c, const dataset *d, FILE *f)
{
    size_t nR, nI, nT, nC;
    int64_t *R = gather_entries(c, d, &d->Ru, NULL, &nR);
    int64_t *I = gather_entries(c, d, &d->Ri, NULL, &nI);
    int64_t *T = gather_entries(c, d, &d->Tu, NULL, &nT);
    int64_t *C = gather_entries(c, d, &d->Tu, d->test_count, &nC);
    int ok = is_transpose(R, nR, I, nI) && (int64_t)nR == d->nnz_train;
    if (!ok)
        fprintf(stderr, "partition_dump: invariant failed: Ri is not the transpose of Ru\n");
    char **users, **items;
    char *ub = gather_ids(c, d, &d->user_ids, d->n_users, &users);
    char *ib = gather_ids(c, d, &d->item_ids, d->n_items, &items);
    if (f) {
        fprintf(f, "stats users %lld items %lld nnz_train %lld nnz_test %lld test_users %lld "
                "unknown_user %lld unknown_item %lld below_min %lld\n",
                (long long)d->n_users, (long long)d->n_items, (long long)d->nnz_train,
                (long long)d->nnz_test, (long long)d->n_test_users, (long long)d->test_unknown_user,
                (long long)d->test_unknown_item, (long long)d->below_min_rating);
        for (int64_t g = 0; g < d->n_users; g++)
            fprintf(f, "user %lld %s\n", (long long)g, users[g]);
        for (int64_t g = 0; g < d->n_items; g++)
            fprintf(f, "item %lld %s\n", (long long)g, items[g]);
        print_entries(f, "R", R, nR, users, items);
        print_entries(f, "I", I, nI, items, users);
        print_entries(f, "T", T, nT, users, items);
        print_entries(f, "C", C, nC, users, NULL);
    }
    if (d->user_features.x)
        dump_features(c, d, &d->user_features, d->n_users, users, "UF", f);
    if (d->item_features.x)
        dump_features(c, d, &d->item_features, d->n_items, items, "IF", f);
    free(users);
    free(items);
    free(ub);
    free(ib);
    free(R);
    free(I);
    free(T);
    free(C);
    return ok;
}

static int run(comm *c, const args *a)
{
    if (a->write_spec) {
        int rc = comm_rank(c) == 0 ? synth_write_file(a->write_spec, a->opt.seed, a->write_path) : 0;
        return (int)comm_allreduce_max_i64(c, rc);
    }
    dataset d;
    int rc = dataset_load(&a->opt, c, &d);
    if (rc != 0)
        return rc;
    int ok = (int)comm_allreduce_min_i64(c, check_local(&d, a->opt.cold_users));
    FILE *f = NULL;
    if (comm_rank(c) == 0)
        f = a->out ? fopen(a->out, "w") : stdout;
    if (comm_rank(c) == 0 && !f) {
        perror(a->out);
        ok = 0;
    }
    ok &= dump(c, &d, f);
    if (f && f != stdout)
        fclose(f);
    dataset_free(&d);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    args a;
    MPI_Init(&argc, &argv);
    parse_args(argc, argv, &a);
    comm *c = comm_mpi_create();
    int rc = run(c, &a);
    if (a.report_rc)
        printf("partition_dump: rank %d exit %d\n", comm_rank(c), rc);
    fflush(stdout);
    comm_destroy(c);
    MPI_Finalize();
    return rc;
}
