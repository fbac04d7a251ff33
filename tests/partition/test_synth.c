/* tests/partition/test_synth.c — the synthetic generator: shapes (exact), validation,
 * per-user properties, determinism, rank shares, the split ratio, learnable structure,
 * and `gen`'s file (written atomically, read back identically). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/check.h"
#include "partition/hash.h"
#include "partition/synth.h"
#include "partition/synth_model.h"
#include "test_util.h"

/* ---- shapes --------------------------------------------------------------------- */

static void test_presets_and_specs(void **state)
{
    (void)state;
    const struct { const char *spec; int64_t U, I, nnz; } ok[] = {
        {"ml-100k", 943, 1682, 100000},
        {"ml-1m", 6040, 3706, 1000209},
        {"ml-20m", 138493, 26744, 20000263},
        {"50000x8000x2000000", 50000, 8000, 2000000},
        {"10x40x200", 10, 40, 200},
    };
    for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
        int64_t U, I, nnz;
        assert_int_equal(synth_parse_shape(ok[k].spec, &U, &I, &nnz), 0);
        assert_int_equal(U, ok[k].U);
        assert_int_equal(I, ok[k].I);
        assert_int_equal(nnz, ok[k].nnz);
    }
}

typedef struct spec_call { const char *spec; } spec_call;

static int call_parse(void *arg)
{
    int64_t U, I, nnz;
    return synth_parse_shape(((spec_call *)arg)->spec, &U, &I, &nnz);
}

