/* kernels/kern_formulas.h — the element-wise math of the compute backends, written once:
 * the decoder likelihoods (value and gradient of one entry, at x = 0 and at x = 1), the
 * activations and their derivatives, the Gaussian latent layer (sample, KL, gradients) and
 * the Adam update of one element. Compiles as C11 and as CUDA (host and device); one
 * function per formula, scalars in and out, so the CPU's loops over them still vectorize.
 *
 * The transcendental functions are each backend's own. A backend includes this header
 * through its primitives header (kernels/cpu/cpu_math.h, kernels/cuda/cuda_math.h), which
 * first defines
 *   KF_SIGMOIDF(z)  1/(1 + e^−z), the exponent clamped to [−87, 88]: never 0 or 1
 *   KF_LOGF(x)      log x for x > 0
 *   KF_TANHF(x)     tanh x
 *   KF_EXPM1F(x)    e^x − 1
 * The operand order of every expression is part of its definition: the CPU backend's
 * results are fixed to the bit, and CUDA (--fmad=false) repeats them up to the ulps of its
 * primitives. */
#ifndef BIVAE_KERN_FORMULAS_H
#define BIVAE_KERN_FORMULAS_H

#include <math.h>

#if !defined(KF_SIGMOIDF) || !defined(KF_LOGF) || !defined(KF_TANHF) || !defined(KF_EXPM1F)
#error "kern_formulas.h: include it through the backend's primitives header"
#endif

#ifdef __CUDACC__
#define KF_FN __host__ __device__ static __forceinline__
#else
#define KF_FN static inline
#endif

/* ---- decoder likelihoods ------------------------------------------------------------- */
/* One entry of Z, the logit z, with x̂ = sigmoid(z), s = scale, e = KF_LIK_E:
 *   v0    −ℓ(0, x̂)               counted at every entry
 *   corr  −ℓ(1, x̂) + ℓ(0, x̂)    added at the ones of X
 *   g0    G_z if x = 0,  g1  G_z if x = 1,  G_z = s · (−∂ℓ/∂x̂) · x̂(1−x̂)                  */

#define KF_LIK_E 1e-10f

/* pois: ℓ(x, x̂) = x log(x̂+e) − x̂ */
KF_FN float kf_pois_v0(float xh) { return xh; }                            /* x̂ */
KF_FN float kf_pois_corr(float xh) { return -KF_LOGF(xh + KF_LIK_E); }     /* −log(x̂+e) */
KF_FN float kf_pois_g0(float xh, float s) { return s * xh * (1.0f - xh); } /* −∂ℓ/∂x̂ = 1 */
KF_FN float kf_pois_g1(float xh, float s)                    /* −∂ℓ/∂x̂ = 1 − 1/(x̂+e) */
{
    return s * (1.0f - 1.0f / (xh + KF_LIK_E)) * xh * (1.0f - xh);
}

/* bern: ℓ(x, x̂) = x log(x̂+e) + (1−x) log(1−x̂+e) */
KF_FN float kf_bern_v0(float xh) { return -KF_LOGF(1.0f - xh + KF_LIK_E); } /* −log(1−x̂+e) */
KF_FN float kf_bern_corr(float xh)                         /* −log(x̂+e) + log(1−x̂+e) */
{
    return -KF_LOGF(xh + KF_LIK_E) + KF_LOGF(1.0f - xh + KF_LIK_E);
}
KF_FN float kf_bern_g0(float xh, float s)                  /* −∂ℓ/∂x̂ = 1/(1−x̂+e) */
{
    return s * xh * (1.0f - xh) / (1.0f - xh + KF_LIK_E);
}
KF_FN float kf_bern_g1(float xh, float s)                  /* −∂ℓ/∂x̂ = −1/(x̂+e) */
{
    return -s * xh * (1.0f - xh) / (xh + KF_LIK_E);
}

/* gaus: ℓ(x, x̂) = −(x − x̂)² */
KF_FN float kf_gaus_v0(float xh) { return xh * xh; }                        /* x̂² */
KF_FN float kf_gaus_corr(float xh) { return 1.0f - 2.0f * xh; }             /* (1−x̂)² − x̂² */
KF_FN float kf_gaus_g0(float xh, float s)                  /* −∂ℓ/∂x̂ = 2x̂ */
{
    return s * 2.0f * xh * xh * (1.0f - xh);
}
KF_FN float kf_gaus_g1(float xh, float s)                  /* −∂ℓ/∂x̂ = −2(1−x̂) */
{
    return -s * 2.0f * (1.0f - xh) * xh * (1.0f - xh);
}

