/* partition/iddict.h — the distinct raw ids of one side (users or items) that this rank has
 * read, each numbered by a local index 0, 1, 2, ... in the order first seen. Ratings are
 * kept as pairs of local indices; the id map (partition/idmap.h) turns local indices into
 * global ids. String ids are copied into the dictionary's own text. */
#ifndef BIVAE_PARTITION_IDDICT_H
#define BIVAE_PARTITION_IDDICT_H

#include <stddef.h>
#include <stdint.h>

#include "partition/rawid.h"

enum { ID_DICT_INT = 1, ID_DICT_TRAIN = 2 };    /* entry flags */

typedef struct id_dict {
    uint32_t n;                 /* entries */
    uint32_t cap;
    int64_t *val;               /* [cap] integer id: its value; string id: offset in text */
    uint32_t *len;              /* [cap] string id: its length (integer id: 0) */
    uint8_t *flags;             /* [cap] ID_DICT_INT, ID_DICT_TRAIN (in a training pair here) */
    char *text;                 /* string ids' bytes, back to back */
    size_t text_len, text_cap;
    uint32_t *slot;             /* [mask + 1] local index + 1; 0: empty (load <= 1/2) */
    uint64_t mask;
    uint32_t last;              /* the last entry looked up (+1; 0: none): files are grouped */
} id_dict;

void id_dict_init(id_dict *d);
void id_dict_free(id_dict *d);

/* The local index of id, added when new. Fails the run (exit 3) beyond 2^32 - 1 ids. */
uint32_t id_dict_intern(id_dict *d, const raw_id *id);

/* Entry k as a raw id (string ids point into d's text, valid until the next intern). */
raw_id id_dict_get(const id_dict *d, uint32_t k);

/* Bytes held by d. */
size_t id_dict_bytes(const id_dict *d);

#endif
