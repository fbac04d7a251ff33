/* kernels/kern_impl.h — private to kernels/: the table of ops each backend fills in.
 * kernels.c dispatches the public functions of kernels.h through it. */
#ifndef BIVAE_KERN_IMPL_H
#define BIVAE_KERN_IMPL_H

#include "kernels/kernels.h"

typedef struct kern_ops {
    const char *name;
    kern_device device;
    void (*destroy)(kern *k);
    void *(*alloc)(kern *k, size_t bytes);
    void (*free)(kern *k, void *p);
    void (*zero)(kern *k, void *p, size_t bytes);
    void (*copy)(kern *k, void *dst, const void *src, size_t bytes);
    void (*upload)(kern *k, void *dst, const void *src, size_t bytes);
    void (*download)(kern *k, void *dst, const void *src, size_t bytes);
    void (*sync)(kern *k);
    void (*gemm)(kern *k, kern_trans ta, kern_trans tb, int64_t M, int64_t N, int64_t K,
                 float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                 float beta, float *C, int64_t ldc);
    void (*add_bias)(kern *k, float *Y, const float *b, int64_t m, int64_t n);
    void (*scale)(kern *k, float *x, int64_t n, float alpha);
    void (*fill)(kern *k, float *x, int64_t n, float value);
    void (*rows_cyclic_from_blocked)(kern *k, float *dst, const float *src, int64_t n_rows,
                                     int64_t width, int P);
    void (*copy_rows)(kern *k, float *dst, int64_t dst_stride, const float *src,
                      int64_t src_stride, int64_t rows, int64_t width);
    void (*colsum_add)(kern *k, const float *G, int64_t m, int64_t n, float *g);
    void (*csr_matmul_bias)(kern *k, kern_csr X, const float *W, const float *b, int64_t n,
                            float *Y);
    void (*csr_t_matmul_add)(kern *k, kern_csr X, const float *G_Y, int64_t n, float *G_W);
    /* kern_colset: impl is the backend's; build, zero rows, Xᵀ·G_Y over its columns */
    void *(*colset_create)(kern *k, int64_t ncols, int64_t max_nrows);
    void (*colset_free)(kern *k, void *impl);
    void (*colset_build)(kern *k, kern_colset *cs, kern_csr X);
    void (*zero_rows_of_cols)(kern *k, float *G, int64_t width, const kern_colset *cs);
    void (*colset_t_matmul_add)(kern *k, const kern_colset *cs, const float *G_Y, int64_t n,
                                float *G_W);
    void (*act_forward)(kern *k, kern_act f, const float *a, float *h, int64_t n);
    void (*act_backward)(kern *k, kern_act f, const float *a, const float *h, float *G,
                         int64_t n);
    void (*gaussian_sample)(kern *k, const float *pre, const float *eps, int64_t m, int64_t K,
                            float *mu, float *sigma, float *z);
    void (*gaussian_kl_backward)(kern *k, const float *mu, const float *sigma,
                                 const float *eps, const float *prior, const float *G_z,
                                 int64_t m, int64_t K, float lambda, float scale, float *G_pre,
                                 float *G_prior, float *loss_acc);
    void (*sigmoid_lik_loss_grad)(kern *k, kern_lik lik, float *Z, kern_csr X, float scale,
                                  float *loss_acc);
    void (*philox_normal)(kern *k, float *out, int64_t rows, int64_t cols, uint32_t key0,
                          uint32_t key1, uint32_t ctr3, int64_t id0, int64_t id_stride);
    void (*philox_uniform)(kern *k, float *out, int64_t rows, int64_t cols, uint32_t key0,
                           uint32_t key1, uint32_t ctr3, int64_t id0, int64_t id_stride,
                           float lo, float hi);
    void (*adam)(kern *k, float *p, const float *g, float *m, float *v, int64_t n, double lr,
                 double beta1, double beta2, double eps, int64_t t, int32_t *nonfinite_flag,
                 int32_t tag);
    /* kern_adam_rows; here = kern_adam_constants of step t */
    void (*adam_rows)(kern *k, float *p, const float *g, float *m, float *v, int64_t n_rows,
                      int64_t width, const kern_colset *sel, int64_t *last, float *tab,
                      int64_t t0, int64_t t, int with_grad, const float here[2], double beta1,
                      double beta2, double eps, int32_t *nonfinite_flag, int32_t tag);
    void (*find_nonfinite)(kern *k, const float *x, int64_t n, int32_t *flag, int32_t tag);
    void (*accumulate)(kern *k, double *acc, const float *x, int64_t n);
    void (*topk_excluding)(kern *k, const float *S, int64_t m, int64_t n, kern_csr exclude,
                           int top_k, int32_t *idx, float *val);
} kern_ops;

struct kern {
    const kern_ops *ops;
    void *impl;   /* backend state */
};

/* kernels.h's kern_colset: what every backend's ops may read, and the backend's part. */
struct kern_colset {
    int64_t ncols, max_nrows;
    int64_t nrows;   /* rows of the window it was last built from (0: empty) */
    void *impl;
};

#endif
