/* src/model.h — the BiVAE model of docs/bivae-model.md on one rank: two encoders (user,
 * item), the sampled tables θ̃ / β̃, the means μ_θ / μ_β, and the forward / backward of one
 * global batch of one side, composed from kernels/ ops. All buffers live in backend memory.
 *
 * The first layer is row-sharded (design.md "Communication volume": the lever): input
 * feature j (an item for the user encoder, a user for the item encoder) and its row of
 * Wt_1 belong to rank j mod P, like every other id. For a global batch, each rank multiplies
 * ALL batch rows' ones in ITS feature columns (Xc, below) by its rows of Wt_1; one
 * all-reduce of the partial a_1 [B × width[1]] gives every rank the batch's a_1, and it
 * keeps its own rows (the refresh forward of a step and the training forward of the next
 * share that all-reduce: model_forward_pair). Backward, each rank puts ∂loss/∂a_1 of its
 * own rows into an exchange block [B × width[1]] that rides in the gradient all-reduce;
 * every rank then computes the gradient of its own Wt_1 rows from the whole block. So the
 * per-step all-reduces are O(B·width[1] + deeper layers), not O(input width · width[1]),
 * and Adam on Wt_1 is split. Everything after the first layer is replicated, as before.
 * (shard_first_layer = 0 in model_init keeps the whole Wt_1 on every rank instead.)
 *
 * Layout of an encoder's parameters on a rank, ONE buffer:
 *   Wt_1 rows of own features [n_feat_local × width[1]], b_1 [width[1]],
 *   for l = 2..L:  Wt_l [width[l−1] × width[l]]  (PyTorch's W_l transposed), b_l [width[l]]
 *   head:          Wt_h [width[L] × 2K],  b_h [2K]     (columns 0..K−1: μ, K..2K−1: σ logits)
 * width[0] is the input width: I (number of items) for the user encoder, U for the item one.
 * The full tensor (checkpoints) has all width[0] rows of Wt_1 in global order: n_params_full.
 * The gradient buffer has the local layout, then the batch's loss sum Σ_rows (λ·KL − ll)
 * and row count, then the exchange block [max_batch × width[1]]. Everything from b_1 on is
 * what the step all-reduces (model_reduced_span).
 *
 * CAP (constrained adaptive priors, --cap-priors): a side with features F [rows × D] has a
 * prior encoder μ_prior = F·Wt_p + b_p, Wt_p [D × K], b_p [K], stored after the head in the
 * same buffer (so it is replicated, trained by the side's Adam and its gradient rides in
 * the step's all-reduce); the KL is then to N(μ_prior, 1). Without it the layout above is
 * unchanged (n_prior_in = 0). */
#ifndef BIVAE_MODEL_H
#define BIVAE_MODEL_H

#include <stdint.h>

#include "comm/comm.h"
#include "kernels/kernels.h"
#include "src/config.h"

typedef enum { SIDE_USER = 0, SIDE_ITEM = 1 } bivae_side;

/* Which draw of ε: the training forward or the refresh forward after the step. */
typedef enum { PASS_TRAIN = 0, PASS_REFRESH = 1 } bivae_pass;

/* Which own Wt_1 rows of a lazy side's gradient may be non-zero (src/model_adam.c). */
enum { GRAD_ROWS_ALL = 0, GRAD_ROWS_NONE, GRAD_ROWS_BATCH };

