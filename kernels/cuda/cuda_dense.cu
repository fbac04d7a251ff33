/* kernels/cuda/cuda_dense.cu — the dense element-wise ops of the CUDA backend: bias, scale,
 * cyclic reordering, column sums, activations, the Gaussian latent layer, Adam and the
 * double accumulator. The activations, the Gaussian layer and Adam evaluate the formulas of
 * kernels/kern_formulas.h, as the CPU does; with --fmad=false the results differ from the
 * CPU's only where a library function (expf, tanhf, expm1f, log) differs from the CPU's by
 * an ulp or two. All kernels grid-stride over 64-bit indices; reductions are in a fixed
 * order. */
#include <math.h>

#include "kernels/cuda/cuda_internal.h"
#include "kernels/cuda/cuda_math.h"

/* ---- bias, scale, reorder, column sums ----------------------------------------------- */

/* Y[m × n] += 1 · bᵀ */
__global__ void add_bias_kernel(float *Y, const float *b, int64_t m, int64_t n)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < m * n;
         i += (int64_t)gridDim.x * blockDim.x)
        Y[i] += b[i % n];
}

void cu_add_bias(kern *k, float *Y, const float *b, int64_t m, int64_t n)
{
    cu_prof_begin(k, CU_PROF_ELEMWISE);
    add_bias_kernel<<<cu_blocks(m * n, CU_MAX_BLOCKS), CU_THREADS, 0, cu_st(k)->stream>>>(
        Y, b, m, n);
    CUDA_LAUNCH_CHECK("add_bias_kernel");
    cu_prof_end(k, CU_PROF_ELEMWISE);
}

/* x[n] *= alpha */
__global__ void scale_kernel(float *x, int64_t n, float alpha)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        x[i] *= alpha;
}

/* x[n] = value */
__global__ void fill_kernel(float *x, int64_t n, float value)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        x[i] = value;
}

void cu_fill(kern *k, float *x, int64_t n, float value)
{
    cu_prof_begin(k, CU_PROF_ELEMWISE);
    fill_kernel<<<cu_blocks(n, CU_MAX_BLOCKS), CU_THREADS, 0, cu_st(k)->stream>>>(x, n, value);
    CUDA_LAUNCH_CHECK("fill_kernel");
    cu_prof_end(k, CU_PROF_ELEMWISE);
}

void cu_scale(kern *k, float *x, int64_t n, float alpha)
{
    cu_prof_begin(k, CU_PROF_ELEMWISE);
    scale_kernel<<<cu_blocks(n, CU_MAX_BLOCKS), CU_THREADS, 0, cu_st(k)->stream>>>(x, n, alpha);
    CUDA_LAUNCH_CHECK("scale_kernel");
    cu_prof_end(k, CU_PROF_ELEMWISE);
}

/* dst [n_rows × width]: global row g = l·P + r comes from blocked row first(r) + l, where
 * rank r owns n_r = q + (r < rem) rows (q = n_rows / P, rem = n_rows % P), so
 * first(r) = r·q + min(r, rem). One thread per element. */
__global__ void rows_cyclic_kernel(float *dst, const float *src, int64_t n_rows, int64_t width,
                                   int P)
{
    int64_t q = n_rows / P, rem = n_rows % P;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n_rows * width;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t g = i / width, c = i % width, r = g % P, l = g / P;
        int64_t first = r * q + (r < rem ? r : rem);
        dst[i] = src[(first + l) * width + c];
    }
}

void cu_rows_cyclic_from_blocked(kern *k, float *dst, const float *src, int64_t n_rows,
                                 int64_t width, int P)
{
    if (P < 1)
        FAIL_RUNTIME("rows_cyclic_from_blocked: P = %d", P);
    cu_prof_begin(k, CU_PROF_ELEMWISE);
    rows_cyclic_kernel<<<cu_blocks(n_rows * width, CU_MAX_BLOCKS), CU_THREADS, 0,
                         cu_st(k)->stream>>>(dst, src, n_rows, width, P);
    CUDA_LAUNCH_CHECK("rows_cyclic_kernel");
    cu_prof_end(k, CU_PROF_ELEMWISE);
}

