/* src/model.c — BiVAE forward / backward of one batch of one side, from kernels/ ops.
 * The math is docs/bivae-model.md; shapes are written next to every call. */
#include "src/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "partition/dataset.h"

/* ---- random streams ---------------------------------------------------------------- */
/* Philox key = {lo32(seed), hi32(seed) ^ tag << 20}; tags name the stream. */
enum {
    TAG_EPS = 1,           /* + 2·side + pass: ε of a forward pass (ctr3 = epoch) */
    TAG_THETA_INIT = 8,    /* θ̃ initialization */
    TAG_BETA_INIT = 9,     /* β̃ initialization */
    TAG_PARAM_INIT = 16    /* + 32·side + tensor: encoder weights and biases */
};
/* the tensor index of the CAP prior encoder's Wt_p (b_p: + 1), after the 2·(L + 1) of the
 * deepest encoder */
#define TAG_PRIOR_TENSOR (2u * (BIVAE_MAX_HIDDEN + 1))

static uint32_t key0_of(uint64_t seed) { return (uint32_t)(seed & 0xffffffffu); }
static uint32_t key1_of(uint64_t seed, uint32_t tag)
{
    return (uint32_t)(seed >> 32) ^ (tag << 20);
}

/* ---- encoder layout and storage ------------------------------------------------------ */

/* n_feat_local: the rows of Wt_1 this rank holds (d_in when the first layer is replicated);
 * n_prior_in: the features of the CAP prior encoder (0: none). */
static void encoder_layout(encoder *e, int64_t d_in, int64_t n_feat_local, int64_t n_prior_in,
                           const bivae_model_config *cfg)
{
    e->n_layers = cfg->n_hidden;
    e->K = cfg->k;
    e->act = cfg->act;
    e->width[0] = d_in;
    for (int j = 0; j < e->n_layers; j++)
        e->width[j + 1] = cfg->hidden[j];
    e->n_feat_local = n_feat_local;
    int64_t off = 0;
    for (int j = 0; j <= e->n_layers; j++) {
        int64_t in = j == 0 ? n_feat_local : e->width[j];
        int64_t out = j < e->n_layers ? e->width[j + 1] : 2 * e->K;
        e->off_W[j] = off;
        off += in * out;
        e->off_b[j] = off;
        off += out;
    }
    e->n_prior_in = n_prior_in;
    if (n_prior_in > 0) {
        e->off_Wp = off;                       /* Wt_p [D × K] */
        off += n_prior_in * e->K;
        e->off_bp = off;                       /* b_p [K] */
        off += e->K;
    }
    e->n_params = off;
    e->n_params_full = off + (d_in - n_feat_local) * e->width[1];
}

static int64_t encoder_max_width(const encoder *e)
{
    int64_t w = 2 * e->K;
    for (int j = 1; j <= e->n_layers; j++)
        w = e->width[j] > w ? e->width[j] : w;
    return w;
}

static float *alloc_f(kern *k, int64_t n) { return kern_alloc(k, (size_t)n * sizeof(float)); }

static void encoder_alloc(kern *k, encoder *e, int64_t max_rows, int64_t max_batch)
{
    int64_t R = max_rows > 0 ? max_rows : 1, K = e->K, H1 = e->width[1];
    e->max_rows = R;
    e->params = alloc_f(k, e->n_params);
    e->grad = alloc_f(k, e->n_params + 2 + max_batch * H1);
    e->G_a1_batch = e->grad + e->n_params + 2;
    e->a1_batch = alloc_f(k, 2 * max_batch * H1);
    e->adam_m = alloc_f(k, e->n_params);
    e->adam_v = alloc_f(k, e->n_params);
    for (int j = 1; j <= e->n_layers; j++) {
        e->a[j] = alloc_f(k, R * e->width[j]);
        e->h[j] = alloc_f(k, R * e->width[j]);
    }
    e->pre = alloc_f(k, R * 2 * K);
    e->G_pre = alloc_f(k, R * 2 * K);
    e->mu = alloc_f(k, R * K);
    e->sigma = alloc_f(k, R * K);
    e->eps = alloc_f(k, R * K);
    e->z = alloc_f(k, R * K);
    e->G_z = alloc_f(k, R * K);
    e->G_h[0] = alloc_f(k, R * encoder_max_width(e));
    e->G_h[1] = alloc_f(k, R * encoder_max_width(e));
    if (e->n_prior_in > 0) {
        e->mu_prior = alloc_f(k, R * K);
        e->G_prior = alloc_f(k, R * K);
    }
}

