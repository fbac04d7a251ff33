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

/* Philox4x32-10 on SIMD registers where the build has them: the 32×32 → 64-bit products
 * are two widening multiplies (even and odd lanes) and blends, the compiler's own
 * vectorization of Random123's loop (64-bit lane products and shuffles) takes about twice
 * as long. Same integers as philox4x32_R(10, ...) (integer arithmetic only); the loop below
 * the SIMD part and the builds without AVX2 run Random123 itself. */
#if defined(__AVX512F__)
#include <immintrin.h>
typedef __m512i philox_vec;
enum { PHILOX_W = 16 };
#define PV_LOAD(p) _mm512_loadu_si512((const void *)(p))
#define PV_STORE(p, x) _mm512_storeu_si512((void *)(p), (x))
#define PV_SET1(x) _mm512_set1_epi32((int)(x))
#define PV_XOR(a, b) _mm512_xor_si512((a), (b))
#define PV_MUL_EVEN(a, m) _mm512_mul_epu32((a), (m))
#define PV_SRL64(a) _mm512_srli_epi64((a), 32)
#define PV_SLL64(a) _mm512_slli_epi64((a), 32)
#define PV_EVEN_ODD(e, o) _mm512_mask_blend_epi32((__mmask16)0xAAAA, (e), (o))
#elif defined(__AVX2__)
#include <immintrin.h>
typedef __m256i philox_vec;
enum { PHILOX_W = 8 };
#define PV_LOAD(p) _mm256_loadu_si256((const __m256i *)(p))
#define PV_STORE(p, x) _mm256_storeu_si256((__m256i *)(p), (x))
#define PV_SET1(x) _mm256_set1_epi32((int)(x))
#define PV_XOR(a, b) _mm256_xor_si256((a), (b))
#define PV_MUL_EVEN(a, m) _mm256_mul_epu32((a), (m))
#define PV_SRL64(a) _mm256_srli_epi64((a), 32)
#define PV_SLL64(a) _mm256_slli_epi64((a), 32)
#define PV_EVEN_ODD(e, o) _mm256_blend_epi32((e), (o), 0xAA)
#endif

#ifdef PV_LOAD
/* hi:lo = a · m per 32-bit lane (m: the multiplier in every lane) */
static inline void pv_mulhilo(philox_vec a, philox_vec m, philox_vec *hi, philox_vec *lo)
{
    philox_vec even = PV_MUL_EVEN(a, m), odd = PV_MUL_EVEN(PV_SRL64(a), m);
    *lo = PV_EVEN_ODD(even, PV_SLL64(odd));
    *hi = PV_EVEN_ODD(PV_SRL64(even), odd);
}

/* Blocks [0, n − n mod PHILOX_W) of philox_chunk; returns how many it did. */
static int64_t philox_chunk_simd(int64_t n, const uint32_t *restrict c0,
                                 const uint32_t *restrict c1, const uint32_t *restrict c2,
                                 uint32_t ctr3, uint32_t key0, uint32_t key1,
                                 uint32_t *const restrict o[4])
{
    const philox_vec m0 = PV_SET1(PHILOX_M4x32_0), m1 = PV_SET1(PHILOX_M4x32_1);
    int64_t b = 0;
    for (; b + PHILOX_W <= n; b += PHILOX_W) {
        philox_vec x0 = PV_LOAD(c0 + b), x1 = PV_LOAD(c1 + b), x2 = PV_LOAD(c2 + b);
        philox_vec x3 = PV_SET1(ctr3);
        uint32_t k0 = key0, k1 = key1;
        for (int round = 0; round < 10; round++) {
            philox_vec hi0, lo0, hi1, lo1;
            pv_mulhilo(x0, m0, &hi0, &lo0);
            pv_mulhilo(x2, m1, &hi1, &lo1);
            x0 = PV_XOR(PV_XOR(hi1, x1), PV_SET1(k0));
            x1 = lo1;
            x2 = PV_XOR(PV_XOR(hi0, x3), PV_SET1(k1));
            x3 = lo0;
            k0 += PHILOX_W32_0;
            k1 += PHILOX_W32_1;
        }
        PV_STORE(o[0] + b, x0);
        PV_STORE(o[1] + b, x1);
        PV_STORE(o[2] + b, x2);
        PV_STORE(o[3] + b, x3);
    }
    return b;
}
#else
static int64_t philox_chunk_simd(int64_t n, const uint32_t *restrict c0,
                                 const uint32_t *restrict c1, const uint32_t *restrict c2,
                                 uint32_t ctr3, uint32_t key0, uint32_t key1,
                                 uint32_t *const restrict o[4])
{
    return 0;
}
#endif

