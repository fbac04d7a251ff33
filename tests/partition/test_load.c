/* tests/partition/test_load.c — dataset_load on files, one rank: every format, errors
 * (one line naming FILE:LINE), --min-rating, duplicates, explicit train/test files with
 * unknown users and items, id maps sorted and permuted, option errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "test_util.h"

/* The same 7 ratings (users 3, 1, 2; items 10, 20, 30; a duplicate) in every format. */
static const struct { const char *name; data_format fmt; const char *text; } formats[] = {
    {"u.data", DATA_FORMAT_AUTO, "3\t10\t4\t1\n1\t20\t5\t2\n1\t10\t3\t3\n2\t30\t1\t4\n2\t20\t2\t5\n3\t30\t5\t6\n3\t10\t4\t7\n"},
    {"ratings.dat", DATA_FORMAT_AUTO, "3::10::4::1\n1::20::5::2\n1::10::3::3\n2::30::1::4\n2::20::2::5\n3::30::5::6\n3::10::4::7\n"},
    {"ratings.csv", DATA_FORMAT_AUTO, "userId,movieId,rating,timestamp\n3,10,4,1\n1,20,5,2\n1,10,3,3\n2,30,1,4\n2,20,2,5\n3,30,5,6\n3,10,4,7\n"},
    {"plain.csv", DATA_FORMAT_AUTO, "user,item,rating\n3,10,4\n1,20,5\n1,10,3\n2,30,1\n2,20,2\n3,30,5\n3,10,4\n"},
    {"noheader.csv", DATA_FORMAT_AUTO, "3,10,4\n1,20,5\n1,10,3\n2,30,1\n2,20,2\n3,30,5\n3,10,4"},
    {"data.tsv", DATA_FORMAT_AUTO, "user\titem\trating\n3\t10\t4\n1\t20\t5\n1\t10\t3\n2\t30\t1\n2\t20\t2\n3\t30\t5\n3\t10\t4\n\n"},
    {"crlf_bom.txt", DATA_FORMAT_TSV, "\xEF\xBB\xBF" "3\t10\t4\r\n1\t20\t5\r\n1\t10\t3\r\n2\t30\t1\r\n2\t20\t2\r\n3\t30\t5\r\n3\t10\t4\r\n\r\n"},
    {"forced.txt", DATA_FORMAT_ML1M, "3::10::4::1\n1::20::5::2\n1::10::3::3\n2::30::1::4\n2::20::2::5\n3::30::5::6\n3::10::4::7\n"},
};

static void check_small(const dataset *d)
{
    assert_int_equal(d->n_users, 3);
    assert_int_equal(d->n_items, 3);
    assert_int_equal(d->nnz_train, 6);                     /* (3,10) twice counts once */
    assert_int_equal(d->nnz_test, 0);
    const int64_t users[] = {1, 2, 3}, items[] = {10, 20, 30};
    int64_t *user_raw = test_ids(&d->user_ids), *item_raw = test_ids(&d->item_ids);
    assert_memory_equal(user_raw, users, sizeof users);
    assert_memory_equal(item_raw, items, sizeof items);
    const int64_t ones[6][2] = {{1, 10}, {1, 20}, {2, 20}, {2, 30}, {3, 10}, {3, 30}};
    for (int k = 0; k < 6; k++) {
        assert_true(test_has_one(&d->Ru, user_raw, item_raw, ones[k][0], ones[k][1]));
        assert_true(test_has_one(&d->Ri, item_raw, user_raw, ones[k][1], ones[k][0]));
    }
    assert_false(test_has_one(&d->Ru, user_raw, item_raw, 1, 30));
    free(user_raw);
    free(item_raw);
    assert_int_equal(d->Ri.rowptr[3], 6);
    assert_int_equal(d->n_local_users, 3);
    assert_int_equal(d->rank, 0);
    assert_int_equal(d->nranks, 1);
}

static void test_every_format(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof formats / sizeof formats[0]; k++) {
        const char *path = test_write_str(formats[k].name, formats[k].text);
        data_options o = test_options(path, formats[k].fmt);
        dataset d;
        char *err;
        int rc = test_load(&o, &d, &err);
        if (rc != 0)
            fail_msg("%s: rc %d: %s", formats[k].name, rc, err);
        check_small(&d);
        assert_non_null(strstr(d.source, path));
        dataset_free(&d);
        free(err);
    }
}

/* ---- errors --------------------------------------------------------------------- */

typedef struct error_case {
    const char *name;
    data_format fmt;
    const char *text;
    int line;               /* expected FILE:LINE (0: the message has no line) */
    const char *reason;
} error_case;