static void encoder_free(kern *k, encoder *e)
{
    float *bufs[] = {e->params, e->grad, e->a1_batch, e->adam_m, e->adam_v, e->pre, e->G_pre, e->mu,
                     e->sigma, e->eps, e->z, e->G_z, e->G_h[0], e->G_h[1]};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        kern_free(k, bufs[i]);
    for (int j = 1; j <= e->n_layers; j++) {
        kern_free(k, e->a[j]);
        kern_free(k, e->h[j]);
    }
    if (e->n_prior_in > 0) {
        kern_free(k, e->mu_prior);
        kern_free(k, e->G_prior);
        kern_free(k, e->F);
    }
}

/* PyTorch Linear init: weight and bias ~ U(−1/√in, 1/√in). Tensor t = 2j (W) or 2j+1 (b);
 * element (i, o) of Wt_j uses counter row i (global), column o: a sharded Wt_1 holds rows
 * rank, rank + P, ... of the same values. */
static void encoder_init_params(kern *k, encoder *e, uint64_t seed, bivae_side side, int rank,
                                int P)
{
    for (int j = 0; j <= e->n_layers; j++) {
        int64_t in = e->width[j], out = j < e->n_layers ? e->width[j + 1] : 2 * e->K;
        int sharded = j == 0 && e->n_feat_local != in;
        int64_t rows = j == 0 ? e->n_feat_local : in;
        float bound = (float)(1.0 / sqrt((double)in));
        uint32_t tag_w = TAG_PARAM_INIT + 32u * side + 2u * (uint32_t)j;
        kern_philox_uniform(k, e->params + e->off_W[j], rows, out, key0_of(seed),
                            key1_of(seed, tag_w), 0, sharded ? rank : 0, sharded ? P : 1,
                            -bound, bound);
        kern_philox_uniform(k, e->params + e->off_b[j], 1, out, key0_of(seed),
                            key1_of(seed, tag_w + 1), 0, 0, 1, -bound, bound);
    }
    if (e->n_prior_in > 0) {   /* CAP: nn.Linear(D, K), streams after every hidden layer's */
        float bound = (float)(1.0 / sqrt((double)e->n_prior_in));
        uint32_t tag_w = TAG_PARAM_INIT + 32u * side + TAG_PRIOR_TENSOR;
        kern_philox_uniform(k, e->params + e->off_Wp, e->n_prior_in, e->K, key0_of(seed),
                            key1_of(seed, tag_w), 0, 0, 1, -bound, bound);
        kern_philox_uniform(k, e->params + e->off_bp, 1, e->K, key0_of(seed),
                            key1_of(seed, tag_w + 1), 0, 0, 1, -bound, bound);
    }
}

/* CAP: the own feature rows F [n_local × D] of side s into backend memory. */
static void encoder_upload_features(kern *k, encoder *e, const float *F, int64_t n_local)
{
    size_t bytes = sizeof(float) * (size_t)((n_local > 0 ? n_local : 1) * e->n_prior_in);
    e->F = kern_alloc(k, bytes);
    if (n_local > 0 && F)
        kern_upload(k, e->F, F, sizeof(float) * (size_t)(n_local * e->n_prior_in));
}

/* ---- model lifetime --------------------------------------------------------------------- */

static kern_csr upload_csr(bivae_model *m, bivae_side s, const int64_t *rowptr,
                           const int32_t *col, int64_t nrows, int64_t ncols)
{
    kern_csr X = {nrows, ncols, rowptr, col};
    if (kern_get_device(m->k) == KERN_DEVICE_CPU)
        return X;   /* the host arrays are backend memory */
    size_t rb = (size_t)(nrows + 1) * sizeof(int64_t), cb = (size_t)rowptr[nrows] * sizeof(int32_t);
    m->X_owned[s][0] = kern_alloc(m->k, rb);
    m->X_owned[s][1] = kern_alloc(m->k, cb);
    kern_upload(m->k, m->X_owned[s][0], rowptr, rb);
    kern_upload(m->k, m->X_owned[s][1], col, cb);
    X.rowptr = m->X_owned[s][0];
    X.col = m->X_owned[s][1];
    return X;
}

/* The mean fraction of the n_own features that a global batch of B rows of Xc names
 * (lazy Adam's share of Wt_1 rows per step; src/model_adam.c). */
