/* tests/partition/test_features.c — feature files (partition/features.h), one rank: every
 * format read exactly from a fixture in its published layout, detection by name and by
 * line 1, every kind of bad file (one error line naming FILE:LINE, exit 2), unknown and
 * missing ids, and the synthetic features (deterministic, a row depends on its id only). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "partition/features.h"
#include "partition/synth.h"
#include "partition/synth_model.h"
#include "test_util.h"

/* Users 1, 2, 3 and items 1, 2, 3, every one in training. */
static const char ratings[] = "1\t1\t5\t0\n1\t2\t4\t0\n2\t2\t3\t0\n2\t3\t1\t0\n3\t1\t2\t0\n3\t3\t5\t0\n";

/* The row of raw id `raw` of a one-rank dataset's side (NULL when no such id). */
static const float *row_of(const dataset *d, int item, const char *raw)
{
    const id_table *t = item ? &d->item_ids : &d->user_ids;
    const feature_block *b = item ? &d->item_features : &d->user_features;
    for (int64_t j = 0; j < t->n; j++) {
        size_t len;
        const char *p = id_table_get(t, j, &len);
        if (len == strlen(raw) && memcmp(p, raw, len) == 0)
            return &b->x[j * b->n_features];
    }
    return NULL;
}

/* Loads the ratings with one feature file (item: as --item-features) of format fmt. */
static int load_with(const char *name, const char *text, size_t len, int item,
                     feature_format fmt, missing_features policy, dataset *d, char **err)
{
    const char *fpath = test_write(name, text, len ? len : strlen(text));
    const char *rpath = test_write_str("u.data", ratings);
    data_options o = test_options(rpath, DATA_FORMAT_AUTO);
    if (item)
        o.item_features = fpath;
    else
        o.user_features = fpath;
    o.features_format = fmt;
    o.missing_features = policy;
    return test_load(&o, d, err);
}

/* Expected rows: ids "1", "2", "3", width w, nonzeros listed as {id, feature, value}. */
typedef struct nz { int id, feat; float value; } nz;

static void check_rows(const dataset *d, int item, int64_t w, const nz *v, int n)
{
    const feature_block *b = item ? &d->item_features : &d->user_features;
    assert_int_equal(b->n_features, w);
    assert_int_equal(b->nrows, 3);
    for (int id = 1; id <= 3; id++) {
        char raw[8];
        snprintf(raw, sizeof raw, "%d", id);
        const float *r = row_of(d, item, raw);
        assert_non_null(r);
        for (int64_t j = 0; j < w; j++) {
            float want = 0.0f;
            for (int k = 0; k < n; k++)
                if (v[k].id == id && v[k].feat == j)
                    want = v[k].value;
            if (r[j] != want)
                fail_msg("id %d feature %lld: %g, want %g", id, (long long)j, r[j], want);
        }
    }
}

/* ---- every format, exactly ------------------------------------------------------------ */

typedef struct format_case {
    const char *name;
    feature_format fmt;             /* given (AUTO: detected) */
    feature_format want;            /* resolved */
    int item;
    const char *text;
    size_t len;                     /* 0: strlen(text) */
    int64_t width;
    nz v[16];
    int n;
} format_case;

