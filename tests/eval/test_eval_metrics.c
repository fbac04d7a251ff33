/* tests/eval/test_eval_metrics.c — eval_sums_add_user and eval_sums_reduce on hand-computed
 * users. Logs are natural (the base cancels in NDCG); L(r) = 1/ln(1+r):
 *   L(1) = 1.442695, L(2) = 0.910239, L(3) = 0.721348, L(4) = 0.621335. */
#include <math.h>
#include <mpi.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "eval_test_util.h"
#include "kernels/kernels.h"
#include "src/eval.h"

static comm *g_comm;

#define TOL 1e-12

/* s holds exactly one user with these values */
static void expect_user(const eval_sums *s, double ap, double ndcg, double prec, double rec)
{
    assert_int_equal(s->users, 1);
    assert_close(s->ap, ap, TOL);
    assert_close(s->ndcg, ndcg, TOL);
    assert_close(s->precision, prec, TOL);
    assert_close(s->recall, rec, TOL);
}

/* n_u = 4 test items {7, 9, 20, 30}; K = 4, ranked {7, 2, 9, 4}: hits at ranks 1 and 3.
 *   AP   = (1/1 + 2/3) / 4 = 5/12 = 0.416667
 *   DCG  = L(1) + L(3) = 1.442695 + 0.721348 = 2.164043
 *   IDCG = L(1) + L(2) + L(3) + L(4) = 3.695617  (min(4, 4) = 4 positions)
 *   NDCG = 2.164043 / 3.695617 = 0.585570
 *   precision = 2/4, recall = 2/4 */
static void test_two_hits_ranks_1_and_3(void **state)
{
    (void)state;
    const int32_t ranked[4] = {7, 2, 9, 4};
    const int32_t test[4] = {7, 9, 20, 30};
    eval_sums s = {0};
    eval_sums_add_user(&s, ranked, 4, test, 4, 4);
    expect_user(&s, 5.0 / 12.0, 0.5855700749881524, 0.5, 0.5);
}

/* Scores {0.5, 0.9, 0.5, 0.9, 0.1} over items 0..4, nothing excluded, K = 3.
 * Ties: 0.9 at items 1 and 3 → 1 first; 0.5 at items 0 and 2 → 0 first: ranked {1, 3, 0}.
 * Test items {0, 2} (n_u = 2): item 0 is a hit at rank 3; item 2 lost its tie.
 *   AP   = (1/3) / 2 = 1/6
 *   NDCG = L(3) / (L(1) + L(2)) = 0.721348 / 2.352934 = 0.306574
 *   precision = 1/3, recall = 1/2 */
static void test_ties_broken_by_lower_index(void **state)
{
    (void)state;
    kern *k = kern_cpu_create(1);
    float *S = kern_alloc(k, 5 * sizeof(float));     /* [1 × 5] */
    int32_t *idx = kern_alloc(k, 3 * sizeof(int32_t)); /* [1 × 3] */
    const float scores[5] = {0.5f, 0.9f, 0.5f, 0.9f, 0.1f};
    kern_upload(k, S, scores, sizeof scores);
    const int64_t rowptr[2] = {0, 0};
    kern_csr none = {1, 5, rowptr, NULL};
    kern_topk_excluding(k, S, 1, 5, none, 3, idx, NULL);
    int32_t ranked[3];
    kern_download(k, ranked, idx, sizeof ranked);
    assert_int_equal(ranked[0], 1);
    assert_int_equal(ranked[1], 3);
    assert_int_equal(ranked[2], 0);

    const int32_t test[2] = {0, 2};
    eval_sums s = {0};
    eval_sums_add_user(&s, ranked, 3, test, 2, 2);
    expect_user(&s, 1.0 / 6.0, 0.3065735963827292, 1.0 / 3.0, 0.5);
    kern_free(k, S);
    kern_free(k, idx);
    kern_destroy(k);
}

/* n_u = 5 test rows, only {6, 8} known to training; K = 3, ranked {4, 8, 6}: hits at 2, 3.
 *   AP   = (1/2 + 2/3) / 5 = (7/6) / 5 = 7/30       (divides by all 5, not by 2)
 *   NDCG = (L(2) + L(3)) / (L(1) + L(2) + L(3)) = 1.631587 / 3.074282 = 0.530721
 *   precision = 2/3, recall = 2/5 */
static void test_unknown_test_items_count(void **state)
{
    (void)state;
    const int32_t ranked[3] = {4, 8, 6};
    const int32_t test[2] = {6, 8};
    eval_sums s = {0};
    eval_sums_add_user(&s, ranked, 3, test, 2, 5);
    expect_user(&s, 7.0 / 30.0, 0.5307212739772434, 2.0 / 3.0, 0.4);
}

/* Only 2 candidates for K = 5: ranked {3, 1, −1, −1, −1}; test {1, 5} (n_u = 2).
 * Hit at rank 2 (−1 never matches).
 *   AP   = (1/2) / 2 = 1/4
 *   NDCG = L(2) / (L(1) + L(2)) = 0.910239 / 2.352934 = 0.386853
 *   precision = 1/5 (still over K), recall = 1/2 */
