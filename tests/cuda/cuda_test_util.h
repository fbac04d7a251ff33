/* tests/cuda/cuda_test_util.h — helpers of the CUDA-vs-CPU tests: the skip rule, device
 * copies of host arrays, and the comparison `|got − want| <= atol + rtol·|want|` of a CUDA
 * result against the CPU backend's (the reference), reporting the worst element. */
#ifndef BIVAE_CUDA_TEST_UTIL_H
#define BIVAE_CUDA_TEST_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "test_util.h"

enum { CUDA_TEST_SKIP = 77 };

/* 1 when a CUDA device can be used; otherwise prints "SKIP: no CUDA device: <reason>". */
static inline int cuda_test_have_device(void)
{
    char reason[256] = "";
    if (kern_cuda_device_count(reason, sizeof(reason)) > 0)
        return 1;
    printf("SKIP: no CUDA device: %s\n", reason);
    fflush(stdout);
    return 0;
}

/* A CUDA backend on device 0, or abort the test program (a device was found, so failing
 * to create the backend is an error, not a skip). */
static inline kern *cuda_test_backend(kern_gemm_math math)
{
    char err[256] = "";
    kern *k = kern_cuda_create(0, math, err, sizeof(err));
    if (!k) {
        fprintf(stderr, "kern_cuda_create failed: %s\n", err);
        exit(1);
    }
    return k;
}

/* Device copy of host[bytes]. */
static inline void *dev_dup(kern *k, const void *host, size_t bytes)
{
    void *d = kern_alloc(k, bytes ? bytes : 1);
    if (bytes)
        kern_upload(k, d, host, bytes);
    return d;
}

/* Host copy (malloc'd) of dev[bytes]. */
static inline void *host_dup(kern *k, const void *dev, size_t bytes)
{
    void *h = malloc(bytes ? bytes : 1);
    if (bytes)
        kern_download(k, h, dev, bytes);
    return h;
}

/* A binary CSR in host memory and its device copy. */
typedef struct test_csr {
    int64_t nrows, ncols;
    int64_t *rowptr;   /* host [nrows + 1] */
    int32_t *col;      /* host [nnz] */
    int64_t *d_rowptr; /* device */
    int32_t *d_col;    /* device */
} test_csr;

static inline test_csr test_csr_make(kern *kc, int64_t *rowptr, int32_t *col, int64_t nrows,
                                     int64_t ncols)
{
    test_csr t = {nrows, ncols, rowptr, col, NULL, NULL};
    t.d_rowptr = dev_dup(kc, rowptr, sizeof(int64_t) * (size_t)(nrows + 1));
    t.d_col = dev_dup(kc, col, sizeof(int32_t) * (size_t)rowptr[nrows]);
    return t;
}

static inline void test_csr_free(kern *kc, test_csr *t)
{
    kern_free(kc, t->d_rowptr);
    kern_free(kc, t->d_col);
    free(t->rowptr);
    free(t->col);
}

/* Rows [r0, r0 + n) as a window (rowptr[0] != 0 when r0 > 0), host or device arrays. */
static inline kern_csr test_csr_window(const test_csr *t, int64_t r0, int64_t n, int device)
{
    kern_csr X = {n, t->ncols, (device ? t->d_rowptr : t->rowptr) + r0,
                  device ? t->d_col : t->col};
    return X;
}

/* A random binary CSR [nrows × ncols], about density·ncols ones per row, sorted unique
 * columns; every `empty_every`-th row is empty (0: none). Caller frees both arrays. */
static inline void rand_csr(trng *r, int64_t nrows, int64_t ncols, double density,
                            int64_t empty_every, int64_t **rowptr_out, int32_t **col_out)
{
    int64_t *rowptr = malloc(sizeof(int64_t) * (size_t)(nrows + 1));
    int32_t *col = malloc(sizeof(int32_t) * (size_t)(nrows * ncols + 1));
    int64_t nnz = 0;
    rowptr[0] = 0;
    for (int64_t i = 0; i < nrows; i++) {
        if (!(empty_every > 0 && i % empty_every == empty_every - 1))
            for (int64_t c = 0; c < ncols; c++)
                if ((double)(trng_u32(r) >> 8) / 16777216.0 < density)
                    col[nnz++] = (int32_t)c;
        rowptr[i + 1] = nnz;
    }
    *rowptr_out = rowptr;
    *col_out = col;
}

/* got (CUDA) against want (CPU): every element within atol + rtol·|want|; equal NaNs and
 * equal infinities match. Prints the worst element and the number of bitwise-equal ones. */
static inline int cuda_close(const char *what, const float *got, const float *want, int64_t n,
                             double atol, double rtol)
{
    int64_t bad = 0, worst = -1, same = 0;
    double worst_excess = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double g = got[i], w = want[i];
        if (memcmp(&got[i], &want[i], sizeof(float)) == 0 || (isnan(g) && isnan(w))) {
            same++;
            continue;
        }
        double d = fabs(g - w), lim = atol + rtol * fabs(w);
        if (!(d <= lim)) {
            bad++;
            double excess = isfinite(d) ? d / (lim > 0 ? lim : 1e-300) : INFINITY;
            if (worst < 0 || excess > worst_excess) {
                worst = i;
                worst_excess = excess;
            }
        }
    }
    if (bad) {
        fprintf(stderr, "%s: %lld of %lld beyond atol %g + rtol %g; worst [%lld]: got %.9g want "
                "%.9g\n", what, (long long)bad, (long long)n, atol, rtol, (long long)worst,
                (double)got[worst], (double)want[worst]);
        return 0;
    }
    printf("  %-34s ok: %lld elements, %lld bitwise equal to the CPU\n", what, (long long)n,
           (long long)same);
    return 1;
}

#endif
