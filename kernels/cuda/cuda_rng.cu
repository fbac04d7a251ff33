/* kernels/cuda/cuda_rng.cu — Philox4x32-10 normals and uniforms with the counter layout of
 * kernels.h: row r, column c → counter {c / 4, lo32(id), hi32(id), ctr3}, id = id0 + r ·
 * id_stride, key {key0, key1}, output c % 4. One thread per counter (4 outputs). The 32-bit
 * integers come from philox_util.h (Random123), the same code as the CPU's, so they are
 * identical; uniforms are then bitwise equal (same float expression, --fmad=false) and
 * normals (Box–Muller in float with logf and sincospif) equal to the CPU's to a few ulp. */
#include <math.h>

#include "kernels/cuda/cuda_internal.h"
#include "kernels/philox_util.h"

typedef struct rng_args {
    float *out;                 /* [rows × cols] */
    int64_t rows, cols, nb;     /* nb = ceil(cols / 4) counters per row */
    uint32_t key0, key1, ctr3;
    int64_t id0, id_stride;
    float lo, hi;               /* uniform only */
} rng_args;

/* The 4 Philox outputs of counter i (row i / nb, block i % nb); *row and *c set. */
__device__ __forceinline__ void rng_block(const rng_args &a, int64_t i, int64_t *row,
                                          int64_t *c, uint32_t o[4])
{
    int64_t r = i / a.nb, c4 = i % a.nb;
    int64_t id = a.id0 + r * a.id_stride;
    philox_block(a.key0, a.key1, (uint32_t)c4, philox_lo32(id), philox_hi32(id), a.ctr3, o);
    *row = r;
    *c = 4 * c4;
}

__device__ __forceinline__ void rng_store(const rng_args &a, int64_t r, int64_t c,
                                          const float v[4])
{
    float *dst = a.out + r * a.cols + c;
#pragma unroll
    for (int j = 0; j < 4; j++)
        if (c + j < a.cols)
            dst[j] = v[j];
}

/* ρ cos 2πu1, ρ sin 2πu1 with ρ = sqrt(−2 ln u0): u0 in (0, 1], u1 in [0, 1). */
__device__ __forceinline__ void box_muller(uint32_t a, uint32_t b, float *x, float *y)
{
    float rho = sqrtf(-2.0f * logf(philox_u01_open0(a)));
    float s, c;
    sincospif(2.0f * philox_u01(b), &s, &c);
    *x = rho * c;
    *y = rho * s;
}

__global__ void philox_normal_kernel(rng_args a)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < a.rows * a.nb;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t r, c;
        uint32_t o[4];
        float v[4];
        rng_block(a, i, &r, &c, o);
        box_muller(o[0], o[1], &v[0], &v[1]);
        box_muller(o[2], o[3], &v[2], &v[3]);
        rng_store(a, r, c, v);
    }
}

__global__ void philox_uniform_kernel(rng_args a)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < a.rows * a.nb;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t r, c;
        uint32_t o[4];
        float v[4];
        rng_block(a, i, &r, &c, o);
#pragma unroll
        for (int j = 0; j < 4; j++)
            v[j] = a.lo + (a.hi - a.lo) * philox_u01(o[j]);
        rng_store(a, r, c, v);
    }
}

static rng_args make_args(float *out, int64_t rows, int64_t cols, uint32_t key0, uint32_t key1,
                          uint32_t ctr3, int64_t id0, int64_t id_stride, float lo, float hi)
{
    rng_args a = {out, rows, cols, (cols + 3) / 4, key0, key1, ctr3, id0, id_stride, lo, hi};
    return a;
}

void cu_philox_normal(kern *k, float *out, int64_t rows, int64_t cols, uint32_t key0,
                      uint32_t key1, uint32_t ctr3, int64_t id0, int64_t id_stride)
{
    rng_args a = make_args(out, rows, cols, key0, key1, ctr3, id0, id_stride, 0.0f, 0.0f);
    cu_prof_begin(k, CU_PROF_RNG);
    philox_normal_kernel<<<cu_blocks(rows * a.nb, CU_MAX_BLOCKS), CU_THREADS, 0,
                           cu_st(k)->stream>>>(a);
    CUDA_LAUNCH_CHECK("philox_normal_kernel");
    cu_prof_end(k, CU_PROF_RNG);
}

void cu_philox_uniform(kern *k, float *out, int64_t rows, int64_t cols, uint32_t key0,
                       uint32_t key1, uint32_t ctr3, int64_t id0, int64_t id_stride, float lo,
                       float hi)
{
    rng_args a = make_args(out, rows, cols, key0, key1, ctr3, id0, id_stride, lo, hi);
    cu_prof_begin(k, CU_PROF_RNG);
    philox_uniform_kernel<<<cu_blocks(rows * a.nb, CU_MAX_BLOCKS), CU_THREADS, 0,
                            cu_st(k)->stream>>>(a);
    CUDA_LAUNCH_CHECK("philox_uniform_kernel");
    cu_prof_end(k, CU_PROF_RNG);
}
