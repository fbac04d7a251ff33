/* partition/hash.h — 64-bit mixing and counter-based random streams (header only).
 *
 * Everything random in partition/ (the split, the id permutation, the synthetic data) is a
 * pure function of its inputs through these, so results never depend on the rank count. */
#ifndef BIVAE_PARTITION_HASH_H
#define BIVAE_PARTITION_HASH_H

#include <stdint.h>

#define HASH_GOLDEN 0x9e3779b97f4a7c15ULL

/* splitmix64 finalizer: a bijection of 64-bit words with full avalanche. */
static inline uint64_t hash_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t hash2(uint64_t a, uint64_t b)
{
    return hash_mix64(hash_mix64(a + HASH_GOLDEN) ^ (b + 0x632be59bd9b4e019ULL));
}

static inline uint64_t hash3(uint64_t a, uint64_t b, uint64_t c)
{
    return hash_mix64(hash2(a, b) ^ (c + 0x85157af5a0b0f1bbULL));
}

/* A 64-bit word mapped to [0, 1) with 53 bits. */
static inline double hash_unit(uint64_t h) { return (double)(h >> 11) * 0x1.0p-53; }

/* splitmix64 stream: the state is a counter, so a stream is fixed by its seed. */
typedef struct rng64 { uint64_t s; } rng64;

static inline rng64 rng64_seed(uint64_t seed) { rng64 r = {hash_mix64(seed)}; return r; }
static inline uint64_t rng64_next(rng64 *r) { return hash_mix64(r->s += HASH_GOLDEN); }
static inline double rng64_unit(rng64 *r) { return hash_unit(rng64_next(r)); }
/* Uniform in [0, n), n >= 1 (bias below 2^-32 for n < 2^32). */
static inline uint64_t rng64_below(rng64 *r, uint64_t n) { return rng64_next(r) % n; }

#endif