static double mean_touched(const int64_t *rowptr, const int32_t *col, int64_t n_rows,
                           int64_t n_own, int64_t B)
{
    if (n_own <= 0 || n_rows <= 0)
        return 0.0;
    int64_t *stamp = xmalloc(sizeof(int64_t) * (size_t)n_own), n_batches = 0, hits = 0;
    for (int64_t f = 0; f < n_own; f++)
        stamp[f] = -1;
    for (int64_t g0 = 0; g0 < n_rows; g0 += B, n_batches++) {
        int64_t g1 = g0 + B < n_rows ? g0 + B : n_rows;
        for (int64_t p = rowptr[g0]; p < rowptr[g1]; p++)
            if (stamp[col[p]] != n_batches) {
                stamp[col[p]] = n_batches;
                hits++;
            }
    }
    free(stamp);
    return (double)hits / ((double)n_batches * (double)n_own);
}

/* Xc of side s: all rows of s × the features this rank owns, the transpose of the other
 * side's own rows (o_rowptr/o_col: [n_own × n_rows], global column ids), built on the host
 * by a counting sort (columns come out ascending) and copied to the backend. */
static void build_Xc(bivae_model *m, bivae_side s, const int64_t *o_rowptr,
                     const int32_t *o_col, int64_t n_own)
{
    int64_t n_rows = model_side_rows(m, s), nnz = o_rowptr[n_own] - o_rowptr[0];
    int64_t *rowptr = xcalloc((size_t)n_rows + 1, sizeof(int64_t));
    int32_t *col = xmalloc(sizeof(int32_t) * (size_t)(nnz > 0 ? nnz : 1));
    for (int64_t p = o_rowptr[0]; p < o_rowptr[n_own]; p++)
        rowptr[o_col[p] + 1]++;
    for (int64_t r = 0; r < n_rows; r++)
        rowptr[r + 1] += rowptr[r];
    int64_t *next = xmalloc(sizeof(int64_t) * (size_t)(n_rows > 0 ? n_rows : 1));
    memcpy(next, rowptr, sizeof(int64_t) * (size_t)n_rows);
    for (int64_t f = 0; f < n_own; f++)
        for (int64_t p = o_rowptr[f]; p < o_rowptr[f + 1]; p++)
            col[next[o_col[p]]++] = (int32_t)f;
    size_t rb = sizeof(int64_t) * (size_t)(n_rows + 1), cb = sizeof(int32_t) * (size_t)nnz;
    m->Xc_owned[s][0] = kern_alloc(m->k, rb);
    m->Xc_owned[s][1] = kern_alloc(m->k, cb > 0 ? cb : sizeof(int32_t));
    kern_upload(m->k, m->Xc_owned[s][0], rowptr, rb);
    kern_upload(m->k, m->Xc_owned[s][1], col, cb);
    m->Xc[s] = (kern_csr){n_rows, n_own, m->Xc_owned[s][0], m->Xc_owned[s][1]};
    m->touched[s] = mean_touched(rowptr, col, n_rows, n_own, m->max_batch);
    free(rowptr);
    free(col);
    free(next);
}

static void tables_init(bivae_model *m)
{
    kern *k = m->k;
    int64_t K = m->K;
    float bound = (float)(1.0 / sqrt((double)K));
    /* θ̃ ~ U(−1/√K, 1/√K), β̃ ~ N(0, 0.01²); row = global id, the same on every rank */
    kern_philox_uniform(k, m->table[SIDE_USER], m->n_users, K, key0_of(m->seed),
                        key1_of(m->seed, TAG_THETA_INIT), 0, 0, 1, -bound, bound);
    kern_philox_normal(k, m->table[SIDE_ITEM], m->n_items, K, key0_of(m->seed),
                       key1_of(m->seed, TAG_BETA_INIT), 0, 0, 1);
    kern_scale(k, m->table[SIDE_ITEM], m->n_items * K, 0.01f);
}

/* Test-only switch: BIVAE_TEST_INIT_SCALE=x multiplies every initial weight and both
 * tables by x — an adversarial start that saturates every sigmoid and tanh, for the
 * numerical-guard tests. */
static void test_init_scale(bivae_model *m)
{
    const char *v = getenv("BIVAE_TEST_INIT_SCALE");
    if (!v)
        return;
    float x = strtof(v, NULL);
    for (int s = 0; s < 2; s++) {
        kern_scale(m->k, m->enc[s].params, m->enc[s].n_params, x);
        kern_scale(m->k, m->table[s], model_side_rows(m, s) * m->K, x);
    }
}