typedef struct encoder {
    int n_layers;                          /* hidden layers L */
    int64_t width[BIVAE_MAX_HIDDEN + 1];   /* width[0] = input width, width[1..L] hidden */
    int64_t K;
    kern_act act;
    int64_t n_feat_local;                  /* own rows of Wt_1: features j ≡ rank (mod P) */
    int64_t n_params;                      /* on this rank (local layout) */
    int64_t n_params_full;                 /* of the whole encoder (checkpoint layout) */
    int64_t off_W[BIVAE_MAX_HIDDEN + 1];   /* offsets; index L is the head */
    int64_t off_b[BIVAE_MAX_HIDDEN + 1];
    int64_t n_prior_in;                    /* CAP: features D of the prior encoder (0: none) */
    int64_t off_Wp, off_bp;                /* CAP: Wt_p [D × K], b_p [K] after the head */
    float *F;                              /* CAP: [n_local rows × D] own feature rows */
    float *mu_prior, *G_prior;             /* CAP: [max_rows × K] */
    float *params;                         /* [n_params] */
    float *grad;                           /* [n_params + 2 + max_batch × width[1]]:
                                              gradients, loss sum, count, exchange block */
    float *G_a1_batch;                     /* = grad + n_params + 2, the exchange block */
    float *a1_batch;                       /* [2 × max_batch × width[1]] partial / summed
                                              a_1 of up to two batches (model_forward_pair) */
    float *adam_m, *adam_v;                /* [n_params] */
    int64_t adam_step;                     /* Adam's t (steps taken) */
    /* lazy Adam on the own Wt_1 rows (sharded first layer; src/model_adam.c) */
    int lazy_adam;
    int64_t *adam_last;                    /* [n_feat_local] the step each row is at */
    float *adam_tab;                       /* [2 × adam_tab_cap] constants of steps t0+1.. */
    int64_t adam_tab_cap, adam_t0;         /* t0: the last flush (every row at >= t0) */
    kern_colset *batch_cols;               /* the own Wt_1 rows of the global batch
                                              [cols_g0, cols_g1) of Xc (cols_g1 < 0: none) */
    int64_t cols_g0, cols_g1;
    int grad_rows;                         /* own Wt_1 rows of grad that may be non-zero:
                                              GRAD_ROWS_ALL, _NONE, or _BATCH: those of the
                                              global batch [grad_g0, grad_g1) */
    int64_t grad_g0, grad_g1;
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
    comm *c;                   /* for the first layer's all-reduce; NULL only when P = 1 */
    int64_t max_batch;         /* largest global batch: max_rows · P */
    int sharded;               /* first layer row-sharded (else replicated, Xc unused) */
    int64_t n_users, n_items, K;
    int64_t n_local[2];        /* rows this rank owns per side (users, items) */
    encoder enc[2];            /* [SIDE_USER], [SIDE_ITEM] */
    float *table[2];           /* θ̃ [n_users × K], β̃ [n_items × K]: full, global order */
    float *sample_local[2];    /* [n_local × K]  this rank's freshly sampled rows */
    float *mu_local[2];        /* [n_local × K]  μ_θ / μ_β of own rows */
    float *Z;                  /* [max_rows × max(n_users, n_items)] decoder logits / G_z */
    kern_csr X[2];             /* own training rows in backend memory: Ru (users), Ri (items) */
    kern_csr Xc[2];            /* ALL rows of the side × own features (local column index):
                                  [U × own items] for users, [I × own users] for items */
    void *X_owned[2][2];       /* device copies of rowptr/col (NULL when aliasing host) */
    void *Xc_owned[2][2];      /* Xc's rowptr/col (always owned) */
    double touched[2];         /* mean share of own Wt_1 rows a global batch names (sharded) */
} bivae_model;

/* Number of rows of `side` (users or items). */
static inline int64_t model_side_rows(const bivae_model *m, bivae_side s)
{
    return s == SIDE_USER ? m->n_users : m->n_items;
}

/* Allocates and initializes everything (PyTorch-style init from Philox keyed by the seed,
 * the same values for the same global ids on every rank and any P). Ru: [n_local_users ×
 * n_items], Ri: [n_local_items × n_users] in host memory (copied to the backend when it is
 * not the host; Xc is built from them). max_rows: the largest number of own rows in one
 * global batch (a global batch has at most max_rows · P rows). c: the ranks' communicator
 * (may be NULL when nranks == 1). shard_first_layer: 1 for the row-sharded first layer
 * above, 0 for a replicated one (every rank all of Wt_1, its whole gradient all-reduced:
 * design.md's first plan, kept to compare). */
void model_init(bivae_model *m, kern *k, const bivae_model_config *cfg, uint64_t seed,
                int rank, int nranks, int64_t n_users, int64_t n_items,
                const int64_t *Ru_rowptr, const int32_t *Ru_col, int64_t n_local_users,
                const int64_t *Ri_rowptr, const int32_t *Ri_col, int64_t n_local_items,
                int64_t max_rows, comm *c, int shard_first_layer);
void model_free(bivae_model *m);

/* CAP: the feature rows of each side's own rows, host memory, row l = local index l:
 * F[s] [n_local[s] × n_features[s]]; n_features[s] == 0 (or F[s] NULL): no prior encoder
 * on side s (its KL is to N(0, 1), as in model_init). */