static const error_case error_cases[] = {
    {"e1.tsv", DATA_FORMAT_AUTO, "1\t2\t3\n4\t5\t6\na\x01" "c\t7\t1\n", 3, "user id 'a\\x01c' contains a control character (byte 0x01)"},
    {"e2.tsv", DATA_FORMAT_AUTO, "1\t2\n1\t\n", 2, "empty item id"},
    {"e3.csv", DATA_FORMAT_AUTO, "user,item\n1,2\n3,4\n\n5,6,x\n", 5, "rating 'x' is not a number"},
    {"e4.dat", DATA_FORMAT_AUTO, "1::2::3::0\n1::3::nan::0\n", 2, "rating 'nan' is not finite"},
    {"e5.dat", DATA_FORMAT_AUTO, "1::2::3::0\n1::3::great::0\n", 2, "rating 'great' is not a number"},
    {"e6.csv", DATA_FORMAT_CSV, "1,2\n3\n", 2, "expected user,item[,rating[,...]]: found 1 field, need at least 2"},
    {"e7.dat", DATA_FORMAT_AUTO, "1::2::5::0\n2::3\n", 2, "expected user::item::rating::timestamp: found 2 fields, need at least 3"},
    {"ratings.csv", DATA_FORMAT_ML20M, "1,2,3.5,0\n", 1, "missing header 'userId,movieId,rating,timestamp'"},
    {"e9.tsv", DATA_FORMAT_AUTO, "\xEF\xBB\xBF" "1\t2\r\n3\t4\r\n5\t\x7f\r\n", 3, "item id '\\x7f' contains a control character (byte 0x7f)"},
    {"hdr.tsv", DATA_FORMAT_AUTO, "u\ti\tr\n1\t2\t3\n", 1, "rating 'r' is not a number (if line 1 is a header, pass --header)"},
    {"empty.tsv", DATA_FORMAT_AUTO, "", 0, "empty.tsv: no ratings"},
    {"empty", DATA_FORMAT_AUTO, "", 0, "empty: no ratings"},
    {"header.csv", DATA_FORMAT_AUTO, "user,item,rating\n", 0, "header.csv: no ratings"},
    {"header20.csv", DATA_FORMAT_AUTO, "userId,movieId,rating,timestamp\r\n", 0, "header20.csv: no ratings"},
    {"blank.tsv", DATA_FORMAT_AUTO, "\n\n\n", 0, "blank.tsv: no ratings"},
    {"spaces.txt", DATA_FORMAT_AUTO, "1 2 3\n", 0, "cannot tell the format"},
};

static void test_errors_name_file_and_line(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof error_cases / sizeof error_cases[0]; k++) {
        const error_case *c = &error_cases[k];
        const char *path = test_write_str(c->name, c->text);
        data_options o = test_options(path, c->fmt);
        dataset d;
        char *err, want[1024];
        int rc = test_load(&o, &d, &err);
        assert_int_equal(rc, BIVAE_EXIT_USAGE);
        assert_int_equal(test_count_error_lines(err), 1);
        if (c->line)                                       /* the line starts with this */
            snprintf(want, sizeof want, "bivae-dist: error: %s:%d: %s", path, c->line, c->reason);
        else
            snprintf(want, sizeof want, "%s", c->reason);
        if (c->line ? strncmp(err, want, strlen(want)) != 0 : !strstr(err, want))
            fail_msg("%s: got '%s', want '%s'", c->name, err, want);
        assert_ptr_equal(strchr(err, '\n'), err + strlen(err) - 1);      /* one line */
        assert_null(d.user_ids.off);
        free(err);
    }
}

static void test_cannot_open(void **state)
{
    (void)state;
    const char *path = test_path("does-not-exist.tsv");
    data_options o = test_options(path, DATA_FORMAT_AUTO);
    dataset d;
    char *err, want[1024];
    assert_int_equal(test_load(&o, &d, &err), BIVAE_EXIT_USAGE);
    snprintf(want, sizeof want, "bivae-dist: error: cannot open %s: No such file or directory\n", path);
    assert_string_equal(err, want);
    free(err);
}

static void test_bad_options(void **state)
{
    (void)state;
    const char *path = test_write_str("ok.tsv", "1\t2\n");
    data_options none = test_options(NULL, DATA_FORMAT_AUTO), two = test_options(path, DATA_FORMAT_AUTO);
    data_options ratio = test_options(path, DATA_FORMAT_AUTO), lone = test_options(NULL, DATA_FORMAT_AUTO);
    data_options fmt = test_options(path, (data_format)42);
    two.synthetic = "ml-100k";
    ratio.test_ratio = 1.5;
    lone.test_path = path;
    const struct { data_options *o; const char *want; } cases[] = {
        {&none, "no data"}, {&two, "only one of"}, {&ratio, "--test-ratio"},
        {&lone, "--test needs --train"}, {&fmt, "unknown --format"},
    };
    for (int k = 0; k < 5; k++) {
        dataset d;
        char *err;
        assert_int_equal(test_load(cases[k].o, &d, &err), BIVAE_EXIT_USAGE);
        assert_int_equal(test_count_error_lines(err), 1);
        assert_non_null(strstr(err, cases[k].want));
        free(err);
    }
}

