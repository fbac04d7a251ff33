/* partition/split.c — see split.h */
#include "partition/split.h"

#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "partition/hash.h"

#define SPLIT_TAG 0x73706c6974ULL           /* "split": keeps this hash apart from others */
#define COLD_TAG 0x636f6c64ULL              /* "cold": the cold-user draw, apart from the split */

int split_is_test(uint64_t seed, uint64_t user_key, uint64_t item_key, double ratio)
{
    uint64_t h = hash3(seed ^ SPLIT_TAG, user_key, item_key);
    return hash_unit(h) < ratio;
}

int split_is_cold_user(uint64_t seed, uint64_t user_key, double fraction)
{
    if (fraction <= 0.0)
        return 0;
    return hash_unit(hash3(seed ^ COLD_TAG, user_key, 0)) < fraction;
}

void pair_list_push(pair_list *l, uint32_t user, uint32_t item)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap + l->cap / 2 : 1024;
        l->v = xrealloc(l->v, l->cap * sizeof(local_pair));
    }
    l->v[l->n].user = user;
    l->v[l->n].item = item;
    l->n++;
}

void pair_list_free(pair_list *l)
{
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

void rating_sink_init(rating_sink *s)
{
    memset(s, 0, sizeof *s);
    id_dict_init(&s->users);
    id_dict_init(&s->items);
}

void rating_sink_add(void *ctx, const raw_id *user, const raw_id *item, float rating)
{
    rating_sink *s = ctx;
    if (s->has_min_rating && (double)rating < s->min_rating) {
        s->below_min++;
        return;
    }
    int cold = s->mode == SPLIT_BY_HASH &&
               split_is_cold_user(s->seed, raw_id_key(user), s->cold_users);
    int test = s->mode == SPLIT_ALL_TEST || cold ||
               (s->mode == SPLIT_BY_HASH &&
                split_is_test(s->seed, raw_id_key(user), raw_id_key(item), s->test_ratio));
    uint32_t u = id_dict_intern(&s->users, user), i = id_dict_intern(&s->items, item);
    if (cold)   /* numbered like a training user (a row, features), with no training rating */
        s->users.flags[u] |= ID_DICT_TRAIN;
    if (!test) {
        s->users.flags[u] |= ID_DICT_TRAIN;
        s->items.flags[i] |= ID_DICT_TRAIN;
    }
    pair_list_push(test ? &s->test : &s->train, u, i);
}

void rating_sink_free(rating_sink *s)
{
    pair_list_free(&s->train);
    pair_list_free(&s->test);
    id_dict_free(&s->users);
    id_dict_free(&s->items);
}
