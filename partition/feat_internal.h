/* partition/feat_internal.h — the steps of reading feature files (partition/features.h):
 * one line of a format (feat_line.c), a rank's share of a file into a feature_sink
 * (feat_read.c), and the rows routed to their owners (feat_shard.c). Used by dataset.c. */
#ifndef BIVAE_PARTITION_FEAT_INTERNAL_H
#define BIVAE_PARTITION_FEAT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "comm/comm.h"
#include "partition/features.h"
#include "partition/fields.h"
#include "partition/iddict.h"
#include "partition/idmap.h"
#include "partition/rawid.h"

/* ---- one line (feat_line.c) ----------------------------------------------------------- */

typedef struct feat_layout {
    feature_format fmt;         /* resolved */
    field_sep sep;
    int n_fields;               /* dense: the fields of every line (id + features) */
    int header;                 /* line 1 is a header (skipped) */
    int named;                  /* features are named tokens (sparse, genome) */
    int width;                  /* fixed-index formats: number of features */
    char header_text[96];       /* for the description: "header 'id,age,...'" */
} feat_layout;

/* A parsed line: the id and its entries (feature index, or for named formats the name). */
typedef struct feat_row {
    raw_id id;
    int n, cap;
    int32_t *feat;              /* [cap] fixed formats: the feature index */
    raw_id *name;               /* [cap] named formats: the feature name (points into the line) */
    float *value;               /* [cap] */
    field *fields;              /* [fields_cap] scratch */
    int fields_cap;
} feat_row;

void feat_row_init(feat_row *r);
void feat_row_free(feat_row *r);

/* The layout of a file of format fmt (AUTO: by the name path, then line 1) whose line 1 is
 * first[len] (NUL-terminated, writable; len 0: empty). 0, or -1 with the reason in msg. */
int feat_layout_resolve(feat_layout *L, feature_format fmt, const char *path, char *first,
                        size_t len, char *msg, size_t size);

/* One line (NUL-terminated, writable, no '\n'): 1 a row in *row, 0 nothing (blank, header),
 * -1 malformed (reason in msg). first: it is line 1. */
int feat_line_parse(const feat_layout *L, char *line, size_t len, int first, feat_row *row,
                    char *msg, size_t size);

/* ---- a rank's share (feat_read.c) ------------------------------------------------------- */

/* One entry read: a feature value of a row, or (feat == -1) the row itself. */
typedef struct feat_entry {
    uint32_t id;                /* index in the side's id dictionary */
    int32_t feat;               /* feature index (named formats: index in names); -1: the row */
    float value;
    int64_t line;               /* 1-based line of the file */
} feat_entry;

typedef struct feature_sink {
    id_dict *ids;               /* the side's dictionary of the ratings (not owned) */
    id_dict names;              /* named formats: the feature names read by this rank */
    feat_entry *v;              /* [n] (capacity cap) */
    size_t n, cap;
    feat_layout layout;
    int64_t lines;              /* lines read by this rank */
} feature_sink;

void feature_sink_init(feature_sink *s, id_dict *ids);
void feature_sink_free(feature_sink *s);

/* Collective: this rank's share of the lines of path into s (ids interned into s->ids,
 * without the training flag). desc[size]: what was read. 0, or BIVAE_EXIT_USAGE /
 * BIVAE_EXIT_RUNTIME on every rank after one rank printed the error. */
int features_read(comm *c, const char *path, feature_format fmt, feature_sink *s, char *desc,
                  size_t size);

/* ---- the owners' rows (feat_shard.c) ---------------------------------------------------- */

/* Collective: the entries of s (ids numbered by m) routed to their owners, duplicates
 * checked, into b (b->nrows = the rank's own ids of m). side: "user" / "item" (messages);
 * own: the raw ids of the rank's global ids (for messages). 0, or BIVAE_EXIT_USAGE on
 * every rank after one rank printed the error. */
int features_shard(comm *c, feature_sink *s, const id_map *m, const id_table *own,
                   const char *path, const char *side, missing_features policy,
                   feature_block *b);

#endif
