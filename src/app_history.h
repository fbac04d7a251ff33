/* src/app_history.h — recommend --history FILE (src/app_history.c): the users of a
 * ratings-like file, their items as checkpoint item ids, and their μ_θ folded in through
 * the checkpoint's user encoder (model_fold_in). */
#ifndef BIVAE_APP_HISTORY_H
#define BIVAE_APP_HISTORY_H

#include <stdint.h>

#include "partition/dataset.h"
#include "partition/idmap.h"
#include "src/checkpoint.h"

typedef struct history {
    int64_t n;                 /* users of the file, in the order they first appear */
    char **raw;                /* [n] their raw ids (NUL-terminated) */
    int64_t *rowptr;           /* [n + 1] */
    int32_t *col;              /* [rowptr[n]] their distinct known items (global ids), sorted */
    int64_t lines;             /* ratings read */
    int64_t unknown_lines;     /* of them with an item not in the checkpoint (ignored) */
    int64_t unknown_items;     /* distinct such items */
    int64_t empty_users;       /* users all of whose items are unknown (no known item) */
} history;

/* Reads path (a ratings file: the ratings readers' formats, fmt AUTO: told as theirs),
 * mapping items through items (the checkpoint's item ids, global order). 0, or
 * BIVAE_EXIT_USAGE / _RUNTIME with one line in err (path:line: why). */
int history_read(const char *path, data_format fmt, const id_table *items, history *h,
                 char *err, size_t len);

/* μ_θ of the history's users [n × K] (host, new buffer) by the user encoder of the
 * checkpoint model_path (header info). 0, or an exit status with one line in err. */
int history_fold_in(const char *model_path, const ckpt_info *info, const history *h,
                    float **mu_theta, char *err, size_t len);

void history_free(history *h);

#endif