typedef struct model_priors {
    const float *F[2];
    int64_t n_features[2];
} model_priors;

/* model_init with the prior encoders of `priors` (NULL: none, the same as model_init). */
void model_init_cap(bivae_model *m, kern *k, const bivae_model_config *cfg, uint64_t seed,
                    int rank, int nranks, int64_t n_users, int64_t n_items,
                    const int64_t *Ru_rowptr, const int32_t *Ru_col, int64_t n_local_users,
                    const int64_t *Ri_rowptr, const int32_t *Ri_col, int64_t n_local_items,
                    int64_t max_rows, comm *c, int shard_first_layer,
                    const model_priors *priors);

/* CAP: μ_prior of the own rows [l0, l1) of side s (which must have a prior encoder) into
 * out [(l1 − l0) × K] (backend memory). */
void model_prior_means(bivae_model *m, bivae_side s, int64_t l0, int64_t l1, float *out);

/* The own rows [l0, l1) of `side` as a window of X. */
kern_csr model_rows(const bivae_model *m, bivae_side s, int64_t l0, int64_t l1);

/* The functions below that take a GLOBAL batch [g0, g1) (at most max_batch rows) are
 * collective when P > 1: every rank calls them with the same batch, in the same order, even
 * when it owns none of its rows. Their own rows are the local range
 * [partition_local_begin(g0), partition_local_begin(g1)). With P = 1 global = local. */

/* Forward of the own rows of [g0, g1): encoder (one all-reduce of the first layer), then
 * (sample != 0) ε from Philox keyed by (seed, epoch, side, pass, global id) and
 * z = μ + σ ⊙ ε. Results in the encoder's workspace (mu, sigma, eps, z). */
void model_forward(bivae_model *m, bivae_side s, int64_t g0, int64_t g1, int epoch,
                   bivae_pass pass, int sample);

/* The two forwards of a training loop that share parameters, with ONE first-layer
 * all-reduce: the refresh forward of the previous step's batch [r0, r1) (PASS_REFRESH, its
 * own rows then stored by model_store_rows) and the training forward of this step's batch
 * [g0, g1) (PASS_TRAIN, left in the workspace). Either range may be empty (r0 == r1: the
 * first step of a phase; g0 == g1: the flush after the last step or before a stop). The
 * all-reduce always has the size of two full batches, each batch at a fixed place, so a
 * batch's sums do not depend on its partner (resuming mid-phase stays bit-identical).
 * Collective like model_forward. */
void model_forward_pair(bivae_model *m, bivae_side s, int64_t r0, int64_t r1, int64_t g0,
                        int64_t g1, int epoch);

/* Zeroes the gradient buffer of side s (exchange block included) and sets its count float
 * to `rows` (this rank's rows in the coming step), before the step's backward. With lazy
 * Adam, of the own Wt_1 rows only those the last backward made non-zero are written. */
void model_zero_grad(bivae_model *m, bivae_side s, int64_t rows);

/* After model_forward(PASS_TRAIN) of [g0, g1): decoder against the other side's table,
 * loss and backward of the own rows down to ∂loss/∂a_1, which goes into the exchange
 * block; gradients ACCUMULATE into enc[s].grad (scaled by `scale`, i.e. 1 / global batch
 * size), the loss sum into the float after them. Not collective. */
void model_backward_local(bivae_model *m, bivae_side s, int64_t g0, int64_t g1, float scale);

/* The part of enc[s].grad a step all-reduces for a batch of n_batch rows: from b_1 to the
 * end of the used exchange block. */
void model_reduced_span(const bivae_model *m, bivae_side s, int64_t n_batch, float **buf,
                        size_t *n);

/* After the all-reduce of model_reduced_span: gradient of the own rows of Wt_1 from the
 * whole batch's exchange block. Every rank, even one without rows in the batch. */
void model_backward_first_layer(bivae_model *m, bivae_side s, int64_t g0, int64_t g1);

/* Single-rank convenience (tests, benchmarks): model_backward_local, then
 * model_backward_first_layer without any all-reduce. Fails when P > 1. */
void model_backward(bivae_model *m, bivae_side s, int64_t g0, int64_t g1, float scale);

