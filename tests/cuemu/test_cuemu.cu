/* tests/cuemu/test_cuemu.cu — cuemu's own checks, so that a pass of the CUDA tests under
 * cuemu means something: `test_cuemu MODE`
 *   ok         warp collectives, block barriers, __syncthreads_or, atomics, 2-D/3-D indices
 *              and launch-configuration errors give what CUDA specifies (exit 0)
 *   divergent  a __syncthreads only part of a block reaches      → reported, abort
 *   exited     a full-mask __shfl_sync after lanes of the warp returned → reported, abort
 *   sites      lanes of a warp at two different __shfl_sync calls   → reported, abort
 *   freed      a kernel writes to memory already given to cudaFree   → reported, fault
 *   host-deref host code reads device memory                     → reported, fault
 *   oob        a kernel writes one element past an allocation    → reported, fault
 *   race       a read of a neighbour's shared-memory write without a barrier: the result
 *              differs between CUEMU_ORDER=forward and =reverse (prints it; exit 0)
 *   unordered  a kernel on one stream while outside work (a collective) runs on another
 *              that it did not wait for                           → reported, abort
 * ok also checks events: one recorded behind outside work is not ready until that work
 * completes, and cudaStreamWaitEvent orders a later launch after it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime.h>

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);       \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

__global__ void warp_kernel(int *out)   /* out[64 × 6] */
{
    int t = threadIdx.x, lane = t & 31;
    int *o = out + t * 6;
    o[0] = __shfl_sync(0xffffffffu, t * 10, 3);            /* lane 3's value */
    o[1] = __shfl_down_sync(0xffffffffu, t, 4);            /* t + 4, or t at the top */
    o[2] = (int)__ballot_sync(0xffffffffu, lane % 3 == 0);
    o[3] = (int)__match_any_sync(0xffffffffu, lane / 8);   /* lanes of the same octet */
    o[4] = __shfl_xor_sync(0xffffffffu, t, 1);
    double s = t;
    for (int off = 16; off > 0; off >>= 1)
        s += __shfl_down_sync(0xffffffffu, s, off);
    o[5] = lane == 0 ? (int)s : -1;
}

__global__ void block_kernel(int *out, unsigned *count)   /* 2 blocks × (8 × 4) threads */
{
    __shared__ int buf[32];
    int t = threadIdx.y * blockDim.x + threadIdx.x;
    buf[t] = t + 100 * (int)blockIdx.x;
    __syncthreads();
    out[blockIdx.x * 32 + t] = buf[31 - t];
    int any = __syncthreads_or(t == 17 && blockIdx.x == 1);
    out[64 + blockIdx.x * 32 + t] = any;
    atomicAdd(count, 1u);
}

__global__ void divergent_kernel(int *out)
{
    if (threadIdx.x < 16)
        __syncthreads();
    out[threadIdx.x] = 1;
}

__global__ void exited_kernel(int *out)
{
    if (threadIdx.x >= 16)
        return;
    out[threadIdx.x] = __shfl_sync(0xffffffffu, (int)threadIdx.x, 0);
}

__global__ void sites_kernel(int *out)
{
    if (threadIdx.x < 16)
        out[threadIdx.x] = __shfl_sync(0xffffffffu, (int)threadIdx.x, 0);
    else
        out[threadIdx.x] = __shfl_sync(0xffffffffu, (int)threadIdx.x, 1);
}

__global__ void fill_one_kernel(int *out) { out[threadIdx.x] = 1; }

__global__ void oob_kernel(float *x, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i <= n)   /* the bug: one past the end */
        x[i] = 1.0f;
}

__global__ void race_kernel(int *out)
{
    __shared__ int buf[64];
    buf[threadIdx.x] = (int)threadIdx.x + 1;
    /* missing __syncthreads() */
    out[threadIdx.x] = buf[(threadIdx.x + 1) % 64];
}

extern "C" void cuemu_stream_set_pending(cudaStream_t s, int (*pending)(void *), void *ctx);

/* outside work that completes after *polls_left more polls */
static int busy_for(void *ctx)
{
    int *polls_left = (int *)ctx;
    return (*polls_left)-- > 0;
}

/* An event behind outside work on stream `other` orders a launch on `mine`. */
static void check_events(void)
{
    cudaStream_t mine, other;
    cudaEvent_t done;
    int *d = NULL, h[64 * 6], polls_left = 3;
    CHECK(cudaStreamCreateWithFlags(&mine, 1) == cudaSuccess);
    CHECK(cudaStreamCreateWithFlags(&other, 1) == cudaSuccess);
    CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming) == cudaSuccess);
    CHECK(cudaMalloc(&d, sizeof(h)) == cudaSuccess);
    cuemu_stream_set_pending(other, busy_for, &polls_left);
    CHECK(cudaEventRecord(done, other) == cudaSuccess);
    CHECK(cudaEventQuery(done) == cudaErrorNotReady);   /* nobody polled the work yet */
    CHECK(cudaStreamWaitEvent(mine, done, 0) == cudaSuccess);
    CHECK(cudaEventQuery(done) == cudaSuccess && polls_left < 0);
    warp_kernel<<<1, 64, 0, mine>>>(d);                 /* ordered: no report */
    CHECK(cudaGetLastError() == cudaSuccess);
    CHECK(cudaEventRecord(done, other) == cudaSuccess);   /* nothing outside: complete */
    CHECK(cudaEventQuery(done) == cudaSuccess);
    CHECK(cudaFree(d) == cudaSuccess && cudaEventDestroy(done) == cudaSuccess);
    CHECK(cudaStreamDestroy(mine) == cudaSuccess && cudaStreamDestroy(other) == cudaSuccess);
}

