/* src/model.c — BiVAE forward / backward of one batch of one side, from kernels/ ops.
 * The math is docs/bivae-model.md; shapes are written next to every call. */
#include "src/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"

/* ---- random streams ---------------------------------------------------------------- */
/* Philox key = {lo32(seed), hi32(seed) ^ tag << 20}; tags name the stream. */
enum {
    TAG_EPS = 1,           /* + 2·side + pass: ε of a forward pass (ctr3 = epoch) */
    TAG_THETA_INIT = 8,    /* θ̃ initialization */
    TAG_BETA_INIT = 9,     /* β̃ initialization */
    TAG_PARAM_INIT = 16    /* + 32·side + tensor: encoder weights and biases */
};

static uint32_t key0_of(uint64_t seed) { return (uint32_t)(seed & 0xffffffffu); }
static uint32_t key1_of(uint64_t seed, uint32_t tag)
{
    return (uint32_t)(seed >> 32) ^ (tag << 20);
}

/* ---- encoder layout and storage ------------------------------------------------------ */

static void encoder_layout(encoder *e, int64_t d_in, const bivae_model_config *cfg)
{
    e->n_layers = cfg->n_hidden;
    e->K = cfg->k;
    e->act = cfg->act;
    e->width[0] = d_in;
    for (int j = 0; j < e->n_layers; j++)
        e->width[j + 1] = cfg->hidden[j];
    int64_t off = 0;
    for (int j = 0; j <= e->n_layers; j++) {
        int64_t in = e->width[j], out = j < e->n_layers ? e->width[j + 1] : 2 * e->K;
        e->off_W[j] = off;
        off += in * out;
        e->off_b[j] = off;
        off += out;
    }
    e->n_params = off;
}

static int64_t encoder_max_width(const encoder *e)
{
    int64_t w = 2 * e->K;
    for (int j = 1; j <= e->n_layers; j++)
        w = e->width[j] > w ? e->width[j] : w;
    return w;
}

static float *alloc_f(kern *k, int64_t n) { return kern_alloc(k, (size_t)n * sizeof(float)); }

static void encoder_alloc(kern *k, encoder *e, int64_t max_rows)
{
    int64_t R = max_rows > 0 ? max_rows : 1, K = e->K;
    e->max_rows = R;
    e->params = alloc_f(k, e->n_params);
    e->grad = alloc_f(k, e->n_params + 2);
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
}

static void encoder_free(kern *k, encoder *e)
{
    float *bufs[] = {e->params, e->grad, e->adam_m, e->adam_v, e->pre, e->G_pre, e->mu,
                     e->sigma, e->eps, e->z, e->G_z, e->G_h[0], e->G_h[1]};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        kern_free(k, bufs[i]);
    for (int j = 1; j <= e->n_layers; j++) {
        kern_free(k, e->a[j]);
        kern_free(k, e->h[j]);
    }
}

/* PyTorch Linear init: weight and bias ~ U(−1/√in, 1/√in). Tensor t = 2j (W) or 2j+1 (b);
 * element (i, o) of Wt_j uses counter row i, column o. */