void model_init(bivae_model *m, kern *k, const bivae_model_config *cfg, uint64_t seed,
                int rank, int nranks, int64_t n_users, int64_t n_items,
                const int64_t *Ru_rowptr, const int32_t *Ru_col, int64_t n_local_users,
                const int64_t *Ri_rowptr, const int32_t *Ri_col, int64_t n_local_items,
                int64_t max_rows, comm *c, int shard_first_layer)
{
    model_init_cap(m, k, cfg, seed, rank, nranks, n_users, n_items, Ru_rowptr, Ru_col,
                   n_local_users, Ri_rowptr, Ri_col, n_local_items, max_rows, c,
                   shard_first_layer, NULL);
}

void model_init_cap(bivae_model *m, kern *k, const bivae_model_config *cfg, uint64_t seed,
                    int rank, int nranks, int64_t n_users, int64_t n_items,
                    const int64_t *Ru_rowptr, const int32_t *Ru_col, int64_t n_local_users,
                    const int64_t *Ri_rowptr, const int32_t *Ri_col, int64_t n_local_items,
                    int64_t max_rows, comm *c, int shard_first_layer,
                    const model_priors *priors)
{
    int64_t D[2] = {priors ? priors->n_features[SIDE_USER] : 0,
                    priors ? priors->n_features[SIDE_ITEM] : 0};
    if (nranks > 1 && !c)
        FAIL_RUNTIME("model_init: %d ranks need a communicator", nranks);
    memset(m, 0, sizeof(*m));
    m->k = k;
    m->cfg = *cfg;
    m->seed = seed;
    m->rank = rank;
    m->nranks = nranks;
    m->n_users = n_users;
    m->n_items = n_items;
    m->K = cfg->k;
    m->n_local[SIDE_USER] = n_local_users;
    m->n_local[SIDE_ITEM] = n_local_items;
    m->c = c;
    m->sharded = shard_first_layer;
    m->max_batch = (max_rows > 0 ? max_rows : 1) * nranks;
    /* the user encoder's features are items (owned like item rows), and vice versa */
    encoder_layout(&m->enc[SIDE_USER], n_items, m->sharded ? n_local_items : n_items,
                   D[SIDE_USER], cfg);
    encoder_layout(&m->enc[SIDE_ITEM], n_users, m->sharded ? n_local_users : n_users,
                   D[SIDE_ITEM], cfg);
    for (int s = 0; s < 2; s++) {
        encoder_alloc(k, &m->enc[s], max_rows, m->max_batch);
        encoder_init_params(k, &m->enc[s], seed, (bivae_side)s, rank, nranks);
        if (D[s] > 0)
            encoder_upload_features(k, &m->enc[s], priors->F[s], m->n_local[s]);
        m->table[s] = alloc_f(k, model_side_rows(m, s) * m->K);
        m->sample_local[s] = alloc_f(k, (m->n_local[s] > 0 ? m->n_local[s] : 1) * m->K);
        m->mu_local[s] = alloc_f(k, (m->n_local[s] > 0 ? m->n_local[s] : 1) * m->K);
    }
    tables_init(m);
    test_init_scale(m);
    int64_t widest = n_users > n_items ? n_users : n_items;
    m->Z = alloc_f(k, (max_rows > 0 ? max_rows : 1) * widest);
    m->X[SIDE_USER] = upload_csr(m, SIDE_USER, Ru_rowptr, Ru_col, n_local_users, n_items);
    m->X[SIDE_ITEM] = upload_csr(m, SIDE_ITEM, Ri_rowptr, Ri_col, n_local_items, n_users);
    if (m->sharded) {
        build_Xc(m, SIDE_USER, Ri_rowptr, Ri_col, n_local_items);
        build_Xc(m, SIDE_ITEM, Ru_rowptr, Ru_col, n_local_users);
    }
    model_adam_init(m);
}

void model_free(bivae_model *m)
{
    model_adam_free(m);
    for (int s = 0; s < 2; s++) {
        encoder_free(m->k, &m->enc[s]);
        kern_free(m->k, m->table[s]);
        kern_free(m->k, m->sample_local[s]);
        kern_free(m->k, m->mu_local[s]);
        kern_free(m->k, m->X_owned[s][0]);
        kern_free(m->k, m->X_owned[s][1]);
        kern_free(m->k, m->Xc_owned[s][0]);
        kern_free(m->k, m->Xc_owned[s][1]);
    }
    kern_free(m->k, m->Z);
    memset(m, 0, sizeof(*m));
}

