/* partition/synth_model.h — internals of the synthetic generator (see synth.h).
 *
 * Model. Items are dealt into T topics (balanced, seeded). Item j (index j = id - 1) has
 * popularity pop[j] = (j + 1 + POP_OFFSET)^-POP_EXPONENT. User u has count[u] ratings
 * (Lomax activity, water-filled to sum to nnz under a cap of 60% of I), a few preferred
 * topics, and draws items without replacement from the mixture
 *     RHO     x (a preferred topic, uniformly) x (item by popularity within the topic)
 *   + (1-RHO) x (item by global popularity),
 * plus its "forced" items, which make every item rated at least once. Ratings: 1..5, drawn
 * higher for items of preferred topics. */
#ifndef BIVAE_PARTITION_SYNTH_MODEL_H
#define BIVAE_PARTITION_SYNTH_MODEL_H

#include <stdint.h>

#include "partition/alias.h"
#include "partition/synth.h"

#define SYNTH_MIN_PER_USER 20       /* every user has >= min(20, I) ratings */
#define SYNTH_MAX_USER_FRAC 0.6     /* and at most floor(0.6 I) */
#define SYNTH_ACTIVITY_ALPHA 1.8    /* Lomax (Pareto II) tail index of user activity */
#define SYNTH_POP_EXPONENT 1.0      /* Zipf exponent of item popularity */
#define SYNTH_POP_OFFSET 10.0
#define SYNTH_RHO 0.9               /* share of draws from the preferred topics */
#define SYNTH_ITEMS_PER_TOPIC 100   /* T = clamp(I / 100, 2, SYNTH_MAX_TOPICS) */
#define SYNTH_MAX_TOPICS 32
#define SYNTH_TOPIC_FILL 0.25       /* a user takes <= ~25% of its topics' items */

typedef struct synth_model {
    synth_shape shape;
    uint64_t seed;              /* already mixed with the shape */
    int64_t *count;             /* [U] ratings of user u (index u - 1) */
    int64_t *forced_first;      /* [U+1] user index v's forced slots [first[v], first[v+1]) */
    int64_t stride;             /* forced slot k -> item index k * stride mod I (coprime) */
    int T;                      /* topics */
    int32_t *topic;             /* [I] topic of each item index */
    double *pop;                /* [I] popularity weight of each item index */
    int64_t *topic_first;       /* [T+1] topic t's items: topic_items[topic_first[t] ..) */
    int32_t *topic_items;       /* [I] item indices grouped by topic, ascending */
    double *topic_mass;         /* [T] Σ pop over the topic's items */
    double total_mass;          /* Σ pop */
    alias_table global;         /* over item indices, by pop */
    alias_table *in_topic;      /* [T] over positions in the topic's slice, by pop */
} synth_model;

/* Per-generator scratch (one user at a time). */
typedef struct synth_work {
    uint8_t *taken;             /* [I] item index chosen for the current user */
    int32_t *chosen;            /* [I] the current user's item indices */
    struct synth_key *keys;     /* [I] scratch of the exact sampler */
    uint8_t *preferred;         /* [T] topic preferred by the current user */
    int32_t *pref;              /* [T] the current user's preferred topics */
} synth_work;

void synth_model_init(synth_model *m, const synth_shape *s, uint64_t seed);
void synth_model_free(synth_model *m);
void synth_work_init(synth_work *w, const synth_model *m);
void synth_work_free(synth_work *w);

/* count[U] (Σ = nnz, min(20, I) <= count <= floor(0.6 I)) and first[U+1] (forced slots,
 * first[U] == I, first[v+1] - first[v] <= count[v]). */
void synth_user_counts(const synth_shape *s, uint64_t seed, int64_t *count);
void synth_forced_slots(const synth_shape *s, const int64_t *count, int64_t *first);

/* User u's (1-based) preferred topics into w->pref[0 .. k) and w->preferred (the caller
 * clears w->preferred); returns k. The same draws as synth_user makes first. */
int synth_user_topics(const synth_model *m, synth_work *w, int64_t u);

/* All ratings of user u (1-based) through fn. */
void synth_user(const synth_model *m, synth_work *w, int64_t u, rating_fn fn, void *ctx);

#endif