static void check_ok(void)
{
    check_events();
    int *d = NULL, h[64 * 6];
    CHECK(cudaMalloc(&d, sizeof(h)) == cudaSuccess);
    warp_kernel<<<1, 64>>>(d);
    CHECK(cudaGetLastError() == cudaSuccess);
    CHECK(cudaMemcpy(h, d, sizeof(h), cudaMemcpyDeviceToHost) == cudaSuccess);
    for (int t = 0; t < 64; t++) {
        int lane = t & 31, w = t / 32, *o = h + t * 6;
        unsigned ballot = 0, match = 0;
        for (int l = 0; l < 32; l++) {
            ballot |= (l % 3 == 0 ? 1u : 0u) << l;
            match |= (l / 8 == lane / 8 ? 1u : 0u) << l;
        }
        CHECK(o[0] == (w * 32 + 3) * 10);
        CHECK(o[1] == (lane + 4 < 32 ? t + 4 : t));
        CHECK((unsigned)o[2] == ballot);
        CHECK((unsigned)o[3] == match);
        CHECK(o[4] == (t ^ 1));
        /* lane 0's tree sum = Σ of its warp's t (the shifted-in values stay in range) */
        CHECK(o[5] == (lane == 0 ? 32 * w * 32 + 31 * 32 / 2 : -1));
    }
    CHECK(cudaFree(d) == cudaSuccess);

    int *b = NULL, hb[128];
    unsigned *count = NULL, hc = 0;
    CHECK(cudaMalloc(&b, sizeof(hb)) == cudaSuccess);
    CHECK(cudaMalloc(&count, sizeof(unsigned)) == cudaSuccess);
    CHECK(cudaMemset(count, 0, sizeof(unsigned)) == cudaSuccess);
    block_kernel<<<2, dim3(8, 4)>>>(b, count);
    CHECK(cudaGetLastError() == cudaSuccess);
    CHECK(cudaMemcpy(hb, b, sizeof(hb), cudaMemcpyDeviceToHost) == cudaSuccess);
    CHECK(cudaMemcpy(&hc, count, sizeof(hc), cudaMemcpyDeviceToHost) == cudaSuccess);
    for (int blk = 0; blk < 2; blk++)
        for (int t = 0; t < 32; t++) {
            CHECK(hb[blk * 32 + t] == 31 - t + 100 * blk);
            CHECK(hb[64 + blk * 32 + t] == blk);
        }
    CHECK(hc == 64);

    /* configuration errors are reported by cudaGetLastError, nothing runs */
    warp_kernel<<<1, 2048>>>(d);
    CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
    warp_kernel<<<dim3(1, 70000), 32>>>(d);
    CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
    CHECK(cudaGetLastError() == cudaSuccess);   /* not sticky */

    /* copies: the kind must match the memory */
    int host[4] = {0};
    CHECK(cudaMemcpy(host, b, sizeof(host), cudaMemcpyHostToDevice) != cudaSuccess);
    CHECK(cudaMemcpy(b, host, sizeof(hb) + 4, cudaMemcpyHostToDevice) != cudaSuccess);
    (void)cudaGetLastError();
    CHECK(cudaFree(b) == cudaSuccess && cudaFree(count) == cudaSuccess);
    printf("test_cuemu ok: warp collectives, barriers, atomics, launch and copy checks, "
           "events\n");
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "ok";
    int *d = NULL;
    if (!strcmp(mode, "ok")) {
        check_ok();
        return 0;
    }
    CHECK(cudaMalloc(&d, 64 * sizeof(int)) == cudaSuccess);
    if (!strcmp(mode, "divergent")) {
        divergent_kernel<<<1, 32>>>(d);
    } else if (!strcmp(mode, "exited")) {
        exited_kernel<<<1, 32>>>(d);
    } else if (!strcmp(mode, "sites")) {
        sites_kernel<<<1, 32>>>(d);
    } else if (!strcmp(mode, "freed")) {
        CHECK(cudaFree(d) == cudaSuccess);
        fill_one_kernel<<<1, 32>>>(d);   /* the bug: d was freed */
    } else if (!strcmp(mode, "host-deref")) {
        printf("read %d\n", d[3]);   /* the bug: d is device memory */
    } else if (!strcmp(mode, "oob")) {
        float *x = NULL;
        CHECK(cudaMalloc(&x, 1000 * sizeof(float)) == cudaSuccess);
        oob_kernel<<<4, 256>>>(x, 1000);
    } else if (!strcmp(mode, "unordered")) {
        cudaStream_t mine, other;
        int polls_left = 1000000;
        CHECK(cudaStreamCreateWithFlags(&mine, 1) == cudaSuccess);
        CHECK(cudaStreamCreateWithFlags(&other, 1) == cudaSuccess);
        cuemu_stream_set_pending(other, busy_for, &polls_left);
        fill_one_kernel<<<1, 32, 0, mine>>>(d);   /* the bug: nothing waits for `other` */
    } else if (!strcmp(mode, "race")) {
        int h[64];
        race_kernel<<<1, 64>>>(d);
        CHECK(cudaMemcpy(h, d, sizeof(h), cudaMemcpyDeviceToHost) == cudaSuccess);
        int stale = 0;
        for (int t = 0; t < 64; t++)
            stale += h[t] != (t + 1) % 64 + 1;
        printf("race: %d of 64 reads saw a stale value\n", stale);
        return 0;
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    CHECK(cudaGetLastError() == cudaSuccess);
    printf("%s: not detected\n", mode);
    return 0;
}
