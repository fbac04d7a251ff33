/* tests/cuemu/cuemu_runtime.cpp — cuemu's CUDA runtime on the CPU: devices, device memory,
 * copies, streams and events, launch-error state, and the fiber scheduler that runs kernels
 * (model: include/cuemu_device.h).
 *
 * Device memory is its own mmap region per allocation, placed so that it ends where a
 * PROT_NONE guard page begins (an access past the end faults). Between launches it is
 * PROT_NONE as a whole, so host code that dereferences a device pointer faults as on a GPU
 * (CUEMU_PROTECT=0 turns that off); launches and the runtime's own copies open it.
 * A fault inside device memory or a guard page is reported with the allocation it hits.
 *
 * Streams are synchronous: every operation completes before its call returns. That is a
 * legal schedule of the asynchronous API, but it hides missing stream synchronization (see
 * README.md, "What cuemu cannot find"). The one exception is the NCCL double
 * (cuemu_nccl.c): its collectives stay pending on their stream until MPI completes them,
 * so cudaStreamQuery says cudaErrorNotReady meanwhile and a collective a rank never joins
 * never completes, as on a GPU.
 *
 * Environment: CUEMU_DEVICES (visible devices, default 1; CUDA_VISIBLE_DEVICES selects
 * among them), CUEMU_MEMORY_GIB (per device, default 16), CUEMU_ORDER=reverse,
 * CUEMU_PROTECT=0, CUEMU_DRIVER (the driver's CUDA version as CUDA numbers it, e.g. 12040;
 * "none": no driver; older than the runtime's: cudaErrorInsufficientDriver, as CUDA). */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <set>
#include <vector>

#include "cuda_runtime.h"

uint3 cuemu_threadIdx, cuemu_blockIdx;
dim3 cuemu_blockDim, cuemu_gridDim;

extern "C" void cuemu_stream_order(cudaStream_t s, const char *what);

[[noreturn]] static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("cuemu: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

/* ---- configuration and devices ------------------------------------------------------- */

static int g_n_physical = -1;                 /* CUEMU_DEVICES */
static std::vector<int> g_visible;            /* visible ordinal → physical id */
static int g_device = 0;                      /* current visible ordinal */
static size_t g_mem_total;
static int g_reverse, g_protect = 1;
static int g_driver_version = CUEMU_RUNTIME_VERSION;   /* CUEMU_DRIVER; 0: no driver */
static cudaError_t g_last_error = cudaSuccess;

static void config_once(void)
{
    if (g_n_physical >= 0)
        return;
    const char *s = getenv("CUEMU_DEVICES");
    g_n_physical = s ? atoi(s) : 1;
    if (g_n_physical < 0)
        g_n_physical = 0;
    const char *vis = getenv("CUDA_VISIBLE_DEVICES");
    if (vis) {   /* as CUDA: the list up to the first invalid entry */
        const char *p = vis;
        while (*p) {
            char *end;
            long id = strtol(p, &end, 10);
            if (end == p || id < 0 || id >= g_n_physical)
                break;
            g_visible.push_back((int)id);
            p = *end == ',' ? end + 1 : end;
            if (*end != ',')
                break;
        }
    } else {
        for (int i = 0; i < g_n_physical; i++)
            g_visible.push_back(i);
    }
    const char *m = getenv("CUEMU_MEMORY_GIB");
    g_mem_total = (size_t)((m ? atof(m) : 16.0) * 1024.0 * 1024.0 * 1024.0);
    const char *o = getenv("CUEMU_ORDER");
    g_reverse = o && !strcmp(o, "reverse");
    const char *pr = getenv("CUEMU_PROTECT");
    g_protect = !(pr && !strcmp(pr, "0"));
    const char *drv = getenv("CUEMU_DRIVER");
    if (drv)
        g_driver_version = !strcmp(drv, "none") ? 0 : atoi(drv);
}

static cudaError_t set_error(cudaError_t e)
{
    if (e != cudaSuccess)
        g_last_error = e;
    return e;
}

extern "C" const char *cudaGetErrorName(cudaError_t e)
{
    switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInitializationError: return "cudaErrorInitializationError";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    }
    return "cudaErrorUnknown";
}

extern "C" const char *cudaGetErrorString(cudaError_t e)
{
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorInsufficientDriver:
        return "CUDA driver version is insufficient for CUDA runtime version";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected (cuemu: CUEMU_DEVICES=0)";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorNotReady: return "device not ready";
    default: return cudaGetErrorName(e);
    }
}

extern "C" cudaError_t cudaGetLastError(void)
{
    cudaError_t e = g_last_error;
    g_last_error = cudaSuccess;
    return e;
}

