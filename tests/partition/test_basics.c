/* tests/partition/test_basics.c — the building blocks: integer sorts, the id hash, the id
 * permutation, the split hash, alias tables, synthetic user counts, CSR building. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "partition/alias.h"
#include "partition/csr.h"
#include "partition/hash.h"
#include "partition/iddict.h"
#include "partition/idmap.h"
#include "partition/sort.h"
#include "partition/split.h"
#include "partition/synth_model.h"

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Inputs that break naive quicksorts: sorted, reversed, constant, organ pipe, few values,
 * random; every length up to 70 and a few large ones. */
static void fill_pattern(int64_t *a, size_t n, int pattern, rng64 *r)
{
    for (size_t k = 0; k < n; k++) {
        switch (pattern) {
        case 0: a[k] = (int64_t)k; break;
        case 1: a[k] = (int64_t)(n - k); break;
        case 2: a[k] = 7; break;
        case 3: a[k] = (int64_t)(k < n / 2 ? k : n - k); break;
        case 4: a[k] = (int64_t)rng64_below(r, 3) - 1; break;
        default: a[k] = (int64_t)rng64_next(r); break;
        }
    }
}

static void test_sorts_match_qsort(void **state)
{
    (void)state;
    rng64 r = rng64_seed(1);
    size_t sizes[80], ns = 0;
    for (size_t n = 0; n <= 70; n++)
        sizes[ns++] = n;
    sizes[ns++] = 1000;
    sizes[ns++] = 4097;
    sizes[ns++] = 100000;
    int64_t *a = malloc(sizeof(int64_t) * 100000), *b = malloc(sizeof(int64_t) * 100000);
    int32_t *c = malloc(sizeof(int32_t) * 100000);
    for (size_t s = 0; s < ns; s++)
        for (int pattern = 0; pattern < 6; pattern++) {
            size_t n = sizes[s];
            fill_pattern(a, n, pattern, &r);
            for (size_t k = 0; k < n; k++)
                c[k] = (int32_t)a[k];                      /* truncation: other values */
            memcpy(b, a, sizeof(int64_t) * n);
            qsort(b, n, sizeof(int64_t), cmp_i64);
            part_sort_i64(a, n);
            assert_memory_equal(a, b, sizeof(int64_t) * n);
            part_sort_i32(c, n);
            for (size_t k = 1; k < n; k++)
                assert_true(c[k - 1] <= c[k]);
            size_t u = part_unique_i64(a, n);
            for (size_t k = 1; k < u; k++)
                assert_true(a[k - 1] < a[k]);
            assert_true(u <= n && (n == 0 || u >= 1));
        }
    free(a);
    free(b);
    free(c);
}

/* The dictionary gives one local index per distinct raw id: integers by value, strings by
 * their bytes ("7" and "007" are different ids), and keeps them through growth. */
static void test_iddict(void **state)
{
    (void)state;
    id_dict d;
    id_dict_init(&d);
    char buf[32];
    for (int32_t k = 0; k < 50000; k++) {
        raw_id v = raw_id_int((int64_t)k * 1000003 - 7);
        assert_int_equal(id_dict_intern(&d, &v), 2 * k);
        snprintf(buf, sizeof buf, "s%d", k);
        raw_id t = {0, 0, buf, (uint32_t)strlen(buf)};
        assert_int_equal(id_dict_intern(&d, &t), 2 * k + 1);
    }
    assert_int_equal(d.n, 100000);
    for (int32_t k = 0; k < 50000; k += 7) {
        raw_id v = raw_id_int((int64_t)k * 1000003 - 7);
        assert_int_equal(id_dict_intern(&d, &v), 2 * k);
        snprintf(buf, sizeof buf, "s%d", k);
        raw_id t = {0, 0, buf, (uint32_t)strlen(buf)};
        assert_int_equal(id_dict_intern(&d, &t), 2 * k + 1);
        raw_id back = id_dict_get(&d, 2 * k + 1);
        assert_true(back.n == t.n && memcmp(back.p, buf, t.n) == 0);
    }
    raw_id seven = raw_id_int(7), s007 = {0, 0, "007", 3};
    uint32_t a = id_dict_intern(&d, &seven), b = id_dict_intern(&d, &s007);
    assert_true(a != b);
    assert_int_equal(d.n, 100002);
    id_dict_free(&d);
}

/* The inverse permutation of the id maps: fixed by (n, seed, side), a permutation, and
 * exactly the shuffle every earlier version applied to the sorted raw ids (golden values
 * printed by the shuffle of commit 87d5a90), so integer files keep their global ids. */
