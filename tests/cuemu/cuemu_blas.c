/* tests/cuemu/cuemu_blas.c — cuemu's cublasGemmEx on the CPU: column-major
 * C[m × n] = α op(A) op(B) + β C with cuBLAS's argument rules (leading dimensions, operand
 * memory on the device), C not read when β = 0. Reference loops, exact to fp32 rounding
 * (double accumulation); FAST_TF32 / FAST_16BF round each operand element to the 10-bit /
 * 7-bit mantissa first (round to nearest, ties away), as the tensor-core paths see them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cublas_v2.h"

struct cuemu_blas {
    cudaStream_t stream;
    cublasMath_t math;
};

cublasStatus_t cublasCreate(cublasHandle_t *h)
{
    int n = 0;
    if (!h)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
        (void)cudaGetLastError();
        return CUBLAS_STATUS_NOT_INITIALIZED;
    }
    *h = calloc(1, sizeof(**h));
    return *h ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_ALLOC_FAILED;
}

cublasStatus_t cublasDestroy(cublasHandle_t h)
{
    if (!h)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    free(h);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s)
{
    if (!h)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    h->stream = s;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t mode)
{
    if (!h)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    h->math = mode;
    return CUBLAS_STATUS_SUCCESS;
}

/* x rounded to `keep` mantissa bits (round to nearest, ties away from zero) */
static float round_mantissa(float x, int keep)
{
    if (!isfinite(x))
        return x;
    unsigned u;
    memcpy(&u, &x, sizeof(u));
    int drop = 23 - keep;
    u += 1u << (drop - 1);
    u &= ~((1u << drop) - 1u);
    memcpy(&x, &u, sizeof(u));
    return x;
}

static float operand(const float *M, int ld, int r, int c, int trans, int keep)
{
    float v = trans ? M[(size_t)c + (size_t)r * (size_t)ld] : M[(size_t)r + (size_t)c * (size_t)ld];
    return keep < 23 ? round_mantissa(v, keep) : v;
}

/* every element of an operand stored with leading dimension ld, rows × cols as stored */
static int on_device(const void *p, int ld, int rows, int cols, size_t elem)
{
    if (rows == 0 || cols == 0)
        return 1;
    size_t last = ((size_t)(cols - 1) * (size_t)ld + (size_t)rows) * elem;
    return cuemu_is_device_pointer(p) && cuemu_is_device_pointer((const char *)p + last - 1);
}

cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t transa,
                            cublasOperation_t transb, int m, int n, int k, const void *alpha,
                            const void *A, cudaDataType Atype, int lda, const void *B,
                            cudaDataType Btype, int ldb, const void *beta, void *C,
                            cudaDataType Ctype, int ldc, cublasComputeType_t computeType,
                            cublasGemmAlgo_t algo)
{
    (void)algo;
    if (!h)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    cuemu_stream_order(h->stream, "cublasGemmEx");
    int ta = transa != CUBLAS_OP_N, tb = transb != CUBLAS_OP_N;
    int a_rows = ta ? k : m, a_cols = ta ? m : k, b_rows = tb ? n : k, b_cols = tb ? k : n;
    if (m < 0 || n < 0 || k < 0 || lda < (a_rows > 1 ? a_rows : 1) ||
        ldb < (b_rows > 1 ? b_rows : 1) || ldc < (m > 1 ? m : 1) || !alpha || !beta)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (Atype != CUDA_R_32F || Btype != CUDA_R_32F || Ctype != CUDA_R_32F)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    int keep;
    switch (computeType) {
    case CUBLAS_COMPUTE_32F: case CUBLAS_COMPUTE_32F_PEDANTIC: keep = 23; break;
    case CUBLAS_COMPUTE_32F_FAST_TF32: keep = 10; break;
    case CUBLAS_COMPUTE_32F_FAST_16BF: keep = 7; break;
    default: return CUBLAS_STATUS_NOT_SUPPORTED;
    }
    if (h->math == CUBLAS_TF32_TENSOR_OP_MATH && keep > 10)
        keep = 10;   /* the handle's mode allows TF32 for fp32 compute */
    if (m == 0 || n == 0)
        return CUBLAS_STATUS_SUCCESS;
    if (!on_device(C, ldc, m, n, 4) || (k > 0 && (!on_device(A, lda, a_rows, a_cols, 4) ||
                                                   !on_device(B, ldb, b_rows, b_cols, 4)))) {
        fprintf(stderr, "cuemu: cublasGemmEx operand outside device memory (or its extent "
                "m=%d n=%d k=%d lda=%d ldb=%d ldc=%d past its allocation)\n", m, n, k, lda, ldb,
                ldc);
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    float al = *(const float *)alpha, be = *(const float *)beta;
    const float *a = A, *b = B;
    float *c = C;
    cuemu_host_access_begin(C, 0);
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double s = 0.0;
            for (int p = 0; p < k; p++)
                s += (double)operand(a, lda, i, p, ta, keep) * operand(b, ldb, p, j, tb, keep);
            float *cij = &c[(size_t)i + (size_t)j * (size_t)ldc];
            *cij = be == 0.0f ? (float)(al * s) : (float)(al * s + (double)be * *cij);
        }
    cuemu_host_access_end(C, 0);
    return CUBLAS_STATUS_SUCCESS;
}