static const format_case formats[] = {
    {"u.user", FEAT_FORMAT_AUTO, FEAT_FORMAT_ML100K_USER, 0,
     "1|25|M|technician|85711\n2|53|F|other|94043\n3|17|M|student|T8H1N\n", 0, 30,
     {{1, 2, 1}, {1, 7, 1}, {1, 28, 1}, {2, 5, 1}, {2, 8, 1}, {2, 22, 1}, {3, 0, 1},
      {3, 7, 1}, {3, 27, 1}}, 9},
    {"users.dat", FEAT_FORMAT_AUTO, FEAT_FORMAT_ML1M_USER, 0,
     "1::F::1::10::48067\n2::M::56::16::70072\n3::M::25::15::55117\n", 0, 30,
     {{1, 8, 1}, {1, 0, 1}, {1, 19, 1}, {2, 7, 1}, {2, 6, 1}, {2, 25, 1}, {3, 7, 1},
      {3, 2, 1}, {3, 24, 1}}, 9},
    {"u.item", FEAT_FORMAT_AUTO, FEAT_FORMAT_ML100K_ITEM, 1,
     "1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)"
     "|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
     "2|Caf\xe9 au lait (Gazon maudit) (1993)|01-Jan-1993||http://us.imdb.com/M/x"
     "|0|0|0|0|0|1|0|0|0|0|0|0|0|0|1|0|0|0|0\n"
     "3|unknown||||1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n", 0, 20,
     {{1, 3, 1}, {1, 4, 1}, {1, 5, 1}, {1, 19, 0.95f}, {2, 5, 1}, {2, 14, 1},
      {2, 19, 0.93f}, {3, 0, 1}}, 8},
    {"movies.dat", FEAT_FORMAT_AUTO, FEAT_FORMAT_ML1M_ITEM, 1,
     "1::Toy Story (1995)::Animation|Children's|Comedy\n2::Caf\xe9 Society, The (1993)::"
     "Comedy|Romance|Comedy\n3::Heat (1995)::Action|Crime|Thriller|IMAX\n", 0, 19,
     {{1, 2, 1}, {1, 3, 1}, {1, 4, 1}, {2, 4, 1}, {2, 14, 1}, {3, 0, 1}, {3, 5, 1},
      {3, 16, 1}, {3, 11, 1}}, 9},
    {"movies.csv", FEAT_FORMAT_AUTO, FEAT_FORMAT_ML20M_ITEM, 1,
     "movieId,title,genres\n1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n"
     "2,\"American President, The (1995)\",Comedy|Drama|IMAX|Romance\n"
     "3,\"Shawshank \"\"Redemption\"\", The\",(no genres listed)\n", 0, 19,
     {{1, 1, 1}, {1, 2, 1}, {1, 3, 1}, {1, 4, 1}, {1, 8, 1}, {2, 4, 1}, {2, 7, 1},
      {2, 11, 1}, {2, 14, 1}}, 9},
    {"genome-scores.csv", FEAT_FORMAT_AUTO, FEAT_FORMAT_GENOME, 1,
     "movieId,tagId,relevance\n1,1,0.025\n1,2,0.125\n1,3,0.5\n2,1,0.75\n2,3,1\n3,2,0.25\n", 0,
     3, {{1, 0, 0.025f}, {1, 1, 0.125f}, {1, 2, 0.5f}, {2, 0, 0.75f}, {2, 2, 1}, {3, 1, 0.25f}},
     6},
    {"dense.csv", FEAT_FORMAT_AUTO, FEAT_FORMAT_DENSE, 0,
     "id,age,score\n1,0.5,2\n2,1.5,-3\n3,0,1e-3\n", 0, 2,
     {{1, 0, 0.5f}, {1, 1, 2}, {2, 0, 1.5f}, {2, 1, -3}, {3, 1, 1e-3f}}, 5},
    {"dense.tsv", FEAT_FORMAT_AUTO, FEAT_FORMAT_DENSE, 0,
     "\xEF\xBB\xBF" "3\t0\t1e-3\r\n1\t0.5\t2\r\n\r\n2\t1.5\t-3\r\n", 0, 2,
     {{1, 0, 0.5f}, {1, 1, 2}, {2, 0, 1.5f}, {2, 1, -3}, {3, 1, 1e-3f}}, 5},
    {"dense.txt", FEAT_FORMAT_AUTO, FEAT_FORMAT_DENSE, 1, "1::4\n2::5\n3::6\n", 0, 1,
     {{1, 0, 4}, {2, 0, 5}, {3, 0, 6}}, 3},
    {"features.txt", FEAT_FORMAT_AUTO, FEAT_FORMAT_SPARSE, 0,
     "1 genre:Action year:0.5\n2   7:2\tgenre:Action\n3\n", 0, 3,
     {{1, 1, 1}, {1, 2, 0.5f}, {2, 0, 2}, {2, 1, 1}}, 4},
    {"forced.csv", FEAT_FORMAT_SPARSE, FEAT_FORMAT_SPARSE, 1, "3 b\n1 a:2 b:-1\n2\n", 0, 2,
     {{1, 0, 2}, {1, 1, -1}, {3, 1, 1}}, 3},
};

