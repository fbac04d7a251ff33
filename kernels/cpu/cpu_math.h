/* kernels/cpu/cpu_math.h — float exp, log, tanh, sin/cos written so that loops over them
 * vectorize (no libm calls, no branches): range reduction + short polynomials, each
 * accurate to a few ulp over the range the kernels use; then the element-wise formulas of
 * kernels/kern_formulas.h built on them. Private to the CPU backend. */
#ifndef BIVAE_CPU_MATH_H
#define BIVAE_CPU_MATH_H

#include <stdint.h>

/* exp(x), x clamped to [−87, 88]: x = n·ln2 + r, |r| <= ln2/2, degree-7 Taylor, 2^n by bits.
 * The integer n is read from the bits of the rounding sum (unsigned arithmetic: no float-to-
 * int conversion, no signed overflow, defined for any input); + (x − x) turns NaN and ±inf
 * inputs into NaN, so a non-finite value never becomes a finite one here. */
static inline float fast_expf(float x)
{
    float xc = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    const float magic = 12582912.0f; /* 1.5 · 2^23 (bits 0x4B400000): rounds to an integer */
    union { float f; uint32_t u; } t = {xc * 1.44269504088896341f + magic}, scale;
    float n = t.f - magic;
    float r = xc - n * 0.693145751953125f - n * 1.428606765330187045e-06f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    scale.u = (t.u - 0x4B400000u + 127u) << 23;   /* 2^n */
    return p * scale.f + (x - x);
}

/* log(x) for positive finite x: x = m·2^e with m in [√½, √2), log m = 2 atanh(s),
 * s = (m − 1)/(m + 1), by its series to s⁹ (the arguments here are >= 1e-10). NaN and ±inf
 * give NaN (+ (x − x)). */
static inline float fast_logf(float x)
{
    union { float f; int32_t i; } u = {x};
    int32_t e = ((u.i >> 23) & 0xff) - 127;
    u.i = (u.i & 0x007fffff) | 0x3f800000;
    float m = u.f;
    int big = m > 1.41421356f;
    m = big ? m * 0.5f : m;
    e = big ? e + 1 : e;
    float f = m - 1.0f, s = f / (2.0f + f), s2 = s * s;
    float p = s2 * (2.0f / 9.0f) + 2.0f / 7.0f;
    p = p * s2 + 2.0f / 5.0f;
    p = p * s2 + 2.0f / 3.0f;
    p = p * s2 + 2.0f;
    return (float)e * 0.693147180559945f + s * p + (x - x);
}

static inline float fast_sigmoidf(float z) { return 1.0f / (1.0f + fast_expf(-z)); }

/* tanh(x): odd Taylor polynomial to x¹¹ for |x| < 0.3, else 1 − 2/(1 + e^{2|x|}). */
static inline float fast_tanhf(float x)
{
    float ax = x < 0.0f ? -x : x, x2 = x * x;
    float q = -1382.0f / 155925.0f;
    q = q * x2 + 62.0f / 2835.0f;
    q = q * x2 - 17.0f / 315.0f;
    q = q * x2 + 2.0f / 15.0f;
    q = q * x2 - 1.0f / 3.0f;
    float small = ax + ax * x2 * q;
    float big = 1.0f - 2.0f / (1.0f + fast_expf(2.0f * ax));
    float r = ax < 0.3f ? small : big;
    return x < 0.0f ? -r : r;
}

/* exp(x) − 1: Taylor to x⁷ for |x| < 0.3 (no cancellation), else exp(x) − 1. */
static inline float fast_expm1f(float x)
{
    float q = 1.0f / 5040.0f;
    q = q * x + 1.0f / 720.0f;
    q = q * x + 1.0f / 120.0f;
    q = q * x + 1.0f / 24.0f;
    q = q * x + 1.0f / 6.0f;
    q = q * x + 0.5f;
    float small = x + x * x * q;
    float big = fast_expf(x) - 1.0f;
    return (x < 0.3f && x > -0.3f) ? small : big;
}

/* sin and cos of 2π·u for u in [0, 1): quadrant q = round(4u), r = 2π(u − q/4) in
 * [−π/4, π/4] (u − q/4 is exact), Taylor to r⁹ / r¹⁰. */
static inline void fast_sincos_2pi(float u, float *s_out, float *c_out)
{
    float qf = (u * 4.0f + 12582912.0f) - 12582912.0f;
    int q = (int)qf & 3;
    float r = (u - qf * 0.25f) * 6.28318530717958648f, r2 = r * r;
    float s = 1.0f / 362880.0f;
    s = s * r2 - 1.0f / 5040.0f;
    s = s * r2 + 1.0f / 120.0f;
    s = s * r2 - 1.0f / 6.0f;
    s = r + r * r2 * s;
    float c = -1.0f / 3628800.0f;
    c = c * r2 + 1.0f / 40320.0f;
    c = c * r2 - 1.0f / 720.0f;
    c = c * r2 + 1.0f / 24.0f;
    c = c * r2 - 0.5f;
    c = 1.0f + r2 * c;
    float sin_v = q == 0 ? s : (q == 1 ? c : (q == 2 ? -s : -c));
    float cos_v = q == 0 ? c : (q == 1 ? -s : (q == 2 ? -c : s));
    *s_out = sin_v;
    *c_out = cos_v;
}

/* The primitives of kernels/kern_formulas.h in this backend. */
#define KF_SIGMOIDF fast_sigmoidf
#define KF_LOGF fast_logf
#define KF_TANHF fast_tanhf
#define KF_EXPM1F fast_expm1f
#include "kernels/kern_formulas.h"

#endif