static void test_fewer_candidates_than_k(void **state)
{
    (void)state;
    const int32_t ranked[5] = {3, 1, -1, -1, -1};
    const int32_t test[2] = {1, 5};
    eval_sums s = {0};
    eval_sums_add_user(&s, ranked, 5, test, 2, 2);
    expect_user(&s, 0.25, 0.3868528072345415, 0.2, 0.5);
}

/* No hit: ranked {0, 1, 2}, test {5}: every metric 0, but the user counts. */
static void test_no_hits(void **state)
{
    (void)state;
    const int32_t ranked[3] = {0, 1, 2};
    const int32_t test[1] = {5};
    eval_sums s = {0};
    eval_sums_add_user(&s, ranked, 3, test, 1, 1);
    expect_user(&s, 0, 0, 0, 0);
}

/* n_u = 6 > K = 2: test {0..5}, ranked {10, 3}: hit at rank 2.
 *   AP   = (1/2) / 6 = 1/12
 *   IDCG over min(6, 2) = 2 positions: L(1) + L(2) = 2.352934 (not 6 positions)
 *   NDCG = L(2) / 2.352934 = 0.386853
 *   precision = 1/2, recall = 1/6 */
static void test_idcg_truncated_at_k(void **state)
{
    (void)state;
    const int32_t ranked[2] = {10, 3};
    const int32_t test[6] = {0, 1, 2, 3, 4, 5};
    eval_sums s = {0};
    eval_sums_add_user(&s, ranked, 2, test, 6, 6);
    expect_user(&s, 1.0 / 12.0, 0.3868528072345415, 0.5, 1.0 / 6.0);
}

/* Perfect ranking of n_u = 2 items at K = 3: NDCG = (L(1)+L(2))/(L(1)+L(2)) = 1,
 * AP = (1/1 + 2/2)/2 = 1, precision = 2/3, recall = 1. */
static void test_perfect_ranking(void **state)
{
    (void)state;
    const int32_t ranked[3] = {4, 2, 0};
    const int32_t test[2] = {2, 4};
    eval_sums s = {0};
    eval_sums_add_user(&s, ranked, 3, test, 2, 2);
    expect_user(&s, 1.0, 1.0, 2.0 / 3.0, 1.0);
}

/* A user without test rows is not counted at all. */
static void test_user_without_test_rows_skipped(void **state)
{
    (void)state;
    const int32_t ranked[2] = {0, 1};
    eval_sums s = {0};
    eval_sums_add_user(&s, ranked, 2, NULL, 0, 0);
    assert_int_equal(s.users, 0);
    assert_close(s.ap + s.ndcg + s.precision + s.recall, 0.0, 0.0);
}

/* Means over users: the K = 3 users of "unknown items" (7/30, 0.530721, 2/3, 2/5) and
 * "no hits" (0, 0, 0, 0) average to (7/60, 0.265361, 1/3, 1/5), users = 2 (times the
 * number of ranks: every rank adds the same two users). */
static void test_reduce_means(void **state)
{
    (void)state;
    const int32_t r1[3] = {4, 8, 6}, t1[2] = {6, 8};
    const int32_t r2[3] = {0, 1, 2}, t2[1] = {5};
    eval_sums s = {0};
    eval_sums_add_user(&s, r1, 3, t1, 2, 5);
    eval_sums_add_user(&s, r2, 3, t2, 1, 1);
    eval_result r = eval_sums_reduce(g_comm, &s, 3);
    assert_int_equal(r.users, 2 * comm_size(g_comm));
    assert_int_equal(r.top_k, 3);
    assert_close(r.map, 7.0 / 60.0, TOL);
    assert_close(r.ndcg, 0.5307212739772434 / 2, TOL);
    assert_close(r.precision, 1.0 / 3.0, TOL);
    assert_close(r.recall, 0.2, TOL);
}

/* No user anywhere: every metric 0, users 0 (no division by zero). */
static void test_reduce_no_users(void **state)
{
    (void)state;
    eval_sums s = {0};
    eval_result r = eval_sums_reduce(g_comm, &s, 10);
    assert_int_equal(r.users, 0);
    assert_int_equal(r.top_k, 10);
    assert_true(r.map == 0 && r.ndcg == 0 && r.precision == 0 && r.recall == 0);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    g_comm = comm_mpi_create();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_hits_ranks_1_and_3),
        cmocka_unit_test(test_ties_broken_by_lower_index),
        cmocka_unit_test(test_unknown_test_items_count),
        cmocka_unit_test(test_fewer_candidates_than_k),
        cmocka_unit_test(test_no_hits),
        cmocka_unit_test(test_idcg_truncated_at_k),
        cmocka_unit_test(test_perfect_ranking),
        cmocka_unit_test(test_user_without_test_rows_skipped),
        cmocka_unit_test(test_reduce_means),
        cmocka_unit_test(test_reduce_no_users),
    };
    int failed = cmocka_run_group_tests_name("eval_metrics", tests, NULL, NULL);
    comm_destroy(g_comm);
    MPI_Finalize();
    return failed;
}
