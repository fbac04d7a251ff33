/* tests/eval/test_eval_topk.c — kern_topk_excluding (CPU backend) against a brute-force
 * full sort, on random inputs: many sizes (n < K, n = 0, K = 1), rows fully excluded,
 * duplicate scores, NaN scores, windows of a larger exclusion CSR, 1 vs 2 threads. */
#include <math.h>

#include "eval_test_util.h"
#include "kernels/kernels.h"

/* The reference order: higher score first, NaN below every number, ties by lower column. */
typedef struct ref_entry {
    float key;
    int32_t col;
} ref_entry;

static int ref_cmp(const void *pa, const void *pb)
{
    const ref_entry *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key > b->key ? -1 : 1;
    return (a->col > b->col) - (a->col < b->col);
}

/* One row: s[n], exclusion mask ex[n] (1 = excluded) → idx[K], val[K] by a full sort. */
static void ref_topk_row(const float *s, int64_t n, const uint8_t *ex, int K, int32_t *idx,
                         float *val)
{
    ref_entry *e = xmalloc(sizeof(ref_entry) * (size_t)(n + 1));
    int64_t len = 0;
    for (int64_t c = 0; c < n; c++)
        if (!ex[c])
            e[len++] = (ref_entry){isnan(s[c]) ? -INFINITY : s[c], (int32_t)c};
    qsort(e, (size_t)len, sizeof(ref_entry), ref_cmp);
    for (int r = 0; r < K; r++) {
        idx[r] = r < len ? e[r].col : -1;
        val[r] = r < len ? s[e[r].col] : -INFINITY;
    }
    free(e);
}

/* Random problem [m × n]: scores from `levels` distinct values (duplicates when small),
 * a fraction nan_pct of NaNs, each column excluded with probability ex_pct (percent);
 * row `full_row` (if < m) has every column excluded. */
typedef struct topk_case {
    int64_t m, n;
    int K, levels, ex_pct, nan_pct;
    int64_t full_row;
    int64_t pad_rows;   /* rows of the exclusion CSR before the window */
} topk_case;

static void fill_case(const topk_case *tc, uint64_t *rng, float *S, uint8_t *ex)
{
    for (int64_t i = 0; i < tc->m * tc->n; i++) {
        S[i] = (float)tu_below(rng, tc->levels) * 0.25f - 1.0f;
        if (tu_below(rng, 100) < tc->nan_pct)
            S[i] = NAN;
        ex[i] = tu_below(rng, 100) < tc->ex_pct;
    }
    if (tc->full_row < tc->m)
        memset(ex + tc->full_row * tc->n, 1, (size_t)tc->n);
}

/* CSR rows [pad_rows zero rows | m rows of ex] (rowptr[pad_rows] != 0 when pad rows are
 * given ones too): returns the window of the last m rows. */
static kern_csr window_of(const topk_case *tc, const uint8_t *ex, int64_t **rowptr_out,
                          int32_t **col_out)
{
    int64_t rows = tc->pad_rows + tc->m, nnz = 0;
    int64_t *rowptr = xcalloc((size_t)rows + 1, sizeof(int64_t));
    int32_t *col = xmalloc(sizeof(int32_t) * (size_t)(rows * (tc->n + 1) + 1));
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t c = 0; c < tc->n; c++) {
            /* padding rows exclude everything: they must not leak into the window */
            int on = r < tc->pad_rows ? 1 : ex[(r - tc->pad_rows) * tc->n + c];
            if (on)
                col[nnz++] = (int32_t)c;
        }
        rowptr[r + 1] = nnz;
    }
    *rowptr_out = rowptr;
    *col_out = col;
    return (kern_csr){tc->m, tc->n, rowptr + tc->pad_rows, col};
}

