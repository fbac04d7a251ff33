/* partition/ratings.h — the one callback through which every source (file readers, the
 * synthetic generator) hands over its ratings. */
#ifndef BIVAE_PARTITION_RATINGS_H
#define BIVAE_PARTITION_RATINGS_H

#include "partition/rawid.h"

/* One rating: raw user id, raw item id (as in the input; valid during the call only),
 * rating value. */
typedef void (*rating_fn)(void *ctx, const raw_id *user, const raw_id *item, float rating);

#endif