/* ---- Adam (src/model_adam.c) ---- */
/* One Adam step of side s with its (all-reduced) gradient of the global batch [g0, g1); a
 * non-finite gradient element sets *nonfinite_flag = tag when it is still −1 (NULL: no
 * check). With the sharded first layer the own Wt_1 rows the batch does not touch are
 * updated lazily, bitwise as dense Adam would: forwards and model_adam_flush bring them up
 * to date before anything reads them. */
void model_adam_step(bivae_model *m, bivae_side s, int64_t g0, int64_t g1, double lr,
                     int32_t *nonfinite_flag, int32_t tag);
/* Every own Wt_1 row of side s up to date (before reading the whole parameter tensors:
 * checkpoints; at a phase's end). Not collective. */
void model_adam_flush(bivae_model *m, bivae_side s);
/* After adam_step was set from a checkpoint: every row is at that step. */
void model_adam_restart(bivae_model *m);
/* model.c's part: the rows the global batch [g0, g1) names up to date before a forward
 * reads them (model_forward: its batch; model_forward_pair: the training batch only, since
 * the refresh batch is the one the last step updated). */
void model_adam_catch_up(bivae_model *m, bivae_side s, int64_t g0, int64_t g1);
/* A lazy side's own Wt_1 gradient: zeroing only the rows the last batch made non-zero (all
 * of them the first time, and after a checkpoint load), and the batch [g0, g1)'s
 * G_Wt_1 += Xcᵀ·G_a1 on its rows only (model_zero_grad, model_backward_first_layer). */
void model_adam_zero_grad_rows(bivae_model *m, bivae_side s);
void model_adam_first_layer_grad(bivae_model *m, bivae_side s, int64_t g0, int64_t g1);
void model_adam_init(bivae_model *m);
void model_adam_free(bivae_model *m);
/* Rows [g0, g1) of Xc[s] (the global batch × own features). */
kern_csr model_xc_batch(const bivae_model *m, bivae_side s, int64_t g0, int64_t g1);

/* Copies the workspace's z and μ of rows [l0, l1) into sample_local / mu_local. */
void model_store_rows(bivae_model *m, bivae_side s, int64_t l0, int64_t l1);

/* Writes encoder means of the own rows of the global batch [g0, g1) into mu_local (no
 * sampling). Collective like model_forward. */
void model_infer_means(bivae_model *m, bivae_side s, int64_t g0, int64_t g1);

/* ---- fold-in: μ of rows the model was not trained on (src/model_foldin.c) ---- */
/* μ of n new rows of side s through that side's encoder, exactly the mean the trained
 * encoder gives (no sampling; the forward's own code path, so a training row folded in
 * gives bitwise its mu_local row). rows: CSR [n × width[0]] in BACKEND memory, column =
 * GLOBAL input id (an item for SIDE_USER, a user for SIDE_ITEM; values unused: the
 * encoder reads the binary row); mu_out: [n × K] backend memory. Needs the whole Wt_1
 * (nranks == 1) and every lazy Adam row flushed (model_adam_flush; a model loaded from a
 * checkpoint is). Not collective. Rows are encoded max_rows at a time. */
void model_fold_in(bivae_model *m, bivae_side s, kern_csr rows, float *mu_out);
/* model.c's part: layers 2..L and the head of the nr rows whose a[1] is in the workspace. */
void model_encode_from_a1(bivae_model *m, bivae_side s, int64_t nr);

/* ---- whole tensors (checkpoints, replica checks) ---- src/model_shard.c ---------------- */
typedef enum { ENC_PARAMS = 0, ENC_ADAM_M = 1, ENC_ADAM_V = 2 } encoder_tensor;

/* The whole tensor `which` of encoder s in the checkpoint layout, gathered from all ranks
 * into a new backend buffer [n_params_full] (free with kern_free). Collective. */
float *model_full_tensor(const bivae_model *m, bivae_side s, encoder_tensor which);

/* Elements [offset, offset + n) of the whole tensor `which` (host memory, checkpoint
 * layout): this rank keeps the Wt_1 rows it owns and everything after Wt_1. */
void model_set_from_full(bivae_model *m, bivae_side s, encoder_tensor which, int64_t offset,
                         const float *data, int64_t n);

/* The buffer of tensor `which` of encoder s on this rank (local layout, n_params). */
float *model_tensor(const bivae_model *m, bivae_side s, encoder_tensor which);

#endif
