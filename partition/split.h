/* partition/split.h — where each rating goes: dropped (--min-rating), training or test.
 * Ratings arrive through rating_sink_add (a rating_fn) and are kept as raw id pairs. */
#ifndef BIVAE_PARTITION_SPLIT_H
#define BIVAE_PARTITION_SPLIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct raw_pair { int64_t user, item; } raw_pair;

typedef struct pair_list {
    raw_pair *v;            /* [n] (capacity cap) */
    size_t n, cap;
} pair_list;

typedef enum {
    SPLIT_BY_HASH = 0,      /* --data / --synthetic: hash(seed, user, item) < ratio -> test */
    SPLIT_ALL_TRAIN,        /* --train FILE */
    SPLIT_ALL_TEST          /* --test FILE */
} split_mode;

typedef struct rating_sink {
    pair_list train, test;  /* this rank's kept ratings */
    split_mode mode;
    double test_ratio;
    uint64_t seed;
    int has_min_rating;
    double min_rating;      /* ratings < min_rating are dropped */
} rating_sink;

/* 1 when (user, item) belongs to the test split: hash(seed, user, item) in [0,1) < ratio. */
int split_is_test(uint64_t seed, int64_t user, int64_t item, double ratio);

/* The rating_fn of every source (ctx: a rating_sink). */
void rating_sink_add(void *ctx, int64_t user, int64_t item, float rating);
void rating_sink_free(rating_sink *s);

void pair_list_push(pair_list *l, int64_t user, int64_t item);
void pair_list_free(pair_list *l);

#endif
