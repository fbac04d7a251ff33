/* kernels/cuda/cuda_profile.cu — see cuda_profile.h. Each timed op records a start and an
 * end event on the backend's stream; the events are pooled and summed at stop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/cuda_internal.h"
#include "kernels/cuda/cuda_profile.h"

typedef struct cu_prof_mark {
    cudaEvent_t begin, end;
    int cls;
} cu_prof_mark;

struct cu_prof {
    int on;
    int open_cls;              /* class of the op between begin and end, −1 when none */
    cu_prof_mark *marks;       /* [cap], the first n used since start */
    size_t n, cap;
};

static const char *const class_names[KERN_CUDA_PROF_CLASSES] = {
    "gemm", "sparse", "likelihood", "elementwise", "adam", "rng", "memory", "topk"};

extern "C" const char *kern_cuda_profile_class_name(int c)
{
    return c >= 0 && c < KERN_CUDA_PROF_CLASSES ? class_names[c] : "?";
}

static cu_prof_mark *next_mark(cu_prof *p)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 1024;
        p->marks = (cu_prof_mark *)xrealloc(p->marks, cap * sizeof(cu_prof_mark));
        for (size_t i = p->cap; i < cap; i++) {
            CUDA_CHECK(cudaEventCreate(&p->marks[i].begin));
            CUDA_CHECK(cudaEventCreate(&p->marks[i].end));
        }
        p->cap = cap;
    }
    return &p->marks[p->n];
}

void cu_prof_begin(kern *k, cu_prof_class c)
{
    cu_prof *p = cu_st(k)->prof;
    if (!p || !p->on)
        return;
    cu_prof_mark *m = next_mark(p);
    m->cls = (int)c;
    p->open_cls = (int)c;
    CUDA_CHECK(cudaEventRecord(m->begin, cu_st(k)->stream));
}

void cu_prof_end(kern *k, cu_prof_class c)
{
    cu_prof *p = cu_st(k)->prof;
    if (!p || !p->on || p->open_cls != (int)c)
        return;
    CUDA_CHECK(cudaEventRecord(p->marks[p->n].end, cu_st(k)->stream));
    p->n++;
    p->open_cls = -1;
}

extern "C" void kern_cuda_profile_start(kern *k)
{
    if (k->ops->device != KERN_DEVICE_CUDA)
        FAIL_RUNTIME("kern_cuda_profile_start: backend %s is not CUDA", k->ops->name);
    cuda_state *st = cu_st(k);
    if (!st->prof)
        st->prof = (cu_prof *)xcalloc(1, sizeof(cu_prof));
    st->prof->on = 1;
    st->prof->n = 0;
    st->prof->open_cls = -1;
}

extern "C" void kern_cuda_profile_stop(kern *k, kern_cuda_profile *out)
{
    memset(out, 0, sizeof(*out));
    if (k->ops->device != KERN_DEVICE_CUDA)
        FAIL_RUNTIME("kern_cuda_profile_stop: backend %s is not CUDA", k->ops->name);
    cu_prof *p = cu_st(k)->prof;
    if (!p)
        return;
    CUDA_CHECK(cudaStreamSynchronize(cu_st(k)->stream));
    for (size_t i = 0; i < p->n; i++) {
        float ms = 0.0f;
        CUDA_CHECK(cudaEventElapsedTime(&ms, p->marks[i].begin, p->marks[i].end));
        out->ms[p->marks[i].cls] += ms;
        out->calls[p->marks[i].cls]++;
    }
    p->on = 0;
    p->n = 0;
}

extern "C" void kern_cuda_profile_free(kern *k)
{
    cu_prof *p = cu_st(k)->prof;
    if (!p)
        return;
    for (size_t i = 0; i < p->cap; i++) {
        CUDA_CHECK(cudaEventDestroy(p->marks[i].begin));
        CUDA_CHECK(cudaEventDestroy(p->marks[i].end));
    }
    free(p->marks);
    free(p);
    cu_st(k)->prof = NULL;
}

extern "C" void kern_cuda_mem_info(kern *k, size_t *free_bytes, size_t *total_bytes)
{
    CUDA_CHECK(cudaSetDevice(cu_st(k)->device));
    CUDA_CHECK(cudaMemGetInfo(free_bytes, total_bytes));
}

extern "C" void kern_cuda_device_name(kern *k, char *buf, size_t len)
{
    cudaDeviceProp prop;
    CUDA_CHECK(cudaGetDeviceProperties(&prop, cu_st(k)->device));
    snprintf(buf, len, "%s (sm_%d%d, %d SMs, %.1f GiB)", prop.name, prop.major, prop.minor,
             prop.multiProcessorCount, (double)prop.totalGlobalMem / (1024.0 * 1024 * 1024));
}