extern "C" cudaError_t cudaPeekAtLastError(void) { return g_last_error; }

extern "C" cudaError_t cudaGetDeviceCount(int *n)
{
    config_once();
    if (!n)
        return set_error(cudaErrorInvalidValue);
    if (g_driver_version < CUEMU_RUNTIME_VERSION) {   /* as CUDA: also with no driver */
        *n = 0;
        return set_error(cudaErrorInsufficientDriver);
    }
    *n = (int)g_visible.size();
    return g_visible.empty() ? set_error(cudaErrorNoDevice) : cudaSuccess;
}

extern "C" cudaError_t cudaDriverGetVersion(int *version)
{
    config_once();
    if (!version)
        return set_error(cudaErrorInvalidValue);
    *version = g_driver_version;                      /* 0 without a driver, as CUDA */
    return cudaSuccess;
}

extern "C" cudaError_t cudaRuntimeGetVersion(int *version)
{
    if (!version)
        return set_error(cudaErrorInvalidValue);
    *version = CUEMU_RUNTIME_VERSION;
    return cudaSuccess;
}

extern "C" cudaError_t cudaSetDevice(int ordinal)
{
    config_once();
    if (ordinal < 0 || ordinal >= (int)g_visible.size())
        return set_error(cudaErrorInvalidDevice);
    g_device = ordinal;
    return cudaSuccess;
}

extern "C" cudaError_t cudaGetDevice(int *ordinal)
{
    config_once();
    *ordinal = g_device;
    return cudaSuccess;
}

extern "C" int cuemu_physical_device(int ordinal)
{
    config_once();
    return ordinal >= 0 && ordinal < (int)g_visible.size() ? g_visible[(size_t)ordinal] : -1;
}

extern "C" cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int ordinal)
{
    config_once();
    if (!prop)
        return set_error(cudaErrorInvalidValue);
    if (ordinal < 0 || ordinal >= (int)g_visible.size())
        return set_error(cudaErrorInvalidDevice);
    memset(prop, 0, sizeof(*prop));
    snprintf(prop->name, sizeof(prop->name), "cuemu CPU emulation (device %d)",
             g_visible[(size_t)ordinal]);
    prop->totalGlobalMem = g_mem_total;
    prop->sharedMemPerBlock = 48 * 1024;
    prop->warpSize = 32;
    prop->maxThreadsPerBlock = 1024;
    prop->major = 9;
    prop->minor = 0;
    prop->multiProcessorCount = 1;
    return cudaSuccess;
}

/* the emulated device's "PCI bus id": its physical index */
extern "C" cudaError_t cudaDeviceGetPCIBusId(char *bus_id, int len, int ordinal)
{
    config_once();
    if (!bus_id || len < 13)
        return set_error(cudaErrorInvalidValue);
    if (ordinal < 0 || ordinal >= (int)g_visible.size())
        return set_error(cudaErrorInvalidDevice);
    snprintf(bus_id, (size_t)len, "0000:%02x:00.0", g_visible[(size_t)ordinal] & 0xff);
    return cudaSuccess;
}

/* ---- device memory ------------------------------------------------------------------- */

struct allocation {
    char *map;         /* mmap base */
    size_t map_bytes;  /* data pages + guard page */
    char *p;           /* user pointer */
    size_t bytes;
};

static std::map<uintptr_t, allocation> g_allocs;   /* by user pointer */
static allocation g_freed[256];                     /* the latest freed, for fault reports */
static unsigned g_n_freed;
static size_t g_mem_used;
static size_t g_page;
static int g_open_depth;                            /* > 0: device memory accessible */

static size_t page_size(void)
{
    if (!g_page)
        g_page = (size_t)sysconf(_SC_PAGESIZE);
    return g_page;
}

static void protect_one(const allocation &a, int prot)
{
    size_t data = a.map_bytes - page_size();
    if (mprotect(a.map, data, prot) != 0)
        die("mprotect: %s", strerror(errno));
}

/* opens (depth 0 → 1) or closes (1 → 0) all device memory to host access */
static void open_all(void)
{
    if (g_open_depth++ == 0 && g_protect)
        for (auto &kv : g_allocs)
            protect_one(kv.second, PROT_READ | PROT_WRITE);
}

static void close_all(void)
{
    if (--g_open_depth == 0 && g_protect)
        for (auto &kv : g_allocs)
            protect_one(kv.second, PROT_NONE);
}

