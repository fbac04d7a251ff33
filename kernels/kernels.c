/* kernels/kernels.c — dispatch of the public ops to the backend's table. */
#include <math.h>
#include <stdlib.h>

#include "common/check.h"
#include "kernels/kern_impl.h"

void kern_destroy(kern *k)
{
    if (k)
        k->ops->destroy(k);
}
kern_device kern_get_device(const kern *k) { return k->ops->device; }
const char *kern_name(const kern *k) { return k->ops->name; }

void *kern_alloc(kern *k, size_t bytes) { return k->ops->alloc(k, bytes); }
void kern_free(kern *k, void *p)
{
    if (p)
        k->ops->free(k, p);
}
void kern_zero(kern *k, void *p, size_t bytes)
{
    if (bytes)
        k->ops->zero(k, p, bytes);
}
void kern_copy(kern *k, void *dst, const void *src, size_t bytes)
{
    if (bytes)
        k->ops->copy(k, dst, src, bytes);
}
void kern_upload(kern *k, void *dst, const void *src, size_t bytes)
{
    if (bytes)
        k->ops->upload(k, dst, src, bytes);
}
void kern_download(kern *k, void *dst, const void *src, size_t bytes)
{
    if (bytes)
        k->ops->download(k, dst, src, bytes);
}
void kern_sync(kern *k) { k->ops->sync(k); }

