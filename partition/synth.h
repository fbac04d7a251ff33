/* partition/synth.h — the built-in synthetic ratings (--synthetic, `bivae-dist gen`).
 *
 * Shapes: ml-100k (943 users x 1,682 items, 100,000 ratings), ml-1m (6,040 x 3,706,
 * 1,000,209), ml-20m (138,493 x 26,744, 20,000,263) or "UxIxNNZ". Raw ids are 1..U and
 * 1..I; every user has >= min(20, I) distinct items, every item is rated, the counts add
 * up to exactly NNZ. User activity and item popularity follow power laws (item 1 the most
 * popular); items belong to topics and each user draws most of its items (and its higher
 * ratings, 1..5) from a few preferred topics: structure a recommender can learn.
 * A user's ratings depend only on (seed, shape, user), so any rank can make any user's. */
#ifndef BIVAE_PARTITION_SYNTH_H
#define BIVAE_PARTITION_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "partition/ratings.h"

typedef struct synth_shape {
    int64_t U, I, nnz;
    char name[64];          /* the preset's name or the spec as given */
} synth_shape;

/* Validates a --synthetic spec: 0, or BIVAE_EXIT_USAGE after printing one error line
 * naming --synthetic. */
int synth_parse_shape(const char *spec, int64_t *U, int64_t *I, int64_t *nnz);

/* The same without printing: 0, or -1 with the message in err[size]. */
int synth_shape_from_spec(const char *spec, synth_shape *s, char *err, size_t size);

/* Calls fn(ctx, user, item, rating) for every rating of the users u in 1..U with
 * (u - 1) mod P == rank (P = 1, rank = 0: all of them), user by user. */
void synth_generate(const synth_shape *s, uint64_t seed, int rank, int P, rating_fn fn,
                    void *ctx);

/* --synthetic-features D: rows x[n × D] for the raw ids ids[n] (1-based) of one side
 * (side 0 users, 1 items), noisy linear views of the latent structure the ratings come
 * from: z_user = the user's preferred topics (indicator / their number), z_item = the
 * item's topic (one-hot), both of T dimensions; x = A_side z + SYNTH_FEATURE_NOISE · ε,
 * with A_side [D × T] and ε standard normal, drawn from (seed, shape, side, ...) alone:
 * a row depends only on (seed, shape, side, id, D), never on the rank count. */
#define SYNTH_FEATURE_NOISE 0.3
void synth_features(const synth_shape *s, uint64_t seed, int side, int D, const int64_t *ids,
                    int64_t n, float *x);

/* Writes every rating as "user\titem\trating\t0" lines to path, through a temporary file
 * in the same directory that is fsync'd and renamed (never a half file under path).
 * 0, or BIVAE_EXIT_USAGE (bad spec) / BIVAE_EXIT_RUNTIME (I/O) after one error line. */
int synth_write_file(const char *spec, uint64_t seed, const char *path);

#endif