/* ---- activations --------------------------------------------------------------------- */
/* h = f(a) (a the pre-activation), and G ⊙ f'(a) with f' written from h = f(a) where that
 * is cheaper; the kinks as kern_act_backward states them (PyTorch's). */

KF_FN float kf_sigmoid(float a) { return KF_SIGMOIDF(a); }
KF_FN float kf_tanh(float a) { return KF_TANHF(a); }
KF_FN float kf_elu(float a) { return a > 0.0f ? a : KF_EXPM1F(a); }          /* α = 1 */
KF_FN float kf_relu(float a) { return a > 0.0f ? a : 0.0f; }
KF_FN float kf_relu6(float a) { return a > 0.0f ? (a < 6.0f ? a : 6.0f) : 0.0f; }

KF_FN float kf_sigmoid_grad(float G, float h) { return G * (h * (1.0f - h)); }
KF_FN float kf_tanh_grad(float G, float h) { return G * (1.0f - h * h); }
KF_FN float kf_elu_grad(float G, float a, float h) { return G * (a > 0.0f ? 1.0f : h + 1.0f); }
KF_FN float kf_relu_grad(float G, float a) { return a > 0.0f ? G : 0.0f; }
KF_FN float kf_relu6_grad(float G, float a) { return (a > 0.0f && a < 6.0f) ? G : 0.0f; }

/* ---- Gaussian latent layer ----------------------------------------------------------- */
/* q = N(μ, σ²) per coordinate, σ = sigmoid(pre_σ), z = μ + σ ε; the KL is to N(prior, 1)
 * with d = μ − prior (prior 0 without one), weighted by ls = λ · scale in the gradients. */

KF_FN float kf_gauss_sigma(float pre_sigma) { return KF_SIGMOIDF(pre_sigma); }
KF_FN float kf_gauss_sample(float mu, float sigma, float eps) { return mu + sigma * eps; }

/* KL(N(μ, σ²) ‖ N(prior, 1)) of one coordinate, d = μ − prior: −½ (1 + log σ² − d² − σ²).
 * Exactly 0 at d = 0, σ = 1 (the padding of kernels/cpu's fixed-lane sums). */
KF_FN float kf_gauss_kl(float d, float sigma)
{
    return -0.5f * (1.0f + 2.0f * KF_LOGF(sigma) - d * d - sigma * sigma);
}

/* ∂/∂μ of the loss, G_z = ∂/∂z of the decoder's part: G_z + ls · d */
KF_FN float kf_gauss_grad_mu(float G_z, float d, float ls) { return G_z + ls * d; }

/* ∂/∂pre_σ: ∂/∂σ = G_z ε + ls (σ − 1/σ), times σ' = σ(1−σ) */
KF_FN float kf_gauss_grad_pre_sigma(float G_z, float eps, float sigma, float ls)
{
    float g_sigma = G_z * eps + ls * (sigma - 1.0f / sigma);
    return g_sigma * sigma * (1.0f - sigma);
}

/* ∂/∂prior: −ls · d */
KF_FN float kf_gauss_grad_prior(float d, float ls) { return -ls * d; }

/* ---- Adam ---------------------------------------------------------------------------- */

/* β1, 1 − β1, β2, 1 − β2 and ε as the update reads them: formed in double and rounded
 * once, as PyTorch does with its Python-float hyper-parameters (1 − β2 is 0.001f, not
 * 1 − 0.999f). */
typedef struct kf_adam_hyper {
    float b1, c1, b2, c2, eps;
} kf_adam_hyper;

KF_FN kf_adam_hyper kf_adam_hyper_of(double beta1, double beta2, double eps)
{
    kf_adam_hyper h = {(float)beta1, (float)(1.0 - beta1), (float)beta2, (float)(1.0 - beta2),
                       (float)eps};
    return h;
}

/* One element, gradient g, step t's constants step = lr/(1−β1^t) and
 * inv_bc2_sqrt = 1/√(1−β2^t) (kern_adam_constants):
 *   m ← β1 m + (1−β1) g,   v ← β2 v + (1−β2) g²,   p ← p − step · m / (√v · inv_bc2_sqrt + ε) */
KF_FN void kf_adam_step(float *p, float *m, float *v, float g, float step, float inv_bc2_sqrt,
                        kf_adam_hyper h)
{
    float mi = h.b1 * *m + h.c1 * g;
    float vi = h.b2 * *v + h.c2 * g * g;
    *m = mi;
    *v = vi;
    *p -= step * mi / (sqrtf(vi) * inv_bc2_sqrt + h.eps);
}

#endif
