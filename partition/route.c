/* partition/route.c — see route.h */
#include "partition/route.h"

#include <stdlib.h>
#include <string.h>

#include "common/check.h"

static inline int owner_of(const char *rec, int P)
{
    int32_t g;
    memcpy(&g, rec, sizeof g);
    return (int)(g % P);
}

void *route_by_owner(comm *c, void *v, size_t n, size_t elem_size, size_t *n_recv)
{
    int P = comm_size(c);
    if (P == 1) {
        *n_recv = n;
        return v;
    }
    const char *src = v;
    size_t *counts = xcalloc((size_t)P, sizeof(size_t));
    size_t *fill = xmalloc(sizeof(size_t) * (size_t)P);
    for (size_t k = 0; k < n; k++)
        counts[owner_of(src + k * elem_size, P)]++;
    size_t off = 0;
    for (int r = 0; r < P; r++) {
        fill[r] = off;
        off += counts[r];
    }
    char *send = xmalloc(n * elem_size);                 /* [n] grouped by destination */
    for (size_t k = 0; k < n; k++) {
        const char *rec = src + k * elem_size;
        memcpy(send + fill[owner_of(rec, P)]++ * elem_size, rec, elem_size);
    }
    free(v);
    void *recv = comm_alltoallv_bytes(c, send, counts, elem_size, n_recv, NULL);
    free(send);
    free(counts);
    free(fill);
    return recv;
}
