/* kernels/cpu/cpu_internal.h — private to the CPU backend: ops implemented in separate
 * files of kernels/cpu/. */
#ifndef BIVAE_KERN_CPU_INTERNAL_H
#define BIVAE_KERN_CPU_INTERNAL_H

#include "kernels/kern_impl.h"

typedef struct cpu_state {
    int threads;
} cpu_state;

/* kernels/cpu/cpu_topk.c */
void cpu_topk_excluding(kern *k, const float *S, int64_t m, int64_t n, kern_csr exclude,
                        int top_k, int32_t *idx, float *val);

#endif
