/* src/eval.c — ranking metrics (docs/metrics.md) for the model and the most-popular
 * baseline. Each rank ranks its own users; one reduction of five doubles gives the means. */
#include "src/eval.h"

#include <math.h>
#include <stdlib.h>

#include "common/check.h"

/* Users per scoring block, and the most score floats one block may hold (64 MiB). */
#define EVAL_BLOCK_USERS 256
#define EVAL_BLOCK_MAX_FLOATS ((int64_t)1 << 24)

/* ---------------------------------------------------------------------------------- */
/* per-user sums                                                                        */

/* 1 if x is in a[n] (sorted ascending) */
static int eval_contains(const int32_t *a, int64_t n, int32_t x)
{
    int64_t lo = 0, hi = n;   /* search [lo, hi) */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (a[mid] < x)
            lo = mid + 1;
        else if (a[mid] > x)
            hi = mid;
        else
            return 1;
    }
    return 0;
}

/* Σ_{j=1..n} 1/log(1+j): the ideal DCG of n relevant items at the top */
static double eval_idcg(int64_t n)
{
    double s = 0.0;
    for (int64_t j = 1; j <= n; j++)
        s += 1.0 / log(1.0 + (double)j);
    return s;
}

void eval_sums_add_user(eval_sums *s, const int32_t *ranked, int top_k,
                        const int32_t *test_items, int64_t n_known, int64_t n_test_all)
{
    if (n_test_all <= 0)
        return;
    if (top_k < 1 || n_known > n_test_all)
        FAIL_RUNTIME("eval: bad user (top_k %d, %lld known of %lld test items)", top_k,
                     (long long)n_known, (long long)n_test_all);
    int64_t hits = 0;
    double ap = 0.0, dcg = 0.0;
    for (int r = 1; r <= top_k; r++) {
        int32_t item = ranked[r - 1];
        if (item < 0 || !eval_contains(test_items, n_known, item))
            continue;
        hits++;
        ap += (double)hits / r;              /* the hits-th hit at rank r */
        dcg += 1.0 / log(1.0 + r);
    }
    int64_t n_ideal = n_test_all < top_k ? n_test_all : top_k;
    s->ap += ap / (double)n_test_all;
    s->ndcg += dcg / eval_idcg(n_ideal);
    s->precision += (double)hits / top_k;
    s->recall += (double)hits / (double)n_test_all;
    s->users++;
}

eval_result eval_sums_reduce(comm *c, const eval_sums *local, int top_k)
{
    /* users travel as a double: exact below 2^53 */
    double buf[5] = {local->ap, local->ndcg, local->precision, local->recall,
                     (double)local->users};
    comm_allreduce_sum_f64v(c, buf, 5);
    eval_result r = {0};
    r.top_k = top_k;
    r.users = (int64_t)llround(buf[4]);
    if (r.users > 0) {
        r.map = buf[0] / (double)r.users;
        r.ndcg = buf[1] / (double)r.users;
        r.precision = buf[2] / (double)r.users;
        r.recall = buf[3] / (double)r.users;
    }
    return r;
}

/* Row r of m: its columns, and their number in *n (an empty matrix may have col NULL). */
static const int32_t *eval_csr_row(const csr_matrix *m, int64_t r, int64_t *n)
{
    *n = m->rowptr[r + 1] - m->rowptr[r];
    return *n > 0 ? m->col + m->rowptr[r] : NULL;
}

/* Adds local user u of d, ranked[top_k], to s. */
static void eval_add_local_user(eval_sums *s, const dataset *d, int64_t u,
                                const int32_t *ranked, int top_k)
{
    int64_t n_known;
    const int32_t *test = eval_csr_row(&d->Tu, u, &n_known);
    eval_sums_add_user(s, ranked, top_k, test, n_known, d->test_count[u]);
}

/* ---------------------------------------------------------------------------------- */
/* the model                                                                            */

static void eval_check_shapes(const dataset *d, kern_csr seen, int K, int top_k)
{
    if (top_k < 1 || K < 1)
        FAIL_RUNTIME("eval: top_k %d and K %d must be >= 1", top_k, K);
    if (seen.nrows != d->n_local_users || seen.ncols != d->n_items)
        FAIL_RUNTIME("eval: seen is %lld × %lld, expected %lld × %lld",
                     (long long)seen.nrows, (long long)seen.ncols,
                     (long long)d->n_local_users, (long long)d->n_items);
    if (d->n_items > INT32_MAX)
        FAIL_RUNTIME("eval: %lld items exceed int32 item ids", (long long)d->n_items);
}

