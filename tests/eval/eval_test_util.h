/* tests/eval/eval_test_util.h — helpers shared by the eval tests: a deterministic random
 * generator, CSR matrices built from dense 0/1 tables, a distributed toy `dataset`, and a
 * brute-force reference ranking + metrics written independently of src/eval.c
 * (full sort of every candidate, linear searches, metrics straight from docs/metrics.md). */
#ifndef BIVAE_TESTS_EVAL_UTIL_H
#define BIVAE_TESTS_EVAL_UTIL_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/check.h"
#include "partition/dataset.h"
#include "src/eval.h"

/* |a − b| <= tol, for doubles (cmocka 1.1.5 has only assert_float_equal) */
#define assert_close(a, b, tol)                                                            \
    do {                                                                                   \
        double a_ = (a), b_ = (b);                                                         \
        if (!(fabs(a_ - b_) <= (tol))) {                                                   \
            print_error("%s = %.17g, expected %s = %.17g (tol %g)\n", #a, a_, #b, b_,      \
                        (double)(tol));                                                    \
            fail();                                                                        \
        }                                                                                  \
    } while (0)

/* ---- random numbers (splitmix64) -------------------------------------------------- */
static inline uint64_t tu_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
/* uniform integer in [0, n) */
static inline int64_t tu_below(uint64_t *s, int64_t n)
{
    return (int64_t)(tu_next(s) % (uint64_t)n);
}

/* ---- CSR from a dense 0/1 table ----------------------------------------------------- */
/* rows rows[0..nrows) of dense[* × ncols] (row-major, nonzero = 1) */
static inline csr_matrix tu_csr_from_rows(const uint8_t *dense, int64_t ncols,
                                          const int64_t *rows, int64_t nrows)
{
    csr_matrix m = {nrows, ncols, xcalloc((size_t)nrows + 1, sizeof(int64_t)), NULL};
    int64_t nnz = 0;
    for (int64_t r = 0; r < nrows; r++)
        for (int64_t c = 0; c < ncols; c++)
            nnz += dense[rows[r] * ncols + c] != 0;
    m.col = xmalloc(sizeof(int32_t) * (size_t)(nnz > 0 ? nnz : 1));
    nnz = 0;
    for (int64_t r = 0; r < nrows; r++) {
        for (int64_t c = 0; c < ncols; c++)
            if (dense[rows[r] * ncols + c])
                m.col[nnz++] = (int32_t)c;
        m.rowptr[r + 1] = nnz;
    }
    return m;
}

static inline void tu_csr_free(csr_matrix *m)
{
    free(m->rowptr);
    free(m->col);
}

/* ---- a toy problem, global view --------------------------------------------------------- */
typedef struct tu_problem {
    int64_t U, I;          /* users, items */
    uint8_t *train;        /* [U × I] 0/1 */
    uint8_t *test;         /* [U × I] 0/1: test items known to training */
    int32_t *n_test_all;   /* [U] test rows, known or not (>= row sum of test) */
} tu_problem;

static inline tu_problem tu_problem_alloc(int64_t U, int64_t I)
{
    tu_problem p = {U, I, xcalloc((size_t)(U * I) + 1, 1), xcalloc((size_t)(U * I) + 1, 1),
                    xcalloc((size_t)U + 1, sizeof(int32_t))};
    return p;
}

static inline void tu_problem_free(tu_problem *p)
{
    free(p->train);
    free(p->test);
    free(p->n_test_all);
}

