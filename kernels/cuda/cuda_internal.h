/* kernels/cuda/cuda_internal.h — private to the CUDA backend (included by .cu files only):
 * its state, the checked-call macros, grow-only scratch buffers, launch helpers, the
 * deterministic block reduction, and the ops implemented in the separate .cu files.
 *
 * Conventions of every op: queued on the backend's own stream, no host synchronization
 * (except download/upload/sync/alloc, whose semantics need it), every launch checked with
 * cudaGetLastError. Arithmetic in the kernels is compiled with --fmad=false so that a*b+c
 * rounds twice, as the CPU reference (ISO C, -ffp-contract=off) does. */
#ifndef BIVAE_KERN_CUDA_INTERNAL_H
#define BIVAE_KERN_CUDA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <cublas_v2.h>
#include <cuda_runtime.h>

/* common/check.h is C11 (<stdnoreturn.h>'s `noreturn` is not C++): give it the C++
 * spelling of the same attribute while it is read. */
#define noreturn [[noreturn]]
extern "C" {
#include "common/check.h"
#include "kernels/kern_impl.h"
}
#undef noreturn

/* ---- checked calls ------------------------------------------------------------------- */
const char *cu_blas_status_name(cublasStatus_t s);

#define CUDA_CHECK(call)                                                                   \
    do {                                                                                   \
        cudaError_t cu_err_ = (call);                                                      \
        if (cu_err_ != cudaSuccess)                                                        \
            FAIL_RUNTIME("%s failed: %s (%s)", #call, cudaGetErrorString(cu_err_),         \
                         cudaGetErrorName(cu_err_));                                       \
    } while (0)

