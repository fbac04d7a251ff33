/* kernels/cuda/cuda_math.h — the CUDA backend's transcendental functions (CUDA's own expf,
 * logf, tanhf, expm1f, accurate to their documented ulps) and, built on them, the
 * element-wise formulas of kernels/kern_formulas.h. Private to the CUDA backend (.cu files). */
#ifndef BIVAE_KERN_CUDA_MATH_H
#define BIVAE_KERN_CUDA_MATH_H

#include <math.h>

#include <cuda_runtime.h>

/* The exponent is clamped as the CPU's fast_expf clamps it, so σ never reaches 0 or 1 exactly
 * (log σ and 1/σ stay finite in the KL term). */
static __host__ __device__ __forceinline__ float cu_sigmoidf(float z)
{
    return 1.0f / (1.0f + expf(fminf(fmaxf(-z, -87.0f), 88.0f)));
}

/* The primitives of kernels/kern_formulas.h in this backend. */
#define KF_SIGMOIDF cu_sigmoidf
#define KF_LOGF logf
#define KF_TANHF tanhf
#define KF_EXPM1F expm1f
#include "kernels/kern_formulas.h"

#endif