/* Runs one case on a backend with `threads` threads and compares with the reference. */
static void run_case(const topk_case *tc, uint64_t seed, int threads)
{
    uint64_t rng = seed;
    size_t mn = (size_t)(tc->m * tc->n) + 1, mk = (size_t)(tc->m * tc->K);
    float *S = xmalloc(sizeof(float) * mn);
    uint8_t *ex = xmalloc(mn);
    fill_case(tc, &rng, S, ex);
    int64_t *rowptr;
    int32_t *col;
    kern_csr w = window_of(tc, ex, &rowptr, &col);

    kern *k = kern_cpu_create(threads);   /* CPU backend: host memory */
    int32_t *idx = xmalloc(sizeof(int32_t) * mk), *idx2 = xmalloc(sizeof(int32_t) * mk);
    float *val = xmalloc(sizeof(float) * mk);
    kern_topk_excluding(k, S, tc->m, tc->n, w, tc->K, idx, val);
    kern_topk_excluding(k, S, tc->m, tc->n, w, tc->K, idx2, NULL);   /* val = NULL */
    kern_destroy(k);

    int32_t *ref_idx = xmalloc(sizeof(int32_t) * (size_t)tc->K);
    float *ref_val = xmalloc(sizeof(float) * (size_t)tc->K);
    for (int64_t r = 0; r < tc->m; r++) {
        ref_topk_row(S + r * tc->n, tc->n, ex + r * tc->n, tc->K, ref_idx, ref_val);
        for (int j = 0; j < tc->K; j++) {
            int64_t o = r * tc->K + j;
            if (idx[o] != ref_idx[j] || idx2[o] != ref_idx[j])
                fail_msg("m %lld n %lld K %d threads %d: row %lld rank %d: got %d/%d, want %d",
                         (long long)tc->m, (long long)tc->n, tc->K, threads, (long long)r, j,
                         idx[o], idx2[o], ref_idx[j]);
            /* same float bits (NaN == NaN here) */
            assert_memory_equal(&val[o], &ref_val[j], sizeof(float));
        }
    }
    free(ref_idx);
    free(ref_val);
    free(idx);
    free(idx2);
    free(val);
    free(rowptr);
    free(col);
    free(S);
    free(ex);
}

static void test_random_sizes(void **state)
{
    (void)state;
    static const int64_t ns[] = {0, 1, 2, 3, 5, 9, 16, 33, 100, 257};
    static const int Ks[] = {1, 2, 3, 10, 40};
    uint64_t seed = 1;
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
        for (size_t b = 0; b < sizeof Ks / sizeof Ks[0]; b++) {
            topk_case tc = {7, ns[a], Ks[b], 1000, 20, 0, 3, 0};
            run_case(&tc, seed++, 1);
        }
}

/* Few distinct scores: long runs of ties decide by column index. */
static void test_duplicate_scores(void **state)
{
    (void)state;
    for (int levels = 1; levels <= 4; levels++)
        for (int K = 1; K <= 12; K += 5) {
            topk_case tc = {20, 50, K, levels, 30, 0, 5, 0};
            run_case(&tc, 100 + (uint64_t)(levels * 13 + K), 1);
        }
}

/* Every column excluded in one row; all columns of every row excluded. */
static void test_all_excluded(void **state)
{
    (void)state;
    topk_case one = {4, 30, 5, 100, 10, 0, 2, 0};
    run_case(&one, 7, 1);
    topk_case all = {6, 30, 5, 100, 100, 0, 99, 0};
    run_case(&all, 8, 1);
}

/* NaN scores rank below every finite score; a NaN counts as −inf (ties with −inf by
 * column) and its val is the NaN. The reference applies the same rule. */
static void test_nan_scores(void **state)
{
    (void)state;
    topk_case tc = {10, 40, 8, 10, 10, 30, 99, 0};
    run_case(&tc, 11, 1);
    topk_case most = {10, 40, 8, 10, 10, 90, 99, 0};
    run_case(&most, 12, 1);
}

/* The exclusion CSR is a window of a larger matrix (rowptr[0] != 0). */
static void test_csr_window(void **state)
{
    (void)state;
    topk_case tc = {9, 25, 4, 50, 25, 0, 99, 3};
    run_case(&tc, 21, 1);
}

/* Results do not depend on the thread count (checked against the same reference). */
static void test_threads(void **state)
{
    (void)state;
    topk_case tc = {301, 120, 10, 6, 20, 2, 17, 0};
    run_case(&tc, 31, 2);
    run_case(&tc, 31, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_sizes),
        cmocka_unit_test(test_duplicate_scores),
        cmocka_unit_test(test_all_excluded),
        cmocka_unit_test(test_nan_scores),
        cmocka_unit_test(test_csr_window),
        cmocka_unit_test(test_threads),
    };
    int failed = cmocka_run_group_tests_name("eval_topk", tests, NULL, NULL);
    return failed;
}