kern_csr model_rows(const bivae_model *m, bivae_side s, int64_t l0, int64_t l1)
{
    kern_csr X = m->X[s];
    X.rowptr += l0;
    X.nrows = l1 - l0;
    return X;
}

/* ---- the first layer ---------------------------------------------------------------- */

/* Where a batch's own rows sit: the own rows of the global batch [g0, g1) are the local
 * range [l0, l0 + nr); in a [B × ·] batch block they are rows o0, o0 + P, ... */
typedef struct batch_rows {
    int64_t g0, B, l0, nr, o0;
} batch_rows;

static batch_rows rows_of(const bivae_model *m, int64_t g0, int64_t g1)
{
    batch_rows b = {g0, g1 - g0, partition_local_begin(g0, m->rank, m->nranks), 0, 0};
    b.nr = partition_local_begin(g1, m->rank, m->nranks) - b.l0;
    b.o0 = partition_global(b.l0, m->rank, m->nranks) - g0;
    return b;
}

static kern_csr csr_window(kern_csr X, int64_t r0, int64_t r1)
{
    X.rowptr += r0;
    X.nrows = r1 - r0;
    return X;
}

kern_csr model_xc_batch(const bivae_model *m, bivae_side s, int64_t g0, int64_t g1)
{
    return csr_window(m->Xc[s], g0, g1);
}

/* Sharded: this rank's partial X[batch, own features]·Wt_1 of the whole batch b (rank 0
 * adds b_1) into dst [B × width[1]]; the all-reduced sum is the batch's a_1. */
static void first_layer_partial(bivae_model *m, encoder *e, bivae_side s, batch_rows b,
                                float *dst)
{
    const float *W = e->params + e->off_W[0], *bias = e->params + e->off_b[0];
    kern_csr Xc = csr_window(m->Xc[s], b.g0, b.g0 + b.B);
    kern_csr_matmul_bias(m->k, Xc, W, m->rank == 0 ? bias : NULL, e->width[1], dst);
}

/* The own rows of a summed batch block src [B × width[1]] into a[1] [nr × width[1]]. */
static void first_layer_pick(bivae_model *m, encoder *e, batch_rows b, const float *src)
{
    int64_t H = e->width[1], P = m->nranks;
    kern_copy_rows(m->k, e->a[1], H, src + b.o0 * H, P * H, b.nr, H);
}

/* a_1 [nr × width[1]] of the own rows of one batch. Collective when sharded and P > 1. */
static void first_layer_forward(bivae_model *m, encoder *e, bivae_side s, batch_rows b)
{
    int64_t H = e->width[1];
    if (!m->sharded) {
        if (b.nr > 0)
            kern_csr_matmul_bias(m->k, model_rows(m, s, b.l0, b.l0 + b.nr),
                                 e->params + e->off_W[0], e->params + e->off_b[0], H, e->a[1]);
        return;
    }
    first_layer_partial(m, e, s, b, e->a1_batch);                     /* [B × H] */
    if (m->nranks > 1)
        comm_allreduce_sum_f32(m->c, e->a1_batch, (size_t)(b.B * H));
    first_layer_pick(m, e, b, e->a1_batch);
}

/* ---- forward ------------------------------------------------------------------------ */

/* From a[1] of the own rows: h = f(a), a_{j+1} = h_j·Wt_{j+1} + b_{j+1}, the head, and
 * (sample != 0) ε from Philox keyed by (seed, epoch, side, pass, global id), z = μ + σ ⊙ ε. */
static void forward_rest(bivae_model *m, encoder *e, bivae_side s, batch_rows b, int epoch,
                         bivae_pass pass, int sample)
{
    kern *k = m->k;
    int64_t nr = b.nr, K = e->K, L = e->n_layers, hL = e->width[L];
    if (nr <= 0)
        return;
    for (int j = 0; j < L; j++) {
        int64_t in = e->width[j], out = e->width[j + 1];
        if (j > 0) {
            kern_gemm(k, KERN_NO_TRANS, KERN_NO_TRANS, nr, out, in, 1.0f, e->h[j], in,
                      e->params + e->off_W[j], out, 0.0f, e->a[j + 1], out); /* [nr × out] */
            kern_add_bias(k, e->a[j + 1], e->params + e->off_b[j], nr, out);
        }
        kern_act_forward(k, e->act, e->a[j + 1], e->h[j + 1], nr * out);
    }
    kern_gemm(k, KERN_NO_TRANS, KERN_NO_TRANS, nr, 2 * K, hL, 1.0f, e->h[L], hL,
              e->params + e->off_W[L], 2 * K, 0.0f, e->pre, 2 * K);     /* [nr × 2K] */
    kern_add_bias(k, e->pre, e->params + e->off_b[L], nr, 2 * K);
    if (sample) {
        uint32_t tag = TAG_EPS + 2u * s + (uint32_t)pass;
        int64_t id0 = partition_global(b.l0, m->rank, m->nranks);
        kern_philox_normal(k, e->eps, nr, K, key0_of(m->seed), key1_of(m->seed, tag),
                           (uint32_t)epoch, id0, m->nranks);            /* [nr × K] */
    }
    kern_gaussian_sample(k, e->pre, e->eps, nr, K, e->mu, e->sigma, sample ? e->z : NULL);
}