static void test_permutation(void **state)
{
    (void)state;
    static const int32_t shuffled_42_user[12] = {5, 6, 9, 3, 2, 10, 1, 7, 0, 4, 8, 11};
    static const int32_t shuffled_7_item[12] = {6, 2, 4, 5, 8, 7, 1, 3, 11, 9, 0, 10};
    int32_t inv[12];
    idmap_inverse_permutation(inv, 12, 42, ID_SIDE_USER);
    for (int g = 0; g < 12; g++)
        assert_int_equal(inv[shuffled_42_user[g]], g);
    idmap_inverse_permutation(inv, 12, 7, ID_SIDE_ITEM);
    for (int g = 0; g < 12; g++)
        assert_int_equal(inv[shuffled_7_item[g]], g);
    const int64_t n = 1000;
    int32_t *a = malloc(sizeof(int32_t) * n), *b = malloc(sizeof(int32_t) * n);
    idmap_inverse_permutation(a, n, 42, ID_SIDE_USER);
    idmap_inverse_permutation(b, n, 42, ID_SIDE_USER);
    assert_memory_equal(a, b, sizeof(int32_t) * n);
    int64_t fixed = 0;
    char *seen = calloc((size_t)n, 1);
    for (int64_t k = 0; k < n; k++) {
        fixed += a[k] == k;
        assert_true(a[k] >= 0 && a[k] < n && !seen[a[k]]);
        seen[a[k]] = 1;
    }
    assert_true(fixed < 20);                               /* ~1 expected */
    idmap_inverse_permutation(b, n, 42, ID_SIDE_ITEM);
    assert_memory_not_equal(a, b, sizeof(int32_t) * n);
    idmap_inverse_permutation(b, n, 43, ID_SIDE_USER);
    assert_memory_not_equal(a, b, sizeof(int32_t) * n);
    idmap_inverse_permutation(b, 0, 43, ID_SIDE_USER);    /* empty: nothing to do */
    free(seen);
    free(a);
    free(b);
}

static void test_split_hash(void **state)
{
    (void)state;
    int64_t test = 0, n = 0;
    for (int64_t u = 1; u <= 400; u++)
        for (int64_t i = 1; i <= 500; i++, n++) {
            int t = split_is_test(42, u, i, 0.25);
            assert_int_equal(t, split_is_test(42, u, i, 0.25));
            test += t;
        }
    assert_true(fabs((double)test / (double)n - 0.25) < 0.005);
    assert_int_equal(split_is_test(42, 1, 2, 0.0), 0);
    assert_int_equal(split_is_test(42, 1, 2, 1.0), 1);
    int differ = 0;
    for (int64_t u = 1; u <= 200; u++)
        differ += split_is_test(42, u, 7, 0.5) != split_is_test(43, u, 7, 0.5);
    assert_true(differ > 50);
}

static void test_alias_frequencies(void **state)
{
    (void)state;
    const double w[5] = {1, 2, 3, 4, 0.5};
    alias_table t;
    alias_table_build(&t, w, 5);
    rng64 r = rng64_seed(9);
    int64_t hits[5] = {0};
    const int64_t draws = 1000000;
    for (int64_t k = 0; k < draws; k++)
        hits[alias_table_draw(&t, &r)]++;
    for (int k = 0; k < 5; k++)
        assert_true(fabs((double)hits[k] / draws - w[k] / 10.5) < 0.003);
    alias_table_free(&t);
}

static void test_user_counts(void **state)
{
    (void)state;
    const synth_shape shapes[] = {
        {943, 1682, 100000, ""}, {50, 40, 1000, ""}, {50, 60, 1500, ""}, {3, 1000, 1000, ""},
        {1000, 50, 20000, ""}, {20000, 300, 3000000, ""},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const synth_shape *sh = &shapes[s];
        int64_t *count = malloc(sizeof(int64_t) * (size_t)sh->U);
        int64_t *first = malloc(sizeof(int64_t) * (size_t)(sh->U + 1));
        synth_user_counts(sh, 5, count);
        synth_forced_slots(sh, count, first);
        int64_t sum = 0, lo = sh->I < 20 ? sh->I : 20, hi = (int64_t)(0.6 * (double)sh->I);
        for (int64_t v = 0; v < sh->U; v++) {
            sum += count[v];
            if (count[v] < lo || count[v] > hi)
                fail_msg("shape %zu: user %lld has %lld", s, (long long)v, (long long)count[v]);
            assert_true(first[v + 1] >= first[v] && first[v + 1] - first[v] <= count[v]);
        }
        assert_int_equal(sum, sh->nnz);
        assert_int_equal(first[0], 0);
        assert_int_equal(first[sh->U], sh->I);
        free(count);
        free(first);
    }
}

/* Rank 1 of 3 gets pairs whose rows are 1, 4, 7 (local rows 0, 1, 2), with duplicates. */
static void test_csr_build(void **state)
{
    (void)state;
    const gpair in[] = {{4, 9}, {1, 3}, {4, 2}, {7, 0}, {4, 9}, {1, 3}, {1, 0}, {4, 5}};
    size_t n = sizeof in / sizeof in[0];
    gpair *v = malloc(sizeof in);
    memcpy(v, in, sizeof in);
    csr_matrix m;
    part_csr_build(v, n, 4, 10, 3, &m);                         /* local row 3 (global 10): empty */
    const int64_t rowptr[] = {0, 2, 5, 6, 6};
    const int32_t col[] = {0, 3, 2, 5, 9, 0};
    assert_memory_equal(m.rowptr, rowptr, sizeof rowptr);
    assert_memory_equal(m.col, col, sizeof col);
    size_t nt;
    gpair *t = part_csr_transpose(&m, 1, 3, &nt);
    assert_int_equal(nt, 6);
    assert_int_equal(t[2].row, 2);                         /* (global 4, col 2) -> (2, 4) */
    assert_int_equal(t[2].col, 4);
    free(t);
    part_csr_free(&m);
    part_csr_build(NULL, 0, 0, 10, 3, &m);                      /* a rank that owns nothing */
    assert_int_equal(m.rowptr[0], 0);
    assert_int_equal(m.nrows, 0);
    part_csr_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sorts_match_qsort),
        cmocka_unit_test(test_iddict),
        cmocka_unit_test(test_permutation),
        cmocka_unit_test(test_split_hash),
        cmocka_unit_test(test_alias_frequencies),
        cmocka_unit_test(test_user_counts),
        cmocka_unit_test(test_csr_build),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
