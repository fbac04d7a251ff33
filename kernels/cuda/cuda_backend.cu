/* kernels/cuda/cuda_backend.cu — the CUDA backend: device discovery, lifetime, memory,
 * GEMM (cuBLAS), scratch buffers, the loss-sum finisher and the ops table. The other ops
 * live in cuda_dense.cu, cuda_sparse.cu, cuda_lik.cu, cuda_rng.cu and cuda_topk.cu. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/cuda_internal.h"
#include "kernels/cuda/cuda_profile.h"

/* ---- checked-call support ------------------------------------------------------------ */

const char *cu_blas_status_name(cublasStatus_t s)
{
    switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: return "unknown cuBLAS status";
    }
}

int cu_sync_check(void)
{
    static int on = -1;
    if (on < 0) {
        const char *e = getenv("BIVAE_CUDA_SYNC_CHECK");
        on = e && !strcmp(e, "1");
    }
    return on;
}

/* ---- the launch counter (kern_cuda_launches) ----------------------------------------- */

static int64_t cu_launches;   /* process-wide; atomic: a watchdog thread may exist */

void cu_count_launch(void) { __atomic_fetch_add(&cu_launches, 1, __ATOMIC_RELAXED); }

void *cu_scratch_get(kern *k, cu_scratch *s, size_t bytes)
{
    if (s->bytes >= bytes && s->p)
        return s->p;
    CUDA_CHECK(cudaSetDevice(cu_st(k)->device));   /* allocations go to the current device */
    if (s->p) {
        CUDA_CHECK(cudaStreamSynchronize(cu_st(k)->stream));
        CUDA_CHECK(cudaFree(s->p));
    }
    s->p = NULL;
    s->bytes = 0;
    size_t want = bytes + bytes / 4 + 256;   /* headroom: fewer regrowths */
    CUDA_CHECK(cudaMalloc(&s->p, want));
    s->bytes = want;
    return s->p;
}

static void cu_scratch_free(cu_scratch *s)
{
    if (s->p)
        CUDA_CHECK(cudaFree(s->p));
    s->p = NULL;
    s->bytes = 0;
}

/* ---- the loss-sum finisher ----------------------------------------------------------- */

/* One block: Σ partials in a fixed order (thread t sums t, t+T, t+2T, ...; then the block
 * reduction), then the float in device memory gets the rounded total. */
__global__ void finish_loss_kernel(const double *partials, int64_t n, double factor,
                                   float *loss_acc)
{
    double s = 0.0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
        s += partials[i];
    s = cu_block_sum(s);
    if (threadIdx.x == 0)
        *loss_acc += (float)(factor * s);
}

void cu_finish_loss(kern *k, const double *partials, int64_t n, double factor, float *loss_acc)
{
    finish_loss_kernel<<<1, 1024, 0, cu_st(k)->stream>>>(partials, n, factor, loss_acc);
    CUDA_LAUNCH_CHECK("finish_loss_kernel");
}

/* ---- lifetime and memory ------------------------------------------------------------- */

static void cu_destroy(kern *k)
{
    cuda_state *st = cu_st(k);
    CUDA_CHECK(cudaStreamSynchronize(st->stream));
    kern_cuda_profile_free(k);
    cu_scratch_free(&st->bitmap);
    cu_scratch_free(&st->partials);
    cu_scratch_free(&st->topk_buf);
    cu_scratch_free(&st->copy_tmp);
    CUBLAS_CHECK(cublasDestroy(st->blas));
    CUDA_CHECK(cudaStreamDestroy(st->stream));
    free(st);
    free(k);
}

/* cudaMalloc, then zero-filled on the stream and waited for, so the memory is ready for any
 * stream (and for NCCL) when alloc returns. Not on the per-step path. */
static void *cu_alloc(kern *k, size_t bytes)
{
    cuda_state *st = cu_st(k);
    void *p = NULL;
    size_t rounded = bytes ? (bytes + 255) / 256 * 256 : 256;
    CUDA_CHECK(cudaSetDevice(st->device));   /* allocations go to the current device */
    cudaError_t err = cudaMalloc(&p, rounded);
    if (err != cudaSuccess)
        FAIL_RUNTIME("cudaMalloc of %zu bytes on device %d failed: %s", bytes, st->device,
                     cudaGetErrorString(err));
    CUDA_CHECK(cudaMemsetAsync(p, 0, rounded, st->stream));
    CUDA_CHECK(cudaStreamSynchronize(st->stream));
    return p;
}

