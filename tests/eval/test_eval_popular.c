/* tests/eval/test_eval_popular.c — eval_most_popular: a hand-computed case and random
 * problems against the brute-force reference (rank every unseen item by its number of
 * training users, full sort). Works with any number of ranks (cyclic shares of the same
 * global problem; item counts come from each rank's Ri rows). */
#include <mpi.h>

#include "eval_test_util.h"

static comm *g_comm;

#define TOL 1e-12

static void expect_result(eval_result got, eval_result want)
{
    assert_int_equal(got.users, want.users);
    assert_int_equal(got.top_k, want.top_k);
    assert_close(got.map, want.map, TOL);
    assert_close(got.ndcg, want.ndcg, TOL);
    assert_close(got.precision, want.precision, TOL);
    assert_close(got.recall, want.recall, TOL);
}

static eval_result run_popular(const tu_problem *p, int top_k)
{
    dataset d = tu_dataset_local(p, comm_rank(g_comm), comm_size(g_comm));
    eval_result r = eval_most_popular(g_comm, &d, top_k);
    tu_dataset_free(&d);
    return r;
}

/* Reference score: the item's number of training users (column sum of train). */
static void popularity_score(const void *ctx, int64_t u, double *s)
{
    (void)u;
    const tu_problem *p = ctx;
    for (int64_t i = 0; i < p->I; i++) {
        s[i] = 0;
        for (int64_t v = 0; v < p->U; v++)
            s[i] += p->train[v * p->I + i];
    }
}

/* 3 users × 4 items, top 2.
 *   train: u0 {0, 1}, u1 {1, 2}, u2 {1}  → counts: item0 1, item1 3, item2 1, item3 0
 *   order: 1, 0, 2, 3  (items 0 and 2 tie at 1: the lower id first)
 *   u0: unseen in order → {2, 3}; test {3}, n_u 1: hit at rank 2
 *       AP = (1/2)/1 = 1/2, NDCG = L(2)/L(1) = ln2/ln3 = 0.630930, P = 1/2, R = 1
 *   u1: unseen → {0, 3}; test {0} + 1 unknown item, n_u 2: hit at rank 1
 *       AP = (1/1)/2 = 1/2, NDCG = L(1)/(L(1)+L(2)) = 0.613147, P = 1/2, R = 1/2
 *   u2: unseen → {0, 2} (tie → 0 first); test {2}, n_u 1: hit at rank 2
 *       AP = 1/2, NDCG = ln2/ln3 = 0.630930, P = 1/2, R = 1
 *   means: MAP 1/2, NDCG (2·0.630930 + 0.613147)/3 = 0.625002, P 1/2, R 5/6 */
static void test_hand_built(void **state)
{
    (void)state;
    tu_problem p = tu_problem_alloc(3, 4);
    p.train[0 * 4 + 0] = p.train[0 * 4 + 1] = 1;
    p.train[1 * 4 + 1] = p.train[1 * 4 + 2] = 1;
    p.train[2 * 4 + 1] = 1;
    p.test[0 * 4 + 3] = 1;
    p.test[1 * 4 + 0] = 1;
    p.test[2 * 4 + 2] = 1;
    p.n_test_all[0] = 1;
    p.n_test_all[1] = 2;
    p.n_test_all[2] = 1;
    eval_result r = run_popular(&p, 2);
    assert_int_equal(r.users, 3);
    assert_int_equal(r.top_k, 2);
    assert_close(r.map, 0.5, TOL);
    assert_close(r.ndcg, 0.625002233302791, 1e-12);
    assert_close(r.precision, 0.5, TOL);
    assert_close(r.recall, 5.0 / 6.0, TOL);
    tu_problem_free(&p);
}

static void random_problem(uint64_t seed, int64_t U, int64_t I, tu_problem *p)
{
    uint64_t rng = seed;
    *p = tu_problem_alloc(U, I);
    for (int64_t u = 0; u < U; u++) {
        int32_t known = 0;
        for (int64_t i = 0; i < I; i++) {
            /* popularity skewed toward low item ids, many equal counts */
            int64_t x = tu_below(&rng, 100 + 10 * i);
            if (x < 40)
                p->train[u * I + i] = 1;
            else if (x < 55)
                p->test[u * I + i] = 1, known++;
        }
        p->n_test_all[u] = known + (u % 4 == 0 ? 0 : (int32_t)tu_below(&rng, 2));
    }
}

static void test_random(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 15; seed++) {
        tu_problem p;
        random_problem(seed, 5 + (int64_t)seed * 11, 2 + (int64_t)(seed * 5) % 31, &p);
        int top_k = 1 + (int)(seed % 11);
        expect_result(run_popular(&p, top_k), tu_ref_result(&p, top_k, popularity_score, &p));
        tu_problem_free(&p);
    }
}

/* No test rows anywhere: users 0 and every metric 0. */
static void test_no_test_users(void **state)
{
    (void)state;
    tu_problem p = tu_problem_alloc(4, 3);
    p.train[0] = p.train[4] = 1;
    eval_result r = run_popular(&p, 5);
    assert_int_equal(r.users, 0);
    assert_true(r.map == 0 && r.ndcg == 0 && r.precision == 0 && r.recall == 0);
    tu_problem_free(&p);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    g_comm = comm_mpi_create();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_built),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_no_test_users),
    };
    int failed = cmocka_run_group_tests_name("eval_most_popular", tests, NULL, NULL);
    comm_destroy(g_comm);
    MPI_Finalize();
    return failed;
}