/* g[c] += (float) Σ_r G[r, c], the sum in double in row order (as the CPU): one thread per
 * column; neighbouring threads read neighbouring columns of a row. */
__global__ void colsum_add_kernel(const float *G, int64_t m, int64_t n, float *g)
{
    for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < n;
         c += (int64_t)gridDim.x * blockDim.x) {
        double acc = 0.0;
        for (int64_t r = 0; r < m; r++)
            acc += G[r * n + c];
        g[c] += (float)acc;
    }
}

void cu_colsum_add(kern *k, const float *G, int64_t m, int64_t n, float *g)
{
    cu_prof_begin(k, CU_PROF_ELEMWISE);
    colsum_add_kernel<<<cu_blocks(n, CU_MAX_BLOCKS), CU_THREADS, 0, cu_st(k)->stream>>>(G, m, n,
                                                                                        g);
    CUDA_LAUNCH_CHECK("colsum_add_kernel");
    cu_prof_end(k, CU_PROF_ELEMWISE);
}

/* ---- activations --------------------------------------------------------------------- */

__device__ __forceinline__ float act_value(kern_act f, float a)
{
    switch (f) {
    case KERN_ACT_SIGMOID: return kf_sigmoid(a);
    case KERN_ACT_TANH: return kf_tanh(a);
    case KERN_ACT_ELU: return kf_elu(a);
    case KERN_ACT_RELU: return kf_relu(a);
    default: return kf_relu6(a);   /* RELU6 */
    }
}

/* G ⊙ f'(a) */
__device__ __forceinline__ float act_grad(kern_act f, float a, float h, float G)
{
    switch (f) {
    case KERN_ACT_SIGMOID: return kf_sigmoid_grad(G, h);
    case KERN_ACT_TANH: return kf_tanh_grad(G, h);
    case KERN_ACT_ELU: return kf_elu_grad(G, a, h);
    case KERN_ACT_RELU: return kf_relu_grad(G, a);
    default: return kf_relu6_grad(G, a);   /* RELU6 */
    }
}

__global__ void act_forward_kernel(kern_act f, const float *a, float *h, int64_t n)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        h[i] = act_value(f, a[i]);
}

__global__ void act_backward_kernel(kern_act f, const float *a, const float *h, float *G,
                                    int64_t n)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        G[i] = act_grad(f, a[i], h[i], G[i]);
}

static void check_act(kern_act f)
{
    if (f < KERN_ACT_SIGMOID || f > KERN_ACT_RELU6)
        FAIL_RUNTIME("unknown activation %d", (int)f);
}

void cu_act_forward(kern *k, kern_act f, const float *a, float *h, int64_t n)
{
    check_act(f);
    cu_prof_begin(k, CU_PROF_ELEMWISE);
    act_forward_kernel<<<cu_blocks(n, CU_MAX_BLOCKS), CU_THREADS, 0, cu_st(k)->stream>>>(f, a, h,
                                                                                         n);
    CUDA_LAUNCH_CHECK("act_forward_kernel");
    cu_prof_end(k, CU_PROF_ELEMWISE);
}

void cu_act_backward(kern *k, kern_act f, const float *a, const float *h, float *G, int64_t n)
{
    check_act(f);
    cu_prof_begin(k, CU_PROF_ELEMWISE);
    act_backward_kernel<<<cu_blocks(n, CU_MAX_BLOCKS), CU_THREADS, 0, cu_st(k)->stream>>>(
        f, a, h, G, n);
    CUDA_LAUNCH_CHECK("act_backward_kernel");
    cu_prof_end(k, CU_PROF_ELEMWISE);
}

/* ---- Gaussian latent layer ----------------------------------------------------------- */

/* pre [m × 2K] → mu, sigma, z [m × K] (z may be NULL) */
__global__ void gaussian_sample_kernel(const float *pre, const float *eps, int64_t m, int64_t K,
                                       float *mu, float *sigma, float *z)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < m * K;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = i / K, c = i % K;
        float mu_i = pre[r * 2 * K + c], sd_i = kf_gauss_sigma(pre[r * 2 * K + K + c]);
        mu[i] = mu_i;
        sigma[i] = sd_i;
        if (z)
            z[i] = kf_gauss_sample(mu_i, sd_i, eps[i]);
    }
}

