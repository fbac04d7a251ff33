/* tests/cuemu/include/cuemu_device.h — cuemu's device side (C++ only): what CUDA C++ adds to
 * C++ for kernels, run on the CPU.
 *
 * Execution model: a launch runs its blocks one after the other; within a block every CUDA
 * thread is a fiber (its own small stack) on the calling OS thread. A fiber runs until it
 * finishes or reaches a barrier (__syncthreads*, or a warp collective: __shfl*_sync,
 * __ballot_sync, __match_any_sync), and the scheduler resumes the waiting fibers once every
 * thread the barrier is for has arrived. So barriers behave as on a GPU, and these are
 * reported and abort (they are undefined behaviour or a hang on a GPU):
 *   - a block barrier some live threads never reach while others wait (divergent barrier);
 *   - a full-mask warp collective while a lane of that warp has exited or is elsewhere;
 *   - threads per block not a multiple of 32 with a full-mask warp collective.
 *   - a block barrier some threads of the block skip by exiting (undefined: the barrier's
 *     condition must be the same in the whole block).
 * Shared memory reads 0xff bytes until written (a NaN for floats, -1 for integers).
 * Between barriers threads run in a fixed order, thread 0 first (CUEMU_ORDER=reverse: the
 * last first), so a missing barrier shows as wrong results in one order or the other.
 * Atomics are plain read-modify-writes (one OS thread). */
#ifndef CUEMU_DEVICE_H
#define CUEMU_DEVICE_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <tuple>
#include <type_traits>
#include <utility>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
/* shared memory: static storage in one section, poisoned (0xff bytes) before every block,
 * since a GPU's shared memory starts with garbage, not with the last block's values */
#define __shared__ __attribute__((section("cuemu_shared"))) static
#define __constant__ static const
#define __launch_bounds__(...)

struct uint3 {
    unsigned x, y, z;
};