/* the allocation holding [p, p + bytes), or NULL */
static const allocation *find_alloc(const void *p, size_t bytes)
{
    uintptr_t u = (uintptr_t)p;
    auto it = g_allocs.upper_bound(u);
    if (it == g_allocs.begin())
        return NULL;
    --it;
    const allocation &a = it->second;
    if (u >= (uintptr_t)a.p && u + bytes <= (uintptr_t)a.p + a.bytes)
        return &a;
    return NULL;
}

/* the allocation whose mapping (data or guard) holds p: for the fault report */
static const allocation *find_mapping(const void *p)
{
    for (auto &kv : g_allocs) {
        const allocation &a = kv.second;
        if ((const char *)p >= a.map && (const char *)p < a.map + a.map_bytes)
            return &a;
    }
    return NULL;
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    const allocation *a = find_mapping(si->si_addr);
    char msg[512];
    int n;
    if (a && (char *)si->si_addr >= a->map + a->map_bytes - page_size())
        n = snprintf(msg, sizeof(msg), "cuemu: access at %p is %td bytes past the end of a "
                     "%zu-byte device allocation at %p (out of bounds)\n", si->si_addr,
                     (char *)si->si_addr - (a->p + a->bytes), a->bytes, (void *)a->p);
    else if (a && (char *)si->si_addr < a->p)
        n = snprintf(msg, sizeof(msg), "cuemu: access at %p is %td bytes before a %zu-byte "
                     "device allocation at %p (out of bounds)\n", si->si_addr,
                     a->p - (char *)si->si_addr, a->bytes, (void *)a->p);
    else if (a)
        n = snprintf(msg, sizeof(msg), "cuemu: host code dereferenced device memory at %p "
                     "(offset %td of a %zu-byte allocation at %p): a GPU build would fault "
                     "or read garbage here\n", si->si_addr, (char *)si->si_addr - a->p,
                     a->bytes, (void *)a->p);
    else {
        const allocation *f = NULL;
        for (unsigned i = 0; i < 256 && i < g_n_freed; i++) {
            const allocation *c = &g_freed[i];
            if ((char *)si->si_addr >= c->map && (char *)si->si_addr < c->map + c->map_bytes)
                f = c;
        }
        if (f)
            n = snprintf(msg, sizeof(msg), "cuemu: access at %p: offset %td of a %zu-byte "
                         "device allocation that was freed (use after cudaFree)\n",
                         si->si_addr, (char *)si->si_addr - f->p, f->bytes);
        else
            n = snprintf(msg, sizeof(msg), "cuemu: segmentation fault at %p (not device "
                         "memory)\n", si->si_addr);
    }
    if (n > 0 && write(2, msg, (size_t)n) < 0)
        _exit(139);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_segv_handler(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    /* fibers have small stacks: the handler runs on its own */
    static char alt[64 * 1024];
    stack_t ss;
    memset(&ss, 0, sizeof(ss));
    ss.ss_sp = alt;
    ss.ss_size = sizeof(alt);
    sigaltstack(&ss, NULL);
}

extern "C" cudaError_t cudaMalloc(void **out, size_t bytes)
{
    config_once();
    install_segv_handler();
    if (!out)
        return set_error(cudaErrorInvalidValue);
    *out = NULL;
    if (g_visible.empty())
        return set_error(cudaErrorNoDevice);
    if (bytes == 0)
        return cudaSuccess;
    if (bytes > g_mem_total - g_mem_used)
        return set_error(cudaErrorMemoryAllocation);
    size_t pg = page_size();
    size_t data = (bytes + pg - 1) / pg * pg;
    allocation a;
    a.map_bytes = data + pg;
    a.map = (char *)mmap(NULL, a.map_bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a.map == MAP_FAILED)
        return set_error(cudaErrorMemoryAllocation);
    /* the end of the data touches the guard page; 16-byte aligned start (CUDA promises
     * 256, the backend's vector accesses need at most 16) */
    a.p = (a.map + data - bytes);
    a.p = (char *)((uintptr_t)a.p & ~(uintptr_t)15);
    a.bytes = bytes;
    protect_one(a, g_open_depth > 0 || !g_protect ? PROT_READ | PROT_WRITE : PROT_NONE);
    g_allocs[(uintptr_t)a.p] = a;
    g_mem_used += bytes;
    *out = a.p;
    return cudaSuccess;
}

extern "C" cudaError_t cudaFree(void *p)
{
    if (!p)
        return cudaSuccess;
    auto it = g_allocs.find((uintptr_t)p);
    if (it == g_allocs.end())
        return set_error(cudaErrorInvalidDevicePointer);
    munmap(it->second.map, it->second.map_bytes);   /* use after free faults */
    g_freed[g_n_freed++ % 256] = it->second;
    g_mem_used -= it->second.bytes;
    g_allocs.erase(it);
    return cudaSuccess;
}

extern "C" cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes)
{
    config_once();
    if (free_bytes)
        *free_bytes = g_mem_total - g_mem_used;
    if (total_bytes)
        *total_bytes = g_mem_total;
    return cudaSuccess;
}