static void test_every_format(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof formats / sizeof formats[0]; k++) {
        const format_case *f = &formats[k];
        dataset d;
        char *err;
        int rc = load_with(f->name, f->text, f->len ? f->len : strlen(f->text), f->item, f->fmt,
                           MISSING_FEATURES_ERROR, &d, &err);
        if (rc != 0)
            fail_msg("%s: rc %d: %s", f->name, rc, err);
        const feature_block *b = f->item ? &d.item_features : &d.user_features;
        if (b->fmt != f->want)
            fail_msg("%s: read as %s", f->name, feature_format_name(b->fmt));
        check_rows(&d, f->item, f->width, f->v, f->n);
        assert_int_equal(b->rows_read, 3);
        assert_int_equal(b->missing, 0);
        assert_int_equal(b->unknown_ids, 0);
        const feature_block *other = f->item ? &d.user_features : &d.item_features;
        assert_null(other->x);
        assert_non_null(strstr(f->item ? d.item_features_source : d.user_features_source,
                               feature_format_name(f->want)));
        dataset_free(&d);
        free(err);
    }
}

static void test_detect(void **state)
{
    (void)state;
    static const struct { const char *path, *line; feature_format want; } cases[] = {
        {"/x/ml-100k/u.user", "", FEAT_FORMAT_ML100K_USER},
        {"u.item.gz", "", FEAT_FORMAT_ML100K_ITEM},
        {"d/users.dat", "", FEAT_FORMAT_ML1M_USER},
        {"movies.dat.zst", "", FEAT_FORMAT_ML1M_ITEM},
        {"movies.csv", "", FEAT_FORMAT_ML20M_ITEM},
        {"genome-scores.csv", "", FEAT_FORMAT_GENOME},
        {"f.libsvm", "1,2", FEAT_FORMAT_SPARSE},
        {"a", "1|24|M|technician|85711", FEAT_FORMAT_ML100K_USER},
        {"a", "1::F::1::10::48067", FEAT_FORMAT_ML1M_USER},
        {"a", "1::Toy Story (1995)::Animation|Children's|Comedy", FEAT_FORMAT_ML1M_ITEM},
        {"a", "1::0.5::2", FEAT_FORMAT_DENSE},
        {"a", "1|t|01-Jan-1995||u|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0", FEAT_FORMAT_ML100K_ITEM},
        {"a", "movieId,title,genres", FEAT_FORMAT_ML20M_ITEM},
        {"a", "\xEF\xBB\xBFmovieId,tagId,relevance", FEAT_FORMAT_GENOME},
        {"a", "u1,0.5,1", FEAT_FORMAT_DENSE},
        {"a", "u1\t0.5", FEAT_FORMAT_DENSE},
        {"a", "u1 a:1 b", FEAT_FORMAT_SPARSE},
        {"a", "1|2|3", FEAT_FORMAT_AUTO},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        feature_format f = feature_detect(cases[k].path, cases[k].line, strlen(cases[k].line));
        if (f != cases[k].want)
            fail_msg("%s '%s': %s, want %s", cases[k].path, cases[k].line,
                     feature_format_name(f), feature_format_name(cases[k].want));
    }
}

/* ---- bad files ---------------------------------------------------------------------------- */

typedef struct bad_case {
    const char *name;
    feature_format fmt;
    int item;
    const char *text;
    size_t len;                     /* 0: strlen(text) */
    int line;                       /* expected FILE:LINE (0: "FILE: " or no file) */
    const char *reason;
} bad_case;

