/* partition/sort_tmpl.h — introsort template, included by sort.c once per element type.
 * Before including define SORT_T (element type) and SORT_NAME(x) (name mangling). */

static void SORT_NAME(insertion)(SORT_T *a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        SORT_T v = a[i];
        size_t j = i;
        for (; j > 0 && a[j - 1] > v; j--)
            a[j] = a[j - 1];
        a[j] = v;
    }
}

static void SORT_NAME(sift)(SORT_T *a, size_t root, size_t n)
{
    for (size_t child; (child = 2 * root + 1) < n; root = child) {
        if (child + 1 < n && a[child + 1] > a[child])
            child++;
        if (a[root] >= a[child])
            return;
        SORT_T t = a[root]; a[root] = a[child]; a[child] = t;
    }
}

static void SORT_NAME(heap)(SORT_T *a, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        SORT_NAME(sift)(a, i, n);
    for (size_t end = n; end-- > 1;) {
        SORT_T t = a[0]; a[0] = a[end]; a[end] = t;
        SORT_NAME(sift)(a, 0, end);
    }
}

/* Orders a[0] <= a[n/2] <= a[n-1] (sentinels for the partition) and Hoare-partitions
 * around a[n/2]; returns j with a[0..j] <= pivot <= a[j+1..n), 0 <= j < n-1. */
static size_t SORT_NAME(partition)(SORT_T *a, size_t n)
{
    size_t m = n / 2;
    SORT_T t;
    if (a[m] < a[0]) { t = a[m]; a[m] = a[0]; a[0] = t; }
    if (a[n - 1] < a[m]) { t = a[n - 1]; a[n - 1] = a[m]; a[m] = t; }
    if (a[m] < a[0]) { t = a[m]; a[m] = a[0]; a[0] = t; }
    SORT_T p = a[m];
    size_t i = (size_t)-1, j = n;
    for (;;) {
        do i++; while (a[i] < p);
        do j--; while (a[j] > p);
        if (i >= j)
            return j;
        t = a[i]; a[i] = a[j]; a[j] = t;
    }
}

static void SORT_NAME(intro)(SORT_T *a, size_t n, int depth)
{
    while (n > 16) {
        if (depth-- == 0) {
            SORT_NAME(heap)(a, n);
            return;
        }
        size_t j = SORT_NAME(partition)(a, n);
        size_t nl = j + 1, nr = n - nl;
        if (nl < nr) {                      /* recurse into the smaller side */
            SORT_NAME(intro)(a, nl, depth);
            a += nl;
            n = nr;
        } else {
            SORT_NAME(intro)(a + nl, nr, depth);
            n = nl;
        }
    }
    SORT_NAME(insertion)(a, n);
}

static void SORT_NAME(sort)(SORT_T *a, size_t n)
{
    int depth = 0;
    for (size_t m = n; m > 1; m >>= 1)
        depth += 2;
    SORT_NAME(intro)(a, n, depth);
}

static size_t SORT_NAME(unique)(SORT_T *a, size_t n)
{
    if (n == 0)
        return 0;
    size_t w = 1;
    for (size_t i = 1; i < n; i++)
        if (a[i] != a[w - 1])
            a[w++] = a[i];
    return w;
}