extern "C" int cuemu_is_device_pointer(const void *p) { return find_alloc(p, 1) != NULL; }

extern "C" void cuemu_host_access_begin(const void *p, size_t bytes)
{
    if (bytes && !find_alloc(p, bytes))
        die("host access to [%p, +%zu): not inside one device allocation", p, bytes);
    open_all();
}

extern "C" void cuemu_host_access_end(const void *p, size_t bytes)
{
    (void)p;
    (void)bytes;
    close_all();
}

/* a copy's side: device memory must lie inside one allocation, host memory outside all */
static cudaError_t check_side(const void *p, size_t bytes, int device, const char *what)
{
    if (bytes == 0)
        return cudaSuccess;
    if (device) {
        if (!find_alloc(p, bytes)) {
            fprintf(stderr, "cuemu: %s [%p, +%zu bytes) is not inside one device allocation\n",
                    what, p, bytes);
            return set_error(cudaErrorInvalidValue);
        }
    } else if (cuemu_is_device_pointer(p) || cuemu_is_device_pointer((const char *)p + bytes - 1)) {
        fprintf(stderr, "cuemu: %s %p is device memory but the copy kind says host\n", what, p);
        return set_error(cudaErrorInvalidValue);
    }
    return cudaSuccess;
}

/* open / close the allocations of one copy (the others stay closed) */
static void open_pair(const void *a, const void *b, size_t bytes, int prot)
{
    if (!g_protect || g_open_depth > 0 || bytes == 0)
        return;
    const allocation *x = find_alloc(a, bytes), *y = b ? find_alloc(b, bytes) : NULL;
    if (x)
        protect_one(*x, prot);
    if (y && y != x)
        protect_one(*y, prot);
}

static cudaError_t copy_checked(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind)
{
    int dd, sd;
    switch (kind) {
    case cudaMemcpyHostToHost: dd = 0; sd = 0; break;
    case cudaMemcpyHostToDevice: dd = 1; sd = 0; break;
    case cudaMemcpyDeviceToHost: dd = 0; sd = 1; break;
    case cudaMemcpyDeviceToDevice: dd = 1; sd = 1; break;
    case cudaMemcpyDefault: dd = cuemu_is_device_pointer(dst); sd = cuemu_is_device_pointer(src); break;
    default: return set_error(cudaErrorInvalidMemcpyDirection);
    }
    cudaError_t e = check_side(dst, bytes, dd, "destination");
    if (e == cudaSuccess)
        e = check_side(src, bytes, sd, "source");
    if (e != cudaSuccess)
        return e;
    if (bytes && (const char *)dst < (const char *)src + bytes &&
        (const char *)src < (const char *)dst + bytes && dst != src) {
        fprintf(stderr, "cuemu: cudaMemcpy with overlapping ranges (undefined)\n");
        return set_error(cudaErrorInvalidValue);
    }
    open_pair(dst, src, bytes, PROT_READ | PROT_WRITE);
    memcpy(dst, src, bytes);
    open_pair(dst, src, bytes, PROT_NONE);
    return cudaSuccess;
}

extern "C" cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind)
{
    cuemu_stream_order(NULL, "cudaMemcpy");
    return copy_checked(dst, src, bytes, kind);
}

extern "C" cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes,
                                       cudaMemcpyKind kind, cudaStream_t s)
{
    cuemu_stream_order(s, "cudaMemcpyAsync");
    return copy_checked(dst, src, bytes, kind);
}

extern "C" cudaError_t cudaMemcpy2DAsync(void *dst, size_t dpitch, const void *src,
                                         size_t spitch, size_t width, size_t height,
                                         cudaMemcpyKind kind, cudaStream_t s)
{
    cuemu_stream_order(s, "cudaMemcpy2DAsync");
    if (height == 0 || width == 0)
        return cudaSuccess;
    if (width > dpitch || width > spitch)
        return set_error(cudaErrorInvalidValue);   /* as CUDA: the pitch must hold a row */
    for (size_t r = 0; r < height; r++) {
        cudaError_t e = copy_checked((char *)dst + r * dpitch, (const char *)src + r * spitch,
                                     width, kind);
        if (e != cudaSuccess)
            return e;
    }
    return cudaSuccess;
}

