/* tests/eval/test_eval_ranking.c — eval_ranking on toy datasets against the brute-force
 * reference of eval_test_util.h (full sort of every candidate, metrics written out
 * directly). Scores are exact in float (small multiples of 1/2 and 1/4), so ties are real
 * and the reference sees the same scores as the GEMM. Works with any number of ranks: each
 * rank builds its cyclic share of the same global problem; the expected result is global. */
#include <mpi.h>

#include "eval_test_util.h"
#include "kernels/kernels.h"

static comm *g_comm;

#define TOL 1e-12

/* μ_θ [U × K] and μ_β [I × K] of a problem, global */
typedef struct model {
    int64_t U, I;
    int K;
    float *theta, *beta;
} model;

static void model_score(const void *ctx, int64_t u, double *s)
{
    const model *m = ctx;
    for (int64_t i = 0; i < m->I; i++) {
        double acc = 0;
        for (int k = 0; k < m->K; k++)
            acc += (double)m->theta[u * m->K + k] * m->beta[i * m->K + k];
        s[i] = acc;
    }
}

static void expect_result(eval_result got, eval_result want)
{
    assert_int_equal(got.users, want.users);
    assert_int_equal(got.top_k, want.top_k);
    assert_close(got.map, want.map, TOL);
    assert_close(got.ndcg, want.ndcg, TOL);
    assert_close(got.precision, want.precision, TOL);
    assert_close(got.recall, want.recall, TOL);
}

/* Runs eval_ranking on this rank's share of (p, m) with a CPU backend (buffers moved with
 * kern_alloc / kern_upload as for any backend) and checks it against the reference. */
static void check_ranking(const tu_problem *p, const model *m, int top_k, int threads)
{
    int rank = comm_rank(g_comm), P = comm_size(g_comm);
    dataset d = tu_dataset_local(p, rank, P);
    kern *k = kern_cpu_create(threads);

    /* μ_θ of own users [n_local_users × K], μ_β [I × K], seen = Ru, all in backend memory */
    size_t th_bytes = sizeof(float) * (size_t)(d.n_local_users * m->K);
    size_t be_bytes = sizeof(float) * (size_t)(m->I * m->K);
    float *theta_host = xmalloc(th_bytes + 1);
    for (int64_t l = 0; l < d.n_local_users; l++)
        memcpy(theta_host + l * m->K, m->theta + partition_global(l, rank, P) * m->K,
               sizeof(float) * (size_t)m->K);
    float *theta = kern_alloc(k, th_bytes + 1), *beta = kern_alloc(k, be_bytes + 1);
    kern_upload(k, theta, theta_host, th_bytes);
    kern_upload(k, beta, m->beta, be_bytes);
    size_t rp_bytes = sizeof(int64_t) * (size_t)(d.n_local_users + 1);
    size_t col_bytes = sizeof(int32_t) * (size_t)d.Ru.rowptr[d.n_local_users];
    int64_t *rowptr = kern_alloc(k, rp_bytes);
    int32_t *col = kern_alloc(k, col_bytes + 1);
    kern_upload(k, rowptr, d.Ru.rowptr, rp_bytes);
    kern_upload(k, col, d.Ru.col, col_bytes);
    kern_csr seen = {d.n_local_users, d.n_items, rowptr, col};

    eval_result got = eval_ranking(k, g_comm, &d, seen, theta, beta, m->K, top_k);
    expect_result(got, tu_ref_result(p, top_k, model_score, m));

    kern_free(k, theta);
    kern_free(k, beta);
    kern_free(k, rowptr);
    kern_free(k, col);
    kern_destroy(k);
    free(theta_host);
    tu_dataset_free(&d);
}

static void set_row(uint8_t *row, const int *items, int n)
{
    for (int j = 0; j < n; j++)
        row[items[j]] = 1;
}

/* 5 users × 7 items, K = 2, top 3, written out by hand:
 *   user 0: trained on {0, 1}, tests {2, 5} + 1 item unknown to training (n_u = 3)
 *   user 1: trained on {0..4} (2 candidates < top 3), tests {6} (n_u = 1)
 *   user 2: trained on {3}, no test rows (not counted)
 *   user 3: trained on {}, tests {0, 1, 2, 3, 4} (n_u = 5 > top 3)
 *   user 4: trained on {6}, tests {1} (n_u = 1); its scores tie everywhere (θ = 0) */
