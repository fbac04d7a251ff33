/* partition/synth_feat.c — --synthetic-features: noisy linear views of the synthetic
 * users' and items' latent topics (synth.h). */
#include <math.h>
#include <stdlib.h>

#include "common/check.h"
#include "partition/hash.h"
#include "partition/synth_model.h"

#define TAG_FEAT_MIX 0x666d6978ULL      /* "fmix": the mixing matrix A_side */
#define TAG_FEAT_EPS 0x66657073ULL      /* "feps": the noise */

/* A standard normal from a counter-based stream (Box-Muller, first output). */
static double normal(rng64 *r)
{
    double u1 = ((double)(rng64_next(r) >> 11) + 1.0) * 0x1.0p-53;     /* (0, 1] */
    double u2 = rng64_unit(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* A_side [D × T], entries N(0, 1), each from its own stream (any D: the same leading rows). */
static double *mixing_matrix(const synth_model *m, int side, int D)
{
    double *A = xmalloc(sizeof(double) * (size_t)D * (size_t)m->T);   /* [D × T] */
    for (int d = 0; d < D; d++)
        for (int t = 0; t < m->T; t++) {
            rng64 r = rng64_seed(hash3(m->seed ^ TAG_FEAT_MIX, (uint64_t)side,
                                       (uint64_t)d * (uint64_t)m->T + (uint64_t)t));
            A[(size_t)d * (size_t)m->T + (size_t)t] = normal(&r);
        }
    return A;
}

/* z [T] of raw id `id` of the side. */
static void latent(const synth_model *m, synth_work *w, int side, int64_t id, double *z)
{
    for (int t = 0; t < m->T; t++)
        z[t] = 0.0;
    if (side == 1) {
        z[m->topic[id - 1]] = 1.0;
        return;
    }
    int k = synth_user_topics(m, w, id);
    for (int a = 0; a < k; a++) {
        z[w->pref[a]] = 1.0 / k;
        w->preferred[w->pref[a]] = 0;
    }
}

void synth_features(const synth_shape *s, uint64_t seed, int side, int D, const int64_t *ids,
                    int64_t n, float *x)
{
    synth_model m;
    synth_work w;
    synth_model_init(&m, s, seed);
    synth_work_init(&w, &m);
    double *A = mixing_matrix(&m, side, D), *z = xmalloc(sizeof(double) * (size_t)m.T);
    for (int64_t r = 0; r < n; r++) {
        latent(&m, &w, side, ids[r], z);
        rng64 eps = rng64_seed(hash3(m.seed ^ TAG_FEAT_EPS, (uint64_t)side, (uint64_t)ids[r]));
        for (int d = 0; d < D; d++) {
            double v = SYNTH_FEATURE_NOISE * normal(&eps);
            for (int t = 0; t < m.T; t++)
                v += A[(size_t)d * (size_t)m.T + (size_t)t] * z[t];
            x[r * D + d] = (float)v;
        }
    }
    free(A);
    free(z);
    synth_work_free(&w);
    synth_model_free(&m);
}