/* One chunk: n blocks with counters {c0[b], c1[b], c2[b], ctr3} → outputs o[j][b]. */
static void philox_chunk(int64_t n, const uint32_t *restrict c0, const uint32_t *restrict c1,
                         const uint32_t *restrict c2, uint32_t ctr3, uint32_t key0,
                         uint32_t key1, uint32_t *const restrict o[4])
{
    int64_t b0 = philox_chunk_simd(n, c0, c1, c2, ctr3, key0, key1, o);
#pragma omp simd
    for (int64_t b = b0; b < n; b++) {
        philox4x32_ctr_t ctr = {{c0[b], c1[b], c2[b], ctr3}};
        philox4x32_key_t key = {{key0, key1}};
        philox4x32_ctr_t r = philox4x32_R(10, ctr, key);
        o[0][b] = r.v[0];
        o[1][b] = r.v[1];
        o[2][b] = r.v[2];
        o[3][b] = r.v[3];
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
} rng_chunk;

/* The row segments of a chunk [b0, b0 + n) of the rows × nb grid of blocks: chunk blocks
 * b .. b + len − 1 are blocks c4 .. c4 + len − 1 of row r. One division per chunk. */
typedef struct row_seg {
    int64_t b, r, c4, len;
} row_seg;

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

static row_seg seg_first(int64_t b0, int64_t n, int64_t nb)
{
    row_seg s = {0, b0 / nb, b0 % nb, 0};
    s.len = min64(nb - s.c4, n);
    return s;
}

static void seg_next(row_seg *s, int64_t n, int64_t nb)
{
    s->b += s->len;
    s->r++;
    s->c4 = 0;
    s->len = min64(nb, n - s->b);
}

/* Counters of blocks [b0, b0 + n): {column block, lo32(id), hi32(id)} */
static void chunk_counters(rng_chunk *ch, int64_t b0, int64_t n, int64_t nb, int64_t id0,
                           int64_t id_stride)
{
    for (row_seg s = seg_first(b0, n, nb); s.b < n; seg_next(&s, n, nb)) {
        int64_t id = id0 + s.r * id_stride;
        uint32_t lo = philox_lo32(id), hi = philox_hi32(id);
        for (int64_t j = 0; j < s.len; j++) {
            ch->c0[s.b + j] = (uint32_t)(s.c4 + j);
            ch->c1[s.b + j] = lo;
            ch->c2[s.b + j] = hi;
        }
    }
}

/* Blocks [b0, b0 + n) of v into out [rows × cols]: output j of block c4 is column 4·c4 + j;
 * the last block of a row keeps only the columns the row has. */
static void chunk_store(const float v[4][CHUNK], int64_t b0, int64_t n, int64_t nb,
                        float *out, int64_t cols)
{
    for (row_seg s = seg_first(b0, n, nb); s.b < n; seg_next(&s, n, nb)) {
        float *o = out + s.r * cols + 4 * s.c4;
        const float *v0 = v[0] + s.b, *v1 = v[1] + s.b, *v2 = v[2] + s.b, *v3 = v[3] + s.b;
        int64_t whole = 4 * (s.c4 + s.len) <= cols ? s.len : s.len - 1;
        for (int64_t j = 0; j < whole; j++) {
            o[4 * j] = v0[j];
            o[4 * j + 1] = v1[j];
            o[4 * j + 2] = v2[j];
            o[4 * j + 3] = v3[j];
        }
        for (int64_t q = 0; whole < s.len && 4 * (s.c4 + whole) + q < cols; q++)
            o[4 * whole + q] = v[q][s.b + whole];
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
        uint32_t *const o[4] = {ch.o[0], ch.o[1], ch.o[2], ch.o[3]};
        philox_chunk(n, ch.c0, ch.c1, ch.c2, ctr3, key0, key1, o);
        chunk_transform(&ch, n, kind, lo, hi, v);
        chunk_store((const float (*)[CHUNK])v, b0, n, nb, out, cols);
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
