/* partition/alias.c — see alias.h (Vose's method) */
#include "partition/alias.h"

#include <stdlib.h>

#include "common/check.h"

void alias_table_build(alias_table *t, const double *w, int64_t n)
{
    t->n = n;
    t->prob = xmalloc(sizeof(double) * (size_t)n);
    t->alias = xmalloc(sizeof(int32_t) * (size_t)n);
    int32_t *small = xmalloc(sizeof(int32_t) * (size_t)n);
    int32_t *large = xmalloc(sizeof(int32_t) * (size_t)n);
    double sum = 0;
    for (int64_t k = 0; k < n; k++)
        sum += w[k];
    int64_t ns = 0, nl = 0;
    for (int64_t k = 0; k < n; k++) {
        t->prob[k] = w[k] * (double)n / sum;           /* scaled: mean 1 */
        t->alias[k] = (int32_t)k;
        if (t->prob[k] < 1.0)
            small[ns++] = (int32_t)k;
        else
            large[nl++] = (int32_t)k;
    }
    while (ns > 0 && nl > 0) {
        int32_t s = small[--ns], l = large[nl - 1];
        t->alias[s] = l;                               /* s keeps prob[s], gives the rest to l */
        t->prob[l] -= 1.0 - t->prob[s];
        if (t->prob[l] < 1.0) {
            nl--;
            small[ns++] = l;
        }
    }
    while (nl > 0)                                     /* leftovers (rounding): always kept */
        t->prob[large[--nl]] = 1.0;
    while (ns > 0)
        t->prob[small[--ns]] = 1.0;
    free(small);
    free(large);
}

void alias_table_free(alias_table *t)
{
    free(t->prob);
    free(t->alias);
    t->prob = NULL;
    t->alias = NULL;
}