extern "C" cudaError_t cudaMemsetAsync(void *p, int value, size_t bytes, cudaStream_t s)
{
    cuemu_stream_order(s, "cudaMemsetAsync");
    cudaError_t e = check_side(p, bytes, 1, "cudaMemset destination");
    if (e != cudaSuccess)
        return e;
    open_pair(p, NULL, bytes, PROT_READ | PROT_WRITE);
    memset(p, value, bytes);
    open_pair(p, NULL, bytes, PROT_NONE);
    return cudaSuccess;
}

extern "C" cudaError_t cudaMemset(void *p, int value, size_t bytes)
{
    return cudaMemsetAsync(p, value, bytes, NULL);
}

/* ---- streams and events (synchronous) ------------------------------------------------ */

struct cuemu_stream {
    int live;
    int (*pending)(void *);   /* non-NULL: work outside the runtime (cuemu_nccl.c) */
    void *pending_ctx;
    long enqueued;                /* pending works set so far */
    std::atomic<long> completed;  /* of them, seen complete (read by other threads) */
};

static std::set<cudaStream_t> g_streams;

/* Work that completes when pending(ctx) returns 0 (polled by query/synchronize). */
extern "C" void cuemu_stream_set_pending(cudaStream_t s, int (*pending)(void *), void *ctx)
{
    s->pending = pending;
    s->pending_ctx = ctx;
    s->enqueued++;
}

/* 1 while s has unfinished outside work */
static int stream_busy(cudaStream_t s)
{
    if (s && s->pending) {
        if (s->pending(s->pending_ctx))
            return 1;
        s->pending = NULL;
        s->completed.store(s->enqueued);
    }
    return 0;
}

/* Before an operation on stream s: the work queued on s before it has finished (in-order
 * streams), and no other stream still runs outside work (a collective) that s did not wait
 * for: with synchronous streams a missing cudaStreamWaitEvent would otherwise go unseen,
 * while on a GPU the operation would race the collective. */
extern "C" void cuemu_stream_order(cudaStream_t s, const char *what)
{
    while (stream_busy(s))
        ;
    for (cudaStream_t t : g_streams)
        if (t != s && stream_busy(t))
            die("%s on stream %p while a collective is still running on stream %p: nothing "
                "orders them (a missing cudaStreamWaitEvent)", what, (void *)s, (void *)t);
}
/* An event completes with the outside work pending on its stream when it was recorded
 * (other work is synchronous: complete at once). */
struct cuemu_event {
    double t;        /* seconds, CLOCK_MONOTONIC; < 0 until recorded */
    cudaStream_t s;  /* NULL: complete */
    long seq;        /* complete once s->completed >= seq */
};

static int event_done(cudaEvent_t e) { return !e->s || e->s->completed.load() >= e->seq; }

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

extern "C" cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags)
{
    config_once();
    (void)flags;
    if (!s)
        return set_error(cudaErrorInvalidValue);
    if (g_visible.empty())
        return set_error(cudaErrorNoDevice);
    *s = new cuemu_stream{1, NULL, NULL, 0, {0}};
    g_streams.insert(*s);
    return cudaSuccess;
}

extern "C" cudaError_t cudaStreamCreate(cudaStream_t *s)
{
    return cudaStreamCreateWithFlags(s, cudaStreamDefault);
}

extern "C" cudaError_t cudaStreamDestroy(cudaStream_t s)
{
    if (!s || s->live != 1)
        return set_error(cudaErrorInvalidResourceHandle);
    while (stream_busy(s))   /* as CUDA: destroying a busy stream lets its work finish */
        ;
    s->live = 0;
    g_streams.erase(s);
    delete s;
    return cudaSuccess;
}

extern "C" cudaError_t cudaStreamSynchronize(cudaStream_t s)
{
    if (s && s->live != 1)
        return set_error(cudaErrorInvalidResourceHandle);
    while (stream_busy(s))
        ;
    return cudaSuccess;
}

extern "C" cudaError_t cudaStreamQuery(cudaStream_t s)
{
    if (s && s->live != 1)
        return set_error(cudaErrorInvalidResourceHandle);
    return stream_busy(s) ? cudaErrorNotReady : cudaSuccess;
}

extern "C" cudaError_t cudaDeviceSynchronize(void)
{
    for (cudaStream_t s : g_streams)
        while (stream_busy(s))
            ;
    return cudaSuccess;
}

extern "C" cudaError_t cudaEventCreate(cudaEvent_t *e)
{
    if (!e)
        return set_error(cudaErrorInvalidValue);
    *e = new cuemu_event{-1.0, NULL, 0};
    return cudaSuccess;
}

extern "C" cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned flags)
{
    (void)flags;
    return cudaEventCreate(e);
}