void cu_gaussian_sample(kern *k, const float *pre, const float *eps, int64_t m, int64_t K,
                        float *mu, float *sigma, float *z)
{
    if (K <= 0)
        return;
    cu_prof_begin(k, CU_PROF_ELEMWISE);
    gaussian_sample_kernel<<<cu_blocks(m * K, CU_MAX_BLOCKS), CU_THREADS, 0, cu_st(k)->stream>>>(
        pre, eps, m, K, mu, sigma, z);
    CUDA_LAUNCH_CHECK("gaussian_sample_kernel");
    cu_prof_end(k, CU_PROF_ELEMWISE);
}

typedef struct kl_args {
    const float *mu, *sigma, *eps, *prior, *G_z;   /* [m × K]; prior may be NULL */
    int64_t m, K;
    float ls;                                      /* lambda · scale */
    float *G_pre;                                  /* [m × 2K] */
    float *G_prior;                                /* [m × K] or NULL */
    double *partials;                              /* [gridDim.x] Σ KL of the block */
} kl_args;

__global__ void gaussian_kl_kernel(kl_args a)
{
    double kl = 0.0;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < a.m * a.K;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = i / a.K, c = i % a.K;
        float d = a.mu[i] - (a.prior ? a.prior[i] : 0.0f), s = a.sigma[i];
        kl += kf_gauss_kl(d, s);
        a.G_pre[r * 2 * a.K + c] = kf_gauss_grad_mu(a.G_z[i], d, a.ls);
        a.G_pre[r * 2 * a.K + a.K + c] = kf_gauss_grad_pre_sigma(a.G_z[i], a.eps[i], s, a.ls);
        if (a.G_prior)
            a.G_prior[i] = kf_gauss_grad_prior(d, a.ls);
    }
    kl = cu_block_sum(kl);
    if (threadIdx.x == 0)
        a.partials[blockIdx.x] = kl;
}

void cu_gaussian_kl_backward(kern *k, const float *mu, const float *sigma, const float *eps,
                             const float *prior, const float *G_z, int64_t m, int64_t K,
                             float lambda, float scale, float *G_pre, float *G_prior,
                             float *loss_acc)
{
    if (K <= 0)
        return;
    cuda_state *st = cu_st(k);
    unsigned blocks = cu_blocks(m * K, 1024);
    kl_args a = {mu, sigma, eps, prior, G_z, m, K, lambda * scale, G_pre, G_prior, NULL};
    a.partials = (double *)cu_scratch_get(k, &st->partials, blocks * sizeof(double));
    cu_prof_begin(k, CU_PROF_ELEMWISE);
    gaussian_kl_kernel<<<blocks, CU_THREADS, 0, st->stream>>>(a);
    CUDA_LAUNCH_CHECK("gaussian_kl_kernel");
    cu_finish_loss(k, a.partials, blocks, (double)lambda, loss_acc);
    cu_prof_end(k, CU_PROF_ELEMWISE);
}

/* ---- optimizer and accumulator ------------------------------------------------------- */

typedef struct adam_consts {
    float step, inv_bc2_sqrt;   /* kern_adam_constants of step t */
    kf_adam_hyper h;
} adam_consts;

/* *flag = tag when `bad` and *flag is still negative (first writer wins): the non-finite
 * record of find_nonfinite. */
__device__ __forceinline__ void flag_nonfinite(int bad, int32_t *flag, int32_t tag)
{
    if (flag && __syncthreads_or(bad) && threadIdx.x == 0) {
        int32_t cur = *(volatile int32_t *)flag;
        while (cur < 0) {
            int32_t seen = atomicCAS(flag, cur, tag);
            if (seen == cur)
                break;
            cur = seen;
        }
    }
}

__global__ void find_nonfinite_kernel(const float *x, int64_t n, int32_t *flag, int32_t tag)
{
    int bad = 0;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        bad |= !isfinite(x[i]);
    flag_nonfinite(bad, flag, tag);
}

