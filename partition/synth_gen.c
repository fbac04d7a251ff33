/* partition/synth_gen.c — a rank's share of the synthetic users. */
#include "partition/synth_model.h"

void synth_generate(const synth_shape *s, uint64_t seed, int rank, int P, rating_fn fn,
                    void *ctx)
{
    synth_model m;
    synth_work w;
    synth_model_init(&m, s, seed);
    synth_work_init(&w, &m);
    for (int64_t u = (int64_t)rank + 1; u <= s->U; u += P)
        synth_user(&m, &w, u, fn, ctx);
    synth_work_free(&w);
    synth_model_free(&m);
}