#define CUBLAS_CHECK(call)                                                                 \
    do {                                                                                   \
        cublasStatus_t cu_st_ = (call);                                                    \
        if (cu_st_ != CUBLAS_STATUS_SUCCESS)                                               \
            FAIL_RUNTIME("%s failed: %s", #call, cu_blas_status_name(cu_st_));             \
    } while (0)

/* 1 when BIVAE_CUDA_SYNC_CHECK=1: every kernel launch and GEMM is waited for at once, so a
 * fault is reported against the kernel that caused it (debugging; slow). */
int cu_sync_check(void);

/* One more stream operation queued (kern_cuda_launches). */
void cu_count_launch(void);

/* Every memset and copy the backend queues is counted as well: in kernels/cuda/, after this
 * header, these names count and then call the runtime's function (a function-like macro
 * does not expand inside its own expansion; CUDA_CHECK's message keeps the call's text). */
#define cudaMemsetAsync(...) (cu_count_launch(), cudaMemsetAsync(__VA_ARGS__))
#define cudaMemcpyAsync(...) (cu_count_launch(), cudaMemcpyAsync(__VA_ARGS__))
#define cudaMemcpy2DAsync(...) (cu_count_launch(), cudaMemcpy2DAsync(__VA_ARGS__))

/* After every kernel launch: a bad configuration is reported here, with the kernel name
 * (and with BIVAE_CUDA_SYNC_CHECK=1, a fault during the kernel too); the launch is counted. */
#define CUDA_LAUNCH_CHECK(kernel_name)                                                     \
    do {                                                                                   \
        cu_count_launch();                                                                 \
        cudaError_t cu_err_ = cudaGetLastError();                                          \
        if (cu_err_ == cudaSuccess && cu_sync_check())                                     \
            cu_err_ = cudaDeviceSynchronize();                                             \
        if (cu_err_ != cudaSuccess)                                                        \
            FAIL_RUNTIME("launch of %s failed: %s (%s)", kernel_name,                      \
                         cudaGetErrorString(cu_err_), cudaGetErrorName(cu_err_));          \
    } while (0)

/* ---- state --------------------------------------------------------------------------- */

/* Op classes timed by the optional profiler (see cuda_profile.h). */
typedef enum {
    CU_PROF_GEMM = 0, CU_PROF_SPARSE, CU_PROF_LIK, CU_PROF_ELEMWISE, CU_PROF_ADAM,
    CU_PROF_RNG, CU_PROF_MEMORY, CU_PROF_TOPK, CU_PROF_N_CLASSES
} cu_prof_class;

typedef struct cu_prof cu_prof;   /* cuda_profile.cu */

typedef struct cu_scratch {      /* a grow-only device buffer */
    void *p;
    size_t bytes;
} cu_scratch;

typedef struct cuda_state {
    int device;                  /* ordinal among the visible devices */
    cudaStream_t stream;         /* every op of this backend runs here */
    cublasHandle_t blas;         /* bound to `stream` */
    kern_gemm_math math;
    cu_scratch bitmap;           /* CSR membership bitmaps (lik, csr_t_matmul_add, top-K) */
    cu_scratch partials;         /* per-block double partial sums (loss reductions) */
    cu_scratch topk_buf;         /* top-K candidate keys */
    cu_scratch copy_tmp;         /* overlapping kern_copy */
    cu_prof *prof;               /* NULL unless profiling */
} cuda_state;

static inline cuda_state *cu_st(kern *k) { return (cuda_state *)k->impl; }

/* >= bytes of device memory, reused between calls. Growing first waits for the backend's
 * stream, so no queued kernel still uses the old buffer when it is freed. */
void *cu_scratch_get(kern *k, cu_scratch *s, size_t bytes);

/* ---- profiling (no-ops unless kern_cuda_profile_start was called) -------------------- */
void cu_prof_begin(kern *k, cu_prof_class c);
void cu_prof_end(kern *k, cu_prof_class c);
/* The shape of the GEMM between the open class's begin and end (C[M × N], inner K). */
void cu_prof_gemm_shape(kern *k, int64_t M, int64_t N, int64_t K);

/* ---- launch helpers ------------------------------------------------------------------ */
enum { CU_THREADS = 256 };       /* threads per block of the element-wise kernels */

/* Blocks for n elements at CU_THREADS per block, at most `cap` (kernels grid-stride). */
static inline unsigned cu_blocks(int64_t n, int64_t cap)
{
    int64_t b = (n + CU_THREADS - 1) / CU_THREADS;
    if (b < 1)
        b = 1;
    return (unsigned)(b < cap ? b : cap);
}
enum { CU_MAX_BLOCKS = 65535 * 4 };

/* ---- deterministic block reduction --------------------------------------------------- */
/* Sum of v over the block (blockDim.x a multiple of 32, <= 1024), in a fixed order: every
 * warp by shuffles, then warp 0 over the warp sums. The result is valid in thread 0. */
__device__ __forceinline__ double cu_block_sum(double v)
{
    __shared__ double warp_sums[32];
    for (int off = 16; off > 0; off >>= 1)
        v += __shfl_down_sync(0xffffffffu, v, off);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, n_warps = blockDim.x >> 5;
    if (lane == 0)
        warp_sums[warp] = v;
    __syncthreads();
    double s = 0.0;
    if (warp == 0) {
        s = lane < n_warps ? warp_sums[lane] : 0.0;
        for (int off = 16; off > 0; off >>= 1)
            s += __shfl_down_sync(0xffffffffu, s, off);
    }
    __syncthreads();   /* warp_sums may be reused by the caller's next reduction */
    return s;
}

/* *loss_acc += (float)(factor · Σ partials[0 .. n)), the sum in index order (one block). */
void cu_finish_loss(kern *k, const double *partials, int64_t n, double factor, float *loss_acc);

/* ---- CSR membership bitmaps (cuda_sparse.cu) ----------------------------------------- */
/* Row-major bitmap of rows [r0, r0 + nrows) of X: bm[(r − r0) · words + c / 32] bit c % 32
 * is set iff column c is a one of row r. words = ceil(X.ncols / 32). Columns outside
 * [0, X.ncols) are ignored. Returned buffer is scratch (valid until the next call). */
uint32_t *cu_row_bitmap(kern *k, kern_csr X, int64_t r0, int64_t nrows, int64_t words);

/* ---- ops of the separate files ------------------------------------------------------- */
/* cuda_dense.cu */
void cu_add_bias(kern *k, float *Y, const float *b, int64_t m, int64_t n);
void cu_scale(kern *k, float *x, int64_t n, float alpha);
void cu_fill(kern *k, float *x, int64_t n, float value);
void cu_rows_cyclic_from_blocked(kern *k, float *dst, const float *src, int64_t n_rows,
                                 int64_t width, int P);
void cu_colsum_add(kern *k, const float *G, int64_t m, int64_t n, float *g);
void cu_act_forward(kern *k, kern_act f, const float *a, float *h, int64_t n);
void cu_act_backward(kern *k, kern_act f, const float *a, const float *h, float *G, int64_t n);
void cu_gaussian_sample(kern *k, const float *pre, const float *eps, int64_t m, int64_t K,
                        float *mu, float *sigma, float *z);
void cu_gaussian_kl_backward(kern *k, const float *mu, const float *sigma, const float *eps,
                             const float *prior, const float *G_z, int64_t m, int64_t K,
                             float lambda, float scale, float *G_pre, float *G_prior,
                             float *loss_acc);
void cu_adam(kern *k, float *p, const float *g, float *m, float *v, int64_t n, double lr,
             double beta1, double beta2, double eps, int64_t t, int32_t *nonfinite_flag,
             int32_t tag);
void cu_adam_rows(kern *k, float *p, const float *g, float *m, float *v, int64_t n_rows,
                  int64_t width, const kern_colset *sel, int64_t *last, float *tab, int64_t t0,
                  int64_t t, int with_grad, const float here[2], double beta1, double beta2,
                  double eps, int32_t *nonfinite_flag, int32_t tag);
void cu_find_nonfinite(kern *k, const float *x, int64_t n, int32_t *flag, int32_t tag);
void cu_accumulate(kern *k, double *acc, const float *x, int64_t n);
/* cuda_sparse.cu */
void cu_csr_matmul_bias(kern *k, kern_csr X, const float *W, const float *b, int64_t n,
                        float *Y);
void cu_csr_t_matmul_add(kern *k, kern_csr X, const float *G_Y, int64_t n, float *G_W);
void *cu_colset_create(kern *k, int64_t ncols, int64_t max_nrows);
void cu_colset_free(kern *k, void *impl);
void cu_colset_build(kern *k, kern_colset *cs, kern_csr X);
void cu_zero_rows_of_cols(kern *k, float *G, int64_t width, const kern_colset *cs);
void cu_colset_t_matmul_add(kern *k, const kern_colset *cs, const float *G_Y, int64_t n,
                            float *G_W);
/* the listed columns list[0 .. *count) of a set, both in device memory (adam_rows) */
void cu_colset_list(const kern_colset *cs, const int32_t **list, const int32_t **count);
/* cuda_lik.cu */
void cu_sigmoid_lik_loss_grad(kern *k, kern_lik lik, float *Z, kern_csr X, float scale,
                              float *loss_acc);
/* cuda_rng.cu */
void cu_philox_normal(kern *k, float *out, int64_t rows, int64_t cols, uint32_t key0,
                      uint32_t key1, uint32_t ctr3, int64_t id0, int64_t id_stride);
void cu_philox_uniform(kern *k, float *out, int64_t rows, int64_t cols, uint32_t key0,
                       uint32_t key1, uint32_t ctr3, int64_t id0, int64_t id_stride, float lo,
                       float hi);
/* cuda_topk.cu */
void cu_topk_excluding(kern *k, const float *S, int64_t m, int64_t n, kern_csr exclude,
                       int top_k, int32_t *idx, float *val);

#endif
