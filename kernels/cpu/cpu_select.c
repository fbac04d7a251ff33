/* kernels/cpu/cpu_select.c — which build of the CPU kernels this process runs, and the
 * backend's creation. Compiled once, for the baseline of the build (never with the flags of
 * a faster ISA level: it runs before anything has checked what the CPU has).
 *
 * A portable build (BIVAE_CPU_X86_LEVELS) holds kernels/cpu/ three times, for x86-64
 * (SSE2), x86-64-v3 (AVX2, FMA, BMI2) and x86-64-v4 (AVX-512 F/BW/DQ/VL); the best one this
 * CPU runs is taken, or the one the environment variable BIVAE_CPU_ISA names. Any other
 * build holds one copy, named by BIVAE_CPU_ISA_NAME (the -march it was built with). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/check.h"
#include "kernels/cpu/cpu_internal.h"

/* OpenBLAS extensions: threads of the BLAS pool; the kernel family it picked. */
void openblas_set_num_threads(int num_threads);
char *openblas_get_corename(void);

typedef struct cpu_isa {
    const char *name;
    const kern_ops *ops;
    int level;               /* x86-64 microarchitecture level; 0: not checked */
} cpu_isa;

#ifdef BIVAE_CPU_X86_LEVELS
extern const kern_ops cpu_ops_table_x86_64, cpu_ops_table_x86_64_v3, cpu_ops_table_x86_64_v4;
static const cpu_isa isas[] = {   /* worst first */
    {"x86-64", &cpu_ops_table_x86_64, 1},
    {"x86-64-v3", &cpu_ops_table_x86_64_v3, 3},
    {"x86-64-v4", &cpu_ops_table_x86_64_v4, 4},
};

/* Whether this CPU (and the OS: AVX state saved) runs code built for `level`. gcc >= 12
 * checks the levels themselves; clang (the fuzz build) checks the features it can name. */
static int cpu_runs(int level)
{
    __builtin_cpu_init();
#if defined(__clang__) || !defined(__GNUC__) || __GNUC__ < 12
    int v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
             __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
    int v4 = v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512cd");
#else
    int v3 = __builtin_cpu_supports("x86-64-v3") != 0;
    int v4 = __builtin_cpu_supports("x86-64-v4") != 0;
#endif
    return level <= 1 || (level == 3 && v3) || (level == 4 && v4);
}
#else
#ifndef BIVAE_CPU_ISA_NAME
#define BIVAE_CPU_ISA_NAME "default"
#endif
static const cpu_isa isas[] = {{BIVAE_CPU_ISA_NAME, &cpu_ops_table, 0}};
static int cpu_runs(int level) { return 1; }
#endif

enum { N_ISAS = (int)(sizeof isas / sizeof isas[0]) };

const char *kern_cpu_isa_built(int i) { return i >= 0 && i < N_ISAS ? isas[i].name : NULL; }

static const char *isas_built(void)
{
    static char list[128];
    if (!list[0])
        for (int i = 0; i < N_ISAS; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                     isas[i].name);
    return list;
}

static const cpu_isa *select_isa(char *why, size_t why_len)
{
    const char *want = getenv("BIVAE_CPU_ISA");
    if (!want || !want[0]) {
        for (int i = N_ISAS - 1; i >= 0; i--)
            if (cpu_runs(isas[i].level))
                return &isas[i];
    }
    for (int i = 0; want && i < N_ISAS; i++) {
        if (strcmp(want, isas[i].name) != 0)
            continue;
        if (cpu_runs(isas[i].level))
            return &isas[i];
        snprintf(why, why_len, "BIVAE_CPU_ISA=%s: this CPU cannot run %s code (unset it to "
                 "take the best this CPU runs)", want, want);
        return NULL;
    }
    snprintf(why, why_len, "BIVAE_CPU_ISA=%s: this build holds the CPU kernels for %s only",
             want ? want : "", isas_built());
    return NULL;
}

const char *kern_cpu_isa(char *why, size_t why_len)
{
    const cpu_isa *isa = select_isa(why, why_len);
    return isa ? isa->name : NULL;
}

kern *kern_cpu_create(int threads)
{
    char why[256] = "";
    const cpu_isa *isa = select_isa(why, sizeof why);
    if (!isa)
        FAIL_RUNTIME("%s", why);
    kern *k = xcalloc(1, sizeof(kern));
    cpu_state *st = xcalloc(1, sizeof(cpu_state));
    st->threads = threads > 0 ? threads : 1;
    st->csc.key_nrows = -1;   /* no column view yet */
    openblas_set_num_threads(st->threads);
    k->ops = isa->ops;
    k->impl = st;
    return k;
}

/* OpenBLAS families that use AVX2 at most: on a CPU with AVX-512 (one OpenBLAS does not
 * know, such as AMD Zen 5 for 0.3.21) they leave half of each vector unit idle. */
static int blas_avx2_only(const char *core)
{
    static const char *const avx2[] = {"Haswell", "Zen", "Sandybridge", "Nehalem", "Core2"};
    for (size_t i = 0; i < sizeof avx2 / sizeof avx2[0]; i++)
        if (!strcasecmp(core, avx2[i]))
            return 1;
    return 0;
}

static int cpu_has_avx512(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#else
    return 0;
#endif
}

const char *kern_cpu_blas(char *advice, size_t advice_len)
{
    const char *core = openblas_get_corename();
    core = core && core[0] ? core : "unknown";
    if (!advice || !advice_len)
        return core;
    advice[0] = '\0';
    if (!cpu_has_avx512() || !blas_avx2_only(core))
        return core;
    const char *forced = getenv("OPENBLAS_CORETYPE");
    if (forced && forced[0])
        snprintf(advice, advice_len, "OPENBLAS_CORETYPE=%s (set in the environment) keeps "
                 "OpenBLAS on its %s (AVX2) kernels on this AVX-512 CPU: unset it for "
                 "OpenBLAS's own choice (faster matrix products, other last bits)", forced,
                 core);
    else
        snprintf(advice, advice_len, "OpenBLAS runs its %s (AVX2) kernels on this AVX-512 "
                 "CPU (it does not know the CPU); OPENBLAS_CORETYPE=SkylakeX runs its AVX-512 "
                 "kernels (faster matrix products, other last bits)", core);
    return core;
}
