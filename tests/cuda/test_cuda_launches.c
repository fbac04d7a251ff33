/* tests/cuda/test_cuda_launches.c — kern_cuda_launches counts every stream operation the
 * CUDA backend queues (what bench_gpu's launches per step rest on): one per memset, copy,
 * upload, download, GEMM and kernel launch, including the memset inside an op (the
 * likelihood: its bitmap's memset, the bitmap kernel, the pass, the loss finisher); none for
 * a copy onto itself; 0 for the CPU backend. Skips (77) without a CUDA device. */
#include <stdio.h>
#include <stdlib.h>

#include "kernels/kernels.h"

static int failures;

/* The launches op queued against want. */
static void expect(const char *op, int64_t before, int64_t after, int64_t want)
{
    if (after - before == want)
        return;
    fprintf(stderr, "FAIL: %s: %lld stream operations counted, want %lld\n", op,
            (long long)(after - before), (long long)want);
    failures++;
}

#define COUNTED(k, want, call)                                                             \
    do {                                                                                   \
        int64_t before_ = kern_cuda_launches(k);                                          \
        call;                                                                              \
        expect(#call, before_, kern_cuda_launches(k), want);                               \
    } while (0)

int main(void)
{
    char reason[256] = "";
    if (kern_cuda_device_count(reason, sizeof reason) == 0) {
        printf("SKIP: no CUDA device: %s\n", reason);
        return 77;
    }
    kern *cpu = kern_cpu_create(1);
    if (kern_cuda_launches(cpu) != 0) {
        fprintf(stderr, "FAIL: the CPU backend reports %lld launches\n",
                (long long)kern_cuda_launches(cpu));
        failures++;
    }
    kern_destroy(cpu);
    kern *k = kern_cuda_create(0, KERN_GEMM_FP32, reason, sizeof reason);
    if (!k) {
        fprintf(stderr, "kern_cuda_create failed: %s\n", reason);
        return 1;
    }
    enum { ROWS = 2, COLS = 40 };
    float host[ROWS * COLS];
    for (int i = 0; i < ROWS * COLS; i++)
        host[i] = 0.01f * (float)(i % 17) - 0.05f;
    const int64_t rowptr_h[ROWS + 1] = {0, 1, 2};
    const int32_t col_h[2] = {3, 17};
    float *Z = kern_alloc(k, sizeof host), *Y = kern_alloc(k, sizeof host);   /* [2 × 40] */
    float *C = kern_alloc(k, ROWS * ROWS * sizeof(float));                     /* [2 × 2] */
    float *loss = kern_alloc(k, sizeof(float));
    int64_t *rowptr = kern_alloc(k, sizeof rowptr_h);
    int32_t *col = kern_alloc(k, sizeof col_h);
    kern_upload(k, rowptr, rowptr_h, sizeof rowptr_h);
    kern_upload(k, col, col_h, sizeof col_h);
    kern_csr X = {ROWS, COLS, rowptr, col};
    COUNTED(k, 1, kern_upload(k, Z, host, sizeof host));
    COUNTED(k, 1, kern_zero(k, Y, sizeof host));
    COUNTED(k, 1, kern_copy(k, Y, Z, sizeof host));
    COUNTED(k, 0, kern_copy(k, Y, Y, sizeof host));
    COUNTED(k, 1, kern_copy_rows(k, Y, COLS, Z, COLS, ROWS, COLS / 2));
    COUNTED(k, 1, kern_gemm(k, KERN_NO_TRANS, KERN_TRANS, ROWS, ROWS, COLS, 1.0f, Z, COLS, Y,
                            COLS, 0.0f, C, ROWS));
    COUNTED(k, 1, kern_act_forward(k, KERN_ACT_TANH, Z, Y, ROWS * COLS));
    COUNTED(k, 4, kern_sigmoid_lik_loss_grad(k, KERN_LIK_POIS, Z, X, 1.0f, loss));
    COUNTED(k, 1, kern_download(k, host, Z, sizeof host));
    void *all[] = {Z, Y, C, loss, rowptr, col};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        kern_free(k, all[i]);
    kern_destroy(k);
    if (failures)
        return 1;
    printf("cuda_launches: OK\n");
    return 0;
}
