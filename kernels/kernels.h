/* kernels/kernels.h — the compute backends behind one interface.
 *
 * Every op takes a backend handle `kern *` and buffers in that backend's memory (host
 * memory for the CPU backend, device memory for CUDA). Matrices are row-major, shapes are
 * written as [rows × cols]. Ops are named after the math they do; kernels/ knows nothing of
 * the model: callers compose these ops.
 *
 * Accumulating outputs are marked "+=": the op adds to what is there. Scalar sums (a loss
 * value) are accumulated in double precision inside the op and added to a float in backend
 * memory, so that a caller can place them inside a buffer that is later all-reduced.
 *
 * The CPU backend (kernels/cpu) is the reference; every other backend is tested against it. */
#ifndef BIVAE_KERNELS_H
#define BIVAE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

typedef struct kern kern;

typedef enum { KERN_DEVICE_CPU = 0, KERN_DEVICE_CUDA = 1 } kern_device;
typedef enum { KERN_NO_TRANS = 0, KERN_TRANS = 1 } kern_trans;
typedef enum {
    KERN_ACT_SIGMOID = 0, KERN_ACT_TANH, KERN_ACT_ELU, KERN_ACT_RELU, KERN_ACT_RELU6
} kern_act;
/* Log-likelihoods ℓ(x, x̂) of a 0/1 observation x under x̂ = sigmoid(z) (e = 1e-10):
 *   POIS  x·log(x̂+e) − x̂
 *   BERN  x·log(x̂+e) + (1−x)·log(1−x̂+e)
 *   GAUS  −(x − x̂)²                                                                   */
typedef enum { KERN_LIK_POIS = 0, KERN_LIK_BERN, KERN_LIK_GAUS } kern_lik;

/* A binary (0/1) sparse matrix in CSR: row r has ones at columns
 * col[rowptr[r] .. rowptr[r+1]), sorted ascending and unique, each in [0, ncols).
 * rowptr[0] need not be 0: a kern_csr may be a window of rows of a larger matrix. */
typedef struct kern_csr {
    int64_t nrows, ncols;
    const int64_t *rowptr; /* [nrows + 1] */
    const int32_t *col;    /* [rowptr[nrows]] */
} kern_csr;

/* ---- backend lifetime ------------------------------------------------------------ */
/* CPU backend with `threads` OpenMP/OpenBLAS threads (>= 1), running the kernels of
 * kern_cpu_isa (fails, naming the reason, where that is NULL). */
kern *kern_cpu_create(int threads);
/* The build of the CPU kernels this process runs: in a portable build the best of
 * "x86-64", "x86-64-v3", "x86-64-v4" this CPU runs, or the one the environment variable
 * BIVAE_CPU_ISA names; otherwise the one -march the build has ("native", ...). NULL with the
 * reason in why[why_len] when BIVAE_CPU_ISA names one this build lacks or this CPU cannot
 * run. Every build gives the same bits on the same data (kernels/cpu/cpu_lik.c). */
const char *kern_cpu_isa(char *why, size_t why_len);
/* The kernel family OpenBLAS runs the matrix products with ("Haswell", "SkylakeX", ...;
 * OPENBLAS_CORETYPE forces one). advice[advice_len] gets one line when the family leaves
 * AVX-512 unused on a CPU that has it (forced so by OPENBLAS_CORETYPE, or OpenBLAS does
 * not know the CPU), else "". */
const char *kern_cpu_blas(char *advice, size_t advice_len);
/* The i-th build of the CPU kernels this binary holds, worst first ("x86-64",
 * "x86-64-v3", ...); NULL past the last. */
const char *kern_cpu_isa_built(int i);

/* GEMM math of the CUDA backend: fp32, or tf32 / bf16 inputs with fp32 accumulation. */
typedef enum { KERN_GEMM_FP32 = 0, KERN_GEMM_TF32, KERN_GEMM_BF16 } kern_gemm_math;
/* Number of visible CUDA devices; 0 with a reason a user can act on written to
 * reason[reason_len]: "no NVIDIA driver / no GPU found" (no driver, no device, none
 * visible), "the NVIDIA driver (CUDA 12.4) is older than this build's CUDA runtime 13.0:
 * ...", "no usable GPU (<the runtime's error>)", "this build has no CUDA backend ...". */
