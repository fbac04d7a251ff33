/* kernels/cpu/cpu_rng.c — Philox4x32-10 normals and uniforms (see kernels.h for the
 * counter layout). Blocks of counters are processed in chunks laid out as separate arrays,
 * so that Random123's philox4x32_R and the float Box–Muller (the vectorizable log and
 * sin/cos of cpu_math.h, a few ulp from the exact transform) vectorize. */
#include <math.h>

#include <Random123/philox.h>

#include "kernels/cpu/cpu_internal.h"
#include "kernels/cpu/cpu_math.h"
#include "kernels/philox_util.h"

enum { CHUNK = 512 };   /* Philox blocks per chunk */

/* One chunk: n blocks with counters {c0[b], c1[b], c2[b], ctr3} → outputs o[4][b]. */
static void philox_chunk(int64_t n, const uint32_t *restrict c0, const uint32_t *restrict c1,
                         const uint32_t *restrict c2, uint32_t ctr3, uint32_t key0,
                         uint32_t key1, uint32_t *restrict o0, uint32_t *restrict o1,
                         uint32_t *restrict o2, uint32_t *restrict o3)
{
#pragma omp simd
    for (int64_t b = 0; b < n; b++) {
        philox4x32_ctr_t ctr = {{c0[b], c1[b], c2[b], ctr3}};
        philox4x32_key_t key = {{key0, key1}};
        philox4x32_ctr_t r = philox4x32_R(10, ctr, key);
        o0[b] = r.v[0];
        o1[b] = r.v[1];
        o2[b] = r.v[2];
        o3[b] = r.v[3];
    }
}

/* (u0, u1) → two normals by Box–Muller, in place: u0 gets ρ cos 2πu1, u1 gets ρ sin 2πu1. */
static void box_muller_chunk(int64_t n, const uint32_t *restrict a, const uint32_t *restrict b,
                             float *restrict x, float *restrict y)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        float rho = sqrtf(-2.0f * fast_logf(philox_u01_open0(a[i])));
        float s, c;
        fast_sincos_2pi(philox_u01(b[i]), &s, &c);
        x[i] = rho * c;
        y[i] = rho * s;
    }
}

typedef struct rng_chunk {
    uint32_t c0[CHUNK], c1[CHUNK], c2[CHUNK], o[4][CHUNK];
    int64_t row[CHUNK], col[CHUNK];  /* where block b's first output goes */
} rng_chunk;

/* Counters of blocks [b0, b0 + n) of a rows × ceil(cols/4) grid. */
static void chunk_counters(rng_chunk *ch, int64_t b0, int64_t n, int64_t nb, int64_t id0,
                           int64_t id_stride)
{
    int64_t r = b0 / nb, c4 = b0 % nb;   /* one division per chunk, not per block */
    for (int64_t b = 0; b < n; b++) {
        int64_t id = id0 + r * id_stride;
        ch->c0[b] = (uint32_t)c4;
        ch->c1[b] = philox_lo32(id);
        ch->c2[b] = philox_hi32(id);
        ch->row[b] = r;
        ch->col[b] = 4 * c4;
        if (++c4 == nb) {
            c4 = 0;
            r++;
        }
    }
}

static void chunk_store(const rng_chunk *ch, const float *const v[4], int64_t n, float *out,
                        int64_t cols)
{
    for (int64_t b = 0; b < n; b++) {
        float *o = out + ch->row[b] * cols + ch->col[b];
        if (ch->col[b] + 4 <= cols) {            /* a whole block: no bounds to check */
            o[0] = v[0][b], o[1] = v[1][b], o[2] = v[2][b], o[3] = v[3][b];
            continue;
        }
        for (int64_t j = 0; ch->col[b] + j < cols; j++)
            o[j] = v[j][b];
    }
}

/* The 4 integer streams of a chunk → 4 float streams: Box–Muller pairs (normal) or lo +
 * (hi − lo)·u (uniform). */
typedef enum { RNG_NORMAL, RNG_UNIFORM } rng_kind;

static void chunk_transform(const rng_chunk *ch, int64_t n, rng_kind kind, float lo, float hi,
                            float v[4][CHUNK])
{
    if (kind == RNG_NORMAL) {
        box_muller_chunk(n, ch->o[0], ch->o[1], v[0], v[1]);
        box_muller_chunk(n, ch->o[2], ch->o[3], v[2], v[3]);
        return;
    }
    for (int j = 0; j < 4; j++)
        for (int64_t b = 0; b < n; b++)
            v[j][b] = lo + (hi - lo) * philox_u01(ch->o[j][b]);
}

static void philox_fill(kern *k, float *out, int64_t rows, int64_t cols, uint32_t key0,
                        uint32_t key1, uint32_t ctr3, int64_t id0, int64_t id_stride,
                        rng_kind kind, float lo, float hi)
{
    int64_t nb = (cols + 3) / 4, total = rows * nb;
#pragma omp parallel for num_threads(cpu_st(k)->threads) schedule(static)
    for (int64_t b0 = 0; b0 < total; b0 += CHUNK) {
        rng_chunk ch;
        float v[4][CHUNK];
        int64_t n = total - b0 < CHUNK ? total - b0 : CHUNK;
        chunk_counters(&ch, b0, n, nb, id0, id_stride);
        philox_chunk(n, ch.c0, ch.c1, ch.c2, ctr3, key0, key1, ch.o[0], ch.o[1], ch.o[2],
                     ch.o[3]);
        chunk_transform(&ch, n, kind, lo, hi, v);
        const float *vp[4] = {v[0], v[1], v[2], v[3]};
        chunk_store(&ch, vp, n, out, cols);
    }
}

void cpu_philox_normal(kern *k, float *out, int64_t rows, int64_t cols, uint32_t key0,
                       uint32_t key1, uint32_t ctr3, int64_t id0, int64_t id_stride)
{
    philox_fill(k, out, rows, cols, key0, key1, ctr3, id0, id_stride, RNG_NORMAL, 0.0f, 0.0f);
}

void cpu_philox_uniform(kern *k, float *out, int64_t rows, int64_t cols, uint32_t key0,
                        uint32_t key1, uint32_t ctr3, int64_t id0, int64_t id_stride, float lo,
                        float hi)
{
    philox_fill(k, out, rows, cols, key0, key1, ctr3, id0, id_stride, RNG_UNIFORM, lo, hi);
}