void cu_find_nonfinite(kern *k, const float *x, int64_t n, int32_t *flag, int32_t tag)
{
    cu_prof_begin(k, CU_PROF_ELEMWISE);
    find_nonfinite_kernel<<<cu_blocks(n, CU_MAX_BLOCKS), CU_THREADS, 0, cu_st(k)->stream>>>(
        x, n, flag, tag);
    CUDA_LAUNCH_CHECK("find_nonfinite_kernel");
    cu_prof_end(k, CU_PROF_ELEMWISE);
}

__global__ void adam_kernel(float *p, const float *g, float *m, float *v, int64_t n,
                            adam_consts a, int32_t *flag, int32_t tag)
{
    int bad = 0;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        float gi = g[i];
        bad |= !isfinite(gi);
        kf_adam_step(&p[i], &m[i], &v[i], gi, a.step, a.inv_bc2_sqrt, a.h);
    }
    flag_nonfinite(bad, flag, tag);
}

void cu_adam(kern *k, float *p, const float *g, float *m, float *v, int64_t n, double lr,
             double beta1, double beta2, double eps, int64_t t, int32_t *nonfinite_flag,
             int32_t tag)
{
    if (t < 1)
        FAIL_RUNTIME("adam: step t = %lld must be >= 1", (long long)t);
    adam_consts a;
    float here[2];
    kern_adam_constants(lr, beta1, beta2, t, here);
    a.step = here[0];
    a.inv_bc2_sqrt = here[1];
    a.h = kf_adam_hyper_of(beta1, beta2, eps);
    cu_prof_begin(k, CU_PROF_ADAM);
    adam_kernel<<<cu_blocks(n, CU_MAX_BLOCKS), CU_THREADS, 0, cu_st(k)->stream>>>(p, g, m, v, n,
                                                                                  a, nonfinite_flag, tag);
    CUDA_LAUNCH_CHECK("adam_kernel");
    cu_prof_end(k, CU_PROF_ADAM);
}

/* ---- lazy Adam on selected rows (kern_adam_rows) ------------------------------------ */

typedef struct adam_rows_args {
    float *p, *m, *v;
    const float *g;               /* NULL: no step-t gradient */
    int64_t n_rows, width;
    int64_t *last;                /* [n_rows] */
    float *tab;                   /* constants of steps t0 + 1 .. */
    int64_t t0, t;
    float here[2];                /* constants of step t */
    kf_adam_hyper h;
} adam_rows_args;

/* Element i of row j (last: the step row j is at): its steps last + 1 .. t, kern_adam's
 * arithmetic per step. Returns 1 when a gradient value read was not finite. */
__device__ __forceinline__ int adam_rows_element(const adam_rows_args &a, int64_t i,
                                                 int64_t last)
{
    int bad = 0;
    float pi = a.p[i], mi = a.m[i], vi = a.v[i];
    for (int64_t tau = last + 1; tau <= a.t; tau++) {
        float gi = 0.0f, step = a.here[0], inv = a.here[1];
        if (tau == a.t && a.g) {
            gi = a.g[i];
        } else {
            step = a.tab[2 * (tau - a.t0 - 1)];
            inv = a.tab[2 * (tau - a.t0 - 1) + 1];
        }
        bad |= !isfinite(gi);
        kf_adam_step(&pi, &mi, &vi, gi, step, inv, a.h);
    }
    a.p[i] = pi;
    a.m[i] = mi;
    a.v[i] = vi;
    return bad;
}

/* step t's constants into the table, read by later calls' replays */
__device__ __forceinline__ void adam_rows_tab(const adam_rows_args &a)
{
    if (a.g && blockIdx.x == 0 && threadIdx.x == 0) {
        a.tab[2 * (a.t - a.t0 - 1)] = a.here[0];
        a.tab[2 * (a.t - a.t0 - 1) + 1] = a.here[1];
    }
}

/* every row (the flush): element i of row j with nothing to replay is left alone */
__global__ void adam_rows_all_kernel(adam_rows_args a, int32_t *flag, int32_t tag)
{
    int bad = 0;
    adam_rows_tab(a);
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < a.n_rows * a.width;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t last = a.last[i / a.width];
        if (last < a.t)
            bad |= adam_rows_element(a, i, last);
    }
    flag_nonfinite(bad, flag, tag);
}

