/* src/app_cold.h — recommend --user-features FILE / --new-items FILE (src/app_cold.c):
 * users (items) from their feature rows alone, θ (β) = μ_prior = F·Wt_p + b_p of the
 * checkpoint's CAP prior of that side. */
#ifndef BIVAE_APP_COLD_H
#define BIVAE_APP_COLD_H

#include <stdint.h>

#include "comm/comm.h"
#include "partition/features.h"
#include "src/checkpoint.h"

typedef struct cold_users {
    int64_t n;                 /* rows of the file, in the order first seen */
    char **raw;                /* [n] raw ids */
    float *mu;                 /* [n × K] μ_prior of each row (host) */
} cold_users;

/* Reads path with the feature readers (partition/features.h: formats, file:line errors;
 * c: a one-rank communicator) and computes μ_prior of every row with the user prior of
 * the checkpoint model_path. 0, or an exit status with one line in err (empty: the reader
 * printed it already). */
int cold_users_read(comm *c, const char *path, feature_format fmt, const char *model_path,
                    const ckpt_info *info, cold_users *out, char *err, size_t len);
/* The same for side s (SIDE_ITEM: --new-items FILE, β = μ_prior of the item prior). */
int cold_rows_read(comm *c, int side, const char *path, feature_format fmt,
                   const char *model_path, const ckpt_info *info, cold_users *out, char *err,
                   size_t len);
void cold_users_free(cold_users *u);

#endif