/* ---- filtering, duplicates, explicit split -------------------------------------- */

static void test_min_rating(void **state)
{
    (void)state;
    const char *path = test_write_str("min.tsv", "1\t10\t1\n1\t20\t3\n2\t10\t2.5\n2\t30\t4\n3\t10\t1\n");
    data_options o = test_options(path, DATA_FORMAT_AUTO);
    o.has_min_rating = 1;
    o.min_rating = 3.0;
    dataset d;
    assert_int_equal(test_load(&o, &d, NULL), 0);
    assert_int_equal(d.n_users, 2);                        /* user 3 has nothing >= 3 */
    assert_int_equal(d.n_items, 2);
    assert_int_equal(d.nnz_train, 2);
    int64_t *ur = test_ids(&d.user_ids), *ir = test_ids(&d.item_ids);
    assert_true(test_has_one(&d.Ru, ur, ir, 1, 20));
    assert_true(test_has_one(&d.Ru, ur, ir, 2, 30));
    assert_int_equal(d.below_min_rating, 3);
    free(ur);
    free(ir);
    dataset_free(&d);
    o.min_rating = 4.5;                                    /* nothing left */
    char *err;
    assert_int_equal(test_load(&o, &d, &err), BIVAE_EXIT_USAGE);
    assert_non_null(strstr(err, "no training ratings left"));
    free(err);
}

static void test_train_test_files(void **state)
{
    (void)state;
    const char *train = test_write_str("train.tsv", "1\t10\n2\t20\n2\t10\n1\t10\n");
    const char *test = test_write_str("test.csv", "user,item\n1,20\n1,30\n1,20\n3,10\n3,10\n2,30\n1,30,5\n");
    data_options o = test_options(NULL, DATA_FORMAT_AUTO);
    o.train_path = train;
    o.test_path = test;
    o.has_min_rating = 1;
    o.min_rating = 1.0;                                    /* missing ratings are 1.0: kept */
    dataset d;
    assert_int_equal(test_load(&o, &d, NULL), 0);
    assert_int_equal(d.n_users, 2);
    assert_int_equal(d.n_items, 2);
    assert_int_equal(d.nnz_train, 3);
    assert_int_equal(d.test_unknown_user, 2);              /* user 3 is unknown: 2 rows */
    assert_int_equal(d.test_unknown_item, 2);              /* (1,30), (2,30): item 30 unknown */
    assert_int_equal(d.nnz_test, 3);                       /* (1,20) (1,30) (2,30), once each */
    assert_int_equal(d.n_test_users, 2);
    assert_int_equal(d.test_count[0], 2);                  /* user 1: items 20 and 30 */
    assert_int_equal(d.test_count[1], 1);                  /* user 2: item 30 */
    assert_int_equal(d.Tu.rowptr[1] - d.Tu.rowptr[0], 1);  /* 30 is unknown to training */
    int64_t *ur = test_ids(&d.user_ids), *ir = test_ids(&d.item_ids);
    assert_true(test_has_one(&d.Tu, ur, ir, 1, 20));
    free(ur);
    free(ir);
    assert_int_equal(d.Tu.rowptr[2], 1);
    assert_non_null(strstr(d.source, "train.tsv (tsv)"));
    assert_non_null(strstr(d.source, "test.csv (csv, header 'user,item' skipped)"));
    dataset_free(&d);
    o.test_path = NULL;                                    /* --train alone: no test rows */
    assert_int_equal(test_load(&o, &d, NULL), 0);
    assert_int_equal(d.nnz_test + d.n_test_users + d.test_unknown_user, 0);
    assert_int_equal(d.Tu.rowptr[d.Tu.nrows], 0);
    dataset_free(&d);
}

static void test_test_file_errors_are_reported(void **state)
{
    (void)state;
    const char *train = test_write_str("train2.tsv", "1\t10\n");
    const char *test = test_write_str("test2.tsv", "1\t10\n1\n");
    data_options o = test_options(NULL, DATA_FORMAT_AUTO);
    o.train_path = train;
    o.test_path = test;
    dataset d;
    char *err, want[1024];
    assert_int_equal(test_load(&o, &d, &err), BIVAE_EXIT_USAGE);
    snprintf(want, sizeof want, "bivae-dist: error: %s:2: expected", test);
    assert_true(strncmp(err, want, strlen(want)) == 0);
    free(err);
}

/* ---- id maps -------------------------------------------------------------------- */

