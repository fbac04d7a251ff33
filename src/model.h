/* src/model.h — the BiVAE model of docs/bivae-model.md on one rank: two encoders (user,
 * item), the sampled tables θ̃ / β̃, the means μ_θ / μ_β, and the forward / backward of one
 * batch of one side, composed from kernels/ ops. All buffers live in backend memory.
 *
 * Layout of an encoder's parameters, ONE buffer (so one all-reduce moves all gradients):
 *   for l = 1..L:  Wt_l [width[l−1] × width[l]]  (PyTorch's W_l transposed), b_l [width[l]]
 *   head:          Wt_h [width[L] × 2K],  b_h [2K]     (columns 0..K−1: μ, K..2K−1: σ logits)
 * width[0] is the input width: I (number of items) for the user encoder, U for the item one.
 * The gradient buffer has the same layout plus two floats at the end: the batch's loss sum
 * Σ_rows (λ·KL − ll) and its row count. */
#ifndef BIVAE_MODEL_H
#define BIVAE_MODEL_H

#include <stdint.h>

#include "kernels/kernels.h"
#include "src/config.h"

typedef enum { SIDE_USER = 0, SIDE_ITEM = 1 } bivae_side;

/* Which draw of ε: the training forward or the refresh forward after the step. */
typedef enum { PASS_TRAIN = 0, PASS_REFRESH = 1 } bivae_pass;

typedef struct encoder {
    int n_layers;                          /* hidden layers L */
    int64_t width[BIVAE_MAX_HIDDEN + 1];   /* width[0] = input width, width[1..L] hidden */
    int64_t K;
    kern_act act;
    int64_t n_params;
    int64_t off_W[BIVAE_MAX_HIDDEN + 1];   /* offsets; index L is the head */
    int64_t off_b[BIVAE_MAX_HIDDEN + 1];
    float *params;                         /* [n_params] */
    float *grad;                           /* [n_params + 2]: gradients, loss sum, count */
    float *adam_m, *adam_v;                /* [n_params] */
    int64_t adam_step;                     /* Adam's t (steps taken) */
    /* workspace for up to max_rows rows of a batch */
    int64_t max_rows;
    float *a[BIVAE_MAX_HIDDEN + 1];        /* a[l] [max_rows × width[l]], l = 1..L */
    float *h[BIVAE_MAX_HIDDEN + 1];        /* h[l] = f(a[l]) */
    float *pre;                            /* [max_rows × 2K]  head output (μ | σ logits) */
    float *mu, *sigma, *eps, *z;           /* [max_rows × K] */
    float *G_z;                            /* [max_rows × K]   ∂loss/∂(sampled latent) */
    float *G_pre;                          /* [max_rows × 2K] */
    float *G_h[2];                         /* [max_rows × max width] ping-pong */
} encoder;

typedef struct bivae_model {
    kern *k;
    bivae_model_config cfg;
    uint64_t seed;
    int rank, nranks;
    int64_t n_users, n_items, K;
    int64_t n_local[2];        /* rows this rank owns per side (users, items) */
    encoder enc[2];            /* [SIDE_USER], [SIDE_ITEM] */
    float *table[2];           /* θ̃ [n_users × K], β̃ [n_items × K]: full, global order */
    float *sample_local[2];    /* [n_local × K]  this rank's freshly sampled rows */
    float *mu_local[2];        /* [n_local × K]  μ_θ / μ_β of own rows */
    float *Z;                  /* [max_rows × max(n_users, n_items)] decoder logits / G_z */
    kern_csr X[2];             /* own training rows in backend memory: Ru (users), Ri (items) */
    void *X_owned[2][2];       /* device copies of rowptr/col (NULL when aliasing host) */
} bivae_model;

/* Number of rows of `side` (users or items). */
static inline int64_t model_side_rows(const bivae_model *m, bivae_side s)
{
    return s == SIDE_USER ? m->n_users : m->n_items;
}

/* Allocates and initializes everything (PyTorch-style init from Philox keyed by the seed,
 * identical on every rank). Ru: [n_local_users × n_items], Ri: [n_local_items × n_users]
 * in host memory (copied to the backend when it is not the host). max_rows: the largest
 * number of rows of one batch on this rank. */
void model_init(bivae_model *m, kern *k, const bivae_model_config *cfg, uint64_t seed,
                int rank, int nranks, int64_t n_users, int64_t n_items,
                const int64_t *Ru_rowptr, const int32_t *Ru_col, int64_t n_local_users,
                const int64_t *Ri_rowptr, const int32_t *Ri_col, int64_t n_local_items,
                int64_t max_rows);
void model_free(bivae_model *m);

/* The own rows [l0, l1) of `side` as a window of X. */
kern_csr model_rows(const bivae_model *m, bivae_side s, int64_t l0, int64_t l1);

/* Forward of own rows [l0, l1): encoder, then (sample != 0) ε from Philox keyed by
 * (seed, epoch, side, pass, global id) and z = μ + σ ⊙ ε. Results in the encoder's
 * workspace (mu, sigma, eps, z). */
void model_forward(bivae_model *m, bivae_side s, int64_t l0, int64_t l1, int epoch,
                   bivae_pass pass, int sample);

/* Zeroes the gradient buffer of side s and sets its count float to `rows` (this rank's
 * rows in the coming step), before the step's backward. */
void model_zero_grad(bivae_model *m, bivae_side s, int64_t rows);

/* After model_forward(PASS_TRAIN) of rows [l0, l1): decoder against the other side's
 * table, loss and backward; gradients ACCUMULATE into enc[s].grad (scaled by `scale`, i.e.
 * 1 / global batch size), the loss sum into the float after them. */
void model_backward(bivae_model *m, bivae_side s, int64_t l0, int64_t l1, float scale);

/* One Adam step of side s with its (all-reduced) gradient; a non-finite gradient element
 * sets *nonfinite_flag = tag when it is still −1 (NULL: no check). */
void model_adam_step(bivae_model *m, bivae_side s, double lr, int32_t *nonfinite_flag,
                     int32_t tag);

/* Copies the workspace's z and μ of rows [l0, l1) into sample_local / mu_local. */
void model_store_rows(bivae_model *m, bivae_side s, int64_t l0, int64_t l1);

/* Writes encoder means of own rows [l0, l1) into mu_local (no sampling). */
void model_infer_means(bivae_model *m, bivae_side s, int64_t l0, int64_t l1);

#endif