struct dim3 {
    unsigned x, y, z;
    dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

/* the running CUDA thread's coordinates (set by the scheduler before it resumes a fiber) */
extern uint3 cuemu_threadIdx, cuemu_blockIdx;
extern dim3 cuemu_blockDim, cuemu_gridDim;
#define threadIdx cuemu_threadIdx
#define blockIdx cuemu_blockIdx
#define blockDim cuemu_blockDim
#define gridDim cuemu_gridDim
static const int warpSize = 32;

/* ---- barriers (cuemu_runtime.cpp) --------------------------------------------------- */
void cuemu_syncthreads(void);
int cuemu_syncthreads_or(int pred);
/* The warp collective: deposits this lane's 8-byte value, waits for the whole warp (mask
 * must be 0xffffffff), and returns the 32 values of the warp (lane order). */
const uint64_t *cuemu_warp_exchange(unsigned mask, uint64_t value, const char *op,
                                    const char *file, int line);
int cuemu_lane(void);

static inline void __syncthreads(void) { cuemu_syncthreads(); }
static inline int __syncthreads_or(int pred) { return cuemu_syncthreads_or(pred); }

template <typename T> static inline uint64_t cuemu_bits(T v)
{
    static_assert(sizeof(T) <= 8, "cuemu: warp values of at most 8 bytes");
    uint64_t b = 0;
    memcpy(&b, &v, sizeof(T));
    return b;
}

template <typename T> static inline T cuemu_unbits(uint64_t b)
{
    T v;
    memcpy(&v, &b, sizeof(T));
    return v;
}

template <typename T> static inline T cuemu_shfl_sync(const char *file, int line, unsigned mask, T v, int src, int width = 32)
{
    const uint64_t *all = cuemu_warp_exchange(mask, cuemu_bits(v), "__shfl_sync", file, line);
    int lane = cuemu_lane(), base = lane - lane % width;
    return cuemu_unbits<T>(all[base + ((src % width) + width) % width]);
}

template <typename T>
static inline T cuemu_shfl_down_sync(const char *file, int line, unsigned mask, T v, unsigned delta, int width = 32)
{
    const uint64_t *all = cuemu_warp_exchange(mask, cuemu_bits(v), "__shfl_down_sync", file, line);
    int lane = cuemu_lane(), base = lane - lane % width;
    int src = lane + (int)delta;
    return src < base + width ? cuemu_unbits<T>(all[src]) : v;
}

template <typename T>
static inline T cuemu_shfl_xor_sync(const char *file, int line, unsigned mask, T v, int lane_mask, int width = 32)
{
    const uint64_t *all = cuemu_warp_exchange(mask, cuemu_bits(v), "__shfl_xor_sync", file, line);
    int lane = cuemu_lane(), base = lane - lane % width;
    int src = lane ^ lane_mask;
    return src >= base && src < base + width ? cuemu_unbits<T>(all[src]) : v;
}

static inline unsigned cuemu_ballot_sync(const char *file, int line, unsigned mask, int pred)
{
    const uint64_t *all = cuemu_warp_exchange(mask, pred ? 1u : 0u, "__ballot_sync", file, line);
    unsigned b = 0;
    for (int l = 0; l < 32; l++)
        b |= (all[l] ? 1u : 0u) << l;
    return b;
}

template <typename T>
static inline unsigned cuemu_match_any_sync(const char *file, int line, unsigned mask, T v)
{
    uint64_t mine = cuemu_bits(v);
    const uint64_t *all = cuemu_warp_exchange(mask, mine, "__match_any_sync", file, line);
    unsigned b = 0;
    for (int l = 0; l < 32; l++)
        b |= (all[l] == mine ? 1u : 0u) << l;
    return b;
}

/* the call site goes along, so lanes at different collectives are told apart */
#define __shfl_sync(...) cuemu_shfl_sync(__FILE__, __LINE__, __VA_ARGS__)
#define __shfl_down_sync(...) cuemu_shfl_down_sync(__FILE__, __LINE__, __VA_ARGS__)
#define __shfl_xor_sync(...) cuemu_shfl_xor_sync(__FILE__, __LINE__, __VA_ARGS__)
#define __ballot_sync(...) cuemu_ballot_sync(__FILE__, __LINE__, __VA_ARGS__)
#define __match_any_sync(...) cuemu_match_any_sync(__FILE__, __LINE__, __VA_ARGS__)

/* ---- atomics: one OS thread runs every CUDA thread, so plain updates are atomic ------- */
/* *p = f(*p), returning the old value */
template <typename T, typename F> static inline T cuemu_rmw(T *p, F f)
{
    T old = *p;
    *p = f(old);
    return old;
}
template <typename T> static inline T atomicAdd(T *p, T v)
{
    return cuemu_rmw(p, [v](T o) { return o + v; });
}
template <typename T> static inline T atomicOr(T *p, T v)
{
    return cuemu_rmw(p, [v](T o) { return o | v; });
}
template <typename T> static inline T atomicAnd(T *p, T v)
{
    return cuemu_rmw(p, [v](T o) { return o & v; });
}
template <typename T> static inline T atomicMax(T *p, T v)
{
    return cuemu_rmw(p, [v](T o) { return o > v ? o : v; });
}
template <typename T> static inline T atomicMin(T *p, T v)
{
    return cuemu_rmw(p, [v](T o) { return o < v ? o : v; });
}
template <typename T> static inline T atomicCAS(T *p, T compare, T v)
{
    return cuemu_rmw(p, [compare, v](T o) { return o == compare ? v : o; });
}
template <typename T> static inline T atomicExch(T *p, T v)
{
    return cuemu_rmw(p, [v](T) { return v; });
}

/* ---- intrinsics ---------------------------------------------------------------------- */
static inline int __popc(unsigned x) { return __builtin_popcount(x); }
static inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
static inline int __ffs(int x) { return __builtin_ffs(x); }
static inline int __ffsll(long long x) { return __builtin_ffsll(x); }
static inline int __clz(int x) { return x ? __builtin_clz((unsigned)x) : 32; }
static inline unsigned __float_as_uint(float f) { return cuemu_bits(f) & 0xffffffffu; }
static inline float __uint_as_float(unsigned u) { return cuemu_unbits<float>(u); }
static inline int __float_as_int(float f) { return (int)__float_as_uint(f); }
static inline float __int_as_float(int i) { return __uint_as_float((unsigned)i); }
template <typename T> static inline T __ldg(const T *p) { return *p; }

/* sin(πx), cos(πx): in double, then rounded (CUDA's are within 1 ulp) */
static inline void sincospif(float x, float *s, float *c)
{
    double a = 3.14159265358979323846 * (double)x;
    *s = (float)sin(a);
    *c = (float)cos(a);
}
static inline float sinpif(float x) { return (float)sin(3.14159265358979323846 * (double)x); }
static inline float cospif(float x) { return (float)cos(3.14159265358979323846 * (double)x); }

/* as cuda_runtime.h: typed cudaMalloc in C++ */
template <typename T> static inline cudaError_t cudaMalloc(T **p, size_t bytes)
{
    return cudaMalloc((void **)p, bytes);
}

/* ---- launches: `k<<<grid, block, shmem, stream>>>(args)` is rewritten by translate.py to
 * `cuemu_launch(cuemu_config(grid, block, shmem, stream), "k", k, args)` ---------------- */
struct cuemu_config {
    dim3 grid, block;
    size_t shmem;
    cudaStream_t stream;
};
static inline cuemu_config cuemu_cfg(dim3 grid, dim3 block, size_t shmem = 0,
                                      cudaStream_t stream = 0)
{
    cuemu_config c = {grid, block, shmem, stream};
    return c;
}

/* runs body(ctx) once per CUDA thread of the launch (cuemu_runtime.cpp) */
void cuemu_run_grid(const cuemu_config *cfg, const char *kernel, void (*body)(void *),
                    void *ctx);

template <typename... P, typename... A>
static inline void cuemu_launch(const cuemu_config &cfg, const char *kernel, void (*k)(P...),
                                A &&...a)
{
    static_assert(sizeof...(P) == sizeof...(A), "cuemu: kernel argument count");
    struct closure {
        void (*k)(P...);
        std::tuple<typename std::decay<P>::type...> args;
    } c = {k, std::tuple<typename std::decay<P>::type...>(std::forward<A>(a)...)};
    cuemu_run_grid(&cfg, kernel, [](void *ctx) {
        closure *cl = (closure *)ctx;
        std::apply(cl->k, cl->args);
    }, &c);
}

#endif