static const bad_case bad[] = {
    {"f.csv", FEAT_FORMAT_AUTO, 0, "1,0.5\n2,abc\n3,1\n", 0, 2, "feature 1 'abc' is not a number"},
    {"f.csv", FEAT_FORMAT_AUTO, 0, "1,0.5\n2,\n3,1\n", 0, 2, "feature 1 is empty"},
    {"f.csv", FEAT_FORMAT_AUTO, 0, "1,0.5\n2,inf\n", 0, 2, "feature 1 'inf' is not finite"},
    {"f.csv", FEAT_FORMAT_AUTO, 0, "1,0.5,1\n2,1\n", 0, 2,
     "expected id and 2 features (as line 1): found 2 fields"},
    {"f.csv", FEAT_FORMAT_AUTO, 0, "id,a,b\n1,0.5,1\n2,1,2,3\n", 0, 3,
     "expected id and 2 features (as line 1): found 4 fields"},
    {"f.csv", FEAT_FORMAT_AUTO, 0, "1,1\n2,2\n1,3\n", 0, 3,
     "a second feature row for id '1' (the first is line 1)"},
    {"f.csv", FEAT_FORMAT_AUTO, 0, "1,1\n77,2\n3,1\n77,3\n", 0, 4,
     "a second feature row for id (not in the ratings) (the first is line 2)"},
    {"f.csv", FEAT_FORMAT_AUTO, 0, "", 0, 0, "f.csv: no feature rows (the file is empty"},
    {"f.csv", FEAT_FORMAT_AUTO, 0, "id,a\n", 0, 0, "f.csv: no feature rows"},
    {"f.csv", FEAT_FORMAT_AUTO, 0, "1,\0\001\n", 5, 1, "binary data (a NUL byte): not a text feature file"},
    {"f.csv", FEAT_FORMAT_AUTO, 0, "1,1\n2,\0\n", 8, 2, "binary data (a NUL byte at column 3)"},
    {"f.csv", FEAT_FORMAT_AUTO, 0, ",1\n", 0, 1, "empty id"},
    {"f.csv", FEAT_FORMAT_AUTO, 0, "1,1\n3,1\n", 0, 0,
     "f.csv: no feature row for user '2' (1 users of the training split have none"},
    {"f.csv", FEAT_FORMAT_DENSE, 0, "1\n", 0, 1, "expected id,f1,...,fn"},
    {"u.user", FEAT_FORMAT_AUTO, 0, "1|24|M|technician|1\n2|53|X|other|2\n", 0, 2,
     "gender 'X' is not M or F"},
    {"u.user", FEAT_FORMAT_AUTO, 0, "1|24|M|technician|1\n2|old|F|other|2\n", 0, 2,
     "age 'old' is not a whole number of years"},
    {"u.user", FEAT_FORMAT_AUTO, 0, "1|24|M|technician|1\n2|24|F|pilot|2\n", 0, 2,
     "occupation 'pilot' is not one of u.occupation's 21"},
    {"u.user", FEAT_FORMAT_AUTO, 0, "1|24|M|technician\n", 0, 1,
     "expected id|age|gender|occupation|zip (u.user): found 4 fields, need 5"},
    {"users.dat", FEAT_FORMAT_AUTO, 0, "1::F::1::10::48067\n2::M::30::16::70072\n", 0, 2,
     "age '30' is not an ml-1m age code"},
    {"users.dat", FEAT_FORMAT_AUTO, 0, "1::F::1::21::48067\n", 0, 1,
     "occupation '21' is not an ml-1m occupation code (0-20)"},
    {"u.item", FEAT_FORMAT_AUTO, 1, "1|Toy Story (1995)|01-Jan-1995||u|0|1\n", 0, 1,
     "expected id|title|release date|video release date|URL|19 genre flags (u.item): found 7 "
     "fields, need 24"},
    {"u.item", FEAT_FORMAT_AUTO, 1,
     "1|T|1995||u|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n", 0, 1,
     "release date '1995' is not dd-Mon-yyyy"},
    {"u.item", FEAT_FORMAT_AUTO, 1,
     "1|T|01-Jan-1995||u|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|2\n", 0, 1,
     "genre flag 19 ('2') is not 0 or 1"},
    {"movies.dat", FEAT_FORMAT_AUTO, 1, "1::Toy Story (1995)::Comedy\n2::X (1990)::Horrror\n",
     0, 2, "unknown genre 'Horrror'"},
    {"movies.csv", FEAT_FORMAT_AUTO, 1, "1,Toy Story (1995),Comedy\n", 0, 1,
     "missing header 'movieId,title,genres' (format ml-20m-item)"},
    {"movies.csv", FEAT_FORMAT_AUTO, 1, "movieId,title,genres\n1,Toy Story, The (1995),Comedy\n",
     0, 2, "expected movieId,title,genres (movies.csv): found 4 fields, need 3"},
    {"genome-scores.csv", FEAT_FORMAT_AUTO, 1,
     "movieId,tagId,relevance\n1,1,0.5\n1,1,0.25\n", 0, 3,
     "a second line for movie '1' and one tag (the first is line 2)"},
    {"genome-scores.csv", FEAT_FORMAT_AUTO, 1, "movieId,tagId,relevance\n1,1,high\n", 0, 2,
     "relevance 'high' is not a number"},
    {"s.txt", FEAT_FORMAT_SPARSE, 0, "1 a b a\n", 0, 1, "feature 'a' is given twice in the row"},
    {"s.txt", FEAT_FORMAT_SPARSE, 0, "1 a:1e999\n", 0, 1, "feature value '1e999' is not finite"},
    {"odd.txt", FEAT_FORMAT_AUTO, 0, "1|2|3\n", 0, 0, "cannot tell the feature format of"},
};