/* The dataset of `rank` out of P: cyclic ownership of users and items (g mod P). */
static inline dataset tu_dataset_local(const tu_problem *p, int rank, int P)
{
    dataset d;
    memset(&d, 0, sizeof d);
    d.rank = rank;
    d.nranks = P;
    d.n_users = p->U;
    d.n_items = p->I;
    d.n_local_users = partition_owned_count(p->U, rank, P);
    d.n_local_items = partition_owned_count(p->I, rank, P);
    int64_t *users = xcalloc((size_t)d.n_local_users + 1, sizeof(int64_t));
    int64_t *items = xcalloc((size_t)d.n_local_items + 1, sizeof(int64_t));
    for (int64_t l = 0; l < d.n_local_users; l++)
        users[l] = partition_global(l, rank, P);
    for (int64_t l = 0; l < d.n_local_items; l++)
        items[l] = partition_global(l, rank, P);
    d.Ru = tu_csr_from_rows(p->train, p->I, users, d.n_local_users);
    d.Tu = tu_csr_from_rows(p->test, p->I, users, d.n_local_users);
    /* Ri: the transpose of train, rows of own items */
    uint8_t *train_t = xcalloc((size_t)(p->U * p->I) + 1, 1);
    for (int64_t u = 0; u < p->U; u++)
        for (int64_t i = 0; i < p->I; i++)
            train_t[i * p->U + u] = p->train[u * p->I + i];
    d.Ri = tu_csr_from_rows(train_t, p->U, items, d.n_local_items);
    d.test_count = xcalloc((size_t)d.n_local_users + 1, sizeof(int32_t));
    for (int64_t l = 0; l < d.n_local_users; l++)
        d.test_count[l] = p->n_test_all[users[l]];
    free(train_t);
    free(users);
    free(items);
    return d;
}

static inline void tu_dataset_free(dataset *d)
{
    tu_csr_free(&d->Ru);
    tu_csr_free(&d->Ri);
    tu_csr_free(&d->Tu);
    free(d->test_count);
}

/* ---- brute-force reference -------------------------------------------------------------- */
typedef struct tu_cand {
    double score;
    int64_t item;
} tu_cand;

/* higher score first, then lower item */
static inline int tu_cmp_cand(const void *pa, const void *pb)
{
    const tu_cand *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return (a->item > b->item) - (a->item < b->item);
}

/* ranked[K]: items of user u by score[I] (full sort), training items removed, −1 padded */
static inline void tu_ref_rank(const tu_problem *p, int64_t u, const double *score, int K,
                               int32_t *ranked)
{
    tu_cand *c = xmalloc(sizeof(tu_cand) * (size_t)(p->I + 1));
    int64_t n = 0;
    for (int64_t i = 0; i < p->I; i++)
        if (!p->train[u * p->I + i])
            c[n++] = (tu_cand){score[i], i};
    qsort(c, (size_t)n, sizeof(tu_cand), tu_cmp_cand);
    for (int r = 0; r < K; r++)
        ranked[r] = r < n ? (int32_t)c[r].item : -1;
    free(c);
}

/* Metrics of docs/metrics.md for user u given ranked[K]; adds to acc {ap, ndcg, prec, rec};
 * returns 1 when the user counts (n_u > 0). */
static inline int tu_ref_user(const tu_problem *p, int64_t u, const int32_t *ranked, int K,
                              double acc[4])
{
    double n_u = p->n_test_all[u];
    if (n_u <= 0)
        return 0;
    double hits = 0, ap = 0, dcg = 0, idcg = 0;
    for (int r = 1; r <= K; r++) {
        int32_t it = ranked[r - 1];
        if (it >= 0 && p->test[u * p->I + it]) {
            hits += 1;
            ap += hits / r;
            dcg += 1 / log(1.0 + r);
        }
    }
    for (int j = 1; j <= K && j <= n_u; j++)
        idcg += 1 / log(1.0 + j);
    acc[0] += ap / n_u;
    acc[1] += dcg / idcg;
    acc[2] += hits / K;
    acc[3] += hits / n_u;
    return 1;
}

/* Expected eval_result when every user u is ranked by score_of(u) (score[I] filled in). */
static inline eval_result tu_ref_result(const tu_problem *p, int K,
                                        void (*score_of)(const void *ctx, int64_t u, double *s),
                                        const void *ctx)
{
    double acc[4] = {0, 0, 0, 0};
    int64_t users = 0;
    double *score = xmalloc(sizeof(double) * (size_t)(p->I + 1));
    int32_t *ranked = xmalloc(sizeof(int32_t) * (size_t)K);
    for (int64_t u = 0; u < p->U; u++) {
        score_of(ctx, u, score);
        tu_ref_rank(p, u, score, K, ranked);
        users += tu_ref_user(p, u, ranked, K, acc);
    }
    free(score);
    free(ranked);
    eval_result r = {0, 0, 0, 0, users, K};
    if (users) {
        r.map = acc[0] / users;
        r.ndcg = acc[1] / users;
        r.precision = acc[2] / users;
        r.recall = acc[3] / users;
    }
    return r;
}

#endif
