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
enum { KERN_CUDA_PROF_CLASSES = 8 };

typedef struct kern_cuda_profile {
    double ms[KERN_CUDA_PROF_CLASSES];        /* GPU time between each op's two events */
    int64_t calls[KERN_CUDA_PROF_CLASSES];
} kern_cuda_profile;

const char *kern_cuda_profile_class_name(int c);
/* Starts (or restarts from zero) the timing of k's ops. k must be a CUDA backend. */
void kern_cuda_profile_start(kern *k);
/* Waits for the recorded ops, sums their times into *out and stops timing. */
void kern_cuda_profile_stop(kern *k, kern_cuda_profile *out);
/* Releases the profiler (kern_destroy calls it). */
void kern_cuda_profile_free(kern *k);

/* Device memory of k's device: free and total bytes (cudaMemGetInfo). */
void kern_cuda_mem_info(kern *k, size_t *free_bytes, size_t *total_bytes);
/* A short device description, e.g. "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs)". */
void kern_cuda_device_name(kern *k, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
