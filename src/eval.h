/* src/eval.h — ranking evaluation exactly as docs/metrics.md (the recommenders library's
 * map / ndcg_at_k / precision_at_k / recall_at_k after predict_ranking(remove_seen=True)).
 *
 * Users evaluated: those of the training split with at least one test row (test_count > 0).
 * Per user u with n_u = test_count[u] (ALL test rows, known items or not) and hits = top-K
 * items that are in u's test items:
 *   precision = hits / K;  recall = hits / n_u;
 *   ap   = (Σ over hits, the j-th hit at rank r: j / r) / n_u;
 *   ndcg = Σ_hits 1/log(1+r) / Σ_{j=1..min(n_u,K)} 1/log(1+j).
 * Every metric is averaged over the evaluated users. */
#ifndef BIVAE_EVAL_H
#define BIVAE_EVAL_H

#include <stdint.h>

#include "comm/comm.h"
#include "kernels/kernels.h"
#include "partition/dataset.h"

typedef struct eval_result {
    double map, ndcg, precision, recall;  /* means over `users` */
    int64_t users;                        /* users evaluated (global) */
    int top_k;
} eval_result;

/* Running sums of the per-user metrics (before the mean). */
typedef struct eval_sums {
    double ap, ndcg, precision, recall;
    int64_t users;
} eval_sums;

/* Adds one user: `ranked` [top_k] item ids in rank order (−1 = no item at that rank),
 * `test_items` [n_known] the user's test items known to training (sorted ascending),
 * n_test_all >= n_known the user's number of test rows. Users with n_test_all == 0 are
 * not counted. */
void eval_sums_add_user(eval_sums *s, const int32_t *ranked, int top_k,
                        const int32_t *test_items, int64_t n_known, int64_t n_test_all);

/* Σ over ranks, then means. Collective. */
eval_result eval_sums_reduce(comm *c, const eval_sums *local, int top_k);

/* Collective. Scores this rank's users against every item — score(u, i) = μ_θ[u]·μ_β[i] —
 * in blocks of users (nothing of size U×I is stored), excludes each user's training items
 * (`seen`: the rows of d->Ru, in backend memory), takes the top-K and sums the metrics
 * against d->Tu / d->test_count; one reduction gives the means.
 *   mu_theta_local [d->n_local_users × K]  backend memory
 *   mu_beta        [d->n_items × K]        backend memory (the full table) */
eval_result eval_ranking(kern *k, comm *c, const dataset *d, kern_csr seen,
                         const float *mu_theta_local, const float *mu_beta, int K, int top_k);

/* The most-popular baseline: every user gets the items with the most training ratings
 * (global counts), excluding the user's own training items. Collective. */
eval_result eval_most_popular(comm *c, const dataset *d, int top_k);

/* eval_ranking / eval_most_popular over the local users u with group[u] == want only
 * (group [n_local_users] in host memory; NULL: every user). Collective like them. */
eval_result eval_ranking_group(kern *k, comm *c, const dataset *d, kern_csr seen,
                               const float *mu_theta_local, const float *mu_beta, int K,
                               int top_k, const uint8_t *group, uint8_t want);
eval_result eval_most_popular_group(comm *c, const dataset *d, int top_k,
                                    const uint8_t *group, uint8_t want);

/* --cold-users: the metrics of the warm users (θ = μ_θ of their training row) and of the
 * cold users (no training rating; θ = μ_prior of their feature row), each beside the
 * most-popular baseline on the same users. */
typedef struct cold_report {
    double fraction;                      /* --cold-users F */
    double history_ratio;                 /* --cold-history-ratio R (0: none) */
    eval_result warm, warm_popular, cold, cold_popular;
    eval_result cold_foldin;              /* R > 0: θ = fold-in of the history (model_fold_in);
                                           * then cold, cold_popular and it are on the test
                                           * part, history items excluded from the ranking */
} cold_report;

#endif