static void encoder_init_params(kern *k, encoder *e, uint64_t seed, bivae_side side)
{
    for (int j = 0; j <= e->n_layers; j++) {
        int64_t in = e->width[j], out = j < e->n_layers ? e->width[j + 1] : 2 * e->K;
        float bound = (float)(1.0 / sqrt((double)in));
        uint32_t tag_w = TAG_PARAM_INIT + 32u * side + 2u * (uint32_t)j;
        kern_philox_uniform(k, e->params + e->off_W[j], in, out, key0_of(seed),
                            key1_of(seed, tag_w), 0, 0, 1, -bound, bound);
        kern_philox_uniform(k, e->params + e->off_b[j], 1, out, key0_of(seed),
                            key1_of(seed, tag_w + 1), 0, 0, 1, -bound, bound);
    }
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
                int64_t max_rows)
{
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
    encoder_layout(&m->enc[SIDE_USER], n_items, cfg);
    encoder_layout(&m->enc[SIDE_ITEM], n_users, cfg);
    for (int s = 0; s < 2; s++) {
        encoder_alloc(k, &m->enc[s], max_rows);
        encoder_init_params(k, &m->enc[s], seed, (bivae_side)s);
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
}

void model_free(bivae_model *m)
{
    for (int s = 0; s < 2; s++) {
        encoder_free(m->k, &m->enc[s]);
        kern_free(m->k, m->table[s]);
        kern_free(m->k, m->sample_local[s]);
        kern_free(m->k, m->mu_local[s]);
        kern_free(m->k, m->X_owned[s][0]);
        kern_free(m->k, m->X_owned[s][1]);
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

/* ---- forward ------------------------------------------------------------------------ */

/* h_L of rows X: a_1 = X·Wt_1 + b_1 (sparse), h = f(a), a_{j+1} = h_j·Wt_{j+1} + b_{j+1}. */
static void encoder_hidden_forward(kern *k, encoder *e, kern_csr X)
{
    int64_t nr = X.nrows;
    for (int j = 0; j < e->n_layers; j++) {
        int64_t in = e->width[j], out = e->width[j + 1];
        const float *W = e->params + e->off_W[j], *b = e->params + e->off_b[j];
        if (j == 0) {
            kern_csr_matmul_bias(k, X, W, b, out, e->a[1]);          /* [nr × out] */
        } else {
            kern_gemm(k, KERN_NO_TRANS, KERN_NO_TRANS, nr, out, in, 1.0f, e->h[j], in, W, out,
                      0.0f, e->a[j + 1], out);                          /* [nr × out] */
            kern_add_bias(k, e->a[j + 1], b, nr, out);
        }
        kern_act_forward(k, e->act, e->a[j + 1], e->h[j + 1], nr * out);
    }
}

void model_forward(bivae_model *m, bivae_side s, int64_t l0, int64_t l1, int epoch,
                   bivae_pass pass, int sample)
{
    kern *k = m->k;
    encoder *e = &m->enc[s];
    kern_csr X = model_rows(m, s, l0, l1);
    int64_t nr = X.nrows, K = e->K, L = e->n_layers, hL = e->width[L];
    if (nr <= 0)
        return;
    encoder_hidden_forward(k, e, X);
    kern_gemm(k, KERN_NO_TRANS, KERN_NO_TRANS, nr, 2 * K, hL, 1.0f, e->h[L], hL,
              e->params + e->off_W[L], 2 * K, 0.0f, e->pre, 2 * K);     /* [nr × 2K] */
    kern_add_bias(k, e->pre, e->params + e->off_b[L], nr, 2 * K);
    if (sample) {
        uint32_t tag = TAG_EPS + 2u * s + (uint32_t)pass;
        int64_t id0 = partition_global(l0, m->rank, m->nranks);
        kern_philox_normal(k, e->eps, nr, K, key0_of(m->seed), key1_of(m->seed, tag),
                           (uint32_t)epoch, id0, m->nranks);            /* [nr × K] */
    }
    kern_gaussian_sample(k, e->pre, e->eps, nr, K, e->mu, e->sigma, sample ? e->z : NULL);
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

/* From G_pre [nr × 2K] down to the first layer, accumulating into e->grad. */
static void encoder_backward(kern *k, encoder *e, kern_csr X)
{
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
            kern_csr_t_matmul_add(k, X, G_a, out, G + e->off_W[0]);   /* [in × out] */
            break;
        }
        kern_gemm(k, KERN_TRANS, KERN_NO_TRANS, in, out, nr, 1.0f, e->h[j], in, G_a, out, 1.0f,
                  G + e->off_W[j], out);                                /* [in × out] */
        kern_gemm(k, KERN_NO_TRANS, KERN_TRANS, nr, in, out, 1.0f, G_a, out,
                  e->params + e->off_W[j], out, 0.0f, e->G_h[1 - cur], in); /* [nr × in] */
        cur = 1 - cur;
    }
}

void model_backward(bivae_model *m, bivae_side s, int64_t l0, int64_t l1, float scale)
{
    kern *k = m->k;
    encoder *e = &m->enc[s];
    kern_csr X = model_rows(m, s, l0, l1);
    float *loss_acc = e->grad + e->n_params;
    if (X.nrows <= 0)
        return;
    decoder_backward(m, s, X, scale, loss_acc);
    kern_gaussian_kl_backward(k, e->mu, e->sigma, e->eps, NULL, e->G_z, X.nrows, e->K,
                              (float)m->cfg.beta_kl, scale, e->G_pre, NULL, loss_acc);
    encoder_backward(k, e, X);
}

void model_zero_grad(bivae_model *m, bivae_side s, int64_t rows)
{
    encoder *e = &m->enc[s];
    kern_zero(m->k, e->grad, (size_t)(e->n_params + 1) * sizeof(float));
    kern_fill(m->k, e->grad + e->n_params + 1, 1, (float)rows);   /* no host round trip */
}

/* ---- update, store, infer --------------------------------------------------------------- */

void model_adam_step(bivae_model *m, bivae_side s, double lr, int32_t *nonfinite_flag,
                     int32_t tag)
{
    encoder *e = &m->enc[s];
    e->adam_step++;
    kern_adam(m->k, e->params, e->grad, e->adam_m, e->adam_v, e->n_params, lr, 0.9, 0.999,
              1e-8, e->adam_step, nonfinite_flag, tag);
}

void model_store_rows(bivae_model *m, bivae_side s, int64_t l0, int64_t l1)
{
    int64_t K = m->K;
    size_t bytes = (size_t)((l1 - l0) * K) * sizeof(float);
    kern_copy(m->k, m->sample_local[s] + l0 * K, m->enc[s].z, bytes);
    kern_copy(m->k, m->mu_local[s] + l0 * K, m->enc[s].mu, bytes);
}

void model_infer_means(bivae_model *m, bivae_side s, int64_t l0, int64_t l1)
{
    int64_t K = m->K;
    model_forward(m, s, l0, l1, 0, PASS_TRAIN, 0);
    kern_copy(m->k, m->mu_local[s] + l0 * K, m->enc[s].mu, (size_t)((l1 - l0) * K) * sizeof(float));
}