static void test_hand_built(void **state)
{
    (void)state;
    tu_problem p = tu_problem_alloc(5, 7);
    static const int tr0[] = {0, 1}, tr1[] = {0, 1, 2, 3, 4}, tr2[] = {3}, tr4[] = {6};
    static const int te0[] = {2, 5}, te1[] = {6}, te3[] = {0, 1, 2, 3, 4}, te4[] = {1};
    set_row(p.train + 0 * 7, tr0, 2);
    set_row(p.train + 1 * 7, tr1, 5);
    set_row(p.train + 2 * 7, tr2, 1);
    set_row(p.train + 4 * 7, tr4, 1);
    set_row(p.test + 0 * 7, te0, 2);
    set_row(p.test + 1 * 7, te1, 1);
    set_row(p.test + 3 * 7, te3, 5);
    set_row(p.test + 4 * 7, te4, 1);
    const int32_t n_all[5] = {3, 1, 0, 5, 1};
    memcpy(p.n_test_all, n_all, sizeof n_all);
    float theta[5 * 2] = {1, 0, 0.5f, 0.5f, -1, 2, 0, 1, 0, 0};
    float beta[7 * 2] = {1, 0, 0.5f, 1, 0.5f, -1, 2, 0, -1, 1, 0.5f, 0.5f, 0, 0.25f};
    model m = {5, 7, 2, theta, beta};
    check_ranking(&p, &m, 3, 1);
    check_ranking(&p, &m, 1, 1);
    check_ranking(&p, &m, 10, 1);   /* top_k > items: padding everywhere */
    tu_problem_free(&p);
}

/* Random problem: U users × I items, latent K; values in {−2, −1.5, ..., 2} (exact sums).
 * Users in [skip0, skip1) have no test rows (whole blocks skipped). */
static void random_problem(uint64_t seed, int64_t U, int64_t I, int K, int64_t skip0,
                           int64_t skip1, tu_problem *p, model *m)
{
    uint64_t rng = seed;
    *p = tu_problem_alloc(U, I);
    *m = (model){U, I, K, xmalloc(sizeof(float) * (size_t)(U * K)),
                 xmalloc(sizeof(float) * (size_t)(I * K))};
    for (int64_t j = 0; j < U * K; j++)
        m->theta[j] = (float)tu_below(&rng, 9) * 0.5f - 2.0f;
    for (int64_t j = 0; j < I * K; j++)
        m->beta[j] = (float)tu_below(&rng, 9) * 0.5f - 2.0f;
    for (int64_t u = 0; u < U; u++) {
        int dense = tu_below(&rng, 20) == 0;  /* a few users trained on almost everything */
        int32_t known = 0;
        for (int64_t i = 0; i < I; i++) {
            int64_t x = tu_below(&rng, 100);
            if (x < (dense ? 95 : 15))
                p->train[u * I + i] = 1;
            else if (x < (dense ? 97 : 30) && !(u >= skip0 && u < skip1))
                p->test[u * I + i] = 1, known++;
        }
        int32_t unknown = (u >= skip0 && u < skip1) ? 0 : (int32_t)tu_below(&rng, 3);
        p->n_test_all[u] = known + unknown;
    }
}

static void free_random(tu_problem *p, model *m)
{
    tu_problem_free(p);
    free(m->theta);
    free(m->beta);
}

/* 700 users: more than two blocks of 256; users 256..599 have no test rows. */
static void test_random_many_blocks(void **state)
{
    (void)state;
    tu_problem p;
    model m;
    random_problem(42, 700, 37, 3, 256, 600, &p, &m);
    check_ranking(&p, &m, 10, 1);
    check_ranking(&p, &m, 5, 2);
    free_random(&p, &m);
}

static void test_random_small(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        tu_problem p;
        model m;
        random_problem(seed, 1 + (int64_t)seed * 3, 1 + (int64_t)(seed * 7) % 23,
                       1 + (int)(seed % 4), 0, (int64_t)(seed % 3), &p, &m);
        check_ranking(&p, &m, 1 + (int)(seed % 12), 1);
        free_random(&p, &m);
    }
}

/* A rank may own no user at all: it still joins the reduction. */
static void test_fewer_users_than_ranks(void **state)
{
    (void)state;
    tu_problem p;
    model m;
    random_problem(7, 1, 9, 2, 0, 0, &p, &m);
    p.n_test_all[0] = p.n_test_all[0] ? p.n_test_all[0] : 1;
    check_ranking(&p, &m, 4, 1);
    free_random(&p, &m);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    g_comm = comm_mpi_create();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_built),
        cmocka_unit_test(test_random_many_blocks),
        cmocka_unit_test(test_random_small),
        cmocka_unit_test(test_fewer_users_than_ranks),
    };
    int failed = cmocka_run_group_tests_name("eval_ranking", tests, NULL, NULL);
    comm_destroy(g_comm);
    MPI_Finalize();
    return failed;
}
