/* partition/split.h — where each rating goes: dropped (--min-rating), training or test.
 * Ratings arrive through rating_sink_add (a rating_fn); their ids are interned in one
 * dictionary per side and the ratings kept as pairs of local indices. */
#ifndef BIVAE_PARTITION_SPLIT_H
#define BIVAE_PARTITION_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "partition/iddict.h"

typedef struct local_pair { uint32_t user, item; } local_pair;   /* id_dict indices */

typedef struct pair_list {
    local_pair *v;          /* [n] (capacity cap) */
    size_t n, cap;
} pair_list;

typedef enum {
    SPLIT_BY_HASH = 0,      /* --data / --synthetic: hash(seed, user, item) < ratio -> test */
    SPLIT_ALL_TRAIN,        /* --train FILE */
    SPLIT_ALL_TEST          /* --test FILE */
} split_mode;

typedef struct rating_sink {
    id_dict users, items;   /* this rank's distinct raw ids (ID_DICT_TRAIN: in a training pair) */
    pair_list train, test;  /* this rank's kept ratings */
    split_mode mode;
    double test_ratio;
    double cold_users;      /* SPLIT_BY_HASH: fraction of cold users (0: none) */
    uint64_t seed;
    int has_min_rating;
    double min_rating;      /* ratings < min_rating are dropped */
    int64_t below_min;      /* ratings dropped by --min-rating */
} rating_sink;

/* 1 when (user, item) belongs to the test split: hash(seed, key(user), key(item)) in [0,1)
 * < ratio, with raw_id_key (the value of an integer id). */
int split_is_test(uint64_t seed, uint64_t user_key, uint64_t item_key, double ratio);

/* 1 when the user of raw key user_key is a cold user of --cold-users `fraction`:
 * hash(seed, key) in [0,1) < fraction (the same users for any P). */
int split_is_cold_user(uint64_t seed, uint64_t user_key, double fraction);

void rating_sink_init(rating_sink *s);
/* The rating_fn of every source (ctx: a rating_sink). */
void rating_sink_add(void *ctx, const raw_id *user, const raw_id *item, float rating);
void rating_sink_free(rating_sink *s);

void pair_list_push(pair_list *l, uint32_t user, uint32_t item);
void pair_list_free(pair_list *l);

#endif
