/* partition/split.c — see split.h */
#include "partition/split.h"

#include <stdlib.h>

#include "common/check.h"
#include "partition/hash.h"

#define SPLIT_TAG 0x73706c6974ULL           /* "split": keeps this hash apart from others */

int split_is_test(uint64_t seed, int64_t user, int64_t item, double ratio)
{
    uint64_t h = hash3(seed ^ SPLIT_TAG, (uint64_t)user, (uint64_t)item);
    return hash_unit(h) < ratio;
}

void pair_list_push(pair_list *l, int64_t user, int64_t item)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap + l->cap / 2 : 1024;
        l->v = xrealloc(l->v, l->cap * sizeof(raw_pair));
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

void rating_sink_add(void *ctx, int64_t user, int64_t item, float rating)
{
    rating_sink *s = ctx;
    if (s->has_min_rating && (double)rating < s->min_rating)
        return;
    int test = s->mode == SPLIT_ALL_TEST ||
               (s->mode == SPLIT_BY_HASH && split_is_test(s->seed, user, item, s->test_ratio));
    pair_list_push(test ? &s->test : &s->train, user, item);
}

void rating_sink_free(rating_sink *s)
{
    pair_list_free(&s->train);
    pair_list_free(&s->test);
}
