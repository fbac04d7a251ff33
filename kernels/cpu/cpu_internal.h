/* kernels/cpu/cpu_internal.h — private to the CPU backend: its state and the ops
 * implemented in the separate files of kernels/cpu/. */
#ifndef BIVAE_KERN_CPU_INTERNAL_H
#define BIVAE_KERN_CPU_INTERNAL_H

#include "kernels/kern_impl.h"

typedef struct cpu_state {
    int threads;            /* OpenMP and OpenBLAS threads */
    float *scratch;         /* grow-only scratch (decoder: one float per nonzero) */
    size_t scratch_len;     /* bytes */
    double *row_sums;       /* grow-only per-row partial sums (deterministic reductions) */
    size_t row_sums_len;    /* bytes */
    uint8_t *sel;           /* grow-only row selection flags (adam_rows) */
    int64_t sel_len;
} cpu_state;

static inline cpu_state *cpu_st(kern *k) { return (cpu_state *)k->impl; }
float *cpu_scratch(kern *k, size_t n);          /* >= n floats, reused between calls */
double *cpu_row_sums(kern *k, size_t n);        /* >= n doubles, reused between calls */

/* kernels/cpu/cpu_lik.c */
void cpu_sigmoid_lik_loss_grad(kern *k, kern_lik lik, float *Z, kern_csr X, float scale,
                               float *loss_acc);
/* kernels/cpu/cpu_rng.c */
void cpu_philox_normal(kern *k, float *out, int64_t rows, int64_t cols, uint32_t key0,
                       uint32_t key1, uint32_t ctr3, int64_t id0, int64_t id_stride);
void cpu_philox_uniform(kern *k, float *out, int64_t rows, int64_t cols, uint32_t key0,
                        uint32_t key1, uint32_t ctr3, int64_t id0, int64_t id_stride, float lo,
                        float hi);
/* kernels/cpu/cpu_topk.c */
void cpu_topk_excluding(kern *k, const float *S, int64_t m, int64_t n, kern_csr exclude,
                        int top_k, int32_t *idx, float *val);

#endif