extern "C" cudaError_t cudaEventDestroy(cudaEvent_t e)
{
    delete e;
    return cudaSuccess;
}

extern "C" cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s)
{
    if (!e || (s && s->live != 1))
        return set_error(cudaErrorInvalidResourceHandle);
    e->t = now_seconds();
    e->s = s && s->pending ? s : NULL;
    e->seq = s ? s->enqueued : 0;
    return cudaSuccess;
}

/* Thread-safe (reads what the host thread's polling wrote): for watchdog threads. */
extern "C" cudaError_t cudaEventQuery(cudaEvent_t e)
{
    if (!e)
        return set_error(cudaErrorInvalidResourceHandle);
    return event_done(e) ? cudaSuccess : cudaErrorNotReady;
}

extern "C" cudaError_t cudaEventSynchronize(cudaEvent_t e)
{
    if (!e)
        return set_error(cudaErrorInvalidResourceHandle);
    while (!event_done(e))
        stream_busy(e->s);
    return cudaSuccess;
}

/* Streams are synchronous, so the host waits for the event here. */
extern "C" cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t e, unsigned flags)
{
    (void)flags;
    if (!e || (s && s->live != 1))
        return set_error(cudaErrorInvalidResourceHandle);
    return cudaEventSynchronize(e);
}

extern "C" cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b)
{
    if (!ms || !a || !b || a->t < 0 || b->t < 0)
        return set_error(cudaErrorInvalidResourceHandle);
    *ms = (float)((b->t - a->t) * 1e3);
    return cudaSuccess;
}

/* ---- fibers -------------------------------------------------------------------------- */

#if defined(__x86_64__)
/* cuemu_ctx_switch(&save_sp, next_sp): saves the callee-saved registers, MXCSR and the x87
 * control word on this stack, stores its pointer, continues on next_sp (System V AMD64). */
extern "C" void cuemu_ctx_switch(void **save_sp, void *next_sp);
__asm__(".text\n"
        ".globl cuemu_ctx_switch\n"
        ".type cuemu_ctx_switch,@function\n"
        "cuemu_ctx_switch:\n"
        "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
        "  subq $8, %rsp\n  stmxcsr (%rsp)\n  fnstcw 4(%rsp)\n"
        "  movq %rsp, (%rdi)\n  movq %rsi, %rsp\n"
        "  ldmxcsr (%rsp)\n  fldcw 4(%rsp)\n  addq $8, %rsp\n"
        "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
        "  ret\n"
        ".size cuemu_ctx_switch, .-cuemu_ctx_switch\n"
        ".section .note.GNU-stack,\"\",@progbits\n"
        ".text\n");
#else
#error "cuemu: fibers are implemented for x86-64 only"
#endif

enum fiber_state { F_RUNNABLE, F_WAIT_BLOCK, F_WAIT_WARP, F_DONE };

struct fiber {
    void *sp;              /* saved stack pointer while not running */
    char *stack;           /* [CUEMU_STACK] */
    fiber_state state;
    uint3 tid;
    long warp_ops;         /* warp collectives this thread has entered (divergence check) */
    const char *site_file; /* and where the one it waits at is */
    int site_line;
    int bar_or;            /* its __syncthreads_or predicate */
};

enum { CUEMU_STACK = 64 * 1024, CUEMU_MAX_THREADS = 1024 };

static fiber g_fibers[CUEMU_MAX_THREADS];
static int g_n_fibers;
static fiber *g_cur;                           /* running fiber, NULL: the scheduler */
static void *g_sched_sp;
static void (*g_body)(void *);
static void *g_body_ctx;
static const char *g_kernel;
static uint64_t g_warp_vals[CUEMU_MAX_THREADS / 32][32];
static int g_bar_or_result;

static int fiber_index(const fiber *f) { return (int)(f - g_fibers); }

static void fiber_entry(void)
{
    g_body(g_body_ctx);
    g_cur->state = F_DONE;
    fiber *f = g_cur;
    g_cur = NULL;
    cuemu_ctx_switch(&f->sp, g_sched_sp);
    die("a finished fiber was resumed");
}