void kern_gemm(kern *k, kern_trans ta, kern_trans tb, int64_t M, int64_t N, int64_t K,
               float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
               float beta, float *C, int64_t ldc)
{
    if (M > 0 && N > 0)
        k->ops->gemm(k, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void kern_add_bias(kern *k, float *Y, const float *b, int64_t m, int64_t n)
{
    if (m > 0 && n > 0)
        k->ops->add_bias(k, Y, b, m, n);
}

void kern_scale(kern *k, float *x, int64_t n, float alpha)
{
    if (n > 0)
        k->ops->scale(k, x, n, alpha);
}

void kern_fill(kern *k, float *x, int64_t n, float value)
{
    if (n > 0)
        k->ops->fill(k, x, n, value);
}

void kern_rows_cyclic_from_blocked(kern *k, float *dst, const float *src, int64_t n_rows,
                                   int64_t width, int P)
{
    if (n_rows > 0 && width > 0)
        k->ops->rows_cyclic_from_blocked(k, dst, src, n_rows, width, P);
}

void kern_copy_rows(kern *k, float *dst, int64_t dst_stride, const float *src,
                    int64_t src_stride, int64_t rows, int64_t width)
{
    if (rows > 0 && width > 0)
        k->ops->copy_rows(k, dst, dst_stride, src, src_stride, rows, width);
}

void kern_colsum_add(kern *k, const float *G, int64_t m, int64_t n, float *g)
{
    if (m > 0 && n > 0)
        k->ops->colsum_add(k, G, m, n, g);
}

void kern_csr_matmul_bias(kern *k, kern_csr X, const float *W, const float *b, int64_t n,
                          float *Y)
{
    if (X.nrows > 0 && n > 0)
        k->ops->csr_matmul_bias(k, X, W, b, n, Y);
}

void kern_csr_t_matmul_add(kern *k, kern_csr X, const float *G_Y, int64_t n, float *G_W)
{
    if (X.nrows > 0 && n > 0)
        k->ops->csr_t_matmul_add(k, X, G_Y, n, G_W);
}

kern_colset *kern_colset_create(kern *k, int64_t ncols, int64_t max_nrows)
{
    if (ncols < 0 || max_nrows < 0)
        FAIL_RUNTIME("colset_create: %lld columns, %lld rows", (long long)ncols,
                     (long long)max_nrows);
    kern_colset *cs = xcalloc(1, sizeof(*cs));
    cs->ncols = ncols;
    cs->max_nrows = max_nrows;
    cs->impl = k->ops->colset_create(k, ncols, max_nrows);
    return cs;
}

void kern_colset_free(kern *k, kern_colset *cs)
{
    if (!cs)
        return;
    k->ops->colset_free(k, cs->impl);
    free(cs);
}

void kern_colset_build(kern *k, kern_colset *cs, kern_csr X)
{
    if (X.ncols != cs->ncols || X.nrows < 0 || X.nrows > cs->max_nrows)
        FAIL_RUNTIME("colset_build: a window of %lld rows × %lld columns for a set of at "
                     "most %lld rows × %lld columns", (long long)X.nrows, (long long)X.ncols,
                     (long long)cs->max_nrows, (long long)cs->ncols);
    k->ops->colset_build(k, cs, X);
    cs->nrows = X.nrows;
}

void kern_zero_rows_of_cols(kern *k, float *G, int64_t width, const kern_colset *cs)
{
    if (cs->nrows > 0 && width > 0)
        k->ops->zero_rows_of_cols(k, G, width, cs);
}

void kern_colset_t_matmul_add(kern *k, const kern_colset *cs, const float *G_Y, int64_t n,
                              float *G_W)
{
    if (cs->nrows > 0 && n > 0)
        k->ops->colset_t_matmul_add(k, cs, G_Y, n, G_W);
}

void kern_act_forward(kern *k, kern_act f, const float *a, float *h, int64_t n)
{
    if (n > 0)
        k->ops->act_forward(k, f, a, h, n);
}

void kern_act_backward(kern *k, kern_act f, const float *a, const float *h, float *G, int64_t n)
{
    if (n > 0)
        k->ops->act_backward(k, f, a, h, G, n);
}

void kern_gaussian_sample(kern *k, const float *pre, const float *eps, int64_t m, int64_t K,
                          float *mu, float *sigma, float *z)
{
    if (m > 0)
        k->ops->gaussian_sample(k, pre, eps, m, K, mu, sigma, z);
}

void kern_gaussian_kl_backward(kern *k, const float *mu, const float *sigma, const float *eps,
                               const float *prior, const float *G_z, int64_t m, int64_t K,
                               float lambda, float scale, float *G_pre, float *G_prior,
                               float *loss_acc)
{
    if (m > 0)
        k->ops->gaussian_kl_backward(k, mu, sigma, eps, prior, G_z, m, K, lambda, scale, G_pre,
                                     G_prior, loss_acc);
}

void kern_sigmoid_lik_loss_grad(kern *k, kern_lik lik, float *Z, kern_csr X, float scale,
                                float *loss_acc)
{
    if (X.nrows > 0 && X.ncols > 0)
        k->ops->sigmoid_lik_loss_grad(k, lik, Z, X, scale, loss_acc);
}

void kern_philox_normal(kern *k, float *out, int64_t rows, int64_t cols, uint32_t key0,
                        uint32_t key1, uint32_t ctr3, int64_t id0, int64_t id_stride)
{
    if (rows > 0 && cols > 0)
        k->ops->philox_normal(k, out, rows, cols, key0, key1, ctr3, id0, id_stride);
}

void kern_philox_uniform(kern *k, float *out, int64_t rows, int64_t cols, uint32_t key0,
                         uint32_t key1, uint32_t ctr3, int64_t id0, int64_t id_stride,
                         float lo, float hi)
{
    if (rows > 0 && cols > 0)
        k->ops->philox_uniform(k, out, rows, cols, key0, key1, ctr3, id0, id_stride, lo, hi);
}

void kern_adam(kern *k, float *p, const float *g, float *m, float *v, int64_t n, double lr,
               double beta1, double beta2, double eps, int64_t t, int32_t *nonfinite_flag,
               int32_t tag)
{
    if (n > 0)
        k->ops->adam(k, p, g, m, v, n, lr, beta1, beta2, eps, t, nonfinite_flag, tag);
}

void kern_adam_constants(double lr, double beta1, double beta2, int64_t t, float out[2])
{
    out[0] = (float)(lr / (1.0 - pow(beta1, (double)t)));
    out[1] = (float)(1.0 / sqrt(1.0 - pow(beta2, (double)t)));
}

void kern_adam_rows(kern *k, float *p, const float *g, float *m, float *v, int64_t n_rows,
                    int64_t width, const kern_colset *sel, int64_t *last, float *tab,
                    int64_t cap, int64_t t0, int64_t t, int with_grad, double lr, double beta1,
                    double beta2, double eps, int32_t *nonfinite_flag, int32_t tag)
{
    if (t0 < 0 || t < t0 || t - t0 > cap || (with_grad && t == t0))
        FAIL_RUNTIME("adam_rows: step %lld outside the constants table (t0 %lld, %lld "
                     "entries)", (long long)t, (long long)t0, (long long)cap);
    if (sel && sel->ncols != n_rows)
        FAIL_RUNTIME("adam_rows: the selection has %lld columns for %lld rows",
                     (long long)sel->ncols, (long long)n_rows);
    if (n_rows <= 0 || width <= 0)   /* no rows here: nobody reads the table either */
        return;
    float here[2];
    kern_adam_constants(lr, beta1, beta2, t, here);
    k->ops->adam_rows(k, p, g, m, v, n_rows, width, sel, last, tab, t0, t, with_grad, here,
                      beta1, beta2, eps, nonfinite_flag, tag);
}

void kern_find_nonfinite(kern *k, const float *x, int64_t n, int32_t *flag, int32_t tag)
{
    if (n > 0)
        k->ops->find_nonfinite(k, x, n, flag, tag);
}

void kern_accumulate(kern *k, double *acc, const float *x, int64_t n)
{
    if (n > 0)
        k->ops->accumulate(k, acc, x, n);
}

void kern_topk_excluding(kern *k, const float *S, int64_t m, int64_t n, kern_csr exclude,
                         int top_k, int32_t *idx, float *val)
{
    if (m > 0 && top_k > 0)
        k->ops->topk_excluding(k, S, m, n, exclude, top_k, idx, val);
}