/* Waits for the stream first: queued ops may still use p. Not on the per-step path. */
static void cu_free(kern *k, void *p)
{
    CUDA_CHECK(cudaSetDevice(cu_st(k)->device));
    CUDA_CHECK(cudaStreamSynchronize(cu_st(k)->stream));
    CUDA_CHECK(cudaFree(p));
}

static void cu_zero(kern *k, void *p, size_t bytes)
{
    cu_prof_begin(k, CU_PROF_MEMORY);
    CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, cu_st(k)->stream));
    cu_prof_end(k, CU_PROF_MEMORY);
}

/* memmove semantics, as the CPU's: overlapping ranges go through a scratch buffer
 * (cudaMemcpy does not allow overlap). */
static void cu_copy(kern *k, void *dst, const void *src, size_t bytes)
{
    cuda_state *st = cu_st(k);
    const char *d = (const char *)dst, *s = (const char *)src;
    cu_prof_begin(k, CU_PROF_MEMORY);
    if (d != s && d < s + bytes && s < d + bytes) {
        void *tmp = cu_scratch_get(k, &st->copy_tmp, bytes);
        CUDA_CHECK(cudaMemcpyAsync(tmp, src, bytes, cudaMemcpyDeviceToDevice, st->stream));
        src = tmp;
    }
    if (d != s)
        CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, st->stream));
    cu_prof_end(k, CU_PROF_MEMORY);
}

/* strided rows, device to device: one 2-D copy */
static void cu_copy_rows(kern *k, float *dst, int64_t dst_stride, const float *src,
                         int64_t src_stride, int64_t rows, int64_t width)
{
    cuda_state *st = cu_st(k);
    cu_prof_begin(k, CU_PROF_MEMORY);
    CUDA_CHECK(cudaMemcpy2DAsync(dst, sizeof(float) * (size_t)dst_stride, src,
                                 sizeof(float) * (size_t)src_stride,
                                 sizeof(float) * (size_t)width, (size_t)rows,
                                 cudaMemcpyDeviceToDevice, st->stream));
    cu_prof_end(k, CU_PROF_MEMORY);
}

/* Complete on return: the caller may reuse host_src at once. Ordered after queued work. */
static void cu_upload(kern *k, void *dst, const void *host_src, size_t bytes)
{
    cuda_state *st = cu_st(k);
    cu_prof_begin(k, CU_PROF_MEMORY);
    CUDA_CHECK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, st->stream));
    cu_prof_end(k, CU_PROF_MEMORY);
    CUDA_CHECK(cudaStreamSynchronize(st->stream));
}

/* Complete on return: the caller reads host_dst right after. */
static void cu_download(kern *k, void *host_dst, const void *src, size_t bytes)
{
    cuda_state *st = cu_st(k);
    cu_prof_begin(k, CU_PROF_MEMORY);
    CUDA_CHECK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, st->stream));
    cu_prof_end(k, CU_PROF_MEMORY);
    CUDA_CHECK(cudaStreamSynchronize(st->stream));
}

static void cu_sync(kern *k) { CUDA_CHECK(cudaStreamSynchronize(cu_st(k)->stream)); }

/* ---- GEMM ---------------------------------------------------------------------------- */

static int blas_int(int64_t v, const char *what)
{
    if (v < 0 || v > INT32_MAX)
        FAIL_RUNTIME("cublasGemmEx: %s = %lld does not fit cuBLAS's int", what, (long long)v);
    return (int)v;
}

static cublasComputeType_t compute_type(kern_gemm_math m)
{
    switch (m) {
    case KERN_GEMM_TF32: return CUBLAS_COMPUTE_32F_FAST_TF32;
    case KERN_GEMM_BF16: return CUBLAS_COMPUTE_32F_FAST_16BF;
    default: return CUBLAS_COMPUTE_32F;
    }
}

/* C[M × N] (row stride ldc) = β·C, or 0 when β = 0 (BLAS: C is not read then). */
__global__ void scale_matrix_kernel(float *C, int64_t M, int64_t N, int64_t ldc, float beta)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < M * N;
         i += (int64_t)gridDim.x * blockDim.x) {
        float *c = C + (i / N) * ldc + i % N;
        *c = beta == 0.0f ? 0.0f : beta * *c;
    }
}

/* Row-major C = α op(A) op(B) + β C is column-major Cᵀ = α op(B)ᵀ op(A)ᵀ + β Cᵀ: the same
 * buffers with the operands swapped and M, N exchanged; the transpose flags stay. */
