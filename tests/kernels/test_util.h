/* tests/kernels/test_util.h — helpers shared by the kernel and model tests: a small
 * deterministic generator, random fills, naive references and tolerance checks. */
#ifndef BIVAE_TEST_UTIL_H
#define BIVAE_TEST_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct { uint64_t s; } trng;

static inline uint32_t trng_u32(trng *r)
{
    r->s = r->s * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t x = r->s;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (uint32_t)x;
}

/* uniform in [lo, hi) */
static inline float trng_unif(trng *r, float lo, float hi)
{
    return lo + (hi - lo) * (float)(trng_u32(r) >> 8) / 16777216.0f;
}

static inline void fill_unif(trng *r, float *x, int64_t n, float lo, float hi)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = trng_unif(r, lo, hi);
}

/* A random binary CSR [nrows × ncols] with about density·ncols ones per row (at least one),
 * columns sorted and unique. Caller frees rowptr and col. */
static inline void random_csr(trng *r, int64_t nrows, int64_t ncols, double density,
                              int64_t **rowptr_out, int32_t **col_out)
{
    int64_t *rowptr = malloc(sizeof(int64_t) * (size_t)(nrows + 1));
    int32_t *col = malloc(sizeof(int32_t) * (size_t)(nrows * ncols + 1));
    int64_t nnz = 0;
    rowptr[0] = 0;
    for (int64_t i = 0; i < nrows; i++) {
        int64_t start = nnz;
        for (int64_t c = 0; c < ncols; c++)
            if ((double)(trng_u32(r) >> 8) / 16777216.0 < density)
                col[nnz++] = (int32_t)c;
        if (nnz == start)
            col[nnz++] = (int32_t)(trng_u32(r) % (uint32_t)ncols);
        rowptr[i + 1] = nnz;
    }
    *rowptr_out = rowptr;
    *col_out = col;
}

/* A small binary rating matrix R [U × I] (a third of the entries drawn from r, plus a one
 * at (u, u mod I) and (i mod U, i) so no row or column is empty), as its user-major CSR
 * (Ru_ptr [U+1], Ru_col) and item-major CSR (Ri_ptr [I+1], Ri_col); the col arrays hold
 * up to U·I entries. */
static inline void random_ratings(trng *r, int U, int I, int64_t *Ru_ptr, int32_t *Ru_col,
                                  int64_t *Ri_ptr, int32_t *Ri_col)
{
    unsigned char *R = (unsigned char *)calloc((size_t)U * (size_t)I, 1);
    for (int u = 0; u < U; u++) {
        for (int i = 0; i < I; i++)
            R[u * I + i] = trng_u32(r) % 3 == 0;
        R[u * I + u % I] = 1;
    }
    for (int i = 0; i < I; i++)
        R[(i % U) * I + i] = 1;
    int64_t nu = 0, ni = 0;
    Ru_ptr[0] = Ri_ptr[0] = 0;
    for (int u = 0; u < U; u++) {
        for (int i = 0; i < I; i++)
            if (R[u * I + i])
                Ru_col[nu++] = i;
        Ru_ptr[u + 1] = nu;
    }
    for (int i = 0; i < I; i++) {
        for (int u = 0; u < U; u++)
            if (R[u * I + i])
                Ri_col[ni++] = u;
        Ri_ptr[i + 1] = ni;
    }
    free(R);
}

/* |got − want| <= atol + rtol·|want|, reporting the first failure. Returns 1 when close. */
static inline int close_arrays(const char *what, const float *got, const double *want,
                               int64_t n, double atol, double rtol)
{
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (!(d <= atol + rtol * fabs(want[i]))) {
            fprintf(stderr, "%s[%lld]: got %.9g want %.9g (|diff| %.3g)\n", what, (long long)i,
                    (double)got[i], want[i], d);
            return 0;
        }
    }
    return 1;
}

#endif