int kern_cuda_device_count(char *reason, size_t reason_len);
/* CUDA backend on device `ordinal` (an index among the visible devices). NULL with the
 * reason in err[err_len] when it cannot be created (no device, no CUDA in this build). */
kern *kern_cuda_create(int ordinal, kern_gemm_math math, char *err, size_t err_len);
/* The cudaStream_t (as void *) every op of a CUDA backend is queued on, for a device
 * communicator to order its collectives with them (comm_nccl_create); NULL for others. */
void *kern_cuda_stream(kern *k);
/* Stream operations queued so far by the CUDA backends of this process: kernel launches
 * (every CUDA_LAUNCH_CHECK), cuBLAS calls, memsets and copies; for launches per step. 0 for
 * another backend, or in a build without CUDA. */
int64_t kern_cuda_launches(const kern *k);
void kern_destroy(kern *k);
kern_device kern_get_device(const kern *k);
const char *kern_name(const kern *k);

/* ---- memory ------------------------------------------------------------------------ */
void *kern_alloc(kern *k, size_t bytes);                 /* zero-filled */
void kern_free(kern *k, void *p);
void kern_zero(kern *k, void *p, size_t bytes);
void kern_copy(kern *k, void *dst, const void *src, size_t bytes);           /* in backend */
void kern_upload(kern *k, void *dst, const void *host_src, size_t bytes);    /* host → backend */
void kern_download(kern *k, void *host_dst, const void *src, size_t bytes);  /* backend → host */
void kern_sync(kern *k);                                 /* wait for queued work */

/* ---- dense linear algebra ---------------------------------------------------------- */
/* C[M×N] = alpha · op(A) · op(B) + beta · C; op(A) is [M×K], op(B) is [K×N]. */
void kern_gemm(kern *k, kern_trans ta, kern_trans tb, int64_t M, int64_t N, int64_t K,
               float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
               float beta, float *C, int64_t ldc);
/* Y[m×n] += 1 · bᵀ  (add the bias row b[n] to every row) */
void kern_add_bias(kern *k, float *Y, const float *b, int64_t m, int64_t n);
/* x[n] *= alpha */
void kern_scale(kern *k, float *x, int64_t n, float alpha);
/* x[n] = value */
void kern_fill(kern *k, float *x, int64_t n, float value);
/* g[n] += Σ_rows G[m×n] */
void kern_colsum_add(kern *k, const float *G, int64_t m, int64_t n, float *g);

/* Rows of a cyclically distributed table, gathered rank after rank ("blocked": rank r's
 * rows, local order, start at row first[r]), put back in global order: global row
 * g = l·P + r ← blocked row first[r] + l.  dst [n_rows × width], src [n_rows × width]. */
void kern_rows_cyclic_from_blocked(kern *k, float *dst, const float *src, int64_t n_rows,
                                   int64_t width, int P);

/* Strided row copy: row i (i < rows) of dst, at dst + i·dst_stride, ← the row at
 * src + i·src_stride; `width` floats each (strides in floats, >= width). dst, src do not
 * overlap. Picks every P-th row of a batch, or scatters rows into one. */
void kern_copy_rows(kern *k, float *dst, int64_t dst_stride, const float *src,
                    int64_t src_stride, int64_t rows, int64_t width);

/* ---- sparse × dense ---------------------------------------------------------------- */
/* Y[X.nrows × n] = X · W + 1 · bᵀ   with W [X.ncols × n], b [n] (b may be NULL) */
void kern_csr_matmul_bias(kern *k, kern_csr X, const float *W, const float *b, int64_t n,
                          float *Y);
/* G_W[X.ncols × n] += Xᵀ · G_Y   with G_Y [X.nrows × n] */
void kern_csr_t_matmul_add(kern *k, kern_csr X, const float *G_Y, int64_t n, float *G_W);

/* ---- the rows a sparse batch names ------------------------------------------------- */
/* The distinct columns of a binary CSR window X, each with the rows of X that have a one
 * in it: the rows of a [X.ncols × width] matrix that Xᵀ·G_Y (a sparse first layer's weight
 * gradient) or a lazy Adam step touches. Kept in backend memory and built there, without a
 * host synchronization; the ops that take one read and write those rows only, and nothing
 * of the others (their work is O(ones of X + distinct columns · width)). */