/* last[j] = t for every row (after adam_rows_all_kernel has read them) */
__global__ void adam_rows_last_kernel(int64_t *last, int64_t n_rows, int64_t t)
{
    for (int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < n_rows;
         j += (int64_t)gridDim.x * blockDim.x)
        last[j] = t;
}

/* Warp per listed row j = list[s], s < *count: lane 0 reads last[j] and sets it to t (the
 * other lanes get the old value by shuffle), the lanes take the row's elements. Nothing of
 * the rows not listed is read. */
__global__ void adam_rows_list_kernel(adam_rows_args a, const int32_t *list,
                                      const int32_t *count, int32_t *flag, int32_t tag)
{
    int bad = 0;
    adam_rows_tab(a);
    int64_t warp = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) / 32;
    int64_t n_warps = (int64_t)gridDim.x * blockDim.x / 32;
    int lane = threadIdx.x & 31;
    int32_t used = *count;
    for (int64_t s = warp; s < used; s += n_warps) {
        int64_t j = list[s], mine = 0;
        if (lane == 0) {
            mine = a.last[j];
            a.last[j] = a.t;
        }
        int64_t last = __shfl_sync(0xffffffffu, mine, 0);
        for (int64_t c = lane; c < a.width && last < a.t; c += 32)
            bad |= adam_rows_element(a, j * a.width + c, last);
    }
    flag_nonfinite(bad, flag, tag);
}

enum { ADAM_LIST_MAX_BLOCKS = 2048 };

void cu_adam_rows(kern *k, float *p, const float *g, float *m, float *v, int64_t n_rows,
                  int64_t width, const kern_colset *sel, int64_t *last, float *tab, int64_t t0,
                  int64_t t, int with_grad, const float here[2], double beta1, double beta2,
                  double eps, int32_t *nonfinite_flag, int32_t tag)
{
    cuda_state *st = cu_st(k);
    cu_prof_begin(k, CU_PROF_ADAM);
    adam_rows_args a;
    a.p = p; a.m = m; a.v = v;
    a.g = with_grad ? g : NULL;
    a.n_rows = n_rows; a.width = width;
    a.last = last; a.tab = tab;
    a.t0 = t0; a.t = t;
    a.here[0] = here[0]; a.here[1] = here[1];
    a.h = kf_adam_hyper_of(beta1, beta2, eps);
    if (!sel) {
        adam_rows_all_kernel<<<cu_blocks(n_rows * width, CU_MAX_BLOCKS), CU_THREADS, 0,
                               st->stream>>>(a, nonfinite_flag, tag);
        CUDA_LAUNCH_CHECK("adam_rows_all_kernel");
        adam_rows_last_kernel<<<cu_blocks(n_rows, CU_MAX_BLOCKS), CU_THREADS, 0, st->stream>>>(
            last, n_rows, t);
        CUDA_LAUNCH_CHECK("adam_rows_last_kernel");
    } else {
        const int32_t *list, *count;
        cu_colset_list(sel, &list, &count);
        int64_t blocks = (n_rows + CU_THREADS / 32 - 1) / (CU_THREADS / 32);   /* warp a row */
        if (blocks > (int64_t)ADAM_LIST_MAX_BLOCKS)
            blocks = ADAM_LIST_MAX_BLOCKS;
        adam_rows_list_kernel<<<(unsigned)blocks, CU_THREADS, 0, st->stream>>>(
            a, list, count, nonfinite_flag, tag);
        CUDA_LAUNCH_CHECK("adam_rows_list_kernel");
    }
    cu_prof_end(k, CU_PROF_ADAM);
}

__global__ void accumulate_kernel(double *acc, const float *x, int64_t n)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        acc[i] += x[i];
}

void cu_accumulate(kern *k, double *acc, const float *x, int64_t n)
{
    cu_prof_begin(k, CU_PROF_ELEMWISE);
    accumulate_kernel<<<cu_blocks(n, CU_MAX_BLOCKS), CU_THREADS, 0, cu_st(k)->stream>>>(acc, x,
                                                                                        n);
    CUDA_LAUNCH_CHECK("accumulate_kernel");
    cu_prof_end(k, CU_PROF_ELEMWISE);
}