static const char *many_ids_file(void)
{
    static char text[1 << 16];
    size_t n = 0;
    for (int u = 0; u < 300; u++)
        for (int k = 0; k < 3; k++)
            n += (size_t)sprintf(text + n, "%d\t%d\n", 1000 + 7 * u, 50 + (u * 13 + k * 101) % 400);
    return test_write("many.tsv", text, n);
}

static void test_id_maps_sorted_and_permuted(void **state)
{
    (void)state;
    data_options o = test_options(many_ids_file(), DATA_FORMAT_AUTO);
    dataset sorted, perm, again, other;
    assert_int_equal(test_load(&o, &sorted, NULL), 0);
    int64_t *su = test_ids(&sorted.user_ids), *si = test_ids(&sorted.item_ids);
    for (int64_t g = 1; g < sorted.n_users; g++)
        assert_true(su[g - 1] < su[g]);
    for (int64_t g = 1; g < sorted.n_items; g++)
        assert_true(si[g - 1] < si[g]);
    o.permute_ids = 1;
    assert_int_equal(test_load(&o, &perm, NULL), 0);
    assert_int_equal(test_load(&o, &again, NULL), 0);
    o.seed = 43;
    assert_int_equal(test_load(&o, &other, NULL), 0);
    assert_int_equal(perm.n_users, sorted.n_users);
    int64_t *pu = test_ids(&perm.user_ids), *pi = test_ids(&perm.item_ids);
    int64_t *au = test_ids(&again.user_ids), *ai = test_ids(&again.item_ids);
    int64_t *ou = test_ids(&other.user_ids);
    size_t ub = sizeof(int64_t) * (size_t)perm.n_users, ib = sizeof(int64_t) * (size_t)perm.n_items;
    assert_memory_equal(pu, au, ub);
    assert_memory_equal(pi, ai, ib);
    assert_memory_not_equal(pu, su, ub);
    assert_memory_not_equal(pi, si, ib);
    assert_memory_not_equal(pu, ou, ub);
    int64_t *copy = malloc(ub);                            /* a permutation of it */
    memcpy(copy, pu, ub);
    for (int64_t a = 0; a < perm.n_users; a++)
        for (int64_t b = a + 1; b < perm.n_users; b++)
            if (copy[b] < copy[a]) { int64_t t = copy[a]; copy[a] = copy[b]; copy[b] = t; }
    assert_memory_equal(copy, su, ub);
    free(copy);
    for (int64_t u = 0; u < 300; u += 37)                  /* same ones through the maps */
        for (int64_t i = 50; i < 450; i += 3)
            assert_int_equal(test_has_one(&perm.Ru, pu, pi, 1000 + 7 * u, i),
                             test_has_one(&sorted.Ru, su, si, 1000 + 7 * u, i));
    assert_int_equal(perm.nnz_train, sorted.nnz_train);
    int64_t *bufs[] = {su, si, pu, pi, au, ai, ou};
    for (size_t k = 0; k < sizeof bufs / sizeof bufs[0]; k++)
        free(bufs[k]);
    dataset_free(&sorted);
    dataset_free(&perm);
    dataset_free(&again);
    dataset_free(&other);
}

/* ---- hash split ------------------------------------------------------------------ */

static void test_split_keeps_duplicates_together(void **state)
{
    (void)state;
    static char text[1 << 16];
    size_t n = 0;
    for (int u = 1; u <= 200; u++)
        for (int rep = 0; rep < 3; rep++)                  /* every pair three times */
            for (int i = 1; i <= 5; i++)
                n += (size_t)sprintf(text + n, "%d,%d,%d\n", u, (u * 7 + i * 13) % 500 + 1, rep + 1);
    data_options o = test_options(test_write("dups.csv", text, n), DATA_FORMAT_AUTO);
    o.test_ratio = 0.3;
    dataset d;
    assert_int_equal(test_load(&o, &d, NULL), 0);
    assert_int_equal(d.nnz_train + d.nnz_test, 1000);      /* each pair once, one side only */
    assert_true(d.nnz_test > 200 && d.nnz_test < 400);
    for (int64_t r = 0; r < d.n_local_users; r++)
        for (int64_t k = d.Tu.rowptr[r]; k < d.Tu.rowptr[r + 1]; k++)
            for (int64_t j = d.Ru.rowptr[r]; j < d.Ru.rowptr[r + 1]; j++)
                assert_int_not_equal(d.Ru.col[j], d.Tu.col[k]);
    dataset_free(&d);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_every_format),
    cmocka_unit_test(test_errors_name_file_and_line),
    cmocka_unit_test(test_cannot_open),
    cmocka_unit_test(test_bad_options),
    cmocka_unit_test(test_min_rating),
    cmocka_unit_test(test_train_test_files),
    cmocka_unit_test(test_test_file_errors_are_reported),
    cmocka_unit_test(test_id_maps_sorted_and_permuted),
    cmocka_unit_test(test_split_keeps_duplicates_together),
};

TEST_MAIN(tests)
