/* partition/synth_counts.c — how many ratings each synthetic user has, and which
 * "forced" item slots it carries (so that every item is rated).
 *
 * count[v] = m + extra[v], m = min(20, I). The extras follow Lomax weights w[v] (a power
 * law starting at 0, so many users have the minimum), are
 * water-filled under the cap capx = floor(0.6 I) - m - 1 (the level lambda with
 * Σ min(capx, lambda w) = E = nnz - U m), then rounded by cumulative rounding, which keeps
 * the exact sum E and moves each value by less than 1 (so count <= floor(0.6 I)).
 * Everything is O(U) and identical on every rank. */
#include <math.h>
#include <stdlib.h>

#include "common/check.h"
#include "partition/hash.h"
#include "partition/synth_model.h"

#define TAG_ACTIVITY 0x61637469ULL

static void lomax_weights(int64_t U, uint64_t seed, double *w)
{
    for (int64_t v = 0; v < U; v++) {
        double u = hash_unit(hash2(seed ^ TAG_ACTIVITY, (uint64_t)v));   /* [0, 1) */
        w[v] = pow(1.0 - u, -1.0 / SYNTH_ACTIVITY_ALPHA) - 1.0;          /* Lomax, >= 0 */
    }
}

/* The level lambda: raising it caps more users; iterate until the capped set is stable
 * (lambda only grows, so this ends). */
static double water_level(const double *w, int64_t U, double E, double capx)
{
    double lambda = 0, sum = 0;
    for (int64_t v = 0; v < U; v++)
        sum += w[v];
    lambda = E / sum;
    for (;;) {
        double free_w = 0;
        int64_t capped = 0;
        for (int64_t v = 0; v < U; v++) {
            if (lambda * w[v] >= capx)
                capped++;
            else
                free_w += w[v];
        }
        if (free_w <= 0)
            return lambda;
        double next = (E - (double)capped * capx) / free_w;
        if (next <= lambda)
            return lambda;
        lambda = next;
    }
}

/* extra[v] from the real targets min(capx, lambda w[v]), summing exactly to E. */
static void round_cumulative(const double *w, int64_t U, double lambda, double capx, int64_t E,
                             int64_t maxx, int64_t *extra)
{
    double acc = 0;
    int64_t prev = 0;
    for (int64_t v = 0; v < U; v++) {
        double x = lambda * w[v];
        acc += x < capx ? x : capx;
        int64_t r = llround(acc);
        if (r > E)
            r = E;
        extra[v] = r - prev;
        prev = r;
    }
    int64_t diff = E - prev;                         /* floating-point slack: tiny */
    while (diff != 0) {
        int64_t before = diff;
        for (int64_t v = U - 1; v >= 0 && diff != 0; v--) {
            int64_t step = diff > 0 ? (extra[v] < maxx) : -(extra[v] > 0);
            extra[v] += step;
            diff -= step;
        }
        if (diff == before)
            FAIL_RUNTIME("synthetic user counts cannot reach %lld ratings", (long long)E);
    }
}

void synth_user_counts(const synth_shape *s, uint64_t seed, int64_t *count)
{
    int64_t U = s->U, m = s->I < SYNTH_MIN_PER_USER ? s->I : SYNTH_MIN_PER_USER;
    int64_t hi = (int64_t)(SYNTH_MAX_USER_FRAC * (double)s->I);
    int64_t maxx = hi > m ? hi - m : 0;
    double capx = maxx > 1 ? (double)(maxx - 1) : (double)maxx;
    double *w = xmalloc(sizeof(double) * (size_t)U);
    lomax_weights(U, seed, w);
    int64_t E = s->nnz - U * m;
    double lambda = water_level(w, U, (double)E, capx);
    round_cumulative(w, U, lambda, capx, E, maxx, count);
    for (int64_t v = 0; v < U; v++)
        count[v] += m;
    free(w);
}

__extension__ typedef unsigned __int128 u128;

/* first[v] = floor(I * C(v) / nnz), C(v) = ratings of the users before v: user v carries
 * I * count[v] / nnz slots, rounded, at most count[v] (as I <= nnz). */
void synth_forced_slots(const synth_shape *s, const int64_t *count, int64_t *first)
{
    u128 cum = 0;
    for (int64_t v = 0; v <= s->U; v++) {
        first[v] = (int64_t)(cum * (u128)s->I / (u128)s->nnz);
        if (v < s->U)
            cum += (u128)count[v];
    }
}
