/* kernels/cpu/cpu_topk.c — top-K selection per row with an exclusion mask (CPU reference).
 *
 * Per row r of S [m × n]: the top_k best columns not in row r of `exclude`, best first.
 * "Better" is a total order: higher score first, equal scores by the lower column.
 * A NaN score ranks below every number (so a diverged model still gives a defined,
 * thread-count-independent answer); its `val` is the NaN itself.
 * Padding where a row has fewer than top_k candidates: idx −1, val −inf.
 *
 * One size-top_k min-heap per row (root = the worst kept entry): O(n log top_k) per row,
 * and the excluded columns are skipped by walking their sorted list alongside the scan, so
 * nothing of size n is allocated. Rows are independent and split over OpenMP threads; each
 * thread owns a scratch heap of top_k entries. */
#include <math.h>
#include <stdlib.h>

#include "common/check.h"
#include "kernels/cpu/cpu_internal.h"

typedef struct topk_entry {
    float key;    /* the score, NaN mapped to −inf */
    int32_t col;
} topk_entry;

/* a is strictly better than b */
static inline int topk_better(topk_entry a, topk_entry b)
{
    return a.key > b.key || (a.key == b.key && a.col < b.col);
}

/* Restores the min-heap property (worst at the root) below position i of h[len]. */
static void topk_sift_down(topk_entry *h, int len, int i)
{
    for (;;) {
        int w = i, l = 2 * i + 1, r = l + 1;
        if (l < len && topk_better(h[w], h[l]))
            w = l;
        if (r < len && topk_better(h[w], h[r]))
            w = r;
        if (w == i)
            return;
        topk_entry t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

/* Appends e to h[len] (len < capacity) and restores the heap. */
static void topk_push(topk_entry *h, int len, topk_entry e)
{
    int i = len;
    h[i] = e;
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!topk_better(h[p], h[i]))
            return;
        topk_entry t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

/* Offers columns [c0, c1) of one score row s[n] to the heap h (len entries, capacity cap).
 * Columns arrive in ascending order, so once the heap is full a candidate with a score
 * equal to the root's loses the tie (its column is higher): `>` on keys decides. */
static int topk_scan(const float *s, int64_t c0, int64_t c1, topk_entry *h, int len, int cap)
{
    for (int64_t c = c0; c < c1; c++) {
        float v = s[c];
        topk_entry e = {isnan(v) ? -INFINITY : v, (int32_t)c};
        if (len < cap) {
            topk_push(h, len++, e);
        } else if (e.key > h[0].key) {
            h[0] = e;
            topk_sift_down(h, len, 0);
        }
    }
    return len;
}

/* One row: s[n] scores, ex[n_ex] excluded columns (sorted), outputs idx[top_k], val[top_k]
 * (val may be NULL). h[top_k] is scratch. */
static void topk_row(const float *s, int64_t n, const int32_t *ex, int64_t n_ex, int top_k,
                     topk_entry *h, int32_t *idx, float *val)
{
    int len = 0;
    int64_t c = 0;                        /* next column to scan */
    for (int64_t j = 0; j < n_ex; j++) {  /* the runs between excluded columns */
        int64_t e = ex[j] < n ? ex[j] : n;
        if (e > c)
            len = topk_scan(s, c, e, h, len, top_k);
        if (e + 1 > c)
            c = e + 1;
    }
    if (c < n)
        len = topk_scan(s, c, n, h, len, top_k);

    /* Pop the worst into the last free slot: the output ends up best first. */
    for (int r = top_k - 1; r >= len; r--) {
        idx[r] = -1;
        if (val)
            val[r] = -INFINITY;
    }
    for (int r = len - 1; r >= 0; r--) {
        idx[r] = h[0].col;
        if (val)
            val[r] = s[h[0].col];
        h[0] = h[r];
        topk_sift_down(h, r, 0);
    }
}

void cpu_topk_excluding(kern *k, const float *S, int64_t m, int64_t n, kern_csr exclude,
                        int top_k, int32_t *idx, float *val)
{
    if (m <= 0 || top_k <= 0)
        return;
    if (n > INT32_MAX)
        FAIL_RUNTIME("topk_excluding: %lld columns exceed the int32 column ids",
                     (long long)n);
    if (exclude.nrows != m)
        FAIL_RUNTIME("topk_excluding: exclude has %lld rows, scores have %lld",
                     (long long)exclude.nrows, (long long)m);
    const cpu_state *st = k ? (const cpu_state *)k->impl : NULL;
    int threads = st && st->threads > 0 ? st->threads : 1;

#pragma omp parallel num_threads(threads)
    {
        topk_entry *h = xmalloc(sizeof(topk_entry) * (size_t)top_k);  /* [top_k] */
#pragma omp for schedule(dynamic, 16)
        for (int64_t r = 0; r < m; r++) {
            int64_t p0 = exclude.rowptr[r], p1 = exclude.rowptr[r + 1];
            const int32_t *ex = p1 > p0 ? exclude.col + p0 : NULL;   /* col may be NULL */
            topk_row(S + r * n, n, ex, p1 - p0, top_k, h,
                     idx + r * (int64_t)top_k, val ? val + r * (int64_t)top_k : NULL);
        }
        free(h);
    }
}