static void test_bad_specs(void **state)
{
    (void)state;
    const struct { const char *spec, *why; } bad[] = {
        {"ml-10k", "expected ml-100k, ml-1m, ml-20m or USERSxITEMSxRATINGS"},
        {"100x200", "expected"},
        {"100x200x3000x4", "expected"},
        {"-5x100x1000", "expected"},
        {"0x100x1000", "must all be positive"},
        {"100x1000x1999", "at least users x min(20, items) = 2000"},
        {"100x100x5001", "at most users x items / 2 = 5000"},
        {"1x1000x400", "at least one rating per item"},
        {"3000000000x100x100000000000", "at most 2147483647"},
        {"99999999999999999999x1x1", "expected"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        spec_call a = {bad[k].spec};
        int rc;
        char *err = test_capture_stderr(call_parse, &a, &rc);
        assert_int_equal(rc, BIVAE_EXIT_USAGE);
        assert_int_equal(test_count_error_lines(err), 1);
        assert_non_null(strstr(err, "--synthetic"));
        if (!strstr(err, bad[k].why))
            fail_msg("%s: '%s' lacks '%s'", bad[k].spec, err, bad[k].why);
        free(err);
    }
}

/* ---- per-user properties of a whole generation ----------------------------------- */

typedef struct shape_check {
    int64_t U, I, n, bad;
    int64_t *per_user, *per_item, *stamp;    /* stamp[i]: last user that rated item i */
    uint64_t fingerprint, sum_hash;          /* order-dependent / order-independent */
} shape_check;

static void check_rating(void *ctx, const raw_id *user, const raw_id *item, float r)
{
    shape_check *c = ctx;
    int64_t u = user->value, i = item->value;
    int ok = user->is_int && item->is_int && u >= 1 && u <= c->U && i >= 1 && i <= c->I && r >= 1 && r <= 5 && r == floorf(r);
    if (!ok || c->stamp[i - 1] == u) {
        c->bad++;
        return;
    }
    c->stamp[i - 1] = u;
    c->per_user[u - 1]++;
    c->per_item[i - 1]++;
    c->n++;
    uint64_t h = hash3((uint64_t)u, (uint64_t)i, (uint64_t)r);
    c->fingerprint = hash2(c->fingerprint, h);
    c->sum_hash += h;
}

static shape_check generate(const char *spec, uint64_t seed, int rank, int P)
{
    synth_shape s;
    char err[256];
    assert_int_equal(synth_shape_from_spec(spec, &s, err, sizeof err), 0);
    shape_check c = {s.U, s.I, 0, 0, calloc((size_t)s.U, 8), calloc((size_t)s.I, 8),
                     calloc((size_t)s.I, 8), 0, 0};
    synth_generate(&s, seed, rank, P, check_rating, &c);
    return c;
}

static void free_check(shape_check *c)
{
    free(c->per_user);
    free(c->per_item);
    free(c->stamp);
}

static void assert_exact_shape(const char *spec)
{
    shape_check c = generate(spec, 42, 0, 1);
    synth_shape s;
    char err[256];
    synth_shape_from_spec(spec, &s, err, sizeof err);
    assert_int_equal(c.bad, 0);                          /* ids in range, distinct, 1..5 */
    assert_int_equal(c.n, s.nnz);
    int64_t min_u = s.I < 20 ? s.I : 20, max_u = (int64_t)(0.6 * (double)s.I);
    for (int64_t u = 0; u < s.U; u++)
        if (c.per_user[u] < min_u || c.per_user[u] > max_u)
            fail_msg("%s: user %lld has %lld ratings", spec, (long long)u + 1, (long long)c.per_user[u]);
    for (int64_t i = 0; i < s.I; i++)
        assert_true(c.per_item[i] >= 1);                 /* all I items appear */
    free_check(&c);
}

static void test_exact_shapes(void **state)
{
    (void)state;
    assert_exact_shape("ml-100k");
    assert_exact_shape("ml-1m");
    assert_exact_shape("10x40x200");                     /* every user at the minimum */
    assert_exact_shape("200x1000x4000");                 /* items outnumber ratings/user */
    assert_exact_shape("50x60x1500");                    /* near the density limit */
}

/* ml-20m is big: its counts in full, and the ratings of a sample of users. */
static void test_ml20m_counts(void **state)
{
    (void)state;
    synth_model m;
    synth_shape s;
    char err[256];
    assert_int_equal(synth_shape_from_spec("ml-20m", &s, err, sizeof err), 0);
    synth_model_init(&m, &s, 42);
    int64_t sum = 0, lo = INT64_MAX, hi = 0, at_min = 0;
    for (int64_t v = 0; v < s.U; v++) {
        sum += m.count[v];
        lo = m.count[v] < lo ? m.count[v] : lo;
        hi = m.count[v] > hi ? m.count[v] : hi;
        at_min += m.count[v] == 20;
        assert_true(m.forced_first[v + 1] - m.forced_first[v] <= m.count[v]);
    }
    assert_int_equal(sum, 20000263);
    assert_int_equal(lo, 20);
    assert_true(hi <= (int64_t)(0.6 * 26744) && hi > 5000);           /* a heavy tail */
    assert_true(at_min > 1000);                                       /* many light users */
    assert_int_equal(m.forced_first[0], 0);
    assert_int_equal(m.forced_first[s.U], s.I);
    synth_work w;
    synth_work_init(&w, &m);
    shape_check c = {s.U, s.I, 0, 0, calloc((size_t)s.U, 8), calloc((size_t)s.I, 8),
                     calloc((size_t)s.I, 8), 0, 0};
    for (int64_t u = 1; u <= s.U; u += 211)
        synth_user(&m, &w, u, check_rating, &c);
    for (int64_t v = 0; v < s.U; v += 211)
        assert_int_equal(c.per_user[v], m.count[v]);
    assert_int_equal(c.bad, 0);
    free_check(&c);
    synth_work_free(&w);
    synth_model_free(&m);
}

static void test_deterministic_and_seeded(void **state)
{
    (void)state;
    shape_check a = generate("ml-100k", 42, 0, 1), b = generate("ml-100k", 42, 0, 1);
    shape_check c = generate("ml-100k", 7, 0, 1);
    assert_true(a.fingerprint == b.fingerprint);
    assert_true(a.fingerprint != c.fingerprint);
    assert_int_equal(c.n, 100000);
    free_check(&a);
    free_check(&b);
    free_check(&c);
}

/* Ranks' shares (users (u-1) mod P == r) together are exactly the one-rank generation. */
static void test_rank_shares_add_up(void **state)
{
    (void)state;
    shape_check all = generate("ml-100k", 42, 0, 1);
    for (int P = 2; P <= 5; P += 3) {
        uint64_t sum = 0;
        int64_t n = 0;
        for (int r = 0; r < P; r++) {
            shape_check part = generate("ml-100k", 42, r, P);
            for (int64_t u = 0; u < part.U; u++)
                if (part.per_user[u])
                    assert_int_equal(u % P, r);
            sum += part.sum_hash;
            n += part.n;
            free_check(&part);
        }
        assert_int_equal(n, all.n);
        assert_true(sum == all.sum_hash);
    }
    free_check(&all);
}

/* ---- through dataset_load --------------------------------------------------------- */

static data_options synth_options(const char *spec, double ratio)
{
    data_options o = test_options(NULL, DATA_FORMAT_AUTO);
    o.synthetic = spec;
    o.test_ratio = ratio;
    o.permute_ids = 1;
    return o;
}

static void test_load_exact_shape(void **state)
{
    (void)state;
    data_options o = synth_options("ml-100k", 0.0);
    dataset d;
    assert_int_equal(test_load(&o, &d, NULL), 0);
    assert_int_equal(d.n_users, 943);
    assert_int_equal(d.n_items, 1682);
    assert_int_equal(d.nnz_train, 100000);
    assert_int_equal(d.Ri.rowptr[d.Ri.nrows], 100000);
    assert_int_equal(d.nnz_test, 0);
    assert_string_equal(d.source, "synthetic ml-100k (seed 42)");
    for (int64_t r = 0; r < d.n_local_users; r++)
        assert_true(d.Ru.rowptr[r + 1] - d.Ru.rowptr[r] >= 20);
    dataset_free(&d);
    o.synthetic = "ml-1";
    char *err;
    assert_int_equal(test_load(&o, &d, &err), BIVAE_EXIT_USAGE);
    assert_int_equal(test_count_error_lines(err), 1);
    assert_non_null(strstr(err, "--synthetic 'ml-1'"));
    free(err);
}

static void test_split_ratio_and_determinism(void **state)
{
    (void)state;
    data_options o = synth_options("ml-1m", 0.25);
    dataset a, b;
    assert_int_equal(test_load(&o, &a, NULL), 0);
    assert_int_equal(test_load(&o, &b, NULL), 0);
    assert_int_equal(a.nnz_train + a.nnz_test, 1000209);  /* no user lost: all have >= 20 */
    double ratio = (double)a.nnz_test / 1000209.0;
    assert_true(fabs(ratio - 0.25) < 0.003);
    assert_int_equal(a.n_users, 6040);
    assert_int_equal(a.test_unknown_user, 0);
    assert_int_equal(a.nnz_train, b.nnz_train);
    assert_memory_equal(a.Ru.col, b.Ru.col, sizeof(int32_t) * (size_t)a.nnz_train);
    assert_memory_equal(a.Tu.col, b.Tu.col, sizeof(int32_t) * (size_t)a.Tu.rowptr[a.Tu.nrows]);
    assert_true(id_tables_equal(&a.item_ids, &b.item_ids));
    dataset_free(&a);
    dataset_free(&b);
    o.test_ratio = 0.1;
    assert_int_equal(test_load(&o, &a, NULL), 0);
    assert_true(fabs((double)a.nnz_test / 1000209.0 - 0.1) < 0.003);
    dataset_free(&a);
}

/* ---- learnable structure: item-kNN must clearly beat most-popular ------------------ */

/* recall@10 over users with test items; knn: item-item cosine scores, else popularity. */
static double recall_at_10(const dataset *d, const int32_t *co, int knn)
{
    int64_t I = d->n_items;
    double *score = malloc(sizeof(double) * (size_t)I), total = 0;
    int64_t users = 0;
    for (int64_t r = 0; r < d->n_local_users; r++) {
        int64_t t0 = d->Tu.rowptr[r], t1 = d->Tu.rowptr[r + 1];
        if (t0 == t1)
            continue;
        for (int64_t j = 0; j < I; j++) {
            score[j] = knn ? 0 : co[j * I + j];
            for (int64_t k = d->Ru.rowptr[r]; knn && k < d->Ru.rowptr[r + 1]; k++) {
                int64_t a = d->Ru.col[k];
                score[j] += co[a * I + j] / sqrt((double)co[a * I + a] * co[j * I + j] + 1e-9);
            }
        }
        for (int64_t k = d->Ru.rowptr[r]; k < d->Ru.rowptr[r + 1]; k++)
            score[d->Ru.col[k]] = -1;                      /* never recommend seen items */
        int hits = 0;
        for (int top = 0; top < 10; top++) {
            int64_t best = 0;
            for (int64_t j = 1; j < I; j++)
                best = score[j] > score[best] ? j : best;
            for (int64_t k = t0; k < t1; k++)
                hits += d->Tu.col[k] == best;
            score[best] = -2;
        }
        total += hits / (double)(t1 - t0 < 10 ? t1 - t0 : 10);
        users++;
    }
    free(score);
    return total / (double)users;
}

static void test_structure_is_learnable(void **state)
{
    (void)state;
    data_options o = synth_options("ml-100k", 0.25);
    dataset d;
    assert_int_equal(test_load(&o, &d, NULL), 0);
    int64_t I = d.n_items;
    int32_t *co = calloc((size_t)(I * I), sizeof(int32_t));  /* [I x I] co-occurrences */
    for (int64_t r = 0; r < d.n_local_users; r++)
        for (int64_t a = d.Ru.rowptr[r]; a < d.Ru.rowptr[r + 1]; a++)
            for (int64_t b = d.Ru.rowptr[r]; b < d.Ru.rowptr[r + 1]; b++)
                co[(int64_t)d.Ru.col[a] * I + d.Ru.col[b]]++;
    double pop = recall_at_10(&d, co, 0), knn = recall_at_10(&d, co, 1);
    print_message("recall@10: most-popular %.4f, item-kNN %.4f\n", pop, knn);
    assert_true(pop > 0.01);
    assert_true(knn > 1.5 * pop);
    free(co);
    dataset_free(&d);
}

/* ---- gen: the TSV file ------------------------------------------------------------ */

static int count_tmp_files(void)
{
    DIR *dir = opendir(test_path(""));                     /* the test directory */
    int n = 0;
    struct dirent *e;
    while (dir && (e = readdir(dir)) != NULL)
        n += strstr(e->d_name, ".tmp.") != NULL;
    if (dir)
        closedir(dir);
    return n;
}

static void test_write_file_round_trip(void **state)
{
    (void)state;
    const char *spec = "300x500x12000";
    char path[512];
    snprintf(path, sizeof path, "%s", test_path("gen.tsv"));
    assert_int_equal(synth_write_file(spec, 5, path), 0);
    assert_int_equal(synth_write_file(spec, 5, path), 0);         /* replaces it */
    assert_int_equal(count_tmp_files(), 0);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    long u, i, t;
    int r, lines = 0;
    char tail;
    while (fscanf(f, "%ld\t%ld\t%d\t%ld%c", &u, &i, &r, &t, &tail) == 5 && tail == '\n')
        lines++;
    assert_true(feof(f));
    fclose(f);
    assert_int_equal(lines, 12000);
    data_options from_file = test_options(path, DATA_FORMAT_AUTO), built = synth_options(spec, 0.25);
    from_file.test_ratio = 0.25;
    from_file.permute_ids = 1;
    from_file.seed = built.seed = 5;
    dataset a, b;
    assert_int_equal(test_load(&from_file, &a, NULL), 0);
    assert_int_equal(test_load(&built, &b, NULL), 0);
    assert_int_equal(a.n_users, b.n_users);
    assert_int_equal(a.n_items, b.n_items);
    assert_int_equal(a.nnz_train, b.nnz_train);
    assert_int_equal(a.nnz_test, b.nnz_test);
    assert_true(id_tables_equal(&a.user_ids, &b.user_ids));
    assert_true(id_tables_equal(&a.item_ids, &b.item_ids));
    assert_memory_equal(a.Ru.rowptr, b.Ru.rowptr, sizeof(int64_t) * (size_t)(a.n_users + 1));
    assert_memory_equal(a.Ru.col, b.Ru.col, sizeof(int32_t) * (size_t)a.nnz_train);
    assert_memory_equal(a.Tu.col, b.Tu.col, sizeof(int32_t) * (size_t)a.Tu.rowptr[a.n_users]);
    assert_non_null(strstr(a.source, "gen.tsv (tsv)"));
    dataset_free(&a);
    dataset_free(&b);
}

typedef struct write_call { const char *spec, *path; } write_call;

static int call_write(void *arg)
{
    write_call *w = arg;
    return synth_write_file(w->spec, 1, w->path);
}

static void test_write_file_errors(void **state)
{
    (void)state;
    char in_a_file[512], plain[512];
    snprintf(plain, sizeof plain, "%s", test_path("plain"));
    snprintf(in_a_file, sizeof in_a_file, "%s", test_path("plain/out.tsv"));
    FILE *f = fopen(plain, "w");            /* a file where the folder would have to be */
    assert_non_null(f);
    fclose(f);
    write_call bad_spec = {"12x", test_path("never.tsv")}, bad_dir = {"ml-100k", in_a_file};
    int rc;
    char *err = test_capture_stderr(call_write, &bad_spec, &rc);
    assert_int_equal(rc, BIVAE_EXIT_USAGE);
    assert_int_equal(test_count_error_lines(err), 1);
    assert_non_null(strstr(err, "--synthetic '12x'"));
    free(err);
    err = test_capture_stderr(call_write, &bad_dir, &rc);  /* the user's path: exit 2 */
    assert_int_equal(rc, BIVAE_EXIT_USAGE);
    assert_int_equal(test_count_error_lines(err), 1);
    assert_non_null(strstr(err, "--out "));
    assert_non_null(strstr(err, "plain/out.tsv: "));
    assert_non_null(strstr(err, "plain: not a directory"));
    free(err);
}

/* gen --out makes the folders of its path, as `mkdir -p` does, and says what it wrote. */
static void test_write_file_makes_folders(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s", test_path("new/sub/out.tsv"));
    write_call w = {"40x60x1000", path};
    int rc;
    char *err = test_capture_stderr(call_write, &w, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(err, "bivae-dist: wrote 1,000 ratings (40 users x 60 items, "
                                "synthetic 40x60x1000, seed 1) to "));
    assert_non_null(strstr(err, "new/sub/out.tsv\n"));
    free(err);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(unlink(path), 0);      /* the teardown removes plain files only */
    assert_int_equal(rmdir(test_path("new/sub")), 0);
    assert_int_equal(rmdir(test_path("new")), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_presets_and_specs),
    cmocka_unit_test(test_bad_specs),
    cmocka_unit_test(test_exact_shapes),
    cmocka_unit_test(test_ml20m_counts),
    cmocka_unit_test(test_deterministic_and_seeded),
    cmocka_unit_test(test_rank_shares_add_up),
    cmocka_unit_test(test_load_exact_shape),
    cmocka_unit_test(test_split_ratio_and_determinism),
    cmocka_unit_test(test_structure_is_learnable),
    cmocka_unit_test(test_write_file_round_trip),
    cmocka_unit_test(test_write_file_errors),
    cmocka_unit_test(test_write_file_makes_folders),
};

TEST_MAIN(tests)