/* Fold-in (src/model_foldin.c): the layers after a[1] and the head of nr rows whose a[1]
 * is in the workspace; μ, σ into e->mu / e->sigma, no sampling (the training code path). */
void model_encode_from_a1(bivae_model *m, bivae_side s, int64_t nr)
{
    batch_rows b = {0, nr, 0, nr, 0};
    forward_rest(m, &m->enc[s], s, b, 0, PASS_TRAIN, 0);
}

/* Lazy Adam's pending steps of the Wt_1 rows the batch [g0, g1) reads (src/model_adam.c) */
static void catch_up(bivae_model *m, bivae_side s, int64_t g0, int64_t g1)
{
    if (m->sharded && g1 > g0)
        model_adam_catch_up(m, s, g0, g1);
}

static void forward_batch(bivae_model *m, bivae_side s, batch_rows b, int epoch,
                          bivae_pass pass, int sample)
{
    encoder *e = &m->enc[s];
    first_layer_forward(m, e, s, b);
    forward_rest(m, e, s, b, epoch, pass, sample);
}

void model_forward(bivae_model *m, bivae_side s, int64_t g0, int64_t g1, int epoch,
                   bivae_pass pass, int sample)
{
    catch_up(m, s, g0, g1);
    forward_batch(m, s, rows_of(m, g0, g1), epoch, pass, sample);
}

/* One block [max_batch × width[1]] of the pair all-reduce: the batch's partial a_1, zeros
 * after it (an empty batch: all zeros). */
static void pair_block(bivae_model *m, encoder *e, bivae_side s, batch_rows b, float *blk)
{
    int64_t H = e->width[1];
    if (b.B > 0)
        first_layer_partial(m, e, s, b, blk);
    kern_zero(m->k, blk + b.B * H, sizeof(float) * (size_t)((m->max_batch - b.B) * H));
}

void model_forward_pair(bivae_model *m, bivae_side s, int64_t r0, int64_t r1, int64_t g0,
                        int64_t g1, int epoch)
{
    encoder *e = &m->enc[s];
    if (r0 == r1 && g0 == g1)
        return;
    catch_up(m, s, g0, g1);   /* [r0, r1) took the last step: its rows are up to date */
    batch_rows rb = rows_of(m, r0, r1), gb = rows_of(m, g0, g1);
    if (!m->sharded || m->nranks == 1) {   /* nothing to fuse: no first-layer all-reduce */
        if (r1 > r0) {
            forward_batch(m, s, rb, epoch, PASS_REFRESH, 1);
            model_store_rows(m, s, rb.l0, rb.l0 + rb.nr);
        }
        if (g1 > g0)
            forward_batch(m, s, gb, epoch, PASS_TRAIN, 1);
        return;
    }
    int64_t H = e->width[1], half = m->max_batch * H;
    float *blk_r = e->a1_batch, *blk_g = e->a1_batch + half;             /* [max_batch × H] each */
    pair_block(m, e, s, rb, blk_r);
    pair_block(m, e, s, gb, blk_g);
    comm_allreduce_sum_f32(m->c, e->a1_batch, (size_t)(2 * half));
    if (r1 > r0) {
        first_layer_pick(m, e, rb, blk_r);
        forward_rest(m, e, s, rb, epoch, PASS_REFRESH, 1);
        model_store_rows(m, s, rb.l0, rb.l0 + rb.nr);
    }
    if (g1 > g0) {
        first_layer_pick(m, e, gb, blk_g);
        forward_rest(m, e, s, gb, epoch, PASS_TRAIN, 1);
    }
}

/* ---- backward -------------------------------------------------------------------------- */

