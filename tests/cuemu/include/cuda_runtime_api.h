/* tests/cuemu/include/cuda_runtime_api.h — cuemu: the host API (see cuda_runtime.h). */
#include "cuda_runtime.h"
