/* kernels/cuda/cuda_profile.h — optional timing of the CUDA backend's ops by class, with
 * cudaEvents recorded on the backend's stream around every op (for benchmarks; off by
 * default, when it costs one branch per op). C and CUDA; only in CUDA builds. */
#ifndef BIVAE_KERN_CUDA_PROFILE_H
#define BIVAE_KERN_CUDA_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kern kern;

/* Classes, in this order: gemm, sparse (csr products), likelihood, element-wise (bias,
 * scale, colsum, activations, Gaussian layer, accumulate, rows_cyclic), adam, rng,
 * memory (zero, copy, upload, download), topk. */
enum { KERN_CUDA_PROF_CLASSES = 8, KERN_CUDA_PROF_GEMM_SHAPES = 32 };

/* The GEMMs of one shape C[m × n] = op(A)[m × k] · op(B)[k × n]. */
typedef struct kern_cuda_gemm_shape {
    int64_t m, n, k;
    double ms;
    int64_t calls;
} kern_cuda_gemm_shape;

typedef struct kern_cuda_profile {
    double ms[KERN_CUDA_PROF_CLASSES];        /* GPU time between each op's two events */
    int64_t calls[KERN_CUDA_PROF_CLASSES];
    /* the gemm class by shape, in order of first appearance; shapes past the table's
     * size are summed in class gemm only (gemm_shapes_dropped of them) */
    kern_cuda_gemm_shape gemm_shapes[KERN_CUDA_PROF_GEMM_SHAPES];
    int n_gemm_shapes;
    int64_t gemm_shapes_dropped;
} kern_cuda_profile;

const char *kern_cuda_profile_class_name(int c);
/* Starts (or restarts from zero) the timing of k's ops. k must be a CUDA backend. */
void kern_cuda_profile_start(kern *k);
/* Waits for the recorded ops, sums their times into *out and stops timing. */
void kern_cuda_profile_stop(kern *k, kern_cuda_profile *out);
/* Releases the profiler (kern_destroy calls it). */
void kern_cuda_profile_free(kern *k);

/* Elapsed device time between two points of k's stream: begin and end each record a
 * cudaEvent there (no host wait); kern_cuda_timer_ms waits for the end event. */
typedef struct kern_cuda_timer kern_cuda_timer;
kern_cuda_timer *kern_cuda_timer_create(kern *k);
void kern_cuda_timer_begin(kern_cuda_timer *t);
void kern_cuda_timer_end(kern_cuda_timer *t);
double kern_cuda_timer_ms(kern_cuda_timer *t);
void kern_cuda_timer_free(kern_cuda_timer *t);

/* Device memory of k's device: free and total bytes (cudaMemGetInfo). */
void kern_cuda_mem_info(kern *k, size_t *free_bytes, size_t *total_bytes);
/* A short device description, e.g. "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs)". */
void kern_cuda_device_name(kern *k, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