typedef struct kern_colset kern_colset;
/* For windows of at most max_nrows rows of CSRs with ncols columns. */
kern_colset *kern_colset_create(kern *k, int64_t ncols, int64_t max_nrows);
void kern_colset_free(kern *k, kern_colset *cs);
/* cs ← the columns of X (X.ncols == cs's ncols, X.nrows <= max_nrows; X.nrows == 0: none),
 * replacing what cs held. cs keeps what it needs of X: X may change afterwards. */
void kern_colset_build(kern *k, kern_colset *cs, kern_csr X);
/* G[c, :] = 0 for the columns c of cs; G [ncols × width]. */
void kern_zero_rows_of_cols(kern *k, float *G, int64_t width, const kern_colset *cs);
/* G_W[ncols × n] += Xᵀ · G_Y, G_Y [X.nrows × n], X the window cs was built from: bitwise
 * kern_csr_t_matmul_add, with only the rows of G_W that cs names read or written. */
void kern_colset_t_matmul_add(kern *k, const kern_colset *cs, const float *G_Y, int64_t n,
                              float *G_W);

/* ---- element-wise ---------------------------------------------------------------- */
/* h[n] = f(a[n]) */
void kern_act_forward(kern *k, kern_act f, const float *a, float *h, int64_t n);
/* G[n] = G ⊙ f'(a), given a and h = f(a); in place (G_h in, G_a out).
 * Derivatives at kinks follow PyTorch: relu' (0) = 0; relu6' = 1 only for 0 < a < 6;
 * elu'(a) = h + 1 for a <= 0. */
void kern_act_backward(kern *k, kern_act f, const float *a, const float *h, float *G,
                       int64_t n);

/* ---- Gaussian latent layer ---------------------------------------------------------- */
/* From pre [m × 2K] = (μ | s) per row:
 *   mu = μ, sigma = sigmoid(s), z = μ + sigma ⊙ eps     (mu, sigma, eps, z: [m × K])
 * z may be NULL (means only). */
void kern_gaussian_sample(kern *k, const float *pre, const float *eps, int64_t m, int64_t K,
                          float *mu, float *sigma, float *z);
/* KL of N(μ, σ²) against the prior N(prior, 1), and the gradient of
 *   lambda · Σ_rows KL_row · scale   plus the incoming G_z, back to the pre-activations:
 *   *loss_acc += lambda · Σ_rows Σ_k −½(1 + 2 log σ − (μ−prior)² − σ²)      (unscaled)
 *   G_μ = G_z + lambda·scale·(μ − prior)
 *   G_σ = G_z ⊙ eps + lambda·scale·(σ − 1/σ)
 *   G_pre[m × 2K] = (G_μ | G_σ ⊙ σ(1−σ))
 * prior [m × K] may be NULL (zero mean); when G_prior is not NULL,
 *   G_prior[m × K] = −lambda·scale·(μ − prior). */
void kern_gaussian_kl_backward(kern *k, const float *mu, const float *sigma, const float *eps,
                               const float *prior, const float *G_z, int64_t m, int64_t K,
                               float lambda, float scale, float *G_pre, float *G_prior,
                               float *loss_acc);

/* ---- decoder likelihood ------------------------------------------------------------ */
/* Z [m × n] holds logits z; X is the binary observation matrix of the same shape (m rows,
 * n columns). In place, Z becomes G_z = scale · ∂(−Σ ℓ(x, sigmoid(z)))/∂z, and
 *   *loss_acc += −Σ_{all m·n entries} ℓ(x, sigmoid(z))                     (unscaled)
 * computed as a dense pass that assumes x = 0 plus a correction at X's ones; no dense
 * copy of X is ever formed. */
void kern_sigmoid_lik_loss_grad(kern *k, kern_lik lik, float *Z, kern_csr X, float scale,
                                float *loss_acc);

/* ---- random numbers: Philox4x32-10 (Random123) ------------------------------------- */
/* For row r and column c, the counter is {c / 4, lo32(id), hi32(id), ctr3} with
 * id = id0 + r · id_stride, the key is {key0, key1}; element c % 4 of the 4 outputs is used.
 * The same (key, counter) gives the same 32-bit integers on every backend.
 * normal:  pairs (u0,u1), (u2,u3) of uniforms in (0, 1] through Box–Muller
 *          (n0 = ρ cos 2πu1, n1 = ρ sin 2πu1 with ρ = sqrt(−2 ln u0); likewise n2, n3).
 * uniform: lo + (hi − lo) · u, u in [0, 1).                                           */