static void fiber_start(fiber *f)
{
    if (!f->stack) {
        f->stack = (char *)mmap(NULL, CUEMU_STACK + page_size(), PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (f->stack == MAP_FAILED)
            die("mmap of a fiber stack: %s", strerror(errno));
        mprotect(f->stack, page_size(), PROT_NONE);   /* overflow guard */
    }
    uintptr_t top = ((uintptr_t)f->stack + CUEMU_STACK + page_size()) & ~(uintptr_t)15;
    void **ret = (void **)(top - 16);                 /* 16-aligned: as if called */
    ret[0] = (void *)fiber_entry;
    void **regs = ret - 7;                            /* mxcsr|fpucw, r15..rbp */
    memset(regs, 0, 7 * sizeof(void *));
    uint32_t csr[2] = {0x1f80u, 0x037fu};
    memcpy(regs, csr, sizeof(csr));
    f->sp = regs;
    f->state = F_RUNNABLE;
    f->warp_ops = 0;
}

static void yield_to_scheduler(fiber_state why)
{
    fiber *f = g_cur;
    if (!f)
        die("kernel %s: a barrier outside of a kernel thread", g_kernel);
    f->state = why;
    g_cur = NULL;
    cuemu_ctx_switch(&f->sp, g_sched_sp);
}

void cuemu_syncthreads(void) { yield_to_scheduler(F_WAIT_BLOCK); }

int cuemu_syncthreads_or(int pred)
{
    g_cur->bar_or = pred != 0;
    yield_to_scheduler(F_WAIT_BLOCK);
    int r = g_bar_or_result;
    /* a second barrier so no thread's next predicate overwrites before all have read */
    yield_to_scheduler(F_WAIT_BLOCK);
    return r;
}

int cuemu_lane(void) { return (int)(fiber_index(g_cur) & 31); }

const uint64_t *cuemu_warp_exchange(unsigned mask, uint64_t value, const char *op,
                                    const char *file, int line)
{
    if (mask != 0xffffffffu)
        die("kernel %s: %s with mask %#x: cuemu supports full-warp masks only", g_kernel, op,
            mask);
    int i = fiber_index(g_cur), w = i / 32;
    if (cuemu_blockDim.x * cuemu_blockDim.y * cuemu_blockDim.z % 32 != 0)
        die("kernel %s: %s with a full mask in a block of %u threads (not whole warps)",
            g_kernel, op, cuemu_blockDim.x * cuemu_blockDim.y * cuemu_blockDim.z);
    g_cur->warp_ops++;
    g_cur->site_file = file;
    g_cur->site_line = line;
    g_warp_vals[w][i % 32] = value;
    yield_to_scheduler(F_WAIT_WARP);   /* every lane has deposited */
    static uint64_t copy[CUEMU_MAX_THREADS][32];
    memcpy(copy[i], g_warp_vals[w], sizeof(copy[i]));
    yield_to_scheduler(F_WAIT_WARP);   /* every lane has read */
    return copy[i];
}

/* After a pass: release the barriers everyone concerned has reached; 1 if any was. */
static int release_barriers(void)
{
    int n = g_n_fibers, live = 0, at_block = 0, released = 0;
    for (int i = 0; i < n; i++) {
        if (g_fibers[i].state != F_DONE)
            live++;
        if (g_fibers[i].state == F_WAIT_BLOCK)
            at_block++;
    }
    if (at_block > 0 && at_block == live && live < n)
        die("kernel %s, block (%u,%u,%u): %d threads wait at __syncthreads that %d threads of "
            "the block exited without reaching (undefined on a GPU: a barrier's condition "
            "must be the same in the whole block)", g_kernel, cuemu_blockIdx.x,
            cuemu_blockIdx.y, cuemu_blockIdx.z, at_block, n - live);
    if (live > 0 && at_block == live) {
        int any = 0;
        for (int i = 0; i < n; i++)
            if (g_fibers[i].state == F_WAIT_BLOCK)
                any |= g_fibers[i].bar_or;
        g_bar_or_result = any;
        for (int i = 0; i < n; i++)
            if (g_fibers[i].state == F_WAIT_BLOCK) {
                g_fibers[i].state = F_RUNNABLE;
                g_fibers[i].bar_or = 0;
            }
        return 1;
    }
    for (int w = 0; w * 32 < n; w++) {
        int waiting = 0, others = 0;
        const fiber *first = NULL;
        for (int i = w * 32; i < w * 32 + 32 && i < n; i++) {
            const fiber *f = &g_fibers[i];
            if (f->state == F_WAIT_WARP) {
                waiting++;
                if (first && (f->warp_ops != first->warp_ops || f->site_line != first->site_line ||
                              strcmp(f->site_file, first->site_file) != 0))
                    die("kernel %s, block (%u,%u,%u), warp %d: lane %d waits at the warp "
                        "collective of %s:%d (its #%ld), lane %d at %s:%d (its #%ld): a "
                        "full-mask collective must be the same one in every lane", g_kernel,
                        cuemu_blockIdx.x, cuemu_blockIdx.y, cuemu_blockIdx.z, w,
                        fiber_index(first) % 32, first->site_file, first->site_line,
                        first->warp_ops, i % 32, f->site_file, f->site_line, f->warp_ops);
                if (!first)
                    first = f;
            } else {
                others++;
            }
        }
        if (waiting && others) {
            for (int i = w * 32; i < w * 32 + 32 && i < n; i++)
                if (g_fibers[i].state == F_DONE)
                    die("kernel %s, block (%u,%u,%u): warp %d has a full-mask warp collective "
                        "after lane %d exited (undefined on a GPU)", g_kernel,
                        cuemu_blockIdx.x, cuemu_blockIdx.y, cuemu_blockIdx.z, w, i % 32);
            continue;   /* the others may still be on their way */
        }
        if (waiting) {
            for (int i = w * 32; i < w * 32 + 32 && i < n; i++)
                g_fibers[i].state = F_RUNNABLE;
            released = 1;
        }
    }
    return released;
}

/* the linker's bounds of the section holding every __shared__ variable */
extern "C" char __start_cuemu_shared[] __attribute__((weak));
extern "C" char __stop_cuemu_shared[] __attribute__((weak));

static void run_block(void)
{
    int n = g_n_fibers;
    if (__start_cuemu_shared && (uintptr_t)__stop_cuemu_shared > (uintptr_t)__start_cuemu_shared)
        memset(__start_cuemu_shared, 0xff, (size_t)(__stop_cuemu_shared - __start_cuemu_shared));
    for (int i = 0; i < n; i++) {
        unsigned t = (unsigned)i, bx = cuemu_blockDim.x, by = cuemu_blockDim.y;
        g_fibers[i].tid = uint3{t % bx, t / bx % by, t / (bx * by)};
        fiber_start(&g_fibers[i]);
    }
    for (;;) {
        int ran = 0;
        for (int j = 0; j < n; j++) {
            fiber *f = &g_fibers[g_reverse ? n - 1 - j : j];
            if (f->state != F_RUNNABLE)
                continue;
            ran = 1;
            cuemu_threadIdx = f->tid;
            g_cur = f;
            cuemu_ctx_switch(&g_sched_sp, f->sp);
        }
        int done = 1;
        for (int i = 0; i < n; i++)
            done &= g_fibers[i].state == F_DONE;
        if (done)
            return;
        if (!release_barriers() && !ran) {
            int at_block = 0, at_warp = 0, fin = 0;
            for (int i = 0; i < n; i++) {
                at_block += g_fibers[i].state == F_WAIT_BLOCK;
                at_warp += g_fibers[i].state == F_WAIT_WARP;
                fin += g_fibers[i].state == F_DONE;
            }
            die("kernel %s, block (%u,%u,%u): deadlock: %d threads at __syncthreads, %d at a "
                "warp collective, %d exited (a barrier not reached by the whole block)",
                g_kernel, cuemu_blockIdx.x, cuemu_blockIdx.y, cuemu_blockIdx.z, at_block,
                at_warp, fin);
        }
    }
}

/* ---- launches ------------------------------------------------------------------------ */

void cuemu_run_grid(const cuemu_config *cfg, const char *kernel, void (*body)(void *),
                    void *ctx)
{
    dim3 g = cfg->grid, b = cfg->block;
    unsigned long threads = (unsigned long)b.x * b.y * b.z;
    if (cfg->stream && cfg->stream->live != 1) {
        set_error(cudaErrorInvalidResourceHandle);
        return;
    }
    if (g.x == 0 || g.y == 0 || g.z == 0 || threads == 0 || g.x > 2147483647u ||
        g.y > 65535 || g.z > 65535 || b.x > 1024 || b.y > 1024 || b.z > 64 ||
        threads > CUEMU_MAX_THREADS || cfg->shmem > 48 * 1024) {
        set_error(cudaErrorInvalidConfiguration);
        return;
    }
    if (g_cur)
        die("kernel %s launched from device code", kernel);
    cuemu_stream_order(cfg->stream, kernel);
    g_body = body;
    g_body_ctx = ctx;
    g_kernel = kernel;
    g_n_fibers = (int)threads;
    cuemu_gridDim = g;
    cuemu_blockDim = b;
    open_all();
    unsigned long blocks = (unsigned long)g.x * g.y * g.z;
    for (unsigned long j = 0; j < blocks; j++) {
        unsigned long bi = g_reverse ? blocks - 1 - j : j;
        cuemu_blockIdx = uint3{(unsigned)(bi % g.x), (unsigned)(bi / g.x % g.y),
                               (unsigned)(bi / ((unsigned long)g.x * g.y))};
        run_block();
    }
    close_all();
}