static void cu_gemm(kern *k, kern_trans ta, kern_trans tb, int64_t M, int64_t N, int64_t K,
                    float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                    float beta, float *C, int64_t ldc)
{
    cuda_state *st = cu_st(k);
    cublasOperation_t opA = ta == KERN_TRANS ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasOperation_t opB = tb == KERN_TRANS ? CUBLAS_OP_T : CUBLAS_OP_N;
    cu_prof_begin(k, CU_PROF_GEMM);
    cu_prof_gemm_shape(k, M, N, K);
    if (K == 0) {   /* an empty sum: C = β·C, without relying on cuBLAS for k = 0 */
        scale_matrix_kernel<<<cu_blocks(M * N, CU_MAX_BLOCKS), CU_THREADS, 0, st->stream>>>(
            C, M, N, ldc, beta);
        CUDA_LAUNCH_CHECK("scale_matrix_kernel");
        cu_prof_end(k, CU_PROF_GEMM);
        return;
    }
    cu_count_launch();   /* one cuBLAS call (one or more kernels inside) */
    CUBLAS_CHECK(cublasGemmEx(st->blas, opB, opA, blas_int(N, "N"), blas_int(M, "M"),
                              blas_int(K, "K"), &alpha, B, CUDA_R_32F, blas_int(ldb, "ldb"), A,
                              CUDA_R_32F, blas_int(lda, "lda"), &beta, C, CUDA_R_32F,
                              blas_int(ldc, "ldc"), compute_type(st->math),
                              CUBLAS_GEMM_DEFAULT));
    if (cu_sync_check())
        CUDA_CHECK(cudaDeviceSynchronize());
    cu_prof_end(k, CU_PROF_GEMM);
}

/* ---- the table ----------------------------------------------------------------------- */

static const kern_ops cuda_ops = {
    /* .name = */ "cuda",
    /* .device = */ KERN_DEVICE_CUDA,
    /* .destroy = */ cu_destroy,
    /* .alloc = */ cu_alloc,
    /* .free = */ cu_free,
    /* .zero = */ cu_zero,
    /* .copy = */ cu_copy,
    /* .upload = */ cu_upload,
    /* .download = */ cu_download,
    /* .sync = */ cu_sync,
    /* .gemm = */ cu_gemm,
    /* .add_bias = */ cu_add_bias,
    /* .scale = */ cu_scale,
    /* .fill = */ cu_fill,
    /* .rows_cyclic_from_blocked = */ cu_rows_cyclic_from_blocked,
    /* .copy_rows = */ cu_copy_rows,
    /* .colsum_add = */ cu_colsum_add,
    /* .csr_matmul_bias = */ cu_csr_matmul_bias,
    /* .csr_t_matmul_add = */ cu_csr_t_matmul_add,
    /* .colset_create = */ cu_colset_create,
    /* .colset_free = */ cu_colset_free,
    /* .colset_build = */ cu_colset_build,
    /* .zero_rows_of_cols = */ cu_zero_rows_of_cols,
    /* .colset_t_matmul_add = */ cu_colset_t_matmul_add,
    /* .act_forward = */ cu_act_forward,
    /* .act_backward = */ cu_act_backward,
    /* .gaussian_sample = */ cu_gaussian_sample,
    /* .gaussian_kl_backward = */ cu_gaussian_kl_backward,
    /* .sigmoid_lik_loss_grad = */ cu_sigmoid_lik_loss_grad,
    /* .philox_normal = */ cu_philox_normal,
    /* .philox_uniform = */ cu_philox_uniform,
    /* .adam = */ cu_adam,
    /* .adam_rows = */ cu_adam_rows,
    /* .find_nonfinite = */ cu_find_nonfinite,
    /* .accumulate = */ cu_accumulate,
    /* .topk_excluding = */ cu_topk_excluding,
};

/* ---- discovery and creation ---------------------------------------------------------- */

static void put_reason(char *buf, size_t len, const char *fmt, const char *what)
{
    if (buf && len)
        snprintf(buf, len, fmt, what);
}

/* "13.0" of a CUDA version number (1000 * major + 10 * minor) into buf[16]. */
static const char *cuda_version_text(int v, char *buf)
{
    snprintf(buf, 16, "%d.%d", v / 1000, v % 1000 / 10);
    return buf;
}

/* Why no device can be used, in words a user can act on: the runtime says "CUDA driver
 * version is insufficient for CUDA runtime version" also where there is no driver at all.
 * The runtime's own text stays in parentheses where it says more. */