/* G_z [nr × K] from the decoder: Z = z·Tᵀ, likelihood gradient in place, G_z = G_Z·T. */
static void decoder_backward(bivae_model *m, bivae_side s, kern_csr X, float scale,
                             float *loss_acc)
{
    kern *k = m->k;
    encoder *e = &m->enc[s];
    const float *T = m->table[1 - s];             /* [N × K] the other side's samples */
    int64_t nr = X.nrows, N = X.ncols, K = e->K;
    kern_gemm(k, KERN_NO_TRANS, KERN_TRANS, nr, N, K, 1.0f, e->z, K, T, K, 0.0f, m->Z,
              N);                                                       /* [nr × N] */
    kern_sigmoid_lik_loss_grad(k, m->cfg.likelihood, m->Z, X, scale, loss_acc);
    kern_gemm(k, KERN_NO_TRANS, KERN_NO_TRANS, nr, K, N, 1.0f, m->Z, N, T, K, 0.0f, e->G_z,
              K);                                                       /* [nr × K] */
}

/* ∂loss/∂a_1 of the own rows, G_a [nr × width[1]]: replicated, straight into Wt_1's
 * gradient; sharded, into the exchange block at the own rows' places. */
static void first_layer_backward_local(bivae_model *m, encoder *e, kern_csr X, batch_rows b,
                                       const float *G_a)
{
    int64_t H = e->width[1];
    if (!m->sharded)
        kern_csr_t_matmul_add(m->k, X, G_a, H, e->grad + e->off_W[0]);   /* [in × H] */
    else
        kern_copy_rows(m->k, e->G_a1_batch + b.o0 * H, m->nranks * H, G_a, H, b.nr, H);
}

/* From G_pre [nr × 2K] down to the first layer, accumulating into e->grad. */
static void encoder_backward(bivae_model *m, encoder *e, kern_csr X, batch_rows b)
{
    kern *k = m->k;
    int64_t nr = X.nrows, L = e->n_layers, K2 = 2 * e->K;
    float *G = e->grad;
    int cur = 0;
    kern_gemm(k, KERN_TRANS, KERN_NO_TRANS, e->width[L], K2, nr, 1.0f, e->h[L], e->width[L],
              e->G_pre, K2, 1.0f, G + e->off_W[L], K2);               /* [hL × 2K] */
    kern_colsum_add(k, e->G_pre, nr, K2, G + e->off_b[L]);
    kern_gemm(k, KERN_NO_TRANS, KERN_TRANS, nr, e->width[L], K2, 1.0f, e->G_pre, K2,
              e->params + e->off_W[L], K2, 0.0f, e->G_h[cur], e->width[L]); /* [nr × hL] */
    for (int j = (int)L - 1; j >= 0; j--) {
        int64_t in = e->width[j], out = e->width[j + 1];
        float *G_a = e->G_h[cur];                                       /* [nr × out] */
        kern_act_backward(k, e->act, e->a[j + 1], e->h[j + 1], G_a, nr * out);
        kern_colsum_add(k, G_a, nr, out, G + e->off_b[j]);
        if (j == 0) {
            first_layer_backward_local(m, e, X, b, G_a);
            break;
        }
        kern_gemm(k, KERN_TRANS, KERN_NO_TRANS, in, out, nr, 1.0f, e->h[j], in, G_a, out, 1.0f,
                  G + e->off_W[j], out);                                /* [in × out] */
        kern_gemm(k, KERN_NO_TRANS, KERN_TRANS, nr, in, out, 1.0f, G_a, out,
                  e->params + e->off_W[j], out, 0.0f, e->G_h[1 - cur], in); /* [nr × in] */
        cur = 1 - cur;
    }
}

/* ---- CAP prior encoder ------------------------------------------------------------------ */

void model_prior_means(bivae_model *m, bivae_side s, int64_t l0, int64_t l1, float *out)
{
    encoder *e = &m->enc[s];
    int64_t nr = l1 - l0, D = e->n_prior_in, K = e->K;
    if (D <= 0)
        FAIL_RUNTIME("model_prior_means: side %d has no prior encoder", (int)s);
    if (nr <= 0)
        return;
    kern_gemm(m->k, KERN_NO_TRANS, KERN_NO_TRANS, nr, K, D, 1.0f, e->F + l0 * D, D,
              e->params + e->off_Wp, K, 0.0f, out, K);                  /* [nr × K] */
    kern_add_bias(m->k, out, e->params + e->off_bp, nr, K);
}

