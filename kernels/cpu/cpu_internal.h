/* kernels/cpu/cpu_internal.h — private to the CPU backend: its state and the ops
 * implemented in the separate files of kernels/cpu/. */
#ifndef BIVAE_KERN_CPU_INTERNAL_H
#define BIVAE_KERN_CPU_INTERNAL_H

#include "kernels/kern_impl.h"

/* A portable build compiles the files of kernels/cpu/ once per x86-64 ISA level
 * (kernels/CMakeLists.txt), each copy with CPU_ISA_SUFFIX (_x86_64, _x86_64_v3, ...) so
 * that its external names stay apart; kernels/cpu_select.c picks one table at start-up. */
#ifdef CPU_ISA_SUFFIX
#define CPU_PASTE_(a, b) a##b
#define CPU_PASTE(a, b) CPU_PASTE_(a, b)
#define cpu_ops_table CPU_PASTE(cpu_ops_table, CPU_ISA_SUFFIX)
#define cpu_scratch CPU_PASTE(cpu_scratch, CPU_ISA_SUFFIX)
#define cpu_row_sums CPU_PASTE(cpu_row_sums, CPU_ISA_SUFFIX)
#define cpu_sigmoid_lik_loss_grad CPU_PASTE(cpu_sigmoid_lik_loss_grad, CPU_ISA_SUFFIX)
#define cpu_philox_normal CPU_PASTE(cpu_philox_normal, CPU_ISA_SUFFIX)
#define cpu_philox_uniform CPU_PASTE(cpu_philox_uniform, CPU_ISA_SUFFIX)
#define cpu_topk_excluding CPU_PASTE(cpu_topk_excluding, CPU_ISA_SUFFIX)
#define cpu_csc_scratch CPU_PASTE(cpu_csc_scratch, CPU_ISA_SUFFIX)
#define cpu_csr_matmul_bias CPU_PASTE(cpu_csr_matmul_bias, CPU_ISA_SUFFIX)
#define cpu_csr_t_matmul_add CPU_PASTE(cpu_csr_t_matmul_add, CPU_ISA_SUFFIX)
#define cpu_colset_create CPU_PASTE(cpu_colset_create, CPU_ISA_SUFFIX)
#define cpu_colset_free CPU_PASTE(cpu_colset_free, CPU_ISA_SUFFIX)
#define cpu_colset_build CPU_PASTE(cpu_colset_build, CPU_ISA_SUFFIX)
#define cpu_zero_rows_of_cols CPU_PASTE(cpu_zero_rows_of_cols, CPU_ISA_SUFFIX)
#define cpu_colset_t_matmul_add CPU_PASTE(cpu_colset_t_matmul_add, CPU_ISA_SUFFIX)
#endif

/* grow-only scratch of the column view of a CSR (kernels/cpu/cpu_sparse.c) */
typedef struct cpu_csc_buffers {
    int64_t *start;         /* [ncols + 1] */
    int32_t *cols;          /* [nnz] */
    int64_t *ptr;           /* [nnz + 1] */
    int32_t *rows;          /* [nnz] */
    size_t start_len, cols_len, ptr_len, rows_len;   /* bytes */
    /* the CSR the view was made of, kept to reuse the view for the same ones (a first layer
     * runs forward, backward and the refresh forward on one batch) */
    int64_t key_nrows, key_ncols, n_used;   /* key_nrows < 0: no view */
    int64_t *key_rowptr;    /* [key_nrows + 1] */
    int32_t *key_col;       /* [nnz] */
    size_t key_rowptr_len, key_col_len;     /* bytes */
} cpu_csc_buffers;

typedef struct cpu_state {
    int threads;            /* OpenMP and OpenBLAS threads */
    float *scratch;         /* grow-only scratch (decoder: one float per nonzero) */
    size_t scratch_len;     /* bytes */
    double *row_sums;       /* grow-only per-row partial sums (deterministic reductions) */
    size_t row_sums_len;    /* bytes */
    cpu_csc_buffers csc;
} cpu_state;

/* Float sums in CPU_LANES fixed lanes: entry i goes to lane i mod CPU_LANES, and the lanes
 * are added in one fixed order at the end (cpu_lanes_total). Every addition then comes in
 * the same order whatever vector width the compiler picks (SSE2, AVX2, AVX-512 or none), so
 * each ISA build of these kernels gives the same bits (kernels/cpu/cpu_lik.c, the KL sum). */
enum { CPU_LANES = 16 };

static inline float cpu_lanes_total(const float acc[CPU_LANES])
{
    float s = 0.0f;
    for (int l = 0; l < CPU_LANES; l++)
        s += acc[l];
    return s;
}

static inline cpu_state *cpu_st(kern *k) { return (cpu_state *)k->impl; }
extern const kern_ops cpu_ops_table;            /* kernels/cpu/cpu_kernels.c */
float *cpu_scratch(kern *k, size_t n);          /* >= n floats, reused between calls */
double *cpu_row_sums(kern *k, size_t n);        /* >= n doubles, reused between calls */
cpu_csc_buffers *cpu_csc_scratch(kern *k, int64_t nrows, int64_t ncols, int64_t nnz);
                                                /* sized for an [nrows × ncols] CSR */

/* The CPU's kern_colset (kern_colset.impl): X's distinct columns cols[u], u < n_used,
 * ascending (rows of a matrix then come in memory order), and for each the rows
 * rows[ptr[u] .. ptr[u + 1]) of X (ascending, relative to its first row) that have a one
 * there. slot[c] = u for the listed columns (the others' entries are stale). A build costs
 * O(ones + n_used + ncols / 64). */
typedef struct cpu_colset {
    uint64_t *seen;         /* [ncols / 64] build scratch, zero between builds */
    int32_t *slot;          /* [ncols] */
    int32_t *cols;          /* [ncols] */
    int64_t *ptr;           /* [ncols + 1] */
    int64_t *next;          /* [ncols] build scratch */
    int32_t *rows;          /* [rows_cap] */
    int64_t n_used, rows_cap;
} cpu_colset;

/* kernels/cpu/cpu_sparse.c */
void cpu_csr_matmul_bias(kern *k, kern_csr X, const float *W, const float *b, int64_t n,
                         float *Y);
void cpu_csr_t_matmul_add(kern *k, kern_csr X, const float *G_Y, int64_t n, float *G_W);
void *cpu_colset_create(kern *k, int64_t ncols, int64_t max_nrows);
void cpu_colset_free(kern *k, void *impl);
void cpu_colset_build(kern *k, kern_colset *cs, kern_csr X);
void cpu_zero_rows_of_cols(kern *k, float *G, int64_t width, const kern_colset *cs);
void cpu_colset_t_matmul_add(kern *k, const kern_colset *cs, const float *G_Y, int64_t n,
                             float *G_W);

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
