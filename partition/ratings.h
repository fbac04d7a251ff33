/* partition/ratings.h — the one callback through which every source (file readers, the
 * synthetic generator) hands over its ratings. */
#ifndef BIVAE_PARTITION_RATINGS_H
#define BIVAE_PARTITION_RATINGS_H

#include <stdint.h>

/* One rating: raw user id, raw item id (as in the file), rating value. */
typedef void (*rating_fn)(void *ctx, int64_t user, int64_t item, float rating);

#endif