static void no_device_reason(cudaError_t err, char *reason, size_t len)
{
    int driver = 0, runtime = 0;
    char dv[16], rv[16];
    const char *visible = getenv("CUDA_VISIBLE_DEVICES");
    if (!reason || !len)
        return;
    if (err == cudaErrorInsufficientDriver && cudaDriverGetVersion(&driver) == cudaSuccess &&
        driver > 0 && cudaRuntimeGetVersion(&runtime) == cudaSuccess)
        snprintf(reason, len, "the NVIDIA driver (CUDA %s) is older than this build's CUDA "
                 "runtime %s: update the driver (%s)", cuda_version_text(driver, dv),
                 cuda_version_text(runtime, rv), cudaGetErrorString(err));
    else if (err == cudaErrorNoDevice && visible)
        snprintf(reason, len, "no NVIDIA driver / no GPU found (CUDA_VISIBLE_DEVICES=\"%s\")",
                 visible);
    else if (err == cudaErrorInsufficientDriver || err == cudaErrorNoDevice ||
             err == cudaSuccess)
        snprintf(reason, len, "no NVIDIA driver / no GPU found");
    else
        snprintf(reason, len, "no usable GPU (%s: %s)", cudaGetErrorName(err),
                 cudaGetErrorString(err));
}

extern "C" int kern_cuda_device_count(char *reason, size_t reason_len)
{
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess || n <= 0) {
        no_device_reason(err, reason, reason_len);
        (void)cudaGetLastError();   /* not sticky, but leave no error behind */
        return 0;
    }
    put_reason(reason, reason_len, "%s", "");
    return n;
}

/* Creates the stream and the cuBLAS handle on `ordinal`; 0, or -1 with err filled. */
static int cu_state_init(cuda_state *st, int ordinal, kern_gemm_math math, char *err,
                         size_t err_len)
{
    cudaError_t e = cudaSetDevice(ordinal);
    if (e == cudaSuccess)
        e = cudaStreamCreateWithFlags(&st->stream, cudaStreamNonBlocking);
    if (e != cudaSuccess) {
        if (err && err_len)
            snprintf(err, err_len, "device %d: %s", ordinal, cudaGetErrorString(e));
        (void)cudaGetLastError();
        return -1;
    }
    cublasStatus_t s = cublasCreate(&st->blas);
    if (s != CUBLAS_STATUS_SUCCESS) {
        if (err && err_len)
            snprintf(err, err_len, "cublasCreate on device %d: %s", ordinal,
                     cu_blas_status_name(s));
        CUDA_CHECK(cudaStreamDestroy(st->stream));
        return -1;
    }
    CUBLAS_CHECK(cublasSetStream(st->blas, st->stream));
    /* FP32 stays FP32 (no implicit TF32); tf32/bf16 are requested per call. */
    CUBLAS_CHECK(cublasSetMathMode(st->blas, CUBLAS_DEFAULT_MATH));
    st->device = ordinal;
    st->math = math;
    return 0;
}

extern "C" void *kern_cuda_stream(kern *k)
{
    return k && k->ops == &cuda_ops ? (void *)((cuda_state *)k->impl)->stream : NULL;
}

extern "C" int64_t kern_cuda_launches(const kern *k)
{
    if (!k || k->ops != &cuda_ops)
        return 0;
    return __atomic_load_n(&cu_launches, __ATOMIC_RELAXED);
}

extern "C" kern *kern_cuda_create(int ordinal, kern_gemm_math math, char *err, size_t err_len)
{
    char reason[256];
    int n = kern_cuda_device_count(reason, sizeof(reason));
    if (n == 0) {
        put_reason(err, err_len, "%s", reason);
        return NULL;
    }
    if (ordinal < 0 || ordinal >= n) {
        if (err && err_len)
            snprintf(err, err_len, "device ordinal %d out of range: %d visible device(s)",
                     ordinal, n);
        return NULL;
    }
    if (math != KERN_GEMM_FP32 && math != KERN_GEMM_TF32 && math != KERN_GEMM_BF16) {
        put_reason(err, err_len, "%s", "unknown GEMM math");
        return NULL;
    }
    cuda_state *st = (cuda_state *)xcalloc(1, sizeof(cuda_state));
    if (cu_state_init(st, ordinal, math, err, err_len) != 0) {
        free(st);
        return NULL;
    }
    kern *k = (kern *)xcalloc(1, sizeof(kern));
    k->ops = &cuda_ops;
    k->impl = st;
    return k;
}
