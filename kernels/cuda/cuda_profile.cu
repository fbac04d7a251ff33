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
    int64_t m, n, k;           /* a GEMM's shape (cu_prof_gemm_shape); 0 otherwise */
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
    m->m = m->n = m->k = 0;
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

void cu_prof_gemm_shape(kern *k, int64_t M, int64_t N, int64_t K)
{
    cu_prof *p = cu_st(k)->prof;
    if (!p || !p->on || p->open_cls < 0)
        return;
    p->marks[p->n].m = M;
    p->marks[p->n].n = N;
    p->marks[p->n].k = K;
}

/* Adds one GEMM mark's time to its shape's entry in out (a new entry when there is room). */
static void add_gemm_shape(kern_cuda_profile *out, const cu_prof_mark *mk, double ms)
{
    int i = 0;
    while (i < out->n_gemm_shapes && !(out->gemm_shapes[i].m == mk->m &&
           out->gemm_shapes[i].n == mk->n && out->gemm_shapes[i].k == mk->k))
        i++;
    if (i == out->n_gemm_shapes) {
        if (i == KERN_CUDA_PROF_GEMM_SHAPES) {
            out->gemm_shapes_dropped++;
            return;
        }
        kern_cuda_gemm_shape z = {mk->m, mk->n, mk->k, 0.0, 0};
        out->gemm_shapes[out->n_gemm_shapes++] = z;
    }
    out->gemm_shapes[i].ms += ms;
    out->gemm_shapes[i].calls++;
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
        if (p->marks[i].cls == CU_PROF_GEMM)
            add_gemm_shape(out, &p->marks[i], ms);
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

/* ---- stream timers ------------------------------------------------------------------- */

struct kern_cuda_timer {
    kern *k;
    cudaEvent_t begin, end;
};

extern "C" kern_cuda_timer *kern_cuda_timer_create(kern *k)
{
    if (k->ops->device != KERN_DEVICE_CUDA)
        FAIL_RUNTIME("kern_cuda_timer_create: backend %s is not CUDA", k->ops->name);
    kern_cuda_timer *t = (kern_cuda_timer *)xcalloc(1, sizeof(kern_cuda_timer));
    t->k = k;
    CUDA_CHECK(cudaSetDevice(cu_st(k)->device));
    CUDA_CHECK(cudaEventCreate(&t->begin));
    CUDA_CHECK(cudaEventCreate(&t->end));
    return t;
}

extern "C" void kern_cuda_timer_begin(kern_cuda_timer *t)
{
    CUDA_CHECK(cudaEventRecord(t->begin, cu_st(t->k)->stream));
}

extern "C" void kern_cuda_timer_end(kern_cuda_timer *t)
{
    CUDA_CHECK(cudaEventRecord(t->end, cu_st(t->k)->stream));
}

extern "C" double kern_cuda_timer_ms(kern_cuda_timer *t)
{
    float ms = 0.0f;
    CUDA_CHECK(cudaEventSynchronize(t->end));
    CUDA_CHECK(cudaEventElapsedTime(&ms, t->begin, t->end));
    return (double)ms;
}

extern "C" void kern_cuda_timer_free(kern_cuda_timer *t)
{
    if (!t)
        return;
    CUDA_CHECK(cudaEventDestroy(t->begin));
    CUDA_CHECK(cudaEventDestroy(t->end));
    free(t);
}