static void test_bad_files(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        const bad_case *b = &bad[k];
        dataset d;
        char *err, want[512];
        int rc = load_with(b->name, b->text, b->len ? b->len : strlen(b->text), b->item, b->fmt,
                           strstr(b->reason, "no feature row for") ? MISSING_FEATURES_ERROR
                                                                   : MISSING_FEATURES_ZERO,
                           &d, &err);
        if (b->line)
            snprintf(want, sizeof want, "bivae-dist: error: %s:%d: %s", test_path(b->name),
                     b->line, b->reason);
        else
            snprintf(want, sizeof want, "%s", b->reason);
        if (rc != BIVAE_EXIT_USAGE || !strstr(err, want) || test_count_error_lines(err) != 1)
            fail_msg("case %zu (%s): rc %d, stderr '%s', want '%s'", k, b->name, rc, err, want);
        free(err);
    }
}

static void test_missing_file(void **state)
{
    (void)state;
    data_options o = test_options(test_write_str("u.data", ratings), DATA_FORMAT_AUTO);
    o.item_features = test_path("nope.csv");
    dataset d;
    char *err;
    assert_int_equal(test_load(&o, &d, &err), BIVAE_EXIT_USAGE);
    assert_non_null(strstr(err, "cannot open"));
    assert_int_equal(test_count_error_lines(err), 1);
    free(err);
}

/* ---- unknown and missing ids ---------------------------------------------------------------- */

