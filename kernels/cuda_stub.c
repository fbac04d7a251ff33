/* kernels/cuda_stub.c — the CUDA entry points of kernels.h in a build without CUDA: no
 * device, and the reason says why, so `--device cuda` fails with one clear line. */
#include <stdio.h>

#include "kernels/kernels.h"

static const char no_cuda[] = "this build has no CUDA backend: it was built without nvcc or "
                               "with -DBIVAE_ENABLE_CUDA=OFF";

int kern_cuda_device_count(char *reason, size_t reason_len)
{
    if (reason && reason_len)
        snprintf(reason, reason_len, "%s", no_cuda);
    return 0;
}

kern *kern_cuda_create(int ordinal, kern_gemm_math math, char *err, size_t err_len)
{
    (void)ordinal;
    (void)math;
    if (err && err_len)
        snprintf(err, err_len, "%s", no_cuda);
    return NULL;
}

void *kern_cuda_stream(kern *k)
{
    (void)k;
    return NULL;
}

int64_t kern_cuda_launches(const kern *k)
{
    (void)k;
    return 0;
}