/* Narrows the user range [*u0, *u1) to its first and last users with test rows;
 * returns 0 when none has any. */
static int eval_trim_block(const dataset *d, int64_t *u0, int64_t *u1)
{
    while (*u0 < *u1 && d->test_count[*u0] <= 0)
        (*u0)++;
    while (*u1 > *u0 && d->test_count[*u1 - 1] <= 0)
        (*u1)--;
    return *u1 > *u0;
}

/* Buffers of one scoring block. */
typedef struct eval_block {
    int64_t max_users;
    float *S;            /* [max_users × n_items]  backend: scores */
    int32_t *idx_dev;    /* [max_users × top_k]    backend: ranked items */
    int32_t *idx;        /* [max_users × top_k]    host copy */
} eval_block;

static eval_block eval_block_create(kern *k, int64_t n_items, int top_k)
{
    eval_block b;
    int64_t per_user = n_items > 0 ? n_items : 1;
    b.max_users = EVAL_BLOCK_MAX_FLOATS / per_user;
    if (b.max_users > EVAL_BLOCK_USERS)
        b.max_users = EVAL_BLOCK_USERS;
    if (b.max_users < 1)
        b.max_users = 1;
    b.S = kern_alloc(k, sizeof(float) * (size_t)(b.max_users * per_user));
    b.idx_dev = kern_alloc(k, sizeof(int32_t) * (size_t)(b.max_users * top_k));
    b.idx = xmalloc(sizeof(int32_t) * (size_t)(b.max_users * top_k));
    return b;
}

static void eval_block_free(kern *k, eval_block *b)
{
    kern_free(k, b->S);
    kern_free(k, b->idx_dev);
    free(b->idx);
}

/* What eval_ranking scores with (backend memory unless noted). */
typedef struct eval_model {
    kern *k;
    const dataset *d;          /* host */
    kern_csr seen;             /* [n_local_users × n_items] */
    const float *mu_theta;     /* [n_local_users × K] */
    const float *mu_beta;      /* [n_items × K] */
    int K, top_k;
    const uint8_t *group;      /* [n_local_users] host, or NULL: every user */
    uint8_t want;              /* with group: only users u with group[u] == want */
} eval_model;

/* 1 when local user u of d has test rows and is in the group asked for. */
static int eval_counts_user(const dataset *d, const uint8_t *group, uint8_t want, int64_t u)
{
    return d->test_count[u] > 0 && (!group || group[u] == want);
}

/* Ranks local users [u0, u1) (u1 − u0 <= b->max_users) and adds them to s. */
static void eval_rank_block(const eval_model *m, int64_t u0, int64_t u1, eval_block *b,
                            eval_sums *s)
{
    int64_t nb = u1 - u0, n = m->d->n_items;
    int K = m->K, top_k = m->top_k;
    /* S[nb × n] = μ_θ[u0:u1] (nb × K) · μ_βᵀ (K × n) */
    kern_gemm(m->k, KERN_NO_TRANS, KERN_TRANS, nb, n, K, 1.0f, m->mu_theta + u0 * K, K,
              m->mu_beta, K, 0.0f, b->S, n);
    /* the rows [u0, u1) of seen: same columns, row pointers from u0 */
    kern_csr window = {nb, n, m->seen.rowptr + u0, m->seen.col};
    kern_topk_excluding(m->k, b->S, nb, n, window, top_k, b->idx_dev, NULL);   /* [nb × top_k] */
    kern_download(m->k, b->idx, b->idx_dev, sizeof(int32_t) * (size_t)(nb * top_k));
    for (int64_t u = u0; u < u1; u++)
        if (eval_counts_user(m->d, m->group, m->want, u))
            eval_add_local_user(s, m->d, u, b->idx + (u - u0) * top_k, top_k);
}

eval_result eval_ranking(kern *k, comm *c, const dataset *d, kern_csr seen,
                         const float *mu_theta_local, const float *mu_beta, int K, int top_k)
{
    return eval_ranking_group(k, c, d, seen, mu_theta_local, mu_beta, K, top_k, NULL, 0);
}