static void test_unknown_and_missing(void **state)
{
    (void)state;
    dataset d;
    char *err;
    /* id 2 has ratings but no row: a zero row; ids 9 and x are not in training: ignored */
    int rc = load_with("f.csv", "9,7,7\n1,1,2\nx,8,8\n3,3,4\n9x,1,1\n", 0, 1, FEAT_FORMAT_AUTO,
                       MISSING_FEATURES_ZERO, &d, &err);
    if (rc)
        fail_msg("rc %d: %s", rc, err);
    const feature_block *b = &d.item_features;
    assert_int_equal(b->n_features, 2);
    assert_int_equal(b->rows_read, 2);
    assert_int_equal(b->missing, 1);
    assert_int_equal(b->unknown_ids, 3);
    assert_int_equal(b->unknown_rows, 3);
    const nz want[] = {{1, 0, 1}, {1, 1, 2}, {3, 0, 3}, {3, 1, 4}};
    check_rows(&d, 1, 2, want, 4);
    /* the ratings are unchanged by the features' extra ids */
    assert_int_equal(d.n_items, 3);
    assert_int_equal(d.nnz_train, 6);
    dataset_free(&d);
    free(err);
    /* genome: unknown ids count every line */
    rc = load_with("genome-scores.csv", "movieId,tagId,relevance\n1,5,1\n8,5,1\n8,6,1\n2,6,1\n"
                   "3,5,0.5\n", 0, 1, FEAT_FORMAT_AUTO, MISSING_FEATURES_ERROR, &d, &err);
    if (rc)
        fail_msg("rc %d: %s", rc, err);
    assert_int_equal(d.item_features.unknown_ids, 1);
    assert_int_equal(d.item_features.unknown_rows, 2);
    assert_int_equal(d.item_features.n_features, 2);
    dataset_free(&d);
    free(err);
}

/* String ids follow the ratings' rules: "007" is not 7. */
static void test_string_ids(void **state)
{
    (void)state;
    const char *rpath = test_write_str("str.csv", "user,item\nA1,007\nB2,7\nA1,7\n");
    const char *fpath = test_write_str("items.csv", "007,1\n7,2\n+7,3\n");
    data_options o = test_options(rpath, DATA_FORMAT_AUTO);
    o.item_features = fpath;
    dataset d;
    char *err;
    int rc = test_load(&o, &d, &err);
    if (rc)
        fail_msg("rc %d: %s", rc, err);
    assert_true(row_of(&d, 1, "007")[0] == 1.0f);
    assert_true(row_of(&d, 1, "7")[0] == 2.0f);
    assert_int_equal(d.item_features.unknown_ids, 1);
    dataset_free(&d);
    free(err);
}

/* ---- synthetic -------------------------------------------------------------------------------- */

static void test_synthetic_features(void **state)
{
    (void)state;
    synth_shape s;
    char msg[256];
    assert_int_equal(synth_shape_from_spec("300x250x9000", &s, msg, sizeof msg), 0);
    enum { D = 6, N = 5 };
    const int64_t ids[N] = {1, 17, 250, 3, 99}, rev[N] = {99, 3, 250, 17, 1};
    float a[N * D], b[N * D], c[N * D], e[N * D];
    for (int side = 0; side < 2; side++) {
        synth_features(&s, 7, side, D, ids, N, a);
        synth_features(&s, 7, side, D, ids, N, b);
        assert_memory_equal(a, b, sizeof a);                /* deterministic */
        synth_features(&s, 7, side, D, rev, N, c);           /* a row depends on its id only */
        for (int r = 0; r < N; r++)
            assert_memory_equal(&a[r * D], &c[(N - 1 - r) * D], sizeof(float) * D);
        synth_features(&s, 8, side, D, ids, N, e);           /* and on the seed */
        assert_true(memcmp(a, e, sizeof a) != 0);
        int nonzero = 0;
        for (int k = 0; k < N * D; k++)
            nonzero += a[k] != 0.0f;
        assert_int_equal(nonzero, N * D);
    }
    /* items of one topic share their noiseless part: the rows are close, not equal */
    synth_features(&s, 7, 0, D, ids, N, a);
    synth_features(&s, 7, 1, D, ids, N, b);
    assert_true(memcmp(a, b, sizeof a) != 0);               /* the sides differ */
}

static double sq_dist(const float *a, const float *b, int D)
{
    double s = 0.0;
    for (int d = 0; d < D; d++)
        s += ((double)a[d] - b[d]) * ((double)a[d] - b[d]);
    return s;
}

/* The features tell the latent structure: items of one topic (users sharing a preferred
 * topic) are much closer than items of two topics (users with none in common). */