void kern_philox_normal(kern *k, float *out, int64_t rows, int64_t cols, uint32_t key0,
                        uint32_t key1, uint32_t ctr3, int64_t id0, int64_t id_stride);
void kern_philox_uniform(kern *k, float *out, int64_t rows, int64_t cols, uint32_t key0,
                         uint32_t key1, uint32_t ctr3, int64_t id0, int64_t id_stride,
                         float lo, float hi);

/* ---- optimizer --------------------------------------------------------------------- */
/* Adam (PyTorch semantics, no weight decay), at step t >= 1:
 *   m = β1 m + (1−β1) g;  v = β2 v + (1−β2) g²
 *   p −= (lr / (1−β1^t)) · m / (sqrt(v) / sqrt(1−β2^t) + eps)
 * When nonfinite_flag (backend memory) is not NULL, the gradient is checked in the same
 * pass as kern_find_nonfinite does. */
void kern_adam(kern *k, float *p, const float *g, float *m, float *v, int64_t n, double lr,
               double beta1, double beta2, double eps, int64_t t, int32_t *nonfinite_flag,
               int32_t tag);

/* Adam, lazily, on the rows of a row-major P [n_rows × width] (g, m, v alike) whose rows
 * get an exactly +0 gradient at every step that does not select them (the first layer of a
 * sparse input: a row's gradient is 0 unless a one of the batch names it).
 *   sel:  the rows named by the columns of this set (its ncols == n_rows; only those rows
 *         are read or written), or every row when sel is NULL.
 *   Each selected row j goes from step last[j] to step t: the steps before t with a zero
 *   gradient, step t with its row of g when with_grad (a zero one otherwise); then
 *   last[j] = t. Each step is kern_adam's arithmetic, so every row ends bitwise as under
 *   kern_adam at every step.
 *   tab [2 × cap] holds the bias-correction constants of steps t0 + 1 .. t0 + cap: a
 *   with_grad call writes step t's (index t − t0 − 1, from lr), replayed zero-gradient
 *   steps read theirs (lr is then unused). So every replayed step must lie in (t0, t] and
 *   be the step of an earlier (or this) with_grad call, i.e. t0 <= last[j] for every row,
 *   and t − t0 <= cap.
 * last [n_rows] and tab in backend memory; nonfinite_flag as kern_adam (selected rows). */
void kern_adam_rows(kern *k, float *p, const float *g, float *m, float *v, int64_t n_rows,
                    int64_t width, const kern_colset *sel, int64_t *last, float *tab,
                    int64_t cap, int64_t t0, int64_t t, int with_grad, double lr, double beta1,
                    double beta2, double eps, int32_t *nonfinite_flag, int32_t tag);

/* The float constants of Adam's step t, as kern_adam and kern_adam_rows form them (in
 * double, rounded once): lr / (1 − β1^t) and 1 / sqrt(1 − β2^t). */
void kern_adam_constants(double lr, double beta1, double beta2, int64_t t, float out[2]);

/* *flag = tag when any of x[n] is NaN or ±Inf and *flag < 0 (flag in backend memory):
 * a cheap record of the first step whose loss or gradient went bad. */
void kern_find_nonfinite(kern *k, const float *x, int64_t n, int32_t *flag, int32_t tag);

/* ---- reductions ---------------------------------------------------------------------- */
/* acc[n] (double) += x[n] (float); both in backend memory */
void kern_accumulate(kern *k, double *acc, const float *x, int64_t n);

/* ---- ranking ----------------------------------------------------------------------- */
/* For each row r of S [m × n], the top_k largest scores among the columns NOT in row r of
 * `exclude` (exclude.nrows == m; its ncols == n), in descending order, ties broken by the
 * lower column index: idx [m × top_k] (columns; −1 where fewer than top_k candidates
 * exist), val [m × top_k] (may be NULL). */
void kern_topk_excluding(kern *k, const float *S, int64_t m, int64_t n, kern_csr exclude,
                         int top_k, int32_t *idx, float *val);

#endif
