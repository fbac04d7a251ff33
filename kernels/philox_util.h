/* kernels/philox_util.h — Philox4x32-10 (Random123) blocks and their conversion to
 * uniforms, shared by the CPU and CUDA backends so both draw the same 32-bit integers.
 * Compiles as C11 and as CUDA (host and device). */
#ifndef BIVAE_PHILOX_UTIL_H
#define BIVAE_PHILOX_UTIL_H

#include <stdint.h>

#include <Random123/philox.h>

#ifdef __CUDACC__
#define PHILOX_FN __host__ __device__ static inline
#else
#define PHILOX_FN static inline
#endif

/* The 4 outputs of Philox4x32-10 for key {k0, k1} and counter {c0, c1, c2, c3}. */
PHILOX_FN void philox_block(uint32_t k0, uint32_t k1, uint32_t c0, uint32_t c1, uint32_t c2,
                            uint32_t c3, uint32_t out[4])
{
    philox4x32_ctr_t ctr = {{c0, c1, c2, c3}};
    philox4x32_key_t key = {{k0, k1}};
    philox4x32_ctr_t r = philox4x32_R(10, ctr, key);
    out[0] = r.v[0];
    out[1] = r.v[1];
    out[2] = r.v[2];
    out[3] = r.v[3];
}

/* Uniform in (0, 1]: 24 high bits, never 0 (safe for log). Exact in float. */
PHILOX_FN float philox_u01_open0(uint32_t x)
{
    return (float)(x >> 8) * (1.0f / 16777216.0f) + (1.0f / 16777216.0f);
}

/* Uniform in [0, 1): 24 high bits. Exact in float. */
PHILOX_FN float philox_u01(uint32_t x) { return (float)(x >> 8) * (1.0f / 16777216.0f); }

/* Counter words for (column block, id, ctr3). */
PHILOX_FN uint32_t philox_lo32(int64_t id) { return (uint32_t)((uint64_t)id & 0xffffffffu); }
PHILOX_FN uint32_t philox_hi32(int64_t id) { return (uint32_t)((uint64_t)id >> 32); }

#endif