/* G_Wp += F_rowsᵀ·G_prior [D × K], G_bp += Σ_rows G_prior, for the own rows of b. */
static void prior_backward(bivae_model *m, encoder *e, batch_rows b)
{
    int64_t D = e->n_prior_in, K = e->K;
    kern_gemm(m->k, KERN_TRANS, KERN_NO_TRANS, D, K, b.nr, 1.0f, e->F + b.l0 * D, D,
              e->G_prior, K, 1.0f, e->grad + e->off_Wp, K);             /* [D × K] */
    kern_colsum_add(m->k, e->G_prior, b.nr, K, e->grad + e->off_bp);
}

void model_backward_local(bivae_model *m, bivae_side s, int64_t g0, int64_t g1, float scale)
{
    kern *k = m->k;
    encoder *e = &m->enc[s];
    batch_rows b = rows_of(m, g0, g1);
    kern_csr X = model_rows(m, s, b.l0, b.l0 + b.nr);
    float *loss_acc = e->grad + e->n_params;
    if (X.nrows <= 0)
        return;
    decoder_backward(m, s, X, scale, loss_acc);
    if (e->n_prior_in > 0)
        model_prior_means(m, s, b.l0, b.l0 + b.nr, e->mu_prior);        /* [nr × K] */
    kern_gaussian_kl_backward(k, e->mu, e->sigma, e->eps, e->mu_prior, e->G_z, X.nrows, e->K,
                              (float)m->cfg.beta_kl, scale, e->G_pre, e->G_prior, loss_acc);
    if (e->n_prior_in > 0)
        prior_backward(m, e, b);
    encoder_backward(m, e, X, b);
}

void model_reduced_span(const bivae_model *m, bivae_side s, int64_t n_batch, float **buf,
                        size_t *n)
{
    const encoder *e = &m->enc[s];
    int64_t from = m->sharded ? e->off_b[0] : 0;
    int64_t exchange = m->sharded ? n_batch * e->width[1] : 0;
    *buf = e->grad + from;
    *n = (size_t)(e->n_params - from + 2 + exchange);
}

void model_backward_first_layer(bivae_model *m, bivae_side s, int64_t g0, int64_t g1)
{
    encoder *e = &m->enc[s];
    if (!m->sharded)
        return;
    if (e->lazy_adam) {   /* the batch's rows only */
        model_adam_first_layer_grad(m, s, g0, g1);
        return;
    }
    kern_csr Xc = csr_window(m->Xc[s], g0, g1);                         /* [B × own features] */
    kern_csr_t_matmul_add(m->k, Xc, e->G_a1_batch, e->width[1], e->grad + e->off_W[0]);
}

void model_backward(bivae_model *m, bivae_side s, int64_t g0, int64_t g1, float scale)
{
    if (m->nranks > 1)
        FAIL_RUNTIME("model_backward is single-rank (%d ranks): all-reduce between "
                     "model_backward_local and model_backward_first_layer", m->nranks);
    model_backward_local(m, s, g0, g1, scale);
    model_backward_first_layer(m, s, g0, g1);
}

void model_zero_grad(bivae_model *m, bivae_side s, int64_t rows)
{
    encoder *e = &m->enc[s];
    int64_t from = 0;
    if (e->lazy_adam) {   /* Wt_1's own rows come first: the last batch's rows only */
        model_adam_zero_grad_rows(m, s);
        from = e->off_b[0];
    }
    kern_zero(m->k, e->grad + from, (size_t)(e->n_params + 1 - from) * sizeof(float));
    kern_fill(m->k, e->grad + e->n_params + 1, 1, (float)rows);   /* no host round trip */
    if (m->sharded)
        kern_zero(m->k, e->G_a1_batch, (size_t)(m->max_batch * e->width[1]) * sizeof(float));
}

/* ---- update, store, infer --------------------------------------------------------------- */

void model_store_rows(bivae_model *m, bivae_side s, int64_t l0, int64_t l1)
{
    int64_t K = m->K;
    size_t bytes = (size_t)((l1 - l0) * K) * sizeof(float);
    kern_copy(m->k, m->sample_local[s] + l0 * K, m->enc[s].z, bytes);
    kern_copy(m->k, m->mu_local[s] + l0 * K, m->enc[s].mu, bytes);
}

void model_infer_means(bivae_model *m, bivae_side s, int64_t g0, int64_t g1)
{
    int64_t K = m->K;
    batch_rows b = rows_of(m, g0, g1);
    model_forward(m, s, g0, g1, 0, PASS_TRAIN, 0);
    kern_copy(m->k, m->mu_local[s] + b.l0 * K, m->enc[s].mu, (size_t)(b.nr * K) * sizeof(float));
}
