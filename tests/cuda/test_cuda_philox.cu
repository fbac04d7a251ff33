/* tests/cuda/test_cuda_philox.cu — the 32-bit Philox4x32-10 outputs of philox_util.h
 * computed in device code equal the host's, word for word, for random keys and counters
 * (all four counter words and both key words exercised), and match Random123's
 * known-answer vectors on the device. Skips (77) without a CUDA device. */
#include <stdio.h>
#include <stdlib.h>

#include <cuda_runtime.h>

#include "kernels/philox_util.h"

#define CHECK(call)                                                                        \
    do {                                                                                   \
        cudaError_t e_ = (call);                                                           \
        if (e_ != cudaSuccess) {                                                           \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call,          \
                    cudaGetErrorString(e_));                                               \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

/* in[i]: {k0, k1, c0, c1, c2, c3}; out[i]: the 4 outputs */
__global__ void philox_kernel(const uint32_t *in, uint32_t *out, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    const uint32_t *a = in + 6 * i;
    philox_block(a[0], a[1], a[2], a[3], a[4], a[5], out + 4 * i);
}

static uint32_t next_u32(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t x = *s ^ (*s >> 33);
    return (uint32_t)(x * 0xff51afd7ed558ccdull >> 32);
}

int main(void)
{
    int ndev = 0;
    cudaError_t e = cudaGetDeviceCount(&ndev);
    if (e != cudaSuccess || ndev == 0) {
        printf("SKIP: no CUDA device: %s\n",
               e != cudaSuccess ? cudaGetErrorString(e) : "no CUDA-capable device is visible");
        return 77;
    }
    enum { N = 1 << 16, KAT = 3 };
    static const uint32_t kat_in[KAT][6] = {
        {0, 0, 0, 0, 0, 0},
        {~0u, ~0u, ~0u, ~0u, ~0u, ~0u},
        {0xa4093822u, 0x299f31d0u, 0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}};
    static const uint32_t kat_out[KAT][4] = {
        {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u},
        {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu},
        {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}};
    uint32_t *in = (uint32_t *)malloc(sizeof(uint32_t) * 6 * N);
    uint32_t *out = (uint32_t *)malloc(sizeof(uint32_t) * 4 * N);
    uint64_t s = 12345;
    for (int i = 0; i < 6 * N; i++)
        in[i] = next_u32(&s);
    for (int i = 0; i < KAT; i++)
        for (int j = 0; j < 6; j++)
            in[6 * i + j] = kat_in[i][j];
    uint32_t *d_in, *d_out;
    CHECK(cudaMalloc(&d_in, sizeof(uint32_t) * 6 * N));
    CHECK(cudaMalloc(&d_out, sizeof(uint32_t) * 4 * N));
    CHECK(cudaMemcpy(d_in, in, sizeof(uint32_t) * 6 * N, cudaMemcpyHostToDevice));
    philox_kernel<<<(N + 255) / 256, 256>>>(d_in, d_out, N);
    CHECK(cudaGetLastError());
    CHECK(cudaMemcpy(out, d_out, sizeof(uint32_t) * 4 * N, cudaMemcpyDeviceToHost));
    int bad = 0;
    for (int i = 0; i < N; i++) {
        uint32_t h[4];
        const uint32_t *a = in + 6 * i;
        philox_block(a[0], a[1], a[2], a[3], a[4], a[5], h);
        for (int j = 0; j < 4; j++)
            if (h[j] != out[4 * i + j] || (i < KAT && out[4 * i + j] != kat_out[i][j])) {
                if (bad++ < 5)
                    fprintf(stderr, "block %d word %d: device %08x host %08x\n", i, j,
                            out[4 * i + j], h[j]);
            }
    }
    CHECK(cudaFree(d_in));
    CHECK(cudaFree(d_out));
    free(in);
    free(out);
    if (bad) {
        fprintf(stderr, "%d Philox words differ between device and host\n", bad);
        return 1;
    }
    printf("philox: %d blocks (%d words) identical on device and host, known answers ok\n", N,
           4 * N);
    return 0;
}