eval_result eval_ranking_group(kern *k, comm *c, const dataset *d, kern_csr seen,
                               const float *mu_theta_local, const float *mu_beta, int K,
                               int top_k, const uint8_t *group, uint8_t want)
{
    eval_check_shapes(d, seen, K, top_k);
    const eval_model m = {k, d, seen, mu_theta_local, mu_beta, K, top_k, group, want};
    eval_block b = eval_block_create(k, d->n_items, top_k);
    eval_sums s = {0};
    for (int64_t start = 0; start < d->n_local_users; start += b.max_users) {
        int64_t u0 = start, u1 = start + b.max_users;
        if (u1 > d->n_local_users)
            u1 = d->n_local_users;
        if (eval_trim_block(d, &u0, &u1))   /* blocks without test users are not scored */
            eval_rank_block(&m, u0, u1, &b, &s);
    }
    eval_block_free(k, &b);
    return eval_sums_reduce(c, &s, top_k);
}

/* ---------------------------------------------------------------------------------- */
/* the most-popular baseline                                                            */

typedef struct eval_pop {
    int64_t count;   /* training users of the item (global) */
    int32_t item;
} eval_pop;

/* more training users first, then the lower item id */
static int eval_cmp_popular(const void *pa, const void *pb)
{
    const eval_pop *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return (a->item > b->item) - (a->item < b->item);
}

/* order[n_items]: every item, most training users first (global counts from Ri). */
static int32_t *eval_popularity_order(comm *c, const dataset *d)
{
    int64_t n = d->n_items;
    size_t n_alloc = (size_t)(n > 0 ? n : 1);
    int64_t *count = xcalloc(n_alloc, sizeof(int64_t));   /* [n_items] */
    for (int64_t li = 0; li < d->n_local_items; li++) {
        int64_t g = partition_global(li, d->rank, d->nranks);
        if (g >= n)
            FAIL_RUNTIME("eval: local item %lld maps to item %lld of %lld", (long long)li,
                         (long long)g, (long long)n);
        count[g] = d->Ri.rowptr[li + 1] - d->Ri.rowptr[li];
    }
    comm_allreduce_sum_i64v(c, count, (size_t)n);
    eval_pop *pop = xmalloc(sizeof(eval_pop) * n_alloc);  /* [n_items] */
    for (int64_t i = 0; i < n; i++)
        pop[i] = (eval_pop){count[i], (int32_t)i};
    qsort(pop, (size_t)n, sizeof(eval_pop), eval_cmp_popular);
    int32_t *order = xmalloc(sizeof(int32_t) * n_alloc);
    for (int64_t i = 0; i < n; i++)
        order[i] = pop[i].item;
    free(pop);
    free(count);
    return order;
}

/* ranked[top_k] = the first items of order[n] not in seen[n_seen] (sorted), −1 padded */
static void eval_rank_popular(const int32_t *order, int64_t n, const int32_t *seen,
                              int64_t n_seen, int top_k, int32_t *ranked)
{
    int r = 0;
    for (int64_t i = 0; i < n && r < top_k; i++)
        if (!eval_contains(seen, n_seen, order[i]))
            ranked[r++] = order[i];
    for (; r < top_k; r++)
        ranked[r] = -1;
}

eval_result eval_most_popular(comm *c, const dataset *d, int top_k)
{
    return eval_most_popular_group(c, d, top_k, NULL, 0);
}

eval_result eval_most_popular_group(comm *c, const dataset *d, int top_k,
                                    const uint8_t *group, uint8_t want)
{
    if (top_k < 1)
        FAIL_RUNTIME("eval: top_k %d must be >= 1", top_k);
    if (d->n_items > INT32_MAX)
        FAIL_RUNTIME("eval: %lld items exceed int32 item ids", (long long)d->n_items);
    int32_t *order = eval_popularity_order(c, d);       /* [n_items] */
    int32_t *ranked = xmalloc(sizeof(int32_t) * (size_t)top_k);
    eval_sums s = {0};
    for (int64_t u = 0; u < d->n_local_users; u++) {
        if (!eval_counts_user(d, group, want, u))
            continue;
        int64_t n_seen;
        const int32_t *seen = eval_csr_row(&d->Ru, u, &n_seen);
        eval_rank_popular(order, d->n_items, seen, n_seen, top_k, ranked);
        eval_add_local_user(&s, d, u, ranked, top_k);
    }
    free(ranked);
    free(order);
    return eval_sums_reduce(c, &s, top_k);
}