static void test_synthetic_features_informative(void **state)
{
    (void)state;
    synth_shape s;
    char msg[256];
    assert_int_equal(synth_shape_from_spec("400x600x20000", &s, msg, sizeof msg), 0);
    enum { D = 8, U = 400, I = 600 };
    synth_model m;
    synth_work w;
    synth_model_init(&m, &s, 11);
    synth_work_init(&w, &m);
    int64_t *ids = malloc(sizeof(int64_t) * I);
    uint64_t *topics = calloc(U, sizeof(uint64_t));           /* users: preferred-topic bits */
    for (int64_t k = 0; k < I; k++)
        ids[k] = k + 1;
    for (int64_t u = 1; u <= U; u++) {
        int n = synth_user_topics(&m, &w, u);
        for (int a = 0; a < n; a++) {
            topics[u - 1] |= 1ull << w.pref[a];
            w.preferred[w.pref[a]] = 0;
        }
    }
    float *xi = malloc(sizeof(float) * I * D), *xu = malloc(sizeof(float) * U * D);
    synth_features(&s, 11, 1, D, ids, I, xi);
    synth_features(&s, 11, 0, D, ids, U, xu);
    double same = 0, other = 0, n_same = 0, n_other = 0;
    for (int a = 0; a < I; a++)
        for (int b = a + 1; b < I; b++) {
            int eq = m.topic[a] == m.topic[b];
            *(eq ? &same : &other) += sq_dist(&xi[a * D], &xi[b * D], D);
            *(eq ? &n_same : &n_other) += 1;
        }
    printf("items: mean squared distance %.3f within a topic, %.3f across\n", same / n_same,
           other / n_other);
    assert_true(n_same > 0 && same / n_same < 0.2 * (other / n_other));
    same = other = n_same = n_other = 0;
    for (int a = 0; a < U; a++)
        for (int b = a + 1; b < U; b++) {
            if (topics[a] != topics[b] && (topics[a] & topics[b]))
                continue;
            int eq = topics[a] == topics[b];
            *(eq ? &same : &other) += sq_dist(&xu[a * D], &xu[b * D], D);
            *(eq ? &n_same : &n_other) += 1;
        }
    printf("users: %.3f with the same topics (%.0f pairs), %.3f with none shared\n",
           same / n_same, n_same, other / n_other);
    assert_true(n_same > 0 && same / n_same < 0.5 * (other / n_other));
    free(ids);
    free(topics);
    free(xi);
    free(xu);
    synth_work_free(&w);
    synth_model_free(&m);
}

static void test_synthetic_in_dataset(void **state)
{
    (void)state;
    data_options o;
    memset(&o, 0, sizeof o);
    o.synthetic = "300x250x9000";
    o.seed = 5;
    o.test_ratio = 0.2;
    o.synthetic_features = 3;
    dataset d;
    char *err;
    int rc = test_load(&o, &d, &err);
    if (rc)
        fail_msg("rc %d: %s", rc, err);
    assert_int_equal(d.user_features.n_features, 3);
    assert_int_equal(d.item_features.nrows, d.n_items);
    int64_t *ids = test_ids(&d.item_ids);
    float want[3];
    synth_features(&(synth_shape){300, 250, 9000, ""}, 5, 1, 3, &ids[4], 1, want);
    assert_memory_equal(&d.item_features.x[4 * 3], want, sizeof want);
    free(ids);
    dataset_free(&d);
    free(err);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_every_format),
    cmocka_unit_test(test_detect),
    cmocka_unit_test(test_bad_files),
    cmocka_unit_test(test_missing_file),
    cmocka_unit_test(test_unknown_and_missing),
    cmocka_unit_test(test_string_ids),
    cmocka_unit_test(test_synthetic_features),
    cmocka_unit_test(test_synthetic_features_informative),
    cmocka_unit_test(test_synthetic_in_dataset),
};

TEST_MAIN(tests)
